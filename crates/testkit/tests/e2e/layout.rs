//! Every page a citizen, an official, an operator or a helper can reach, in headless Chromium
//! on a phone 390 CSS pixels wide: nothing scrolls sideways, and a page is light on the wire
//! (issue 13 §5): under 30 KB with everything it loads, 50 KB for a page that uses htmx, and
//! htmx is loaded by the pages whose markup uses it and no others.

#![allow(clippy::indexing_slicing)] // JSON values indexed by name: a missing one is Null, never a panic

use kernel::Role;
use serde_json::Value;
use testkit::{Person, TestApp, TestResult};

use super::chromium::{Chromium, Failure};

/// The phone: an iPhone 12 to 15 is 390 CSS pixels wide.
const WIDTH: u32 = 390;
const LIGHT_PAGE: u64 = 30 * 1024;
const HTMX_PAGE: u64 = 50 * 1024;

const PURPOSE: &str = "purpose=Ki%E1%BB%83m+tra+h%E1%BB%93+s%C6%A1";

/// What the page weighs with everything it loaded (gzip as served: `encodedBodySize`, the
/// same figure from the network or the cache), how wide it is, and whether it uses htmx.
const MEASURE: &str = "
const entries = [performance.getEntriesByType('navigation')[0],
                 ...performance.getEntriesByType('resource')];
return {
  bytes: entries.reduce((sum, e) => sum + (e.encodedBodySize || 0), 0),
  loads_htmx: entries.some(e => e.name.endsWith('/static/htmx.min.js')),
  uses_htmx: document.querySelector('[hx-get],[hx-post],[hx-put],[hx-patch],[hx-delete],[hx-boost]') !== null,
  width: document.documentElement.scrollWidth,
};";

/// Visits `paths` and says what is wrong with each, if anything.
async fn check_pages(
    browser: &Chromium,
    app: &TestApp,
    who: &str,
    paths: &[String],
    faults: &mut Vec<String>,
) -> Result<(), Failure> {
    for path in paths {
        browser.goto(&app.url(path)).await?;
        let seen: Value = browser.eval(MEASURE).await?;
        let (bytes, width) = (
            seen["bytes"].as_u64().unwrap_or(u64::MAX),
            seen["width"].as_u64().unwrap_or(u64::MAX),
        );
        let (loads_htmx, uses_htmx) = (seen["loads_htmx"] == true, seen["uses_htmx"] == true);
        println!("{who:>9} {bytes:>7} B  {width:>4} px  htmx {loads_htmx:<5}  {path}");
        if width > u64::from(WIDTH) {
            faults.push(format!("{who} {path}: {width} px wide at {WIDTH} px"));
        }
        if loads_htmx != uses_htmx {
            faults.push(format!(
                "{who} {path}: loads htmx {loads_htmx}, uses hx-* {uses_htmx}"
            ));
        }
        let limit = if uses_htmx { HTMX_PAGE } else { LIGHT_PAGE };
        if bytes >= limit {
            faults.push(format!(
                "{who} {path}: {bytes} B on the wire, limit {limit}"
            ));
        }
    }
    Ok(())
}

#[tokio::test]
async fn no_page_scrolls_sideways_on_a_phone_and_pages_stay_light() -> TestResult {
    let app = TestApp::spawn(&store::testing::TestBackend::Sqlite).await?;
    // A citizen who gave a helper a mandate: the account page then has every table.
    let citizen = app.citizen().await?;
    let helper = app.helping(&citizen, &["profile.view"]).await?;
    let (citizen, helper) = (citizen.person.clone(), helper.person.clone());
    let official = app.open_account(app.resident().await?).await?;
    for role in [
        Role::RegistryOfficer,
        Role::IdentityVerifier,
        Role::ExchangeOperator,
    ] {
        app.state
            .identity
            .grant_role(
                official.id(),
                &kernel::AgencyCode::parse("BCA")?,
                role,
                "operator:test",
            )
            .await?;
    }
    let owned = |paths: &[&str]| paths.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>();
    let journeys: [(&str, Option<&Person>, Vec<String>); 4] = [
        (
            "anyone",
            None,
            owned(&[
                "/",
                "/reference",
                "/reference?at=2024-06-01",
                "/login",
                "/register",
                "/recover",
                "/no-such-page",
            ]),
        ),
        (
            "citizen",
            Some(&citizen),
            owned(&["/account", "/account/totp", "/account/data-tracker"]),
        ),
        (
            "official",
            Some(&official),
            vec![
                "/registry".to_owned(),
                format!("/registry?name=Nguy%E1%BB%85n&{PURPOSE}"),
                format!("/registry/citizens/{}?{PURPOSE}", citizen.id()),
                "/registry/births".to_owned(),
                "/exchange".to_owned(),
                "/account".to_owned(),
            ],
        ),
        ("helper", Some(&helper), owned(&["/account", "/assist"])),
    ];

    let mut faults = Vec::new();
    for (who, person, paths) in &journeys {
        let Some(browser) = Chromium::phone().await? else {
            return Ok(());
        };
        let outcome = async {
            if let Some(person) = person {
                browser
                    .sign_in(&app.base, &person.id().to_string(), &person.password)
                    .await?;
            }
            check_pages(&browser, &app, who, paths, &mut faults).await
        }
        .await;
        browser.close().await?;
        outcome?;
    }
    app.stop().await?;
    assert!(faults.is_empty(), "{}", faults.join("\n"));
    Ok(())
}
