//! Agency systems: machine clients that obtain access tokens with the client_credentials
//! grant (private_key_jwt), and exchange clients that call the X-Road r1 gateway with one;
//! the exchange catalogue the gateway tests share.

use anyhow::{Context, ensure};
use p256::ecdsa::SigningKey;
use p256::pkcs8::{EncodePublicKey, LineEnding};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;

use crate::TestApp;

/// The client subsystem of the shared exchange fixture (the Ministry of Justice's civil
/// status system).
pub const CLIENT: &str = "VN/GOV/BTP/civil";
/// The provider's service of the shared exchange fixture (the Ministry of Health's cards).
pub const SERVICE: &str = "VN/GOV/BYT/insurance/cards";
/// The name of [`CLIENT`], and of the machine clients [`TestApp::machine_token`] registers.
pub const CLIENT_NAME: &str = "Hộ tịch điện tử";

/// A registered machine client: its id and the key its assertions are signed with.
pub struct MachineClient {
    pub client_id: String,
    pub key: SigningKey,
}

/// A system calling the gateway as `subsystem` with an access token of scope `exchange`.
#[derive(Clone)]
pub struct ExchangeClient {
    base: String,
    client: reqwest::Client,
    pub token: String,
    pub subsystem: String,
}

impl ExchangeClient {
    /// A call through the gateway: `path` below `/r1/`, with the token and `X-Road-Client`.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(
                method,
                format!("{}/r1/{}", self.base, path.trim_start_matches('/')),
            )
            .bearer_auth(&self.token)
            .header("X-Road-Client", &self.subsystem)
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }
}

impl TestApp {
    /// Registers a machine client acting as `subject` that may ask for `scopes`.
    pub async fn machine_client(
        &self,
        name: &str,
        subject: &str,
        scopes: &[&str],
    ) -> anyhow::Result<MachineClient> {
        let key = SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
        let client_id = self
            .state
            .identity
            .register_machine_client(identity::oidc::NewMachineClient {
                name: name.into(),
                subject: subject.into(),
                public_key_pem: key.verifying_key().to_public_key_pem(LineEnding::LF)?,
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            })
            .await?;
        Ok(MachineClient { client_id, key })
    }

    /// The answer of the token endpoint to `assertion` (client_credentials, private_key_jwt).
    pub async fn token_response(&self, assertion: &str) -> anyhow::Result<reqwest::Response> {
        self.client
            .post(self.url("/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", identity::oidc::ASSERTION_TYPE),
                ("client_assertion", assertion),
            ])
            .send()
            .await
            .context("POST /oauth/token")
    }

    /// A fresh access token for `machine`.
    pub async fn access_token(&self, machine: &MachineClient) -> anyhow::Result<String> {
        let assertion = identity::oidc::sign_client_assertion(
            &machine.key,
            &machine.client_id,
            &self.url("/oauth/token"),
            60,
        )?;
        let response = self.token_response(&assertion).await?;
        ensure!(
            response.status() == StatusCode::OK,
            "token refused: {}",
            response.status()
        );
        let body: Value = response.json().await?;
        Ok(body
            .get("access_token")
            .and_then(Value::as_str)
            .context("no access_token")?
            .to_owned())
    }

    /// An access token for a new machine client acting as `subject` with `scopes`.
    pub async fn machine_token(&self, subject: &str, scopes: &[&str]) -> anyhow::Result<String> {
        let machine = self.machine_client(CLIENT_NAME, subject, scopes).await?;
        self.access_token(&machine).await
    }

    /// A client of the gateway acting as `subsystem`, with a token of scope `exchange`.
    pub async fn exchange_client(&self, subsystem: &str) -> anyhow::Result<ExchangeClient> {
        let token = self
            .machine_token(subsystem, &[exchange::EXCHANGE_SCOPE])
            .await?;
        Ok(ExchangeClient {
            base: self.base.clone(),
            client: self.client.clone(),
            token,
            subsystem: subsystem.to_owned(),
        })
    }

    /// The catalogue the gateway tests share: the client subsystem [`CLIENT`] of the
    /// Ministry of Justice, and the Ministry of Health's service [`SERVICE`] at `provider`
    /// (endpoint `GET /cards/*`, timeout 2 s); no rights yet.
    pub async fn register_exchange_parties(&self, provider: &str) -> anyhow::Result<()> {
        let catalog = &self.state.exchange.catalog;
        catalog.add_member("VN/GOV/BTP", "Bộ Tư pháp").await?;
        catalog.add_subsystem(CLIENT, CLIENT_NAME).await?;
        catalog.add_member("VN/GOV/BYT", "Bộ Y tế").await?;
        catalog
            .add_subsystem("VN/GOV/BYT/insurance", "Bảo hiểm y tế")
            .await?;
        catalog
            .add_service(exchange::NewService {
                id: SERVICE.into(),
                base_url: provider.into(),
                openapi: Some(
                    r#"{"openapi":"3.0.3","info":{"title":"cards","version":"1"},"paths":{}}"#
                        .into(),
                ),
                timeout_ms: Some(2_000),
                endpoints: vec![exchange::NewEndpoint {
                    method: "GET".into(),
                    path: "/cards/*".into(),
                }],
            })
            .await?;
        Ok(())
    }

    /// Grants [`CLIENT`] the whole of `service`; returns the right's id.
    pub async fn grant_whole(&self, service: &str) -> anyhow::Result<String> {
        let right = exchange::NewRight {
            client: CLIENT.into(),
            service: service.into(),
            method: None,
            path: None,
            fields: None,
        };
        Ok(self
            .state
            .exchange
            .catalog
            .grant(right, "operator:test")
            .await?)
    }
}
