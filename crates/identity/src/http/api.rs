//! JSON endpoints: the check of a bank customer's identity for agency and bank systems
//! (machine token, in the OpenAPI document), the officials' account actions (session with
//! a role), and the passkey ceremonies the sign-in page's script runs. Each parses the
//! request, calls the service and serialises its answer; errors become problems through
//! `http/error.rs`.

use axum::extract::{FromRef, FromRequestParts, Path, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use kernel::PersonalId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use web::{ApiJson, Authenticated, Problem, Site};

use crate::accounts::Identity;
use crate::error::IdentityError;
use crate::oidc::MachineToken;
use crate::verification::{HolderCheck, HolderClaim, VERIFY_SCOPE};

mod passkeys;

pub(super) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Identity: FromRef<S>,
    Site: FromRef<S>,
{
    Router::new()
        .route(
            "/api/v1/identity/accounts/{personal_id}/level2",
            post(confirm_level2),
        )
        .route(
            "/api/v1/identity/accounts/{personal_id}/recovery-code",
            post(issue_recovery_code),
        )
        .merge(passkeys::routes())
}

pub(super) fn documented_routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Identity: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(verify_holder_api))
}

/// An agency or bank system, authenticated by a machine access token
/// (`Authorization: Bearer …` from the `client_credentials` grant).
#[derive(Debug, Clone)]
pub struct MachineCaller(pub MachineToken);

/// Why a machine caller was turned away (RFC 6750 §3).
#[derive(Debug)]
pub struct BearerRejection {
    status: StatusCode,
    error: &'static str,
    detail: String,
}

impl IntoResponse for BearerRejection {
    fn into_response(self) -> Response {
        let challenge = format!(
            "Bearer error=\"{}\", error_description=\"{}\"",
            self.error,
            self.detail.replace('"', "'")
        );
        let mut response = Problem::new(self.status, self.error, self.detail).into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

impl<S> FromRequestParts<S> for MachineCaller
where
    S: Send + Sync,
    Identity: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let unauthorized = |detail: String| BearerRejection {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_token",
            detail,
        };
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                unauthorized(
                    "send a machine access token as Authorization: Bearer (client_credentials)"
                        .into(),
                )
                .into_response()
            })?;
        match Identity::from_ref(state)
            .verify_machine_token(token.trim())
            .await
        {
            Ok(verified) => Ok(Self(verified)),
            Err(IdentityError::TokenRejected(rejected)) => {
                Err(unauthorized(rejected.to_string()).into_response())
            }
            Err(other) => Err(Problem::from(other).into_response()),
        }
    }
}

impl MachineCaller {
    /// Refuses a caller whose token lacks `scope` (RFC 6750 §3.1 `insufficient_scope`).
    pub fn require(&self, scope: &str) -> Result<(), BearerRejection> {
        if self.0.scope.split_whitespace().any(|s| s == scope) {
            Ok(())
        } else {
            Err(BearerRejection {
                status: StatusCode::FORBIDDEN,
                error: "insufficient_scope",
                detail: format!("this needs a token with scope {scope}"),
            })
        }
    }
}

/// Check a bank customer's declared identity against the population registry.
#[utoipa::path(post, path = "/api/v1/identity/verifications", tag = "identity",
    request_body = HolderClaim,
    security(("machine_token" = ["identity.verify"])),
    responses((status = 200, body = HolderCheck), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn verify_holder_api(
    caller: MachineCaller,
    State(identity): State<Identity>,
    ApiJson(claim): ApiJson<HolderClaim>,
) -> Response {
    if let Err(refused) = caller.require(VERIFY_SCOPE) {
        return refused.into_response();
    }
    match identity.verify_holder(&caller.0, claim).await {
        Ok(check) => Json(check).into_response(),
        Err(error) => Problem::from(error).into_response(),
    }
}

fn personal_id_in_path(text: &str) -> Result<PersonalId, Problem> {
    PersonalId::parse(text.trim()).map_err(|e| {
        Problem::new(StatusCode::BAD_REQUEST, "invalid-personal-id", e.reason).field("personal_id")
    })
}

/// An official holding `identity.verifier` confirms, after checking the person and their
/// card in person, that the account is level 2 (Decree 69/2024). Who and when is recorded.
async fn confirm_level2(
    Authenticated(official): Authenticated,
    State(identity): State<Identity>,
    Path(personal_id): Path<String>,
) -> Result<StatusCode, Problem> {
    identity
        .confirm_level2(personal_id_in_path(&personal_id)?, &official)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Serialize)]
struct RecoveryCode {
    code: String,
    valid_minutes: u32,
}

/// For a verifier official: a one-time code to hand over in person.
async fn issue_recovery_code(
    Authenticated(official): Authenticated,
    State(identity): State<Identity>,
    Path(personal_id): Path<String>,
) -> Result<(StatusCode, Json<RecoveryCode>), Problem> {
    let code = identity
        .issue_recovery_code(personal_id_in_path(&personal_id)?, &official)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RecoveryCode {
            code,
            valid_minutes: 30,
        }),
    ))
}
