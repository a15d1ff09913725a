//! Where a page may send the browser next (`?next=` after signing in or switching language):
//! only to a path on this site. A check on the raw text is not enough, because a browser
//! parses a `Location` by the WHATWG URL rules first (tabs and newlines dropped, `\` read as
//! `/`): `/<TAB>/evil.example` becomes `//evil.example`, another site. So the candidate is
//! parsed by the same rules and kept only if it stays on the same origin.

use url::Url;

/// A stand-in origin to resolve against; nothing is ever sent there.
const SAME_ORIGIN: &str = "http://same-origin.invalid/";

/// The path, query and fragment `candidate` leads to, when it is a path on this site;
/// `None` for anything that a browser would take elsewhere.
pub fn local_path(candidate: &str) -> Option<String> {
    if !candidate.starts_with('/') {
        return None;
    }
    let base = Url::parse(SAME_ORIGIN).ok()?;
    let target = base.join(candidate).ok()?;
    if target.origin() != base.origin() {
        return None;
    }
    // What follows the origin, in the parser's own normalised, percent-encoded form.
    let local = target.as_str().get(base.as_str().len() - 1..)?.to_owned();
    // `/.//host` normalises to the path `//host`, which on its own is protocol-relative.
    if local.starts_with("//") {
        return None;
    }
    Some(local)
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_paths_that_stay_on_this_site_pass() {
        for foreign in [
            "/\t/evil.example",
            "/\r\n/evil.example",
            "/\\evil.example",
            "//evil.example",
            "/.//evil.example",
            "https://evil.example/",
            "evil.example",
            "",
        ] {
            assert_eq!(local_path(foreign), None, "{foreign:?}");
        }
        assert_eq!(local_path("/account").as_deref(), Some("/account"));
        assert_eq!(
            local_path("/oauth/authorize?client_id=a&state=x%20y").as_deref(),
            Some("/oauth/authorize?client_id=a&state=x%20y")
        );
        assert_eq!(local_path("/a/../b").as_deref(), Some("/b"));
    }
}
