//! The demo's browser desk, as a librarian with only a browser uses it: the interactive
//! `textgate-demo` prints the desk's address; headless Chromium opens it, alice logs in with
//! the password the demo printed and accepts the gateway, a patron's text (put on the
//! simulated network through the control API the demo printed) shows in her browser, she
//! replies, and the reply leaves the simulated modem as SMS (the control API's `/sent`) and
//! comes back as Converse's check mark.
//!
//! Screenshots go to `target/artifacts/clients/demo-desk/`. Needs Prosody, Converse.js
//! (`npm ci` in clients/converse: scripts/lib/env.sh `ensure_converse`), Chromium and
//! chromedriver (`ensure_chromium`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use textgate_testkit::browser::{Browser, Screenshots};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the demo may take to start, and anything it or the page should show.
const WAIT: Duration = Duration::from_secs(120);
const PATRON: &str = "+15551234567";
const PATRON_JID: &str = "+15551234567@sms.library.test";
/// What WebDriver reads as the Enter key (W3C WebDriver, "Keyboard actions").
const ENTER: char = '\u{E007}';

/// The interactive demo, stopped with Ctrl-C (SIGINT) when dropped, as its user would.
struct Demo {
    child: Child,
    /// The instructions it printed.
    lines: Vec<String>,
}

impl Demo {
    /// Starts `textgate-demo` with the current daemon and waits for its instructions.
    fn start() -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_textgate-demo"))
            .arg("--daemon")
            .arg(env!("CARGO_BIN_EXE_textgate-demo-daemon"))
            .env_remove("TEXTGATE_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting textgate-demo");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut demo = Demo {
            child,
            lines: Vec::new(),
        };
        loop {
            match rx.recv_timeout(WAIT) {
                Ok(line) => {
                    let done = line.starts_with("Press Ctrl-C to stop.");
                    demo.lines.push(line);
                    if done {
                        return demo;
                    }
                }
                Err(_) => panic!(
                    "no instructions from the demo within {WAIT:?}; it printed: {:#?}",
                    demo.lines
                ),
            }
        }
    }

    /// The rest of the instruction line that starts (after spaces) with `prefix`.
    fn after(&self, prefix: &str) -> String {
        self.lines
            .iter()
            .find_map(|l| l.trim_start().strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?} in the instructions: {:#?}", self.lines))
            .trim()
            .to_owned()
    }

    /// The simulator's control API, from `curl -s http://ADDR/sent`.
    fn control(&self) -> String {
        self.after("curl -s http://")
            .split('/')
            .next()
            .expect("an address")
            .to_owned()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 exchange with the simulator's control API; the body of a 200 answer.
async fn http(addr: &str, method: &str, path: &str, body: &str) -> String {
    let exchange = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .expect("reaching the control API");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        response
    };
    let response = tokio::time::timeout(WAIT, exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no answer within {WAIT:?}"));
    match response.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.1 200") => body.to_owned(),
        _ => panic!("{method} {path} answered: {response}"),
    }
}

/// Waits until `script` (the body of a JavaScript function) returns `true` in the page. The
/// page has no event the test can await; it is asked every 100 ms.
async fn until(browser: &Browser, what: &str, script: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let answer = browser
            .client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("running the check for {what}: {e}"));
        if answer.as_bool() == Some(true) {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "the page did not show {what} within {WAIT:?}; page: {}",
                browser.client.source().await.unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// JavaScript that is true when a message in the page reads `text`.
fn shows_message(text: &str) -> String {
    format!(
        "return [...document.querySelectorAll('converse-chat-message-body')]\
         .some(e => e.textContent.includes('{text}'));"
    )
}

/// `target/artifacts/clients/demo-desk/`, created.
fn artifacts() -> PathBuf {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/artifacts/clients/demo-desk");
    std::fs::create_dir_all(&dir).expect("artifact directory");
    dir.canonicalize().unwrap_or(dir)
}

async fn shot(browser: &Browser, dir: &Path, name: &str) {
    let png = browser.client.screenshot().await.expect("screenshot");
    let path = dir.join(name);
    std::fs::write(&path, png).expect("writing the screenshot");
    println!("artifact: {}", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_librarian_with_only_a_browser_works_the_demo_desk() {
    let demo = Demo::start();
    let url = demo.after("Browser desk:");
    let password = demo.after("alice@library.test   password");
    let control = demo.control();
    let dir = artifacts();

    let browser = Browser::start(
        url.trim_end_matches('/'),
        Screenshots::for_suite("demo"),
        WAIT,
    )
    .await
    .expect("start the browser");
    browser
        .client
        .set_window_size(1280, 800)
        .await
        .expect("a desktop-sized window");
    browser.goto("/").await;
    browser
        .fill("#converse-login input[name=jid]", "alice")
        .await;
    browser
        .fill("#converse-login input[name=password]", &password)
        .await;
    shot(&browser, &dir, "01-login.png").await;
    browser.click("#converse-login button[type=submit]").await;

    // The gateway asks to see her presence; she accepts.
    until(
        &browser,
        "the gateway's contact request",
        "return !!document.querySelector(\"li.requesting-xmpp-contact a[data-jid='sms.library.test']\");",
    )
    .await;
    browser
        .click("li.requesting-xmpp-contact .dropdown-toggle")
        .await;
    browser
        .click("li.requesting-xmpp-contact .accept-xmpp-request")
        .await;
    browser
        .click(".modal.show form.converse-form button[type=submit]")
        .await;

    // A patron texts, through the control API the demo printed.
    let question = "Is the library open on Sunday? (browser desk)";
    http(
        &control,
        "POST",
        "/sms",
        &format!(r#"{{"from": "{PATRON}", "text": "{question}"}}"#),
    )
    .await;
    // The number shows among her contacts; she opens its chat. Converse redraws the list as
    // presences come in, so the entry is found and clicked in one step in the page.
    until(
        &browser,
        "the patron among her contacts",
        &format!(
            "const a = document.querySelector(\"converse-roster a.open-chat[data-jid='{PATRON_JID}']\");\
             if (a) {{ a.click(); return true; }} return false;"
        ),
    )
    .await;
    until(&browser, "the patron's text", &shows_message(question)).await;
    shot(&browser, &dir, "02-text.png").await;

    // She replies; the SMS leaves the simulated modem.
    let answer = "Yes, from 12 to 5. (browser desk reply)";
    browser
        .fill(
            &format!("converse-chat[jid='{PATRON_JID}'] textarea.chat-textarea"),
            &format!("{answer}{ENTER}"),
        )
        .await;
    until(&browser, "her reply", &shows_message(answer)).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let sent = http(&control, "GET", "/sent", "").await;
        if sent.contains(answer) && sent.contains(PATRON) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reply did not leave the simulated modem within {WAIT:?}; it sent: {sent}"
        );
        // The control API has no event to await; it is asked again.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The demo's network reports the SMS delivered a second later: the check mark.
    until(
        &browser,
        "the check mark on her reply",
        &format!(
            "return [...document.querySelectorAll('div.chat-msg')].some(m =>\
             m.querySelector('converse-chat-message-body')?.textContent.includes('{answer}')\
             && !!m.querySelector('.chat-msg__receipt'));"
        ),
    )
    .await;
    shot(&browser, &dir, "03-reply-delivered.png").await;
    browser.finish().await;
    drop(demo);
}
