//! The access log (`registry_record_views`): one row per citizen per read.

use kernel::PersonalId;
use store::bulk::{self, Value};
use store::{Db, Tx};

use crate::domain::access::ViewEntry;
use crate::error::RegistryError;

#[derive(sqlx::FromRow)]
struct ViewRow {
    viewer: String,
    agency: String,
    purpose: String,
    viewed_at: String,
}

impl TryFrom<ViewRow> for ViewEntry {
    type Error = RegistryError;

    fn try_from(row: ViewRow) -> Result<Self, RegistryError> {
        Ok(Self {
            viewer: row.viewer,
            agency: row.agency,
            purpose: row.purpose,
            viewed_at: store::timestamp::parse(&row.viewed_at)?,
        })
    }
}

/// Who viewed what: the same viewer, agency, purpose and time for every citizen listed.
pub(crate) struct View<'a> {
    pub viewer: &'a str,
    pub agency: &'a str,
    pub purpose: &'a str,
    pub at: &'a str,
}

/// One row per citizen in `personal_ids`, in one multi-row statement.
pub(crate) async fn insert(
    tx: &mut Tx,
    personal_ids: impl IntoIterator<Item = &str>,
    view: View<'_>,
) -> Result<(), RegistryError> {
    let rows = personal_ids
        .into_iter()
        .map(|id| {
            vec![
                Value::Text(id.to_owned()),
                Value::Text(view.viewer.to_owned()),
                Value::Text(view.agency.to_owned()),
                Value::Text(view.purpose.to_owned()),
                Value::Text(view.at.to_owned()),
            ]
        })
        .collect();
    bulk::insert_rows(
        tx,
        "registry_record_views",
        &["personal_id", "viewer", "agency", "purpose", "viewed_at"],
        rows,
        "",
    )
    .await?;
    Ok(())
}

/// A citizen's access log, newest first.
pub(crate) async fn of(db: &Db, personal_id: PersonalId) -> Result<Vec<ViewEntry>, RegistryError> {
    let rows = sqlx::query_as::<_, ViewRow>(
        "SELECT viewer, agency, purpose, viewed_at FROM registry_record_views WHERE personal_id = $1 ORDER BY viewed_at DESC, id DESC",
    )
    .bind(personal_id.to_string())
    .fetch_all(db.reader())
    .await?;
    rows.into_iter().map(ViewEntry::try_from).collect()
}
