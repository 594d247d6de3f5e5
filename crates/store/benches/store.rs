//! Store benchmarks, on PostgreSQL (`DATABASE_URL`, default the local server; a fresh
//! database is created and dropped) and on SQLite (a file in a temporary directory):
//!
//! - outbox enqueue rate (one transaction per text, as replies arrive one by one);
//! - outbox dequeue rate (lease 50 due texts, mark each one sent);
//! - delivering a backlog of 10,000 offline texts to one operator, store side only
//!   (read pages of 500 in arrival order, mark each page delivered), with the process's
//!   peak resident memory during the delivery (VmHWM, reset just before it).
//!
//! Run: `cargo bench -p textgate-store --bench store`. Plain `main`, no criterion: each
//! figure is one timed pass over thousands of rows, which is what a deployment sees.

use std::error::Error;
use std::str::FromStr;
use std::time::Instant;

use chrono::{Duration, FixedOffset, TimeZone, Utc};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};
use textgate_store::{
    DeliveryReceipt, NewInbound, NewOutbound, OutboundOrigin, Priority, SentPart, Store,
};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const GATEWAY: &str = "bench";
const OUTBOX_TEXTS: usize = 5_000;
const BACKLOG: usize = 10_000;
const PAGE: u32 = 500;

struct Figures {
    enqueue_per_s: f64,
    dequeue_per_s: f64,
    backlog_fill_s: f64,
    backlog_deliver_s: f64,
    rss_before_kib: u64,
    hwm_during_kib: u64,
}

fn proc_status_kib(field: &str) -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .ok_or_else(|| format!("{field} missing from /proc/self/status"))?;
    let kib = line
        .split_whitespace()
        .nth(1)
        .ok_or_else(|| format!("{field} has no value"))?;
    Ok(kib.parse()?)
}

/// Resets VmHWM to the current resident size (Linux: writing 5 to clear_refs).
fn reset_peak_memory() -> Result<()> {
    std::fs::write("/proc/self/clear_refs", "5")?;
    Ok(())
}

async fn measure(store: &Store) -> Result<Figures> {
    let started = Instant::now();
    for n in 0..OUTBOX_TEXTS {
        store
            .enqueue_outbound(&NewOutbound {
                gateway: GATEWAY.to_string(),
                recipient: format!("+1555{:07}", n % 1000),
                origin: OutboundOrigin::Chat {
                    sender_jid: "librarian@example.org".to_string(),
                    xmpp_id: format!("m{n}"),
                    receipt: DeliveryReceipt::NotRequested,
                },
                body: "The library opens at 9 tomorrow; the reading room at 10.".to_string(),
                priority: Priority::CHAT,
                not_before: None,
            })
            .await?;
    }
    let enqueue_per_s = OUTBOX_TEXTS as f64 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    let mut sent = 0;
    loop {
        let leased = store
            .lease_due(GATEWAY, "bench", 50, Duration::seconds(60))
            .await?;
        if leased.is_empty() {
            break;
        }
        for item in &leased {
            store
                .mark_sent(
                    &item.lease,
                    &[SentPart {
                        seq: 1,
                        message_ref: "0".to_owned(),
                    }],
                )
                .await?;
            sent += 1;
        }
    }
    let dequeue_per_s = f64::from(sent) / started.elapsed().as_secs_f64();
    if sent != OUTBOX_TEXTS as u32 {
        return Err(format!("dequeued {sent} of {OUTBOX_TEXTS} texts").into());
    }

    let offset = FixedOffset::east_opt(0).ok_or("offset")?;
    let smsc_base = offset
        .with_ymd_and_hms(2026, 11, 22, 0, 0, 0)
        .single()
        .ok_or("time")?;
    let started = Instant::now();
    for n in 0..BACKLOG {
        store
            .insert_inbound(&NewInbound {
                gateway: GATEWAY.to_string(),
                sender: format!("+1555{:07}", n % 300),
                smsc_time: smsc_base + Duration::seconds(n as i64),
                received_at: Utc::now(),
                body: format!("Offline question number {n}: do you have this book in stock?"),
                concatenation: None,
                parts_hex: vec![
                    "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"
                        .to_string(),
                ],
                incomplete: false,
                consumed_pending_parts: Vec::new(),
            })
            .await?;
    }
    let backlog_fill_s = started.elapsed().as_secs_f64();

    reset_peak_memory()?;
    let rss_before_kib = proc_status_kib("VmRSS:")?;
    let started = Instant::now();
    let mut delivered = 0;
    loop {
        let page = store.undelivered_inbound(GATEWAY, PAGE).await?;
        if page.is_empty() {
            break;
        }
        let ids: Vec<i64> = page.iter().map(|t| t.id).collect();
        delivered += store
            .mark_inbound_delivered(&ids, "librarian@example.org")
            .await?;
    }
    let backlog_deliver_s = started.elapsed().as_secs_f64();
    let hwm_during_kib = proc_status_kib("VmHWM:")?;
    if delivered != BACKLOG as u64 {
        return Err(format!("delivered {delivered} of {BACKLOG} texts").into());
    }
    Ok(Figures {
        enqueue_per_s,
        dequeue_per_s,
        backlog_fill_s,
        backlog_deliver_s,
        rss_before_kib,
        hwm_during_kib,
    })
}

fn report(name: &str, f: &Figures) {
    println!(
        "| {name} | {:.0} | {:.0} | {:.2} s ({:.0} texts/s) | {:.2} s | {:.1} MiB -> {:.1} MiB |",
        f.enqueue_per_s,
        f.dequeue_per_s,
        f.backlog_fill_s,
        BACKLOG as f64 / f.backlog_fill_s,
        f.backlog_deliver_s,
        f.rss_before_kib as f64 / 1024.0,
        f.hwm_during_kib as f64 / 1024.0,
    );
}

async fn postgres() -> Result<Figures> {
    let admin_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let admin_options = PgConnectOptions::from_str(&admin_url)?;
    let name = format!("textgate_bench_{}", std::process::id());
    let mut admin = admin_options.connect().await?;
    admin
        .execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await?;
    let store = Store::connect_postgres(admin_options.clone().database(&name)).await?;
    store.migrate().await?;
    let figures = measure(&store).await;
    store.close().await;
    admin
        .execute(format!("DROP DATABASE \"{name}\" WITH (FORCE)").as_str())
        .await?;
    admin.close().await?;
    figures
}

async fn sqlite() -> Result<Figures> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::open(&url).await?;
    let figures = measure(&store).await;
    store.close().await;
    figures
}

#[tokio::main]
async fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; there are no options to parse.
    println!("| back end | enqueue texts/s | dequeue texts/s | store 10,000 inbound | deliver 10,000 backlog | RSS before -> peak during delivery |");
    println!("| --- | --- | --- | --- | --- | --- |");
    report("PostgreSQL", &postgres().await?);
    report("SQLite", &sqlite().await?);
    Ok(())
}
