//! The e-mail copy of alerts on a real PostgreSQL and SQLite, against a real SMTP server (a
//! separate Python process, crates/modem/tests/support/smtp_relay.py, that answers 451 for
//! busy.test and 550 for refuse.test): members who asked for it get the copy, others do
//! not; a permanent refusal fails at once, a temporary one is tried again; a resumed
//! enqueue never queues a second copy; the progress page counts the channel.

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use axum::http::StatusCode;
use chrono::TimeDelta;
use support::{both, App, PASSWORD};
use textgate_alert_service::email::SmtpConfig;
use textgate_alerts::Role;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const PATIENCE: Duration = Duration::from_secs(20);

struct Relay {
    port: u16,
    lines: Lines<BufReader<ChildStdout>>,
    _child: Child,
}

impl Relay {
    async fn start() -> Relay {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../modem/tests/support/smtp_relay.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs the test relay");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let first = next_line(&mut lines).await;
        let port = first
            .strip_prefix("LISTENING ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the relay said {first:?}"));
        Relay {
            port,
            lines,
            _child: child,
        }
    }

    async fn next_mail(&mut self) -> serde_json::Value {
        let line = next_line(&mut self.lines).await;
        serde_json::from_str(&line).expect("the relay prints JSON")
    }
}

async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> String {
    tokio::time::timeout(PATIENCE, lines.next_line())
        .await
        .expect("the relay answered in time")
        .expect("the relay's output")
        .expect("the relay is running")
}

async fn opt_in(app: &App, email: &str) {
    let mut member = app.client();
    member.sign_in(email, PASSWORD).await;
    let r = member.post("/alerts/email", &[("email_copy", "yes")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("alerts also come by e-mail"), "{}", r.body);
}

#[tokio::test]
async fn members_who_asked_get_an_e_mail_copy_and_refusals_are_kept() {
    both(|app: App| async move {
        let mut relay = Relay::start().await;
        let app = app.with_settings(|s| {
            let mut config = SmtpConfig::new("127.0.0.1", relay.port, "alerts@library.test");
            config.timeout = Duration::from_secs(5);
            s.email = Some(config);
        });
        let members = [
            ("ann@example.org", "+12025550101"),
            ("bob@example.org", "+12025550102"),
            ("cat@refuse.test", "+12025550103"),
            ("dan@busy.test", "+12025550104"),
        ];
        for (email, number) in members {
            app.confirmed_member(email, number).await;
        }
        for email in ["ann@example.org", "cat@refuse.test", "dan@busy.test"] {
            opt_in(&app, email).await;
        }

        let mut chief = app
            .signed_in(
                "chief@example.org",
                &[Role::EmergencyAdministrator, Role::Member],
            )
            .await;
        let mut enqueued = app.state.alerts.campaigns().enqueued_signal();
        let id = app
            .send_real(
                &mut chief,
                "Gas leak in Hall B: leave the building now.",
                None,
            )
            .await;
        tokio::time::timeout(PATIENCE, enqueued.changed())
            .await
            .expect("enqueued in time")
            .expect("signal");
        let queued = "SELECT COUNT(*) FROM alert_email_deliveries";
        assert_eq!(app.count(queued).await, 3, "one copy per member who asked");

        let emails = app.state.alerts.emails();
        assert_eq!(emails.send_due().await.expect("sent"), 3);
        let mail = relay.next_mail().await;
        assert_eq!(mail["to"], serde_json::json!(["ann@example.org"]));
        let data = mail["data"].as_str().unwrap_or_default();
        assert!(
            data.contains("Subject: Emergency alert: Gas leak in Hall B"),
            "{data}"
        );
        assert!(data.contains("leave the building now."), "{data}");

        let counts = emails.counts(id).await.expect("counts").expect("a channel");
        assert_eq!((counts.waiting, counts.sent, counts.failed), (1, 1, 1));
        let r = chief.get(&format!("/admin/campaigns/{id}")).await;
        assert!(r.body.contains("id=\"channel-email\""), "{}", r.body);
        let why = "SELECT COUNT(*) FROM alert_email_deliveries
                   WHERE state = 'failed' AND last_error LIKE '%550%'";
        assert_eq!(app.count(why).await, 1, "the refusal is kept");

        // The busy mailbox is tried again later, not at once.
        assert_eq!(emails.send_due().await.expect("nothing due"), 0);
        app.clock.advance(TimeDelta::seconds(61));
        assert_eq!(emails.send_due().await.expect("retried"), 1);
        let attempts =
            "SELECT attempts FROM alert_email_deliveries WHERE address = 'dan@busy.test'";
        assert_eq!(app.count(attempts).await, 2);

        // Running the enqueuer again queues no second copy.
        app.state
            .alerts
            .campaigns()
            .enqueue(
                id,
                textgate_alert_service::campaigns::Audience::Everyone,
                "x",
            )
            .await
            .expect("enqueue again");
        assert_eq!(app.count(queued).await, 3);
    })
    .await;
}
