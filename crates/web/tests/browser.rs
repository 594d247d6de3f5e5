//! The console in a real headless Chromium, driven over WebDriver (chromedriver) against
//! the console served on 127.0.0.1 on a real PostgreSQL. Screenshots of every page go to
//! `target/test-artifacts/browser/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` packages (`scripts/lib/env.sh`
//! `ensure_chromium` installs them); without them these tests fail rather than skip.

mod support;

use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use chrono::TimeDelta;
use fantoccini::Locator;
use serde_json::json;
use support::{App, Database, GATEWAY, PASSWORD};
use textgate_alert_service::members::MemberAction;
use textgate_alert_service::{Actor, Credential};
use textgate_alerts::Role;
use textgate_store::{BackendKind, SentPart};
use textgate_testkit::browser::{Browser, Screenshots};

const WAIT: Duration = Duration::from_secs(30);

/// The console on a real listener on a fresh database, and a browser looking at it.
struct Console {
    browser: Browser,
    app: App,
    database: Option<Database>,
}

// The tests drive the browser as if it were the console: `b.fill(..)`, `b.client`.
impl Deref for Console {
    type Target = Browser;

    fn deref(&self) -> &Browser {
        &self.browser
    }
}

impl DerefMut for Console {
    fn deref_mut(&mut self) -> &mut Browser {
        &mut self.browser
    }
}

impl Console {
    /// `name` starts the names of the test's screenshots.
    async fn start(name: &'static str) -> Console {
        Console::start_with(name, |_| {}).await
    }

    /// The same, with the alert settings changed by `change`.
    async fn start_with(
        name: &'static str,
        change: impl FnOnce(&mut textgate_alert_service::AlertSettings),
    ) -> Console {
        let database = Database::create(BackendKind::Postgres).await;
        let mut app = support::open_app(&database.url).await;
        let mut settings = support::settings();
        change(&mut settings);
        app.state = support::console(app.state.store.clone(), settings, &app.clock);
        app.router = textgate_web::router(app.state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let service = app
            .router
            .clone()
            .into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, service).await });
        let browser = Browser::start(base, Screenshots::for_suite("browser").named(name), WAIT)
            .await
            .expect("start the browser");
        Console {
            browser,
            app,
            database: Some(database),
        }
    }

    /// Waits for the message at the top of the page to contain `part` (the page after a
    /// form post replaces the previous page's message).
    async fn message(&self, part: &str) -> String {
        let xpath = format!("//*[@id='message' and contains(., '{part}')]");
        self.wait_for(
            Locator::XPath(&xpath),
            &format!("no message containing {part:?}"),
        )
        .await
        .text()
        .await
        .expect("text")
    }

    async fn sign_in(&mut self, email: &str) {
        self.goto("/signin").await;
        self.fill("#email", email).await;
        self.fill("#password", PASSWORD).await;
        self.shot("signin").await;
        self.click("#signin").await;
        self.wait_for(Locator::Css("#member-form"), "member page after sign-in")
            .await;
    }

    async fn sign_out(&self) {
        self.click("header form button").await;
        self.wait_for(Locator::Css("#signin"), "sign-in page").await;
    }

    async fn finish(mut self) {
        self.browser.finish().await;
        self.app.state.store.close().await;
        if let Some(db) = self.database.take() {
            db.drop_database().await;
        }
    }
}

/// Registers and confirms `number` for a new account, through the library.
async fn registered_member(app: &App, email: &str, number: &str) {
    let id = app.account(email, &[Role::Member]).await;
    let members = app.state.alerts.members();
    let account = app.state.alerts.accounts().get(id).await.unwrap().unwrap();
    let actor = Actor {
        account: &account,
        ip: "127.0.0.1",
        credential: Credential::Session,
    };
    members
        .save(&actor, number, None, MemberAction::Save)
        .await
        .expect("save");
    members
        .confirm_code(&account, &app.last_code().await)
        .await
        .expect("confirm");
}

#[tokio::test]
async fn member_saves_confirms_tests_and_removes_a_number() {
    let mut b = Console::start("member").await;
    b.app.account("pat@example.org", &[Role::Member]).await;
    b.sign_in("pat@example.org").await;
    b.shot("empty").await;
    b.fill("#number", "(201) 555-0123").await;
    b.click("#save").await;
    b.message("We have sent a confirmation code to •••• 0123")
        .await;
    b.shot("saved-awaiting-code").await;
    let code = b.app.last_code().await;
    b.fill("#code", &code).await;
    b.click("#confirm-code").await;
    b.message("Your number is confirmed").await;
    b.click("#save-and-test").await;
    b.message("is on its way to •••• 0123").await;
    b.shot("tested").await;
    // The next visit shows the saved, masked number.
    b.goto("/alerts").await;
    assert_eq!(b.text("#saved-number").await, "•••• 0123");
    assert_eq!(
        b.text("#saved-state").await,
        "confirmed: you receive alerts"
    );
    b.click("#remove").await;
    let question = b.text("#question").await;
    assert!(question.contains("Remove your number"), "{question}");
    b.shot("remove-asks-first").await;
    b.click("#confirm").await;
    b.message("Your number has been removed").await;
    b.shot("removed").await;
    assert!(b.client.find(Locator::Css("#saved-number")).await.is_err());
    assert_eq!(
        b.app.count("SELECT COUNT(*) FROM alert_test_log").await,
        1,
        "the test log survives removal"
    );
    b.finish().await;
}

/// Alerts over XMPP on the member page: the form names the address alerts come from; a
/// typo is refused in words and the JID stays out of the store; a good JID is saved and
/// shown on the next visit.
#[tokio::test]
async fn member_adds_an_xmpp_address_for_alerts() {
    let mut b = Console::start_with("member-xmpp", |s| {
        s.xmpp = Some(textgate_alert_service::xmpp::XmppChannel {
            announcer: textgate_xmpp::announcer::AnnouncerConfig::new(
                "alerts.library.test",
                "secret",
                "127.0.0.1:5347",
                None,
            ),
            staff: Vec::new(),
        });
    })
    .await;
    // The choices of channels are for members with a number.
    registered_member(&b.app, "pat@example.org", "+12015550123").await;
    b.sign_in("pat@example.org").await;
    let hint = b.text("#xmpp-form .hint").await;
    assert!(hint.contains("alerts.library.test"), "{hint}");
    b.fill("#xmpp-jid", "pat@@library.test").await;
    b.click("#save-xmpp").await;
    b.message("is not an XMPP address").await;
    b.shot("typo-refused").await;
    assert_eq!(
        b.app
            .count("SELECT COUNT(*) FROM alert_xmpp_addresses")
            .await,
        0
    );
    b.fill("#xmpp-jid", "pat@library.test").await;
    b.click("#save-xmpp").await;
    b.message("alerts also come over XMPP to pat@library.test")
        .await;
    b.shot("saved").await;
    b.goto("/alerts").await;
    let saved = b
        .client
        .find(Locator::Css("#xmpp-jid"))
        .await
        .expect("the field")
        .prop("value")
        .await
        .expect("its value");
    assert_eq!(saved.as_deref(), Some("pat@library.test"));
    b.finish().await;
}

/// The first press of Save and Test on a new number: the number is saved and its code
/// sent, said as a success (not a red error), the typed number gone from the form, and the
/// code field's pattern one the browser accepts (it compiles patterns with the `v` flag).
#[tokio::test]
async fn save_and_test_on_a_new_number_is_a_success_that_asks_for_the_code() {
    let mut b = Console::start("save-and-test-first").await;
    b.app.account("new@example.org", &[Role::Member]).await;
    b.sign_in("new@example.org").await;
    b.fill("#number", "(201) 555-0144").await;
    b.click("#save-and-test").await;
    b.message("We have sent a confirmation code to •••• 0144")
        .await;
    b.shot("code-sent").await;
    let message_class = b
        .client
        .find(Locator::Css("#message"))
        .await
        .expect("the message")
        .attr("class")
        .await
        .expect("its class");
    assert_eq!(message_class.as_deref(), Some("message info"));
    let typed = b
        .client
        .find(Locator::Css("#number"))
        .await
        .expect("the number field")
        .prop("value")
        .await
        .expect("its value");
    assert_eq!(
        typed.as_deref(),
        Some(""),
        "the number is not left in clear"
    );
    let pattern_works = b
        .client
        .execute(
            "const code = document.getElementById('code');
             new RegExp('^(?:' + code.pattern + ')$', 'v');
             code.value = '123 456';
             const good = code.checkValidity();
             code.value = '12x456';
             return good && !code.checkValidity();",
            vec![],
        )
        .await
        .expect("the pattern compiles with the v flag");
    assert_eq!(pattern_works, json!(true));
    b.finish().await;
}

#[tokio::test]
async fn review_banner_after_six_months() {
    let mut b = Console::start("review").await;
    registered_member(&b.app, "old@example.org", "+1 201 555 0177").await;
    b.app.clock.advance(TimeDelta::days(190));
    b.sign_in("old@example.org").await;
    let banner = b.text("#review-banner").await;
    assert!(banner.contains("more than six months ago"), "{banner}");
    b.shot("banner").await;
    b.click("#save").await;
    b.message("Your details have been saved").await;
    assert!(b.client.find(Locator::Css("#review-banner")).await.is_err());
    b.shot("after-save").await;
    b.finish().await;
}

#[tokio::test]
async fn technical_administrator_cannot_reach_the_emergency_form() {
    let mut b = Console::start("technical").await;
    b.app
        .account(
            "tech@example.org",
            &[Role::TechnicalAdministrator, Role::Member],
        )
        .await;
    b.sign_in("tech@example.org").await;
    b.goto("/admin").await;
    assert!(b.client.find(Locator::Css("#compose-test")).await.is_ok());
    assert!(
        b.client.find(Locator::Css("#compose-alert")).await.is_err(),
        "no link to the emergency form"
    );
    b.shot("admin-home").await;
    b.goto("/admin/alert").await;
    let heading = b.text("h1").await;
    assert_eq!(heading, "Forbidden");
    // The refusal is drawn in the site's frame: the way on is in the navigation.
    assert!(
        b.client
            .find(Locator::Css("header nav a[href='/admin']"))
            .await
            .is_ok(),
        "the 403 page has the navigation"
    );
    b.shot("alert-by-url").await;
    // A forged POST from the signed-in browser, with a valid CSRF token.
    b.goto("/admin/test").await;
    let status = b
        .client
        .execute(
            "const csrf = document.querySelector('meta[name=csrf-token]').content;
             const body = new URLSearchParams({csrf, action: 'send', text: 'Forged real alert'});
             return fetch('/admin/alert/send', {method: 'POST', body, credentials: 'same-origin'}).then(r => r.status);",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(status, json!(403));
    assert_eq!(b.app.last_send("real").await, 0);
    b.finish().await;
}

/// Two-person approval as the two administrators see it: the drafter's alert waits on its
/// page with nothing sent and no buttons for her; the second administrator approves it
/// there and the progress follows.
#[tokio::test]
async fn a_second_administrator_approves_a_real_alert() {
    let mut b = Console::start_with("approval", |s| {
        s.approval = textgate_alert_service::Approval::TwoPerson {
            expires_after: TimeDelta::minutes(30),
        }
    })
    .await;
    registered_member(&b.app, "m@example.org", "+1 201 555 0101").await;
    for who in ["ann@example.org", "bob@example.org"] {
        b.app
            .account(who, &[Role::EmergencyAdministrator, Role::Member])
            .await;
    }
    b.sign_in("ann@example.org").await;
    b.goto("/admin/alert").await;
    b.fill("#text", "Campus closed today: snow. Stay home.")
        .await;
    b.click("#review").await;
    b.wait_for(Locator::Css("#send"), "the confirm page").await;
    b.click("#send").await;
    b.wait_for(Locator::Css("#drafter-waits"), "the waiting alert")
        .await;
    assert!(b.client.find(Locator::Css("#approve")).await.is_err());
    let id = b.app.last_send("real").await;
    assert_eq!(
        b.app
            .count(&format!(
                "SELECT COUNT(*) FROM outbound WHERE campaign_id = {id}"
            ))
            .await,
        0,
        "nothing goes out before the approval"
    );
    b.shot("drafter-waits").await;
    b.sign_out().await;
    b.sign_in("bob@example.org").await;
    // The desk lists what waits for him.
    b.goto("/admin").await;
    b.shot("desk-lists-the-waiting-alert").await;
    b.click(".awaiting-alert").await;
    let text = b.text("#approval-text").await;
    assert_eq!(text, "Campus closed today: snow. Stay home.");
    b.wait_for(Locator::Css("#approve"), "the approve button")
        .await;
    b.shot("second-administrator").await;
    b.click("#approve").await;
    b.message("is going out now").await;
    b.wait_for(Locator::Css("#approved-by"), "who approved")
        .await;
    b.shot("approved").await;
    b.finish().await;
}

/// A scenario's template on the compose page: chosen, its gap filled in, reviewed.
#[tokio::test]
async fn an_administrator_starts_from_a_template() {
    let mut b = Console::start_with("template", |s| {
        s.templates = vec![textgate_alerts::Template {
            name: "lockdown".into(),
            title: "Lockdown".into(),
            text: "LOCKDOWN at {place}: lock the doors, keep away from windows.".into(),
        }]
    })
    .await;
    registered_member(&b.app, "m@example.org", "+1 201 555 0101").await;
    b.app
        .account(
            "chief@example.org",
            &[Role::EmergencyAdministrator, Role::Member],
        )
        .await;
    b.sign_in("chief@example.org").await;
    b.goto("/admin/alert").await;
    b.click("#template-lockdown").await;
    b.wait_for(Locator::Css("#fill_place"), "the template's gap")
        .await;
    b.fill("#fill_place", "Hall B").await;
    b.shot("template-gap").await;
    b.click("#fill").await;
    b.wait_for(
        Locator::XPath("//textarea[@id='text' and starts-with(., 'LOCKDOWN at Hall B:')]"),
        "the filled-in text",
    )
    .await;
    b.click("#review").await;
    b.wait_for(Locator::Css("#send"), "the confirm page").await;
    let preview = b.text("#preview").await;
    assert!(preview.starts_with("LOCKDOWN at Hall B:"), "{preview}");
    b.shot("template-confirm").await;
    b.finish().await;
}

#[tokio::test]
async fn emergency_alert_from_compose_to_full_progress() {
    let mut b = Console::start("alert").await;
    for (i, n) in [
        "+1 201 555 0101",
        "+1 201 555 0102",
        "+1 201 555 0103",
        "+1 201 555 0104",
    ]
    .iter()
    .enumerate()
    {
        registered_member(&b.app, &format!("m{i}@example.org"), n).await;
    }
    b.app
        .account(
            "chief@example.org",
            &[Role::EmergencyAdministrator, Role::Member],
        )
        .await;
    b.sign_in("chief@example.org").await;
    b.goto("/admin").await;
    b.click("#compose-alert").await;
    let text = format!(
        "Shelter in place: a storm is near the library. Stay inside away from windows. {} End.",
        "More details follow".repeat(2)
    );
    b.client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#text"))
        .await
        .expect("compose form");
    b.fill("#text", &text).await;
    // The live counters (JavaScript) follow the typing.
    let typed = text.chars().count().to_string();
    b.client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(&format!(
            "//span[@id='typed' and text()='{typed}']"
        )))
        .await
        .expect("live count");
    b.client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath("//span[@id='parts' and text()='1']"))
        .await
        .expect("part count");
    b.shot("compose").await;
    b.click("#review").await;
    let beyond = b
        .client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#beyond"))
        .await
        .expect("red overflow");
    assert_eq!(
        beyond.css_value("color").await.unwrap(),
        "rgba(204, 0, 0, 1)"
    );
    let cut: String = text.chars().skip(110).collect();
    assert_eq!(beyond.text().await.unwrap(), cut.trim_end());
    assert!(b
        .text("#eta")
        .await
        .contains("Estimated time to reach everyone"));
    b.shot("confirm").await;
    b.click("#cancel").await;
    let kept = b
        .client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#text"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some(text.as_str()));
    let address = b.client.current_url().await.expect("the address");
    assert_eq!(
        address.path(),
        "/admin/alert",
        "Cancel leads back to the form's own address"
    );
    b.shot("cancelled").await;
    b.click("#review").await;
    b.client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#send"))
        .await
        .expect("confirm page");
    let mut enqueued = b.app.state.alerts.campaigns().enqueued_signal();
    b.click("#send").await;
    b.client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#progress"))
        .await
        .expect("progress page");
    tokio::time::timeout(WAIT, enqueued.changed())
        .await
        .expect("enqueued in time")
        .expect("signal");
    b.shot("progress-start").await;
    // No gateway runtime in this test: deliver through the store as the outbox worker does.
    b.app.clock.advance(TimeDelta::minutes(10));
    let id = b.app.last_send("real").await;
    let leased: Vec<_> = b
        .app
        .state
        .store
        .lease_due(GATEWAY, "browser-test", 100, TimeDelta::minutes(1))
        .await
        .expect("lease")
        .into_iter()
        .filter(|l| l.text.campaign_id == Some(id))
        .collect();
    assert_eq!(leased.len(), 4);
    for l in &leased {
        b.app
            .state
            .store
            .mark_sent(
                &l.lease,
                &[SentPart {
                    seq: 1,
                    message_ref: "7".to_owned(),
                }],
            )
            .await
            .expect("mark sent");
    }
    // The page refreshes itself (JavaScript) until it shows 100%.
    b.client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath("//span[@id='percent' and text()='100']"))
        .await
        .expect("100% shown");
    assert_eq!(b.text("#sent").await, "4");
    b.shot("progress-done").await;
    b.finish().await;
}

#[tokio::test]
async fn transcripts_are_deleted_and_downloaded() {
    let mut b = Console::start("transcripts").await;
    let store = b.app.state.store.clone();
    store
        .set_transcript_policy(GATEWAY, textgate_store::TranscriptPolicy::Keep)
        .await
        .unwrap();
    let now = b.app.state.now();
    for (i, patron) in ["+12015550170", "+12015550171"].iter().enumerate() {
        let id = store
            .insert_inbound(&textgate_store::NewInbound {
                gateway: GATEWAY.into(),
                sender: patron.to_string(),
                smsc_time: now.fixed_offset(),
                received_at: now,
                body: format!("Do you have book {i}?"),
                concatenation: None,
                parts_hex: vec!["00".into()],
                incomplete: false,
                consumed_pending_parts: vec![],
            })
            .await
            .unwrap()
            .id();
        store.mark_inbound_offered(&[id]).await.unwrap();
        store
            .mark_inbound_delivered(&[id], "librarian@example.org/desk")
            .await
            .unwrap();
    }
    b.app
        .account(
            "records@example.org",
            &[Role::TranscriptAdministrator, Role::Member],
        )
        .await;
    b.sign_in("records@example.org").await;
    b.goto("/staff/transcripts").await;
    let table = b.text("#conversations").await;
    assert!(
        table.contains("+12015550170") && table.contains("+12015550171"),
        "{table}"
    );
    b.shot("list").await;
    // The zip, fetched by the browser with its session.
    let zip = b
        .client
        .execute(
            "const href = document.getElementById('download').getAttribute('href');
             return fetch(href, {credentials: 'same-origin'}).then(async r => {
               const bytes = new Uint8Array(await r.arrayBuffer());
               return [r.status, r.headers.get('content-type'), bytes[0], bytes[1], bytes.length];
             });",
            vec![],
        )
        .await
        .expect("download");
    assert_eq!(zip[0], json!(200));
    assert_eq!(zip[1], json!("application/zip"));
    assert_eq!((zip[2].clone(), zip[3].clone()), (json!(b'P'), json!(b'K')));
    // Erase one conversation's transcript, then delete the whole period's records.
    b.click("#conversations tbody tr:first-child input[type=checkbox]")
        .await;
    b.click("#what-transcripts").await;
    b.click("#delete").await;
    b.message("Erased the text of 1 message(s)").await;
    b.shot("erased").await;
    b.click("#what-records").await;
    b.click("#scope-period").await;
    b.click("#delete").await;
    b.message("Deleted 2 message(s) and 2 conversation(s)")
        .await;
    b.shot("deleted").await;
    b.sign_out().await;
    b.finish().await;
}

/// The secret of the token just created, from its read-only field.
async fn new_token(b: &Console) -> String {
    b.client
        .find(Locator::Css("#new-token"))
        .await
        .expect("the new token")
        .prop("value")
        .await
        .expect("value")
        .expect("a token")
}

#[tokio::test]
async fn api_token_is_shown_once_and_stops_working_when_revoked() {
    let mut b = Console::start("tokens").await;
    b.app.account("script@example.org", &[Role::Member]).await;
    b.sign_in("script@example.org").await;
    b.click("a[href='/tokens']").await;
    b.text("#no-tokens").await;
    b.fill("#label", "nightly export").await;
    b.click("#create-token").await;
    b.message("Copy it now").await;
    let token = new_token(&b).await;
    assert_eq!(token.len(), 64, "{token}");
    b.shot("created").await;
    // The token works on its own (no cookie), from the page's origin.
    let me = "return fetch('/api/v1/me', {credentials: 'omit', headers: {Authorization: 'Bearer ' + arguments[0]}}).then(r => r.status);";
    let status = b
        .client
        .execute(me, vec![json!(token)])
        .await
        .expect("script");
    assert_eq!(status, json!(200));
    // The list shows it without the secret.
    b.goto("/tokens").await;
    let row = b.text("#own-tokens tbody tr").await;
    assert!(row.contains("nightly export"), "{row}");
    let source = b.client.source().await.expect("page source");
    assert!(!source.contains(&token), "the secret is shown again");
    b.shot("listed").await;
    b.click("#own-tokens a.revoke").await;
    let question = b.text("#question").await;
    assert!(question.contains("nightly export"), "{question}");
    b.shot("confirm-revoke").await;
    b.click("#confirm").await;
    b.message("has been revoked").await;
    b.text("#no-tokens").await;
    b.shot("revoked").await;
    let status = b
        .client
        .execute(me, vec![json!(token)])
        .await
        .expect("script");
    assert_eq!(status, json!(401));
    b.finish().await;
}

#[tokio::test]
async fn a_text_sender_makes_a_send_token_that_sends_texts_and_nothing_else() {
    let mut b = Console::start("send-token").await;
    b.app.account("koha@example.org", &[Role::TextSender]).await;
    b.sign_in("koha@example.org").await;
    b.click("a[href='/tokens']").await;
    b.fill("#label", "Koha notices").await;
    b.click("#scope-send").await;
    b.click("#create-token").await;
    b.message("Copy it now").await;
    let token = new_token(&b).await;
    b.goto("/tokens").await;
    let scope = b.text("#own-tokens tbody tr .scope").await;
    assert_eq!(scope, "sending texts");
    b.shot("send-token").await;
    // From the page's origin without the cookie: it sends a text and reads its status,
    // and is refused everything else.
    let call = "return fetch(arguments[1], {method: arguments[2], credentials: 'omit', headers: {Authorization: 'Bearer ' + arguments[0], 'Content-Type': 'application/json', 'Idempotency-Key': 'b-1'}, body: arguments[3]}).then(r => r.status);";
    let body = json!({ "to": "+12015550143", "text": "Your hold is ready." }).to_string();
    for (path, method, body, expected) in [
        ("/api/v1/texts", "POST", Some(body.clone()), 202),
        ("/api/v1/texts", "POST", Some(body), 200),
        ("/api/v1/me", "GET", None, 403),
    ] {
        let status = b
            .client
            .execute(
                call,
                vec![json!(token), json!(path), json!(method), json!(body)],
            )
            .await
            .expect("script");
        assert_eq!(status, json!(expected), "{method} {path}");
    }
    assert_eq!(
        b.app
            .count("SELECT COUNT(*) FROM outbound WHERE recipient = '+12015550143'")
            .await,
        1
    );
    b.finish().await;
}

#[tokio::test]
async fn technical_administrator_changes_a_role() {
    let mut b = Console::start("roles").await;
    let sam = b.app.account("sam@example.org", &[Role::Member]).await;
    b.app
        .account(
            "tech@example.org",
            &[Role::TechnicalAdministrator, Role::Member],
        )
        .await;
    b.sign_in("tech@example.org").await;
    b.click("header a[href='/admin/accounts']").await;
    b.click(&format!("#account-{sam} a.manage")).await;
    assert_eq!(b.text("#current-roles").await, "member");
    let emergency = b
        .client
        .find(Locator::Css("#role-emergency-administrator"))
        .await
        .expect("the emergency role box");
    assert_eq!(
        emergency
            .attr("disabled")
            .await
            .expect("attribute")
            .as_deref(),
        Some("true"),
        "a technical administrator cannot give the emergency role"
    );
    b.shot("account").await;
    b.click("#role-technical-administrator").await;
    b.click("#save-roles").await;
    b.message("sam@example.org now has the roles member, technical administrator")
        .await;
    assert_eq!(
        b.text("#current-roles").await,
        "member, technical administrator"
    );
    b.shot("promoted").await;
    let roles = b
        .app
        .state
        .alerts
        .accounts()
        .get(sam)
        .await
        .unwrap()
        .unwrap()
        .roles;
    assert!(roles.has(Role::TechnicalAdministrator));
    b.finish().await;
}

#[tokio::test]
async fn technical_administrator_removes_an_account() {
    let mut b = Console::start("remove").await;
    let leaver = b.app.account("leaver@example.org", &[Role::Member]).await;
    let tech = b
        .app
        .account(
            "tech@example.org",
            &[Role::TechnicalAdministrator, Role::Member],
        )
        .await;
    b.sign_in("tech@example.org").await;
    // One's own account offers no removal.
    b.goto(&format!("/admin/accounts/{tech}")).await;
    b.text("#roles-form").await;
    assert!(b
        .client
        .find(Locator::Css("#remove-account"))
        .await
        .is_err());
    b.goto("/admin/accounts").await;
    b.click(&format!("#account-{leaver} a.manage")).await;
    b.click("#remove-account").await;
    let question = b.text("#question").await;
    assert!(question.contains("leaver@example.org"), "{question}");
    b.shot("confirm-remove").await;
    // Cancel first: nothing happens.
    b.click("#back").await;
    b.text("#roles-form").await;
    assert!(b
        .app
        .state
        .alerts
        .accounts()
        .get(leaver)
        .await
        .unwrap()
        .is_some());
    b.click("#remove-account").await;
    b.click("#confirm").await;
    b.message("The account leaver@example.org has been removed")
        .await;
    b.shot("removed").await;
    assert!(b
        .client
        .find(Locator::Css(&format!("#account-{leaver}")))
        .await
        .is_err());
    assert!(b
        .app
        .state
        .alerts
        .accounts()
        .get(leaver)
        .await
        .unwrap()
        .is_none());
    b.finish().await;
}
