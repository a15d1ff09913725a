//! Officials' forms as people meet them: in headless Chromium at 390 px, each form sent once
//! with bad input and once with good. A page never shows JSON; errors come back in the
//! page's language, summarised at the top with a link to each field, beside the field, with
//! the values typed kept (an official's edit survives a version conflict); issuing a personal
//! ID number asks to check the answers first, and warns of a child already registered.

use fantoccini::Locator;
use kernel::{PersonalId, ProvinceCode};
use registry::CitizenRecord;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use testkit::{Caller, TestApp, TestResult, for_each_backend};

use super::chromium::{Chromium, Failure, assert_no_english};

const HTML: &str = "text/html,application/xhtml+xml";

/// A mother already in the registry, with the ID number the form will name.
async fn mother(app: &TestApp) -> Result<CitizenRecord, Failure> {
    Ok(app.resident().await?)
}

/// Waits for the next page to have replaced the current one, then checks what every page
/// must be at 390 px.
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

#[tokio::test]
async fn birth_registration_and_record_changes_in_a_browser() -> TestResult {
    let Some(browser) = Chromium::phone().await? else {
        return Ok(());
    };
    let outcome = for_each_backend(|app| {
        let browser = &browser;
        async move {
            let person = app.open_account(app.resident().await?).await?;
            app.grant(person.id(), Caller::RegistryOfficer).await?;
            let mother = mother(&app).await?;
            browser.goto(&app.url("/lang?to=vi&next=/")).await?;
            browser
                .sign_in(&app.base, &person.id().to_string(), &person.password)
                .await?;

            // Sent empty: every required field is named in the summary, which has focus.
            browser.goto(&app.url("/registry/births")).await?;
            settled(browser, "Đăng ký khai sinh").await?;
            browser
                .open_by("form[action='/registry/births'] button")
                .await?;
            let text = settled(browser, "Đăng ký khai sinh").await?;
            assert_no_english("the birth form with errors", &text)?;
            let focused = browser
                .eval("return document.activeElement.className")
                .await?;
            assert_eq!(focused, "error-summary", "the summary takes the focus");
            for field in [
                "full_name",
                "birth_date",
                "birth_registration_province",
                "basis",
            ] {
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
                assert_eq!(
                    browser
                        .attribute(&format!("#{field}"), "aria-describedby")
                        .await?
                        .as_deref()
                        .map(|ids| ids.contains(&format!("{field}-error"))),
                    Some(true),
                    "{field} is tied to its message"
                );
            }
            browser.click(".error-summary a[href='#full_name']").await?;
            assert_eq!(
                browser.eval("return document.activeElement.id").await?,
                "full_name",
                "the summary's link takes the person to the field"
            );

            // A parent's number nobody holds, and a province merged away on 1 July 2025
            // (02, Hà Giang, is not offered): named, and what was typed stays.
            browser.fill("full_name", "Lê Thị Thu").await?;
            browser
                .eval("document.getElementById('birth_date').value = '2026-11-20'")
                .await?;
            browser.choose("birth_registration_province", "79").await?;
            assert!(
                browser
                    .client
                    .find(Locator::Css(
                        "#birth_registration_province option[value='02']"
                    ))
                    .await
                    .is_err(),
                "a province no longer in force is not offered"
            );
            browser.fill("mother_name", &mother.full_name).await?;
            browser.fill("mother_id", "079300000001").await?;
            browser.fill("basis", "Giấy chứng sinh số 12/2026").await?;
            browser
                .open_by("form[action='/registry/births'] button")
                .await?;
            let text = settled(browser, "Đăng ký khai sinh").await?;
            assert!(
                text.contains("không có công dân nào mang số định danh"),
                "{text}"
            );
            assert_eq!(
                browser.attribute("#full_name", "value").await?,
                Some("Lê Thị Thu".into())
            );

            // Good answers: the answers to check, then the number.
            browser
                .fill("mother_id", &mother.personal_id.to_string())
                .await?;
            browser
                .open_by("form[action='/registry/births'] button")
                .await?;
            let text = settled(browser, "Kiểm tra thông tin").await?;
            assert!(text.contains("20/11/2026"), "dates read day first: {text}");
            assert!(
                text.contains("Thành phố Hồ Chí Minh"),
                "provinces by name: {text}"
            );
            assert_no_english("the check page", &text)?;
            browser.open_by("button[name=step][value=confirm]").await?;
            let text = settled(browser, "Lê Thị Thu").await?;
            assert!(text.contains("Đã cấp số định danh cá nhân"), "{text}");
            let first_id = PersonalId::parse(
                browser
                    .client
                    .find(Locator::Css(".confirmation .number"))
                    .await?
                    .text()
                    .await?
                    .trim(),
            )?;
            assert_eq!(first_id.province(), ProvinceCode::parse("79")?);

            // The same child again: the check page names the record already there, and
            // will not issue a second number until the official says it is another child.
            browser.goto(&app.url("/registry/births")).await?;
            browser.fill("full_name", "Lê Thị Thu").await?;
            browser
                .eval("document.getElementById('birth_date').value = '2026-11-20'")
                .await?;
            browser.choose("birth_registration_province", "79").await?;
            browser.fill("mother_name", &mother.full_name).await?;
            browser
                .fill("mother_id", &mother.personal_id.to_string())
                .await?;
            browser.fill("basis", "Giấy chứng sinh số 12/2026").await?;
            browser
                .open_by("form[action='/registry/births'] button")
                .await?;
            let text = settled(browser, "Kiểm tra thông tin").await?;
            assert!(text.contains(&first_id.to_string()), "{text}");
            let registered = app.state.registry.count().await?;
            browser.open_by("button[name=step][value=confirm]").await?;
            let text = settled(browser, "Kiểm tra thông tin").await?;
            assert!(text.contains("Đánh dấu ô này"), "{text}");
            assert_eq!(
                app.state.registry.count().await?,
                registered,
                "no second number was issued"
            );
            browser.click("#not_duplicate").await?;
            browser.open_by("button[name=step][value=confirm]").await?;
            settled(browser, "Lê Thị Thu").await?;

            // The record's contact form: a bad phone number comes back with its message and
            // the typed values; a change made by someone else meanwhile keeps this edit.
            let record_url = app.url(&format!(
                "/registry/citizens/{}?purpose=Ki%E1%BB%83m%20tra%20h%E1%BB%93%20s%C6%A1",
                first_id
            ));
            browser.goto(&record_url).await?;
            settled(browser, "Lê Thị Thu").await?;
            browser.fill("phone", "12345").await?;
            browser.fill("occupation", "Học sinh").await?;
            browser.fill("basis", "Đơn đề nghị của mẹ").await?;
            browser
                .open_by("form[action$='/changes'] button[type=submit]")
                .await?;
            let text = settled(browser, "Lê Thị Thu").await?;
            assert!(text.contains("số điện thoại gồm 10 chữ số"), "{text}");
            assert_eq!(
                browser.attribute("#occupation", "value").await?,
                Some("Học sinh".into())
            );
            app.state
                .registry
                .amend_contact(
                    first_id,
                    1,
                    registry::ContactChange {
                        phone: Some("0912000111".into()),
                        email: None,
                        occupation: None,
                    },
                    registry::Change {
                        actor: "test",
                        basis: "another official, meanwhile",
                    },
                    testkit::FIXTURE_DAY,
                )
                .await?;
            browser.fill("phone", "0913222333").await?;
            browser
                .open_by("form[action$='/changes'] button[type=submit]")
                .await?;
            let text = settled(browser, "Lê Thị Thu").await?;
            assert!(text.contains("Có người đã thay đổi hồ sơ này"), "{text}");
            assert_eq!(
                browser.attribute("#phone", "value").await?,
                Some("0913222333".into()),
                "the official's edit is kept"
            );
            browser
                .open_by("form[action$='/changes'] button[type=submit]")
                .await?;
            let text = settled(browser, "Lê Thị Thu").await?;
            assert!(text.contains("Đã lưu thay đổi"), "{text}");
            assert!(text.contains("0913222333"), "{text}");
            // The history names who changed what, in words.
            assert!(text.contains(&person.record.full_name), "{text}");
            assert!(!text.contains("account:"), "{text}");
            assert!(text.contains("Nghề nghiệp, Số điện thoại"), "{text}");

            // The language switch keeps the page and its query.
            browser.open_by("a[lang=en]").await?;
            let text = settled(browser, "Lê Thị Thu").await?;
            assert!(text.contains("Personal ID number"), "{text}");
            browser.open_by("a[lang=vi]").await?;
            settled(browser, "Lê Thị Thu").await?;
            app.stop().await?;
            Ok::<(), Failure>(())
        }
    })
    .await;
    browser.close().await?;
    outcome
}

/// With `Accept: text/html`, every error is a page; the API keeps its problem documents and
/// now names every field at fault.
#[tokio::test]
async fn page_requests_get_pages_and_the_api_gets_problems() -> TestResult {
    for_each_backend(|app| async move {
        let citizen = app.citizen().await?;
        let official = app.sign_in_as(Caller::RegistryOfficer).await?;
        let resident = app.resident().await?;
        let someone = resident.personal_id;
        let is_page = |response: &reqwest::Response| {
            response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/html"))
        };
        let cases = [
            (citizen.get("/registry"), StatusCode::FORBIDDEN),
            (
                official.get(&format!("/registry/citizens/{someone}")),
                StatusCode::BAD_REQUEST,
            ),
            (
                official.get(&format!("/registry/citizens/{someone}/changes")),
                StatusCode::METHOD_NOT_ALLOWED,
            ),
            (
                official.get("/registry/citizens/12345?purpose=ki%E1%BB%83m%20tra"),
                StatusCode::BAD_REQUEST,
            ),
            (
                official.post("/registry/births").form(&[("full_name", "")]),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        ];
        for (request, status) in cases {
            let response = request.header(ACCEPT, HTML).send().await?;
            let url = response.url().clone();
            assert_eq!(response.status(), status, "{url}");
            assert!(
                is_page(&response),
                "{url} answers a page request with a page"
            );
            let body = response.text().await?;
            assert!(!body.contains("\"type\""), "{url}: {body}");
            assert!(body.contains("<html lang=\"vi\""), "{url}");
        }

        // The API: a record breaking two rules names both.
        let record = CitizenRecord {
            phone: Some("12345".into()),
            email: Some("not an address".into()),
            ..resident
        };
        let response = official
            .post(&format!("/api/v1/registry/citizens/{someone}/amendments"))
            .json(&serde_json::json!({
                "expected_version": 1,
                "record": record,
                "basis": "kiểm tra lỗi",
            }))
            .send()
            .await?;
        let (status, problem) = super::problem(response).await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default();
        assert!(
            fields.contains(&"phone") && fields.contains(&"email"),
            "{problem}"
        );
        app.stop().await?;
        Ok(())
    })
    .await
}

/// The exchange's forms in Chromium: an operator adds a member (bad code, then good), grants
/// a right with a malformed client (told on the field, values kept), and is asked before a
/// right is revoked.
#[tokio::test]
async fn exchange_forms_in_a_browser() -> TestResult {
    let Some(browser) = Chromium::phone().await? else {
        return Ok(());
    };
    let outcome = for_each_backend(|app| {
        let browser = &browser;
        async move {
            let person = app.open_account(app.resident().await?).await?;
            app.grant(person.id(), Caller::ExchangeOperator).await?;
            browser.goto(&app.url("/lang?to=vi&next=/")).await?;
            browser
                .sign_in(&app.base, &person.id().to_string(), &person.password)
                .await?;

            browser.goto(&app.url("/exchange")).await?;
            settled(browser, "Nền tảng chia sẻ dữ liệu").await?;
            browser.fill("member_id", "VN/GOV").await?;
            browser.fill("member_name", "Bộ Xây dựng").await?;
            browser
                .open_by("form[action='/exchange/members'] button")
                .await?;
            let text = settled(browser, "Nền tảng chia sẻ dữ liệu").await?;
            assert_no_english("the exchange page with errors", &text)?;
            assert!(
                text.contains("phải có dạng INSTANCE/CLASS/MEMBER"),
                "{text}"
            );
            assert_eq!(
                browser
                    .eval("return document.activeElement.className")
                    .await?,
                "error-summary"
            );
            assert_eq!(
                browser.attribute("#member_id", "aria-invalid").await?,
                Some("true".into())
            );
            assert_eq!(
                browser.attribute("#member_name", "value").await?,
                Some("Bộ Xây dựng".into()),
                "what was typed is kept"
            );
            browser.click(".error-summary a[href='#member_id']").await?;
            assert_eq!(
                browser.eval("return document.activeElement.id").await?,
                "member_id"
            );
            browser.fill("member_id", "VN/GOV/BXD").await?;
            browser
                .open_by("form[action='/exchange/members'] button")
                .await?;
            let text = settled(browser, "Nền tảng chia sẻ dữ liệu").await?;
            assert!(text.contains("Bộ Xây dựng (VN/GOV/BXD)"), "{text}");

            browser.fill("subsystem_id", "VN/GOV/BXD/permits").await?;
            browser.fill("subsystem_name", "Cấp phép xây dựng").await?;
            browser
                .open_by("form[action='/exchange/subsystems'] button")
                .await?;
            settled(browser, "Nền tảng chia sẻ dữ liệu").await?;
            browser.fill("right_client", "VN/GOV/BXD/per mits").await?;
            browser
                .open_by("form[action='/exchange/rights'] button")
                .await?;
            let text = settled(browser, "Nền tảng chia sẻ dữ liệu").await?;
            assert!(
                text.contains(r#"phần SUBSYSTEM "per mits" có ký tự ' '"#),
                "{text}"
            );
            assert_eq!(
                browser.attribute("#right_client", "aria-invalid").await?,
                Some("true".into())
            );
            browser.fill("right_client", "VN/GOV/BXD/permits").await?;
            browser
                .open_by("form[action='/exchange/rights'] button")
                .await?;
            let text = settled(browser, "Nền tảng chia sẻ dữ liệu").await?;
            assert!(
                text.contains(&format!("{}, ", person.record.full_name))
                    && !text.contains("account:"),
                "who granted is told by name, never an account id: {text}"
            );
            assert!(
                text.contains("Bộ Xây dựng (VN/GOV/BXD/permits)"),
                "the client with its member's name: {text}"
            );
            let granted = |app: &TestApp| {
                let catalog = app.state.exchange.catalog.clone();
                async move {
                    catalog
                        .snapshot()
                        .await
                        .all_rights()
                        .any(|r| r.client == "VN/GOV/BXD/permits")
                }
            };
            assert!(granted(&app).await, "the right is in force");

            let action = browser
                .eval(
                    "return [...document.querySelectorAll('tr')]
                        .find(row => row.cells[0]?.innerText.includes('VN/GOV/BXD/permits'))
                        .querySelector('form').getAttribute('action')",
                )
                .await?;
            let action = action.as_str().ok_or("no revoke button for the right")?;
            browser
                .open_by(&format!("form[action='{action}'] button"))
                .await?;
            let text = settled(browser, "Thu hồi quyền truy cập?").await?;
            assert!(text.contains("VN/GOV/BXD/permits"), "{text}");

            assert!(granted(&app).await, "asking revokes nothing");
            browser
                .open_by("form[action$='/revoke?confirm=yes'] button")
                .await?;
            settled(browser, "Nền tảng chia sẻ dữ liệu").await?;
            assert!(!granted(&app).await, "revoked once confirmed");
            app.stop().await?;
            Ok::<(), Failure>(())
        }
    })
    .await;
    browser.close().await?;
    outcome
}
