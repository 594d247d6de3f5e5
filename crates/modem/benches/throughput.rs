//! Throughput of the AT driver against the simulator over a real pseudo-terminal: a
//! measurement run, not a statistical micro-benchmark (one round trip is milliseconds of
//! pty and task switching, so criterion's thousands of iterations would say nothing more).
//!
//! `cargo bench -p textgate-modem --bench throughput` prints:
//! - with zero simulated latency, messages (and parts) per second sent through driver and
//!   simulator with a backlog of callers, and texts per second received (`+CMTI` →
//!   `AT+CMGR` → acknowledgement → `AT+CMGD`);
//! - with a simulated network latency per `AT+CMGS`, the fraction of the time the modem is
//!   busy (a send on the air) while a backlog waits, and the mean idle gap between one
//!   answer and the next send: the driver's own overhead. The goal is the physical limit,
//!   a modem never idle while work is queued.
//!
//! Results are recorded in docs/benchmarks.md ("Modem driver and simulator").

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use textgate_gsm::pdu::Address;
use textgate_gsm::segment::{Segmenter, SubmitOptions};
use textgate_modem::{
    AtModem, HealthChange, ModemConfig, ModemEvent, ModemEvents, OutgoingSms, SerialDevice,
    SmsDriver,
};
use textgate_modemsim::pty::serve_pty;
use textgate_modemsim::{IncomingText, SimConfig, SimHandle};
use tokio::sync::mpsc;

/// No single wait in a run may take longer than this.
const BOUND: Duration = Duration::from_secs(300);

/// A simulator on a pty behind a symlink, and the driver opening that link as a serial
/// device; `received` gets one `()` per part handed over and acknowledged.
struct Run {
    sim: SimHandle,
    modem: AtModem,
    received: mpsc::UnboundedReceiver<()>,
    dir: PathBuf,
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

static RUNS: AtomicUsize = AtomicUsize::new(0);

async fn start(config: SimConfig) -> Run {
    let dir = std::env::temp_dir().join(format!(
        "textgate-modem-bench-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {dir:?}: {e}"));
    let link = dir.join("modem");
    let sim = SimHandle::new(config);
    let mut paths = sim.pty_path();
    tokio::spawn(serve_pty(sim.clone(), Some(link.clone())));
    tokio::time::timeout(BOUND, paths.wait_for(Option::is_some))
        .await
        .expect("the pty did not appear")
        .expect("the simulator stopped");
    let device = SerialDevice {
        path: link.to_string_lossy().into_owned(),
        baud_rate: 115_200,
    };
    let (modem, events) = AtModem::spawn(ModemConfig::default(), Box::new(device));
    let (ready_tx, ready) = tokio::sync::oneshot::channel();
    let (received_tx, received) = mpsc::unbounded_channel();
    tokio::spawn(consume(events, ready_tx, received_tx));
    tokio::time::timeout(BOUND, ready)
        .await
        .expect("the driver did not become ready")
        .expect("the driver stopped");
    Run {
        sim,
        modem,
        received,
        dir,
    }
}

/// Acknowledges every part at once (a store that commits instantly) and reports it.
async fn consume(
    mut events: ModemEvents,
    ready: tokio::sync::oneshot::Sender<()>,
    received: mpsc::UnboundedSender<()>,
) {
    let mut ready = Some(ready);
    while let Some(event) = events.recv().await {
        match event {
            ModemEvent::Health(HealthChange::Ready { .. }) => {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
            }
            ModemEvent::IncomingPart(part) | ModemEvent::StatusReport(part) => {
                let _ = part.ack.acknowledge();
                let _ = received.send(());
            }
            _ => {}
        }
    }
}

fn message(i: usize, text: &str) -> OutgoingSms {
    let number = format!("+1555{i:07}");
    let recipient = Address::from_number(&number).expect("a valid number");
    let pdus = Segmenter::default()
        .submit_pdus(text, i as u16, &recipient, &SubmitOptions::default())
        .expect("the text segments");
    OutgoingSms::from_pdus(number, text, &pdus).expect("the PDUs encode")
}

/// Sends every message with `callers` concurrent callers; returns the wall time.
async fn send_all(modem: &AtModem, messages: Vec<OutgoingSms>, callers: usize) -> Duration {
    let started = Instant::now();
    let results: Vec<_> = stream::iter(messages)
        .map(|sms| async move { tokio::time::timeout(BOUND, modem.send(sms)).await })
        .buffer_unordered(callers)
        .collect()
        .await;
    let elapsed = started.elapsed();
    for result in results {
        result
            .expect("a send took too long")
            .unwrap_or_else(|e| panic!("a send failed: {e}"));
    }
    elapsed
}

async fn zero_latency_sends(count: usize, text: &str, label: &str) {
    let run = start(SimConfig::instant()).await;
    let messages: Vec<OutgoingSms> = (0..count).map(|i| message(i, text)).collect();
    let parts: usize = messages.iter().map(|m| m.parts.len()).sum();
    let elapsed = send_all(&run.modem, messages, 16).await;
    assert_eq!(
        run.sim.sent_parts().len(),
        parts,
        "every part reached the simulator"
    );
    let seconds = elapsed.as_secs_f64();
    println!(
        "send, zero latency, {label}: {count} messages ({parts} parts) in {seconds:.2} s: \
         {:.0} messages/s, {:.0} parts/s",
        count as f64 / seconds,
        parts as f64 / seconds
    );
}

async fn zero_latency_receives(count: usize) {
    let mut run = start(SimConfig::instant()).await;
    let started = Instant::now();
    let mut parts = 0;
    for i in 0..count {
        let report = run
            .sim
            .inject_text(&IncomingText::new(
                format!("+4477009{i:05}"),
                format!("#{i} Is the library open on Sunday?"),
            ))
            .expect("inject");
        parts += report.parts;
    }
    for _ in 0..parts {
        tokio::time::timeout(BOUND, run.received.recv())
            .await
            .expect("a text did not arrive")
            .expect("the driver stopped");
    }
    run.sim
        .wait_until(BOUND, |m| {
            m.sim().used() == 0 && m.waiting_in_network() == 0
        })
        .await
        .expect("the SIM was not emptied");
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "receive, zero latency: {count} single-part texts received, acknowledged and deleted \
         in {seconds:.2} s: {:.0} texts/s",
        count as f64 / seconds
    );
}

/// With `latency` per `AT+CMGS`, queues every message at once and measures how much of the
/// time the modem spends with a send on the air. Busy time is parts × latency (the
/// simulator holds each send for exactly that long); the idle gap is what the driver adds
/// between one answer and the next send.
async fn backlog(latency: Duration, messages: Vec<OutgoingSms>, label: &str) {
    let run = start(SimConfig {
        send_latency: latency,
        ..SimConfig::instant()
    })
    .await;
    let count = messages.len();
    let parts: usize = messages.iter().map(|m| m.parts.len()).sum();
    // More callers than the driver's queue needs: the backlog is always there.
    let elapsed = send_all(&run.modem, messages, count).await;
    let sent = run.sim.sent_parts();
    assert_eq!(sent.len(), parts, "every part reached the simulator");
    let busy = latency.as_secs_f64() * parts as f64;
    let wall = elapsed.as_secs_f64();
    let span = match (sent.first(), sent.last()) {
        (Some(first), Some(last)) => (last.sent_at - first.sent_at)
            .to_std()
            .unwrap_or_default()
            .as_secs_f64(),
        _ => 0.0,
    };
    // Between the first and last answer there are parts - 1 sends of `latency` each.
    let gaps = parts.saturating_sub(1).max(1) as f64;
    let idle_per_part = (span - latency.as_secs_f64() * (parts as f64 - 1.0)) / gaps;
    println!(
        "backlog, {label}: {count} messages ({parts} parts), latency {} ms: wall {wall:.2} s, \
         on the air {busy:.2} s, busy {:.1} % of the time; mean idle gap between an answer \
         and the next send {:.1} ms",
        latency.as_millis(),
        100.0 * busy / wall,
        1000.0 * idle_per_part
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let long = "Overdue notice: ".repeat(25);
        // The first run in a process pays for warming up (allocator, page faults, the
        // runtime's threads): measured separately so it does not skew the figures.
        zero_latency_sends(200, "warm-up", "warm-up (discarded)").await;
        for _ in 0..3 {
            zero_latency_sends(2000, "Is the library open on Sunday?", "single-part").await;
            zero_latency_sends(500, &long, "3-part").await;
            zero_latency_receives(2000).await;
        }
        let singles = (0..10).map(|i| message(i, "Your hold is ready.")).collect();
        backlog(Duration::from_millis(2500), singles, "realistic").await;
        let mixed = (0..40)
            .map(|i| match i % 2 {
                0 => message(i, "Your hold is ready."),
                _ => message(i, &long),
            })
            .collect();
        backlog(Duration::from_millis(250), mixed, "scaled").await;
    });
}
