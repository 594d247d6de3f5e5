//! Crash tests: a worker process storing texts and sending replies is killed with SIGKILL
//! at random points, again and again. Afterwards every text is stored exactly once, every
//! reply is enqueued exactly once, the counters agree with the rows, and every text a
//! killed worker held under a lease is handed out again once the lease expires.

mod support;

use std::process::Stdio;
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use rand::Rng;
use sqlx::{Connection, Row};
use support::Database;
use textgate_store::{BackendKind, ManualClock, SentPart, Store};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const GATEWAY: &str = "crashy";
const TEXTS: u32 = 250;
const KILLS: u32 = 250;
const READY_TIMEOUT: StdDuration = StdDuration::from_secs(60);

fn worker(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_store-test-worker"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start store-test-worker")
}

type Lines = tokio::io::Lines<BufReader<tokio::process::ChildStdout>>;

/// Waits for the worker to print `line`; false if its output ended first.
async fn wait_for_line(lines: &mut Lines, line: &str) -> bool {
    loop {
        match tokio::time::timeout(READY_TIMEOUT, lines.next_line()).await {
            Ok(Ok(Some(l))) if l == line => return true,
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) => return false,
            Ok(Err(e)) => panic!("reading worker output: {e}"),
            Err(_) => panic!("worker did not say {line:?} within {READY_TIMEOUT:?}"),
        }
    }
}

async fn crash_and_recover(kind: BackendKind) {
    let database = Database::create(kind).await;
    let url = database.url().to_string();
    let count = TEXTS.to_string();
    let mut rng = rand::thread_rng();
    let mut kills = 0;
    let mut finished_runs = 0;
    while kills < KILLS {
        let start = rng.gen_range(0..TEXTS).to_string();
        let mut child = worker(&["work", &url, GATEWAY, &count, &start]);
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        // One kill in ten lands before the worker is ready (connecting, migrating).
        if rng.gen_ratio(9, 10) {
            assert!(
                wait_for_line(&mut lines, "ready").await,
                "worker exited before ready"
            );
            // The random delay is the point of the test: it decides where the kill lands.
            let delay = if rng.gen_ratio(1, 10) {
                rng.gen_range(0..400)
            } else {
                rng.gen_range(0..60)
            };
            tokio::time::sleep(StdDuration::from_millis(delay)).await;
        }
        child.start_kill().expect("SIGKILL the worker");
        let status = child.wait().await.expect("reap the worker");
        if status.success() {
            finished_runs += 1;
        } else {
            kills += 1;
        }
    }

    // One last run that is not killed: it must finish its work on top of the wreckage.
    let mut child = worker(&["work", &url, GATEWAY, &count, "0"]);
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    assert!(
        wait_for_line(&mut lines, "done").await,
        "final worker did not finish"
    );
    assert!(child.wait().await.expect("reap").success());

    verify(&url, kind).await;
    database.drop_database().await;
    eprintln!("{kind:?}: {kills} kills, {finished_runs} runs finished before their kill");
}

#[derive(Debug, PartialEq, Eq)]
struct Counts {
    inbound: i64,
    distinct_bodies: i64,
    pdus: i64,
    pending_parts: i64,
    counted_in: i64,
    counted_out: i64,
    outbound: i64,
    distinct_replies: i64,
    unsent: i64,
}

/// Runs the counting query on a plain connection of either back end.
macro_rules! count_rows {
    ($connection:ty, $url:expr) => {{
        let mut conn = <$connection>::connect($url).await.unwrap();
        let row = sqlx::query(
            "SELECT
                (SELECT COUNT(*) FROM inbound) AS inbound,
                (SELECT COUNT(DISTINCT body) FROM inbound) AS distinct_bodies,
                (SELECT COUNT(*) FROM inbound_parts) AS pdus,
                (SELECT COUNT(*) FROM pending_parts) AS pending_parts,
                (SELECT CAST(SUM(texts_in) AS BIGINT) FROM conversations) AS counted_in,
                (SELECT CAST(SUM(texts_out) AS BIGINT) FROM conversations) AS counted_out,
                (SELECT COUNT(*) FROM outbound) AS outbound,
                (SELECT COUNT(DISTINCT xmpp_id) FROM outbound) AS distinct_replies,
                (SELECT COUNT(*) FROM outbound WHERE state <> 'sent') AS unsent",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        let get = |name: &str| row.get::<i64, _>(name);
        let counts = Counts {
            inbound: get("inbound"),
            distinct_bodies: get("distinct_bodies"),
            pdus: get("pdus"),
            pending_parts: get("pending_parts"),
            counted_in: get("counted_in"),
            counted_out: get("counted_out"),
            outbound: get("outbound"),
            distinct_replies: get("distinct_replies"),
            unsent: get("unsent"),
        };
        conn.close().await.unwrap();
        counts
    }};
}

async fn count(url: &str, kind: BackendKind) -> Counts {
    match kind {
        BackendKind::Postgres => count_rows!(sqlx::PgConnection, url),
        BackendKind::Sqlite => count_rows!(sqlx::SqliteConnection, url),
    }
}

async fn verify(url: &str, kind: BackendKind) {
    let texts = i64::from(TEXTS);
    let before = count(url, kind).await;
    // Every text once (with one PDU per single text and two per multipart one), no
    // pending part left behind, counters that agree with the rows, every reply once.
    let expected = Counts {
        inbound: texts,
        distinct_bodies: texts,
        pdus: texts + texts / 5,
        pending_parts: 0,
        counted_in: texts,
        counted_out: texts,
        outbound: texts,
        distinct_replies: texts,
        unsent: before.unsent,
    };
    assert_eq!(before, expected);

    // Leases held by killed workers come back once they expire; then everything is sent.
    let clock = ManualClock::new(Utc::now());
    let store = Store::open(url).await.unwrap().with_clock(clock.clone());
    let early = store
        .lease_due(GATEWAY, "recovery", 10_000, Duration::seconds(60))
        .await
        .unwrap();
    assert!(
        early.is_empty(),
        "{} unexpired leases were taken",
        early.len()
    );
    clock.advance(Duration::hours(1));
    let recovered = store
        .lease_due(GATEWAY, "recovery", 10_000, Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(i64::try_from(recovered.len()).unwrap(), before.unsent);
    for item in &recovered {
        store
            .mark_sent(
                &item.lease,
                &[SentPart {
                    seq: 1,
                    message_ref: "0".to_owned(),
                }],
            )
            .await
            .unwrap();
    }
    store.close().await;
    assert_eq!(
        count(url, kind).await.unsent,
        0,
        "outbound texts neither sent nor recovered"
    );
    eprintln!(
        "{kind:?}: {} leases recovered after expiry",
        recovered.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_survives_sigkill_at_random_points() {
    crash_and_recover(BackendKind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_survives_sigkill_at_random_points() {
    crash_and_recover(BackendKind::Sqlite).await;
}
