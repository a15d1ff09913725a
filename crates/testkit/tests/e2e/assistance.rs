//! Assisted use over HTTP: a citizen gives a community digital technology team member a
//! mandate on /account; the helper acts for the citizen under a banner, only within the
//! mandate, and the citizen sees every action; no, expired and revoked mandates refuse.

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use testkit::{
    Caller, HELPERS_TEAM as TEAM, TestResult, for_each_backend, mandate_to_start as start_form_id,
};

const BANNER: &str = "Đang hỗ trợ công dân";

#[tokio::test]
async fn a_helper_acts_for_a_citizen_only_within_the_mandate() -> TestResult {
    for_each_backend(|app| async move {
        let helper = app.sign_in_as(Caller::Helper).await?;
        let citizen = app.citizen().await?;
        let helper_id = helper.person.id();
        let citizen_name = citizen.person.record.full_name.clone();
        let get = |path: &str, browser: &testkit::Browser| browser.get(path).send();
        let post = |path: &str, browser: &testkit::Browser, form: Vec<(&'static str, String)>| browser.post(path).form(&form).send();

        // The citizen gives a mandate from /account; a wrong duration is named.
        let too_long = post("/account/mandates", &citizen, vec![("helper_personal_id", helper_id.to_string()), ("scope", "profile.view".into()), ("days", "45".into())]).await?;
        assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(too_long.text().await?.contains(&kernel::Message::new("identity.mandate_days").vietnamese()));
        let given = post("/account/mandates", &citizen, vec![("helper_personal_id", helper_id.to_string()), ("scope", "profile.view".into()), ("scope", "dossier.submit".into()), ("days", "7".into())]).await?;
        assert_eq!(given.status(), StatusCode::SEE_OTHER);

        // No mandate: refused.
        let none = post("/assist/start/khong-co", &helper, vec![]).await?;
        assert_eq!(none.status(), StatusCode::FORBIDDEN);

        // The helper sees it and starts acting; every page then carries the banner.
        let account = get("/account", &helper).await?.text().await?;
        assert!(account.contains("Công dân đã ủy quyền cho tôi") && account.contains(&citizen_name));
        let mandate = start_form_id(&account).ok_or("no start form")?;
        let started = post(&format!("/assist/start/{mandate}"), &helper, vec![]).await?;
        assert_eq!(started.headers().get(LOCATION).and_then(|v| v.to_str().ok()), Some("/assist"));
        for path in ["/assist", "/", "/reference"] {
            let html = get(path, &helper).await?.text().await?;
            assert!(html.contains(&format!("{BANNER} {citizen_name}")) && html.contains(r#"action="/assist/stop""#), "{path}: {html}");
        }
        assert!(!get("/", &citizen).await?.text().await?.contains(BANNER), "the citizen's own session is not acting");

        // Within scope: the citizen's data; out of scope: refused.
        let profile = get("/assist/profile", &helper).await?;
        assert_eq!(profile.status(), StatusCode::OK);
        let profile = profile.text().await?;
        assert!(profile.contains(&citizen_name) && profile.contains(&citizen.person.id().to_string()));
        let out_of_scope = get("/assist/data-access", &helper).await?;
        assert_eq!(out_of_scope.status(), StatusCode::FORBIDDEN);
        assert!(out_of_scope.text().await?.contains("Ủy quyền của công dân không bao gồm việc này."));

        // The citizen sees the mandate, the actions, and the view in who-viewed-my-data.
        let account = get("/account", &citizen).await?.text().await?;
        assert!(account.contains("Đang hiệu lực"), "{account}");
        assert!(account.contains("<td>Xem thông tin tài khoản và dữ liệu dân cư</td>") && account.contains("<td>Bắt đầu hỗ trợ</td>"), "{account}");
        assert!(account.contains(&format!("<td>{TEAM}</td><td>Tổ công nghệ số cộng đồng hỗ trợ theo ủy quyền của công dân</td>")), "{account}");

        // Expired: acting ends by itself.
        let mut tx = app.state.db.begin().await?;
        sqlx::query("UPDATE identity_mandates SET expires_at = $1 WHERE id = $2").bind("2026-01-01T00:00:00Z").bind(&mandate).execute(tx.conn()).await?;
        tx.commit().await?;
        let expired = get("/assist/profile", &helper).await?;
        assert_eq!(expired.status(), StatusCode::FORBIDDEN);
        assert!(!expired.text().await?.contains(BANNER));
        assert!(get("/account", &citizen).await?.text().await?.contains("Đã hết hạn"));
        assert_eq!(post(&format!("/assist/start/{mandate}"), &helper, vec![]).await?.status(), StatusCode::FORBIDDEN);

        // Revoked: the same, at the helper's next request.
        post("/account/mandates", &citizen, vec![("helper_personal_id", helper_id.to_string()), ("scope", "access_log.view".into()), ("days", "30".into())]).await?;
        let mandate = start_form_id(&get("/account", &helper).await?.text().await?).ok_or("no start form")?;
        assert_eq!(post(&format!("/assist/start/{mandate}"), &citizen, vec![]).await?.status(), StatusCode::FORBIDDEN, "a citizen without the helper role cannot act");
        post(&format!("/assist/start/{mandate}"), &helper, vec![]).await?;
        assert_eq!(get("/assist/data-access", &helper).await?.status(), StatusCode::OK);
        let asked = post(&format!("/account/mandates/{mandate}/revoke"), &citizen, vec![]).await?;
        assert_eq!(asked.status(), StatusCode::OK, "revoking asks first");
        let asked = asked.text().await?;
        assert!(asked.contains("Thu hồi ủy quyền?") && asked.contains("?confirm=yes"), "{asked}");
        assert_eq!(get("/assist/data-access", &helper).await?.status(), StatusCode::OK, "asking revokes nothing");
        assert_eq!(post(&format!("/account/mandates/{mandate}/revoke?confirm=yes"), &citizen, vec![]).await?.status(), StatusCode::SEE_OTHER);
        let revoked = get("/assist/data-access", &helper).await?;
        assert_eq!(revoked.status(), StatusCode::FORBIDDEN);
        assert!(revoked.text().await?.contains("đã bị thu hồi"));
        assert!(get("/account", &helper).await?.text().await?.contains("Đã thu hồi"));

        // Stopping is recorded too.
        let fresh = post("/account/mandates", &citizen, vec![("helper_personal_id", helper_id.to_string()), ("scope", "profile.view".into()), ("days", "1".into())]).await?;
        assert_eq!(fresh.status(), StatusCode::SEE_OTHER);
        let mandate = start_form_id(&get("/account", &helper).await?.text().await?).ok_or("no start form")?;
        post(&format!("/assist/start/{mandate}"), &helper, vec![]).await?;
        assert_eq!(post("/assist/stop", &helper, vec![]).await?.status(), StatusCode::SEE_OTHER);
        assert!(!get("/", &helper).await?.text().await?.contains(BANNER));
        assert!(get("/account", &citizen).await?.text().await?.contains("<td>Dừng hỗ trợ</td>"));
        Ok(())
    })
    .await
}
