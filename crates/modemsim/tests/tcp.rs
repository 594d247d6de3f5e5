//! The simulator on TCP, and its HTTP control API, spoken to with raw bytes.

mod common;

use std::time::Duration;

use common::{Host, ANSWER, SUBMIT_HELLO};
use textgate_gsm::pdu::{Pdu, SmscField, Tpdu};
use textgate_modemsim::{SimConfig, SimHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn start(config: SimConfig) -> (SimHandle, std::net::SocketAddr, std::net::SocketAddr) {
    let sim = SimHandle::new(config);
    let at = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind AT port");
    let control = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind control port");
    let at_addr = at.local_addr().expect("AT address");
    let control_addr = control.local_addr().expect("control address");
    tokio::spawn(textgate_modemsim::tcp::serve_tcp(sim.clone(), at));
    tokio::spawn(textgate_modemsim::control::serve_control(
        sim.clone(),
        control,
    ));
    (sim, at_addr, control_addr)
}

async fn connect(addr: std::net::SocketAddr) -> Host<TcpStream> {
    let stream = tokio::time::timeout(ANSWER, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    Host::new(stream)
}

/// One HTTP/1.1 request with `Connection: close`; returns the status code and the body.
async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    let exchange = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .expect("connect to the control API");
        let body = body.unwrap_or("");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: modemsim\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("send the request");
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .await
            .expect("read the response");
        response
    };
    let response = tokio::time::timeout(ANSWER, exchange)
        .await
        .expect("HTTP answer in time");
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let json = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    (status, json)
}

#[tokio::test]
async fn hosts_take_turns_on_the_tcp_port() {
    let (sim, at, _) = start(SimConfig::instant()).await;
    let mut first = connect(at).await;
    assert_eq!(first.command("ATE0").await, "ATE0\r\r\nOK\r\n");
    assert_eq!(
        first.send_pdu(24, SUBMIT_HELLO).await,
        "\r\n+CMGS: 0\r\n\r\nOK\r\n"
    );
    drop(first);
    // The next host finds the modem as the last one left it (echo off), like a real port.
    let mut second = connect(at).await;
    assert_eq!(
        second.command("AT+CGMM").await,
        "\r\nSimulated GSM modem\r\n\r\nOK\r\n"
    );
    assert_eq!(sim.counters().sends, 1);
}

#[tokio::test]
async fn disconnect_drops_the_tcp_host() {
    let (sim, at, _) = start(SimConfig::instant()).await;
    let mut host = connect(at).await;
    host.command("ATE0").await;
    sim.disconnect(Duration::from_secs(3600));
    host.expect_hang_up().await;
    // During the outage a connection is accepted and closed at once.
    let mut refused = connect(at).await;
    assert_eq!(refused.expect_hang_up().await, "");
    sim.restore_link();
    let mut again = connect(at).await;
    assert_eq!(again.command("AT").await, "\r\nOK\r\n");
}

#[tokio::test]
async fn control_api_injects_a_long_text_read_back_with_cmgl() {
    let (_sim, at, control) = start(SimConfig::instant()).await;
    let mut host = connect(at).await;
    host.command("ATE0;+CNMI=2,1,0,2,0").await;

    // 400 characters of GSM 7-bit text: three parts of at most 153 septets.
    let text: String = "The library is open from nine to five. "
        .repeat(11)
        .chars()
        .take(400)
        .collect();
    let body = serde_json::json!({ "from": "+15551234567", "text": text, "order": "reversed" });
    let (status, report) = http(control, "POST", "/sms", Some(&body.to_string())).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["parts"], 3);
    assert_eq!(report["delivered"], serde_json::json!([3, 2, 1]));
    for index in 1..=3 {
        host.expect(&format!("+CMTI: \"SM\",{index}\r\n")).await;
    }

    let listing = host.command("AT+CMGL=4").await;
    let lines: Vec<&str> = listing.split("\r\n").filter(|l| !l.is_empty()).collect();
    let mut parts = Vec::new();
    for pair in lines.chunks(2) {
        let [header, pdu] = pair else { continue };
        assert!(header.starts_with("+CMGL: "), "{header:?}");
        let decoded = Pdu::decode_hex(pdu, SmscField::Present).expect("a valid DELIVER");
        let Tpdu::Deliver(deliver) = decoded.tpdu else {
            panic!("expected a DELIVER");
        };
        let concatenation = deliver
            .user_data
            .header
            .as_ref()
            .and_then(|h| h.concatenation())
            .expect("a concatenation header");
        assert_eq!(concatenation.total, 3);
        parts.push((
            concatenation.sequence,
            deliver.user_data.as_text().unwrap_or("").to_owned(),
        ));
    }
    assert_eq!(
        parts.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![3, 2, 1]
    );
    parts.sort();
    let joined: String = parts.into_iter().map(|(_, t)| t).collect();
    assert_eq!(joined, text);

    let (_, counters) = http(control, "GET", "/counters", None).await;
    assert_eq!(counters["stored"], 3);
    assert_eq!(counters["reads"], 3);
}

#[tokio::test]
async fn control_api_lists_sends_and_injects_faults() {
    let (_sim, at, control) = start(SimConfig::instant()).await;
    let mut host = connect(at).await;
    host.command("ATE0").await;

    let fault = serde_json::json!({ "send_error": { "code": 500, "next": 1 } });
    let (status, faults) = http(control, "POST", "/faults", Some(&fault.to_string())).await;
    assert_eq!(status, 200);
    assert_eq!(faults["send_error"]["code"], 500);
    assert_eq!(
        host.send_pdu(24, SUBMIT_HELLO).await,
        "\r\n+CMS ERROR: 500\r\n"
    );
    assert_eq!(
        host.send_pdu(24, SUBMIT_HELLO).await,
        "\r\n+CMGS: 0\r\n\r\nOK\r\n"
    );

    let (_, sent) = http(control, "GET", "/sent", None).await;
    assert_eq!(sent["messages"][0]["recipient"], "+27820001111");
    assert_eq!(sent["messages"][0]["text"], "Hello World!");
    assert_eq!(sent["messages"][0]["complete"], true);
    assert_eq!(sent["parts"][0]["reference"], 0);

    let (status, error) = http(control, "POST", "/faults", Some("{\"hang\": \"yes\"}")).await;
    assert_eq!(status, 422, "{error}");
    let (status, error) = http(
        control,
        "POST",
        "/sms",
        Some("{\"from\": \"+1555\", \"text\": \"x\", \"reference_bits\": \"bits9\"}"),
    )
    .await;
    assert_eq!(status, 422, "{error}");

    let (status, _) = http(control, "DELETE", "/faults", None).await;
    assert_eq!(status, 200);
    let (_, counters) = http(control, "GET", "/counters", None).await;
    assert_eq!(counters["sends"], 1);
    assert_eq!(counters["send_failures"], 1);
}

#[tokio::test]
async fn a_send_cut_off_by_a_disconnect_never_went_out() {
    // A send that takes a minute: the link drops long before the network answers.
    let (sim, at, _) = start(SimConfig {
        send_latency: Duration::from_secs(60),
        ..SimConfig::instant()
    })
    .await;
    let mut host = connect(at).await;
    host.command("ATE0").await;
    let prompt = host.command("AT+CMGS=24").await;
    assert_eq!(prompt, "\r\n> ");
    host.send(&format!("{SUBMIT_HELLO}\x1a")).await;
    sim.wait_until(ANSWER, |m| m.sending())
        .await
        .expect("the send is on the air");
    sim.disconnect(Duration::from_millis(10));
    host.expect_hang_up().await;
    sim.wait_until(ANSWER, |m| m.counters().aborted_sends == 1)
        .await
        .expect("the send was aborted");
    assert!(sim.sent_parts().is_empty());
    assert!(!sim.inspect(|m| m.sending()));
}
