//! Headless Chromium driven over WebDriver, for the journeys people make in a browser: every
//! rule a browser enforces (Content-Security-Policy, redirects, focus, layout) applies.
//!
//! Needs /usr/bin/chromium and /usr/bin/chromedriver; without them a journey says so and
//! passes, unless `LIENTHONG_TEST_BROWSER=1` (CI) demands the browser.

use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

pub(crate) type Failure = Box<dyn std::error::Error + Send + Sync>;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Whether the browser can run here; an error when CI asked for it and it is missing.
pub(crate) fn browser_present() -> Result<bool, Failure> {
    let present = [CHROMIUM, CHROMEDRIVER]
        .iter()
        .all(|path| std::path::Path::new(path).exists());
    let demanded = std::env::var("LIENTHONG_TEST_BROWSER").is_ok_and(|v| v == "1");
    match (present, demanded) {
        (true, _) => Ok(true),
        (false, true) => Err(format!(
            "LIENTHONG_TEST_BROWSER=1 but {CHROMIUM} or {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)"
        )
        .into()),
        (false, false) => {
            println!("skipped: {CHROMIUM} and {CHROMEDRIVER} are not installed");
            Ok(false)
        }
    }
}

/// chromedriver on a free port, stopped when dropped.
pub(crate) async fn chromedriver() -> Result<(Child, String), Failure> {
    let port = TcpListener::bind("127.0.0.1:0").await?.local_addr()?.port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = reqwest::get(format!("{url}/status")).await;
        if let Ok(status) = status
            && status
                .json::<Value>()
                .await
                .is_ok_and(|s| s.get("value").and_then(|v| v.get("ready")) == Some(&json!(true)))
        {
            return Ok((child, url));
        }
        if Instant::now() > deadline {
            return Err("chromedriver did not become ready within 20 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A headless Chromium with its own profile; `width` sets the window (390 is a phone).
pub(crate) async fn headless_chromium(
    driver: &str,
    profile: &std::path::Path,
    width: u32,
) -> Result<Client, Failure> {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", profile.display()),
            ],
            // A desktop window cannot be narrower than about 500 px: a phone's width is
            // emulated instead, as Chrome's device toolbar does.
            "mobileEmulation": { "deviceMetrics": { "width": width, "height": 844, "pixelRatio": 2.0 } },
        }),
    );
    // chromedriver speaks plain HTTP on the loopback: no TLS stack is needed.
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    Ok(ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(driver)
        .await?)
}

/// A browser for one journey: the driver, the profile and the session live as long as it.
pub(crate) struct Chromium {
    pub(crate) client: Client,
    _driver: Child,
    _profile: tempfile::TempDir,
}

impl Chromium {
    /// A phone-sized browser, or `None` where the browser may be skipped and is absent.
    pub(crate) async fn phone() -> Result<Option<Self>, Failure> {
        if !browser_present()? {
            return Ok(None);
        }
        let (driver, url) = chromedriver().await?;
        let profile = tempfile::tempdir()?;
        let client = headless_chromium(&url, profile.path(), 390).await?;
        Ok(Some(Self {
            client,
            _driver: driver,
            _profile: profile,
        }))
    }

    pub(crate) async fn goto(&self, url: &str) -> Result<(), Failure> {
        Ok(self.client.goto(url).await?)
    }

    /// Types `text` into the field with this id, replacing what it held.
    pub(crate) async fn fill(&self, id: &str, text: &str) -> Result<(), Failure> {
        let field = self.client.find(Locator::Id(id)).await?;
        field.clear().await?;
        field.send_keys(text).await?;
        Ok(())
    }

    /// Picks the option with this value in the select with this id.
    pub(crate) async fn choose(&self, id: &str, value: &str) -> Result<(), Failure> {
        let select = self.client.find(Locator::Id(id)).await?;
        select.select_by_value(value).await?;
        Ok(())
    }

    /// Clicks something that stays on the page (a checkbox, a link to a field).
    pub(crate) async fn click(&self, css: &str) -> Result<(), Failure> {
        self.client.find(Locator::Css(css)).await?.click().await?;
        Ok(())
    }

    /// Clicks something that loads a new page (a submit button, a link) and waits until that
    /// page has loaded: a page answering with the same heading is not mistaken for the next one.
    pub(crate) async fn open_by(&self, css: &str) -> Result<(), Failure> {
        self.eval("window.lienthongOldPage = true").await?;
        self.click(css).await?;
        let loaded =
            "return window.lienthongOldPage === undefined && document.readyState === 'complete'";
        for _ in 0..200 {
            if self.eval(loaded).await?.as_bool() == Some(true) {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Err(format!("clicking {css} did not load a page within 10 s").into())
    }

    /// Runs a script in the page and returns its value.
    pub(crate) async fn eval(&self, script: &str) -> Result<Value, Failure> {
        Ok(self.client.execute(script, Vec::new()).await?)
    }

    /// What a person reads on the page.
    pub(crate) async fn text(&self) -> Result<String, Failure> {
        Ok(self
            .eval("return document.body.innerText")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    pub(crate) async fn attribute(&self, css: &str, name: &str) -> Result<Option<String>, Failure> {
        Ok(self
            .client
            .find(Locator::Css(css))
            .await?
            .attr(name)
            .await?)
    }

    /// Signs `personal_id` in through the login page, as a person would.
    pub(crate) async fn sign_in(
        &self,
        base: &str,
        personal_id: &str,
        password: &str,
    ) -> Result<(), Failure> {
        self.goto(&format!("{base}/login")).await?;
        self.fill("personal_id", personal_id).await?;
        self.fill("password", password).await?;
        self.open_by("form[action='/login'] button[type=submit]")
            .await?;
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.client.current_url().await?.path() != "/account" {
            if Instant::now() > deadline {
                return Err(format!(
                    "signing in did not reach the account page: {}",
                    self.text().await?
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// What every page must be at 390 px: no JSON shown, no sideways scrolling.
    pub(crate) async fn assert_page_fits(&self) -> Result<(), Failure> {
        let text = self.text().await?;
        let url = self.client.current_url().await?;
        assert!(
            !text.trim_start().starts_with('{'),
            "{url} shows JSON to a person: {text}"
        );
        let width = self
            .eval("return document.documentElement.scrollWidth")
            .await?
            .as_u64()
            .unwrap_or(u64::MAX);
        if width > 390 {
            let widest = self
                .eval(
                    "return [...document.querySelectorAll('body *')]
                        .filter(e => e.getBoundingClientRect().right > 390)
                        .slice(0, 8)
                        .map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
                        .join(', ')",
                )
                .await?;
            return Err(format!("{url} is {width} px wide at 390 px; too wide: {widest}").into());
        }
        Ok(())
    }

    pub(crate) async fn close(self) -> Result<(), Failure> {
        self.client.close().await?;
        Ok(())
    }
}

/// Every English text of the catalogues (page texts and messages) that differs from its
/// Vietnamese one, cut at its `{placeholders}` into the pieces a page would show verbatim.
fn english_only_texts() -> Result<Vec<String>, Failure> {
    fn flatten(prefix: &str, table: &toml::Table, into: &mut Vec<(String, String)>) {
        for (key, value) in table {
            let full = format!("{prefix}{key}");
            match value {
                toml::Value::String(text) => into.push((full, text.clone())),
                toml::Value::Table(inner) => flatten(&format!("{full}."), inner, into),
                _ => {}
            }
        }
    }
    let read = |sources: [&str; 2]| -> Result<Vec<(String, String)>, Failure> {
        let mut texts = Vec::new();
        for source in sources {
            flatten("", &toml::from_str(source)?, &mut texts);
        }
        Ok(texts)
    };
    let english = read([
        include_str!("../../../web/i18n/en.toml"),
        include_str!("../../../kernel/messages/en.toml"),
    ])?;
    let vietnamese = read([
        include_str!("../../../web/i18n/vi.toml"),
        include_str!("../../../kernel/messages/vi.toml"),
    ])?;
    let same_in_both: std::collections::BTreeSet<&str> =
        vietnamese.iter().map(|(_, text)| text.as_str()).collect();
    Ok(english
        .iter()
        .filter(|(_, text)| !same_in_both.contains(text.as_str()))
        .flat_map(|(_, text)| {
            text.split(['{', '}'])
                .step_by(2)
                .map(str::trim)
                .filter(|piece| piece.chars().count() >= 12)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect())
}

/// A Vietnamese page shows no sentence of the English catalogue.
pub(crate) fn assert_no_english(page: &str, text: &str) -> Result<(), Failure> {
    let found: Vec<String> = english_only_texts()?
        .into_iter()
        .filter(|english| text.contains(english.as_str()))
        .collect();
    assert!(found.is_empty(), "{page} shows English: {found:?}");
    Ok(())
}

/// axe-core's script, from the file `LIENTHONG_AXE_JS` names (CI installs axe-core from npm
/// and sets it). Without it the check is skipped, unless CI demands the browser.
fn axe_source() -> Result<Option<String>, Failure> {
    let demanded = std::env::var("LIENTHONG_TEST_BROWSER").is_ok_and(|v| v == "1");
    match std::env::var("LIENTHONG_AXE_JS") {
        Ok(path) => Ok(Some(std::fs::read_to_string(&path).map_err(|e| {
            format!("LIENTHONG_AXE_JS={path}: {e}")
        })?)),
        Err(_) if demanded => Err(
            "LIENTHONG_TEST_BROWSER=1 needs LIENTHONG_AXE_JS, the path of axe-core's axe.min.js (npm install axe-core)"
                .into(),
        ),
        Err(_) => {
            println!("skipped: axe-core (set LIENTHONG_AXE_JS to axe.min.js)");
            Ok(None)
        }
    }
}

impl Chromium {
    /// Runs axe-core's WCAG 2.1 A and AA rules on the page; any violation fails, named with
    /// the elements it concerns.
    pub(crate) async fn assert_accessible(&self) -> Result<(), Failure> {
        let Some(axe) = axe_source()? else {
            return Ok(());
        };
        let script = format!(
            "{axe}\nreturn axe.run(document, {{ runOnly: {{ type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }} }})
                .then(r => r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(' | ')));"
        );
        let violations = self.eval(&script).await?;
        let url = self.client.current_url().await?;
        let none = violations.as_array().is_some_and(Vec::is_empty);
        if !none {
            return Err(format!("{url} has accessibility violations: {violations}").into());
        }
        Ok(())
    }
}
