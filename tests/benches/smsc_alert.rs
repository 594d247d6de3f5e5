//! How long a 10,000-member alert takes to reach a message centre, for docs/benchmarks.md
//! ("Alerts through a message centre"): the daemon as a child process on PostgreSQL with
//! one `kind = "smpp"` gateway (window 50, no receipts asked for), node-smpp's SMSC from
//! `textgate_testkit::smsc` answering every `submit_sm` at once, and the campaign's
//! deliveries put in the outbox the way the alert service does
//! (`Store::enqueue_campaign_outbound`). The clock runs from the enqueue until the SMSC has
//! answered the last `submit_sm`.
//!
//! Run with `cargo bench -p textgate-e2e --bench smsc_alert` (PostgreSQL from
//! `DATABASE_URL`, node-smpp installed by scripts/test). `MEMBERS` overrides 10,000.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use support::daemon::{self, Daemon, GatewaySection};
use support::database::Database;
use support::measure::peak_memory_kib;
use textgate_store::{NewOutbound, OutboundOrigin, Priority, Store};
use textgate_testkit::smsc::Smsc;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run());
}

async fn run() {
    let members: usize = std::env::var("MEMBERS")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(10_000);
    let db = Database::create().await;
    let mut smsc = Smsc::start().await.expect("the SMSC starts");
    // Nobody listens on the component port: the outbox does not need the XMPP side.
    let section = GatewaySection::for_alice("127.0.0.1:9".into(), "secret", "/dev/null".into());
    let config = daemon::on_smsc(
        &daemon::config(&db.url, &[section]),
        smsc.port,
        "window = 50\nregistered_delivery = false\n",
    );
    let config = config.replace("level = \"info,textgate_modem=debug\"", "level = \"warn\"");
    let mut daemon = Daemon::start(&config);
    smsc.next("bind").await;
    let store = Store::open(&db.url).await.expect("the store opens");
    let texts: Vec<NewOutbound> = (0..members)
        .map(|n| NewOutbound {
            gateway: "library".to_owned(),
            recipient: format!("+1555{n:07}"),
            origin: OutboundOrigin::Campaign { campaign_id: 1 },
            body: "Campus alert: the library is closed today because of the storm. Stay safe."
                .to_owned(),
            priority: Priority::ALERT,
            not_before: None,
        })
        .collect();
    let start = Instant::now();
    let enqueued = store
        .enqueue_campaign_outbound(&texts)
        .await
        .expect("enqueued");
    let enqueue = start.elapsed();
    assert_eq!(enqueued, members as u64);
    for _ in 0..members {
        smsc.next("answered").await;
    }
    let total = start.elapsed();
    let pid = daemon.pid().unwrap_or_default();
    println!(
        "{members} deliveries: enqueued in {:.2} s, every submit_sm answered after {:.2} s ({:.0} deliveries/s); daemon peak RSS {} MiB",
        enqueue.as_secs_f64(),
        total.as_secs_f64(),
        members as f64 / total.as_secs_f64(),
        peak_memory_kib(pid).map_or(0, |k| k / 1024)
    );
    daemon.kill();
}
