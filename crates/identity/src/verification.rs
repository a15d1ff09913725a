//! Identity verification for banks (seed 001: bank accounts checked against the population
//! database). A bank's system, signed in as itself with a machine token, submits what its
//! customer declared and learns, field by field, whether it matches the registry; never the
//! record. The check goes through the exchange to the registry's `identity-check` service, so
//! it is in the audit log and the citizen's data tracker under the bank's name.

use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use exchange::client::Purpose;
use kernel::PersonalId;
use serde::{Deserialize, Serialize};
use store::timestamp;
use time::Date;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use web::{ApiJson, Problem};

use crate::accounts::{Identity, IdentityError};
use crate::oidc::MachineToken;

/// The scope a bank's client needs.
pub const VERIFY_SCOPE: &str = "identity.verify";
/// What the citizen sees as the purpose of the check.
const PURPOSE: &str = "Xác minh danh tính chủ tài khoản ngân hàng";

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
            Ok(Ok(verified)) => Ok(Self(verified)),
            Ok(Err(rejected)) => Err(unauthorized(rejected.to_string()).into_response()),
            Err(error) => Err(Problem::internal(&error).into_response()),
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

/// What the bank's customer declared.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolderClaim {
    /// 12-digit personal ID number.
    pub personal_id: String,
    pub full_name: String,
    #[schema(value_type = String, format = Date)]
    pub birth_date: Date,
    /// The bank's own reference for the check (an application or account number).
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Match,
    NoMatch,
}

impl From<bool> for Outcome {
    fn from(matched: bool) -> Self {
        if matched { Self::Match } else { Self::NoMatch }
    }
}

/// Per-field outcome; `living` is no match when the registry records a death or missing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HolderCheck {
    pub check_id: String,
    pub checked_at: String,
    pub personal_id: Outcome,
    pub full_name: Outcome,
    pub birth_date: Outcome,
    pub living: Outcome,
}

impl Identity {
    /// Compares a declared identity with the registry and keeps the check.
    pub async fn verify_holder(
        &self,
        caller: &MachineToken,
        claim: HolderClaim,
    ) -> Result<HolderCheck, IdentityError> {
        let personal_id =
            PersonalId::parse(claim.personal_id.trim()).map_err(|e| IdentityError::Invalid {
                field: "personal_id",
                reason: e.reason,
            })?;
        if claim.full_name.trim().is_empty() {
            return Err(IdentityError::Invalid {
                field: "full_name",
                reason: "is required".into(),
            });
        }
        let reference = claim.reference.filter(|r| !r.trim().is_empty());
        if reference.as_ref().is_some_and(|r| r.chars().count() > 100) {
            return Err(IdentityError::Invalid {
                field: "reference",
                reason: "at most 100 characters".into(),
            });
        }
        // The citizen sees the bank by the name its operator registered.
        let bank = self
            .machine_client(&caller.client_id)
            .await?
            .map_or_else(|| caller.subject.clone(), |client| client.name);
        let matched = self
            .population
            .check(
                personal_id,
                claim.full_name.trim(),
                claim.birth_date,
                Purpose {
                    on_behalf_of: Some(&bank),
                    issue: PURPOSE,
                },
            )
            .await?;
        let check = HolderCheck {
            check_id: uuid::Uuid::now_v7().to_string(),
            checked_at: timestamp::now(),
            personal_id: matched.personal_id.into(),
            full_name: matched.full_name.into(),
            birth_date: matched.birth_date.into(),
            living: matched.living.into(),
        };
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "INSERT INTO identity_verifications (id, client_id, subject, personal_id, personal_id_match, full_name_match, birth_date_match, living_match, reference, checked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&check.check_id)
        .bind(&caller.client_id)
        .bind(&caller.subject)
        .bind(personal_id.to_string())
        .bind(i64::from(matched.personal_id))
        .bind(i64::from(matched.full_name))
        .bind(i64::from(matched.birth_date))
        .bind(i64::from(matched.living))
        .bind(&reference)
        .bind(&check.checked_at)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(check)
    }
}

pub fn api_routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Identity: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(verify_holder_api))
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
        Ok(check) => axum::Json(check).into_response(),
        Err(IdentityError::Invalid { field, reason }) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            format!("{field}: {reason}"),
        )
        .field(field)
        .into_response(),
        Err(other) => Problem::internal(&other).into_response(),
    }
}
