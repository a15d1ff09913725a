//! Properties of the exchange's access rights for any method and path: an endpoint pattern
//! never reaches outside its prefix, a right lets through exactly the calls its method and
//! pattern name, and a client with no right is refused everything (deny by default).
//! Paths are the gateway's decoded paths; that encoded dot segments and separators never
//! carry a call outside a right is a property of the gateway, tested over HTTP in testkit's
//! tests/e2e/paths.rs.

use exchange::catalog::path_matches;
use exchange::{Catalog, ClientId, NewEndpoint, NewRight, NewService, ServiceId};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use store::testing::{TestBackend, TestResult};

/// One path segment as clients write them: letters, digits, the unreserved marks, percent
/// escapes and dots (so `..`, `.` and `%2e%2e` turn up), sometimes empty.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]{1,6}",
        "[a-z0-9._~%-]{0,6}",
        Just("..".to_owned()),
        Just(".".to_owned()),
        Just("%2e%2e".to_owned()),
        Just("*".to_owned()),
        Just("**".to_owned()),
    ]
}

fn path() -> impl Strategy<Value = String> {
    vec(segment(), 0..6).prop_map(|segments| format!("/{}", segments.join("/")))
}

/// Literal segments (no wildcard) that a pattern's fixed prefix is made of.
fn literal_prefix() -> impl Strategy<Value = Vec<String>> {
    vec("[a-z0-9]{1,5}", 1..4)
}

fn segments(path: &str) -> Vec<&str> {
    path.trim_start_matches('/').split('/').collect()
}

fn runner() -> TestRunner {
    TestRunner::new(Config::with_cases(512))
}

#[test]
fn a_single_star_matches_exactly_one_segment_below_its_prefix() -> TestResult {
    runner().run(&(literal_prefix(), path()), |(prefix, path)| {
        let pattern = format!("/{}/*", prefix.join("/"));
        if path_matches(&pattern, &path) {
            let given = segments(&path);
            prop_assert_eq!(
                given.len(),
                prefix.len() + 1,
                "{} matched {}",
                pattern,
                path
            );
            prop_assert!(given.iter().zip(&prefix).all(|(g, p)| g == p));
        }
        Ok(())
    })?;
    runner().run(
        &(literal_prefix(), "[a-z0-9._~%-]{0,8}"),
        |(prefix, last)| {
            let pattern = format!("/{}/*", prefix.join("/"));
            let path = format!("/{}/{last}", prefix.join("/"));
            prop_assert!(path_matches(&pattern, &path), "{} missed {}", pattern, path);
            Ok(())
        },
    )?;
    Ok(())
}

#[test]
fn a_double_star_never_reaches_outside_its_prefix() -> TestResult {
    runner().run(&(literal_prefix(), path()), |(prefix, path)| {
        let pattern = format!("/{}/**", prefix.join("/"));
        let given = segments(&path);
        let inside = given.len() >= prefix.len() && given.iter().zip(&prefix).all(|(g, p)| g == p);
        prop_assert_eq!(
            path_matches(&pattern, &path),
            inside,
            "{} and {}",
            pattern,
            path
        );
        Ok(())
    })?;
    Ok(())
}

#[test]
fn a_pattern_without_wildcards_matches_only_itself() -> TestResult {
    runner().run(&(literal_prefix(), path()), |(literal, path)| {
        let pattern = format!("/{}", literal.join("/"));
        prop_assert_eq!(path_matches(&pattern, &path), pattern == path);
        Ok(())
    })?;
    Ok(())
}

const CLIENT: &str = "VN/GOV/BTP/civil";
const STRANGER: &str = "VN/GOV/BTP/other";
const CARDS: &str = "VN/GOV/BYT/insurance/cards";
const CLAIMS: &str = "VN/GOV/BYT/insurance/claims";

/// A catalogue with two services and two rights of [`CLIENT`] on [`CARDS`] (`GET /cards/*`
/// and `post /claims/**`), and none for [`STRANGER`] or on [`CLAIMS`].
async fn catalogue(db: store::Db) -> Result<Catalog, Box<dyn std::error::Error + Send + Sync>> {
    let networks = exchange::networks::ProviderNetworks::parse(&["127.0.0.0/8"])?;
    let catalog = Catalog::open(db, networks).await?;
    catalog.add_member("VN/GOV/BTP", "Bộ Tư pháp").await?;
    catalog.add_subsystem(CLIENT, "Hộ tịch").await?;
    catalog.add_subsystem(STRANGER, "Khác").await?;
    catalog.add_member("VN/GOV/BYT", "Bộ Y tế").await?;
    catalog
        .add_subsystem("VN/GOV/BYT/insurance", "Bảo hiểm")
        .await?;
    for service in [CARDS, CLAIMS] {
        catalog
            .add_service(NewService {
                id: service.into(),
                base_url: "http://127.0.0.1:9".into(),
                openapi: None,
                timeout_ms: None,
                endpoints: vec![NewEndpoint {
                    method: "GET".into(),
                    path: "/**".into(),
                }],
            })
            .await?;
    }
    for (method, path) in [("GET", "/cards/*"), ("post", "/claims/**")] {
        catalog
            .grant(
                NewRight {
                    client: CLIENT.into(),
                    service: CARDS.into(),
                    method: Some(method.into()),
                    path: Some(path.into()),
                    fields: None,
                },
                "operator:test",
            )
            .await?;
    }
    Ok(catalog)
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("GET".to_owned()),
        Just("get".to_owned()),
        Just("POST".to_owned()),
        Just("Post".to_owned()),
        "[A-Za-z]{1,8}",
    ]
}

#[tokio::test]
async fn a_right_lets_through_its_method_and_pattern_and_nothing_else() -> TestResult {
    for backend in TestBackend::all() {
        let fresh = backend.fresh().await?;
        let catalog = catalogue(fresh.migrated(&[&exchange::MIGRATIONS]).await?).await?;
        let snapshot = catalog.snapshot().await;
        let client = ClientId::parse(CLIENT)?;
        let stranger = ClientId::parse(STRANGER)?;
        let (cards, claims) = (ServiceId::parse(CARDS)?, ServiceId::parse(CLAIMS)?);
        runner().run(&(method(), path()), |(method, path)| {
            let expected = (method.eq_ignore_ascii_case("GET") && path_matches("/cards/*", &path))
                || (method.eq_ignore_ascii_case("POST") && path_matches("/claims/**", &path));
            let right = snapshot.right_for(&client, &cards, &method, &path);
            prop_assert_eq!(right.is_some(), expected, "{} {}", method, path);
            if right.is_some() {
                let top = segments(&path).first().copied();
                prop_assert!(
                    matches!(top, Some("cards" | "claims")),
                    "{} {} escaped the rights' prefixes",
                    method,
                    path
                );
            }
            prop_assert!(
                snapshot
                    .right_for(&stranger, &cards, &method, &path)
                    .is_none(),
                "a client without a right is refused"
            );
            prop_assert!(
                snapshot
                    .right_for(&client, &claims, &method, &path)
                    .is_none(),
                "a right on one service opens no other"
            );
            Ok(())
        })?;
    }
    Ok(())
}

#[tokio::test]
async fn a_revoked_right_lets_nothing_through() -> TestResult {
    for backend in TestBackend::all() {
        let fresh = backend.fresh().await?;
        let catalog = catalogue(fresh.migrated(&[&exchange::MIGRATIONS]).await?).await?;
        let ids: Vec<String> = catalog
            .snapshot()
            .await
            .all_rights()
            .map(|right| right.id.clone())
            .collect();
        for id in ids {
            catalog.revoke(&id, "operator:test").await?;
        }
        let snapshot = catalog.snapshot().await;
        let client = ClientId::parse(CLIENT)?;
        let cards = ServiceId::parse(CARDS)?;
        runner().run(&(method(), path()), |(method, path)| {
            prop_assert!(
                snapshot
                    .right_for(&client, &cards, &method, &path)
                    .is_none()
            );
            Ok(())
        })?;
    }
    Ok(())
}
