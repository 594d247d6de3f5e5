//! Alert campaign benchmark (docs/benchmarks.md, "Alert campaign"): on a fresh PostgreSQL
//! database (from `DATABASE_URL`, default the local server as user postgres), registers
//! `BENCH_MEMBERS` confirmed members (default 100,000) with encrypted numbers, then times
//! `Campaigns::enqueue`: read every registration, decrypt every number, plan, and put one
//! delivery per member in the store's outbox. Reports the time to fully enqueued and the
//! process's peak resident memory (VmHWM) during the enqueue (the peak is reset after
//! seeding via /proc/self/clear_refs).
//!
//! Run: `cargo bench -p textgate-alert-service --bench campaign`.

use std::time::Instant;

use rand::rngs::OsRng;
use sqlx::{Connection, Executor, PgConnection};
use textgate_alert_service::campaigns::Audience;
use textgate_alert_service::sends::{NewSend, SendKind};
use textgate_alert_service::{AlertService, AlertSettings, CampaignModem};
use textgate_alerts::campaign::ModemRate;
use textgate_alerts::cipher::{FieldContext, FieldKey, FieldPurpose, KeyId, KeyRing};
use textgate_alerts::confirmation::ConfirmationKey;
use textgate_alerts::{BlindIndex, BlindIndexKey, FieldCipher, MemberNumber};
use textgate_store::{Database, Store};

fn key(seed: u8) -> [u8; 32] {
    let mut k = [0u8; 32];
    for (i, b) in k.iter_mut().enumerate() {
        *b = seed.wrapping_mul(37).wrapping_add(i as u8);
    }
    k
}

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn with_database(base: &str, name: &str) -> String {
    let after = base.find("://").map(|i| i + 3).unwrap_or(0);
    let end = base[after..]
        .find('/')
        .map(|j| after + j)
        .unwrap_or(base.len());
    format!("{}/{name}", &base[..end])
}

#[tokio::main]
async fn main() {
    let members: u64 = std::env::var("BENCH_MEMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let admin = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("textgate_alert_bench_{}", std::process::id());
    let mut conn = PgConnection::connect(&admin)
        .await
        .expect("connect to PostgreSQL");
    conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await
        .expect("create database");
    let url = with_database(&admin, &name);

    let ring = KeyRing::new(
        KeyId::new("bench").expect("key id"),
        FieldKey::from_bytes(key(1)),
    );
    let settings = AlertSettings::new(
        FieldCipher::new(ring),
        BlindIndex::new(BlindIndexKey::from_bytes(key(2))),
        ConfirmationKey::from_bytes(key(3)),
        "US".parse().expect("region"),
        (0..4)
            .map(|i| CampaignModem {
                gateway: "main".into(),
                rate: ModemRate::new(format!("main/modem{i}"), 20),
            })
            .collect(),
    );
    let store = Store::open(&url).await.expect("open store");
    let service = AlertService::new(store.clone(), settings).expect("service");
    let Database::Postgres(pool) = store.database() else {
        unreachable!("PostgreSQL URL")
    };

    // Seed: accounts and confirmed registrations, 1,000 rows per statement.
    let seed_start = Instant::now();
    let now = service.now();
    let mut n = 0u64;
    while n < members {
        let batch = (members - n).min(1000);
        let mut accounts = sqlx::QueryBuilder::new(
            "INSERT INTO web_accounts (id, email, password_hash, roles, tester, created_at) ",
        );
        accounts.push_values(n..n + batch, |mut row, i| {
            row.push_bind(i as i64 + 1)
                .push_bind(format!("m{i}@example.org"))
                .push_bind("x")
                .push_bind("member")
                .push_bind(false)
                .push_bind(now);
        });
        accounts.build().execute(pool).await.expect("accounts");
        let mut regs = sqlx::QueryBuilder::new("INSERT INTO alert_registrations (account_id, number_enc, number_index, carrier, state, confirmation, last_updated, last_tested) ");
        let rows: Vec<(i64, String, String)> = (n..n + batch)
            .map(|i| {
                let id = i as i64 + 1;
                // Valid US mobile-capable numbers: 201-2xx-xxxx.
                let number = MemberNumber::parse(
                    &format!("+1201{:07}", 2_000_000 + i),
                    "US".parse().expect("region"),
                )
                .expect("number");
                let enc = service
                    .settings()
                    .cipher
                    .encrypt(
                        number.as_str(),
                        &FieldContext::new(FieldPurpose::MemberNumber, id.to_string()),
                        &mut OsRng,
                    )
                    .expect("encrypt");
                (
                    id,
                    enc.to_string(),
                    service.settings().blind_index.index(&number).to_string(),
                )
            })
            .collect();
        regs.push_values(rows, |mut row, (id, enc, index)| {
            row.push_bind(id)
                .push_bind(enc)
                .push_bind(index)
                .push_bind(None::<String>)
                .push_bind("active")
                .push_bind(None::<String>)
                .push_bind(now)
                .push_bind(None::<chrono::DateTime<chrono::Utc>>);
        });
        regs.build().execute(pool).await.expect("registrations");
        n += batch;
    }
    println!(
        "seeded {members} members in {:.1} s",
        seed_start.elapsed().as_secs_f64()
    );

    let body = "Campus alert: the main library is closed today because of a water leak. Reply STOP to opt out.";
    let campaigns = service.campaigns();
    let id = campaigns
        .record(
            &NewSend {
                thread: None,
                kind: SendKind::Real,
                account_id: None,
                account_email: "bench",
                body,
                recipients: members as i64,
                estimated_seconds: 0,
                confirmed_at: now,
                yearly_test: None,
                group: None,
                poll: None,
            },
            0,
        )
        .await
        .expect("send");
    // Reset the peak so it measures the enqueue, not the seeding.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = vm_hwm_kib();
    let start = Instant::now();
    let enqueued = campaigns
        .enqueue(id, Audience::Everyone, body)
        .await
        .expect("enqueue");
    let elapsed = start.elapsed();
    let peak = vm_hwm_kib();
    let counted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbound WHERE campaign_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("count");
    assert_eq!(counted as u64, members);
    println!(
        "campaign to {enqueued} members: fully enqueued in {:.1} s ({:.0} deliveries/s); VmHWM {} MiB (after seeding, before enqueue: {} MiB)",
        elapsed.as_secs_f64(),
        enqueued as f64 / elapsed.as_secs_f64(),
        peak.map_or("?".into(), |k| (k / 1024).to_string()),
        before.map_or("?".into(), |k| (k / 1024).to_string()),
    );
    store.close().await;
    conn.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
        .await
        .expect("drop database");
}
