//! Alerts over XMPP through the daemon: with `[alerts.xmpp]` configured, `textgate run`
//! connects the alerts' own component to Prosody, joins the staff room, and a campaign (here
//! a scheduled test that came due while the daemon was down) reaches the staff room as a
//! groupchat message and the staff JID as a chat message, from the component's address.

mod support;

use support::daemon::{self, Daemon, GatewaySection};
use support::database::Database;
use support::members;
use support::modem::Modem;
use support::prosody::{ProsodySetup, HOST};
use support::scene::{ALERTS, GW};
use support::xmpp::Librarian;
use textgate_alert_service::{Actor, Credential};

const COMPONENT: &str = "alerts.library.test";
const ROOM: &str = "staff@conference.library.test";
const TEXT: &str = "TEST ONLY: the monthly test of the alert system. No action needed.";

fn body(element: &support::xmpp::Element) -> String {
    element
        .get_child("body", "jabber:client")
        .map(|b| b.text())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_reaches_the_staff_room_and_staff_over_xmpp() {
    let prosody = ProsodySetup::new()
        .component(GW, "gateway-secret")
        .component(COMPONENT, "alerts-secret")
        .muc("conference.library.test")
        .start()
        .await
        .expect("Prosody starts");
    for user in ["alice", "chief", "duty"] {
        prosody.register(user, "pw").await.expect("registered");
    }
    // The staff room exists (the chief made it and accepted its defaults) before the
    // daemon starts, as a sysadmin would have set it up.
    let addr = prosody.c2s_addr();
    let mut chief = Librarian::login(&addr, HOST, "chief", "pw", "laptop")
        .await
        .expect("chief logs in");
    chief
        .send(&format!(
            "<presence xmlns='jabber:client' to='{ROOM}/chief'><x xmlns='http://jabber.org/protocol/muc'/></presence>"
        ))
        .await;
    chief
        .expect("in the room", |e| {
            e.name() == "presence" && e.attr("from") == Some(&format!("{ROOM}/chief"))
        })
        .await;
    chief
        .send(&format!(
            "<iq xmlns='jabber:client' type='set' id='instant' to='{ROOM}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>"
        ))
        .await;
    chief
        .expect("the room unlocked", |e| {
            e.attr("id") == Some("instant") && e.attr("type") == Some("result")
        })
        .await;
    let mut duty = Librarian::login(&addr, HOST, "duty", "pw", "desk")
        .await
        .expect("duty logs in");
    duty.come_online().await.expect("duty online");

    let db = Database::create().await;
    let modem = Modem::start().await;
    let section = GatewaySection::for_alice(
        prosody.component_addr(),
        "gateway-secret",
        modem.path.clone(),
    );
    let sections = format!(
        "{ALERTS}
[alerts.xmpp]
component = \"{COMPONENT}\"
secret = \"alerts-secret\"
server = \"{}\"
room = \"{ROOM}\"
staff = [\"duty@{HOST}\"]
",
        prosody.component_addr()
    );
    let config = daemon::config_with(&db.url, &sections, &[section]);

    // A scheduled test, due now: the daemon's first minute job starts it.
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
        .create(&actor, TEXT, at, None)
        .await
        .expect("schedule the test");
    let textgate_store::Database::Postgres(pool) = state.store().database() else {
        panic!("PostgreSQL")
    };
    sqlx::query("UPDATE alert_schedules SET next_at = $1 WHERE id = $2")
        .bind(chrono::Utc::now() - chrono::TimeDelta::minutes(1))
        .bind(id)
        .execute(pool)
        .await
        .expect("make the schedule due");

    let mut daemon = Daemon::start(&config);
    daemon
        .expect_log(&["alerts component joined the staff room"])
        .await;
    daemon.expect_log(&["scheduled test started"]).await;

    let expected = format!("Test: {TEXT}");
    let in_room = chief
        .expect("the test in the staff room", |e| {
            e.name() == "message" && e.attr("type") == Some("groupchat") && !body(e).is_empty()
        })
        .await;
    assert_eq!(in_room.attr("from"), Some(&*format!("{ROOM}/Alerts")));
    assert_eq!(body(&in_room), expected);
    let to_staff = duty
        .expect("the test to the staff JID", |e| {
            e.name() == "message" && e.attr("from") == Some(COMPONENT)
        })
        .await;
    assert_eq!(body(&to_staff), expected);

    // The row is marked once the stanza is written, which may be just after it arrived.
    let sent = tokio::time::timeout(support::xmpp::WAIT, async {
        loop {
            let sent: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM alert_xmpp_deliveries WHERE state = 'sent'",
            )
            .fetch_one(pool)
            .await
            .expect("count");
            if sent >= 2 {
                return sent;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("both marked sent in time");
    assert_eq!(sent, 2, "the room and the staff JID, each once");
}
