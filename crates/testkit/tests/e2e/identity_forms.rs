//! Identity's forms as people meet them, in headless Chromium at 390 px: registration,
//! sign-in, the sign-in code, the second factor's set-up, a mandate, the police officer's
//! verification page and account recovery, each sent once with bad input and once with good.
//! A page never shows JSON; errors come back in Vietnamese, summarised at the top with a link
//! to each field, beside the field, with what was typed kept (never a password or a code).

use fantoccini::Locator;
use kernel::Message;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use testkit::{Caller, TestResult, for_each_backend};

use super::chromium::{Chromium, Failure, assert_no_english};

/// Waits for the page headed `heading` to have replaced the current one, checks what every
/// page must be at 390 px, and returns what it says.
async fn settled(browser: &Chromium, heading: &str) -> Result<String, Failure> {
    let found = browser
        .client
        .wait()
        .for_element(Locator::XPath(&format!("//h1[contains(., '{heading}')]")))
        .await;
    let text = browser.text().await?;
    if let Err(error) = found {
        return Err(format!("no heading {heading:?} ({error}); the page says: {text}").into());
    }
    browser.assert_page_fits().await?;
    Ok(text)
}

/// The summary links to each field, which is marked invalid and tied to its message.
async fn marked(browser: &Chromium, fields: &[&str], text: &str) -> Result<(), Failure> {
    for field in fields {
        let link = browser
            .client
            .find(Locator::Css(&format!(".error-summary a[href='#{field}']")))
            .await;
        assert!(link.is_ok(), "the summary links to {field}: {text}");
        assert_eq!(
            browser
                .attribute(&format!("#{field}"), "aria-invalid")
                .await?,
            Some("true".into()),
            "{field} is marked"
        );
        assert!(
            browser
                .attribute(&format!("#{field}"), "aria-describedby")
                .await?
                .is_some_and(|ids| ids.contains(&format!("{field}-error"))),
            "{field} is tied to its message"
        );
    }
    Ok(())
}

fn vi(key: &'static str) -> String {
    Message::new(key).vietnamese()
}

async fn submit(browser: &Chromium, action: &str) -> Result<(), Failure> {
    browser
        .open_by(&format!("form[action='{action}'] button[type=submit]"))
        .await
}

async fn set_date(browser: &Chromium, id: &str, date: &str) -> Result<(), Failure> {
    browser
        .eval(&format!("document.getElementById('{id}').value = '{date}'"))
        .await?;
    Ok(())
}

/// The code an authenticator app shows for `secret` (base32) `ahead` steps from now.
fn app_code(secret: &str, ahead: u64) -> Result<String, Failure> {
    use totp_rs::{Algorithm, Secret, TOTP};
    let bytes = Secret::Encoded(secret.to_owned())
        .to_bytes()
        .map_err(|e| format!("{e:?}"))?;
    let totp = TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes, None, "thu".into())
        .map_err(|e| format!("{e:?}"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    Ok(totp.generate(now + ahead * 30))
}

async fn wait_for_path(browser: &Chromium, path: &str) -> Result<(), Failure> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while browser.client.current_url().await?.path() != path {
        if std::time::Instant::now() > deadline {
            return Err(format!("did not reach {path}: {}", browser.text().await?).into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Ok(())
}

#[tokio::test]
async fn identity_forms_in_a_browser() -> TestResult {
    let Some(browser) = Chromium::phone().await? else {
        return Ok(());
    };
    let outcome = for_each_backend(|app| {
        let browser = &browser;
        async move {
            browser.goto(&app.url("/lang?to=vi&next=/")).await?;
            let record = app.resident().await?;
            let id = record.personal_id.to_string();
            let birth = record.birth_date.to_string();

            // Registration, sent empty: every required field named, the summary focused.
            browser.goto(&app.url("/register")).await?;
            settled(browser, "Đăng ký tài khoản").await?;
            submit(browser, "/register").await?;
            let text = settled(browser, "Đăng ký tài khoản").await?;
            assert_no_english("the registration form with errors", &text)?;
            marked(
                browser,
                &[
                    "personal_id",
                    "full_name",
                    "birth_date",
                    "phone",
                    "password",
                ],
                &text,
            )
            .await?;
            assert_eq!(
                browser
                    .eval("return document.activeElement.className")
                    .await?,
                "error-summary"
            );
            assert!(browser.client.title().await?.starts_with("Lỗi:"));

            // A phone number one digit short and a common password: both told, in
            // Vietnamese, once each; what was typed stays, the password does not.
            browser.fill("personal_id", &id).await?;
            browser.fill("full_name", &record.full_name).await?;
            set_date(browser, "birth_date", &birth).await?;
            browser.fill("phone", "0713 697 55").await?;
            browser.fill("password", "password123").await?;
            submit(browser, "/register").await?;
            let text = settled(browser, "Đăng ký tài khoản").await?;
            assert!(text.contains(&vi("phone.format")), "{text}");
            assert!(text.contains(&vi("password.common")), "{text}");
            assert!(
                !text.contains("phone:") && !text.contains("password:"),
                "{text}"
            );
            marked(browser, &["phone", "password"], &text).await?;
            assert_eq!(
                browser.attribute("#full_name", "value").await?,
                Some(record.full_name.clone())
            );
            assert!(
                browser
                    .attribute("#password", "value")
                    .await?
                    .unwrap_or_default()
                    .is_empty(),
                "the password is not sent back"
            );
            assert_no_english("the registration form", &text)?;

            // Good answers: the confirmation says what was made and what comes next.
            browser.fill("phone", "0713 697 553").await?;
            let password = "hoa sen trắng nở muộn";
            browser.fill("password", password).await?;
            submit(browser, "/register").await?;
            let text = settled(browser, "Đã tạo tài khoản định danh điện tử").await?;
            assert!(text.contains("mức 2"), "{text}");
            assert_no_english("the registration confirmation", &text)?;

            // Signing in with a wrong password: told at the top, linked to the number.
            browser.open_by("a[href='/login?next=/account']").await?;
            settled(browser, "Đăng nhập").await?;
            browser.fill("personal_id", &id).await?;
            browser.fill("password", "không phải mật khẩu").await?;
            submit(browser, "/login").await?;
            let text = settled(browser, "Đăng nhập").await?;
            assert!(text.contains(&vi("identity.bad_credentials")), "{text}");
            marked(browser, &["personal_id"], &text).await?;
            assert_no_english("the sign-in form", &text)?;
            assert_eq!(
                browser.attribute("#personal_id", "value").await?,
                Some(id.clone())
            );
            browser.fill("password", password).await?;
            submit(browser, "/login").await?;
            wait_for_path(browser, "/account").await?;

            // The account in words: the level, the browser and device, no raw agent.
            let text = settled(browser, "Tài khoản của tôi").await?;
            assert!(text.contains("Mức 1 (đăng ký trực tuyến)"), "{text}");
            // The device column is hidden on a phone's width: read the page's source.
            let source = browser.client.source().await?;
            assert!(source.contains("Chrome trên "), "{source}");
            assert!(!source.contains("Mozilla/"), "{source}");
            assert_no_english("/account", &text)?;

            // The second factor: a QR code, the key in groups of four, a link for the app.
            browser.goto(&app.url("/account/totp")).await?;
            settled(browser, "Bật xác thực hai yếu tố").await?;
            assert!(
                browser
                    .client
                    .find(Locator::Css(".qr svg[role=img]"))
                    .await
                    .is_ok(),
                "a QR code is drawn"
            );
            let href = browser
                .attribute("a[href^='otpauth://']", "href")
                .await?
                .unwrap_or_default();
            assert!(href.starts_with("otpauth://totp/"), "{href}");
            let grouped = browser
                .client
                .find(Locator::Css("code.secret"))
                .await?
                .text()
                .await?;
            assert!(
                grouped
                    .split(' ')
                    .all(|group| (1..=4).contains(&group.len())),
                "{grouped}"
            );
            let secret: String = grouped.split_whitespace().collect();
            browser.fill("code", "12").await?;
            submit(browser, "/account/totp").await?;
            let text = settled(browser, "Bật xác thực hai yếu tố").await?;
            assert!(text.contains(&vi("identity.code_format")), "{text}");
            marked(browser, &["code"], &text).await?;
            assert_no_english("the set-up with errors", &text)?;
            browser.fill("code", &app_code(&secret, 0)?).await?;
            submit(browser, "/account/totp").await?;
            let text = settled(browser, "Tài khoản của tôi").await?;
            assert!(text.contains("Đã bật xác thực hai yếu tố"), "{text}");

            // Signing in again asks for a code: a wrong one is told beside the field.
            browser.open_by("form[action='/logout'] button").await?;
            wait_for_path(browser, "/").await?;
            browser.goto(&app.url("/login")).await?;
            browser.fill("personal_id", &id).await?;
            browser.fill("password", password).await?;
            submit(browser, "/login").await?;
            wait_for_path(browser, "/login/code").await?;
            browser.fill("code", "abc").await?;
            submit(browser, "/login/code").await?;
            let text = settled(browser, "Nhập mã xác thực").await?;
            marked(browser, &["code"], &text).await?;
            assert_no_english("the code form", &text)?;
            browser.fill("code", &app_code(&secret, 1)?).await?;
            submit(browser, "/login/code").await?;
            wait_for_path(browser, "/account").await?;

            // A mandate for longer than allowed, then a good one.
            let helper = app.open_account(app.resident().await?).await?;
            app.grant(helper.id(), Caller::Helper).await?;
            browser.click("details summary").await?;
            browser
                .fill("helper_personal_id", &helper.id().to_string())
                .await?;
            browser.click("#scope").await?;
            browser.fill("days", "45").await?;
            submit(browser, "/account/mandates").await?;
            let text = settled(browser, "Ủy quyền mới").await?;
            assert!(text.contains(&vi("identity.mandate_days")), "{text}");
            marked(browser, &["days"], &text).await?;
            assert_no_english("the mandate form", &text)?;
            assert_eq!(
                browser.attribute("#helper_personal_id", "value").await?,
                Some(helper.id().to_string())
            );
            browser.fill("days", "7").await?;
            submit(browser, "/account/mandates").await?;
            let text = settled(browser, "Tài khoản của tôi").await?;
            assert!(text.contains("Đã ủy quyền"), "{text}");
            assert!(text.contains(&helper.record.full_name), "{text}");
            browser.client.delete_all_cookies().await?;

            // The police officer's page: a malformed number, someone without an account,
            // then the citizen checked, confirmed at level 2 and given a recovery code.
            let officer = app.open_account(app.resident().await?).await?;
            app.grant(officer.id(), Caller::IdentityVerifier).await?;
            browser
                .sign_in(&app.base, &officer.id().to_string(), &officer.password)
                .await?;
            browser.goto(&app.url("/identity/verify")).await?;
            settled(browser, "Xác minh tài khoản định danh").await?;
            browser.fill("personal_id", "123").await?;
            submit(browser, "/identity/verify").await?;
            let text = settled(browser, "Xác minh tài khoản định danh").await?;
            marked(browser, &["personal_id"], &text).await?;
            assert_no_english("the verification form", &text)?;
            let nobody = app.resident().await?;
            browser
                .fill("personal_id", &nobody.personal_id.to_string())
                .await?;
            submit(browser, "/identity/verify").await?;
            let text = settled(browser, "Đối chiếu thông tin").await?;
            assert!(text.contains(&nobody.full_name), "{text}");
            browser.open_by("button[value=level2]").await?;
            let text = settled(browser, "Xác minh tài khoản định danh").await?;
            assert!(text.contains(&vi("identity.no_account")), "{text}");
            marked(browser, &["personal_id"], &text).await?;

            browser.fill("personal_id", &id).await?;
            submit(browser, "/identity/verify").await?;
            let text = settled(browser, "Đối chiếu thông tin").await?;
            assert!(text.contains(&record.full_name), "{text}");
            let day_first = format!(
                "{:02}/{:02}/{}",
                record.birth_date.day(),
                u8::from(record.birth_date.month()),
                record.birth_date.year()
            );
            assert!(text.contains(&day_first), "{text}");
            assert_no_english("the check page", &text)?;
            browser.open_by("button[value=level2]").await?;
            let text = settled(browser, "Đã xác nhận tài khoản mức 2").await?;
            assert!(text.contains(&id), "{text}");
            browser.goto(&app.url("/identity/verify")).await?;
            browser.fill("personal_id", &id).await?;
            submit(browser, "/identity/verify").await?;
            settled(browser, "Đối chiếu thông tin").await?;
            browser.open_by("button[value=recovery_code]").await?;
            let text = settled(browser, "Mã khôi phục").await?;
            assert_no_english("the recovery code", &text)?;
            let code = browser
                .client
                .find(Locator::Css(".number code"))
                .await?
                .text()
                .await?;
            browser.client.delete_all_cookies().await?;

            // Recovery: sent empty, then with a wrong code, then with the officer's.
            browser.goto(&app.url("/recover")).await?;
            settled(browser, "Khôi phục tài khoản").await?;
            submit(browser, "/recover").await?;
            let text = settled(browser, "Khôi phục tài khoản").await?;
            marked(browser, &["personal_id", "code", "password"], &text).await?;
            assert_no_english("the recovery form", &text)?;
            let new_password = "mây trắng bay qua đồi";
            browser.fill("personal_id", &id).await?;
            browser.fill("code", "khong-dung").await?;
            browser.fill("password", new_password).await?;
            submit(browser, "/recover").await?;
            let text = settled(browser, "Khôi phục tài khoản").await?;
            assert!(text.contains(&vi("identity.bad_recovery")), "{text}");
            marked(browser, &["code"], &text).await?;
            assert!(
                browser
                    .attribute("#code", "value")
                    .await?
                    .unwrap_or_default()
                    .is_empty(),
                "the code is not sent back"
            );
            browser.fill("code", code.trim()).await?;
            browser.fill("password", new_password).await?;
            submit(browser, "/recover").await?;
            wait_for_path(browser, "/login").await?;
            browser.sign_in(&app.base, &id, new_password).await?;
            let text = settled(browser, "Tài khoản của tôi").await?;
            assert!(text.contains("Mức 2 (đã xác minh"), "{text}");
            browser.client.delete_all_cookies().await?;
            app.stop().await?;
            Ok::<(), Failure>(())
        }
    })
    .await;
    browser.close().await?;
    outcome
}

/// While a helper acts for a citizen, the helper's own account pages are not shown under
/// the citizen's banner: they lead to what the helper may do for the citizen.
#[tokio::test]
async fn a_helper_acting_for_a_citizen_is_sent_from_their_own_account_to_assist() -> TestResult {
    for_each_backend(|app| async move {
        let citizen = app.citizen().await?;
        let helper = app.helping(&citizen, &["profile.view"]).await?;
        for path in ["/account", "/account/totp"] {
            let answer = helper.get(path).send().await?;
            assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{path}");
            assert_eq!(
                answer.headers().get(LOCATION).and_then(|v| v.to_str().ok()),
                Some("/assist"),
                "{path}"
            );
        }
        let assist = helper.get("/assist").send().await?.text().await?;
        assert!(
            assist.contains(&citizen.person.record.full_name),
            "{assist}"
        );
        helper.post("/assist/stop").send().await?;
        assert_eq!(
            helper.get("/account").send().await?.status(),
            StatusCode::OK,
            "once stopped, the helper's account is theirs again"
        );
        app.stop().await?;
        Ok(())
    })
    .await
}
