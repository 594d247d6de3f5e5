//! The daemon's telemetry seen from outside: `/readyz` turns 200 once the component is
//! connected and the modem ready, and `/metrics` counts a text in and a reply out.

mod support;

use support::http::{self, series};
use support::scene::{body, patron_jid, reply, text_from, Scene, GW, PATRON};
use textgate_modemsim::IncomingText;

const TEXTS_IN: &str = r#"textgate_texts_in_total{gateway="library"}"#;
const TEXTS_OUT: &str = r#"textgate_texts_out_total{gateway="library"}"#;
const PARTS_OUT: &str = r#"textgate_sms_parts_out_total{gateway="library"}"#;
const XMPP_CONNECTED: &str = r#"textgate_xmpp_connected{gateway="library"}"#;
const MODEM_READY: &str = r#"textgate_modem_ready{gateway="library"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_a_text_in_and_a_reply_out_and_readyz_turns_ready() {
    let mut scene = Scene::start("").await;
    let address = http::address(&mut scene.daemon).await;
    assert_eq!(http::get(address, "/healthz").await.status, 200);

    let ready = http::wait_ready(&scene.daemon, address).await;
    assert_eq!(
        ready.body,
        "ready\nlibrary: component connected, modem ready\n"
    );
    let before = http::get(address, "/metrics").await;
    assert_eq!(before.status, 200);
    let gauges = (
        series(&before.body, XMPP_CONNECTED),
        series(&before.body, MODEM_READY),
    );
    assert_eq!(gauges, (1.0, 1.0), "{}", before.body);

    let mut alice = scene.first_login("alice", "desk").await;
    let patron = patron_jid(PATRON, GW);
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Do you have the new atlas?"))
        .unwrap();
    assert_eq!(
        body(&text_from(&mut alice, &patron).await),
        "Do you have the new atlas?"
    );
    reply(
        &mut alice,
        &patron,
        "r-1",
        &"Yes, on the shelf. ".repeat(10),
        false,
    )
    .await;
    scene.modem.wait_sent_parts(2).await;
    // The counter moves after the send is recorded, which the operator hears of next.
    assert_eq!(
        body(&text_from(&mut alice, GW).await),
        "+1 555-123-4567: (sent as 2 SMS)"
    );

    let after = http::get(address, "/metrics").await;
    let moved: Vec<(&str, f64)> = [TEXTS_IN, TEXTS_OUT, PARTS_OUT]
        .into_iter()
        .map(|name| (name, series(&after.body, name) - series(&before.body, name)))
        .collect();
    assert_eq!(
        moved,
        [(TEXTS_IN, 1.0), (TEXTS_OUT, 1.0), (PARTS_OUT, 2.0)],
        "{}",
        after.body
    );
}
