//! The authorization matrix: every route the server serves, asked by every kind of caller over
//! real HTTP, with the status each gets in one table. The routes are taken from the server
//! itself (its OpenAPI document, and the `.route(…)` calls in the crates' sources for pages and
//! undocumented endpoints): a route missing from the table fails the test, so a new route
//! joins it with its expected answers; a row whose route no longer exists fails it too.
//!
//! Requests that change something are written so that, once allowed, they stop at a rule of
//! the domain (a stale version, an unknown id, a date in the future) and change nothing: every
//! caller then meets the same state, and 409/404/422 says "allowed in" as surely as 200.
//! Each caller comes from an address of its own, as different people would, so the sign-in
//! failures some rows cause stay within the per-address limit.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::Value;
use testkit::{Browser, CLIENT, Caller, TestApp, TestResult, for_each_backend};

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// The callers, in the order of the table's columns.
const CALLERS: [&str; 10] = [
    "anonymous",
    "citizen",
    "registry officer",
    "identity verifier",
    "exchange operator",
    "exchange admin (BYT)",
    "helper acting for the citizen",
    "token identity.verify",
    "token exchange",
    "token not issued here",
];

enum Body {
    Empty,
    Form(&'static str),
    Json(&'static str),
    Bytes(&'static str, &'static str),
}

use Body::{Empty, Form, Json};

/// One request and the status each caller gets. Rows that would revoke, remove or stop
/// something name an id nothing has (`00000000-…`). `path` and the body may hold `{subject}`
/// (a resident without an account), `{record}` (that resident's record as JSON) and
/// `{client}` (the exchange fixture's client subsystem).
struct Row {
    method: &'static str,
    route: &'static str,
    path: &'static str,
    body: Body,
    expected: [u16; 10],
}

const fn row(
    method: &'static str,
    route: &'static str,
    path: &'static str,
    body: Body,
    expected: [u16; 10],
) -> Row {
    Row {
        method,
        route,
        path,
        body,
        expected,
    }
}

// Columns: anonymous, citizen, registry officer, identity verifier, exchange operator,
// exchange admin of BYT, helper acting for the citizen, token identity.verify, token exchange,
// token not issued here. Pages send a browser without a session to /login (303), APIs answer
// 401; the gateway answers its faults as X-Road does (500 with the fault type).
#[rustfmt::skip]
const TABLE: &[Row] = &[
    // Operations and reference data: public.
    row("GET", "/healthz", "/healthz", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("GET", "/readyz", "/readyz", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("GET", "/metrics", "/metrics", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("GET", "/openapi.json", "/openapi.json", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("GET", "/", "/", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("GET", "/reference", "/reference", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("GET", "/about/{page}", "/about/privacy", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("GET", "/lang", "/lang?to=en&next=/", Empty, [303, 303, 303, 303, 303, 303, 303, 303, 303, 303]),
    row("GET", "/static/{name}", "/static/app.css", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("GET", "/api/v1/provinces", "/api/v1/provinces", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("GET", "/api/v1/provinces/{code}", "/api/v1/provinces/79", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("POST", "/api/v1/provinces/carry-forward", "/api/v1/provinces/carry-forward", Json(r#"{"recorded_on":"2020-05-01","codes":["79"]}"#), [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("GET", "/api/v1/agencies", "/api/v1/agencies", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("GET", "/api/v1/agencies/{code}", "/api/v1/agencies/BCA", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),

    // Signing in, registering, recovering.
    row("GET", "/login", "/login", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("POST", "/login", "/login", Form("personal_id=079085000001&password=mat-khau-sai-1"), [401, 401, 401, 401, 401, 401, 401, 401, 401, 401]),
    row("GET", "/login/code", "/login/code", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("POST", "/login/code", "/login/code", Form("code=000000"), [303, 401, 401, 401, 401, 401, 401, 303, 303, 303]),
    row("GET", "/register", "/register", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("POST", "/register", "/register", Form("personal_id=12345&full_name=&birth_date=&password="), [422, 422, 422, 422, 422, 422, 422, 422, 422, 422]),
    row("GET", "/register/done", "/register/done", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("GET", "/recover", "/recover", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("POST", "/recover", "/recover", Form("personal_id={subject}&code=0000-0000&password=mat-khau-moi-dai-du"), [422, 422, 422, 422, 422, 422, 422, 422, 422, 422]),
    row("POST", "/api/v1/identity/passkeys/sign-in/start", "/api/v1/identity/passkeys/sign-in/start", Json("{}"), [400, 400, 400, 400, 400, 400, 400, 400, 400, 400]),
    row("POST", "/api/v1/identity/passkeys/sign-in/finish", "/api/v1/identity/passkeys/sign-in/finish", Json(r#"{"ceremony":"x","credential":{}}"#), [400, 400, 400, 400, 400, 400, 400, 400, 400, 400]),

    // A person's own account.
    row("GET", "/account", "/account", Empty, [303, 200, 200, 200, 200, 200, 303, 303, 303, 303]),
    row("GET", "/account/totp", "/account/totp", Empty, [303, 200, 200, 200, 200, 200, 303, 303, 303, 303]),
    row("POST", "/account/totp", "/account/totp", Form("code=000000"), [303, 422, 422, 422, 422, 422, 422, 303, 303, 303]),
    row("POST", "/account/sessions/{id}/revoke", "/account/sessions/00000000-0000-7000-8000-000000000000/revoke", Empty, [303, 303, 303, 303, 303, 303, 303, 303, 303, 303]),
    row("POST", "/api/v1/identity/passkeys/register/start", "/api/v1/identity/passkeys/register/start", Json(r#"{"name":"Khóa thử"}"#), [401, 400, 400, 400, 400, 400, 400, 401, 401, 401]),
    row("POST", "/api/v1/identity/passkeys/register/finish", "/api/v1/identity/passkeys/register/finish", Json(r#"{"ceremony":"x","credential":{}}"#), [401, 400, 400, 400, 400, 400, 400, 401, 401, 401]),
    row("POST", "/account/passkeys/{id}/remove", "/account/passkeys/00000000-0000-7000-8000-000000000000/remove", Empty, [303, 303, 303, 303, 303, 303, 303, 303, 303, 303]),
    row("POST", "/account/mandates", "/account/mandates", Form("helper_personal_id={subject}&scope=profile.view&days=45"), [303, 422, 422, 422, 422, 422, 422, 303, 303, 303]),
    row("POST", "/account/mandates/{id}/revoke", "/account/mandates/00000000-0000-7000-8000-000000000000/revoke", Empty, [303, 303, 303, 303, 303, 303, 303, 303, 303, 303]),
    row("GET", "/account/data-tracker", "/account/data-tracker", Empty, [303, 200, 200, 200, 200, 200, 200, 303, 303, 303]),
    row("GET", "/account/my-data", "/account/my-data", Empty, [303, 200, 200, 200, 200, 200, 200, 303, 303, 303]),

    // Assisted use (community digital technology teams).
    row("GET", "/assist", "/assist", Empty, [303, 303, 303, 303, 303, 303, 200, 303, 303, 303]),
    row("GET", "/assist/profile", "/assist/profile", Empty, [303, 403, 403, 403, 403, 403, 200, 303, 303, 303]),
    row("GET", "/assist/data-access", "/assist/data-access", Empty, [303, 403, 403, 403, 403, 403, 200, 303, 303, 303]),
    row("POST", "/assist/start/{id}", "/assist/start/00000000-0000-7000-8000-000000000000", Empty, [303, 403, 403, 403, 403, 403, 403, 303, 303, 303]),

    // OpenID Connect provider.
    row("GET", "/.well-known/openid-configuration", "/.well-known/openid-configuration", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("OPTIONS", "/.well-known/openid-configuration", "/.well-known/openid-configuration", Empty, [204, 204, 204, 204, 204, 204, 204, 204, 204, 204]),
    row("GET", "/oauth/jwks", "/oauth/jwks", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("OPTIONS", "/oauth/jwks", "/oauth/jwks", Empty, [204, 204, 204, 204, 204, 204, 204, 204, 204, 204]),
    row("POST", "/oauth/token", "/oauth/token", Form("grant_type=client_credentials"), [401, 401, 401, 401, 401, 401, 401, 401, 401, 401]),
    row("OPTIONS", "/oauth/token", "/oauth/token", Empty, [204, 204, 204, 204, 204, 204, 204, 204, 204, 204]),
    row("GET", "/oauth/userinfo", "/oauth/userinfo", Empty, [401, 401, 401, 401, 401, 401, 401, 401, 401, 401]),
    row("POST", "/oauth/userinfo", "/oauth/userinfo", Empty, [401, 401, 401, 401, 401, 401, 401, 401, 401, 401]),
    row("OPTIONS", "/oauth/userinfo", "/oauth/userinfo", Empty, [204, 204, 204, 204, 204, 204, 204, 204, 204, 204]),
    row("POST", "/oauth/revoke", "/oauth/revoke", Form("token=x"), [401, 401, 401, 401, 401, 401, 401, 401, 401, 401]),
    row("OPTIONS", "/oauth/revoke", "/oauth/revoke", Empty, [204, 204, 204, 204, 204, 204, 204, 204, 204, 204]),
    row("GET", "/oauth/authorize", "/oauth/authorize", Empty, [400, 400, 400, 400, 400, 400, 400, 400, 400, 400]),
    row("POST", "/oauth/authorize", "/oauth/authorize", Form("decision=allow"), [303, 400, 400, 400, 400, 400, 400, 303, 303, 303]),

    // Identity officials.
    row("GET", "/identity/verify", "/identity/verify", Empty, [303, 403, 403, 200, 403, 403, 403, 303, 303, 303]),
    row("POST", "/identity/verify", "/identity/verify", Form("personal_id={subject}&step=level2"), [303, 403, 403, 422, 403, 403, 403, 303, 303, 303]),
    row("POST", "/api/v1/identity/accounts/{personal_id}/level2", "/api/v1/identity/accounts/{subject}/level2", Json("{}"), [401, 403, 403, 404, 403, 403, 403, 401, 401, 401]),
    row("POST", "/api/v1/identity/accounts/{personal_id}/recovery-code", "/api/v1/identity/accounts/{subject}/recovery-code", Json("{}"), [401, 403, 403, 404, 403, 403, 403, 401, 401, 401]),
    row("POST", "/api/v1/identity/verifications", "/api/v1/identity/verifications", Json(r#"{"personal_id":"{subject}","full_name":"Người Thử","birth_date":"1990-01-01","reference":"HS-1"}"#), [401, 401, 401, 401, 401, 401, 401, 200, 403, 401]),

    // The population registry.
    row("GET", "/registry", "/registry?name=Nguy%E1%BB%85n&purpose=Ki%E1%BB%83m+tra", Empty, [303, 403, 200, 403, 403, 403, 403, 303, 303, 303]),
    row("GET", "/registry/citizens/{id}", "/registry/citizens/{subject}?purpose=Ki%E1%BB%83m+tra", Empty, [303, 403, 200, 403, 403, 403, 403, 303, 303, 303]),
    row("POST", "/registry/citizens/{id}/changes", "/registry/citizens/{subject}/changes", Form("expected_version=99&phone=0912345678&basis=H%E1%BB%93+s%C6%A1&purpose=Ki%E1%BB%83m+tra"), [303, 403, 409, 403, 403, 403, 403, 303, 303, 303]),
    row("POST", "/registry/citizens/{id}/residence", "/registry/citizens/{subject}/residence", Form("expected_version=99&kind=permanent&province=79&address=S%E1%BB%91+5&effective_from=2026-11-01&basis=H%E1%BB%93+s%C6%A1&purpose=C%C6%B0+tr%C3%BA"), [303, 403, 409, 403, 403, 403, 403, 303, 303, 303]),
    row("GET", "/registry/births", "/registry/births", Empty, [303, 403, 200, 403, 403, 403, 403, 303, 303, 303]),
    row("POST", "/registry/births", "/registry/births", Form("full_name=Nguy%E1%BB%85n+V%C4%83n+A&birth_date=2099-01-01&sex=male&birth_registration_province=79&basis=T%E1%BB%9D+khai"), [303, 403, 422, 403, 403, 403, 403, 303, 303, 303]),
    row("GET", "/api/v1/registry/citizens/{id}", "/api/v1/registry/citizens/{subject}?purpose=kiem+tra", Empty, [401, 403, 200, 403, 403, 403, 403, 401, 401, 401]),
    row("GET", "/api/v1/registry/citizens/{id}/history", "/api/v1/registry/citizens/{subject}/history?purpose=kiem+tra", Empty, [401, 403, 200, 403, 403, 403, 403, 401, 401, 401]),
    row("POST", "/api/v1/registry/citizens/{id}/amendments", "/api/v1/registry/citizens/{subject}/amendments", Json(r#"{"expected_version":99,"basis":"Đơn đề nghị","record":{record}}"#), [401, 403, 409, 403, 403, 403, 403, 401, 401, 401]),
    row("POST", "/api/v1/registry/citizens/{id}/residence", "/api/v1/registry/citizens/{subject}/residence", Json(r#"{"expected_version":99,"kind":"temporary","address":{"province":"01","detail":"Số 5"},"effective_from":"2026-11-21","basis":"Hồ sơ"}"#), [401, 403, 409, 403, 403, 403, 403, 401, 401, 401]),
    row("POST", "/api/v1/registry/births", "/api/v1/registry/births", Json(r#"{"full_name":"Nguyễn Văn A","birth_date":"2099-01-01","sex":"male","birth_registration_province":"79","ethnicity":"01","basis":"Tờ khai"}"#), [401, 403, 422, 403, 403, 403, 403, 401, 401, 401]),
    row("GET", "/api/v1/registry/search", "/api/v1/registry/search?name=nguyen&purpose=kiem+tra", Empty, [401, 403, 200, 403, 403, 403, 403, 401, 401, 401]),
    row("GET", "/api/v1/registry/households/{id}", "/api/v1/registry/households/{subject}?purpose=kiem+tra", Empty, [401, 403, 404, 403, 403, 403, 403, 401, 401, 401]),

    // Managing the exchange.
    row("GET", "/exchange", "/exchange", Empty, [303, 403, 403, 403, 200, 200, 403, 303, 303, 303]),
    row("POST", "/exchange/members", "/exchange/members", Form("id=VN%2FGOV%2FBTP&name=B%E1%BB%99+T%C6%B0+ph%C3%A1p"), [303, 403, 403, 403, 409, 403, 403, 303, 303, 303]),
    row("POST", "/exchange/subsystems", "/exchange/subsystems", Form("id=VN%2FGOV%2FBYT%2Finsurance&name=B%E1%BA%A3o+hi%E1%BB%83m"), [303, 403, 403, 403, 409, 409, 403, 303, 303, 303]),
    row("POST", "/exchange/rights", "/exchange/rights", Form("client=VN%2FGOV%2FBTP%2Fnobody&service=VN%2FGOV%2FBYT%2Finsurance%2Fcards"), [303, 403, 403, 403, 404, 404, 403, 303, 303, 303]),
    row("POST", "/exchange/rights/{id}/revoke", "/exchange/rights/00000000-0000-7000-8000-000000000000/revoke", Empty, [303, 403, 403, 403, 404, 404, 403, 303, 303, 303]),
    row("POST", "/exchange/certificates", "/exchange/certificates", Form("subsystem=VN%2FGOV%2FBTP%2Fcivil&csr=hello&days="), [303, 403, 403, 403, 422, 403, 403, 303, 303, 303]),
    row("POST", "/exchange/certificates/{serial}/revoke", "/exchange/certificates/40ff/revoke", Empty, [303, 403, 403, 403, 404, 404, 403, 303, 303, 303]),
    row("GET", "/exchange/certificates/{serial}/pem", "/exchange/certificates/40ff/pem", Empty, [303, 403, 403, 403, 404, 404, 403, 303, 303, 303]),
    row("POST", "/api/v1/exchange/members", "/api/v1/exchange/members", Json(r#"{"id":"VN/GOV/BTP","name":"Bộ Tư pháp"}"#), [401, 403, 403, 403, 409, 403, 403, 401, 401, 401]),
    row("POST", "/api/v1/exchange/subsystems", "/api/v1/exchange/subsystems", Json(r#"{"id":"VN/GOV/BYT/insurance","name":"Bảo hiểm y tế"}"#), [401, 403, 403, 403, 409, 409, 403, 401, 401, 401]),
    row("GET", "/api/v1/exchange/services", "/api/v1/exchange/services", Empty, [401, 403, 403, 403, 200, 200, 403, 401, 401, 401]),
    row("POST", "/api/v1/exchange/services", "/api/v1/exchange/services", Json(r#"{"id":"VN/GOV/BYT/insurance/cards","base_url":"http://127.0.0.1:9"}"#), [401, 403, 403, 403, 409, 409, 403, 401, 401, 401]),
    row("GET", "/api/v1/exchange/rights", "/api/v1/exchange/rights", Empty, [401, 403, 403, 403, 200, 200, 403, 401, 401, 401]),
    row("POST", "/api/v1/exchange/rights", "/api/v1/exchange/rights", Json(r#"{"client":"VN/GOV/BTP/nobody","service":"VN/GOV/BYT/insurance/cards"}"#), [401, 403, 403, 403, 404, 404, 403, 401, 401, 401]),
    row("DELETE", "/api/v1/exchange/rights/{id}", "/api/v1/exchange/rights/00000000-0000-7000-8000-000000000000", Empty, [401, 403, 403, 403, 404, 404, 403, 401, 401, 401]),
    row("PUT", "/api/v1/exchange/limits/{client}", "/api/v1/exchange/limits/VN%2FGOV%2FBTP%2Fnobody", Json(r#"{"per_second":1000,"per_day":1000000}"#), [401, 403, 403, 403, 404, 403, 403, 401, 401, 401]),
    row("GET", "/api/v1/exchange/daily-counts", "/api/v1/exchange/daily-counts", Empty, [401, 403, 403, 403, 200, 200, 403, 401, 401, 401]),
    row("GET", "/api/v1/exchange/certificates", "/api/v1/exchange/certificates", Empty, [401, 403, 403, 403, 200, 200, 403, 401, 401, 401]),
    row("POST", "/api/v1/exchange/certificates", "/api/v1/exchange/certificates", Json(r#"{"subsystem":"{client}","csr":"not a request"}"#), [401, 403, 403, 403, 422, 403, 403, 401, 401, 401]),
    row("DELETE", "/api/v1/exchange/certificates/{serial}", "/api/v1/exchange/certificates/40ff", Empty, [401, 403, 403, 403, 404, 404, 403, 401, 401, 401]),
    row("POST", "/api/v1/exchange/certificates/{serial}/revoke", "/api/v1/exchange/certificates/40ff/revoke", Empty, [401, 403, 403, 403, 404, 404, 403, 401, 401, 401]),
    row("GET", "/api/v1/exchange/ca.pem", "/api/v1/exchange/ca.pem", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("GET", "/api/v1/exchange/ca.crl", "/api/v1/exchange/ca.crl", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("POST", "/api/v1/exchange/ocsp", "/api/v1/exchange/ocsp", Body::Bytes("application/ocsp-request", "not der"), [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),
    row("GET", "/api/v1/exchange/ocsp/{*request}", "/api/v1/exchange/ocsp/AAAA", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),

    // The X-Road r1 gateway.
    row("GET", "/r1/{*rest}", "/r1/VN/GOV/BCA/registry/listMethods", Empty, [400, 400, 400, 400, 400, 400, 400, 500, 200, 500]),
    row("POST", "/r1/{*rest}", "/r1/VN/GOV/BCA/registry/citizens", Json("{}"), [400, 400, 400, 400, 400, 400, 400, 500, 500, 500]),
    row("GET", "/listClients", "/listClients", Empty, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200]),

    // Last, as they end what the caller had: acting for a citizen, then the session.
    row("GET", "/oauth/logout", "/oauth/logout", Empty, [303, 200, 200, 200, 200, 200, 200, 303, 303, 303]),
    row("POST", "/oauth/logout", "/oauth/logout", Form("client_id=nobody"), [303, 200, 200, 200, 200, 200, 200, 303, 303, 303]),
    row("POST", "/assist/stop", "/assist/stop", Empty, [303, 303, 303, 303, 303, 303, 303, 303, 303, 303]),
    row("POST", "/logout", "/logout", Empty, [303, 303, 303, 303, 303, 303, 303, 303, 303, 303]),
];

/// How one caller sends a request.
enum Sender {
    /// A browser, signed in or not: cookies, and same-origin marks on forms.
    Browser(Browser),
    /// An agency system: a bearer token and the X-Road client it acts as, no cookies.
    System {
        client: reqwest::Client,
        token: String,
        subsystem: String,
    },
}

impl Sender {
    fn request(&self, app: &TestApp, method: Method, path: &str) -> reqwest::RequestBuilder {
        match self {
            Self::Browser(browser) => browser.request(method, path),
            Self::System {
                client,
                token,
                subsystem,
            } => client
                .request(method, app.url(path))
                .bearer_auth(token)
                .header("X-Road-Client", subsystem),
        }
    }
}

/// The `n`th caller's own loopback address.
fn address(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 10 + n))
}

/// A system client coming from its own address.
fn system(n: u8, token: String, subsystem: &str) -> Result<Sender, Failure> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(address(n))
        .build()?;
    Ok(Sender::System {
        client,
        token,
        subsystem: subsystem.to_owned(),
    })
}

/// Every caller, in the order of [`CALLERS`].
async fn callers(app: &TestApp) -> Result<Vec<Sender>, Failure> {
    let citizen = app.sign_in_as_from(address(1), Caller::Citizen).await?;
    let helper = app
        .helping_from(
            address(6),
            &citizen,
            &["profile.view", "access_log.view", "dossier.submit"],
        )
        .await?;
    let verify_token = app
        .machine_token("VN/COM/0100150619/ekyc", &["identity.verify"])
        .await?;
    let exchange_token = app
        .machine_token(CLIENT, &[exchange::EXCHANGE_SCOPE])
        .await?;
    Ok(vec![
        Sender::Browser(app.browser_from(address(0))?),
        Sender::Browser(citizen.browser),
        Sender::Browser(
            app.sign_in_as_from(address(2), Caller::RegistryOfficer)
                .await?
                .browser,
        ),
        Sender::Browser(
            app.sign_in_as_from(address(3), Caller::IdentityVerifier)
                .await?
                .browser,
        ),
        Sender::Browser(
            app.sign_in_as_from(address(4), Caller::ExchangeOperator)
                .await?
                .browser,
        ),
        Sender::Browser(
            app.sign_in_as_from(address(5), Caller::ExchangeAdmin("BYT"))
                .await?
                .browser,
        ),
        Sender::Browser(helper.browser),
        system(7, verify_token, "VN/COM/0100150619/ekyc")?,
        system(8, exchange_token, CLIENT)?,
        system(9, "eyJhbGciOiJub25lIn0.e30.".to_owned(), CLIENT)?,
    ])
}

fn fill(text: &str, values: &BTreeMap<&str, String>) -> String {
    values.iter().fold(text.to_owned(), |text, (name, value)| {
        text.replace(name, value)
    })
}

#[tokio::test]
async fn every_route_answers_every_kind_of_caller_as_the_table_says() -> TestResult {
    for_each_backend(|app| async move {
        app.register_exchange_parties("http://127.0.0.1:9").await?;
        let subject = app.resident().await?;
        let values = BTreeMap::from([
            ("{subject}", subject.personal_id.to_string()),
            ("{record}", serde_json::to_string(&subject)?),
            ("{client}", CLIENT.to_owned()),
        ]);
        let callers = callers(&app).await?;
        let mut observed = Vec::new();
        for row in TABLE {
            let method: Method = row.method.parse()?;
            let path = fill(row.path, &values);
            let mut statuses = [0_u16; 10];
            for (status, caller) in statuses.iter_mut().zip(&callers) {
                let request = caller.request(&app, method.clone(), &path);
                let request = match &row.body {
                    Empty => request,
                    Form(form) => request
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(fill(form, &values)),
                    Json(json) => request
                        .header("content-type", "application/json")
                        .body(fill(json, &values)),
                    Body::Bytes(content_type, bytes) => {
                        request.header("content-type", *content_type).body(*bytes)
                    }
                };
                *status = request.send().await?.status().as_u16();
            }
            observed.push(statuses);
        }
        let differences: Vec<String> = TABLE
            .iter()
            .zip(&observed)
            .flat_map(|(row, statuses)| {
                CALLERS
                    .iter()
                    .zip(row.expected.iter().zip(statuses))
                    .filter(|(_, (expected, actual))| expected != actual)
                    .map(move |(caller, (expected, actual))| {
                        format!(
                            "{} {} as {caller}: {actual}, expected {expected}",
                            row.method, row.path
                        )
                    })
            })
            .collect();
        if !differences.is_empty() {
            let table: Vec<String> = TABLE
                .iter()
                .zip(&observed)
                .map(|(row, statuses)| format!("{} {} {:?}", row.method, row.route, statuses))
                .collect();
            return Err(format!(
                "{} answers differ from the table:\n{}\n\nas observed:\n{}",
                differences.len(),
                differences.join("\n"),
                table.join("\n")
            )
            .into());
        }
        app.stop().await?;
        Ok(())
    })
    .await
}

/// A route as the table names it: method (or `ANY`) and path template.
type Route = (String, String);

#[tokio::test]
async fn the_table_has_a_row_for_every_route_and_no_other() -> TestResult {
    for_each_backend(|app| async move {
        let document: Value = app.get("/openapi.json").await?.json().await?;
        let mut served: BTreeSet<Route> = BTreeSet::new();
        for (template, item) in document["paths"].as_object().ok_or("no paths")? {
            for method in item.as_object().ok_or("no path item")?.keys() {
                if method.parse::<Method>().is_ok() && method != "parameters" {
                    served.insert((method.to_uppercase(), template.clone()));
                }
            }
        }
        served.extend(routes_in_sources(&crates_dir())?);
        let in_table: BTreeSet<Route> = TABLE
            .iter()
            .map(|row| (row.method.to_owned(), row.route.to_owned()))
            .collect();
        let answered_for_any: BTreeSet<&str> = served
            .iter()
            .filter(|(method, _)| method == "ANY")
            .map(|(_, route)| route.as_str())
            .collect();
        let missing: Vec<&Route> = served
            .iter()
            .filter(|(method, route)| {
                if method == "ANY" {
                    !in_table.iter().any(|(_, r)| r == route)
                } else {
                    !in_table.contains(&(method.clone(), route.clone()))
                }
            })
            .collect();
        let stale: Vec<&Route> = in_table
            .iter()
            .filter(|(method, route)| {
                !served.contains(&(method.clone(), route.clone()))
                    && !answered_for_any.contains(route.as_str())
            })
            .collect();
        assert!(
            missing.is_empty(),
            "routes the server serves without a row in the authorization matrix (add them with the \
             status each caller gets): {missing:?}"
        );
        assert!(
            stale.is_empty(),
            "rows for routes the server no longer serves: {stale:?}"
        );
        app.stop().await?;
        Ok(())
    })
    .await
}

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

/// The routes added with `.route("…", get(…).post(…))` in the crates' sources, outside test
/// modules: pages, the OAuth endpoints, the gateway, and API routes the OpenAPI document does
/// not describe.
fn routes_in_sources(crates: &Path) -> Result<BTreeSet<Route>, Failure> {
    let mut routes = BTreeSet::new();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(crates)? {
        let source = entry?.path().join("src");
        if source.is_dir() {
            rust_files(&source, &mut files)?;
        }
    }
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for call in code.split(".route(").skip(1) {
            let arguments = balanced(call);
            let Some(path) = arguments.split('"').nth(1) else {
                continue;
            };
            for method in methods(arguments) {
                routes.insert((method, path.to_owned()));
            }
        }
    }
    Ok(routes)
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// The text up to the parenthesis that closes the call whose arguments `text` starts with.
fn balanced(text: &str) -> &str {
    let mut depth = 1_usize;
    for (at, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return text.get(..at).unwrap_or(text);
                }
            }
            _ => {}
        }
    }
    text
}

/// The HTTP methods a method router names (`get(…)`, `.post(…)`, `axum::routing::any(…)`).
fn methods(arguments: &str) -> Vec<String> {
    const NAMES: [&str; 8] = [
        "get", "post", "put", "patch", "delete", "options", "head", "any",
    ];
    let mut found = Vec::new();
    let bytes = arguments.as_bytes();
    for name in NAMES {
        let pattern = format!("{name}(");
        for (at, _) in arguments.match_indices(&pattern) {
            let before = at.checked_sub(1).and_then(|i| bytes.get(i)).copied();
            let starts_a_word = before.is_none_or(|b| !(b.is_ascii_alphanumeric() || b == b'_'));
            if starts_a_word {
                found.push(name.to_uppercase());
            }
        }
    }
    found
}
