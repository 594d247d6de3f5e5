//! End-to-end figures for docs/benchmarks.md ("Gateway end to end"): the whole product on
//! loopback (the simulator on a pseudo-terminal, the daemon as a child process, PostgreSQL
//! and Prosody, a librarian on a real c2s connection).
//!
//! - Latency: a text injected at the simulator until the librarian's client has it, one
//!   text at a time, `TEXTS` times; p50, p99 and the maximum.
//! - Replies per second: `REPLIES` replies written by the librarian as fast as the
//!   connection takes them, until the simulator has sent every SMS; zero modem latency, so
//!   this is the software ceiling.
//! - Peak memory of the daemon (VmHWM from /proc) after each phase.
//!
//! Run with `cargo bench -p textgate-e2e --bench gateway`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::measure::{peak_memory_kib, percentile};
use support::scene::{patron_jid, reply, Scene, GW, PATRON};
use textgate_modemsim::IncomingText;

const TEXTS: usize = 1000;
const REPLIES: usize = 500;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    // One patron sends all the texts, as fast as the daemon takes them: a flood by the
    // desk's default limit, which is what is measured here without it.
    let mut scene = Scene::start("[gateway.desk]\nflood_limit = 0\n").await;
    let pid = scene.daemon.pid().expect("daemon running");
    let mut alice = scene.first_login("alice", "desk").await;
    let patron = patron_jid(PATRON, GW);

    // Latency, one text at a time.
    let mut latencies = Vec::with_capacity(TEXTS);
    for i in 0..TEXTS {
        let body = format!("bench text {i}");
        let started = Instant::now();
        scene
            .modem
            .sim
            .inject_text(&IncomingText::new(PATRON, body.clone()))
            .expect("inject");
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
    let memory_after_texts = peak_memory_kib(pid);

    // Replies per second.
    scene.modem.sim.clear_sent();
    let started = Instant::now();
    for i in 0..REPLIES {
        reply(
            &mut alice,
            &patron,
            &format!("b-{i}"),
            &format!("bench reply {i}"),
            false,
        )
        .await;
    }
    scene
        .modem
        .sim
        .wait_until(Duration::from_secs(600), |m| m.sent().len() >= REPLIES)
        .await
        .expect("every reply sent");
    let elapsed = started.elapsed();
    let memory_after_replies = peak_memory_kib(pid);

    println!("| figure | value |");
    println!("| --- | --- |");
    println!(
        "| text → librarian latency, p50 ({TEXTS} texts) | {:.1} ms |",
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0
    );
    println!(
        "| text → librarian latency, p99 | {:.1} ms |",
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0
    );
    println!(
        "| text → librarian latency, max | {:.1} ms |",
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
    println!(
        "| replies → SMS, {REPLIES} replies | {:.1} s, {:.0} replies/s |",
        elapsed.as_secs_f64(),
        REPLIES as f64 / elapsed.as_secs_f64()
    );
    println!(
        "| daemon peak memory (VmHWM) after the texts | {} KiB |",
        memory_after_texts.map_or("?".into(), |m| m.to_string())
    );
    println!(
        "| daemon peak memory (VmHWM) after the replies | {} KiB |",
        memory_after_replies.map_or("?".into(), |m| m.to_string())
    );
}
