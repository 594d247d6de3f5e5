//! The throw-away Prosody and the librarian's client against each other: an account logs in
//! and comes online, a wrong password is an error naming the account, a restarted server
//! takes logins again, a Prosody placed in a directory keeps its files there, and a port
//! someone else took is never mistaken for Prosody's. Needs the `prosody` package
//! (scripts/test installs it).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use textgate_testkit::prosody::{LogLevel, Prosody, ProsodyError, ProsodySetup, HOST};
use textgate_testkit::xmpp::{Librarian, XmppError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a server may take to answer a stream's opening.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// What the server on `addr` answers to a component (XEP-0114) stream to `domain`: its
/// stream header, up to the `>` that ends it. A server serving `domain` names it in
/// `from`; an XMPP server without it does not, and a listener that is no XMPP server at
/// all says nothing, which the timeout turns into a panic.
async fn component_stream_header(addr: &str, domain: &str) -> String {
    let answer = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let open = format!(
            "<stream:stream xmlns='jabber:component:accept' \
             xmlns:stream='http://etherx.jabber.org/streams' to='{domain}'>"
        );
        stream.write_all(open.as_bytes()).await.expect("write");
        let mut received = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            let text = String::from_utf8_lossy(&received).into_owned();
            if let Some(start) = text.find("<stream:stream") {
                if let Some(end) = text[start..].find('>') {
                    return text[start..start + end + 1].to_owned();
                }
            }
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "{addr} closed the stream after {text:?}");
            received.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(ANSWER_TIMEOUT, answer)
        .await
        .unwrap_or_else(|_| panic!("{addr} did not answer a stream to {domain}"))
}

#[tokio::test]
async fn a_registered_librarian_logs_in_and_comes_online() {
    let prosody = Prosody::start(&["sms.library.test"])
        .await
        .expect("Prosody starts");
    prosody.register("alice", "pw").await.expect("registering");
    let mut alice = Librarian::login(&prosody.c2s_addr(), HOST, "alice", "pw", "desk")
        .await
        .expect("alice logs in");
    assert_eq!(alice.jid, format!("alice@{HOST}/desk"));
    alice.come_online().await.expect("alice comes online");
    // The server answers a ping to itself, so the stream works after coming online.
    alice
        .send(&format!(
            "<iq xmlns='jabber:client' type='get' id='ping-1' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        .await;
    let pong = alice
        .expect("the ping's answer", |e| e.attr("id") == Some("ping-1"))
        .await;
    assert_eq!(pong.attr("type"), Some("result"));
    alice.logout().await;
}

#[tokio::test]
async fn a_wrong_password_is_an_error_naming_the_account() {
    let prosody = Prosody::start(&[]).await.expect("Prosody starts");
    prosody.register("alice", "pw").await.expect("registering");
    let refused = Librarian::login(&prosody.c2s_addr(), HOST, "alice", "not-pw", "desk").await;
    match refused {
        Err(XmppError::Auth { user, answer }) => {
            assert_eq!(user, "alice");
            assert!(answer.contains("not-authorized"), "{answer}");
        }
        Err(e) => panic!("not an authentication error: {e}"),
        Ok(_) => panic!("a wrong password was accepted"),
    }
}

#[tokio::test]
async fn after_a_restart_the_same_accounts_log_in_on_the_same_port() {
    let mut prosody = Prosody::start(&[]).await.expect("Prosody starts");
    prosody.register("bob", "pw").await.expect("registering");
    let before = prosody.c2s_addr();
    prosody.restart().await.expect("Prosody restarts");
    assert_eq!(prosody.c2s_addr(), before);
    Librarian::login(&before, HOST, "bob", "pw", "desk")
        .await
        .expect("bob logs in after the restart")
        .logout()
        .await;
}

#[tokio::test]
async fn a_prosody_placed_in_a_directory_keeps_its_files_there_and_stops_on_request() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut prosody = ProsodySetup::new()
        .component("sms.library.test", "s3cret")
        .in_directory(dir.path())
        .log_level(LogLevel::Info)
        .start()
        .await
        .expect("Prosody starts");
    assert_eq!(prosody.secret("sms.library.test"), "s3cret");
    assert_eq!(prosody.dir(), dir.path());
    let config = std::fs::read_to_string(dir.path().join("prosody.cfg.lua")).expect("config");
    assert!(config.contains("log = { info = "), "{config}");
    assert!(
        config.contains("Component \"sms.library.test\"\n    component_secret = \"s3cret\""),
        "{config}"
    );
    assert!(dir.path().join("prosody-data").is_dir());

    prosody.stop(std::time::Duration::from_secs(5)).await;
    assert!(
        tokio::net::TcpStream::connect(prosody.c2s_addr())
            .await
            .is_err(),
        "Prosody still listens after stop"
    );
    // Stopped on request, so there is no exit left to notice: `wait` stays pending (a zero
    // timeout polls it exactly once).
    let waited = tokio::time::timeout(std::time::Duration::ZERO, prosody.wait()).await;
    assert!(waited.is_err(), "wait() returned after stop: {waited:?}");
}

/// The race this guards against: a port that was free when chosen is taken by someone else
/// before Prosody binds it. Prosody then logs the failure and runs on without that port,
/// and a component connecting to it reached the other server ("host-unknown"). Here the
/// port source hands out, as the component port, a port a foreign listener (no XMPP server
/// at all) holds.
#[tokio::test]
async fn a_component_port_someone_else_holds_is_never_taken_for_prosodys() {
    let foreign = std::net::TcpListener::bind("127.0.0.1:0").expect("foreign listener");
    let taken = foreign.local_addr().expect("its address").port();
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
    };
    // The client port, then the component port: the first start gets the taken one.
    let ports = Mutex::new(VecDeque::from([free().expect("a free port"), taken]));
    let prosody = ProsodySetup::new()
        .component("sms.library.test", "s3cret")
        .port_source(move || match ports.lock().expect("lock").pop_front() {
            Some(port) => Ok(port),
            None => free(),
        })
        .start()
        .await
        .expect("Prosody starts on other ports");

    assert_ne!(prosody.component_port, taken);
    let header = component_stream_header(&prosody.component_addr(), "sms.library.test").await;
    assert!(
        header.contains("from='sms.library.test'"),
        "the component port does not serve sms.library.test: {header}\n{}",
        prosody.log()
    );
    drop(foreign);
}

/// A restart keeps its ports, so when someone took one in the meantime it fails and says
/// which port, rather than reporting a server that is not there.
#[tokio::test]
async fn a_restart_on_a_port_someone_took_meanwhile_fails() {
    let mut prosody = ProsodySetup::new()
        .component("sms.library.test", "s3cret")
        .start()
        .await
        .expect("Prosody starts");
    prosody.kill().await;
    let foreign = std::net::TcpListener::bind(prosody.component_addr()).expect("take its port");

    match prosody.restart().await {
        Err(ProsodyError::PortTaken { port, .. }) => assert_eq!(port, prosody.component_port),
        Err(e) => panic!("not a taken port: {e}"),
        Ok(()) => panic!(
            "restart reported success; the component port answers: {}",
            component_stream_header(&prosody.component_addr(), "sms.library.test").await
        ),
    }
    drop(foreign);
}
