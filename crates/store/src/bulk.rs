//! Multi-row `INSERT … VALUES (…), (…)` in chunks, the fastest portable way to load many
//! rows through one driver on both backends (one statement per chunk instead of per row).

use crate::{Backend, Error, Tx};

/// One bound value. The portable column types (ADR 0002) need no more.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    OptionalText(Option<String>),
    Int(i64),
}

/// Both backends allow far more; this keeps statements small enough to prepare quickly.
const MAX_PARAMETERS: usize = 8_000;

/// Inserts `rows` into `table (columns)` with `suffix` appended to every statement
/// (`ON CONFLICT … DO NOTHING RETURNING …`). Returns the first column of every row the
/// statements return, in order; empty unless the suffix has `RETURNING`.
pub async fn insert_rows(
    tx: &mut Tx,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
    suffix: &str,
) -> Result<Vec<String>, Error> {
    let per_statement = (MAX_PARAMETERS / columns.len().max(1)).max(1);
    let mut returned = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Value>> = rows.by_ref().take(per_statement).collect();
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut parameter = 0;
        for (index, _) in chunk.iter().enumerate() {
            sql.push_str(if index == 0 { "(" } else { ", (" });
            for column in 0..columns.len() {
                parameter += 1;
                if column > 0 {
                    sql.push_str(", ");
                }
                // SQLite finds a named parameter by scanning the list of names, which makes
                // binding thousands of `$N` quadratic; anonymous `?` are bound by position.
                match tx.backend() {
                    Backend::Sqlite => sql.push('?'),
                    Backend::Postgres => {
                        sql.push('$');
                        sql.push_str(&parameter.to_string());
                    }
                }
            }
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(suffix);
        let mut query = sqlx::query(&sql);
        for value in chunk.into_iter().flatten() {
            query = match value {
                Value::Text(text) => query.bind(text),
                Value::OptionalText(text) => query.bind(text),
                Value::Int(number) => query.bind(number),
            };
        }
        if suffix.contains("RETURNING") {
            let mut keys: Vec<String> = query
                .fetch_all(tx.conn())
                .await?
                .iter()
                .map(|row| sqlx::Row::try_get(row, 0))
                .collect::<Result<_, _>>()?;
            returned.append(&mut keys);
        } else {
            query.execute(tx.conn()).await?;
        }
    }
    Ok(returned)
}
