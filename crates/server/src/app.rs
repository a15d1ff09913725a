//! The application: its state and its router with every cross-cutting layer.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::extract::{DefaultBodyLimit, FromRef, MatchedPath, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use web::{Chrome, Problem, Site};

use crate::config::Config;
use crate::metrics::{self, Metrics};

#[derive(Debug, Clone)]
pub struct AppState {
    pub db: store::Db,
    pub site: Site,
    pub metrics: Arc<Metrics>,
    pub registry: registry::Registry,
    pub identity: identity::Identity,
    pub exchange: exchange::Exchange,
    pub audit: audit::AuditLog,
}

impl FromRef<AppState> for audit::AuditLog {
    fn from_ref(state: &AppState) -> Self {
        state.audit.clone()
    }
}

impl FromRef<AppState> for exchange::Exchange {
    fn from_ref(state: &AppState) -> Self {
        state.exchange.clone()
    }
}

impl FromRef<AppState> for identity::Identity {
    fn from_ref(state: &AppState) -> Self {
        state.identity.clone()
    }
}

impl FromRef<AppState> for registry::Registry {
    fn from_ref(state: &AppState) -> Self {
        state.registry.clone()
    }
}

impl FromRef<AppState> for Site {
    fn from_ref(state: &AppState) -> Self {
        state.site.clone()
    }
}

impl FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "lienthong", description = "Digital-government platform: reference data, registries, identity, exchange."),
    tags((name = "reference", description = "Administrative units and state agencies by period"),
         (name = "registry", description = "National population database, for officials holding registry.officer at BCA (session cookie)"),
         (name = "identity", description = "Services for agency and bank systems, authenticated with a machine access token (client_credentials with private_key_jwt at /oauth/token)"),
         (name = "exchange", description = "Data-exchange platform management, for operators (exchange.operator) and member administrators (exchange.admin); the gateway itself speaks X-Road r1 under /r1/"),
         (name = "operations", description = "Health, readiness and metrics")),
    modifiers(&SecuritySchemes)
)]
struct ApiDoc;

/// Declares the schemes that operations name in their `security`: the machine access token
/// of agency and bank systems, and officials' session cookie.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "machine_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from the client_credentials grant"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            crate::openapi::SESSION_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                identity::SESSION_COOKIE,
                "The session of an official signed in at /login",
            ))),
        );
    }
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP surface of one node.
pub fn router(state: AppState, config: &Config) -> Router {
    let (api, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .merge(web::reference::api_routes())
        .merge(registry::http::api_routes())
        .merge(identity::http::api_routes())
        .merge(exchange::http::api_routes())
        .split_for_parts();
    crate::openapi::describe_errors(&mut openapi);
    let openapi_json = Arc::new(openapi.to_pretty_json().unwrap_or_default());

    let pages = Router::new()
        .route("/", get(web::home::page))
        .route("/about/{page}", get(web::about::page))
        .route("/reference", get(web::reference::page))
        .route("/lang", get(web::lang::switch))
        .route("/static/{name}", get(web::assets::serve))
        .merge(identity::http::routes())
        .merge(identity::oidc::routes())
        .merge(registry::http::routes())
        .merge(registry::tracker::routes())
        .merge(exchange::http::routes());

    // The span names the route template, never the concrete path or query: those can hold
    // personal data (an ID number in a lookup), which must not reach the logs.
    let request_span = |request: &axum::http::Request<_>| {
        let id = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", MatchedPath::as_str);
        tracing::info_span!("request", id, method = %request.method(), route)
    };

    // The gateway stays outside the layers below: providers' answers pass through unchanged
    // (no error rewriting, no compression) and per-service timeouts replace the global one.
    // Its own state is the exchange alone: a request then clones one Arc, not the whole
    // application state.
    let gateway = exchange::gateway_routes().with_state(state.exchange.clone());
    let platform = api
        .merge(pages)
        .route("/metrics", get(metrics::serve))
        .route(
            "/openapi.json",
            get(move || async move {
                (
                    [("content-type", "application/json")],
                    openapi_json.as_ref().clone(),
                )
            }),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(config.request_timeout_secs),
        ))
        .layer(axum::middleware::from_fn(web::problem::normalize_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.site.clone(),
            web::error_page::pages_never_json,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.identity.clone(),
            identity::resolve_session,
        ))
        .layer(axum::middleware::from_fn_with_state(
            web::auth::CrossSiteGuard {
                public_https: config
                    .identity
                    .public_url
                    .as_deref()
                    .is_some_and(|url| url.starts_with("https://")),
            },
            web::auth::reject_cross_site,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::record,
        ))
        .layer(axum::middleware::from_fn(strict_transport_over_tls))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_request(())
                        .on_response(DefaultOnResponse::new().level(Level::INFO))
                        // Every answer is logged above with its status, and an internal error
                        // logs its cause at ERROR where it happens; a deliberate 503 (sign-ins
                        // queued too long) is no error, and a flood of them must not fill the log.
                        .on_failure(()),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
                .layer(CompressionLayer::new())
                .layer(security_header(X_CONTENT_TYPE_OPTIONS, "nosniff"))
                // Pages and answers may name citizens: no copy in shared or browser caches
                // unless a handler says otherwise (static assets, the CA certificate).
                .layer(security_header(CACHE_CONTROL, "no-store"))
                .layer(security_header(X_FRAME_OPTIONS, "DENY"))
                .layer(security_header(REFERRER_POLICY, "same-origin"))
                .layer(security_header(CONTENT_SECURITY_POLICY, web::csp::POLICY))
                .layer(security_header(
                    HeaderName::from_static("permissions-policy"),
                    "camera=(), microphone=(), geolocation=()",
                )),
        )
        .with_state(state);
    gateway.merge(platform)
}

/// HSTS on answers sent over TLS only (RFC 6797 §7.2: never over plain HTTP). One year, as
/// the HSTS preload list asks; subdomains are the operator's to decide, so not included.
async fn strict_transport_over_tls(request: Request, next: Next) -> Response {
    let over_tls = request
        .extensions()
        .get::<web::auth::ServedOverTls>()
        .is_some();
    let mut response = next.run(request).await;
    if over_tls {
        response.headers_mut().insert(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

fn security_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

#[derive(Serialize, ToSchema)]
struct Health {
    status: &'static str,
    version: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
async fn healthz() -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// The database answers and every migration of this version is applied.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Problem)))]
async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.is_ready(crate::MIGRATIONS).await {
        Ok(true) => axum::Json(Health {
            status: "ready",
            version: env!("CARGO_PKG_VERSION"),
        })
        .into_response(),
        Ok(false) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-migrated",
            "the database lacks migrations of this version; run `lienthong migrate`",
        )
        .into_response(),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database-unreachable",
                "the database does not answer",
            )
            .into_response()
        }
    }
}

/// Pages get an HTML page; everything else a problem document.
async fn not_found(chrome: Chrome, uri: Uri) -> Response {
    if let Some(refusal) = exchange::unknown_protocol_version(uri.path()) {
        return refusal;
    }
    let is_api = ["/api/", "/r1/", "/metrics", "/openapi"]
        .iter()
        .any(|prefix| uri.path().starts_with(prefix));
    if is_api {
        return Problem::not_found("not-found", format!("nothing exists at {}", uri.path()))
            .into_response();
    }
    web::home::not_found(chrome).await
}
