//! An emergency alert through a daemon whose only gateway is a message centre: node-smpp's
//! SMSC (`textgate_testkit::smsc`, written by nobody on the team). The alert is sent
//! through the JSON API; every member gets one `submit_sm` with the alert text, the SMSC's
//! delivery receipts come back, and the campaign's progress counts each member delivered.

mod support;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use support::daemon::{self, Daemon, GatewaySection};
use support::database::Database;
use support::members::{self, Member};
use support::prosody::Prosody;
use support::scene::{ALERTS, GW};
use textgate_testkit::smsc::Smsc;

const ALERT: &str = "Shelter in place: a severe storm is near the library. Stay inside, away \
                     from windows, until staff say it is safe.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_reaches_every_member_through_the_message_centre_and_counts_delivered() {
    let prosody = Prosody::start(&[GW]).await.expect("Prosody starts");
    let db = Database::create().await;
    let mut smsc = Smsc::start().await.expect("the SMSC starts");
    let section = GatewaySection::for_alice(
        prosody.component_addr(),
        &prosody.secret(GW),
        "/dev/null".into(),
    );
    let config = daemon::on_smsc(
        &daemon::config_with(&db.url, ALERTS, &[section]),
        smsc.port,
        "max_per_second = 100\nsource_addr = \"12345\"\n",
    );
    let mut daemon = Daemon::start(&config);
    let address = support::http::address(&mut daemon).await;
    support::http::wait_ready(&daemon, address).await;
    smsc.next("bind").await;

    let state = members::console(&config).await;
    let token = members::emergency_admin_token(&state).await;
    let numbers = [
        "+12015550131",
        "+12015550132",
        "+12015550133",
        "+12015550134",
        "+12015550135",
    ];
    let everyone: Vec<Member> = numbers.iter().map(|n| Member::new(*n, None)).collect();
    members::seed(&state, &everyone).await;

    let started = support::http::api(
        address,
        &token,
        "POST",
        "/api/v1/campaigns",
        &json!({ "audience": "everyone", "text": ALERT }),
    )
    .await;
    let id = started["id"].as_i64().expect("campaign id");

    let mut reached = BTreeSet::new();
    for _ in numbers {
        let submit = smsc.next("submit_sm").await;
        assert_eq!(submit["message"], ALERT, "{submit}");
        assert_eq!(submit["registered_delivery"], 1, "{submit}");
        reached.insert(format!(
            "+{}",
            submit["destination_addr"].as_str().unwrap_or_default()
        ));
    }
    let expected: BTreeSet<String> = numbers.iter().map(|n| n.to_string()).collect();
    assert_eq!(reached, expected, "one text per member");
    smsc.until_count("receipt_resp", numbers.len()).await;
    assert!(
        smsc.seen
            .iter()
            .filter(|e| e["event"] == "receipt_resp")
            .all(|e| e["command_status"] == 0),
        "every receipt answered as taken"
    );

    // The receipts count as delivered in the campaign's progress.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut logged = daemon.next_line();
    loop {
        let progress = support::http::api(
            address,
            &token,
            "GET",
            &format!("/api/v1/campaigns/{id}"),
            &Value::Null,
        )
        .await;
        if progress["counts"]["delivered"] == json!(numbers.len()) {
            assert_eq!(progress["total"], json!(numbers.len()), "{progress}");
            assert_eq!(progress["counts"]["failed"], json!(0), "{progress}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the receipts were not counted: {progress}"
        );
        // Each receipt recorded is logged; ask again after the next line.
        let _ = tokio::time::timeout_at(deadline, logged.changed()).await;
        logged = daemon.next_line();
    }
    state.store().close().await;
}
