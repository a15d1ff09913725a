//! Client-assertion ids already used (`oidc_assertion_ids`), kept until their assertion
//! would be refused as expired.

use store::Tx;

use crate::error::IdentityError;

/// Forgets the ids whose `forget_at` is before `now` (Unix seconds).
pub(crate) async fn forget_before(tx: &mut Tx, now: i64) -> Result<(), IdentityError> {
    sqlx::query("DELETE FROM oidc_assertion_ids WHERE forget_at < $1")
        .bind(now)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Records the id; false when it was already recorded.
pub(crate) async fn record(
    tx: &mut Tx,
    client_id: &str,
    jti: &str,
    forget_at: i64,
) -> Result<bool, IdentityError> {
    let recorded = sqlx::query(
        "INSERT INTO oidc_assertion_ids (client_id, jti, forget_at) VALUES ($1, $2, $3) \
         ON CONFLICT (client_id, jti) DO NOTHING",
    )
    .bind(client_id)
    .bind(jti)
    .bind(forget_at)
    .execute(tx.conn())
    .await?;
    Ok(recorded.rows_affected() == 1)
}
