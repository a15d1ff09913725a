//! The one way a page form reports what is wrong (the GOV.UK design system's pattern): a
//! summary at the top, focused when the page loads, linking to each field at fault; the
//! message again beside its field, tied to it by `aria-describedby`, with `aria-invalid` set;
//! every message in the reader's language. Handlers collect [`FormErrors`] (from their own
//! parsing, or from the [`Problem`] the service's error maps to) and templates show them
//! through [`Feedback`].

use askama::Template;
use kernel::Message;

use crate::lang::Texts;
use crate::problem::{FieldMessage, Problem};

/// What is wrong with a submitted form: messages by field, and at most one that concerns
/// the form as a whole.
#[derive(Debug, Clone, Default)]
pub struct FormErrors {
    fields: Vec<FieldMessage>,
    general: Option<Message>,
}

impl FormErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_none()
    }

    /// Notes a field at fault; only its first message is kept, so the person fixes one
    /// thing at a time per field.
    pub fn field(&mut self, field: &str, message: Message) {
        if !self.fields.iter().any(|known| known.field == field) {
            self.fields.push(FieldMessage {
                field: field.to_owned(),
                message,
            });
        }
    }

    /// The value, or `None` with the field noted: lets a handler parse every field in one
    /// pass and report all that are wrong at once.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, Message>) -> Option<T> {
        parsed.map_err(|message| self.field(field, message)).ok()
    }

    /// Notes something wrong with the form as a whole.
    pub fn general(&mut self, message: Message) {
        self.general.get_or_insert(message);
    }

    /// The same errors with fields named as the page names them (`address` is
    /// `residence_address` on a page with two address inputs).
    pub fn renamed(mut self, names: &[(&str, &str)]) -> Self {
        for issue in &mut self.fields {
            if let Some((_, page_name)) = names.iter().find(|(api, _)| *api == issue.field) {
                issue.field = (*page_name).to_owned();
            }
        }
        self
    }

    pub fn into_fields(self) -> Vec<FieldMessage> {
        self.fields
    }

    /// What a problem from the service says about the form: its fields at fault, or else
    /// the problem as a whole.
    pub fn of_problem(problem: &Problem) -> Self {
        let mut errors = Self::new();
        for issue in problem.field_messages() {
            errors.field(&issue.field, issue.message);
        }
        if errors.is_empty() {
            errors.general(problem_message(problem));
        }
        errors
    }
}

/// The message of a problem, for a person: its own message, or the catalogue's words for
/// its code, or for its status: never the API's English `detail` on a page.
pub fn problem_message(problem: &Problem) -> Message {
    if let Some(message) = problem.message() {
        return message.clone();
    }
    if let Some((_, key)) = PROBLEM_KEYS
        .iter()
        .find(|(code, _)| *code == problem.code())
    {
        return Message::new(key);
    }
    Message::new(match problem.status().as_u16() {
        400 | 422 => "problem.status.invalid",
        401 => "problem.status.sign_in",
        403 => "problem.status.forbidden",
        404 => "problem.status.not_found",
        405 => "problem.status.method",
        409 => "problem.status.conflict",
        413 => "problem.status.too_large",
        429 | 503 => "problem.status.busy",
        _ => "problem.status.internal",
    })
}

/// Problem codes with words of their own in the catalogue (`problem.<code>`; a test checks
/// each has a text).
const PROBLEM_KEYS: &[(&str, &str)] = &[
    ("unknown-citizen", "problem.unknown-citizen"),
    ("unknown-household", "problem.unknown-household"),
    ("version-conflict", "problem.version-conflict"),
    ("already-registered", "problem.already-registered"),
    ("forbidden", "problem.forbidden"),
    ("not-found", "problem.not-found"),
    ("method-not-allowed", "problem.method-not-allowed"),
    ("timeout", "problem.timeout"),
    ("body-too-large", "problem.body-too-large"),
    ("internal", "problem.internal"),
    ("sign-in-required", "problem.sign-in-required"),
];

/// Form errors ready for a template in the reader's language. Its methods return HTML that
/// the template inserts with `|safe`: every text in it is escaped here.
pub struct Feedback {
    summary: String,
    fields: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "form_summary.html")]
struct Summary<'a> {
    title: &'a str,
    items: Vec<(Option<&'a str>, &'a str)>,
}

#[derive(Template)]
#[template(path = "form_field_error.html")]
struct FieldError<'a> {
    id: String,
    prefix: &'a str,
    text: &'a str,
}

impl Feedback {
    /// No errors: every method renders nothing.
    pub fn none() -> Self {
        Self {
            summary: String::new(),
            fields: Vec::new(),
        }
    }

    /// `on_form` lists the fields the page shows: the summary links to those, and names the
    /// others without a link (a rule about a field the page does not show still has to be
    /// told).
    pub fn of(t: &Texts, errors: &FormErrors, on_form: &[&str]) -> Self {
        if errors.is_empty() {
            return Self::none();
        }
        let fields: Vec<(String, String)> = errors
            .fields
            .iter()
            .map(|issue| (issue.field.clone(), t.message(&issue.message)))
            .collect();
        let general = errors.general.as_ref().map(|m| t.message(m));
        let items = general
            .iter()
            .map(|text| (None, text.as_str()))
            .chain(fields.iter().map(|(field, text)| {
                let link = on_form.contains(&field.as_str()).then_some(field.as_str());
                (link, text.as_str())
            }))
            .collect();
        let summary = Summary {
            title: t.get("form.error_summary"),
            items,
        }
        .render()
        .unwrap_or_default();
        Self { summary, fields }
    }

    pub fn any(&self) -> bool {
        !self.summary.is_empty()
    }

    /// The summary box, for the top of the page's main content.
    pub fn summary(&self) -> &str {
        &self.summary
    }

    fn text(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(known, _)| known == field)
            .map(|(_, text)| text.as_str())
    }

    /// The attributes for the input of `field`: marks it invalid and ties it to its message
    /// (and to its hint, `hint_id`, when it has one).
    pub fn attrs(&self, field: &str, hint_id: &str) -> String {
        let field = attribute_safe(field);
        match (self.text(&field).is_some(), hint_id.is_empty()) {
            (true, true) => format!(r#" aria-invalid="true" aria-describedby="{field}-error""#),
            (true, false) => format!(
                r#" aria-invalid="true" aria-describedby="{} {field}-error""#,
                attribute_safe(hint_id)
            ),
            (false, false) => format!(r#" aria-describedby="{}""#, attribute_safe(hint_id)),
            (false, true) => String::new(),
        }
    }

    /// The message beside the field, or nothing.
    pub fn error(&self, t: &Texts, field: &str) -> String {
        self.text(field)
            .and_then(|text| {
                FieldError {
                    id: format!("{}-error", attribute_safe(field)),
                    prefix: t.get("form.error_prefix"),
                    text,
                }
                .render()
                .ok()
            })
            .unwrap_or_default()
    }

    /// The title of a page that shows errors starts with "Lỗi:", so a screen-reader user
    /// hears at once that the form came back.
    pub fn title(&self, t: &Texts, title: &str) -> String {
        if self.any() {
            format!("{} {title}", t.get("form.error_prefix"))
        } else {
            title.to_owned()
        }
    }
}

/// Field names are the code's own (`birth_date`); anything else is reduced to what an `id`
/// attribute can hold, so no input can break out of the attribute.
fn attribute_safe(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ' '))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::{I18n, Lang};
    use axum::http::StatusCode;

    #[test]
    fn the_summary_links_to_fields_on_the_form_and_names_the_rest() -> Result<(), String> {
        let i18n = I18n::load()?;
        let t = i18n.texts(Lang::Vi);
        let mut errors = FormErrors::new();
        errors.field("birth_date", Message::new("record.birth_date_future"));
        errors.field("birth_date", Message::new("field.required"));
        errors.field("personal_id", Message::new("record.id_never_changes"));
        let feedback = Feedback::of(t, &errors, &["birth_date"]);
        let summary = feedback.summary();
        assert!(summary.contains(r##"href="#birth_date""##), "{summary}");
        assert!(!summary.contains(r##"href="#personal_id""##), "{summary}");
        assert!(summary.contains(&t.message(&Message::new("record.id_never_changes"))));
        assert!(
            !summary.contains(&t.message(&Message::new("field.required"))),
            "one message per field"
        );
        assert_eq!(
            feedback.attrs("birth_date", ""),
            r#" aria-invalid="true" aria-describedby="birth_date-error""#
        );
        assert_eq!(
            feedback.attrs("full_name", "name-hint"),
            r#" aria-describedby="name-hint""#
        );
        assert!(
            feedback
                .error(t, "birth_date")
                .contains(r#"id="birth_date-error""#)
        );
        assert_eq!(feedback.error(t, "full_name"), "");
        Ok(())
    }

    #[test]
    fn a_page_never_shows_the_apis_english_detail() -> Result<(), String> {
        let i18n = I18n::load()?;
        let vi = i18n.texts(Lang::Vi);
        let untold = Problem::new(
            StatusCode::CONFLICT,
            "version-conflict",
            "the record is at version 3, not 2",
        );
        let errors = FormErrors::of_problem(&untold);
        let summary = Feedback::of(vi, &errors, &[]).summary().to_owned();
        assert!(!summary.contains("the record is at version"), "{summary}");
        assert!(summary.contains(vi.get("form.error_summary")));
        let unknown = Problem::new(StatusCode::FORBIDDEN, "no-such-code", "English only");
        let text = vi.message(&problem_message(&unknown));
        assert_eq!(
            text,
            vi.message(&Message::new("problem.status.forbidden")),
            "an unlisted code falls back to its status"
        );
        Ok(())
    }

    #[test]
    fn every_listed_problem_code_has_words() {
        let english = kernel::message::Catalogue::english();
        for (code, key) in PROBLEM_KEYS {
            assert_eq!(*key, format!("problem.{code}"));
            assert_ne!(english.text(key), *key, "{key} has no text");
        }
    }

    #[test]
    fn hostile_names_cannot_leave_the_attribute() -> Result<(), String> {
        let i18n = I18n::load()?;
        let t = i18n.texts(Lang::En);
        let mut errors = FormErrors::new();
        errors.field("name", Message::new("field.required"));
        let feedback = Feedback::of(t, &errors, &["name"]);
        let attrs = feedback.attrs("name", r#"hint" onfocus="alert(1)"#);
        assert_eq!(
            attrs,
            r#" aria-invalid="true" aria-describedby="hint onfocusalert1 name-error""#
        );
        Ok(())
    }
}
