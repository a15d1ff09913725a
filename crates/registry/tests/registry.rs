#![allow(clippy::expect_used)] // fixtures built from literals: a failure is a bug in the test itself

//! Registry contract tests, on SQLite and (when configured) PostgreSQL.

use std::sync::Arc;

use kernel::{PersonalId, ProvinceCode, Reference, Sex};
use registry::generate::{Generator, Tables, write_population};
use registry::import::{Format, ImportOptions, export, import};
use registry::record::{Address, MaritalStatus, Membership, Relationship};
use registry::{
    BirthRegistration, Change, CitizenRecord, Lists, Official, Purpose, Registry, RegistryError,
    ResidenceChange, ResidenceKind,
};
use store::testing::{TestResult, for_each_backend};
use time::macros::date;
use time::{Date, OffsetDateTime};

/// The tables these tests use.
static TABLES: &[&store::Migrations] = &[&registry::MIGRATIONS];

const TODAY: Date = date!(2026 - 11 - 23);
const OFFICIAL: Change<'static> = Change {
    actor: "official:test",
    basis: "Luật Căn cước 2023, điều 10",
};

fn registry(db: store::Db) -> Result<Registry, Box<dyn std::error::Error + Send + Sync>> {
    let reference = Reference::load()?;
    Ok(Registry::new(db, Arc::new(Lists::load(&reference)?)))
}

/// A registry officer of the Ministry of Public Security, as the service's reads require.
fn officer() -> Official {
    let principal = web::Principal {
        account_id: "bca-1".into(),
        personal_id: PersonalId::parse("001080000009").expect("test ID"),
        full_name: "Cán bộ Bộ Công an".into(),
        assurance_level: 2,
        roles: vec![web::auth::AgencyRole {
            agency: "BCA".into(),
            role: kernel::Role::RegistryOfficer,
        }],
    };
    Official::of(&principal).expect("an officer")
}

fn purpose(text: &str) -> Purpose {
    Purpose::parse(text).expect("test purpose")
}

fn province(code: &str) -> ProvinceCode {
    ProvinceCode::parse(code).expect("test province code")
}

fn citizen(id: &str, name: &str, birth: Date, sex: Sex) -> CitizenRecord {
    CitizenRecord {
        permanent_residence: Some(Address {
            province: province("79"),
            detail: "12 Lê Lợi, phường Bến Thành".into(),
        }),
        phone: Some("0912345678".into()),
        ..CitizenRecord::new(
            PersonalId::parse(id).expect("test ID"),
            name,
            birth,
            sex,
            "01",
        )
    }
}

#[tokio::test]
async fn births_get_numbers_that_match_them_and_never_repeat() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let registry = registry(db)?;
        let mut issued = std::collections::HashSet::new();
        for n in 0..50 {
            let sex = if n % 2 == 0 { Sex::Male } else { Sex::Female };
            let record = registry
                .register_birth(
                    BirthRegistration {
                        full_name: format!("Nguyễn Văn Số{}", "a".repeat(n % 3 + 1)),
                        birth_date: date!(2026 - 03 - 15),
                        sex,
                        // Đồng Tháp as it is since 1 July 2025 (Tiền Giang's code 82).
                        birth_registration_province: province("082"),
                        place_of_birth: Some("Bệnh viện Đa khoa Đồng Tháp".into()),
                        ethnicity: "01".into(),
                        religion: "00".into(),
                        nationality: "VN".into(),
                        father: None,
                        mother: None,
                        permanent_residence: None,
                        household: None,
                    },
                    OFFICIAL,
                    TODAY,
                )
                .await?;
            let id = record.personal_id;
            assert_eq!(
                (id.province(), id.sex(), id.birth_year()),
                (province("82"), sex, 2026)
            );
            assert!(
                id.to_string()
                    .starts_with(if n % 2 == 0 { "082226" } else { "082326" })
            );
            assert!(issued.insert(id), "{id} issued twice");
        }
        assert_eq!(registry.count().await?, 50);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_birth_under_a_merged_province_or_an_unknown_parent_issues_no_number() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let registry = registry(db)?;
        let birth = BirthRegistration {
            full_name: "Trần Thị Mai".into(),
            birth_date: date!(2026 - 03 - 15),
            sex: Sex::Female,
            // Đồng Tháp's code before 1 July 2025: merged away, it issues no new numbers.
            birth_registration_province: province("087"),
            place_of_birth: None,
            ethnicity: "01".into(),
            religion: "00".into(),
            nationality: "VN".into(),
            father: None,
            mother: Some(registry::record::Relative {
                full_name: "Nguyễn Thị Hoa".into(),
                personal_id: Some(PersonalId::parse("079190000001")?),
                nationality: "VN".into(),
            }),
            permanent_residence: None,
            household: None,
        };
        let refused = registry.register_birth(birth, OFFICIAL, TODAY).await;
        let Err(RegistryError::Invalid(issues)) = refused else {
            return Err(format!("expected a refusal, got {refused:?}").into());
        };
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["birth_registration_province", "mother_id"]);
        assert_eq!(registry.count().await?, 0, "no number issued");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn inconsistent_records_are_refused_naming_each_field_and_nothing_is_written() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let registry = registry(db)?;
        // 079 = Hồ Chí Minh, digit 0 = male born 1900s, 84 = 1984.
        let mut wrong = citizen("079084000123", "Trần Thị Lan", date!(1985 - 02 - 01), Sex::Female);
        wrong.birth_registration_province = province("01");
        wrong.email = Some("not-an-email".into());
        let Err(RegistryError::Invalid(issues)) = registry.register(&wrong, OFFICIAL, TODAY).await else {
            return Err("an inconsistent record must be refused".into());
        };
        let reasons: Vec<String> = issues.iter().map(ToString::to_string).collect();
        assert!(reasons.iter().any(|r| r.contains("century-and-sex digit says male")), "{reasons:?}");
        assert!(reasons.iter().any(|r| r.contains("encodes birth year 1984")), "{reasons:?}");
        assert!(reasons.iter().any(|r| r.contains("does not match the birth-registration province 01")), "{reasons:?}");
        assert!(reasons.iter().any(|r| r.starts_with("email:")), "{reasons:?}");
        assert_eq!(registry.count().await?, 0);

        let right = citizen("079084000123", "Trần Văn Lâm", date!(1984 - 02 - 01), Sex::Male);
        registry.register(&right, OFFICIAL, TODAY).await?;
        let again = registry.register(&right, OFFICIAL, TODAY).await;
        assert!(matches!(again, Err(RegistryError::AlreadyRegistered(ref masked)) if masked == "079084******"), "{again:?}");
        assert_eq!(registry.count().await?, 1);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn every_change_is_a_version_readable_as_of_its_time() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let registry = registry(db)?;
        let id = PersonalId::parse("001090000042")?;
        let original = citizen(
            "001090000042",
            "Lê Văn Bình",
            date!(1990 - 07 - 20),
            Sex::Male,
        );
        registry.register(&original, OFFICIAL, TODAY).await?;
        let before_change = OffsetDateTime::now_utc();
        // Changes are stamped to the microsecond: the amendment must be stamped after it.
        while OffsetDateTime::now_utc() - before_change < time::Duration::microseconds(1) {
            tokio::task::yield_now().await;
        }

        let mut married = original.clone();
        married.marital_status = MaritalStatus::Married;
        married.spouse = Some(registry::record::Relative {
            full_name: "Phạm Thị Hoa".into(),
            personal_id: None,
            nationality: "VN".into(),
        });
        let marriage = Change {
            actor: "official:ubnd-phuong-1",
            basis: "Giấy chứng nhận kết hôn số 12/2026",
        };
        assert_eq!(registry.amend(id, 1, &married, marriage, TODAY).await?, 2);

        // A change based on a stale version is refused and changes nothing.
        let mut stale = original.clone();
        stale.phone = Some("0987654321".into());
        let conflict = registry.amend(id, 1, &stale, OFFICIAL, TODAY).await;
        assert!(
            matches!(
                conflict,
                Err(RegistryError::VersionConflict {
                    expected: 1,
                    current: 2
                })
            ),
            "{conflict:?}"
        );

        let current = registry.get(id).await?.ok_or("missing")?;
        assert_eq!(
            (current.version, current.record.marital_status),
            (2, MaritalStatus::Married)
        );
        let (officer, check) = (officer(), purpose("đối chiếu hồ sơ"));
        let then = registry
            .as_of(officer.reading(&check), id, before_change)
            .await?
            .ok_or("missing")?;
        assert_eq!((then.version, then.record), (1, original));

        let history = registry.history(officer.reading(&check), id).await?;
        assert_eq!(history.len(), 2);
        let last = history.last().ok_or("empty history")?;
        assert_eq!(last.fields, ["marital_status", "spouse"]);
        assert_eq!(
            (last.changed_by.as_str(), last.basis.as_str()),
            (
                "official:ubnd-phuong-1",
                "Giấy chứng nhận kết hôn số 12/2026"
            )
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn residence_changes_are_kept_with_effective_dates() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let registry = registry(db)?;
        let id = PersonalId::parse("031095000777")?;
        registry
            .register(
                &citizen(
                    "031095000777",
                    "Vũ Đức Anh",
                    date!(1995 - 01 - 09),
                    Sex::Male,
                ),
                OFFICIAL,
                TODAY,
            )
            .await?;
        let hanoi = Address {
            province: province("01"),
            detail: "5 Tràng Tiền, phường Hoàn Kiếm".into(),
        };
        let moved = ResidenceChange {
            kind: ResidenceKind::Temporary,
            address: Some(hanoi.clone()),
            effective_from: date!(2026 - 09 - 01),
        };
        let version = registry
            .change_residence(
                id,
                1,
                moved,
                Change {
                    actor: "official:ca-hn",
                    basis: "Luật Cư trú 2020, điều 27",
                },
                TODAY,
            )
            .await?;
        let ended = ResidenceChange {
            kind: ResidenceKind::TemporaryEnded,
            address: None,
            effective_from: date!(2026 - 11 - 01),
        };
        registry
            .change_residence(id, version, ended, OFFICIAL, TODAY)
            .await?;

        let record = registry.get(id).await?.ok_or("missing")?.record;
        assert_eq!(record.temporary_residence, None);
        assert_eq!(record.current_residence, record.permanent_residence);
        let (officer, check) = (officer(), purpose("đối chiếu cư trú"));
        let history = registry
            .residence_history(officer.reading(&check), id)
            .await?;
        let kinds: Vec<_> = history
            .iter()
            .map(|e| (e.kind.as_str(), e.effective_from.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("temporary", "2026-09-01"),
                ("temporary_ended", "2026-11-01")
            ]
        );

        let future = ResidenceChange {
            kind: ResidenceKind::Current,
            address: Some(hanoi),
            effective_from: date!(2027 - 01 - 01),
        };
        assert!(matches!(
            registry
                .change_residence(id, 3, future, OFFICIAL, TODAY)
                .await,
            Err(RegistryError::Invalid(_))
        ));
        assert_eq!(registry.get(id).await?.map(|v| v.version), Some(3));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn search_by_name_and_household() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let registry = registry(db)?;
        let mut head = citizen(
            "079080000001",
            "Nguyễn Văn Ánh",
            date!(1980 - 05 - 05),
            Sex::Male,
        );
        head.household = Some(Membership {
            household_id: "79-H1".into(),
            relationship_to_head: Relationship::Head,
        });
        let mut daughter = citizen(
            "079310000002",
            "Nguyễn Thị Ánh",
            date!(2010 - 06 - 06),
            Sex::Female,
        );
        daughter.household = Some(Membership {
            household_id: "79-H1".into(),
            relationship_to_head: Relationship::Child,
        });
        let namesake = citizen(
            "001080000003",
            "Nguyễn Văn Ánh",
            date!(1980 - 12 - 12),
            Sex::Male,
        );
        for record in [&head, &daughter, &namesake] {
            registry.register(record, OFFICIAL, TODAY).await?;
        }
        let (officer, check) = (officer(), purpose("xác minh hồ sơ"));
        let reader = officer.reading(&check);
        let both = registry
            .search_by_name(reader, "nguyen van anh", None, 10)
            .await?;
        assert_eq!(both.len(), 2);
        let one = registry
            .search_by_name(reader, "NGUYỄN  VĂN ÁNH", Some(date!(1980 - 12 - 12)), 10)
            .await?;
        assert_eq!(
            one.iter()
                .map(|s| s.personal_id.as_str())
                .collect::<Vec<_>>(),
            ["001080000003"]
        );
        let members = registry.household_members("79-H1").await?;
        assert_eq!(
            members
                .iter()
                .map(|s| s.full_name.as_str())
                .collect::<Vec<_>>(),
            ["Nguyễn Văn Ánh", "Nguyễn Thị Ánh"]
        );
        // The first search showed the head: that read is in the head's access log. (The
        // household listing above is the exchange's unlogged read; it logs in its own trail.)
        let views = registry.views_of(head.personal_id).await?;
        assert_eq!(
            views.iter().map(|v| v.agency.as_str()).collect::<Vec<_>>(),
            ["BCA"]
        );
        Ok(())
    })
    .await
}

fn options(batch_size: usize, atomic: bool) -> ImportOptions {
    ImportOptions {
        batch_size,
        atomic,
        actor: "import:test".into(),
        basis: "Chuyển đổi dữ liệu từ hệ thống cũ".into(),
    }
}

fn csv_of(records: &[CitizenRecord]) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    for record in records {
        csv.serialize(registry::flat::FlatCitizen::from_record(record))?;
    }
    Ok(String::from_utf8(csv.into_inner()?)?)
}

#[tokio::test]
async fn import_reports_every_rejected_row_and_commits_the_rest() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let registry = registry(db)?;
        let good: Vec<CitizenRecord> = (0..7)
            .map(|n| {
                citizen(
                    &format!("07908400{n:04}"),
                    "Đỗ Văn Hải",
                    date!(1984 - 01 - 01),
                    Sex::Male,
                )
            })
            .collect();
        let mut text = csv_of(&good)?;
        // Line 9: the ID says male, the row says female. Line 10: not enough fields.
        text.push_str(
            &csv_of(&[citizen(
                "079084009999",
                "Đỗ Văn Hải",
                date!(1984 - 01 - 01),
                Sex::Female,
            )])?
            .lines()
            .nth(1)
            .unwrap_or_default()
            .replace(",male,", ",female,"),
        );
        text.push_str("\n079084001111,Đỗ Văn Hải\n");
        let report = import(
            &registry,
            std::io::Cursor::new(text.clone().into_bytes()),
            Format::Csv,
            &options(3, false),
            TODAY,
        )
        .await?;
        assert_eq!(
            (report.rows, report.imported, report.batches_committed),
            (9, 7, 3)
        );
        let rejected: Vec<_> = report
            .rejected
            .iter()
            .map(|r| (r.line, r.reasons.first().map(|i| i.field.clone())))
            .collect();
        assert_eq!(
            rejected,
            [(9, Some("personal_id".into())), (10, Some("row".into()))]
        );
        assert_eq!(registry.count().await?, 7);

        // The same file again: every good row is already registered, nothing changes.
        let again = import(
            &registry,
            std::io::Cursor::new(text.clone().into_bytes()),
            Format::Csv,
            &options(3, false),
            TODAY,
        )
        .await?;
        assert_eq!((again.imported, again.rejected.len()), (0, 9));
        assert_eq!(registry.count().await?, 7);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_malformed_file_never_leaves_half_a_batch() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let registry = registry(db)?;
        let rows: Vec<CitizenRecord> = (0..5)
            .map(|n| {
                citizen(
                    &format!("07919000{n:04}"),
                    "Hồ Thị Mai",
                    date!(1990 - 03 - 03),
                    Sex::Female,
                )
            })
            .collect();
        let mut bytes = csv_of(&rows)?.into_bytes();
        bytes.extend_from_slice(b"079190009999,H\xff\xfe");
        bytes.extend_from_slice(",".repeat(30).as_bytes());
        bytes.push(b'\n');
        let report = import(
            &registry,
            std::io::Cursor::new(bytes),
            Format::Csv,
            &options(4, false),
            TODAY,
        )
        .await?;
        assert!(
            report
                .stopped
                .as_deref()
                .is_some_and(|s| s.contains("not valid UTF-8")),
            "{report:?}"
        );
        // The first batch of four landed; the fifth row shared a batch with the broken line.
        assert_eq!((report.imported, report.batches_committed), (4, 1));
        assert_eq!(registry.count().await?, 4);

        let duplicate = citizen(
            "001185000001",
            "Mai Văn Tú",
            date!(1985 - 05 - 05),
            Sex::Male,
        );
        let twice = csv_of(&[duplicate.clone(), duplicate])?.into_bytes();
        let atomic = import(
            &registry,
            std::io::Cursor::new(twice),
            Format::Csv,
            &options(10, true),
            TODAY,
        )
        .await?;
        assert!(atomic.rolled_back && atomic.imported == 0, "{atomic:?}");
        assert_eq!(
            registry.count().await?,
            4,
            "an atomic import with a rejected row leaves nothing"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn generated_population_is_valid_deterministic_and_round_trips() -> TestResult {
    for_each_backend(TABLES, |db| async move {
        let reference = Reference::load()?;
        let tables = Tables::load()?;
        let lists = Lists::load(&reference)?;
        let population: Vec<CitizenRecord> = Generator::new(&tables, &reference, 500, 7).collect();
        assert_eq!(population.len(), 500);
        for record in &population {
            let issues = record.check(&lists, TODAY);
            assert!(
                issues.is_empty(),
                "{} fails: {issues:?}",
                record.personal_id
            );
        }
        let again: Vec<CitizenRecord> = Generator::new(&tables, &reference, 500, 7).collect();
        assert_eq!(population, again, "same seed, same population");
        let other: Vec<CitizenRecord> = Generator::new(&tables, &reference, 500, 8).collect();
        assert_ne!(population, other);
        let heads = population
            .iter()
            .filter(|r| {
                r.household
                    .as_ref()
                    .is_some_and(|h| h.relationship_to_head == Relationship::Head)
            })
            .count();
        assert!(
            (100..400).contains(&heads),
            "{heads} households for 500 people"
        );

        let mut ndjson = Vec::new();
        write_population(&tables, &reference, 500, 7, &mut ndjson, Format::Ndjson)?;
        let registry = registry(db)?;
        let report = import(
            &registry,
            std::io::Cursor::new(ndjson),
            Format::Ndjson,
            &options(128, false),
            TODAY,
        )
        .await?;
        assert_eq!(
            (report.imported, report.rejected.len()),
            (500, 0),
            "{:?}",
            report.rejected.first()
        );

        let mut exported = Vec::new();
        assert_eq!(export(&registry, &mut exported, Format::Csv).await?, 500);
        let mut sorted = population.clone();
        sorted.sort_by_key(|r| r.personal_id);
        assert_eq!(
            String::from_utf8(exported)?,
            csv_of(&sorted)?,
            "export gives back what was imported"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn import_refuses_control_characters_and_overlong_fields_naming_each() -> TestResult {
    use registry::flat::FlatCitizen;
    for_each_backend(TABLES, |db| async move {
        let registry = registry(db)?;
        let row = |n: u32, change: &dyn Fn(&mut FlatCitizen)| {
            let mut flat = FlatCitizen::from_record(&citizen(
                &format!("07908400{n:04}"),
                "Đỗ Văn Hải",
                date!(1984 - 01 - 01),
                Sex::Male,
            ));
            change(&mut flat);
            flat
        };
        let rows = [
            row(1, &|f| f.full_name = Some("Đỗ Văn\0 Hải".into())),
            row(2, &|f| f.father_name = Some("Đỗ Văn\0 Cha".into())),
            row(3, &|f| f.other_names = Some("Tí\u{1}".into())),
            row(4, &|f| f.permanent_address = Some("ngõ 1 ".repeat(200_000))),
            row(5, &|f| f.occupation = Some("kỹ sư ".repeat(30))),
            row(6, &|f| {
                f.household_id = Some("H".repeat(40));
                f.relationship_to_head = Some("head".into());
            }),
            row(7, &|f| f.place_of_birth = Some("Hà Nội\r=1+1".into())),
            row(8, &|f| {
                f.email = Some(format!("{}@example.vn", "a".repeat(300)))
            }),
            row(9, &|_| {}),
        ];
        let mut csv = csv::Writer::from_writer(Vec::new());
        for flat in &rows {
            csv.serialize(flat)?;
        }
        let report = import(
            &registry,
            std::io::Cursor::new(csv.into_inner()?),
            Format::Csv,
            &options(100, false),
            TODAY,
        )
        .await?;
        let rejected: Vec<(u64, Vec<&str>)> = report
            .rejected
            .iter()
            .map(|r| (r.line, r.reasons.iter().map(|i| i.field.as_str()).collect()))
            .collect();
        assert_eq!(
            rejected,
            [
                (2, vec!["full_name"]),
                (3, vec!["father"]),
                (4, vec!["other_names"]),
                (5, vec!["permanent_residence"]),
                (6, vec!["occupation"]),
                (7, vec!["household"]),
                (8, vec!["place_of_birth"]),
                (9, vec!["email"]),
            ],
            "{:?}",
            report.rejected
        );
        assert_eq!((report.imported, registry.count().await?), (1, 1));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn export_neutralises_spreadsheet_formulas_and_import_reads_them_back() -> TestResult {
    for backend in store::testing::TestBackend::all() {
        let (source, target) = (backend.fresh().await?, backend.fresh().await?);
        let (from, to) = (
            registry(source.migrated(TABLES).await?)?,
            registry(target.migrated(TABLES).await?)?,
        );
        let mut record = citizen(
            "079084000042",
            "Đỗ Văn Hải",
            date!(1984 - 01 - 01),
            Sex::Male,
        );
        record.phone = Some("+84912345678".into());
        record.occupation = Some("=HYPERLINK(\"http://evil.example\",\"x\")".into());
        record.place_of_birth = Some("@SUM(1+1)".into());
        record.hometown = Some("'=already quoted".into());
        record.permanent_residence = Some(Address {
            province: province("79"),
            detail: "-2+3 Lê Lợi".into(),
        });
        record.other_names = vec!["'Tí".into()];
        from.register(&record, OFFICIAL, TODAY).await?;

        let mut exported = Vec::new();
        assert_eq!(export(&from, &mut exported, Format::Csv).await?, 1);
        let mut reader = csv::Reader::from_reader(exported.as_slice());
        let cells: Vec<String> = reader
            .records()
            .next()
            .ok_or("no row")??
            .iter()
            .map(str::to_owned)
            .collect();
        for cell in &cells {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a spreadsheet would run {cell:?}"
            );
        }
        assert!(cells.iter().any(|c| c == "'+84912345678"), "{cells:?}");
        assert!(cells.iter().any(|c| c == "''=already quoted"), "{cells:?}");
        assert!(cells.iter().any(|c| c == "'Tí"), "{cells:?}");

        let report = import(
            &to,
            std::io::Cursor::new(exported),
            Format::Csv,
            &options(10, false),
            TODAY,
        )
        .await?;
        assert_eq!(
            (report.imported, report.rejected.len()),
            (1, 0),
            "{report:?}"
        );
        let back = to.get(record.personal_id).await?.ok_or("not imported")?;
        assert_eq!(back.record, record, "on {}", backend.backend().name());
    }
    Ok(())
}
