// Passkeys (WebAuthn) on /login and /account. Pages work without this script: the passkey
// parts stay hidden and password sign-in is a plain form. The server keeps every challenge
// (crates/identity/src/passkeys.rs); this only carries options and answers between it and
// the browser's authenticator, converting binary fields to and from base64url
// (WebAuthn L3 §5.1.8 describes the same JSON forms).
(function () {
  "use strict";
  var supported = window.PublicKeyCredential && navigator.credentials;
  document.querySelectorAll(".passkey-no-js").forEach(function (note) {
    if (supported) note.hidden = true;
  });
  if (!supported) return;

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer), binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error(data.detail || response.statusText);
        return data;
      });
    });
  }

  function descriptors(list) {
    (list || []).forEach(function (item) { item.id = toBytes(item.id); });
  }

  function creationOptions(options) {
    var key = options.publicKey;
    key.challenge = toBytes(key.challenge);
    key.user.id = toBytes(key.user.id);
    descriptors(key.excludeCredentials);
    return { publicKey: key };
  }

  function requestOptions(options) {
    var key = options.publicKey;
    key.challenge = toBytes(key.challenge);
    descriptors(key.allowCredentials);
    return { publicKey: key };
  }

  function registration(credential) {
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        attestationObject: toText(credential.response.attestationObject),
        clientDataJSON: toText(credential.response.clientDataJSON)
      },
      extensions: credential.getClientExtensionResults()
    };
  }

  function assertion(credential) {
    var response = credential.response;
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: toText(response.authenticatorData),
        clientDataJSON: toText(response.clientDataJSON),
        signature: toText(response.signature),
        userHandle: response.userHandle ? toText(response.userHandle) : null
      },
      extensions: credential.getClientExtensionResults()
    };
  }

  function fail(container, error) {
    var alert = container.querySelector("[role=alert]");
    alert.textContent = container.dataset.failed + ": " + (error && error.message ? error.message : error);
    alert.hidden = false;
  }

  document.querySelectorAll("[data-passkey=register]").forEach(function (container) {
    var form = container.querySelector("form");
    container.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button");
      button.disabled = true;
      var name = form.elements.name.value;
      post("/api/v1/identity/passkeys/register/start", { name: name })
        .then(function (challenge) {
          return navigator.credentials.create(creationOptions(challenge.options)).then(function (credential) {
            return post("/api/v1/identity/passkeys/register/finish", {
              ceremony: challenge.ceremony,
              credential: registration(credential)
            });
          });
        })
        .then(function () { window.location.reload(); })
        .catch(function (error) { fail(container, error); })
        .finally(function () { button.disabled = false; });
    });
  });

  document.querySelectorAll("[data-passkey=sign-in]").forEach(function (section) {
    section.hidden = false;
    var button = section.querySelector("button");
    button.addEventListener("click", function () {
      button.disabled = true;
      var field = document.getElementById("personal_id");
      var id = field && /^[0-9]{12}$/.test(field.value.trim()) ? field.value.trim() : null;
      post("/api/v1/identity/passkeys/sign-in/start", { personal_id: id })
        .then(function (challenge) {
          return navigator.credentials.get(requestOptions(challenge.options)).then(function (credential) {
            return post("/api/v1/identity/passkeys/sign-in/finish", {
              ceremony: challenge.ceremony,
              credential: assertion(credential),
              next: section.dataset.next
            });
          });
        })
        .then(function (done) { window.location.assign(done.redirect); })
        .catch(function (error) { fail(section, error); })
        .finally(function () { button.disabled = false; });
    });
  });
})();
