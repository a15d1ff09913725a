//! Every read of personal data by an official (search by name, search by household, the
//! household API and page, record history, household members on a record page) asks for a
//! purpose, checked on the server, and logs one access-log entry per citizen shown, so each
//! of them sees it in "who viewed my data".

use kernel::{PersonalId, ProvinceCode, Sex};
use registry::CitizenRecord;
use registry::record::{Address, Membership, Relationship};
use reqwest::StatusCode;
use serde_json::Value;
use testkit::{Caller, TestApp, TestResult, for_each_backend};
use time::Date;
use time::macros::date;

use super::problem;

type Failure = Box<dyn std::error::Error + Send + Sync>;

const HOUSEHOLD: &str = "79-H8";

fn member(
    id: &str,
    name: &str,
    birth: Date,
    sex: Sex,
    relationship: Relationship,
) -> Result<CitizenRecord, Failure> {
    Ok(CitizenRecord {
        permanent_residence: Some(Address {
            province: ProvinceCode::parse("79")?,
            detail: "12 Lê Lợi, phường Bến Thành".into(),
        }),
        household: Some(Membership {
            household_id: HOUSEHOLD.into(),
            relationship_to_head: relationship,
        }),
        ..CitizenRecord::new(PersonalId::parse(id)?, name, birth, sex, "01")
    })
}

/// The purposes logged for a citizen, oldest first.
async fn purposes(app: &TestApp, id: PersonalId) -> Result<Vec<String>, Failure> {
    let mut views: Vec<String> = app
        .state
        .registry
        .views_of(id)
        .await?
        .into_iter()
        .map(|v| v.purpose)
        .collect();
    views.reverse();
    Ok(views)
}

#[tokio::test]
async fn officials_reads_of_searches_households_and_history_need_a_purpose_and_are_logged_per_citizen()
-> TestResult {
    for_each_backend(|app| async move {
        let official = app.sign_in_as(Caller::RegistryOfficer).await?;
        let head = member(
            "079080000001",
            "Nguyễn Văn Ánh",
            date!(1980 - 05 - 05),
            Sex::Male,
            Relationship::Head,
        )?;
        let daughter = member(
            "079310000002",
            "Nguyễn Thị Ánh",
            date!(2010 - 06 - 06),
            Sex::Female,
            Relationship::Child,
        )?;
        let namesake = CitizenRecord {
            household: None,
            ..member(
                "001080000003",
                "Nguyễn Văn Ánh",
                date!(1980 - 12 - 12),
                Sex::Male,
                Relationship::Head,
            )?
        };
        for record in [&head, &daughter, &namesake] {
            app.state
                .registry
                .register(
                    record,
                    registry::Change {
                        actor: "test",
                        basis: "test fixture",
                    },
                    date!(2026 - 11 - 23),
                )
                .await?;
        }
        let (head_id, daughter_id, namesake_id) =
            (head.personal_id, daughter.personal_id, namesake.personal_id);
        let get = |path: String| official.get(&path).send();

        // No purpose, a blank one, or one too long: refused naming the field, nothing read or logged.
        let long = "x".repeat(201);
        for path in [
            "/api/v1/registry/search?name=nguyen+van+anh".to_owned(),
            "/api/v1/registry/search?name=nguyen+van+anh&purpose=+++++++".to_owned(),
            format!("/api/v1/registry/search?name=nguyen+van+anh&purpose={long}"),
            format!("/api/v1/registry/households/{HOUSEHOLD}"),
            format!("/api/v1/registry/citizens/{head_id}/history"),
        ] {
            let (status, body) = problem(get(path.clone()).await?).await?;
            assert_eq!(
                (status, body["field"].as_str()),
                (StatusCode::BAD_REQUEST, Some("purpose")),
                "{path}"
            );
        }
        let page = get("/registry?name=nguyen+van+anh".to_owned())
            .await?
            .text()
            .await?;
        assert!(
            !page.contains(&head_id.to_string()) && page.contains("role=\"alert\""),
            "the page asks for the purpose instead of answering: {page}"
        );
        let page = get(format!("/registry?household={HOUSEHOLD}&purpose=abc"))
            .await?
            .text()
            .await?;
        assert!(
            !page.contains(&daughter_id.to_string()),
            "a purpose under 5 characters is refused: {page}"
        );
        for id in [head_id, daughter_id, namesake_id] {
            assert!(
                purposes(&app, id).await?.is_empty(),
                "refused reads log nothing"
            );
        }

        // A search by name logs each person it shows, and only them.
        let found: Vec<Value> = get(
            "/api/v1/registry/search?name=nguyen+van+anh&purpose=Tra+cứu+hồ+sơ+số+7".to_owned(),
        )
        .await?
        .json()
        .await?;
        let shown: Vec<&str> = found
            .iter()
            .filter_map(|s| s["personal_id"].as_str())
            .collect();
        assert!(
            shown.contains(&"079080000001")
                && shown.contains(&"001080000003")
                && !shown.contains(&"079310000002"),
            "{shown:?}"
        );
        assert_eq!(purposes(&app, head_id).await?, ["Tra cứu hồ sơ số 7"]);
        assert_eq!(purposes(&app, namesake_id).await?, ["Tra cứu hồ sơ số 7"]);
        assert!(purposes(&app, daughter_id).await?.is_empty());

        // The household API logs every member; the history API logs the citizen.
        let members: Vec<Value> = get(format!(
            "/api/v1/registry/households/{HOUSEHOLD}?purpose=Xác+minh+hộ+khẩu"
        ))
        .await?
        .json()
        .await?;
        assert_eq!(members.len(), 2);
        assert_eq!(purposes(&app, daughter_id).await?, ["Xác minh hộ khẩu"]);
        let history: Vec<Value> = get(format!(
            "/api/v1/registry/citizens/{namesake_id}/history?purpose=Kiểm+tra+lịch+sử"
        ))
        .await?
        .json()
        .await?;
        assert_eq!(history.len(), 1);
        assert_eq!(
            purposes(&app, namesake_id).await?,
            ["Tra cứu hồ sơ số 7", "Kiểm tra lịch sử"]
        );

        // The search page by household logs each member shown.
        let page = get(format!(
            "/registry?household={HOUSEHOLD}&purpose=Giải+quyết+đơn+12"
        ))
        .await?
        .text()
        .await?;
        assert!(page.contains(&daughter_id.to_string()), "{page}");
        assert_eq!(
            purposes(&app, daughter_id).await?,
            ["Xác minh hộ khẩu", "Giải quyết đơn 12"]
        );
        assert_eq!(
            purposes(&app, head_id).await?,
            [
                "Tra cứu hồ sơ số 7",
                "Xác minh hộ khẩu",
                "Giải quyết đơn 12"
            ]
        );

        // A record page shows the household's members: each of them is logged too.
        let page = get(format!(
            "/registry/citizens/{head_id}?purpose=Cấp+lại+thẻ+số+9"
        ))
        .await?;
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await?.contains(&daughter.full_name));
        assert_eq!(
            purposes(&app, daughter_id)
                .await?
                .last()
                .map(String::as_str),
            Some("Cấp lại thẻ số 9")
        );
        assert_eq!(purposes(&app, daughter_id).await?.len(), 3);
        assert_eq!(purposes(&app, head_id).await?.len(), 4);

        // The daughter sees the household read in her own list.
        let daughter = app
            .sign_in(app.open_account(daughter.clone()).await?)
            .await?;
        let account = daughter.get("/account").send().await?.text().await?;
        assert!(
            account.contains("<td>Bộ Công an</td><td>Xác minh hộ khẩu</td>"),
            "{account}"
        );
        Ok(())
    })
    .await
}
