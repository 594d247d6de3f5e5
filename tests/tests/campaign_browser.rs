//! An emergency alert from a real browser to the members' phones: the daemon with
//! `[alerts]` serves the console on its HTTP listener, headless Chromium (driven over
//! WebDriver by chromedriver) signs in as the emergency administrator, composes, reviews,
//! cancels, reviews again and sends; the progress page refreshes itself until 100% while
//! the gateway's outbox worker sends every delivery through the simulated modem.
//!
//! The accounts and the members' confirmed numbers are set up through the alert service's
//! library against the daemon's database (`Accounts::create_admin`, what `textgate
//! create-admin` calls, then `Members::save` and `Members::confirm_code`); each member's
//! confirmation code is read from the SMS the daemon really sent to their number.
//! Screenshots go to `target/test-artifacts/campaign/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` packages; without them this test fails
//! rather than skips.

mod support;

use std::path::Path;
use std::time::Duration;

use fantoccini::Locator;
use support::daemon::{self, Daemon, GatewaySection};
use support::database::Database;
use support::modem::Modem;
use support::prosody::Prosody;
use support::scene::{operator, ALERTS, GW};
use textgate_alert_service::members::MemberAction;
use textgate_alert_service::{Actor, AlertService, Credential};
use textgate_alerts::{Role, Roles};
use textgate_modemsim::SimConfig;
use textgate_store::Store;
use textgate_testkit::browser::{Browser, Screenshots};

/// How long any awaited page state may take.
const WAIT: Duration = Duration::from_secs(60);
const ADMIN: &str = "chief@library.test";
const ADMIN_PASSWORD: &str = "correct horse battery staple";
const MEMBERS: [&str; 6] = [
    "+12015550101",
    "+12015550102",
    "+12015550103",
    "+12015550104",
    "+12015550105",
    "+12015550106",
];

/// The alert service on the daemon's database, built from the same configuration file the
/// daemon reads (so the same keys).
async fn console(config: &Path) -> AlertService {
    let loaded =
        textgate::config::Config::load(config, &Default::default()).expect("configuration");
    let settings = textgate::run_cmd::alert_settings(&loaded.config)
        .expect("alert settings")
        .expect("[alerts] is configured");
    let store = Store::open(loaded.config.database.url.expose())
        .await
        .expect("open the daemon's database");
    AlertService::new(store, settings).expect("the alert service")
}

/// Registers `number` for a new member account and confirms it with the code the daemon
/// sent to that number through the simulator.
async fn register_member(state: &AlertService, modem: &Modem, email: &str, number: &str) {
    let id = state
        .accounts()
        .create_admin(email, ADMIN_PASSWORD, Roles::new([Role::Member]))
        .await
        .expect("member account");
    let account = state
        .accounts()
        .get(id)
        .await
        .expect("read account")
        .expect("account exists");
    let actor = Actor {
        account: &account,
        ip: "127.0.0.1",
        credential: Credential::Session,
    };
    state
        .members()
        .save(&actor, number, None, MemberAction::Save)
        .await
        .expect("save the number");
    modem
        .sim
        .wait_until(WAIT, |m| m.sent().iter().any(|p| p.recipient == number))
        .await
        .unwrap_or_else(|e| panic!("no confirmation code sent to {number}: {e}"));
    let sent = modem
        .sim
        .sent_messages()
        .into_iter()
        .find(|s| s.recipient == number)
        .expect("the confirmation text");
    let code = sent
        .text
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in {:?}", sent.text))
        .to_owned();
    state
        .members()
        .confirm_code(&account, &code)
        .await
        .expect("confirm the code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emergency_alert_from_the_browser_reaches_every_member_through_the_modem() {
    let prosody = Prosody::start(&[GW]).await.expect("Prosody starts");
    let db = Database::create().await;
    // A realistic but small latency per CMGS, and (below) a modem rate of one text a
    // second, so the page's first refresh usually shows the campaign part-way.
    let modem = Modem::start_with(SimConfig {
        send_latency: Duration::from_millis(200),
        ..SimConfig::instant()
    })
    .await;
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
    let config_text = daemon::config_with(&db.url, ALERTS, &[section]);
    let mut daemon = Daemon::start(&config_text);
    let address = support::http::address(&mut daemon).await;
    support::http::wait_ready(&daemon, address).await;

    let dir = tempfile::tempdir().expect("temporary directory");
    let config = dir.path().join("textgate.toml");
    std::fs::write(&config, &config_text).expect("write the configuration");
    let state = console(&config).await;
    state
        .accounts()
        .create_admin(
            ADMIN,
            ADMIN_PASSWORD,
            Roles::new([Role::EmergencyAdministrator, Role::Member]),
        )
        .await
        .expect("create the emergency administrator");
    for (i, number) in MEMBERS.iter().enumerate() {
        register_member(&state, &modem, &format!("m{i}@library.test"), number).await;
    }
    let confirmations = modem.sim.sent_messages().len();
    assert_eq!(confirmations, MEMBERS.len(), "one confirmation code each");

    let mut b = Browser::start(
        format!("http://{address}"),
        Screenshots::for_suite("campaign"),
        WAIT,
    )
    .await
    .expect("start the browser");
    b.goto("/signin").await;
    b.fill("#email", ADMIN).await;
    b.fill("#password", ADMIN_PASSWORD).await;
    b.click("#signin").await;
    b.wait_for(Locator::Css("#member-form"), "member page after sign-in")
        .await;
    b.goto("/admin").await;
    b.click("#compose-alert").await;

    let text = "Shelter in place: a severe storm is near the library. Stay inside, away from \
                windows, until staff say it is safe. Updates follow here.";
    assert!(text.chars().count() > 110, "longer than the safe length");
    b.fill("#text", text).await;
    b.wait_for(
        Locator::XPath(&format!(
            "//span[@id='typed' and text()='{}']",
            text.chars().count()
        )),
        "live character count",
    )
    .await;
    b.shot("compose").await;

    b.click("#review").await;
    let beyond = b.wait_for(Locator::Css("#beyond"), "red overflow").await;
    assert_eq!(
        beyond.css_value("color").await.expect("colour"),
        "rgba(204, 0, 0, 1)"
    );
    let cut: String = text.chars().skip(110).collect();
    assert_eq!(beyond.text().await.expect("overflow text"), cut.trim_end());
    b.shot("confirm").await;

    b.click("#cancel").await;
    let kept = b
        .wait_for(Locator::Css("#text"), "compose form after cancel")
        .await
        .prop("value")
        .await
        .expect("value");
    assert_eq!(kept.as_deref(), Some(text));
    b.shot("cancelled").await;

    b.click("#review").await;
    b.click("#send").await;
    b.wait_for(Locator::Css("#progress"), "progress page").await;
    b.shot("progress-start").await;
    let total = b
        .wait_for(Locator::Css("#total"), "recipient count")
        .await
        .text()
        .await
        .expect("total");
    assert_eq!(total, MEMBERS.len().to_string());
    // The page's own script refreshes the figures: a picture of its first refresh (part-way
    // unless the modem was quicker than the script), then wait for it to show 100%.
    let first = b
        .wait_for(
            Locator::XPath("//span[@id='percent' and text()!='0']"),
            "a refreshed percentage",
        )
        .await
        .text()
        .await
        .expect("percentage");
    b.shot(&format!("progress-refreshed-{first}pc")).await;
    b.wait_for(
        Locator::XPath("//span[@id='percent' and text()='100']"),
        "progress at 100%",
    )
    .await;
    // The server rendered "still being put in the outbox" while enqueueing; once the
    // refreshed figures say everything is enqueued, the page must not claim it any more.
    let enqueueing = b
        .client
        .find_all(Locator::Id("enqueueing"))
        .await
        .expect("look for the enqueueing sentence");
    for sentence in enqueueing {
        assert!(
            !sentence.is_displayed().await.expect("visibility"),
            "the progress page at 100% still says the deliveries are being put in the outbox"
        );
    }
    b.shot("progress-100").await;

    let mut alerted: Vec<String> = modem
        .sim
        .sent_messages()
        .into_iter()
        .filter(|s| s.text == text)
        .map(|s| s.recipient)
        .collect();
    alerted.sort();
    assert_eq!(alerted, MEMBERS, "exactly one alert SMS per member");
    assert_eq!(
        modem.sim.sent_messages().len(),
        confirmations + MEMBERS.len(),
        "nothing else was sent"
    );

    b.finish().await;
    state.store().close().await;
}
