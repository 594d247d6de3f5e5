//! What the demo tells the person trying it: each step as it starts, how to log in and
//! text the gateway once everything runs, and the daemon's events as they happen.

use std::fmt::Write as _;
use std::net::SocketAddr;

use textgate_testkit::prosody::HOST;
use tokio::sync::watch;

use crate::dir::DemoDir;
use crate::{GATEWAY, PATRON};

/// One step of starting or stopping, on standard error.
pub fn say(step: &str) {
    eprintln!("==> {step}");
}

/// How to log in as a librarian and text the gateway as a patron, on standard output.
/// `desk` is the browser desk's address, or why there is none.
pub fn print(
    c2s_port: u16,
    control: SocketAddr,
    passwords: &[String; 2],
    dir: &DemoDir,
    http_port: u16,
    desk: &Result<String, String>,
) {
    let desk = match desk {
        Ok(url) => format!(
            "Work the desk in a browser (Converse.js): open\n  Browser desk: {url}\n\
             and log in as alice (or bob) with the password below.\n"
        ),
        Err(why) => format!(
            "The browser desk is not available: {why}\n\
             (scripts/demo installs Converse.js; any XMPP client below still works.)\n"
        ),
    };
    let mut text = String::new();
    let _ = write!(
        text,
        r#"
textgate demo is running. Everything listens on 127.0.0.1 only and disappears on Ctrl-C.

{desk}
Or log in as a librarian with any XMPP client (Gajim, Dino, Psi, profanity...):
  server   127.0.0.1   port {c2s_port}   (no TLS: plain login is allowed on this loopback server)
  alice@{HOST}   password {alice}
  bob@{HOST}     password {bob}
When the gateway {GATEWAY} asks to see your presence, accept: that is how it knows a
librarian is on duty. Texts that arrived while nobody was online are delivered then.

Text the gateway as a patron (the simulator's control API plays the phone network):
  curl -s http://{control}/sms -H 'content-type: application/json' \
       -d '{{"from": "{PATRON}", "text": "Is the library open on Sunday?"}}'
The text appears in your client from {PATRON}@{GATEWAY}; reply there. What the
modem sent to the network:
  curl -s http://{control}/sent

The daemon's health and metrics (Prometheus):
  curl -s http://127.0.0.1:{http_port}/readyz
  curl -s http://127.0.0.1:{http_port}/metrics

The daemon's log: {log}
Its configuration: {config}   (database: SQLite in the same directory)

Press Ctrl-C to stop.
"#,
        alice = passwords[0],
        bob = passwords[1],
        log = dir.path.join("textgate.log").display(),
        config = dir.path.join("textgate.toml").display(),
    );
    println!("{text}");
}

/// Shows what the gateway does (texts in, replies out, librarians coming and going) as it
/// happens, so the person trying the demo sees the daemon react. The full log stays in
/// the file.
pub async fn echo_gateway_events(mut log: watch::Receiver<String>) {
    let mut shown = log.borrow().len();
    while log.changed().await.is_ok() {
        let fresh = {
            let all = log.borrow_and_update();
            let fresh = all.get(shown..).unwrap_or_default().to_owned();
            shown = all.len();
            fresh
        };
        for line in fresh.lines() {
            if let Some((_, event)) = line.split_once(" textgate_gateway::") {
                let event = event.split_once(": ").map_or(event, |(_, rest)| rest);
                eprintln!("    daemon: {event}");
            }
        }
    }
}
