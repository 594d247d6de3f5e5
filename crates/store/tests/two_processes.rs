//! Two worker processes draining one outbox at the same time never take the same text:
//! on PostgreSQL (row locks with SKIP LOCKED) and on SQLite (one file, two processes).

mod support;

use std::collections::HashSet;
use std::process::Stdio;
use std::time::Duration as StdDuration;

use support::Database;
use textgate_store::{BackendKind, NewOutbound, OutboundOrigin, Priority, Store};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

const GATEWAY: &str = "shared";
const TEXTS: usize = 600;
const TIMEOUT: StdDuration = StdDuration::from_secs(120);

async fn drain_with_two_processes(kind: BackendKind) {
    let database = Database::create(kind).await;
    let store = Store::open(database.url()).await.unwrap();
    for n in 0..TEXTS {
        store
            .enqueue_outbound(&NewOutbound {
                gateway: GATEWAY.to_string(),
                recipient: format!("+1555{n:07}"),
                origin: OutboundOrigin::Campaign { campaign_id: 1 },
                body: "Drill: please leave the building.".to_string(),
                priority: Priority::ALERT,
                not_before: None,
            })
            .await
            .unwrap();
    }
    store.close().await;

    let mut workers = Vec::new();
    for name in ["a", "b"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_store-test-worker"))
            .args(["drain", database.url(), GATEWAY, name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start store-test-worker");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let ready = tokio::time::timeout(TIMEOUT, lines.next_line())
            .await
            .expect("ready in time");
        assert_eq!(ready.unwrap().as_deref(), Some("ready"));
        workers.push((child, lines));
    }
    // Both are connected; start them together.
    for (child, _) in &mut workers {
        child
            .stdin
            .as_mut()
            .expect("stdin")
            .write_all(b"go\n")
            .await
            .unwrap();
    }
    let collect = |(mut child, mut lines): (tokio::process::Child, tokio::io::Lines<_>)| async move {
        let mut taken = Vec::new();
        loop {
            match lines.next_line().await.unwrap() {
                Some(line) if line == "done" => break,
                Some(line) => {
                    let id: i64 = line
                        .strip_prefix("took ")
                        .expect("took ID")
                        .parse()
                        .unwrap();
                    taken.push(id);
                }
                None => panic!("worker ended without saying done"),
            }
        }
        assert!(child.wait().await.unwrap().success());
        taken
    };
    let mut workers = workers.into_iter();
    let a = workers.next().map(collect).expect("worker a");
    let b = workers.next().map(collect).expect("worker b");
    let (a, b) = tokio::time::timeout(TIMEOUT, async { tokio::join!(a, b) })
        .await
        .expect("drained in time");

    let in_a: HashSet<i64> = a.iter().copied().collect();
    let in_b: HashSet<i64> = b.iter().copied().collect();
    assert_eq!(in_a.len(), a.len(), "worker a took a text twice");
    assert_eq!(in_b.len(), b.len(), "worker b took a text twice");
    let both: Vec<_> = in_a.intersection(&in_b).collect();
    assert!(both.is_empty(), "taken by both workers: {both:?}");
    assert_eq!(in_a.len() + in_b.len(), TEXTS);
    eprintln!(
        "{kind:?}: worker a took {}, worker b took {}",
        a.len(),
        b.len()
    );
    database.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_workers_never_share_a_text() {
    drain_with_two_processes(BackendKind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_workers_never_share_a_text() {
    drain_with_two_processes(BackendKind::Sqlite).await;
}
