//! Identity over HTTP: HTML pages (`pages`), JSON APIs (`api`), and the one mapping of
//! [`IdentityError`](crate::IdentityError) to a problem (`error`). The OpenID Connect
//! endpoints are in `oidc`: protocol endpoints answer in the protocol's own error format.

use axum::Router;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use utoipa_axum::router::OpenApiRouter;
use web::Site;

use crate::accounts::Identity;
use crate::sessions::SESSION_COOKIE;

mod api;
pub(crate) mod error;
pub(crate) mod pages;

/// The pages, and the JSON endpoints that serve them and officials.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Identity: FromRef<S>,
    Site: FromRef<S>,
{
    Router::new().merge(pages::routes()).merge(api::routes())
}

/// The JSON API for agency and bank systems, described in the OpenAPI document.
pub fn api_routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Identity: FromRef<S>,
{
    api::documented_routes()
}

/// The client's address as the connection reports it (behind a reverse proxy: the proxy's,
/// which then limits all its clients together; trusting forwarded headers needs a list of
/// trusted proxies, not yet configurable).
struct ClientAddress(Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}

/// Only local paths, so a crafted link cannot send people elsewhere after signing in.
fn local(next: Option<&str>) -> String {
    next.and_then(web::redirect::local_path)
        .unwrap_or_else(|| "/account".to_owned())
}

fn session_cookie(identity: &Identity, token: &str, max_age: i64) -> String {
    let secure = if identity.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}
