//! A daemon on SQLite notices texts queued by another process (`textgate send` beside a
//! running `textgate run`): its outbox signal fires although the other process shares no
//! memory with it. Two `Store`s opened on one file share no in-process signals, so they
//! stand in for two processes; one test also uses a real second process
//! (`store-test-worker enqueue`). PostgreSQL has LISTEN/NOTIFY for this and is not tested
//! here.

use std::process::Stdio;
use std::time::Duration as StdDuration;

use chrono::Duration;
use textgate_store::{NewOutbound, OutboundOrigin, Priority, Store};
use textgate_testkit::FreshSqlite;
use tokio::process::Command;

const GATEWAY: &str = "library";
/// Far longer than the store's polling interval, far shorter than the outbox worker's
/// longest sleep (a day): a wake-up within it is the daemon noticing the text "at once".
const WAKE_TIMEOUT: StdDuration = StdDuration::from_secs(5);

fn campaign_text(recipient: &str) -> NewOutbound {
    NewOutbound {
        gateway: GATEWAY.to_string(),
        recipient: recipient.to_string(),
        origin: OutboundOrigin::Campaign { campaign_id: 1 },
        body: "Drill: please leave the building.".to_string(),
        priority: Priority::ALERT,
        not_before: None,
    }
}

#[tokio::test]
async fn a_text_queued_through_another_store_on_the_file_wakes_the_outbox() {
    let database = FreshSqlite::create("textgate.db").expect("temporary directory");
    let daemon = Store::open(database.url()).await.expect("daemon's store");
    let sender = Store::open(database.url()).await.expect("sender's store");
    // Subscribe first, then look, as the outbox worker does.
    let mut signal = daemon.outbound_signal(GATEWAY).await.expect("subscribe");
    assert!(daemon
        .lease_due(GATEWAY, "worker", 10, Duration::seconds(60))
        .await
        .expect("lease")
        .is_empty());

    let queued = sender
        .enqueue_outbound(&campaign_text("+15550000001"))
        .await
        .expect("enqueue")
        .id();

    tokio::time::timeout(WAKE_TIMEOUT, signal.notified())
        .await
        .expect("the daemon's outbox signal fires for a text queued by another store")
        .expect("signal");
    let leased = daemon
        .lease_due(GATEWAY, "worker", 10, Duration::seconds(60))
        .await
        .expect("lease");
    assert_eq!(
        leased.iter().map(|l| l.text.id).collect::<Vec<_>>(),
        [queued]
    );
    sender.close().await;
    daemon.close().await;
}

#[tokio::test]
async fn a_text_queued_by_another_process_wakes_the_outbox() {
    let database = FreshSqlite::create("textgate.db").expect("temporary directory");
    let daemon = Store::open(database.url()).await.expect("daemon's store");
    let mut signal = daemon.outbound_signal(GATEWAY).await.expect("subscribe");

    let output = Command::new(env!("CARGO_BIN_EXE_store-test-worker"))
        .args(["enqueue", database.url(), GATEWAY, "+15550000002"])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run store-test-worker");
    assert!(
        output.status.success(),
        "store-test-worker enqueue failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let queued: i64 = stdout
        .trim()
        .strip_prefix("queued ")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not `queued ID`: {stdout:?}"));

    tokio::time::timeout(WAKE_TIMEOUT, signal.notified())
        .await
        .expect("the daemon's outbox signal fires for a text queued by another process")
        .expect("signal");
    let leased = daemon
        .lease_due(GATEWAY, "worker", 10, Duration::seconds(60))
        .await
        .expect("lease");
    assert_eq!(
        leased.iter().map(|l| l.text.id).collect::<Vec<_>>(),
        [queued]
    );
    daemon.close().await;
}
