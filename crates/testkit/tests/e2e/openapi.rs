//! The OpenAPI document against what the API answers: every operation is called the ways a
//! client gets it wrong (no session, a session with every role, malformed and mistyped bodies,
//! unparsable query values, a foreign origin), and each answer's status and content type must
//! be among those its description lists. A new operation joins by being in the document.

use reqwest::Method;
use serde_json::Value;
use testkit::{Caller, TestApp, TestResult, for_each_backend};

/// A value for every path parameter: well formed for personal IDs, unknown to everything.
const PATH_VALUE: &str = "079099000123";

struct Probe {
    name: &'static str,
    signed_in: bool,
    body: Option<(&'static str, &'static str)>,
    bad_query: bool,
    foreign_origin: bool,
}

const PROBES: [Probe; 6] = [
    Probe {
        name: "anonymous",
        signed_in: false,
        body: None,
        bad_query: false,
        foreign_origin: false,
    },
    Probe {
        name: "signed in",
        signed_in: true,
        body: Some(("application/json", "{}")),
        bad_query: false,
        foreign_origin: false,
    },
    Probe {
        name: "malformed JSON",
        signed_in: true,
        body: Some(("application/json", "{\"a\":")),
        bad_query: false,
        foreign_origin: false,
    },
    Probe {
        name: "not JSON",
        signed_in: true,
        body: Some(("text/plain", "hello")),
        bad_query: false,
        foreign_origin: false,
    },
    Probe {
        name: "unparsable query",
        signed_in: true,
        body: Some(("application/json", "{}")),
        bad_query: true,
        foreign_origin: false,
    },
    Probe {
        name: "foreign origin",
        signed_in: true,
        body: Some(("application/json", "{}")),
        bad_query: false,
        foreign_origin: true,
    },
];

#[tokio::test]
async fn every_answer_is_described_by_the_openapi_document() -> TestResult {
    for_each_backend(|app| async move {
        let cookie = official_with_every_role(&app).await?;
        let document: Value = app.get("/openapi.json").await?.json().await?;
        let paths = document["paths"].as_object().ok_or("no paths")?;
        let mut undescribed = Vec::new();
        let mut calls = 0;
        for (template, item) in paths {
            for (method, operation) in item.as_object().ok_or("path item")? {
                let Ok(method) = method.to_uppercase().parse::<Method>() else {
                    continue;
                };
                for probe in &PROBES {
                    let has_body = operation.get("requestBody").is_some();
                    let url = app.url(&concrete(template, operation, probe.bad_query));
                    let mut request = app.client.request(method.clone(), &url);
                    if probe.signed_in {
                        request = request.header("cookie", &cookie);
                    }
                    if probe.foreign_origin {
                        request = request.header("origin", "http://evil.example");
                    }
                    if let (true, Some((content_type, body))) = (has_body, probe.body) {
                        request = request.header("content-type", content_type).body(body);
                    }
                    let response = request.send().await?;
                    calls += 1;
                    let status = response.status().as_u16().to_string();
                    let content_type = response
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .map(|v| v.split(';').next().unwrap_or_default().trim().to_owned());
                    if let Err(why) = described(operation, &status, content_type.as_deref()) {
                        undescribed.push(format!("{method} {template} ({}): {why}", probe.name));
                    }
                }
            }
        }
        assert!(
            calls > 100,
            "only {calls} calls: the document lost its operations"
        );
        assert!(
            undescribed.is_empty(),
            "{} answers the document does not describe:\n{}",
            undescribed.len(),
            undescribed.join("\n")
        );
        Ok(())
    })
    .await
}

/// The path with its parameters filled, and every query parameter given (unparsable ones
/// when `bad_query`, since a query that parses then fails in a way the probe cannot predict).
fn concrete(template: &str, operation: &Value, bad_query: bool) -> String {
    let mut path = template.to_owned();
    let mut query = Vec::new();
    for parameter in operation["parameters"].as_array().into_iter().flatten() {
        let name = parameter["name"].as_str().unwrap_or_default();
        match parameter["in"].as_str() {
            Some("path") => path = path.replace(&format!("{{{name}}}"), PATH_VALUE),
            Some("query") if bad_query => query.push(format!("{name}=%FF%FE")),
            _ => {}
        }
    }
    if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

fn described(operation: &Value, status: &str, content_type: Option<&str>) -> Result<(), String> {
    let responses = &operation["responses"];
    let Some(response) = responses.get(status).or_else(|| responses.get("default")) else {
        return Err(format!("status {status} is not listed"));
    };
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        return match content_type {
            None => Ok(()),
            Some(actual) => Err(format!("{status} has no content described, got {actual}")),
        };
    };
    match content_type {
        Some(actual) if content.contains_key(actual) => Ok(()),
        actual => Err(format!(
            "{status} answered {actual:?}, described as {:?}",
            content.keys().collect::<Vec<_>>()
        )),
    }
}

/// The session cookie of an official who holds every role the API checks.
async fn official_with_every_role(
    app: &TestApp,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let official = app.sign_in_as(Caller::RegistryOfficer).await?;
    for role in [
        Caller::IdentityVerifier,
        Caller::ExchangeOperator,
        Caller::ExchangeAdmin("BCA"),
    ] {
        app.grant(official.person.id(), role).await?;
    }
    Ok(official.cookies())
}
