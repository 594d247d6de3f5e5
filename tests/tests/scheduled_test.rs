//! A scheduled test that comes due while the daemon is down is sent when it starts again,
//! once: the daemon is killed with SIGKILL with a test scheduled, the schedule's time
//! passes meanwhile, and the restarted daemon's minute job (which runs at start-up) starts
//! the test campaign and moves the schedule on.

mod support;

use support::daemon::{self, Daemon, GatewaySection};
use support::database::Database;
use support::members;
use support::modem::Modem;
use support::prosody::Prosody;
use support::scene::{ALERTS, GW};
use textgate_alert_service::{Actor, Credential};

const TEXT: &str = "TEST ONLY: the monthly test of the alert system. No action needed.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_due_while_the_daemon_was_down_goes_out_when_it_starts_again() {
    let prosody = Prosody::start(&[GW]).await.expect("Prosody starts");
    let db = Database::create().await;
    let modem = Modem::start().await;
    let section = GatewaySection::for_alice(
        prosody.component_addr(),
        &prosody.secret(GW),
        modem.path.clone(),
    );
    let config = daemon::config_with(&db.url, ALERTS, &[section]);
    let mut daemon = Daemon::start(&config);
    daemon.expect_log(&["component connected"]).await;

    let state = members::console(&config).await;
    let admin = state
        .accounts()
        .create_admin(
            "tech@library.test",
            "correct horse battery staple",
            textgate_alerts::Roles::new([
                textgate_alerts::Role::TechnicalAdministrator,
                textgate_alerts::Role::Member,
            ]),
        )
        .await
        .expect("create the technical administrator");
    let account = state
        .accounts()
        .get(admin)
        .await
        .expect("read the account")
        .expect("the account");
    let actor = Actor {
        account: &account,
        ip: "192.0.2.1",
        credential: Credential::Session,
    };
    let at = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    let id = state
        .schedules()
        .create(&actor, TEXT, at, Some(30))
        .await
        .expect("schedule the test");

    daemon.kill();
    // The hour passes while the daemon is down.
    let textgate_store::Database::Postgres(pool) = state.store().database() else {
        panic!("PostgreSQL")
    };
    let due = chrono::Utc::now() - chrono::TimeDelta::minutes(1);
    sqlx::query("UPDATE alert_schedules SET next_at = $1 WHERE id = $2")
        .bind(due)
        .bind(id)
        .execute(pool)
        .await
        .expect("move the schedule");
    let tests_before: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM alert_sends WHERE kind = 'test'")
            .fetch_one(pool)
            .await
            .expect("count tests");
    assert_eq!(tests_before, 0);

    daemon.restart();
    daemon.expect_log(&["scheduled test started"]).await;
    let (campaign, next_at, schedule_state): (Option<i64>, chrono::DateTime<chrono::Utc>, String) =
        sqlx::query_as("SELECT last_campaign_id, next_at, state FROM alert_schedules WHERE id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
            .expect("read the schedule");
    let campaign = campaign.expect("the schedule names the test it started");
    let (kind, body, email): (String, String, String) =
        sqlx::query_as("SELECT kind, body, account_email FROM alert_sends WHERE id = $1")
            .bind(campaign)
            .fetch_one(pool)
            .await
            .expect("read the campaign");
    assert_eq!((kind.as_str(), body.as_str()), ("test", TEXT));
    assert_eq!(email, "tech@library.test");
    assert_eq!(schedule_state, "scheduled");
    assert_eq!(
        next_at.timestamp(),
        (due + chrono::TimeDelta::days(30)).timestamp(),
        "moved on to the next month"
    );
    let tests_after: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM alert_sends WHERE kind = 'test'")
            .fetch_one(pool)
            .await
            .expect("count tests");
    assert_eq!(tests_after, 1, "started once");
}
