//! A software WebAuthn authenticator for tests (feature `testing`), written from the
//! specification rather than with the library the server uses, so the server's checks meet
//! an independent implementation: a P-256 key, "none" attestation, authenticator data with
//! the right flags and counter, and client data naming the origin and challenge, as a browser
//! and a platform authenticator would produce them (WebAuthn L3 §5.1.3, §5.1.4, §6.1, §8.7).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::value::Value as Cbor;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::rand_core::{OsRng, RngCore};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Authenticator data flags (WebAuthn L3 §6.1): user present, user verified, attested
/// credential data included.
const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;

/// One discoverable credential, as a phone or laptop would hold it.
pub struct SoftPasskey {
    key: SigningKey,
    credential_id: Vec<u8>,
    user_handle: Vec<u8>,
    rp_id: String,
    counter: u32,
}

fn text<'a>(value: &'a Value, pointer: &str) -> Result<&'a str, String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("options lack {pointer}"))
}

fn bytes(value: &Value, pointer: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(text(value, pointer)?)
        .map_err(|e| format!("{pointer}: {e}"))
}

/// `clientDataJSON` as a browser writes it (WebAuthn L3 §5.8.1).
fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
    json!({ "type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false })
        .to_string()
        .into_bytes()
}

fn cbor_bytes(value: &Cbor) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

impl SoftPasskey {
    /// Answers `navigator.credentials.create()` options (`{"publicKey": …}`) as a browser at
    /// `origin` would: returns the authenticator and the registration response JSON.
    pub fn register(options: &Value, origin: &str) -> Result<(Self, Value), String> {
        let challenge = text(options, "/publicKey/challenge")?;
        let rp_id = text(options, "/publicKey/rp/id")?.to_owned();
        let user_handle = bytes(options, "/publicKey/user/id")?;
        let key = SigningKey::random(&mut OsRng);
        let mut credential_id = vec![0_u8; 32];
        OsRng.fill_bytes(&mut credential_id);
        let passkey = Self {
            key,
            credential_id,
            user_handle,
            rp_id,
            counter: 0,
        };
        let client_data_json = client_data("webauthn.create", challenge, origin);
        let attestation = Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(Vec::new())),
            (
                Cbor::Text("authData".into()),
                Cbor::Bytes(passkey.registration_data()?),
            ),
        ]);
        let id = URL_SAFE_NO_PAD.encode(&passkey.credential_id);
        let response = json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "attestationObject": URL_SAFE_NO_PAD.encode(cbor_bytes(&attestation)?),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data_json),
            },
            "extensions": {}
        });
        Ok((passkey, response))
    }

    /// Answers `navigator.credentials.get()` options as a browser at `origin` would, with
    /// the counter moved on. Refuses, like a real authenticator, when the options allow
    /// only other credentials or name another RP ID.
    pub fn sign_in(&mut self, options: &Value, origin: &str) -> Result<Value, String> {
        let challenge = text(options, "/publicKey/challenge")?;
        if text(options, "/publicKey/rpId")? != self.rp_id {
            return Err("no credential for this RP ID".into());
        }
        let allowed = options
            .pointer("/publicKey/allowCredentials")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mine = URL_SAFE_NO_PAD.encode(&self.credential_id);
        if !allowed.is_empty() && !allowed.iter().any(|c| c["id"].as_str() == Some(&mine)) {
            return Err("none of the allowed credentials is here".into());
        }
        self.counter += 1;
        let authenticator_data = self.authenticator_data(UP | UV);
        let client_data_json = client_data("webauthn.get", challenge, origin);
        // The assertion signature covers authenticatorData ‖ SHA-256(clientDataJSON)
        // (WebAuthn L3 §6.3.3 step 11); ES256 signs its SHA-256, DER-encoded (§6.5.6).
        let mut signed = authenticator_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data_json));
        let signature: Signature = self.key.sign(&signed);
        Ok(json!({
            "id": mine,
            "rawId": mine,
            "type": "public-key",
            "response": {
                "authenticatorData": URL_SAFE_NO_PAD.encode(authenticator_data),
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data_json),
                "signature": URL_SAFE_NO_PAD.encode(signature.to_der().as_bytes()),
                "userHandle": URL_SAFE_NO_PAD.encode(&self.user_handle),
            },
            "extensions": {}
        }))
    }

    /// The credential ID in base64url, as the server lists it.
    pub fn id(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.credential_id)
    }

    /// Sets the signature counter, to imitate a cloned authenticator.
    pub fn set_counter(&mut self, counter: u32) {
        self.counter = counter;
    }

    /// rpIdHash ‖ flags ‖ signCount (WebAuthn L3 §6.1).
    fn authenticator_data(&self, flags: u8) -> Vec<u8> {
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend_from_slice(&self.counter.to_be_bytes());
        data
    }

    /// Authenticator data with attested credential data: AAGUID (zero for "none"),
    /// credential ID and the public key as a COSE_Key (WebAuthn L3 §6.5.1, RFC 9053 §7.1.1).
    fn registration_data(&self) -> Result<Vec<u8>, String> {
        let mut data = self.authenticator_data(UP | UV | AT);
        data.extend_from_slice(&[0_u8; 16]);
        let length = u16::try_from(self.credential_id.len()).map_err(|e| e.to_string())?;
        data.extend_from_slice(&length.to_be_bytes());
        data.extend_from_slice(&self.credential_id);
        let point = self.key.verifying_key().to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err("the public key has no coordinates".into());
        };
        let int = |n: i64| Cbor::Integer(n.into());
        let cose_key = Cbor::Map(vec![
            (int(1), int(2)),  // kty: EC2
            (int(3), int(-7)), // alg: ES256
            (int(-1), int(1)), // crv: P-256
            (int(-2), Cbor::Bytes(x.to_vec())),
            (int(-3), Cbor::Bytes(y.to_vec())),
        ]);
        data.extend_from_slice(&cbor_bytes(&cose_key)?);
        Ok(data)
    }
}
