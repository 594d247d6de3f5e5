//! The send API through the whole product: a library system's account with a token whose
//! scope is sending, the daemon on PostgreSQL, Prosody, and the simulated modem on a
//! pseudo-terminal. A Kannel-style request made by curl (a client nobody on the team
//! wrote, as an ILS configured for Kannel would make it) leaves the modem as an SMS; a
//! JSON request retried with the same idempotency key leaves it once; its status follows
//! the text to `sent`; the librarian online meanwhile is told nothing about either text.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};
use support::daemon::Daemon;
use support::scene::{body, next_message, Scene};
use textgate_alert_service::tokens::TokenScope;
use textgate_alerts::{Role, Roles};
use textgate_modemsim::IncomingText;

const ILS: &str = "koha@library.test";
/// How long the text may take to reach `sent` (a debug build on a shared machine; a
/// bound, not a measurement).
const PATIENCE: Duration = Duration::from_secs(60);

async fn post_text(address: SocketAddr, token: &str, key: &str, body: &Value) -> (u16, Value) {
    let response = support::http::request(
        address,
        "POST",
        "/api/v1/texts",
        &format!(
            "Authorization: Bearer {token}\r\nContent-Type: application/json\r\nIdempotency-Key: {key}\r\n"
        ),
        &body.to_string(),
    )
    .await;
    let value =
        serde_json::from_str(&response.body).unwrap_or_else(|e| panic!("{e}: {}", response.body));
    (response.status, value)
}

async fn status(address: SocketAddr, token: &str, id: i64) -> Value {
    let response = support::http::request(
        address,
        "GET",
        &format!("/api/v1/texts/{id}"),
        &format!("Authorization: Bearer {token}\r\n"),
        "",
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    serde_json::from_str(&response.body).expect("JSON")
}

/// The text's status once it is `sent` or later, asked again each time the daemon logs
/// a line (the send and its record are logged).
async fn settled(daemon: &Daemon, address: SocketAddr, token: &str, id: i64) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let mut next = daemon.next_line();
        let now = status(address, token, id).await;
        if ["sent", "delivered", "failed"].contains(&now["state"].as_str().unwrap_or("")) {
            return now;
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if tokio::time::timeout(left, next.changed()).await.is_err() {
            let last = status(address, token, id).await;
            assert!(
                ["sent", "delivered"].contains(&last["state"].as_str().unwrap_or("")),
                "text {id} not sent within {PATIENCE:?}: {last}"
            );
            return last;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_library_system_sends_through_kannels_interface_and_the_send_api() {
    let mut scene = Scene::start_with_alerts().await;
    let address = support::http::address(&mut scene.daemon).await;
    let mut alice = scene.first_login("alice", "desk").await;
    let (daemon, modem) = (&scene.daemon, &scene.modem);

    // The library's ILS account: a text sender with a token whose scope is sending.
    let state = support::members::console(&scene.config).await;
    let id = state
        .accounts()
        .create_admin(
            ILS,
            "correct horse battery staple",
            Roles::new([Role::TextSender]),
        )
        .await
        .expect("the ILS account");
    let token = support::members::token(&state, id, TokenScope::Send).await;

    // Kannel's interface, as curl sends it.
    let url = format!("http://{address}/cgi-bin/sendsms");
    let curl = tokio::process::Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--get",
            "--write-out",
            "\n%{http_code}",
        ])
        .args(["--data-urlencode", &format!("username={ILS}")])
        .args(["--data-urlencode", &format!("password={token}")])
        .args(["--data-urlencode", "to=+15551234567"])
        .args([
            "--data-urlencode",
            "text=Your hold is ready: The Left Hand of Darkness.",
        ])
        .arg(&url)
        .output();
    let output = tokio::time::timeout(PATIENCE, curl)
        .await
        .expect("curl answers")
        .expect("curl runs");
    assert!(output.status.success(), "curl: {output:?}");
    let answer = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(answer, "0: Accepted for delivery\n202", "{answer}");
    modem.wait_sent_parts(1).await;

    // The JSON send API, with a retry of the same request (the ILS timed out).
    let renewal =
        json!({ "to": "+15551234567", "text": "Your loan was renewed until 17 December." });
    let (code, first) = post_text(address, &token, "renewal-7731", &renewal).await;
    assert_eq!(code, 202, "{first}");
    let text_id = first["id"].as_i64().expect("an id");
    let (code, again) = post_text(address, &token, "renewal-7731", &renewal).await;
    assert_eq!(
        (code, again["id"].as_i64()),
        (200, Some(text_id)),
        "{again}"
    );
    let settled = settled(daemon, address, &token, text_id).await;
    assert_eq!(settled["parts_sent"], 1, "{settled}");

    let sent: Vec<(String, String)> = modem
        .sim
        .sent_messages()
        .into_iter()
        .map(|m| (m.recipient, m.text))
        .collect();
    assert_eq!(
        sent,
        [
            (
                "+15551234567".to_owned(),
                "Your hold is ready: The Left Hand of Darkness.".to_owned()
            ),
            (
                "+15551234567".to_owned(),
                "Your loan was renewed until 17 December.".to_owned()
            ),
        ],
        "each text once"
    );
    // The audit log names both sends and the retry.
    let audit = state.logs().audit_log(20).await.expect("the audit log");
    let sends = audit.iter().filter(|e| e.action == "send-text").count();
    assert_eq!(sends, 3, "{audit:?}");
    // Alice was told nothing about the ILS's texts: the next message she gets is the
    // patron's answer, not a notice or an error about them.
    modem
        .sim
        .inject_text(&IncomingText::new("+15551234567", "Thanks!"))
        .expect("the patron texts");
    let next = next_message(&mut alice).await;
    assert_eq!(body(&next), "Thanks!", "{}", support::xmpp::to_xml(&next));
    state.store().close().await;
}
