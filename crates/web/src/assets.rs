//! Static assets compiled into the binary, so a deployment is one file and pages need no CDN.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use crate::Problem;

const HTMX: &str = include_str!("../assets/htmx.min.js");
const CSS: &str = include_str!("../assets/app.css");
const PASSKEYS: &str = include_str!("../assets/passkeys.js");

/// `GET /static/{name}`. Cached for a day: assets change only with a new release.
pub async fn serve(Path(name): Path<String>) -> Response {
    let (content_type, body) = match name.as_str() {
        "htmx.min.js" => ("text/javascript; charset=utf-8", HTMX),
        "app.css" => ("text/css; charset=utf-8", CSS),
        "passkeys.js" => ("text/javascript; charset=utf-8", PASSKEYS),
        _ => {
            return Problem::not_found("unknown-asset", format!("no static asset named {name:?}"))
                .into_response();
        }
    };
    (
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}
