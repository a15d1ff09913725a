//! Every page a citizen, an official and an operator reach, walked in headless Chromium at
//! 390 px in Vietnamese and in English: no JSON shown, nothing scrolling sideways, no axe-core
//! violation of WCAG 2.1 AA, and on a Vietnamese page no sentence of the English catalogue.

use testkit::{Caller, TestApp, TestResult, for_each_backend};

use super::chromium::{Chromium, Failure, assert_no_english};

async fn walk(browser: &Chromium, app: &TestApp, paths: &[String]) -> Result<(), Failure> {
    for lang in ["vi", "en"] {
        browser
            .goto(&app.url(&format!("/lang?to={lang}&next=/")))
            .await?;
        for path in paths {
            browser.goto(&app.url(path)).await?;
            browser
                .assert_page_fits()
                .await
                .map_err(|e| format!("{lang} {path}: {e}"))?;
            browser
                .assert_accessible()
                .await
                .map_err(|e| format!("{lang} {path}: {e}"))?;
            if lang == "vi" {
                assert_no_english(path, &browser.text().await?)?;
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_page_fits_a_phone_speaks_the_readers_language_and_passes_axe() -> TestResult {
    let Some(browser) = Chromium::phone().await? else {
        return Ok(());
    };
    let outcome = for_each_backend(|app| {
        let browser = &browser;
        async move {
            let public: Vec<String> = [
                "/",
                "/login",
                "/register",
                "/register/done",
                "/recover",
                "/reference",
                "/reference?at=2024-06-01",
                "/about/help",
                "/about/contact",
                "/about/privacy",
                "/about/accessibility",
                "/no/such/page",
            ]
            .map(str::to_owned)
            .to_vec();
            walk(browser, &app, &public).await?;

            let citizen = app.open_account(app.resident().await?).await?;
            browser
                .sign_in(&app.base, &citizen.id().to_string(), &citizen.password)
                .await?;
            let own: Vec<String> = [
                "/",
                "/account",
                "/account/my-data",
                "/account/data-tracker",
                "/account/totp",
                "/registry",
            ]
            .map(str::to_owned)
            .to_vec();
            walk(browser, &app, &own).await?;
            browser.client.delete_all_cookies().await?;

            let official = app.open_account(app.resident().await?).await?;
            app.grant(official.id(), Caller::RegistryOfficer).await?;
            browser
                .sign_in(&app.base, &official.id().to_string(), &official.password)
                .await?;
            let subject = app.resident().await?;
            let with_query = |path: &str, query: &[(&str, &str)]| -> Result<String, Failure> {
                let url = reqwest::Url::parse_with_params(&app.url(path), query)?;
                Ok(format!(
                    "{}?{}",
                    url.path(),
                    url.query().unwrap_or_default()
                ))
            };
            let purpose = "Kiểm tra hồ sơ";
            let work = vec![
                "/registry".to_owned(),
                with_query(
                    "/registry",
                    &[("purpose", purpose), ("name", &subject.full_name)],
                )?,
                with_query(
                    "/registry",
                    &[("purpose", "abc"), ("name", &subject.full_name)],
                )?,
                with_query(
                    &format!("/registry/citizens/{}", subject.personal_id),
                    &[("purpose", purpose)],
                )?,
                "/registry/births".to_owned(),
            ];
            walk(browser, &app, &work).await?;
            browser.client.delete_all_cookies().await?;

            let operator = app.open_account(app.resident().await?).await?;
            app.grant(operator.id(), Caller::ExchangeOperator).await?;
            browser
                .sign_in(&app.base, &operator.id().to_string(), &operator.password)
                .await?;
            walk(browser, &app, &["/exchange".to_owned()]).await?;
            browser.client.delete_all_cookies().await?;

            let verifier = app.open_account(app.resident().await?).await?;
            app.grant(verifier.id(), Caller::IdentityVerifier).await?;
            browser
                .sign_in(&app.base, &verifier.id().to_string(), &verifier.password)
                .await?;
            walk(browser, &app, &["/identity/verify".to_owned()]).await?;
            browser.client.delete_all_cookies().await?;

            // A helper acting for a citizen who gave a mandate on their account page.
            let citizen = app.citizen().await?;
            let helper = app.open_account(app.resident().await?).await?;
            app.grant(helper.id(), Caller::Helper).await?;
            let given = citizen
                .post("/account/mandates")
                .form(&[
                    ("helper_personal_id", helper.id().to_string().as_str()),
                    ("scope", "profile.view"),
                    ("scope", "access_log.view"),
                    ("days", "7"),
                ])
                .send()
                .await?;
            assert_eq!(given.status(), reqwest::StatusCode::SEE_OTHER);
            browser
                .sign_in(&app.base, &helper.id().to_string(), &helper.password)
                .await?;
            browser
                .open_by("form[action^='/assist/start/'] button")
                .await?;
            let helping: Vec<String> = ["/assist", "/assist/profile", "/assist/data-access"]
                .map(str::to_owned)
                .to_vec();
            walk(browser, &app, &helping).await?;
            browser.client.delete_all_cookies().await?;
            app.stop().await?;
            Ok::<(), Failure>(())
        }
    })
    .await;
    browser.close().await?;
    outcome
}
