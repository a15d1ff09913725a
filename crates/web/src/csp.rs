//! The Content-Security-Policy every page is sent with, and its one widening: a page whose
//! form may end in a redirect to another site. Browsers check `form-action` against every
//! redirect that follows a form submission (CSP Level 3 §6.4.3; Chromium and WebKit do), so
//! the OAuth consent and sign-in forms, which end at the client's `redirect_uri`, must name
//! that origin or the person never gets back to the client.

use axum::http::HeaderValue;

pub const POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// The policy with `origin` (a serialised origin, `https://bank.example`) added to
/// `form-action`, and nothing else changed.
pub fn allowing_form_target(origin: &str) -> Option<HeaderValue> {
    let acceptable = !origin.is_empty()
        && origin
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/.-[]".contains(c));
    if !acceptable {
        return None;
    }
    HeaderValue::from_str(&POLICY.replace(
        "form-action 'self'",
        &format!("form-action 'self' {origin}"),
    ))
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_form_action_widens_and_only_to_an_origin() {
        let widened = allowing_form_target("http://localhost:4000");
        assert_eq!(
            widened.as_ref().and_then(|v| v.to_str().ok()),
            Some(
                POLICY
                    .replace(
                        "form-action 'self'",
                        "form-action 'self' http://localhost:4000"
                    )
                    .as_str()
            )
        );
        assert_eq!(
            allowing_form_target("https://a.example; script-src *"),
            None
        );
        assert_eq!(allowing_form_target(""), None);
    }
}
