//! A campaign interrupted while its deliveries are being put in the outbox is finished
//! after a restart, and nobody gets the alert twice: the daemon is killed with SIGKILL
//! (a crash or a power cut) part-way through enqueueing an alert to 5,000 members, as seen
//! through the progress API, and started again; it resumes the campaign on its own and the
//! outbox ends with exactly one delivery per member.

mod support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};
use support::daemon::{self, Daemon, GatewaySection};
use support::database::Database;
use support::members::{self, Member};
use support::modem::Modem;
use support::prosody::Prosody;
use support::scene::{operator, ALERTS, GW};

/// Enough members that the enqueueing takes seconds, so that the test reliably sees it
/// part-way (it checks that it did).
const MEMBERS: usize = 5_000;
/// How long the whole campaign may take to be enqueued (two runs of a debug build on a
/// shared machine; a bound, not a measurement).
const PATIENCE: Duration = Duration::from_secs(600);

async fn progress(address: SocketAddr, token: &str, id: i64) -> Value {
    let response = support::http::request(
        address,
        "GET",
        &format!("/api/v1/campaigns/{id}"),
        &format!("Authorization: Bearer {token}\r\n"),
        "",
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    serde_json::from_str(&response.body).expect("a JSON answer")
}

fn count(progress: &Value, key: &str) -> u64 {
    progress[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in {progress}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_killed_mid_enqueue_is_resumed_after_a_restart_without_duplicates() {
    let prosody = Prosody::start(&[GW]).await.expect("Prosody starts");
    let db = Database::create().await;
    let modem = Modem::start().await;
    // One text a minute: the outbox has almost nothing due while the test runs, so the
    // modem stays out of the way of the enqueueing being tested.
    let section = GatewaySection {
        name: "library".into(),
        domain: GW.into(),
        secret: prosody.secret(GW),
        server: prosody.component_addr(),
        operators: vec![operator("alice")],
        device: modem.path.clone(),
        extra: "rate_limit_per_minute = 1\n".into(),
        driver_extra: String::new(),
        max_attempts: 3,
    };
    let config = daemon::config_with(&db.url, ALERTS, &[section]);
    let mut daemon = Daemon::start(&config);
    let address = support::http::address(&mut daemon).await;

    let state = members::console(&config).await;
    let token = members::emergency_admin_token(&state).await;
    let numbers: Vec<String> = (0..MEMBERS)
        .map(|i| format!("+1201{:07}", 2_000_000 + i))
        .collect();
    let everyone: Vec<Member> = numbers.iter().map(|n| Member::new(n, None)).collect();
    members::seed(&state, &everyone).await;

    let response = support::http::request(
        address,
        "POST",
        "/api/v1/campaigns",
        &format!("Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"),
        &json!({ "audience": "everyone", "text": "Campus alert: the library is closed today. Reply STOP to opt out." })
            .to_string(),
    )
    .await;
    assert_eq!(response.status, 201, "{}", response.body);
    let started: Value = serde_json::from_str(&response.body).expect("JSON");
    let id = started["id"].as_i64().expect("campaign id");

    // Watch the progress until part of the deliveries are in the outbox, then pull the
    // plug. Each answer takes a round trip through the daemon and the database, which
    // paces the loop.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let seen = loop {
        let p = progress(address, &token, id).await;
        assert_eq!(
            p["state"],
            json!("enqueueing"),
            "finished before the kill: {p}"
        );
        assert_eq!(count(&p, "total"), MEMBERS as u64, "{p}");
        if count(&p, "in_outbox") >= 1 {
            break count(&p, "in_outbox");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing enqueued: {p}"
        );
    };
    daemon.kill();

    let textgate_store::Database::Postgres(pool) = state.store().database() else {
        panic!("PostgreSQL")
    };
    let at_kill: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbound WHERE campaign_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("count the outbox");
    let at_kill = u64::try_from(at_kill).expect("a count");
    assert!(
        (seen..MEMBERS as u64).contains(&at_kill),
        "killed part-way: {at_kill} of {MEMBERS} in the outbox (the page saw {seen})"
    );
    let state_row: Option<String> =
        sqlx::query_scalar("SELECT campaign_state FROM alert_sends WHERE id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
            .expect("read the campaign");
    assert_eq!(state_row.as_deref(), Some("enqueueing"));

    eprintln!("killed with {at_kill} of {MEMBERS} deliveries in the outbox");
    let restarted = tokio::time::Instant::now();
    daemon.restart();
    let address = support::http::address(&mut daemon).await;
    // The progress page tells the truth meanwhile: still enqueueing, at least what was in
    // the outbox at the kill and never more than the members, until it is done. Asked
    // again each time the daemon logs a line (it logs when it resumes and when it is done).
    let finished = loop {
        let mut logged = daemon.next_line();
        let p = progress(address, &token, id).await;
        let in_outbox = count(&p, "in_outbox");
        assert!((at_kill..=MEMBERS as u64).contains(&in_outbox), "{p}");
        match p["state"].as_str() {
            Some("enqueued") => break p,
            Some("enqueueing") => {}
            other => panic!("campaign state {other:?}: {p}"),
        }
        let waited = tokio::time::timeout_at(deadline, logged.changed()).await;
        assert!(waited.is_ok(), "not resumed in time: {p}");
    };
    assert_eq!(count(&finished, "in_outbox"), MEMBERS as u64, "{finished}");
    assert_eq!(finished["enqueued"], json!(true), "{finished}");
    eprintln!(
        "resumed and finished {:?} after the restart",
        restarted.elapsed()
    );
    let log = daemon.log();
    assert!(
        log.lines()
            .any(|l| l.contains("campaign enqueueing resumed")
                && l.contains(&format!("\"campaign\":{id}"))),
        "the restarted daemon resumed the campaign:\n{log}"
    );

    let recipients: Vec<String> =
        sqlx::query_scalar("SELECT recipient FROM outbound WHERE campaign_id = $1")
            .bind(id)
            .fetch_all(pool)
            .await
            .expect("read the outbox");
    assert_eq!(recipients.len(), MEMBERS, "one delivery per member");
    let distinct: HashSet<&String> = recipients.iter().collect();
    assert_eq!(distinct.len(), MEMBERS, "nobody has two deliveries");
    let members: HashSet<&String> = numbers.iter().collect();
    assert_eq!(distinct, members, "every member, and only members");

    state.store().close().await;
    drop(modem);
}
