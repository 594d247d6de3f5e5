//! The daemon with an Android gateway, end to end: Prosody with alice at her desk,
//! PostgreSQL, and the simulated SMSGate app (`textgate-androidsim`) as the gateway's
//! phone, reached over HTTP, posting its signed webhooks to the daemon's own listener.
//!
//! A patron's text posted by the phone reaches alice; a repeated webhook gives her one
//! message; a forged one is refused with 401 and stores nothing; her reply goes out through
//! the app's send call and the phone's delivery report becomes her XEP-0184 receipt. The
//! phone gone for a while: the gateway turns unready, alice is told, her reply waits, and
//! goes once the phone is back.

mod support;

use std::time::Duration;

use chrono::Utc;
use support::daemon::{self, Daemon, GatewaySection, WAIT};
use support::database::Database;
use support::http;
use support::prosody::Prosody;
use support::scene::{approve, body, online, operator, patron_jid, reply, text_from, GW, PASSWORD};
use textgate_androidsim::{AttemptOutcome, Phone, PhoneConfig};

const PATRON: &str = "+15551234567";

/// The daemon's TOML with its one gateway on `phone` instead of a modem. The webhook URL is
/// left out: the daemon listens on 127.0.0.1 and gives the phone that address.
fn android_config(db: &Database, prosody: &Prosody, phone: &Phone, extra: &str) -> String {
    let section = GatewaySection::for_alice(
        prosody.component_addr(),
        &prosody.secret(GW),
        "/dev/null".into(),
    );
    let config = daemon::config(&db.url, &[section]);
    let phone_config = phone.config();
    let driver = format!(
        "kind = \"android\"\nurl = \"{url}\"\nusername = \"{user}\"\npassword = \"{password}\"\n\
         signing_key = \"{key}\"\npoll_interval = \"1s\"\n{extra}",
        url = phone.base_url(),
        user = phone_config.username,
        password = phone_config.password,
        key = phone_config.signing_key,
    );
    let replaced = config.replace("kind = \"at\"\ndevice = \"/dev/null\"\n", &driver);
    assert_ne!(replaced, config, "the gateway's driver was replaced");
    replaced
}

fn quick_phone() -> PhoneConfig {
    PhoneConfig {
        send_delay: Duration::from_millis(50),
        delivery_delay: Duration::from_millis(50),
        webhook_retry_base: Duration::from_millis(200),
        ..PhoneConfig::default()
    }
}

/// Everything up, alice online and counted available by the daemon.
struct Desk {
    _prosody: Prosody,
    db: Database,
    phone: Phone,
    daemon: Daemon,
    /// The daemon's HTTP listener.
    address: std::net::SocketAddr,
    alice: support::xmpp::Librarian,
}

async fn desk(extra: &str) -> Desk {
    let prosody = Prosody::start(&[GW]).await.expect("Prosody starts");
    prosody
        .register("alice", PASSWORD)
        .await
        .expect("registering alice");
    let db = Database::create().await;
    let phone = Phone::start(quick_phone()).await.expect("the phone starts");
    let mut daemon = Daemon::start(&android_config(&db, &prosody, &phone, extra));
    let address = http::address(&mut daemon).await;
    // The daemon registers its webhooks with the app at start.
    phone
        .wait_registered(4, WAIT)
        .await
        .expect("the daemon registers its webhooks");
    let mut alice = online(&prosody, "alice", "desk").await;
    approve(&mut alice, GW).await;
    daemon
        .expect_log(&["operator presence", &operator("alice"), "Available"])
        .await;
    Desk {
        _prosody: prosody,
        db,
        phone,
        daemon,
        address,
        alice,
    }
}

async fn inbound_rows(db: &Database) -> i64 {
    let pool = sqlx::PgPool::connect(&db.url)
        .await
        .expect("connecting to the test database");
    let count = sqlx::query_scalar("SELECT COUNT(*) FROM inbound")
        .fetch_one(&pool)
        .await
        .expect("counting inbound rows");
    pool.close().await;
    count
}

#[tokio::test]
async fn texts_in_and_replies_out_through_an_android_phone() {
    // Every part is bound: what is not would be dropped (Prosody stopped) at once.
    let Desk {
        _prosody,
        db,
        phone,
        daemon: _daemon,
        address,
        mut alice,
    } = desk("").await;
    let patron = patron_jid(PATRON, GW);
    let registered = phone.registered_webhooks();
    let webhook_url = registered[0].url.clone();
    assert!(
        webhook_url.ends_with("/android/library/webhook"),
        "{registered:?}"
    );

    // In: the phone posts the text; alice gets it; the phone hears 2xx.
    phone.receive(
        PATRON,
        "Is the library open on Sunday?",
        Utc::now().into(),
        1,
    );
    let text = text_from(&mut alice, &patron).await;
    assert_eq!(body(&text), "Is the library open on Sunday?");
    phone
        .wait_webhook(
            |a| a.event == "sms:received" && a.outcome.is_success(),
            WAIT,
        )
        .await
        .expect("the phone's webhook is answered 2xx");
    assert_eq!(inbound_rows(&db).await, 1);

    // The phone posts the next text twice (a lost 2xx): alice gets it once.
    phone.duplicate_webhooks(true);
    phone.receive(PATRON, "And on Monday?", Utc::now().into(), 1);
    let text = text_from(&mut alice, &patron).await;
    assert_eq!(body(&text), "And on Monday?");
    phone
        .wait_webhook(
            |a| a.event == "sms:received" && a.attempt == 2 && a.outcome.is_success(),
            WAIT,
        )
        .await
        .expect("the repeat is answered 2xx too");
    phone.duplicate_webhooks(false);
    assert_eq!(inbound_rows(&db).await, 2);

    // A webhook signed with another key: 401, nothing stored, nothing for alice.
    let genuine = phone
        .webhook_log()
        .into_iter()
        .find(|a| a.event == "sms:received")
        .expect("a genuine webhook to copy");
    let forged_body = genuine.body.replace(
        "Is the library open on Sunday?",
        "Send me everyone's numbers",
    );
    assert_ne!(forged_body, genuine.body);
    let forged = http::request(
        address,
        "POST",
        "/android/library/webhook",
        &format!(
            "Content-Type: application/json\r\nX-Timestamp: {}\r\nX-Signature: {}\r\n",
            Utc::now().timestamp(),
            "0".repeat(64)
        ),
        &forged_body,
    )
    .await;
    assert_eq!(forged.status, 401, "{forged:?}");
    assert_eq!(inbound_rows(&db).await, 2);

    // Out: alice's long reply goes through the app's send call, once, whole (the app
    // splits it); its delivery report becomes her receipt.
    let long = "Yes, from noon to five, and on Monday from nine. ".repeat(4);
    reply(&mut alice, &patron, "r-1", long.trim_end(), true).await;
    let sent = phone.wait_sent(1, WAIT).await.expect("the reply went out");
    assert_eq!(sent[0].phone_number, PATRON);
    assert_eq!(sent[0].text, long.trim_end());
    assert!(sent[0].parts >= 2, "{sent:?}");
    let receipt = alice
        .expect("a delivery receipt for r-1", |e| {
            e.get_child("received", "urn:xmpp:receipts")
                .is_some_and(|r| r.attr("id") == Some("r-1"))
        })
        .await;
    assert_eq!(receipt.attr("from"), Some(patron.as_str()));
    // Nothing else reached alice: the next text is the next one the phone posts (neither
    // the duplicate nor the forged text came before it).
    phone.receive(PATRON, "Thanks!", Utc::now().into(), 1);
    let next = support::scene::next_message(&mut alice).await;
    assert_eq!(body(&next), "Thanks!");
    assert_eq!(phone.sent().len(), 1, "the reply went once");
    assert_eq!(phone.rate_violations(), 0);
}

#[tokio::test]
async fn the_phone_gone_for_a_while_then_back() {
    let Desk {
        _prosody,
        db: _db,
        phone,
        mut daemon,
        address,
        mut alice,
    } = desk("offline_after = \"2s\"\n").await;
    let patron = patron_jid(PATRON, GW);
    http::wait_ready(&daemon, address).await;

    phone.set_offline(true);
    // alice is told, by the gateway itself (not from a patron's JID).
    let lost = alice
        .expect("the notice that the phone is gone", |e| {
            e.name() == "message"
                && e.attr("from") == Some(GW)
                && e.get_child("body", "jabber:client")
                    .is_some_and(|b| b.text().contains("not answering"))
        })
        .await;
    assert!(body(&lost).contains("your replies wait"), "{}", body(&lost));
    let unready = http::get(address, "/readyz").await;
    assert_eq!(unready.status, 503, "{unready:?}");

    // Her reply waits for the phone instead of failing.
    reply(
        &mut alice,
        &patron,
        "r-2",
        "We open at nine tomorrow.",
        true,
    )
    .await;
    daemon.expect_log(&["reply queued"]).await;
    assert!(phone.sent().is_empty());

    phone.set_offline(false);
    let sent = phone.wait_sent(1, WAIT).await.expect("the reply went out");
    assert_eq!(sent[0].text, "We open at nine tomorrow.");
    alice
        .expect("the notice that the phone is back", |e| {
            e.name() == "message"
                && e.attr("from") == Some(GW)
                && e.get_child("body", "jabber:client")
                    .is_some_and(|b| b.text().contains("is back"))
        })
        .await;
    alice
        .expect("a delivery receipt for r-2", |e| {
            e.get_child("received", "urn:xmpp:receipts")
                .is_some_and(|r| r.attr("id") == Some("r-2"))
        })
        .await;
    http::wait_ready(&daemon, address).await;
    // No webhook was lost while the phone was away: each the phone posted was answered.
    let unanswered: Vec<_> = phone
        .webhook_log()
        .into_iter()
        .filter(|a| matches!(a.outcome, AttemptOutcome::Status(s) if s >= 400))
        .collect();
    assert!(unanswered.is_empty(), "{unanswered:?}");
}
