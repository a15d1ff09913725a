//! The runner gathers every context's migrations (`server::MIGRATIONS`) into what the single
//! folder in crates/store applied before issue 12, so existing databases keep working.

use store::Backend;
use store::testing::{TestBackend, TestResult};

/// Version, description and SHA-384 checksum (SQLite, PostgreSQL) of every migration as the
/// old layout recorded it in `_sqlx_migrations`. sqlx refuses to start on a database whose
/// recorded checksum differs from the binary's, so these must never change.
const RECORDED_BY_THE_OLD_LAYOUT: [(i64, &str, &str, &str); 15] = [
    (
        1,
        "events",
        "60b705bdba6b1b22210e29ec35d5293ed0ae53ab9e056606d407f7b1468ef78f75318bddbd85a5af7328487bc7f79756",
        "fcbf7ed926babf384e461b39e8d1812368d0726a8ca0123cdacfff2dd138dac436c3127a1a709bf3f1fec03306650ea6",
    ),
    (
        2,
        "registry",
        "87684cf07e494a528f422ff52677ca149e6b5464392ae91de375fae1bf40467ee5db8303b248e12b61e113379e394222",
        "5f159e8aae8fdefb16529799c53d12037cc8ad91bc34188f7ed5bd90ce14f2f21946704da4eee5295a5ed64c44f53ab7",
    ),
    (
        3,
        "identity",
        "3b04491741186de971dceeebb633807133ccd8ea03b377f9978e1b2cb625850314dea07d65c1409e486c3ff5d0b96189",
        "3b04491741186de971dceeebb633807133ccd8ea03b377f9978e1b2cb625850314dea07d65c1409e486c3ff5d0b96189",
    ),
    (
        4,
        "oidc",
        "e88a561382be9c96d78da0d95dbdb3f9e43ef0df7a40647d9214027e65906b58e5410e50c8940da46d035541cadd31a8",
        "e88a561382be9c96d78da0d95dbdb3f9e43ef0df7a40647d9214027e65906b58e5410e50c8940da46d035541cadd31a8",
    ),
    (
        5,
        "machine clients",
        "a929393af94e60b2c1341a346b8838bff650d9a8c73237f0c30497f09ac5c5a4ea4034e22066c3f4a94a6777cd58864a",
        "a929393af94e60b2c1341a346b8838bff650d9a8c73237f0c30497f09ac5c5a4ea4034e22066c3f4a94a6777cd58864a",
    ),
    (
        6,
        "identity verifications",
        "7486a60c4accc6e67c685856e28b142d8b5edbdbb216af856acd4ce1fb26d08aa4a90290af6a1d8986ffdb5ef617a8dd",
        "7486a60c4accc6e67c685856e28b142d8b5edbdbb216af856acd4ce1fb26d08aa4a90290af6a1d8986ffdb5ef617a8dd",
    ),
    (
        7,
        "audit",
        "a7462d012c1a8a2d485351defd829b504299fc86ad9912ac27251f1b3b534381c527590264202f6ac8a61a9bd1ddfef5",
        "9302c5acfec22cd590b7537740e03cf9f4a417ce1c03ab502889e3df03eda5d3876fd04fc916357fe882bbf714296f82",
    ),
    (
        8,
        "exchange",
        "b362870ea1d8e6734962860cac5530f948156aa2b3bf1920ecf10a289df4cb10cd497ffac7967a5223850bd7b1437a52",
        "b362870ea1d8e6734962860cac5530f948156aa2b3bf1920ecf10a289df4cb10cd497ffac7967a5223850bd7b1437a52",
    ),
    (
        9,
        "passkeys",
        "b2db849ef58cccfb63d175bbf86f36f73b61b3d4992c3198a0fa3208bbd406cb231b750b7334e342519b8a2dcbca87cb",
        "b2db849ef58cccfb63d175bbf86f36f73b61b3d4992c3198a0fa3208bbd406cb231b750b7334e342519b8a2dcbca87cb",
    ),
    (
        10,
        "assistance",
        "7b8cf31da29919da753523f5e66f0bc1c256d18706830ff153f50a07dcffd0761bdce8c71d659132e76a9408fcf103e4",
        "7b8cf31da29919da753523f5e66f0bc1c256d18706830ff153f50a07dcffd0761bdce8c71d659132e76a9408fcf103e4",
    ),
    (
        11,
        "exchange certificates",
        "530bb2e3fdfcedfbc6360f4fb847c8bd814258bb82266a0cdb8a4c5d0ce30b327a80a2e0c4f00e611bcfa0e84b5c656a",
        "530bb2e3fdfcedfbc6360f4fb847c8bd814258bb82266a0cdb8a4c5d0ce30b327a80a2e0c4f00e611bcfa0e84b5c656a",
    ),
    (
        12,
        "sign in hardening",
        "3b91e46d96a1400a08097133dd5052151ff1b018736e859af80828ff24e5d501105a2c665cd548ac92e752ad227c4b27",
        "3b91e46d96a1400a08097133dd5052151ff1b018736e859af80828ff24e5d501105a2c665cd548ac92e752ad227c4b27",
    ),
    (
        13,
        "oidc hardening",
        "040f60ab6ca5c8245f8531c29670176908f03b6ff27c6ff9ee0498a013be7f39640c4d8adda10bb1b6a6d8364a70746c",
        "040f60ab6ca5c8245f8531c29670176908f03b6ff27c6ff9ee0498a013be7f39640c4d8adda10bb1b6a6d8364a70746c",
    ),
    (
        14,
        "exchange member clients",
        "cbccaafaa749dd591690a93f7ebececd6d99489d72cc1d8f49a23be845cc81cafabeba8b94cb503b790f46a8aeae6837",
        "5e41ed8eb506af6a749ea7f7aaaff3ed43d1b8dac09e500741288c66c0e812177ea9c2a6350a41369e85057d02b763c6",
    ),
    (
        16,
        "rs256 id tokens",
        "c9bc6a6bad204a4596f14d4d0deccf6587f3423ac31c595677b87cce91d9b428248cf63cd4594ff017a4bcbed32e701c",
        "c9bc6a6bad204a4596f14d4d0deccf6587f3423ac31c595677b87cce91d9b428248cf63cd4594ff017a4bcbed32e701c",
    ),
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[tokio::test]
async fn a_database_migrated_by_the_old_layout_is_accepted() -> TestResult {
    for backend in TestBackend::all() {
        let fresh = backend.fresh().await?;
        let db = fresh.migrated(server::MIGRATIONS).await?;
        let applied: Vec<(i64, String, Vec<u8>)> =
            sqlx::query_as("SELECT version, description, checksum FROM _sqlx_migrations")
                .fetch_all(db.reader())
                .await?;
        for (version, description, sqlite, postgres) in RECORDED_BY_THE_OLD_LAYOUT {
            let recorded = match backend.backend() {
                Backend::Sqlite => sqlite,
                Backend::Postgres => postgres,
            };
            let found = applied
                .iter()
                .find(|(applied, _, _)| *applied == version)
                .map(|(_, description, checksum)| (description.as_str(), hex(checksum)));
            assert_eq!(
                found,
                Some((description, recorded.to_owned())),
                "migration {version} on {}",
                backend.backend().name()
            );
        }
        // What sqlx checks on an old database: every recorded version is known, with its
        // checksum. Running again over the records just compared is that check.
        db.migrate(server::MIGRATIONS).await?;
        assert!(db.is_ready(server::MIGRATIONS).await?);
        db.close().await;
    }
    Ok(())
}

#[tokio::test]
async fn readiness_needs_every_context_migrated() -> TestResult {
    for backend in TestBackend::all() {
        let fresh = backend.fresh().await?;
        let db = fresh.migrated(&[&registry::MIGRATIONS]).await?;
        assert!(db.is_ready(&[&registry::MIGRATIONS]).await?);
        assert!(!db.is_ready(server::MIGRATIONS).await?);
        db.migrate(server::MIGRATIONS).await?;
        assert!(db.is_ready(server::MIGRATIONS).await?);
        db.close().await;
    }
    Ok(())
}
