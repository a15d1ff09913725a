//! A browser as the server meets it: cookies kept per browser, and forms that say where they
//! come from (`Origin`, `Sec-Fetch-Site`) the way a browser marks a same-origin submission,
//! which the cross-site guard checks instead of a token in every form.

use std::net::IpAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, ensure};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::ORIGIN;
use reqwest::{Method, RequestBuilder, StatusCode, Url};

/// One browser: its own cookie jar, following no redirects so tests see them.
#[derive(Clone)]
pub struct Browser {
    base: Url,
    /// What the browser's forms name as their origin: the scheme the public address has
    /// (a TLS proxy in front turns this server's http into the browser's https).
    origin: String,
    client: reqwest::Client,
    jar: Arc<Jar>,
}

impl Browser {
    /// A browser of `base`, connecting from `local` (a loopback address of its own) or
    /// from wherever the system picks; `https` when the public address is.
    pub(crate) fn new(base: &str, https: bool, local: Option<IpAddr>) -> anyhow::Result<Self> {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .cookie_provider(jar.clone())
            .local_address(local)
            .build()?;
        let base = Url::parse(base)?;
        let origin = base.origin().ascii_serialization();
        let origin = match origin.strip_prefix("http://") {
            Some(host) if https => format!("https://{host}"),
            _ => origin,
        };
        Ok(Self {
            base,
            origin,
            client,
            jar,
        })
    }

    /// The client with this browser's cookies, for an absolute URL (a relying party's link
    /// to the authorization endpoint, say).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base.as_str().trim_end_matches('/'), path)
    }

    /// A request as a page of this site sends it: unsafe methods carry this origin.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let unsafe_method = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
        let request = self.client.request(method, self.url(path));
        if unsafe_method {
            request
                .header(ORIGIN, &self.origin)
                .header("sec-fetch-site", "same-origin")
        } else {
            request
        }
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    /// A form or API call from a page of this site.
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    /// The `Cookie` header this browser sends, e.g. `lt_session=…` (for a request built by
    /// hand, such as one forged from another site, or sent after the browser dropped it).
    pub fn cookies(&self) -> String {
        self.jar
            .cookies(&self.base)
            .and_then(|value| value.to_str().ok().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Sets a cookie as if the server had (a language chosen earlier, say).
    pub fn add_cookie(&self, cookie: &str) {
        self.jar.add_cookie_str(cookie, &self.base);
    }

    /// Signs in with the password form, as a person would.
    pub async fn sign_in(
        &self,
        personal_id: kernel::PersonalId,
        password: &str,
    ) -> anyhow::Result<()> {
        let response = self
            .post("/login")
            .form(&[
                ("personal_id", personal_id.to_string().as_str()),
                ("password", password),
                ("next", "/account"),
            ])
            .send()
            .await
            .context("POST /login")?;
        ensure!(
            response.status() == StatusCode::SEE_OTHER,
            "signing in {personal_id} answered {}",
            response.status()
        );
        Ok(())
    }
}

/// A person of the generated population, registered in the registry, with an account whose
/// password is known.
#[derive(Debug, Clone)]
pub struct Person {
    pub record: registry::CitizenRecord,
    pub password: String,
}

impl Person {
    pub fn id(&self) -> kernel::PersonalId {
        self.record.personal_id
    }
}

/// A browser in which `person` is signed in.
#[derive(Clone)]
pub struct SignedIn {
    pub browser: Browser,
    pub person: Person,
}

impl Deref for SignedIn {
    type Target = Browser;

    fn deref(&self) -> &Browser {
        &self.browser
    }
}

impl SignedIn {
    /// A second browser (another device) in which the same person signs in.
    pub async fn again(&self) -> anyhow::Result<SignedIn> {
        let https = self.browser.origin.starts_with("https://");
        let browser = Browser::new(self.browser.base.as_str(), https, None)?;
        browser
            .sign_in(self.person.id(), &self.person.password)
            .await?;
        Ok(SignedIn {
            browser,
            person: self.person.clone(),
        })
    }
}
