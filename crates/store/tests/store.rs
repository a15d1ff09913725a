//! Contract tests for the store, run on every backend the environment offers.

use serde_json::json;
use store::events::{self, Consumer, DomainEvent};
use store::testing::{TestResult, for_each_backend};

/// An event of the test's own, so the outbox is tested apart from the kinds in `kernel`.
#[derive(serde::Serialize)]
#[serde(tag = "kind", content = "payload")]
enum TestEvent {
    #[serde(rename = "test.happened")]
    Happened { id: String },
}

impl DomainEvent for TestEvent {
    fn stream(&self) -> &'static str {
        "test"
    }
}

fn event(id: &str) -> TestEvent {
    TestEvent::Happened { id: id.into() }
}

#[tokio::test]
async fn a_fresh_database_is_ready_only_after_migration() -> TestResult {
    for backend in store::testing::TestBackend::all() {
        let fresh = backend.fresh().await?;
        let db = store::Db::connect(&fresh.target, &store::DbOptions::default()).await?;
        assert!(
            !db.is_ready(&[]).await?,
            "{:?} unmigrated",
            backend.backend()
        );
        db.migrate(&[]).await?;
        assert!(db.is_ready(&[]).await?);
        db.migrate(&[]).await?; // idempotent
        db.close().await;
    }
    Ok(())
}

#[tokio::test]
async fn events_commit_with_their_transaction_or_not_at_all() -> TestResult {
    for_each_backend(&[], |db| async move {
        let mut tx = db.begin().await?;
        events::append(&mut tx, "kept", &event("kept")).await?;
        tx.commit().await?;

        let mut tx = db.begin().await?;
        events::append(&mut tx, "rolled-back", &event("rolled-back")).await?;
        tx.rollback().await?;

        let stored = events::read_after(&db, 0, 10).await?;
        let ids: Vec<_> = stored.iter().map(|e| e.stream_id.as_str()).collect();
        assert_eq!(ids, ["kept"]);
        assert_eq!(
            stored.first().map(|e| e.payload.clone()),
            Some(json!({ "id": "kept" }))
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_consumer_resumes_after_its_last_acknowledgement() -> TestResult {
    for_each_backend(&[], |db| async move {
        let mut tx = db.begin().await?;
        for id in ["a", "b", "c"] {
            events::append(&mut tx, id, &event(id)).await?;
        }
        tx.commit().await?;

        let consumer = Consumer::new("indicators");
        let first = consumer.next_batch(&db, 2).await?;
        assert_eq!(
            first
                .iter()
                .map(|e| e.stream_id.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        let last_position = first.last().map(|e| e.position).ok_or("empty batch")?;
        consumer.acknowledge(&db, last_position).await?;

        // A restarted consumer (a new value with the same name) continues after "b".
        let restarted = Consumer::new("indicators");
        let rest = restarted.next_batch(&db, 10).await?;
        assert_eq!(
            rest.iter()
                .map(|e| e.stream_id.as_str())
                .collect::<Vec<_>>(),
            ["c"]
        );

        // A late duplicate acknowledgement does not move the cursor back.
        let c_position = rest.first().map(|e| e.position).ok_or("empty batch")?;
        restarted.acknowledge(&db, c_position).await?;
        restarted.acknowledge(&db, last_position).await?;
        assert_eq!(restarted.position(&db).await?, c_position);
        assert!(Consumer::new("other").next_batch(&db, 10).await?.len() == 3);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn concurrent_writers_all_land() -> TestResult {
    for_each_backend(&[], |db| async move {
        let mut writers = Vec::new();
        for n in 0..20 {
            let db = db.clone();
            writers.push(tokio::spawn(async move {
                let mut tx = db.begin().await?;
                let id = format!("w{n}");
                events::append(&mut tx, &id, &event(&id)).await?;
                tx.commit().await
            }));
        }
        for writer in writers {
            writer.await??;
        }
        let stored = events::read_after(&db, 0, 100).await?;
        assert_eq!(stored.len(), 20);
        let positions: Vec<i64> = stored.iter().map(|e| e.position).collect();
        let mut sorted = positions.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(positions, sorted, "positions are unique and read in order");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn bulk_inserts_report_the_rows_they_inserted() -> TestResult {
    use store::bulk::{Value, insert_rows};
    for_each_backend(&[], |db| async move {
        let mut tx = db.begin().await?;
        let rows = |ids: &[i64]| {
            ids.iter()
                .map(|&id| {
                    vec![
                        Value::Text(format!("c{id}")),
                        Value::Int(id),
                        Value::Text("t".into()),
                    ]
                })
                .collect::<Vec<_>>()
        };
        let suffix = "ON CONFLICT (consumer) DO NOTHING RETURNING consumer";
        // 5,000 rows span two statements at three columns each.
        let first = insert_rows(
            &mut tx,
            "event_cursors",
            &["consumer", "position", "updated_at"],
            rows(&(0..5_000).collect::<Vec<_>>()),
            suffix,
        )
        .await?;
        assert_eq!(first.len(), 5_000);
        let second = insert_rows(
            &mut tx,
            "event_cursors",
            &["consumer", "position", "updated_at"],
            rows(&[4_999, 5_000, 1]),
            suffix,
        )
        .await?;
        assert_eq!(second, ["c5000"], "only the new row is returned");
        tx.commit().await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM event_cursors")
            .fetch_one(db.reader())
            .await?;
        assert_eq!(count, 5_001);
        Ok(())
    })
    .await
}
