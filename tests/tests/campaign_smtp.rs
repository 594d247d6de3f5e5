//! An emergency alert through a daemon with two gateways: a modem (the simulator on a
//! pseudo-terminal) and the legacy e-mail-to-SMS driver, whose relay is a real SMTP server
//! process on loopback (the Python script of the modem crate's SMTP tests). The alert is
//! sent through the JSON API. Members who chose a carrier that still runs a gateway get
//! one e-mail each at `<number>@<carrier gateway domain>` with the alert text; members
//! without a carrier, or with a carrier whose gateway is gone, get the alert by SMS from
//! the modem and never reach the e-mail gateway.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use support::daemon::{self, Daemon, GatewaySection};
use support::database::Database;
use support::members::{self, Member};
use support::modem::Modem;
use support::prosody::Prosody;
use support::scene::{operator, ALERTS, GW};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// The e-mail gateway's XMPP component.
const MAIL_GW: &str = "mail.library.test";
/// How long any awaited state may take.
const WAIT: Duration = Duration::from_secs(60);

const CARRIERS: &str = r#"
[[carriers]]
id = "campus"
name = "Campus Mobile"
country_code = 1
sms_domain = "sms.campus.test"
status = "active"
note = "test gateway"

[[carriers]]
id = "att"
name = "AT&T"
country_code = 1
sms_domain = "txt.att.net"
status = "shut-down"
since = "2025-06-17"
note = "AT&T notice KM1061254"
"#;

const ALERT: &str = "Shelter in place: a severe storm is near the library. Stay inside, away \
                     from windows, until staff say it is safe.";

/// The SMTP relay: `crates/modem/tests/support/smtp_relay.py`, one JSON line per mail.
struct Relay {
    port: u16,
    lines: Lines<BufReader<ChildStdout>>,
    _child: Child,
}

impl Relay {
    async fn start() -> Relay {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../crates/modem/tests/support/smtp_relay.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 must be installed to run the SMTP relay");
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

    /// The next accepted mail: its envelope recipients and its body, quoted-printable
    /// soft line breaks undone (the alert is ASCII, so nothing else is encoded).
    async fn next_mail(&mut self) -> (Vec<String>, String) {
        let line = next_line(&mut self.lines).await;
        let mail: Value = serde_json::from_str(&line).expect("the relay prints JSON");
        let to = mail["to"]
            .as_array()
            .expect("recipients")
            .iter()
            .map(|t| t.as_str().unwrap_or_default().to_owned())
            .collect();
        let data = mail["data"].as_str().unwrap_or_default();
        let (headers, body) = data.split_once("\r\n\r\n").expect("headers and body");
        assert!(
            headers.contains("Content-Type: text/plain; charset=utf-8"),
            "{headers}"
        );
        let body = body.replace("=\r\n", "").trim_end().to_owned();
        (to, body)
    }
}

async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> String {
    match tokio::time::timeout(WAIT, lines.next_line()).await {
        Ok(Ok(Some(line))) => line,
        Ok(Ok(None)) => panic!("the relay exited"),
        Ok(Err(error)) => panic!("cannot read the relay's output: {error}"),
        Err(_) => panic!("the relay printed nothing within {WAIT:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_goes_by_email_to_members_with_a_carrier_and_by_modem_to_the_others() {
    let mut relay = Relay::start().await;
    let prosody = Prosody::start(&[GW, MAIL_GW])
        .await
        .expect("Prosody starts");
    let db = Database::create().await;
    let modem = Modem::start().await;
    let files = tempfile::tempdir().expect("temporary directory");
    let carriers = files.path().join("carriers.toml");
    std::fs::write(&carriers, CARRIERS).expect("write the carrier file");

    // The modem sends one text a second, the e-mail path ten: by the plan, the members the
    // e-mail path can reach all go to it, because it finishes them first.
    let section = GatewaySection {
        name: "library".into(),
        domain: GW.into(),
        secret: prosody.secret(GW),
        server: prosody.component_addr(),
        operators: vec![operator("alice")],
        device: modem.path.clone(),
        extra: "rate_limit_per_minute = 60\n".into(),
        driver_extra: String::new(),
        max_attempts: 3,
    };
    let mut config = daemon::config_with(&db.url, ALERTS, &[section]);
    config.push_str(&format!(
        r#"
[[gateway]]
name = "legacy"
domain = "{MAIL_GW}"
secret = "{secret}"
server = "{server}"
operators = ["{operator}"]
default_region = "US"
rate_limit_per_minute = 600

[gateway.driver]
kind = "smtp"
relay = "127.0.0.1"
port = {port}
tls = "none"
from = "alerts@library.test"
carriers = "{carriers}"
"#,
        secret = prosody.secret(MAIL_GW),
        server = prosody.component_addr(),
        operator = operator("alice"),
        port = relay.port,
        carriers = carriers.display(),
    ));
    let mut daemon = Daemon::start(&config);
    let address = support::http::address(&mut daemon).await;
    // Ready means both gateways: the modem initialised, and the relay answered NOOP.
    support::http::wait_ready(&daemon, address).await;

    let state = members::console(&config).await;
    let token = members::emergency_admin_token(&state).await;
    let with_carrier = ["+12015550111", "+12015550112", "+12015550113"];
    let by_modem = [
        ("+12015550121", None),
        ("+12015550122", None),
        // AT&T's gateway is gone: the modem is the only way.
        ("+12015550123", Some("att")),
    ];
    let mut everyone: Vec<Member> = with_carrier
        .iter()
        .map(|n| Member::new(*n, Some("campus")))
        .collect();
    everyone.extend(by_modem.iter().map(|(n, c)| Member::new(*n, *c)));
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

    let mut mailed = BTreeSet::new();
    for _ in with_carrier {
        let (to, body) = relay.next_mail().await;
        assert_eq!(body, ALERT, "the mail carries the alert text");
        assert_eq!(to.len(), 1, "one recipient per mail: {to:?}");
        mailed.extend(to);
    }
    let expected: BTreeSet<String> = with_carrier
        .iter()
        .map(|n| format!("{}@sms.campus.test", &n[2..]))
        .collect();
    assert_eq!(mailed, expected, "one mail per member with a carrier");

    modem
        .sim
        .wait_until(WAIT, |m| m.sent().len() >= by_modem.len())
        .await
        .unwrap_or_else(|e| panic!("the modem did not send the alerts: {e}"));
    let texted: BTreeSet<String> = modem
        .sim
        .sent_messages()
        .into_iter()
        .filter(|s| s.text == ALERT)
        .map(|s| s.recipient)
        .collect();
    let expected: BTreeSet<String> = by_modem.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        texted, expected,
        "one SMS per member without a usable carrier"
    );

    // The outbox agrees: each member has exactly one delivery, on the right gateway, and
    // the campaign is complete.
    let Some(pool) = (match state.store().database() {
        textgate_store::Database::Postgres(pool) => Some(pool),
        textgate_store::Database::Sqlite(_) => None,
    }) else {
        panic!("PostgreSQL")
    };
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT gateway, recipient FROM outbound WHERE campaign_id = $1 ORDER BY recipient",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .expect("read the outbox");
    let shown: Vec<String> = rows.iter().map(|(g, r)| format!("{r} {g}")).collect();
    expect_test::expect![[r#"
        +12015550111 legacy
        +12015550112 legacy
        +12015550113 legacy
        +12015550121 library
        +12015550122 library
        +12015550123 library"#]]
    .assert_eq(&shown.join("\n"));
    let deadline = tokio::time::Instant::now() + WAIT;
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
        if progress["done"] == json!(true) {
            assert_eq!(progress["total"], json!(6), "{progress}");
            assert_eq!(progress["unreachable"], json!(0), "{progress}");
            assert_eq!(progress["counts"]["failed"], json!(0), "{progress}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the campaign is not done: {progress}"
        );
        // Each delivery sent is logged; ask again after the next line.
        let _ = tokio::time::timeout_at(deadline, logged.changed()).await;
        logged = daemon.next_line();
    }
    state.store().close().await;
}
