//! Who is making the request. The identity context resolves the session and puts a
//! [`Principal`] in the request's extensions; every other context reads it through these
//! extractors and checks roles in its own service layer, without depending on identity.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use kernel::{PersonalId, Role, Scope};

use crate::Problem;

/// A role held in an agency, e.g. `registry.officer` at `BCA`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyRole {
    pub agency: String,
    pub role: Role,
}

/// An authenticated person.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account_id: String,
    pub personal_id: PersonalId,
    pub full_name: String,
    /// Electronic identification level (Decree 69/2024): 1 registered online, 2 confirmed in person.
    pub assurance_level: u8,
    pub roles: Vec<AgencyRole>,
}

impl Principal {
    /// The agency in which the person holds `role`, if any.
    pub fn agency_with(&self, role: Role) -> Option<&str> {
        self.roles
            .iter()
            .find(|r| r.role == role)
            .map(|r| r.agency.as_str())
    }

    /// The account id, prefixed so logs and audit trails tell people from systems.
    pub fn actor(&self) -> String {
        format!("account:{}", self.account_id)
    }
}

/// A helper acting for a citizen under the citizen's recorded mandate (MISSION S14). The
/// identity context resolves it from the session on the server and puts it beside the
/// [`Principal`], who stays the helper: a context offering an assisted action checks
/// [`ActingFor::allows`] and has identity record the action. Pages show a banner while it is set.
#[derive(Debug, Clone)]
pub struct ActingFor {
    pub mandate_id: String,
    pub citizen_account_id: String,
    pub citizen_personal_id: PersonalId,
    pub citizen_name: String,
    /// Scopes the citizen consented to.
    pub scopes: Vec<Scope>,
    pub expires_at: time::OffsetDateTime,
}

impl ActingFor {
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// Requires a signed-in person: pages redirect to the login page, APIs answer 401.
pub struct Authenticated(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Principal>() {
            Some(principal) => Ok(Self(principal.clone())),
            None if parts.uri.path().starts_with("/api/") => {
                Err(
                    Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", "sign in first")
                        .into_response(),
                )
            }
            None => {
                let next = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                let target: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
                Err(Redirect::to(&format!("/login?next={target}")).into_response())
            }
        }
    }
}

/// The signed-in person, if there is one.
pub struct MaybePrincipal(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybePrincipal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<Principal>().cloned()))
    }
}

/// OAuth endpoints that other sites legitimately post to. Token, revocation and userinfo
/// act on the token or client credentials in the request, never on the session cookie, so
/// a forged request gains nothing; logout (RP-Initiated Logout §2 allows POST) asks the
/// person first unless the request proves itself (see identity's oidc/logout.rs).
const OPEN_TO_OTHER_SITES: [&str; 4] = [
    "/oauth/token",
    "/oauth/revoke",
    "/oauth/userinfo",
    "/oauth/logout",
];

/// Put in a request's extensions by the TLS listener: the browser reached us over https.
#[derive(Debug, Clone, Copy)]
pub struct ServedOverTls;

/// What the cross-site guard must know of the deployment.
#[derive(Debug, Clone, Copy)]
pub struct CrossSiteGuard {
    /// The public address is https: a TLS-terminating proxy stands in front, so browsers
    /// speak https even when the request reaches this process over plain HTTP.
    pub public_https: bool,
}

/// Refuses state-changing requests that do not come from this very origin: a browser
/// marks them with `Sec-Fetch-Site` and `Origin`. With SameSite cookies this closes
/// cross-site request forgery without a token in every form. Requests without these
/// headers (other servers, command-line clients) carry no browser cookies to abuse.
pub async fn reject_cross_site(
    axum::extract::State(guard): axum::extract::State<CrossSiteGuard>,
    request: Request,
    next: Next,
) -> Response {
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let scheme = if guard.public_https || request.extensions().get::<ServedOverTls>().is_some() {
        "https"
    } else {
        "http"
    };
    let open_to_others = OPEN_TO_OTHER_SITES.contains(&request.uri().path());
    if unsafe_method && !open_to_others && is_cross_site(request.headers(), scheme) {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "cross-site-request",
            "this request came from another site and was refused",
        )
        .into_response();
    }
    next.run(request).await
}

/// Fetch Metadata: only `same-origin` (or `none`, typed by the person) is this site;
/// `same-site` is a sibling host, which may be anybody's. `Origin` must be exactly
/// `scheme://host` of this request (RFC 6454 §5); `null` (a sandboxed frame, a `data:` page)
/// proves nothing and is refused.
fn is_cross_site(headers: &HeaderMap, scheme: &str) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    if let Some(site) = text("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return true;
    }
    let Some(origin) = text(header::ORIGIN.as_str()) else {
        return false;
    };
    let Some(host) = text(header::HOST.as_str()) else {
        return true;
    };
    !origin.eq_ignore_ascii_case(&format!("{scheme}://{host}"))
}

/// The unit that per-client limits count: an IPv4 address, or the /64 an IPv6 address lies in
/// (the block one subscriber usually holds, RFC 6177), so that rotating addresses within it
/// gains nothing. An IPv4 address written as IPv6 counts as IPv4.
pub fn client_block(address: std::net::IpAddr) -> std::net::IpAddr {
    use std::net::{IpAddr, Ipv6Addr};
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    /// Whether a request with these headers, to a plain-HTTP server, is cross-site.
    fn cross(pairs: &[(&'static str, &'static str)]) -> bool {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        is_cross_site(&map, "http")
    }

    #[test]
    fn cross_site_is_told_by_fetch_metadata_or_origin() {
        assert!(cross(&[("sec-fetch-site", "cross-site")]));
        assert!(!cross(&[("sec-fetch-site", "same-origin")]));
        assert!(cross(&[
            ("origin", "https://evil.example"),
            ("host", "dichvucong.example")
        ]));
        assert!(!cross(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080")
        ]));
        assert!(
            !cross(&[("host", "127.0.0.1:8080")]),
            "no browser headers: not a browser"
        );
    }

    #[test]
    fn a_sibling_site_a_null_origin_and_another_scheme_are_cross_site() {
        assert!(
            cross(&[
                ("sec-fetch-site", "same-site"),
                ("origin", "http://blog.dichvucong.example"),
                ("host", "dichvucong.example")
            ]),
            "same-site is a sibling host, not this origin"
        );
        assert!(
            cross(&[("origin", "null"), ("host", "dichvucong.example")]),
            "an opaque origin (sandboxed frame, data: URL) is no proof of this site"
        );
        assert!(
            cross(&[
                ("origin", "https://127.0.0.1:8080"),
                ("host", "127.0.0.1:8080")
            ]),
            "another scheme is another origin (RFC 6454 §4)"
        );
        let mut behind_tls = HeaderMap::new();
        behind_tls.insert("origin", HeaderValue::from_static("https://eid.example"));
        behind_tls.insert("host", HeaderValue::from_static("eid.example"));
        assert!(!is_cross_site(&behind_tls, "https"));
    }
}
