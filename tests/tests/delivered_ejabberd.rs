//! Delivered means delivered, on ejabberd 23.01 as issue 12 found it: a librarian's phone
//! client (stream management on, as Conversations, Monal and Siskin use it) drops off
//! without closing its stream; ejabberd keeps the session for resumption, so the gateway's
//! text goes into it; when the session times out, what the phone never acknowledged is
//! bounced or routed again, as `mod_stream_mgmt`'s `resend_on_timeout` says. Whatever
//! ejabberd does, the text reaches her desk client, with its original time stamp, and is
//! recorded delivered only once the desk confirmed it.
//!
//! Both settings the issue names: `if_offline`, what Debian's shipped ejabberd.yml sets,
//! and `false`, the module's default; the desk client comes online before the phone's
//! session times out, or after.

mod support;

use std::time::Duration;
use support::daemon::{self, Daemon, GatewaySection};
use support::database::Database;
use support::modem::Modem;
use support::scene::{
    body, delay_stamp, online_at, patron_jid, phone_that_vanishes, text_from, GW, PASSWORD, PATRON,
};
use support::xmpp::to_xml;

use textgate_modemsim::IncomingText;
use textgate_store::{InboundState, Store};
use textgate_testkit::ejabberd::{Ejabberd, EjabberdSetup, ResendOnTimeout};

const SECRET: &str = "ejabberd-secret";

/// When the desk client comes online, relative to the end of the phone's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Desk {
    BeforeTheTimeout,
    AfterTheTimeout,
}

async fn ejabberd(resend: ResendOnTimeout) -> Ejabberd {
    EjabberdSetup::new()
        .component(GW, SECRET)
        .account("alice", PASSWORD)
        .stream_management(Duration::from_secs(3), resend)
        .start()
        .await
        .expect("ejabberd starts")
}

/// The phone vanishes with a text in its session; the desk comes online `desk`; the text
/// must reach the desk and be recorded delivered.
async fn the_text_reaches_her_desk(resend: ResendOnTimeout, desk_when: Desk) {
    let ejabberd = ejabberd(resend).await;
    let db = Database::create().await;
    let modem = Modem::start().await;
    let section = GatewaySection::for_alice(ejabberd.component_addr(), SECRET, modem.path.clone());
    let mut daemon = Daemon::start(&daemon::config(&db.url, &[section]));
    daemon.expect_log(&["component connected"]).await;
    let c2s = ejabberd.c2s_addr();
    phone_that_vanishes(&c2s, &mut daemon).await;

    let patron = patron_jid(PATRON, GW);
    modem
        .sim
        .inject_text(&IncomingText::new(PATRON, "Are you open on Sunday?"))
        .expect("the simulator takes the text");
    daemon.expect_log(&["text sent to an operator"]).await;

    let mut desk = if desk_when == Desk::BeforeTheTimeout {
        let desk = online_at(&c2s, "alice", "desk").await;
        daemon
            .expect_log(&["operator presence", "desk", "Available"])
            .await;
        Some(desk)
    } else {
        None
    };
    // ejabberd ends the phone's session after its resume timeout and says so.
    daemon
        .expect_log(&["operator presence", "phone", "Unavailable"])
        .await;
    let mut desk = match desk.take() {
        Some(desk) => desk,
        None => online_at(&c2s, "alice", "desk").await,
    };

    let text = text_from(&mut desk, &patron).await;
    assert_eq!(body(&text), "Are you open on Sunday?", "{}", to_xml(&text));
    // On a busy machine the desk may already be online when ejabberd routes the first
    // write (to her bare JID, so to every resource of the highest priority): that copy
    // is the text as it arrived and needs no stamp. Any later write is an offer again,
    // and must carry the time the patron sent it.
    let first_write = text.attr("id").is_some_and(|id| id.ends_with("-1"));
    assert!(
        first_write || delay_stamp(&text).is_some(),
        "a text offered again keeps its original time: {}",
        to_xml(&text)
    );
    daemon
        .expect_log(&["text confirmed by the operator's client"])
        .await;
    let store = Store::open(&db.url).await.expect("the store opens");
    let stored = store
        .inbound(1)
        .await
        .expect("the store answers")
        .expect("the text is stored");
    assert_eq!(stored.state, InboundState::Delivered, "{stored:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipped_setting_desk_online_before_the_phone_session_ends() {
    the_text_reaches_her_desk(ResendOnTimeout::IfOffline, Desk::BeforeTheTimeout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipped_setting_desk_online_after_the_phone_session_ended() {
    the_text_reaches_her_desk(ResendOnTimeout::IfOffline, Desk::AfterTheTimeout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_default_desk_online_before_the_phone_session_ends() {
    the_text_reaches_her_desk(ResendOnTimeout::No, Desk::BeforeTheTimeout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_default_desk_online_after_the_phone_session_ended() {
    the_text_reaches_her_desk(ResendOnTimeout::No, Desk::AfterTheTimeout).await;
}
