//! The throw-away Prosody and the librarian's client against each other: an account logs in
//! and comes online, a wrong password is an error naming the account, a restarted server
//! takes logins again, and a Prosody placed in a directory keeps its files there. Needs the
//! `prosody` package (scripts/test installs it).

use textgate_testkit::prosody::{LogLevel, Prosody, ProsodySetup, HOST};
use textgate_testkit::xmpp::{Librarian, XmppError};

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
