//! `--self-test`: the whole path of a text and its answer through the real daemon. A patron's
//! text goes onto the simulated network, alice (testkit's librarian client) receives it and
//! replies, the reply must leave the simulated modem as SMS, and the daemon's /metrics must
//! count both.

use std::time::Duration;

use anyhow::{bail, Context};
use textgate_modemsim::sim::IncomingText;
use textgate_modemsim::SimHandle;
use textgate_testkit::prosody::HOST;
use textgate_testkit::xmpp::Librarian;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::instructions::say;
use crate::{GATEWAY, PATRON, STEP_TIMEOUT};

/// Runs the self-test against the daemon whose HTTP listener is on `http_port`, as alice
/// (with `password`) on the c2s listener `c2s`.
pub async fn run(sim: &SimHandle, c2s: &str, password: &str, http_port: u16) -> anyhow::Result<()> {
    let question = "Is the library open on Sunday? (demo self-test)";
    let answer = "Yes, from 12 to 5. (demo self-test reply)";
    sim.inject_text(&IncomingText::new(PATRON, question))
        .context("injecting the patron's text")?;
    say("self-test: the patron's text is on the simulated network");

    let mut alice = Librarian::login(c2s, HOST, "alice", password, "demo")
        .await
        .context("alice logging in")?;
    say("self-test: alice logged in");
    // As clients do: come online (roster, then presence; Prosody then delivers pending
    // subscription requests) and accept the gateway's request to see our presence.
    alice.come_online().await.context("alice coming online")?;
    alice
        .approve_subscription(GATEWAY)
        .await
        .context("alice approving the gateway")?;
    alice
        .wait_for("the patron's text", STEP_TIMEOUT, |e| {
            e.name() == "message"
                && e.get_child("body", "jabber:client")
                    .is_some_and(|body| body.text().contains(question))
        })
        .await?;
    say("self-test: the text reached alice; she replies");
    alice
        .write(&format!(
            "<message xmlns='jabber:client' type='chat' id='demo-reply-1' to='{PATRON}@{GATEWAY}'><body>{answer}</body></message>"
        ))
        .await
        .context("alice replying")?;
    let sent = sim
        .wait_until(STEP_TIMEOUT, |modem| {
            modem
                .sent()
                .iter()
                .any(|p| p.recipient == PATRON && p.text.as_deref() == Some(answer))
        })
        .await;
    if sent.is_err() {
        bail!(
            "alice's reply did not reach the simulated network within {STEP_TIMEOUT:?}; the modem sent: {:?}",
            sim.sent_messages()
                .iter()
                .map(|m| (&m.recipient, &m.text))
                .collect::<Vec<_>>()
        );
    }
    say("self-test: the reply left the modem as SMS");
    alice.logout().await;

    // The daemon counts the reply once it has handled the modem's answer, a moment after
    // the simulator recorded the send; from outside, /metrics can only be asked again.
    let wanted = [
        "textgate_texts_in_total{gateway=\"library\"} 1",
        "textgate_texts_out_total{gateway=\"library\"} 1",
    ];
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        let metrics = http_get(http_port, "/metrics").await?;
        match wanted.iter().find(|w| !metrics.contains(*w)) {
            None => break,
            Some(missing) if tokio::time::Instant::now() >= deadline => {
                bail!("/metrics still lacks {missing} after {STEP_TIMEOUT:?}:\n{metrics}")
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    say("self-test: /metrics counted the text in and the reply out");
    Ok(())
}

/// The body of `GET path` on the daemon's HTTP listener.
async fn http_get(port: u16, path: &str) -> anyhow::Result<String> {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .context("connecting to the daemon's HTTP listener")?;
        stream
            .write_all(
                format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        anyhow::Ok(response)
    };
    let response = tokio::time::timeout(STEP_TIMEOUT, exchange)
        .await
        .with_context(|| format!("no answer to GET {path} within {STEP_TIMEOUT:?}"))??;
    match response.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(body.to_owned()),
        _ => bail!("GET {path} answered: {response}"),
    }
}
