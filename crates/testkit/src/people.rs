//! People for tests: residents of the generated population, their accounts, the roles
//! officials hold, and browsers signed in as them.

use std::net::IpAddr;

use anyhow::{Context, bail, ensure};
use kernel::Role;
use reqwest::StatusCode;

use crate::TestApp;
use crate::browser::{Browser, Person, SignedIn};

/// Who makes a request: a citizen, or a person holding one official role in one agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Citizen,
    /// `registry.officer` at the Ministry of Public Security, which keeps the registry.
    RegistryOfficer,
    /// `identity.verifier` at the Ministry of Public Security: confirms level 2 in person.
    IdentityVerifier,
    /// `exchange.operator`: runs the data-exchange platform.
    ExchangeOperator,
    /// `exchange.admin` of one agency's member of the exchange, e.g. `BYT`.
    ExchangeAdmin(&'static str),
    /// `assist.helper` in a community digital technology team, acting for nobody yet.
    Helper,
}

/// The community digital technology team the helpers belong to.
pub const HELPERS_TEAM: &str = "TCNSBENTHANH";

impl Caller {
    /// The agency and role this caller holds; none for a citizen.
    pub fn role(self) -> Option<(&'static str, Role)> {
        match self {
            Self::Citizen => None,
            Self::RegistryOfficer => Some(("BCA", Role::RegistryOfficer)),
            Self::IdentityVerifier => Some(("BCA", Role::IdentityVerifier)),
            Self::ExchangeOperator => Some(("BCA", Role::ExchangeOperator)),
            Self::ExchangeAdmin(agency) => Some((agency, Role::ExchangeAdmin)),
            Self::Helper => Some((HELPERS_TEAM, Role::AssistHelper)),
        }
    }
}

/// The generated population the residents come from, adults only (accounts need 14 years and
/// officials are grown-ups); the same people in the same order in every test.
pub(crate) fn population() -> anyhow::Result<Vec<registry::CitizenRecord>> {
    let reference = kernel::Reference::load()?;
    let tables = registry::generate::Tables::load()?;
    Ok(
        registry::generate::Generator::new(&tables, &reference, 120, 11)
            .filter(|r| r.birth_date.year() < 2000)
            .collect(),
    )
}

/// The day the fixtures are registered on.
pub const FIXTURE_DAY: time::Date = time::macros::date!(2026 - 11 - 23);

impl TestApp {
    /// A browser nobody has signed in to.
    pub fn browser(&self) -> anyhow::Result<Browser> {
        Browser::new(&self.base, self.public_https, None)
    }

    /// A browser connecting from `address` (a loopback address), as another person's device
    /// would: limits kept per address count it apart.
    pub fn browser_from(&self, address: IpAddr) -> anyhow::Result<Browser> {
        Browser::new(&self.base, self.public_https, Some(address))
    }

    /// The next person of the generated population, registered in the population registry
    /// (without an account).
    pub async fn resident(&self) -> anyhow::Result<registry::CitizenRecord> {
        let next = self
            .residents_handed_out
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Some(record) = self.population.get(next).cloned() else {
            bail!(
                "the generated population has only {} adults",
                self.population.len()
            );
        };
        self.state
            .registry
            .register(
                &record,
                registry::Change {
                    actor: "test",
                    basis: "test fixture",
                },
                FIXTURE_DAY,
            )
            .await?;
        Ok(record)
    }

    /// Opens an account for a resident, with a password of its own.
    pub async fn open_account(&self, record: registry::CitizenRecord) -> anyhow::Result<Person> {
        // Its own for each person, and without the ID number, which no password may hold.
        let spelled: String = record
            .personal_id
            .to_string()
            .chars()
            .filter_map(|digit| {
                digit
                    .to_digit(10)
                    .and_then(|d| char::from_digit(d + 10, 20))
            })
            .collect();
        let password = format!("mật khẩu thử nghiệm {spelled}");
        self.state
            .identity
            .register(identity::Registration {
                personal_id: record.personal_id,
                full_name: record.full_name.clone(),
                birth_date: record.birth_date,
                phone: Some("0912345678".into()),
                email: None,
                password: password.clone(),
            })
            .await
            .with_context(|| format!("opening an account for {}", record.personal_id))?;
        Ok(Person { record, password })
    }

    /// Gives `person` the role of `caller` (nothing for a citizen), as an operator would.
    pub async fn grant(&self, person: kernel::PersonalId, caller: Caller) -> anyhow::Result<()> {
        if let Some((agency, role)) = caller.role() {
            self.state
                .identity
                .grant_role(
                    person,
                    &kernel::AgencyCode::parse(agency)?,
                    role,
                    "operator:test",
                )
                .await?;
        }
        Ok(())
    }

    /// A fresh browser in which `person` signs in.
    pub async fn sign_in(&self, person: Person) -> anyhow::Result<SignedIn> {
        let browser = self.browser()?;
        browser.sign_in(person.id(), &person.password).await?;
        Ok(SignedIn { browser, person })
    }

    /// A new resident with an account and the role of `caller`, signed in in a browser.
    pub async fn sign_in_as(&self, caller: Caller) -> anyhow::Result<SignedIn> {
        self.signed_in_with(self.browser()?, caller).await
    }

    /// Like [`TestApp::sign_in_as`], in a browser connecting from `address`.
    pub async fn sign_in_as_from(
        &self,
        address: IpAddr,
        caller: Caller,
    ) -> anyhow::Result<SignedIn> {
        self.signed_in_with(self.browser_from(address)?, caller)
            .await
    }

    async fn signed_in_with(&self, browser: Browser, caller: Caller) -> anyhow::Result<SignedIn> {
        let person = self.open_account(self.resident().await?).await?;
        self.grant(person.id(), caller).await?;
        browser.sign_in(person.id(), &person.password).await?;
        Ok(SignedIn { browser, person })
    }

    /// A new citizen, signed in.
    pub async fn citizen(&self) -> anyhow::Result<SignedIn> {
        self.sign_in_as(Caller::Citizen).await
    }

    /// A new helper acting for `citizen` under a mandate of `scopes` the citizen gave on
    /// their account page, started from the helper's, as both would do it.
    pub async fn helping(&self, citizen: &SignedIn, scopes: &[&str]) -> anyhow::Result<SignedIn> {
        self.helper_acting(self.browser()?, citizen, scopes).await
    }

    /// Like [`TestApp::helping`], the helper's browser connecting from `address`.
    pub async fn helping_from(
        &self,
        address: IpAddr,
        citizen: &SignedIn,
        scopes: &[&str],
    ) -> anyhow::Result<SignedIn> {
        self.helper_acting(self.browser_from(address)?, citizen, scopes)
            .await
    }

    async fn helper_acting(
        &self,
        browser: Browser,
        citizen: &SignedIn,
        scopes: &[&str],
    ) -> anyhow::Result<SignedIn> {
        let helper = self.signed_in_with(browser, Caller::Helper).await?;
        let mut form = vec![
            ("helper_personal_id", helper.person.id().to_string()),
            ("days", "7".to_owned()),
        ];
        form.extend(scopes.iter().map(|scope| ("scope", (*scope).to_owned())));
        let given = citizen.post("/account/mandates").form(&form).send().await?;
        ensure!(
            given.status() == StatusCode::SEE_OTHER,
            "mandate refused: {}",
            given.status()
        );
        let account = helper.get("/account").send().await?.text().await?;
        let mandate = mandate_to_start(&account).context("no mandate to start on /account")?;
        let started = helper
            .post(&format!("/assist/start/{mandate}"))
            .send()
            .await?;
        ensure!(
            started.status() == StatusCode::SEE_OTHER,
            "acting refused: {}",
            started.status()
        );
        Ok(helper)
    }
}

/// The mandate id in the helper's first "start helping" form.
pub fn mandate_to_start(html: &str) -> Option<String> {
    let rest = html.split("action=\"/assist/start/").nth(1)?;
    rest.split('"').next().map(str::to_owned)
}
