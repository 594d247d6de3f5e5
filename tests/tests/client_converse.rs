//! Converse.js, a browser XMPP client nobody on the team wrote (from npm, pinned in
//! `clients/converse`), at the desk: headless Chromium loads the page testkit serves
//! (`textgate_testkit::converse`), which connects to Prosody's WebSocket (mod_websocket);
//! alice logs in there and works the desk as a librarian would, with the mouse and the
//! keyboard. A patron's text shows in her browser, her reply leaves the simulated modem as
//! SMS, the phone's status report shows as Converse's check mark (XEP-0184), a text the
//! network could not deliver shows Converse's error under her message, and adding a number as
//! a contact starts a new conversation.
//!
//! Converse.js has no XEP-0100 ("gateway") dialog, so the number is added as the contact
//! `+15557654321@sms.library.test` directly, as docs/desk.md tells librarians.
//!
//! Screenshots of each step go to `target/artifacts/clients/converse/`. Needs Converse.js
//! (`ensure_converse`), Chromium and chromedriver (`ensure_chromium`) and Prosody.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::Locator;
use support::clients::{self, artifacts, keep, SHOW_WAIT};
use support::scene::{Scene, GW, PASSWORD, PATRON};
use textgate_modemsim::{FaultPatch, IncomingText, ReportOutcome};
use textgate_testkit::browser::{Browser, Screenshots};
use textgate_testkit::converse::{pinned_dist, ConverseSite};
use textgate_testkit::prosody::HOST;

/// The number the librarian texts first.
const NEW_NUMBER: &str = "+15557654321";
/// How long after each send the simulated network reports it delivered: long enough to see
/// the reply without its check mark first.
const REPORT_DELAY: Duration = Duration::from_secs(3);

/// The browser at the desk, and where its screenshots go.
struct Desk {
    browser: Browser,
    dir: PathBuf,
    taken: u32,
}

impl Desk {
    /// Chromium on the page `site` serves, in a desktop-sized window.
    async fn open(site: &ConverseSite) -> Desk {
        let base = site.url().trim_end_matches('/').to_owned();
        // Screenshots are taken here, into the clients' artifact directory.
        let browser = Browser::start(base, Screenshots::for_suite("client_converse"), SHOW_WAIT)
            .await
            .expect("start the browser");
        browser
            .client
            .set_window_size(1280, 800)
            .await
            .expect("a desktop-sized window");
        browser.goto("/").await;
        Desk {
            browser,
            dir: artifacts("converse"),
            taken: 0,
        }
    }

    /// Keeps a picture of the window as `NN-what.png`.
    async fn shot(&mut self, what: &str) {
        self.taken += 1;
        let png = self.browser.client.screenshot().await.expect("screenshot");
        keep(&self.dir, &format!("{:02}-{what}.png", self.taken), png);
    }

    /// Waits for the element at the XPath `xpath`; the panic names `what` and shows the page.
    async fn wait_xpath(&self, xpath: &str, what: &str) -> Element {
        self.browser.wait_for(Locator::XPath(xpath), what).await
    }

    /// Opens the chat with `jid` from the contacts list. Converse redraws the list whenever
    /// a contact's presence or subscription changes, which can replace the entry between
    /// finding it and clicking it; a replaced entry is looked up again.
    async fn open_chat(&self, jid: &str) {
        let css = format!("converse-roster a.open-chat[data-jid='{jid}']");
        let mut attempts = 0;
        loop {
            let entry = self
                .browser
                .wait_for(Locator::Css(&css), &format!("{jid} among the contacts"))
                .await;
            match entry.click().await {
                Ok(_) => break,
                Err(e) if attempts < 5 && e.to_string().contains("stale element") => attempts += 1,
                Err(e) => panic!("click {css}: {e}"),
            }
        }
        self.browser
            .wait_for(
                Locator::Css(&format!(
                    "converse-chat[jid='{jid}'] textarea.chat-textarea"
                )),
                &format!("the chat with {jid} open"),
            )
            .await;
    }

    /// Types `text` into the chat with `jid` and presses Enter, as a librarian sends.
    async fn send(&self, jid: &str, text: &str) {
        let field = self
            .browser
            .wait_for(
                Locator::Css(&format!(
                    "converse-chat[jid='{jid}'] textarea.chat-textarea"
                )),
                "the chat's text field",
            )
            .await;
        field
            .send_keys(&format!("{text}{}", char::from(Key::Enter)))
            .await
            .expect("typing into the chat");
    }
}

/// The XPath of the message whose text contains `text`.
fn message(text: &str) -> String {
    format!(
        "//div[contains(concat(' ', @class, ' '), ' chat-msg ')]\
         [.//*[contains(@class, 'chat-msg__text') and contains(., '{text}')]]"
    )
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_librarian_works_the_desk_in_converse_js() {
    let mut scene = clients::scene(clients::sim_with_report_delay(REPORT_DELAY)).await;
    let prosody_http = scene.prosody.http_port.expect("Prosody serves WebSocket");
    let site = ConverseSite::serve(&pinned_dist(), HOST, ([127, 0, 0, 1], prosody_http).into())
        .await
        .expect("serving Converse.js");
    let mut desk = Desk::open(&site).await;
    let patron = format!("{PATRON}@{GW}");

    // Log in with her name alone: the page knows the library's domain.
    desk.browser
        .fill("#converse-login input[name=jid]", "alice")
        .await;
    desk.browser
        .fill("#converse-login input[name=password]", PASSWORD)
        .await;
    desk.shot("login").await;
    desk.browser
        .click("#converse-login button[type=submit]")
        .await;

    // The first time: the gateway asks to see her presence; she accepts.
    desk.browser
        .wait_for(
            Locator::Css(&format!("li.requesting-xmpp-contact a[data-jid='{GW}']")),
            "the gateway's contact request",
        )
        .await;
    desk.shot("gateway-asks").await;
    desk.browser
        .click("li.requesting-xmpp-contact .dropdown-toggle")
        .await;
    desk.browser
        .click("li.requesting-xmpp-contact .accept-xmpp-request")
        .await;
    desk.browser
        .click(".modal.show form.converse-form button[type=submit]")
        .await;
    scene.wait_available("alice").await;

    // A patron texts: the number shows in her contacts with the unread text, and the text in
    // its chat.
    let question = "Is the library open on Sunday?";
    scene
        .modem
        .sim
        .inject_text(&IncomingText::new(PATRON, question))
        .expect("the patron's text");
    desk.browser
        .wait_for(
            Locator::Css(&format!(
                "converse-roster a.open-chat.unread-msgs[data-jid='{patron}']"
            )),
            "the patron among her contacts, with an unread text",
        )
        .await;
    // Named the way the gateway's vCard for the number reads, not as a JID.
    desk.wait_xpath(
        &format!(
            "//converse-roster//a[@data-jid='{patron}']\
             //span[contains(@class, 'contact-name') and contains(., '+1 555-123-4567')]"
        ),
        "the patron named +1 555-123-4567",
    )
    .await;
    desk.shot("text-arrives").await;
    desk.open_chat(&patron).await;
    desk.wait_xpath(&message(question), "the patron's text in the chat")
        .await;
    // Converse confirmed it (XEP-0184): the gateway records it as delivered to her.
    scene
        .daemon
        .expect_log(&[
            "text confirmed by the operator's client",
            "alice@library.test",
        ])
        .await;
    desk.shot("chat").await;

    // She replies; the reply leaves as SMS; the check mark comes with the status report.
    let answer = "Yes, from 12 to 5.";
    desk.send(&patron, answer).await;
    desk.wait_xpath(&message(answer), "her reply in the chat")
        .await;
    sms_left(&scene, PATRON, answer).await;
    let receipt = format!(
        "{}//*[contains(@class, 'chat-msg__receipt')]",
        message(answer)
    );
    let early = desk
        .browser
        .client
        .find_all(Locator::XPath(&receipt))
        .await
        .expect("looking for a check mark");
    assert!(
        early.is_empty(),
        "a check mark before the network reported the SMS delivered"
    );
    desk.shot("reply-sent").await;
    desk.wait_xpath(
        &receipt,
        "the check mark on her reply (the delivery receipt)",
    )
    .await;
    desk.shot("reply-delivered").await;

    // The network reports the next reply undelivered: Converse shows the gateway's error
    // under it.
    scene.modem.sim.set_faults(FaultPatch {
        status_report: Some(ReportOutcome::Failed),
        ..FaultPatch::default()
    });
    let lost = "We will keep it for you.";
    desk.send(&patron, lost).await;
    sms_left(&scene, PATRON, lost).await;
    let error = desk
        .wait_xpath(
            &format!(
                "{}//div[contains(@class, 'chat-msg__error')]",
                message(lost)
            ),
            "the error under the undelivered reply",
        )
        .await
        .text()
        .await
        .expect("the error's text");
    assert!(
        error.contains("Message delivery failed.") && error.contains("was not delivered"),
        "{error}"
    );
    scene.modem.sim.clear_faults();
    desk.shot("reply-failed").await;

    // A new conversation: she adds the number as a contact (the gateway approves it at
    // once) and texts it.
    let new_jid = format!("{NEW_NUMBER}@{GW}");
    desk.browser
        .click("converse-roster .dropdown--contacts .dropdown-toggle")
        .await;
    desk.browser
        .click("converse-roster .dropdown--contacts a.add-contact")
        .await;
    desk.browser
        .fill(".modal.show input[name=jid]", &new_jid)
        .await;
    desk.shot("add-contact").await;
    desk.browser
        .click(".modal.show form button[type=submit]")
        .await;
    desk.wait_xpath(
        &format!(
            "//converse-roster//div[contains(@class, 'roster-group') and @data-group='Ungrouped']\
             //a[@data-jid='{new_jid}']"
        ),
        "the new number among her contacts, no longer pending (the gateway approved it)",
    )
    .await;
    desk.open_chat(&new_jid).await;
    let first = "Your hold is ready at the front desk.";
    desk.send(&new_jid, first).await;
    sms_left(&scene, NEW_NUMBER, first).await;
    desk.wait_xpath(
        &format!(
            "{}//*[contains(@class, 'chat-msg__receipt')]",
            message(first)
        ),
        "the check mark on the first text to the new number",
    )
    .await;
    desk.shot("new-conversation").await;

    // The server's side of the session, for reading beside the screenshots.
    keep(&desk.dir, "prosody.log", scene.prosody.log());
    desk.browser.finish().await;
    drop(site);
}
