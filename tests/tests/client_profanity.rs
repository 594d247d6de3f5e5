//! profanity, a terminal XMPP client nobody on the team wrote (Debian's package), at the
//! desk: it runs in tmux with a home of its own, keys go in with `tmux send-keys` and the
//! screen comes out with `tmux capture-pane`, so the test sees what a librarian sees. alice
//! connects over Prosody's plain loopback c2s port, accepts the gateway, reads a patron's
//! text in its chat window, replies (the SMS leaves the simulated modem), watches the
//! delivery receipt (XEP-0184) turn her line from profanity's "receipt pending" red to its
//! ordinary colour, sees the gateway's error for a text the network could not deliver, and
//! starts a new conversation by adding a number to her roster and messaging it.
//!
//! profanity's own receipts for patrons' texts do not reach the gateway (see the comment
//! where the text arrives); the receipts for her replies do.
//!
//! profanity has no XEP-0100 ("gateway") command, so the number is added as the contact
//! `+15557654321@sms.library.test` directly, as docs/desk.md tells librarians. It requests
//! receipts only after `/receipts request on`, which the test types as a librarian would
//! once (docs/clients.md says so).
//!
//! The screens of each step go to `target/artifacts/clients/profanity/`, as text and, for the
//! receipts, with their colours (ANSI escapes; `cat` them in a terminal). Needs profanity and
//! tmux (`ensure_profanity`) and Prosody.

mod support;

use std::path::Path;
use std::time::Duration;

use support::clients::{self, artifacts, keep, Colours, Terminal, SHOW_WAIT};
use support::scene::{Scene, GW, PASSWORD, PATRON};
use textgate_modemsim::{FaultPatch, IncomingText, ReportOutcome};
use textgate_testkit::prosody::HOST;

/// The number the librarian texts first.
const NEW_NUMBER: &str = "+15557654321";
/// How long after each send the simulated network reports it delivered: long enough to see
/// the reply in its "receipt pending" colour first.
const REPORT_DELAY: Duration = Duration::from_secs(3);
/// profanity's colour for a line whose receipt has not come (its theme's `receipt.sent`,
/// red by default), as tmux writes it.
const RECEIPT_PENDING: &str = "\x1b[31m";

/// The line of `screen` that shows alice's message `text`.
fn my_line<'a>(screen: &'a str, text: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|line| line.contains("me: ") && line.contains(text))
}

/// Whether profanity shows `text` as sent without a receipt yet.
fn receipt_pending(screen: &str, text: &str) -> bool {
    my_line(screen, text).is_some_and(|line| line.contains(&format!("{RECEIPT_PENDING}me: ")))
}

/// Waits until the simulated modem sent `text` to `number`.
async fn sms_left(scene: &Scene, number: &str, text: &str) {
    scene
        .modem
        .sim
        .wait_until(SHOW_WAIT, |m| {
            m.sent()
                .iter()
                .any(|p| p.recipient == number && p.text.as_deref() == Some(text))
        })
        .await
        .unwrap_or_else(|e| {
            panic!(
                "no SMS {text:?} to {number} ({e}); the modem sent {:?}",
                scene.modem.sim.sent_messages()
            )
        });
}

/// The screen, kept as the step's artifact.
struct Steps<'a> {
    dir: &'a Path,
    taken: u32,
}

impl Steps<'_> {
    fn keep(&mut self, what: &str, screen: &str) {
        self.taken += 1;
        keep(self.dir, &format!("{:02}-{what}.txt", self.taken), screen);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_librarian_works_the_desk_in_profanity() {
    let mut scene = clients::scene(clients::sim_with_report_delay(REPORT_DELAY)).await;
    let dir = artifacts("profanity");
    let mut steps = Steps {
        dir: &dir,
        taken: 0,
    };
    // A home of its own: profanity's configuration, accounts and logs stay in it.
    let home = tempfile::tempdir().expect("a home for profanity");
    let (config, data) = (
        home.path().join(".config"),
        home.path().join(".local/share"),
    );
    let terminal = Terminal::start(
        "profanity",
        &[
            "--logfile",
            &home.path().join("profanity.log").display().to_string(),
        ],
        &[
            ("HOME", home.path()),
            ("XDG_CONFIG_HOME", &config),
            ("XDG_DATA_HOME", &data),
        ],
        (140, 40),
    );
    let patron = format!("{PATRON}@{GW}");

    terminal
        .wait_for("profanity's welcome", Colours::Plain, |s| {
            s.contains("Type '/help' to show complete help.")
        })
        .await;
    terminal.type_line("/receipts request on");
    terminal
        .wait_for("receipts requested", Colours::Plain, |s| {
            s.contains("Request delivery receipts enabled.")
        })
        .await;

    // Connect as a librarian would to this server: plain c2s on loopback, no TLS offered.
    terminal.type_line(&format!(
        "/connect alice@{HOST} server 127.0.0.1 port {} tls disable",
        scene.prosody.c2s_port
    ));
    terminal
        .wait_for("the password prompt", Colours::Plain, |s| {
            s.contains("Enter password:")
        })
        .await;
    terminal.type_line(PASSWORD);
    let screen = terminal
        .wait_for("the login", Colours::Plain, |s| {
            s.contains(&format!("alice@{HOST}/")) && s.contains("logged in successfully")
        })
        .await;
    steps.keep("logged-in", &screen);

    // The gateway asks to see her presence; she allows it from its chat window.
    terminal.type_line(&format!("/msg {GW}"));
    let screen = terminal
        .wait_for("the gateway's authorization request", Colours::Plain, |s| {
            s.contains(&format!("{GW} Authorization request"))
        })
        .await;
    steps.keep("gateway-asks", &screen);
    terminal.type_line(&format!("/sub allow {GW}"));
    scene.wait_available("alice").await;
    // Back to the console (always window 1), beside the roster.
    terminal.type_line("/win 1");

    // A patron texts: the number appears in her roster with one unread message; its chat
    // window shows the text.
    let question = "Is the library open on Sunday?";
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, question))
        .expect("the patron's text");
    let screen = terminal
        .wait_for("the patron in the roster", Colours::Plain, |s| {
            s.contains("+15551234567@sms.library")
        })
        .await;
    steps.keep("text-arrives", &screen);
    terminal.type_line(&format!("/msg {patron}"));
    let screen = terminal
        .wait_for("the patron's text in its window", Colours::Plain, |s| {
            s.contains(&format!("{patron}: {question}"))
        })
        .await;
    // profanity answers the gateway's receipt request, but addresses its <received/> to the
    // sender's full JID, and a patron's JID has no resource: the answer goes out with no
    // `to` and never reaches the gateway (profanity 0.13.1, src/xmpp/message.c
    // `_receipt_request_handler`; still so in its current source). The text therefore stays
    // `offered` until the delivery grace, as with a client without receipts; docs/clients.md
    // says so.
    steps.keep("chat", &screen);

    // She replies: the line is red until the receipt comes with the status report.
    let answer = "Yes, from 12 to 5.";
    terminal.type_line(answer);
    let screen = terminal
        .wait_for("her reply, receipt pending", Colours::Kept, |s| {
            receipt_pending(s, answer)
        })
        .await;
    steps.keep("reply-sent", &screen);
    sms_left(&scene, PATRON, answer).await;
    let screen = terminal
        .wait_for("her reply with its receipt", Colours::Kept, |s| {
            my_line(s, answer).is_some() && !receipt_pending(s, answer)
        })
        .await;
    steps.keep("reply-delivered", &screen);

    // The network reports the next reply undelivered: profanity shows the gateway's error.
    scene.modem.sim.set_faults(FaultPatch {
        status_report: Some(ReportOutcome::Failed),
        ..FaultPatch::default()
    });
    let lost = "We will keep it for you.";
    terminal.type_line(lost);
    sms_left(&scene, PATRON, lost).await;
    let screen = terminal
        .wait_for("the error for the undelivered reply", Colours::Plain, |s| {
            s.contains("was not delivered")
        })
        .await;
    steps.keep("reply-failed", &screen);
    scene.modem.sim.clear_faults();

    // A new conversation: she adds the number to her roster, asks for its presence (the
    // gateway approves at once) and messages it.
    let new_jid = format!("{NEW_NUMBER}@{GW}");
    terminal.type_line("/win 1");
    terminal.type_line(&format!("/roster add {new_jid}"));
    terminal.type_line(&format!("/sub request {new_jid}"));
    terminal
        .wait_for("the new number online in her roster", Colours::Plain, |s| {
            s.contains("+15557654321@sms.library")
        })
        .await;
    let first = "Your hold is ready at the front desk.";
    terminal.type_line(&format!("/msg {new_jid} {first}"));
    sms_left(&scene, NEW_NUMBER, first).await;
    let screen = terminal
        .wait_for(
            "the first text to the new number, with its receipt",
            Colours::Kept,
            |s| my_line(s, first).is_some() && !receipt_pending(s, first),
        )
        .await;
    steps.keep("new-conversation", &screen);
    keep(&dir, "new-conversation-plain.txt", terminal.screen());
    if let Ok(log) = std::fs::read(home.path().join("profanity.log")) {
        keep(&dir, "profanity.log", log);
    }
}
