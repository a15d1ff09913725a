//! The migration folders of every crate (`crates/*/migrations/{sqlite,postgres}`): the two
//! backends hold the same files with the same statements, and the version numbers form one
//! sequence across crates.
//!
//! Statements are compared after removing comments and collapsing whitespace, and after
//! rewriting the SQLite spelling of the differences in [`DIALECT`] and of a table rebuild
//! into the PostgreSQL one. Anything else that differs fails, naming the file and the lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

type Failure = Box<dyn std::error::Error>;

/// Where SQLite must spell a column differently, SQLite's text and PostgreSQL's, applied to
/// each SQLite line in this order.
const DIALECT: [(&str, &str); 3] = [
    // An auto-numbered key: SQLite's AUTOINCREMENT never reuses a deleted row's number, like
    // an identity column.
    (
        "INTEGER PRIMARY KEY AUTOINCREMENT",
        "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    ),
    // SQLite makes exactly `INTEGER PRIMARY KEY` the rowid, its cheapest key.
    ("INTEGER PRIMARY KEY", "BIGINT PRIMARY KEY"),
    // One B-tree instead of two for small tables keyed by text; PostgreSQL has no such choice.
    (") WITHOUT ROWID", ")"),
];

/// A statement of a migration file: its lines, each with its number in the file.
type Statement = Vec<(usize, String)>;

/// The statements of `sql`, comments removed, whitespace collapsed, empty lines dropped.
fn statements(sql: &str) -> Vec<Statement> {
    let mut all = Vec::new();
    let mut current = Statement::new();
    for (index, line) in sql.lines().enumerate() {
        let code = line.split("--").next().unwrap_or_default();
        let mut pieces = code.split(';').peekable();
        while let Some(piece) = pieces.next() {
            let text = piece.split_whitespace().collect::<Vec<_>>().join(" ");
            if !text.is_empty() {
                current.push((index + 1, text));
            }
            // Every piece but the last ended at a semicolon.
            if pieces.peek().is_some() && !current.is_empty() {
                all.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.is_empty() {
        all.push(current);
    }
    all
}

fn text(statement: &Statement) -> String {
    statement
        .iter()
        .map(|(_, line)| line.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// SQLite cannot drop a constraint, so it copies the table into a new one without it,
/// swaps the two and makes the indexes again; PostgreSQL says `ALTER TABLE t DROP CONSTRAINT`.
/// Both become one statement, `ALTER TABLE t DROP CONSTRAINT`, at the line the change begins.
fn rebuilds_as_dropped_constraints(statements: Vec<Statement>, sqlite: bool) -> Vec<Statement> {
    let mut out: Vec<Statement> = Vec::new();
    let mut rest = statements.into_iter().peekable();
    while let Some(statement) = rest.next() {
        let line = statement.first().map_or(0, |(line, _)| *line);
        let whole = text(&statement);
        if !sqlite {
            match whole.split_once(" DROP CONSTRAINT ") {
                Some((table, _)) if table.starts_with("ALTER TABLE ") => {
                    out.push(vec![(line, format!("{table} DROP CONSTRAINT"))]);
                }
                _ => out.push(statement),
            }
            continue;
        }
        let rebuilt = whole
            .strip_prefix("CREATE TABLE ")
            .and_then(|rest| rest.split_once("_new ("))
            .map(|(table, _)| table.to_owned());
        let Some(table) = rebuilt else {
            out.push(statement);
            continue;
        };
        let swap = [
            format!("INSERT INTO {table}_new SELECT "),
            format!("DROP TABLE {table}"),
            format!("ALTER TABLE {table}_new RENAME TO {table}"),
        ];
        let mut followed = true;
        for expected in &swap {
            match rest.peek().map(text) {
                Some(next) if next.starts_with(expected.as_str()) => {
                    rest.next();
                }
                _ => followed = false,
            }
        }
        if !followed {
            out.push(statement);
            continue;
        }
        let index_on_table = format!(" ON {table} (");
        while rest
            .peek()
            .map(text)
            .is_some_and(|next| next.starts_with("CREATE INDEX ") && next.contains(&index_on_table))
        {
            rest.next();
        }
        out.push(vec![(line, format!("ALTER TABLE {table} DROP CONSTRAINT"))]);
    }
    out
}

fn normalised(sql: &str, sqlite: bool) -> Vec<Statement> {
    let mut statements = statements(sql);
    if sqlite {
        for (_, line) in statements.iter_mut().flatten() {
            for (sqlite_text, postgres_text) in DIALECT {
                *line = line.replace(sqlite_text, postgres_text);
            }
        }
    }
    rebuilds_as_dropped_constraints(statements, sqlite)
}

/// The first difference between a SQLite and a PostgreSQL migration, named by `file` and
/// the line in each.
fn compare(file: &str, sqlite: &str, postgres: &str) -> Result<(), String> {
    let (sqlite, postgres) = (normalised(sqlite, true), normalised(postgres, false));
    let lines = |statement: &Statement| statement.clone().into_iter();
    for index in 0..sqlite.len().max(postgres.len()) {
        let (left, right) = (sqlite.get(index), postgres.get(index));
        let mut left_lines = left.map(lines).into_iter().flatten();
        let mut right_lines = right.map(lines).into_iter().flatten();
        loop {
            match (left_lines.next(), right_lines.next()) {
                (None, None) => break,
                (Some((at, sqlite)), Some((pg_at, postgres))) if sqlite != postgres => {
                    return Err(format!(
                        "{file}: sqlite line {at} `{sqlite}` differs from postgres line {pg_at} `{postgres}`"
                    ));
                }
                (Some(_), Some(_)) => {}
                (Some((at, sqlite)), None) => {
                    return Err(format!(
                        "{file}: sqlite line {at} `{sqlite}` has no counterpart in postgres"
                    ));
                }
                (None, Some((at, postgres))) => {
                    return Err(format!(
                        "{file}: postgres line {at} `{postgres}` has no counterpart in sqlite"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Every crate with a `migrations` folder, and that folder.
fn migration_folders() -> Result<Vec<(String, PathBuf)>, Failure> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("the store crate has no parent folder")?;
    let mut folders = Vec::new();
    for entry in std::fs::read_dir(crates)? {
        let folder = entry?.path().join("migrations");
        if folder.is_dir() {
            let name = folder
                .parent()
                .and_then(Path::file_name)
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            folders.push((name, folder));
        }
    }
    folders.sort();
    Ok(folders)
}

fn file_names(folder: &Path) -> Result<Vec<String>, Failure> {
    let mut names = std::fs::read_dir(folder)?
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<Vec<_>, _>>()?;
    names.sort();
    Ok(names)
}

#[test]
fn both_backends_hold_the_same_statements() -> Result<(), Failure> {
    let folders = migration_folders()?;
    assert!(folders.iter().any(|(name, _)| name == "store"));
    let mut problems = Vec::new();
    for (name, folder) in &folders {
        let sqlite = file_names(&folder.join("sqlite"))?;
        assert!(!sqlite.is_empty(), "{name}/migrations/sqlite is empty");
        assert_eq!(
            sqlite,
            file_names(&folder.join("postgres"))?,
            "{name}: migrations/sqlite and migrations/postgres must hold the same file names"
        );
        for file in &sqlite {
            let read = |backend: &str| std::fs::read_to_string(folder.join(backend).join(file));
            if let Err(problem) = compare(
                &format!("crates/{name}/migrations/*/{file}"),
                &read("sqlite")?,
                &read("postgres")?,
            ) {
                problems.push(problem);
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

#[test]
fn numbers_are_one_sequence_across_crates() -> Result<(), Failure> {
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, folder) in migration_folders()? {
        for file in file_names(&folder.join("sqlite"))? {
            let number = file.split('_').next().unwrap_or_default().to_owned();
            assert!(
                number.len() == 4 && number.bytes().all(|b| b.is_ascii_digit()),
                "crates/{name}/migrations/sqlite/{file} must be named NNNN_<what>.sql"
            );
            owners
                .entry(number)
                .or_default()
                .push(format!("crates/{name}/{file}"));
        }
    }
    let shared: Vec<String> = owners
        .values()
        .filter(|files| files.len() > 1)
        .map(|files| files.join(" and "))
        .collect();
    assert!(
        shared.is_empty(),
        "one number, several migrations: {shared:?}"
    );
    Ok(())
}

#[test]
fn a_difference_outside_the_list_is_named_by_file_and_line() {
    let sqlite = "-- comment\nCREATE TABLE t (\n    id INTEGER PRIMARY KEY AUTOINCREMENT,\n    n  INTEGER NOT NULL\n) WITHOUT ROWID;\n";
    let postgres = "CREATE TABLE t (\n    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    n  BIGINT NOT NULL\n);\n";
    assert_eq!(
        compare("0099_t.sql", sqlite, postgres),
        Err(
            "0099_t.sql: sqlite line 4 `n INTEGER NOT NULL` differs from postgres line 3 `n BIGINT NOT NULL`"
                .to_owned()
        )
    );
    let extra = format!("{postgres}CREATE INDEX t_n ON t (n);\n");
    assert_eq!(
        compare(
            "0099_t.sql",
            &sqlite.replace("INTEGER NOT", "BIGINT NOT"),
            &extra
        ),
        Err(
            "0099_t.sql: postgres line 5 `CREATE INDEX t_n ON t (n)` has no counterpart in sqlite"
                .to_owned()
        )
    );
}

#[test]
fn a_table_rebuild_matches_a_dropped_constraint_only_when_complete() {
    let postgres = "ALTER TABLE t DROP CONSTRAINT t_fkey;\n";
    let rebuild = "CREATE TABLE t_new (id TEXT PRIMARY KEY);\nINSERT INTO t_new SELECT id FROM t;\nDROP TABLE t;\nALTER TABLE t_new RENAME TO t;\nCREATE INDEX t_id ON t (id);\n";
    assert_eq!(compare("0099_t.sql", rebuild, postgres), Ok(()));
    let without_swap = rebuild.replace("ALTER TABLE t_new RENAME TO t;\n", "");
    assert!(compare("0099_t.sql", &without_swap, postgres).is_err());
}
