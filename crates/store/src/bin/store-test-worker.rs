//! A worker process for the store's crash and concurrency tests (`tests/crash.rs`,
//! `tests/two_processes.rs`). It does what a daemon does with the store, and says on
//! standard output when it is ready and when it is done, so a test can kill it at any
//! point or run two at once.
//!
//! `store-test-worker work URL GATEWAY COUNT START`: reads texts 0..COUNT "from the modem"
//! starting at START (wrapping), storing every one (multipart ones through pending parts),
//! enqueues a reply for each, and sends what is due under leases; then drains the outbox.
//! Run again after a kill, it reads every text again, as a daemon does after a crash.
//!
//! `store-test-worker drain URL GATEWAY WORKER`: waits for a line on standard input, then
//! leases and completes outbound texts until none is due, printing `took ID` for each.
//!
//! `store-test-worker enqueue URL GATEWAY RECIPIENT`: queues one text for RECIPIENT, as
//! `textgate send` does from beside a running daemon, and prints `queued ID`
//! (`tests/foreign_writes.rs`).

use std::error::Error;
use std::io::{BufRead, Write};

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use textgate_store::{
    Concatenation, DeliveryReceipt, NewInbound, NewOutbound, OutboundOrigin, PendingInsertion,
    PendingPart, Priority, SentPart, Store,
};

/// Long enough that a killed worker's leases are still held by the time the test looks:
/// the test recovers them by moving its clock past the expiry.
const LEASE: Duration = Duration::seconds(600);

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn say(line: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

fn base_time() -> Result<DateTime<FixedOffset>> {
    let offset = FixedOffset::east_opt(2 * 3600).ok_or("offset")?;
    offset
        .with_ymd_and_hms(2026, 11, 22, 9, 0, 0)
        .single()
        .ok_or_else(|| "base time".into())
}

/// Text number `n` as the modem would deliver it; every fifth one in two parts.
fn text(gateway: &str, n: u32) -> Result<(NewInbound, Vec<PendingPart>)> {
    let sender = format!("+1555000{:04}", n % 17);
    let body = format!("text {n}");
    let multipart = n % 5 == 0;
    let concatenation = multipart.then_some(Concatenation {
        reference: u16::try_from(n % 65536)?,
        reference_bits: 16,
        total: 2,
    });
    let parts_hex: Vec<String> = if multipart {
        vec![format!("{n:08X}01"), format!("{n:08X}02")]
    } else {
        vec![format!("{n:08X}00")]
    };
    let now = Utc::now();
    let pending = match concatenation {
        Some(concatenation) => (1..=2u8)
            .zip(&parts_hex)
            .map(|(seq, pdu)| PendingPart {
                gateway: gateway.to_string(),
                sender: sender.clone(),
                concatenation,
                seq,
                pdu_hex: pdu.clone(),
                received_at: now,
            })
            .collect(),
        None => Vec::new(),
    };
    let inbound = NewInbound {
        gateway: gateway.to_string(),
        sender,
        smsc_time: base_time()? + Duration::seconds(i64::from(n)),
        received_at: now,
        body,
        concatenation,
        parts_hex,
        incomplete: false,
        consumed_pending_parts: Vec::new(),
    };
    Ok((inbound, pending))
}

async fn work(url: &str, gateway: &str, count: u32, start: u32) -> Result<()> {
    let store = Store::open(url).await?;
    let worker = format!("worker-{}", std::process::id());
    say("ready")?;
    for i in 0..count {
        let n = (start + i) % count;
        let (mut inbound, pending) = text(gateway, n)?;
        if !pending.is_empty() {
            // Each part is committed before it would be deleted from the SIM; the text is
            // stored when the reassembler has them all.
            for part in &pending {
                match store.store_pending_part(part).await? {
                    PendingInsertion::New(id) | PendingInsertion::Duplicate(id) => {
                        inbound.consumed_pending_parts.push(id);
                    }
                    // Stored by an earlier, killed run: the insert below finds the text.
                    PendingInsertion::Committed(_) => {}
                }
            }
        }
        store.insert_inbound(&inbound).await?;
        store
            .enqueue_outbound(&NewOutbound {
                gateway: gateway.to_string(),
                recipient: inbound.sender.clone(),
                origin: OutboundOrigin::Chat {
                    sender_jid: "librarian@example.org".to_string(),
                    xmpp_id: format!("reply-{n}"),
                    receipt: DeliveryReceipt::NotRequested,
                },
                body: format!("reply {n}"),
                priority: Priority::CHAT,
                not_before: None,
            })
            .await?;
        send_due(&store, gateway, &worker, 2).await?;
    }
    while send_due(&store, gateway, &worker, 16).await? > 0 {}
    say("done")?;
    store.close().await;
    Ok(())
}

async fn send_due(store: &Store, gateway: &str, worker: &str, limit: u32) -> Result<usize> {
    let leased = store.lease_due(gateway, worker, limit, LEASE).await?;
    for item in &leased {
        let message_ref = (item.text.id % 256).to_string();
        store
            .mark_sent(
                &item.lease,
                &[SentPart {
                    seq: 1,
                    message_ref,
                }],
            )
            .await?;
    }
    Ok(leased.len())
}

async fn drain(url: &str, gateway: &str, worker: &str) -> Result<()> {
    let store = Store::open(url).await?;
    say("ready")?;
    let mut go = String::new();
    std::io::stdin().lock().read_line(&mut go)?;
    loop {
        let leased = store.lease_due(gateway, worker, 5, LEASE).await?;
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
            say(&format!("took {}", item.text.id))?;
        }
    }
    say("done")?;
    store.close().await;
    Ok(())
}

async fn enqueue(url: &str, gateway: &str, recipient: &str) -> Result<()> {
    let store = Store::open(url).await?;
    let insertion = store
        .enqueue_outbound(&NewOutbound {
            gateway: gateway.to_string(),
            recipient: recipient.to_string(),
            origin: OutboundOrigin::Chat {
                sender_jid: "cli@localhost".to_string(),
                xmpp_id: format!("send-{}", std::process::id()),
                receipt: DeliveryReceipt::NotRequested,
            },
            body: "Your books are ready".to_string(),
            priority: Priority::CHAT,
            not_before: None,
        })
        .await?;
    store.close().await;
    say(&format!("queued {}", insertion.id()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["work", url, gateway, count, start] => {
            work(url, gateway, count.parse()?, start.parse()?).await
        }
        ["drain", url, gateway, worker] => drain(url, gateway, worker).await,
        ["enqueue", url, gateway, recipient] => enqueue(url, gateway, recipient).await,
        _ => Err("usage: store-test-worker work URL GATEWAY COUNT START \
             | drain URL GATEWAY WORKER | enqueue URL GATEWAY RECIPIENT"
            .into()),
    }
}
