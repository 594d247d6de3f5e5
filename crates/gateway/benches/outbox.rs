//! How many deliveries a second the outbox moves to a driver that answers at once, for
//! docs/benchmarks.md ("The outbox at carrier speed"): a gateway started as the daemon
//! starts it (`Gateway::start_with`), on a fresh PostgreSQL database (or SQLite with
//! `STORE=sqlite`), with a driver double that accepts every part at once and says how many
//! sends it takes at a time (`WINDOW`, default 50; 1 is a modem). `DELIVERIES` campaign
//! deliveries (default 10,000, one part each) are put in the outbox in one go
//! (`Store::enqueue_campaign_outbound`) and the clock runs until the outbox is empty.
//!
//! Run with `cargo bench -p textgate-gateway --bench outbox` (PostgreSQL from
//! `DATABASE_URL`, default postgres://postgres@127.0.0.1:5432/postgres).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use textgate_gateway::{Gateway, GatewaySettings, Hooks};
use textgate_modem::{
    MessageReference, ModemStatus, OutgoingSms, SendError, SmsDriver, StatusError,
};
use textgate_store::{NewOutbound, OutboundOrigin, Priority, Store};
use textgate_xmpp::ComponentConfig;

/// Accepts every part at once.
struct AtOnce {
    window: usize,
    next: AtomicU64,
}

#[async_trait]
impl SmsDriver for AtOnce {
    async fn send(&self, message: OutgoingSms) -> Result<Vec<MessageReference>, SendError> {
        Ok(message
            .parts
            .iter()
            .map(|_| {
                let n = self.next.fetch_add(1, Ordering::Relaxed);
                MessageReference::from_stored(format!("id-{n}"))
            })
            .collect())
    }

    async fn status(&self) -> Result<ModemStatus, StatusError> {
        Ok(ModemStatus::default())
    }

    fn concurrency(&self) -> usize {
        self.window
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run());
}

async fn run() {
    let window = env_number("WINDOW", 50);
    let deliveries = env_number("DELIVERIES", 10_000);
    let sqlite = std::env::var("STORE").is_ok_and(|s| s == "sqlite");
    let (url, _postgres, _sqlite) = if sqlite {
        let file = textgate_testkit::FreshSqlite::create("outbox-bench.db").expect("a file");
        (file.url().to_owned(), None, Some(file))
    } else {
        let db = textgate_testkit::FreshPostgres::create("outbox_bench")
            .await
            .expect("a fresh PostgreSQL database");
        (db.url().to_owned(), Some(db), None)
    };
    let store = Store::open(&url).await.expect("the store opens");
    let region = "US".parse().expect("a region");
    let settings = GatewaySettings::new("bench", "sms.bench.test", region);
    // Nobody listens there: the outbox needs no XMPP server.
    let component = ComponentConfig::new(
        "sms.bench.test",
        "secret",
        "127.0.0.1:9",
        Vec::new(),
        region,
    );
    let driver = Arc::new(AtOnce {
        window,
        next: AtomicU64::new(0),
    });
    let (_events_tx, events) = tokio::sync::mpsc::channel(1);
    let gateway = Gateway::start_with(
        settings,
        store.clone(),
        driver.clone(),
        events,
        component,
        Hooks::default(),
    )
    .await
    .expect("the gateway starts");
    let texts: Vec<NewOutbound> = (0..deliveries)
        .map(|n| NewOutbound {
            gateway: "bench".to_owned(),
            recipient: format!("+1555{n:07}"),
            origin: OutboundOrigin::Campaign { campaign_id: 1 },
            body: "Campus alert: the library is closed today because of the storm.".to_owned(),
            priority: Priority::ALERT,
            not_before: None,
        })
        .collect();
    let start = Instant::now();
    store
        .enqueue_campaign_outbound(&texts)
        .await
        .expect("enqueued");
    let enqueued = start.elapsed();
    // A bench may look at the clock: the outbox is empty when every text was sent.
    loop {
        let depth = store.outbox_depth("bench").await.expect("counts");
        if depth == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total = start.elapsed();
    let sent = driver.next.load(Ordering::Relaxed);
    println!(
        "{} store, window {window}: {deliveries} deliveries enqueued in {:.2} s, all sent after {:.2} s: {:.0} deliveries/s ({sent} parts handed to the driver)",
        if sqlite { "SQLite" } else { "PostgreSQL" },
        enqueued.as_secs_f64(),
        total.as_secs_f64(),
        deliveries as f64 / total.as_secs_f64(),
    );
    gateway.shutdown().await;
}
