//! The e-mail-to-SMS driver against a real SMTP server: a separate Python process
//! (`tests/support/smtp_relay.py`) listening on 127.0.0.1, which prints every message it
//! accepts and answers 451, 550 or nothing for chosen recipient domains. Which address
//! reaches a number is the directory's answer (the alert service in the daemon, a table in
//! memory here); the carrier rules behind it are tested with the carrier table.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use expect_test::{expect, Expect};
use textgate_gsm::pdu::Address;
use textgate_gsm::segment::{Segmenter, SubmitOptions};
use textgate_modem::{
    CarrierDirectory, DirectoryError, OutgoingSms, SmsDriver, SmtpConfig, SmtpCredentials,
    SmtpDriver, SmtpSecurity, SmtpSendError, StatusError,
};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// How long any one step may take before the test gives up (a bound, not a measurement).
const PATIENCE: Duration = Duration::from_secs(20);

struct Relay {
    port: u16,
    lines: Lines<BufReader<ChildStdout>>,
    // Held so the server lives as long as the test (killed on drop).
    _child: Child,
}

impl Relay {
    async fn start() -> Relay {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_relay.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 must be installed to run the SMTP tests");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let first = next_line(&mut lines).await;
        let port = first
            .strip_prefix("LISTENING ")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("the relay announced {first:?}, not its port"));
        Relay {
            port,
            lines,
            _child: child,
        }
    }

    /// The next message the relay accepted, shown without the headers that change on
    /// every run (Date, Message-ID).
    async fn next_mail(&mut self) -> String {
        let line = next_line(&mut self.lines).await;
        let mail: serde_json::Value = serde_json::from_str(&line).expect("the relay prints JSON");
        let data = mail["data"].as_str().unwrap_or_default();
        let kept = data
            .split("\r\n")
            .filter(|line| !line.starts_with("Date:") && !line.starts_with("Message-ID:"))
            .collect::<Vec<_>>()
            .join("\n");
        format!("envelope from {} to {}\n{}", mail["from"], mail["to"], kept)
    }

    fn config(&self) -> SmtpConfig {
        let mut config = SmtpConfig::new("127.0.0.1", self.port, "alerts@library.test");
        config.timeout = Duration::from_secs(2);
        config
    }

    fn driver(&self) -> SmtpDriver {
        SmtpDriver::new(self.config()).expect("valid configuration")
    }
}

async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> String {
    match tokio::time::timeout(PATIENCE, lines.next_line()).await {
        Ok(Ok(Some(line))) => line,
        Ok(Ok(None)) => panic!("the relay exited"),
        Ok(Err(error)) => panic!("cannot read the relay's output: {error}"),
        Err(_) => panic!("the relay printed nothing within {PATIENCE:?}"),
    }
}

/// A send's outcome in one line: the address and reply, or the error and its class.
fn outcome(result: Result<textgate_modem::SmtpAccepted, SmtpSendError>) -> String {
    match result {
        Ok(accepted) => format!("accepted for {}: {}", accepted.address, accepted.reply),
        Err(error) => format!("{} error: {error}", error.class()),
    }
}

fn check(actual: String, expect: Expect) {
    expect.assert_eq(&actual);
}

#[tokio::test]
async fn a_text_arrives_as_plain_mail_to_the_gateway_address() {
    let mut relay = Relay::start().await;
    let driver = relay.driver();
    let result = driver
        .send_email(
            "2015550123@vtext.com".to_owned(),
            "Library closed today: burst pipe. Stay safe.",
        )
        .await;
    check(
        outcome(result),
        expect!["accepted for 2015550123@vtext.com: 250 2.0.0 queued"],
    );
    check(
        relay.next_mail().await,
        expect![[r#"
        envelope from "alerts@library.test" to ["2015550123@vtext.com"]
        From: alerts@library.test
        To: 2015550123@vtext.com
        Subject: 
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: 7bit

        Library closed today: burst pipe. Stay safe.
    "#]],
    );
}

#[tokio::test]
async fn non_ascii_text_is_kept() {
    let mut relay = Relay::start().await;
    let driver = relay.driver();
    let result = driver
        .send_email(
            "2015550199@sms.campus.test".to_owned(),
            "Drill at 3 pm: élan, ünïcode",
        )
        .await;
    check(
        outcome(result),
        expect!["accepted for 2015550199@sms.campus.test: 250 2.0.0 queued"],
    );
    check(
        relay.next_mail().await,
        expect![[r#"
        envelope from "alerts@library.test" to ["2015550199@sms.campus.test"]
        From: alerts@library.test
        To: 2015550199@sms.campus.test
        Subject: 
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: quoted-printable

        Drill at 3 pm: =C3=A9lan, =C3=BCn=C3=AFcode
    "#]],
    );
}

/// The directory's answers by number, as the alert service would give them.
struct Directory(HashMap<&'static str, Result<&'static str, DirectoryError>>);

#[async_trait::async_trait]
impl CarrierDirectory for Directory {
    async fn email_address(&self, number: &str) -> Result<String, DirectoryError> {
        match self.0.get(number) {
            Some(answer) => answer.clone().map(str::to_owned),
            None => Err(DirectoryError::NoAddress(
                "no carrier is known for this number; the legacy e-mail path only reaches members who chose one".to_owned(),
            )),
        }
    }
}

fn sms(to: &str, text: &str) -> OutgoingSms {
    let address = Address::from_number(to).expect("address");
    let pdus = Segmenter::default()
        .submit_pdus(text, 7, &address, &SubmitOptions::default())
        .expect("segments");
    OutgoingSms::from_pdus(to, text, &pdus).expect("encoded")
}

#[tokio::test]
async fn numbers_the_directory_cannot_reach_get_no_mail() {
    let mut relay = Relay::start().await;
    let closed = "AT&T's e-mail-to-SMS gateway shut down on 2025-06-17; send to this number through a modem instead";
    let directory = Directory(HashMap::from([
        (
            "+12015550120",
            Err(DirectoryError::NoAddress(closed.to_owned())),
        ),
        (
            "+12015550121",
            Err(DirectoryError::Unavailable("database down".to_owned())),
        ),
        ("+12015550123", Ok("2015550123@sms.campus.test")),
    ]));
    let driver = relay.driver().with_directory(Arc::new(directory));
    let mut shown = Vec::new();
    for number in [
        "+12015550120",
        "+12015550121",
        "+12015550122",
        "+12015550123",
    ] {
        let result = driver.send(sms(number, "Test alert")).await;
        shown.push(match result {
            Ok(references) => format!("{number}: sent, {} references", references.len()),
            Err(error) => format!("{number}: {} error: {error}", error.class()),
        });
    }
    check(
        shown.join("\n"),
        expect![[r#"
        +12015550120: final error: part 1 of 1 is not a valid submission: AT&T's e-mail-to-SMS gateway shut down on 2025-06-17; send to this number through a modem instead
        +12015550121: retryable error: the modem is not available: cannot look up the recipient's carrier: database down
        +12015550122: final error: part 1 of 1 is not a valid submission: no carrier is known for this number; the legacy e-mail path only reaches members who chose one
        +12015550123: sent, 0 references"#]],
    );
    // Only the reachable number was mailed: the next mail the relay saw is that one.
    check(
        relay.next_mail().await,
        expect![[r#"
        envelope from "alerts@library.test" to ["2015550123@sms.campus.test"]
        From: alerts@library.test
        To: 2015550123@sms.campus.test
        Subject: 
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: 7bit

        Test alert
    "#]],
    );
}

#[tokio::test]
async fn relay_answers_are_classified() {
    let relay = Relay::start().await;
    let driver = relay.driver();
    let mut shown = Vec::new();
    for domain in ["busy", "refuse", "silent"] {
        let result = driver
            .send_email(format!("2015550123@{domain}.test"), "Test")
            .await;
        shown.push(format!("{domain}: {}", outcome(result)));
    }
    let shown = shown.join("\n").replace(&relay.port.to_string(), "PORT");
    check(
        shown,
        expect![[r#"
        busy: retryable error: the relay refused mail to 2015550123@busy.test: transient error (451): 4.3.0 mailbox busy, try again later
        refuse: final error: the relay refused mail to 2015550123@refuse.test: permanent error (550): 5.1.1 no such user here
        silent: retryable error: no answer from the relay 127.0.0.1:PORT within 2s; the mail may or may not have been accepted"#]],
    );
}

#[tokio::test]
async fn what_the_relay_lacks_needs_an_operator() {
    // The test relay offers neither STARTTLS nor AUTH.
    let relay = Relay::start().await;
    let mut starttls = relay.config();
    starttls.security = SmtpSecurity::Starttls;
    let mut login = relay.config();
    login.credentials = Some(SmtpCredentials {
        username: "alerts".to_owned(),
        password: "not-shown".to_owned(),
    });
    check(
        format!("{login:?}").contains("not-shown").to_string(),
        expect!["false"],
    );
    let mut shown = Vec::new();
    for config in [starttls, login] {
        let driver = SmtpDriver::new(config).expect("valid configuration");
        let result = driver
            .send_email("2015550123@sms.campus.test".to_owned(), "Test")
            .await;
        shown.push(outcome(result));
    }
    let shown = shown.join("\n").replace(&relay.port.to_string(), "PORT");
    check(
        shown,
        expect![[r#"
        needs an operator error: the relay 127.0.0.1:PORT does not offer what the configuration asks for: internal client error: STARTTLS is not supported on this server
        needs an operator error: the relay 127.0.0.1:PORT does not offer what the configuration asks for: internal client error: No compatible authentication mechanism was found"#]],
    );
}

#[tokio::test]
async fn texts_over_the_hard_limit_are_refused() {
    let relay = Relay::start().await;
    let driver = relay.driver();
    let at_limit = "x".repeat(140);
    let over = "é".repeat(141);
    let mut shown = Vec::new();
    for text in [&at_limit, &over] {
        let result = driver
            .send_email("2015550123@sms.campus.test".to_owned(), text)
            .await;
        shown.push(outcome(result));
    }
    check(
        shown.join("\n"),
        expect![[r#"
        accepted for 2015550123@sms.campus.test: 250 2.0.0 queued
        final error: the text has 141 characters, more than the hard limit of 140"#]],
    );
}

#[tokio::test]
async fn the_sms_interface_explains_that_a_carrier_is_needed() {
    let relay = Relay::start().await;
    let driver = relay.driver();
    let error = driver
        .send(sms("+12015550123", "Library closed today."))
        .await
        .expect_err("no carrier, no send");
    check(
        format!("{} error: {error}", error.class()),
        expect!["final error: part 1 of 1 is not a valid submission: the e-mail-to-SMS path needs the recipient's carrier, which a phone number does not tell, and this driver has no directory of the members' carriers (configure [alerts])"],
    );
}

#[tokio::test]
async fn the_sms_interface_mails_the_whole_text_to_the_members_carrier() {
    let mut relay = Relay::start().await;
    let mut config = relay.config();
    config.hard_limit = 400;
    let directory = Directory(HashMap::from([(
        "+12015550123",
        Ok("2015550123@sms.campus.test"),
    )]));
    let driver = SmtpDriver::new(config)
        .expect("valid configuration")
        .with_directory(Arc::new(directory));
    // Two SMS parts, as the outbox encodes a long alert: one mail with the whole text,
    // taken from the message, never decoded back from its parts.
    let text = "Shelter in place: a severe storm is near the library. Stay inside, away from windows, until staff say it is safe. Updates follow here.";
    let message = sms("+12015550123", text);
    assert_eq!(message.parts.len(), 1 + usize::from(text.len() > 160));
    let references = driver.send(message).await.expect("sent");
    assert!(references.is_empty(), "an e-mail has no TP-MR");
    check(
        relay.next_mail().await,
        expect![[r#"
            envelope from "alerts@library.test" to ["2015550123@sms.campus.test"]
            From: alerts@library.test
            To: 2015550123@sms.campus.test
            Subject: 
            Content-Type: text/plain; charset=utf-8
            Content-Transfer-Encoding: quoted-printable

            Shelter in place: a severe storm is near the library. Stay inside, away fro=
            m windows, until staff say it is safe. Updates follow here.
        "#]],
    );
    let error = driver
        .send(sms("+12015550124", "Library closed today."))
        .await
        .expect_err("no carrier for this member");
    check(
        format!("{} error: {error}", error.class()),
        expect!["final error: part 1 of 1 is not a valid submission: no carrier is known for this number; the legacy e-mail path only reaches members who chose one"],
    );
}

#[tokio::test]
async fn status_tells_whether_the_relay_answers() {
    let relay = Relay::start().await;
    let status = relay.driver().status().await.expect("the relay answers");
    check(
        format!(
            "{:?} {:?} {:?}",
            status.model, status.operator, status.profile
        )
        .replace(&relay.port.to_string(), "PORT"),
        expect![[r#"Some("SMTP relay 127.0.0.1:PORT") Some("relay answers NOOP") Some("smtp")"#]],
    );

    // A port nobody listens on: take a free one and let it go again.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port();
    let driver = SmtpDriver::new(SmtpConfig::new("127.0.0.1", closed, "alerts@library.test"))
        .expect("valid configuration");
    match driver.status().await {
        Err(StatusError::Unavailable(reason)) => check(
            reason.replace(&closed.to_string(), "PORT"),
            expect!["cannot talk to the relay 127.0.0.1:PORT: Connection error: Connection refused (os error 111)"],
        ),
        other => panic!("a closed port gave {other:?}"),
    }
}
