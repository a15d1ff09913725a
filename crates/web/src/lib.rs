//! What every context needs to speak HTTP and HTML the same way: the page layout, the
//! language of the reader, problem-details errors, JSON and query extractors that name the
//! offending field, the static assets, and the pages that present the platform itself.

pub mod about;
pub mod assets;
pub mod auth;
pub mod confirm;
pub mod csp;
pub mod error_page;
pub mod form;
pub mod home;
pub mod lang;
pub mod layout;
pub mod people;
pub mod problem;
pub mod redirect;
pub mod reference;

use std::sync::Arc;

use kernel::Reference;

pub use auth::{Authenticated, MaybePrincipal, Principal};
pub use form::{Feedback, FormErrors};
pub use lang::{I18n, Lang, Texts};
pub use layout::Chrome;
pub use problem::{ApiJson, ApiQuery, Problem};

/// What the shared pages and extractors read from the application state.
#[derive(Debug, Clone)]
pub struct Site {
    pub reference: Arc<Reference>,
    pub i18n: Arc<I18n>,
    /// Names of the people behind actors, for pages that say who did something.
    pub people: people::People,
}
