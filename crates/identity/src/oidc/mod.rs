//! The OpenID Connect provider: "log in with national e-ID" for agency systems and banks
//! (OpenID Connect Core 1.0, Discovery 1.0; OAuth 2.0 with PKCE).

mod clients;
mod endpoints;
mod flow;
mod keys;
mod logout;
mod machine;
mod rsa_keys;

pub use clients::{Client, IdTokenAlg, NewClient};
pub use endpoints::{return_to_client_after, routes};
pub use flow::{OAuthError, SCOPES, TokenError};
pub(crate) use machine::MachineCache;
pub use machine::{
    ASSERTION_TYPE, EXCHANGE_AUDIENCE, MachineToken, NewMachineClient, TokenRejected,
    sign_client_assertion,
};
