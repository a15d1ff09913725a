//! A synthetic population for demos and benchmarks: households with a head, spouse,
//! children and sometimes an elderly parent; Vietnamese names drawn from family-name
//! frequencies and middle and given names by sex; ages from the 2019 census pyramid;
//! provinces by population; ID numbers consistent with each record. The same seed always
//! gives the same population. Data and sources: `../data/SOURCES.md`.

use std::collections::HashSet;
use std::io::Write;

use kernel::{PersonalId, ProvinceCode, Reference, Sex};
use rand::distributions::{Distribution, WeightedIndex};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use time::macros::date;
use time::{Date, Duration};

use crate::domain::record::{
    Address, CitizenRecord, MaritalStatus, Membership, Relationship, Relative, fold_name,
};
use crate::flat::{CsvWriter, FlatCitizen};
use crate::import::Format;

/// Ages are counted at this date so the output does not depend on the day it is made.
const AS_OF: Date = date!(2026 - 01 - 01);
/// Province codes in the files are those of the 2019 census, before the 2025 merger.
const CENSUS_DAY: Date = date!(2019 - 04 - 01);

#[derive(Debug, thiserror::Error)]
#[error("generator data {file}: {problem}")]
pub struct GeneratorError {
    file: &'static str,
    problem: String,
}

struct Weighted<T> {
    items: Vec<T>,
    index: WeightedIndex<f64>,
    /// Never used in practice: the index is built from `items`, so positions are in range.
    fallback: T,
}

impl<T: Clone> Weighted<T> {
    fn new(file: &'static str, pairs: Vec<(T, f64)>) -> Result<Self, GeneratorError> {
        let (items, weights): (Vec<T>, Vec<f64>) = pairs.into_iter().unzip();
        let index = WeightedIndex::new(&weights).map_err(|e| GeneratorError {
            file,
            problem: e.to_string(),
        })?;
        let fallback = items.first().cloned().ok_or_else(|| GeneratorError {
            file,
            problem: "no rows".into(),
        })?;
        Ok(Self {
            items,
            index,
            fallback,
        })
    }

    fn pick(&self, rng: &mut ChaCha8Rng) -> &T {
        self.items
            .get(self.index.sample(rng))
            .unwrap_or(&self.fallback)
    }
}

fn rows<T: for<'de> Deserialize<'de>>(
    file: &'static str,
    text: &str,
) -> Result<Vec<T>, GeneratorError> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .enumerate()
        .map(|(i, row)| {
            row.map_err(|e| GeneratorError {
                file,
                problem: format!("line {}: {e}", i + 2),
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct NameShare {
    name: String,
    share_percent: f64,
}

#[derive(Deserialize)]
struct NameBySex {
    name: String,
    sex: String,
    weight: f64,
}

#[derive(Deserialize)]
struct ProvincePopulation {
    code: String,
    population: f64,
}

#[derive(Deserialize)]
struct AgeGroup {
    age_from: u32,
    age_to: u32,
    male: f64,
    female: f64,
}

#[derive(Deserialize)]
struct EthnicShare {
    code: String,
    population_2019: f64,
}

#[derive(Deserialize)]
struct ReligionShare {
    code: String,
    share_percent: f64,
}

struct BySex<T> {
    male: T,
    female: T,
}

impl<T> BySex<T> {
    fn of(&self, sex: Sex) -> &T {
        match sex {
            Sex::Male => &self.male,
            Sex::Female => &self.female,
        }
    }
}

/// The frequency tables, loaded once.
pub struct Tables {
    family_names: Weighted<String>,
    middle: BySex<Weighted<String>>,
    given: BySex<Weighted<String>>,
    provinces: Weighted<ProvinceCode>,
    ages: BySex<Weighted<(u32, u32)>>,
    ethnicities: Weighted<String>,
    religions: Weighted<String>,
}

fn by_sex(
    file: &'static str,
    rows: &[NameBySex],
) -> Result<BySex<Weighted<String>>, GeneratorError> {
    let pick = |sex: &str| {
        rows.iter()
            .filter(|r| r.sex == sex)
            .map(|r| (r.name.clone(), r.weight))
            .collect::<Vec<_>>()
    };
    Ok(BySex {
        male: Weighted::new(file, pick("male"))?,
        female: Weighted::new(file, pick("female"))?,
    })
}

impl Tables {
    pub fn load() -> Result<Self, GeneratorError> {
        let family: Vec<NameShare> =
            rows("family-names.csv", include_str!("../data/family-names.csv"))?;
        let middle: Vec<NameBySex> =
            rows("middle-names.csv", include_str!("../data/middle-names.csv"))?;
        let given: Vec<NameBySex> =
            rows("given-names.csv", include_str!("../data/given-names.csv"))?;
        let provinces: Vec<ProvincePopulation> = rows(
            "province-population-2019.csv",
            include_str!("../data/province-population-2019.csv"),
        )?;
        let ages: Vec<AgeGroup> = rows(
            "age-pyramid-2019.csv",
            include_str!("../data/age-pyramid-2019.csv"),
        )?;
        let ethnic: Vec<EthnicShare> = rows(
            "ethnic-shares-2019.csv",
            include_str!("../data/ethnic-shares-2019.csv"),
        )?;
        let religions: Vec<ReligionShare> = rows(
            "religion-shares-2019.csv",
            include_str!("../data/religion-shares-2019.csv"),
        )?;
        let province_codes = provinces
            .iter()
            .map(|p| {
                ProvinceCode::parse(&p.code)
                    .map(|code| (code, p.population))
                    .map_err(|e| GeneratorError {
                        file: "province-population-2019.csv",
                        problem: e.reason,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let believers: f64 = religions
            .iter()
            .filter(|r| r.code != "00")
            .map(|r| r.share_percent)
            .sum();
        let mut religion_weights: Vec<(String, f64)> = religions
            .iter()
            .filter(|r| r.code != "00")
            .map(|r| (r.code.clone(), r.share_percent))
            .collect();
        religion_weights.push(("00".to_owned(), (100.0 - believers).max(0.0)));
        Ok(Self {
            family_names: Weighted::new(
                "family-names.csv",
                family
                    .into_iter()
                    .map(|f| (f.name, f.share_percent))
                    .collect(),
            )?,
            middle: by_sex("middle-names.csv", &middle)?,
            given: by_sex("given-names.csv", &given)?,
            provinces: Weighted::new("province-population-2019.csv", province_codes)?,
            ages: BySex {
                male: Weighted::new(
                    "age-pyramid-2019.csv",
                    ages.iter()
                        .map(|a| ((a.age_from, a.age_to), a.male))
                        .collect(),
                )?,
                female: Weighted::new(
                    "age-pyramid-2019.csv",
                    ages.iter()
                        .map(|a| ((a.age_from, a.age_to), a.female))
                        .collect(),
                )?,
            },
            ethnicities: Weighted::new(
                "ethnic-shares-2019.csv",
                ethnic
                    .into_iter()
                    .map(|e| (e.code, e.population_2019))
                    .collect(),
            )?,
            religions: Weighted::new("religion-shares-2019.csv", religion_weights)?,
        })
    }
}

/// Yields citizens household by household until `count` have been made.
pub struct Generator<'a> {
    rng: ChaCha8Rng,
    tables: &'a Tables,
    reference: &'a Reference,
    issued: HashSet<PersonalId>,
    households: u64,
    remaining: usize,
    pending: Vec<CitizenRecord>,
}

struct Person {
    sex: Sex,
    age: u32,
    family_name: String,
}

impl<'a> Generator<'a> {
    pub fn new(tables: &'a Tables, reference: &'a Reference, count: usize, seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            tables,
            reference,
            issued: HashSet::new(),
            households: 0,
            remaining: count,
            pending: Vec::new(),
        }
    }

    fn age(&mut self, sex: Sex, at_least: u32) -> u32 {
        for _ in 0..32 {
            let (from, to) = *self.tables.ages.of(sex).pick(&mut self.rng);
            let age = self.rng.gen_range(from..=to);
            if age >= at_least {
                return age;
            }
        }
        at_least
    }

    fn full_name(&mut self, person: &Person) -> String {
        // Văn and Thị were near-universal middle names for people born before about 1985.
        let traditional = match person.sex {
            Sex::Male => "Văn",
            Sex::Female => "Thị",
        };
        let middle = if person.age >= 40 && self.rng.gen_bool(0.6) {
            traditional.to_owned()
        } else {
            self.tables
                .middle
                .of(person.sex)
                .pick(&mut self.rng)
                .clone()
        };
        let given = self.tables.given.of(person.sex).pick(&mut self.rng).clone();
        format!("{} {middle} {given}", person.family_name)
    }

    fn birth_date(&mut self, age: u32) -> Date {
        let year = AS_OF.year() - 1 - i32::try_from(age).unwrap_or(0);
        let start = Date::from_ordinal_date(year, 1).unwrap_or(AS_OF);
        let days = if time::util::is_leap_year(year) {
            366
        } else {
            365
        };
        start + Duration::days(self.rng.gen_range(0..days))
    }

    fn personal_id(&mut self, province: ProvinceCode, sex: Sex, year: i32) -> Option<PersonalId> {
        for _ in 0..1000 {
            let id =
                PersonalId::compose(province, sex, year, self.rng.gen_range(0..1_000_000)).ok()?;
            if self.issued.insert(id) {
                return Some(id);
            }
        }
        None
    }

    /// Builds one household and queues its members.
    fn household(&mut self) {
        self.households += 1;
        let province = *self.tables.provinces.pick(&mut self.rng);
        let current_province = self
            .reference
            .provinces
            .carry_forward(&province, CENSUS_DAY, AS_OF)
            .map_or(province, |p| p.code);
        let household_id = format!("{current_province}-{:08}", self.households);
        let address = Address {
            province: current_province,
            detail: format!(
                "Số {}, tổ {}, phường {}",
                self.rng.gen_range(1..300),
                self.rng.gen_range(1..40),
                self.rng.gen_range(1..30)
            ),
        };
        let ethnicity = self.tables.ethnicities.pick(&mut self.rng).clone();
        let religion = self.tables.religions.pick(&mut self.rng).clone();
        let head_sex = if self.rng.gen_bool(0.72) {
            Sex::Male
        } else {
            Sex::Female
        };
        let head_age = self.age(head_sex, 20);
        let family_name = self.tables.family_names.pick(&mut self.rng).clone();
        let mut people: Vec<(Person, Relationship)> = vec![(
            Person {
                sex: head_sex,
                age: head_age,
                family_name: family_name.clone(),
            },
            Relationship::Head,
        )];
        let spouse_chance = match head_age {
            20..=29 => 0.5,
            30..=69 => 0.85,
            _ => 0.55,
        };
        if self.rng.gen_bool(spouse_chance) {
            let sex = match head_sex {
                Sex::Male => Sex::Female,
                Sex::Female => Sex::Male,
            };
            let age = head_age
                .saturating_add_signed(self.rng.gen_range(-6..=4))
                .max(18);
            let spouse_family = self.tables.family_names.pick(&mut self.rng).clone();
            people.push((
                Person {
                    sex,
                    age,
                    family_name: spouse_family,
                },
                Relationship::Spouse,
            ));
        }
        let father_family = people
            .iter()
            .find(|(p, _)| p.sex == Sex::Male)
            .map_or(family_name, |(p, _)| p.family_name.clone());
        let youngest_parent = people.iter().map(|(p, _)| p.age).min().unwrap_or(head_age);
        if (22..=60).contains(&youngest_parent) {
            let children = *[0, 1, 2, 2, 3].get(self.rng.gen_range(0..5)).unwrap_or(&1);
            for _ in 0..children {
                let gap = self.rng.gen_range(20..=35);
                if let Some(age) = youngest_parent.checked_sub(gap) {
                    let sex = if self.rng.gen_bool(0.51) {
                        Sex::Male
                    } else {
                        Sex::Female
                    };
                    people.push((
                        Person {
                            sex,
                            age,
                            family_name: father_family.clone(),
                        },
                        Relationship::Child,
                    ));
                }
            }
        }
        if head_age < 55 && self.rng.gen_bool(0.15) {
            let sex = if self.rng.gen_bool(0.6) {
                Sex::Female
            } else {
                Sex::Male
            };
            let age = head_age + self.rng.gen_range(22..=35);
            let family_name = self.tables.family_names.pick(&mut self.rng).clone();
            people.push((
                Person {
                    sex,
                    age,
                    family_name,
                },
                Relationship::Parent,
            ));
        }

        let mut records: Vec<CitizenRecord> = Vec::with_capacity(people.len());
        for (person, relationship) in &people {
            let birth_province = if self.rng.gen_bool(0.9) {
                province
            } else {
                *self.tables.provinces.pick(&mut self.rng)
            };
            let birth_date = self.birth_date(person.age);
            let Some(personal_id) = self.personal_id(birth_province, person.sex, birth_date.year())
            else {
                continue;
            };
            let full_name = self.full_name(person);
            let adult = person.age >= 18;
            let phone = (adult && self.rng.gen_bool(0.85)).then(|| {
                format!(
                    "0{}{:08}",
                    [3, 5, 7, 8, 9]
                        .get(self.rng.gen_range(0..5))
                        .copied()
                        .unwrap_or(9),
                    self.rng.gen_range(0..100_000_000)
                )
            });
            let email = (adult && self.rng.gen_bool(0.2)).then(|| {
                format!(
                    "{}{}@example.com",
                    fold_name(&full_name).replace(' ', "."),
                    self.rng.gen_range(1..999)
                )
            });
            let marital_status = match relationship {
                Relationship::Head | Relationship::Spouse
                    if people.iter().any(|(_, r)| *r == Relationship::Spouse) =>
                {
                    MaritalStatus::Married
                }
                _ if person.age < 25 => MaritalStatus::Single,
                _ if person.age >= 65 => MaritalStatus::Widowed,
                _ if self.rng.gen_bool(0.5) => MaritalStatus::Divorced,
                _ => MaritalStatus::Single,
            };
            records.push(CitizenRecord {
                personal_id,
                full_name,
                other_names: Vec::new(),
                birth_date,
                sex: person.sex,
                place_of_birth: None,
                birth_registration_province: birth_province,
                hometown: None,
                ethnicity: ethnicity.clone(),
                religion: religion.clone(),
                nationality: "VN".to_owned(),
                marital_status,
                blood_group: None,
                old_id_number: None,
                permanent_residence: Some(address.clone()),
                temporary_residence: None,
                current_residence: Some(address.clone()),
                temporary_absence: None,
                household: Some(Membership {
                    household_id: household_id.clone(),
                    relationship_to_head: *relationship,
                }),
                father: None,
                mother: None,
                spouse: None,
                children: Vec::new(),
                legal_representative: None,
                phone,
                email,
                occupation: None,
                death_date: None,
                missing_declared_on: None,
            });
        }
        link_relatives(&mut records);
        self.pending = records;
        self.pending.reverse();
    }
}

fn relative_of(record: &CitizenRecord) -> Relative {
    Relative {
        full_name: record.full_name.clone(),
        personal_id: Some(record.personal_id),
        nationality: record.nationality.clone(),
    }
}

/// Spouses name each other; children name the head and spouse as father and mother; the
/// head names an elderly parent.
fn link_relatives(records: &mut [CitizenRecord]) {
    let with = |r: Relationship| {
        records
            .iter()
            .find(|c| {
                c.household
                    .as_ref()
                    .is_some_and(|h| h.relationship_to_head == r)
            })
            .cloned()
    };
    let head = with(Relationship::Head);
    let spouse = with(Relationship::Spouse);
    let elder = with(Relationship::Parent);
    let (father, mother) = match (&head, &spouse) {
        (Some(h), s) if h.sex == Sex::Male => (Some(h.clone()), s.clone()),
        (h, s) => (s.clone(), h.clone()),
    };
    for record in records.iter_mut() {
        match record.household.as_ref().map(|h| h.relationship_to_head) {
            Some(Relationship::Head) => {
                record.spouse = spouse.as_ref().map(relative_of);
                if let Some(elder) = &elder {
                    match elder.sex {
                        Sex::Male => record.father = Some(relative_of(elder)),
                        Sex::Female => record.mother = Some(relative_of(elder)),
                    }
                }
            }
            Some(Relationship::Spouse) => record.spouse = head.as_ref().map(relative_of),
            Some(Relationship::Child) => {
                record.father = father.as_ref().map(relative_of);
                record.mother = mother.as_ref().map(relative_of);
            }
            _ => {}
        }
    }
}

impl Iterator for Generator<'_> {
    type Item = CitizenRecord;

    fn next(&mut self) -> Option<CitizenRecord> {
        if self.remaining == 0 {
            return None;
        }
        while self.pending.is_empty() {
            self.household();
        }
        self.remaining -= 1;
        self.pending.pop()
    }
}

/// Writes `count` citizens made from `seed`; returns how many were written.
pub fn write_population<W: Write>(
    tables: &Tables,
    reference: &Reference,
    count: usize,
    seed: u64,
    writer: W,
    format: Format,
) -> std::io::Result<u64> {
    let mut written = 0;
    let generator = Generator::new(tables, reference, count, seed);
    match format {
        Format::Csv => {
            let mut csv = CsvWriter::new(writer);
            for record in generator {
                csv.write(&FlatCitizen::from_record(&record))
                    .map_err(std::io::Error::other)?;
                written += 1;
            }
            csv.flush()?;
        }
        Format::Ndjson => {
            let mut writer = std::io::BufWriter::new(writer);
            for record in generator {
                serde_json::to_writer(&mut writer, &FlatCitizen::from_record(&record))?;
                writer.write_all(b"\n")?;
                written += 1;
            }
            writer.flush()?;
        }
    }
    Ok(written)
}
