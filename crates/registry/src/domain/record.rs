//! A citizen's record in the population database: the fields of the Law on Identification
//! 2023, art. 9(1), that a civil registry keeps (biometrics and card images excluded), and
//! the residence facts of the Law on Residence 2020.

use kernel::{Message, PersonalId, PhoneNumber, ProvinceCode, Sex};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::lists::Lists;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CitizenRecord {
    #[schema(value_type = String, example = "079084000123")]
    pub personal_id: PersonalId,
    /// Family name, middle names and given name as on the birth certificate.
    pub full_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_names: Vec<String>,
    pub birth_date: Date,
    #[schema(value_type = String, example = "male")]
    pub sex: Sex,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_of_birth: Option<String>,
    /// Province where the birth was registered: the first digits of the ID number.
    #[schema(value_type = String, example = "79")]
    pub birth_registration_province: ProvinceCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hometown: Option<String>,
    /// Code from the list of 54 ethnic groups.
    pub ethnicity: String,
    /// Code from the list of religions; `00` for none.
    pub religion: String,
    /// ISO 3166-1 alpha-2.
    pub nationality: String,
    pub marital_status: MaritalStatus,
    /// Recorded only on the citizen's request with a test result (Law 2023 art. 9(1)(i)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blood_group: Option<BloodGroup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_id_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permanent_residence: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary_residence: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_residence: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary_absence: Option<Absence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub household: Option<Membership>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub father: Option<Relative>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mother: Option<Relative>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spouse: Option<Relative>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Relative>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_representative: Option<Relative>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occupation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub death_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_declared_on: Option<Date>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MaritalStatus {
    Single,
    Married,
    Divorced,
    Widowed,
}

impl MaritalStatus {
    pub fn parse(input: &str) -> Result<Self, Message> {
        match input {
            "single" => Ok(Self::Single),
            "married" => Ok(Self::Married),
            "divorced" => Ok(Self::Divorced),
            "widowed" => Ok(Self::Widowed),
            _ => Err(Message::new("record.marital_status").with("found", format!("{input:?}"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::Married => "married",
            Self::Divorced => "divorced",
            Self::Widowed => "widowed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum BloodGroup {
    #[serde(rename = "A+")]
    APos,
    #[serde(rename = "A-")]
    ANeg,
    #[serde(rename = "B+")]
    BPos,
    #[serde(rename = "B-")]
    BNeg,
    #[serde(rename = "AB+")]
    AbPos,
    #[serde(rename = "AB-")]
    AbNeg,
    #[serde(rename = "O+")]
    OPos,
    #[serde(rename = "O-")]
    ONeg,
}

impl BloodGroup {
    const ALL: [(Self, &'static str); 8] = [
        (Self::APos, "A+"),
        (Self::ANeg, "A-"),
        (Self::BPos, "B+"),
        (Self::BNeg, "B-"),
        (Self::AbPos, "AB+"),
        (Self::AbNeg, "AB-"),
        (Self::OPos, "O+"),
        (Self::ONeg, "O-"),
    ];

    pub fn parse(input: &str) -> Result<Self, Message> {
        Self::ALL
            .iter()
            .find(|(_, text)| *text == input)
            .map(|(group, _)| *group)
            .ok_or_else(|| Message::new("record.blood_type").with("found", format!("{input:?}")))
    }

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(g, _)| *g == self)
            .map_or("", |(_, text)| text)
    }
}

/// An address in the current two-level structure: province and commune-level detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[schema(value_type = String, example = "01")]
    pub province: ProvinceCode,
    /// Commune, street and house, as written.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Absence {
    pub since: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Date>,
    pub destination: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Membership {
    pub household_id: String,
    pub relationship_to_head: Relationship,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    Head,
    Spouse,
    Child,
    Parent,
    Grandchild,
    Sibling,
    Other,
}

impl Relationship {
    pub fn parse(input: &str) -> Result<Self, Message> {
        match input {
            "head" => Ok(Self::Head),
            "spouse" => Ok(Self::Spouse),
            "child" => Ok(Self::Child),
            "parent" => Ok(Self::Parent),
            "grandchild" => Ok(Self::Grandchild),
            "sibling" => Ok(Self::Sibling),
            "other" => Ok(Self::Other),
            _ => Err(Message::new("record.relationship").with("found", format!("{input:?}"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Head => "head",
            Self::Spouse => "spouse",
            Self::Child => "child",
            Self::Parent => "parent",
            Self::Grandchild => "grandchild",
            Self::Sibling => "sibling",
            Self::Other => "other",
        }
    }
}

/// A relative named in the record: name, personal ID and nationality (Law 2023 art. 9(1)(m)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Relative {
    pub full_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub personal_id: Option<PersonalId>,
    #[serde(default = "vietnam")]
    pub nationality: String,
}

fn vietnam() -> String {
    "VN".to_owned()
}

/// One reason a record is not acceptable, with the field it concerns: `message` for a page
/// in the reader's language, `reason` its English text for reports and the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldIssue {
    pub field: String,
    pub reason: String,
    #[serde(skip)]
    pub message: Message,
}

impl FieldIssue {
    pub(crate) fn new(field: &str, message: Message) -> Self {
        Self {
            field: field.to_owned(),
            reason: message.english(),
            message,
        }
    }
}

impl std::fmt::Display for FieldIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl CitizenRecord {
    /// Every top-level field of a record as it is serialised: what an exchange right may
    /// release one by one (a test keeps the list and the struct in step).
    pub const FIELDS: [&'static str; 29] = [
        "personal_id",
        "full_name",
        "other_names",
        "birth_date",
        "sex",
        "place_of_birth",
        "birth_registration_province",
        "hometown",
        "ethnicity",
        "religion",
        "nationality",
        "marital_status",
        "blood_group",
        "old_id_number",
        "permanent_residence",
        "temporary_residence",
        "current_residence",
        "temporary_absence",
        "household",
        "father",
        "mother",
        "spouse",
        "children",
        "legal_representative",
        "phone",
        "email",
        "occupation",
        "death_date",
        "missing_declared_on",
    ];

    /// A record with the facts every citizen has and nothing else recorded yet: single,
    /// Vietnamese, no religion, no residence or relatives. The birth-registration province
    /// is read from the ID number.
    pub fn new(
        personal_id: PersonalId,
        full_name: impl Into<String>,
        birth_date: Date,
        sex: Sex,
        ethnicity: impl Into<String>,
    ) -> Self {
        Self {
            personal_id,
            full_name: full_name.into(),
            other_names: Vec::new(),
            birth_date,
            sex,
            place_of_birth: None,
            birth_registration_province: personal_id.province(),
            hometown: None,
            ethnicity: ethnicity.into(),
            religion: "00".to_owned(),
            nationality: "VN".to_owned(),
            marital_status: MaritalStatus::Single,
            blood_group: None,
            old_id_number: None,
            permanent_residence: None,
            temporary_residence: None,
            current_residence: None,
            temporary_absence: None,
            household: None,
            father: None,
            mother: None,
            spouse: None,
            children: Vec::new(),
            legal_representative: None,
            phone: None,
            email: None,
            occupation: None,
            death_date: None,
            missing_declared_on: None,
        }
    }

    /// Every rule the record breaks; empty when it is acceptable. `today` bounds dates.
    pub fn check(&self, lists: &Lists, today: Date) -> Vec<FieldIssue> {
        let mut issues = Vec::new();
        let id = self.personal_id;
        if id.sex() != self.sex {
            issues.push(FieldIssue::new(
                "personal_id",
                Message::new("record.id_sex")
                    .with("number", id.sex().as_str())
                    .with("record", self.sex.as_str()),
            ));
        }
        if id.birth_year() != self.birth_date.year() {
            issues.push(FieldIssue::new(
                "personal_id",
                Message::new("record.id_birth_year")
                    .with("number", id.birth_year())
                    .with("record", self.birth_date.year()),
            ));
        }
        if id.province() != self.birth_registration_province {
            issues.push(FieldIssue::new(
                "personal_id",
                Message::new("record.id_province")
                    .with("province", self.birth_registration_province),
            ));
        }
        if !lists.is_id_province(self.birth_registration_province) {
            issues.push(FieldIssue::new(
                "birth_registration_province",
                Message::new("record.id_province_unknown")
                    .with("province", self.birth_registration_province),
            ));
        }
        let name = self.full_name.trim();
        if name.is_empty() || name.len() > 150 || name.split_whitespace().count() < 2 {
            issues.push(FieldIssue::new(
                "full_name",
                Message::new("record.full_name_parts"),
            ));
        } else if name.chars().any(|c| c.is_ascii_digit() || c.is_control()) {
            issues.push(FieldIssue::new(
                "full_name",
                Message::new("record.full_name_characters"),
            ));
        }
        self.check_free_text(&mut issues);
        if self.birth_date > today {
            issues.push(FieldIssue::new(
                "birth_date",
                Message::new("record.birth_date_future"),
            ));
        }
        if self.birth_date.year() < 1900 {
            issues.push(FieldIssue::new(
                "birth_date",
                Message::new("record.birth_date_before_1900"),
            ));
        }
        if !lists.is_ethnicity(&self.ethnicity) {
            issues.push(FieldIssue::new(
                "ethnicity",
                Message::new("record.ethnicity").with("found", format!("{:?}", self.ethnicity)),
            ));
        }
        if !lists.is_religion(&self.religion) {
            issues.push(FieldIssue::new(
                "religion",
                Message::new("record.religion").with("found", format!("{:?}", self.religion)),
            ));
        }
        if self.nationality.len() != 2 || !self.nationality.bytes().all(|b| b.is_ascii_uppercase())
        {
            issues.push(FieldIssue::new(
                "nationality",
                Message::new("record.nationality"),
            ));
        }
        for (field, address) in [
            ("permanent_residence", &self.permanent_residence),
            ("temporary_residence", &self.temporary_residence),
            ("current_residence", &self.current_residence),
        ] {
            if let Some(address) = address
                && !lists.is_current_province(address.province)
            {
                issues.push(FieldIssue::new(
                    field,
                    Message::new("record.province_not_in_force").with("province", address.province),
                ));
            }
        }
        for (field, date) in [
            ("death_date", self.death_date),
            ("missing_declared_on", self.missing_declared_on),
        ] {
            if let Some(date) = date
                && (date < self.birth_date || date > today)
            {
                issues.push(FieldIssue::new(
                    field,
                    Message::new("record.date_after_birth"),
                ));
            }
        }
        if self.spouse.is_some() && self.marital_status != MaritalStatus::Married {
            issues.push(FieldIssue::new(
                "spouse",
                Message::new("record.spouse_not_married"),
            ));
        }
        for (field, relative) in [
            ("father", &self.father),
            ("mother", &self.mother),
            ("spouse", &self.spouse),
        ] {
            if relative.as_ref().and_then(|r| r.personal_id) == Some(id) {
                issues.push(FieldIssue::new(
                    field,
                    Message::new("record.relative_is_self"),
                ));
            }
        }
        if let Some(phone) = &self.phone
            && !is_phone(phone)
        {
            issues.push(FieldIssue::new("phone", Message::new("record.phone")));
        }
        if let Some(email) = &self.email
            && !is_email(email)
        {
            issues.push(FieldIssue::new("email", Message::new("record.email")));
        }
        issues
    }

    /// Bounds every free-text field and refuses control characters in all of them (a NUL
    /// or a line break has no place in a name or an address, and breaks exports). The Law on
    /// Identification 2023 (art. 9) lists the facts held but sets no lengths; the limits
    /// below hold the longest real values with room to spare.
    fn check_free_text(&self, issues: &mut Vec<FieldIssue>) {
        if self.other_names.len() > MAX_OTHER_NAMES {
            issues.push(FieldIssue::new(
                "other_names",
                Message::new("record.other_names_count").with("max", MAX_OTHER_NAMES),
            ));
        }
        if let Some(old) = &self.old_id_number
            && !((old.len() == 9 || old.len() == 12) && old.bytes().all(|b| b.is_ascii_digit()))
        {
            issues.push(FieldIssue::new(
                "old_id_number",
                Message::new("record.old_id_number"),
            ));
        }
        let mut text = |field: &str, value: &str, max_chars: usize| {
            if let Some(message) = free_text_issue(value, max_chars) {
                issues.push(FieldIssue::new(field, message));
            }
        };
        for name in &self.other_names {
            text("other_names", name, NAME_CHARS);
        }
        for (field, place) in [
            ("place_of_birth", &self.place_of_birth),
            ("hometown", &self.hometown),
        ] {
            if let Some(place) = place {
                text(field, place, ADDRESS_CHARS);
            }
        }
        for (field, address) in [
            ("permanent_residence", &self.permanent_residence),
            ("temporary_residence", &self.temporary_residence),
            ("current_residence", &self.current_residence),
        ] {
            if let Some(address) = address {
                text(field, &address.detail, ADDRESS_CHARS);
            }
        }
        if let Some(absence) = &self.temporary_absence {
            text("temporary_absence", &absence.destination, ADDRESS_CHARS);
        }
        if let Some(household) = &self.household {
            text("household", &household.household_id, HOUSEHOLD_ID_CHARS);
        }
        for (field, relative) in [
            ("father", &self.father),
            ("mother", &self.mother),
            ("spouse", &self.spouse),
            ("legal_representative", &self.legal_representative),
        ] {
            if let Some(relative) = relative {
                text(field, &relative.full_name, NAME_CHARS);
            }
        }
        for child in &self.children {
            text("children", &child.full_name, NAME_CHARS);
        }
        if let Some(occupation) = &self.occupation {
            text("occupation", occupation, OCCUPATION_CHARS);
        }
        if let Some(email) = &self.email {
            text("email", email, EMAIL_CHARS);
        }
    }

    /// The name folded for search: lower case, no diacritics, single spaces.
    pub fn name_key(&self) -> String {
        fold_name(&self.full_name)
    }
}

/// A name as on the birth certificate (the main name is bounded at 150 bytes above).
const NAME_CHARS: usize = 100;
const MAX_OTHER_NAMES: usize = 10;
/// An address down to house number, lane, hamlet, commune and province, or a place of birth.
const ADDRESS_CHARS: usize = 300;
const HOUSEHOLD_ID_CHARS: usize = 32;
const OCCUPATION_CHARS: usize = 100;
/// RFC 5321 section 4.5.3.1.3: a path is at most 256 octets with its angle brackets.
const EMAIL_CHARS: usize = 254;

/// Why `value` is not acceptable free text, if it is not: empty, longer than `max_chars`,
/// or holding a control character (NUL, tab, line breaks, escape).
fn free_text_issue(value: &str, max_chars: usize) -> Option<Message> {
    let chars = value.chars().count();
    if value.trim().is_empty() {
        Some(Message::new("text.empty"))
    } else if chars > max_chars {
        Some(
            Message::new("text.too_long")
                .with("length", chars)
                .with("max", max_chars),
        )
    } else {
        value.chars().find(|c| c.is_control()).map(|c| {
            Message::new("text.control_character").with("found", format!("U+{:04X}", u32::from(c)))
        })
    }
}

/// A stored number is in one of the two forms `kernel::PhoneNumber` writes: national
/// (`0` and nine digits) or E.164 (`+84` and nine digits); forms typed with spaces or dots are
/// brought to the national one before they reach a record ([`canonical_phone`]).
fn is_phone(phone: &str) -> bool {
    PhoneNumber::parse(phone)
        .is_ok_and(|number| number.to_string() == phone || number.e164() == phone)
}

/// The number in its national form when it is one (`0713 697 553` → `0713697553`); anything
/// else is left as typed, for validation to refuse with the field named.
pub(crate) fn canonical_phone(typed: String) -> String {
    PhoneNumber::parse(&typed).map_or(typed, |number| number.to_string())
}

fn is_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// Lower case without Vietnamese diacritics (đ → d), so "Nguyễn Văn An" and "nguyen van an"
/// find the same people.
pub fn fold_name(name: &str) -> String {
    let mut folded = String::with_capacity(name.len());
    for word in name.split_whitespace() {
        if !folded.is_empty() {
            folded.push(' ');
        }
        folded.extend(word.chars().flat_map(char::to_lowercase).map(base_letter));
    }
    folded
}

fn base_letter(c: char) -> char {
    const GROUPS: [(&str, char); 7] = [
        ("àáảãạăằắẳẵặâầấẩẫậ", 'a'),
        ("èéẻẽẹêềếểễệ", 'e'),
        ("ìíỉĩị", 'i'),
        ("òóỏõọôồốổỗộơờớởỡợ", 'o'),
        ("ùúủũụưừứửữự", 'u'),
        ("ỳýỷỹỵ", 'y'),
        ("đ", 'd'),
    ];
    GROUPS
        .iter()
        .find(|(set, _)| set.contains(c))
        .map_or(c, |(_, base)| *base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_list_names_exactly_the_fields() -> Result<(), Box<dyn std::error::Error>> {
        let reference = kernel::Reference::load()?;
        let tables = crate::generate::Tables::load()?;
        for record in crate::generate::Generator::new(&tables, &reference, 300, 7) {
            let mut json = serde_json::to_value(&record)?;
            let object = json.as_object_mut().ok_or("a record is an object")?;
            // Every field a record carries is in the list ...
            for key in object.keys() {
                assert!(
                    CitizenRecord::FIELDS.contains(&key.as_str()),
                    "{key} is not listed"
                );
            }
            // ... and every listed name is a field: records refuse unknown ones.
            for field in CitizenRecord::FIELDS {
                let empty = if matches!(field, "other_names" | "children") {
                    serde_json::json!([])
                } else {
                    serde_json::Value::Null
                };
                object.entry(field).or_insert(empty);
            }
            serde_json::from_value::<CitizenRecord>(json)?;
        }
        Ok(())
    }

    #[test]
    fn folding_removes_diacritics_and_case() {
        assert_eq!(fold_name("  Nguyễn   Thị Ánh  Đào "), "nguyen thi anh dao");
        assert_eq!(fold_name("ĐẶNG Hữu Phước"), "dang huu phuoc");
    }

    #[test]
    fn phone_and_email_shapes() {
        assert!(is_phone("0912345678") && is_phone("+84912345678"));
        assert!(!is_phone("912345678") && !is_phone("09123456789") && !is_phone("+8491234567a"));
        assert!(
            !is_phone("0912 345 678"),
            "records hold numbers without separators"
        );
        assert_eq!(canonical_phone("0912 345 678".into()), "0912345678");
        assert_eq!(canonical_phone("+84 912.345.678".into()), "0912345678");
        assert_eq!(canonical_phone("09 12".into()), "09 12");
        assert!(
            is_email("an@example.vn")
                && !is_email("an@")
                && !is_email("a n@x.vn")
                && !is_email("an.example.vn")
        );
    }
}
