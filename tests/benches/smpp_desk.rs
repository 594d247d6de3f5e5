//! The library line through a message centre, end to end, for docs/benchmarks.md ("Alerts
//! through a message centre"): the daemon (a child process) on PostgreSQL with one
//! `kind = "smpp"` gateway bound to node-smpp's SMSC (`textgate_testkit::smsc`), a
//! throw-away Prosody, and a librarian on c2s.
//!
//! - Latency: a text from a phone is handed to the SMSC (`deliver_sm`) one at a time; the
//!   clock stops when the librarian's client has it. `TEXTS` texts.
//! - Replies: the librarian writes `REPLIES` replies back to back; the clock stops when the
//!   SMSC has answered every `submit_sm` (receipts asked for, so the daemon also records
//!   a receipt per reply meanwhile).
//!
//! Run with `cargo bench -p textgate-e2e --bench smpp_desk`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use support::daemon::{self, Daemon, GatewaySection};
use support::database::Database;
use support::measure::percentile;
use support::prosody::Prosody;
use support::scene::{approve, online, operator, patron_jid, reply, GW, PASSWORD};
use textgate_testkit::smsc::Smsc;

const TEXTS: usize = 300;
const REPLIES: usize = 500;
const PATRON: &str = "+15551234567";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let prosody = Prosody::start(&[GW]).await.expect("Prosody starts");
    prosody
        .register("alice", PASSWORD)
        .await
        .expect("registering alice");
    let db = Database::create().await;
    let mut smsc = Smsc::start().await.expect("the SMSC starts");
    let section = GatewaySection::for_alice(
        prosody.component_addr(),
        &prosody.secret(GW),
        "/dev/null".into(),
    );
    let config = daemon::on_smsc(&daemon::config(&db.url, &[section]), smsc.port, "")
        .replace("level = \"info,textgate_modem=debug\"", "level = \"info\"");
    let mut daemon = Daemon::start(&config);
    daemon.expect_log(&["bound to the SMSC"]).await;
    let mut alice = online(&prosody, "alice", "desk").await;
    approve(&mut alice, GW).await;
    daemon
        .expect_log(&["operator presence", &operator("alice"), "Available"])
        .await;

    let mut latencies = Vec::with_capacity(TEXTS);
    for i in 0..TEXTS {
        let body = format!("bench text {i}");
        let hex: String = body.bytes().map(|b| format!("{b:02x}")).collect();
        let started = Instant::now();
        smsc.command(serde_json::json!({
            "cmd": "deliver", "tag": i, "source": PATRON.trim_start_matches('+'),
            "data_coding": 0, "hex": hex
        }))
        .await;
        alice
            .expect("the benchmark text", |e| {
                e.name() == "message"
                    && e.get_child("body", "jabber:client")
                        .is_some_and(|b| b.text() == body)
            })
            .await;
        latencies.push(started.elapsed());
    }
    latencies.sort();

    let patron = patron_jid(PATRON, GW);
    let before = smsc.count("answered");
    let started = Instant::now();
    for i in 0..REPLIES {
        reply(
            &mut alice,
            &patron,
            &format!("b-{i}"),
            &format!("bench reply {i}"),
            true,
        )
        .await;
    }
    smsc.until_count("answered", before + REPLIES).await;
    let elapsed = started.elapsed();

    println!("| figure | value |");
    println!("| --- | --- |");
    println!(
        "| text from a phone (deliver_sm) → librarian, p50 ({TEXTS} texts) | {:.1} ms |",
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0
    );
    println!(
        "| … p99 | {:.1} ms |",
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0
    );
    println!(
        "| replies → submit_sm answered, {REPLIES} replies | {:.2} s, {:.0} replies/s |",
        elapsed.as_secs_f64(),
        REPLIES as f64 / elapsed.as_secs_f64()
    );
}
