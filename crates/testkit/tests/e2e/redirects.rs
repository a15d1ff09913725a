//! Where the platform sends a browser after a form or a switch: only to a path on this site,
//! judged the way a browser parses the `Location` (tabs and newlines are dropped, `\` is `/`).

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use testkit::{Caller, TestResult, for_each_backend};

/// `next` values that a browser would turn into another site.
const FOREIGN: [&str; 6] = [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\\evil.example",
    "//evil.example",
    "/.//evil.example",
    "https://evil.example/",
];

fn location(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[tokio::test]
async fn next_never_leaves_the_site_on_lang_and_login() -> TestResult {
    for_each_backend(|app| async move {
        let official = app.sign_in_as(Caller::RegistryOfficer).await?;
        let person = official.person.id().to_string();
        for next in FOREIGN {
            let switched = app
                .client
                .get(app.url("/lang"))
                .query(&[("to", "en"), ("next", next)])
                .send()
                .await?;
            assert_eq!(switched.status(), StatusCode::SEE_OTHER);
            assert_eq!(
                location(&switched).as_deref(),
                Some("/"),
                "/lang next={next:?}"
            );
            let signed_in = app
                .client
                .post(app.url("/login"))
                .form(&[
                    ("personal_id", person.as_str()),
                    ("password", official.person.password.as_str()),
                    ("next", next),
                ])
                .send()
                .await?;
            assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
            assert_eq!(
                location(&signed_in).as_deref(),
                Some("/account"),
                "/login next={next:?}"
            );
        }
        // A local path with a query still works, and stays as it was.
        let switched = app
            .client
            .get(app.url("/lang"))
            .query(&[("to", "vi"), ("next", "/reference?on=2024-01-01")])
            .send()
            .await?;
        assert_eq!(
            location(&switched).as_deref(),
            Some("/reference?on=2024-01-01")
        );
        app.stop().await?;
        Ok(())
    })
    .await
}
