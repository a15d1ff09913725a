//! Registration on the page as a person does it: phone numbers typed any usual way, passwords
//! others could guess refused, and a name claimed without its diacritics matching nobody
//! (issue 13 §4).

use reqwest::StatusCode;
use testkit::{Browser, TestApp, TestResult, for_each_backend};
use unicode_normalization::UnicodeNormalization;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Submits the registration form for `record` with `name`, `phone` and `password`.
async fn register(
    browser: &Browser,
    record: &registry::CitizenRecord,
    name: &str,
    phone: &str,
    password: &str,
) -> Result<(StatusCode, String), Failure> {
    let answer = browser
        .post("/register")
        .form(&[
            ("personal_id", record.personal_id.to_string().as_str()),
            ("full_name", name),
            ("birth_date", record.birth_date.to_string().as_str()),
            ("phone", phone),
            ("email", ""),
            ("password", password),
        ])
        .send()
        .await?;
    Ok((answer.status(), answer.text().await?))
}

async fn kept_phone(
    app: &TestApp,
    record: &registry::CitizenRecord,
) -> Result<Option<Option<String>>, Failure> {
    Ok(
        sqlx::query_scalar("SELECT phone FROM identity_accounts WHERE personal_id = $1")
            .bind(record.personal_id.to_string())
            .fetch_optional(app.state.db.reader())
            .await?,
    )
}

#[tokio::test]
async fn phone_numbers_written_as_people_write_them_are_kept_in_one_form() -> TestResult {
    for_each_backend(|app| async move {
        let browser = app.browser()?;
        for written in [
            "0713 697 553",
            "0713.697.553",
            "+84 713 697 553",
            "84713697553",
        ] {
            let record = app.resident().await?;
            let (status, page) = register(
                &browser,
                &record,
                &record.full_name,
                written,
                "hoa sen trắng nở muộn",
            )
            .await?;
            assert_eq!(status, StatusCode::SEE_OTHER, "{written:?}: {page}");
            assert_eq!(
                kept_phone(&app, &record).await?,
                Some(Some("0713697553".to_owned())),
                "{written:?}"
            );
        }
        let record = app.resident().await?;
        let (status, page) = register(
            &browser,
            &record,
            &record.full_name,
            "0713 697 55",
            "hoa sen trắng nở muộn",
        )
        .await?;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            page.contains(&kernel::Message::new("phone.format").vietnamese()),
            "in the page's language: {page}"
        );
        assert!(!page.contains("phone:"), "no field prefix: {page}");
        assert_eq!(kept_phone(&app, &record).await?, None, "no account opened");
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn passwords_others_could_guess_are_refused() -> TestResult {
    for_each_backend(|app| async move {
        let browser = app.browser()?;
        let record = app.resident().await?;
        let birth = record.birth_date;
        let birth_date = format!(
            "sinh ngày {:02}/{:02}/{}",
            birth.day(),
            u8::from(birth.month()),
            birth.year()
        );
        for (password, reason) in [
            ("12345678901", "password.digits_only"),
            ("password123", "password.common"),
            ("abcdefghijkl", "password.run"),
            ("gọi 0713.697.553 nhé", "password.phone"),
            (birth_date.as_str(), "password.birth_date"),
        ] {
            let (status, page) =
                register(&browser, &record, &record.full_name, "0713697553", password).await?;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{password:?}");
            assert!(
                page.contains(&kernel::Message::new(reason).vietnamese()),
                "{password:?}: {page}"
            );
            assert!(!page.contains(password), "the password is never sent back");
        }
        assert_eq!(kept_phone(&app, &record).await?, None, "no account opened");
        app.stop().await?;
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_name_matches_whatever_its_case_spacing_or_form_but_not_without_diacritics() -> TestResult
{
    for_each_backend(|app| async move {
        let browser = app.browser()?;
        let record = loop {
            let record = app.resident().await?;
            if !record.full_name.is_ascii() {
                break record;
            }
        };
        let without_diacritics = registry::record::fold_name(&record.full_name);
        let (status, page) = register(
            &browser,
            &record,
            &without_diacritics,
            "0713697553",
            "hoa sen trắng nở muộn",
        )
        .await?;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{without_diacritics:?} claimed {:?}: {page}",
            record.full_name
        );
        assert_eq!(kept_phone(&app, &record).await?, None);

        // Decomposed (NFD, as some keyboards send it), upper case, spaced out.
        let typed: String = format!(
            "  {}  ",
            record.full_name.to_uppercase().replace(' ', "   ")
        )
        .nfd()
        .collect();
        assert_ne!(typed.trim(), record.full_name);
        let (status, page) = register(
            &browser,
            &record,
            &typed,
            "0713697553",
            "hoa sen trắng nở muộn",
        )
        .await?;
        assert_eq!(status, StatusCode::SEE_OTHER, "{typed:?}: {page}");
        app.stop().await?;
        Ok(())
    })
    .await
}
