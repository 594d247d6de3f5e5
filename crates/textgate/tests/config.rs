//! The configuration as a user meets it: each mistake gives its own message naming the key,
//! the example file stays valid and complete, overrides and secret forms work, and
//! `textgate check-config` reports through its exit status.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use expect_test::{expect, Expect};
use textgate::config::{
    override_variables, AlertKey, AlertsConfig, AndroidDriver, AndroidMode, AtDriver,
    ClaimCollisions, Config, ConfigError, DatabaseConfig, DeskConfig, DriverConfig, GatewayConfig,
    HealthConfig, HttpConfig, LogConfig, LogFormat, MultipartNotice, NoticePlacement, OutboxConfig,
    Quirks, Routing, Secret, SecretSource, Show, SimulatorDriver, SmppBind, SmppDriver,
    SmppMultipart, SmppPacking, SmtpDriver, SmtpTls, Transcripts, WebhookConfig, WebhookReceived,
};
use textgate_alerts::compose::Ucs2Policy;
use textgate_testkit::prosody::Prosody;

/// The smallest valid configuration; tests edit it with [`edit`].
const MINIMAL: &str = r#"
[[gateway]]
name = "library"
domain = "sms.library.example"
secret = "component-secret"
operators = ["alice@library.example"]
default_region = "US"

[gateway.driver]
kind = "simulator"
address = "127.0.0.1:7001"
"#;

/// A second gateway to append to [`MINIMAL`].
const CAMPUS: &str = r#"
[[gateway]]
name = "campus"
domain = "sms.campus.example"
secret = "other-secret"
operators = ["carol@campus.example"]
default_region = "FR"

[gateway.driver]
kind = "simulator"
address = "127.0.0.1:7002"
"#;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn example_path() -> PathBuf {
    manifest_dir().join("../../config/textgate.example.toml")
}

/// `text` with `from` (which must occur) replaced by `to`.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in the configuration");
    text.replacen(from, to, 1)
}

fn environment(vars: &[(&str, &str)]) -> BTreeMap<String, String> {
    vars.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// What loading `text` gives: the summary and warnings, or the error.
fn outcome(text: &str, vars: &[(&str, &str)], base_dir: &Path) -> String {
    match Config::from_toml(text, &environment(vars), "test.toml", base_dir) {
        Ok(loaded) => {
            let mut out = loaded.config.summary(Path::new("test.toml"));
            for warning in loaded.warnings {
                out.push_str(&format!("warning: {warning}\n"));
            }
            out
        }
        Err(e) => format!("{e}\n"),
    }
}

fn check(text: &str, expect: Expect) {
    check_env(text, &[], expect);
}

fn check_env(text: &str, vars: &[(&str, &str)], expect: Expect) {
    expect.assert_eq(&outcome(text, vars, Path::new(".")));
}

fn load(text: &str, vars: &[(&str, &str)], base_dir: &Path) -> Config {
    match Config::from_toml(text, &environment(vars), "test.toml", base_dir) {
        Ok(loaded) => loaded.config,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn minimal_configuration_takes_the_defaults() {
    check(
        MINIMAL,
        expect![[r#"
            test.toml: OK
            database: SQLite; http: 127.0.0.1:8080; log: text at info
            alerts: off
            1 gateway(s):
              library (sms.library.example) via 127.0.0.1:5347: simulator at 127.0.0.1:7001; region US; routing claim; transcripts off; operators alice@library.example
        "#]],
    );
    let config = load(MINIMAL, &[], Path::new("."));
    let gateway = &config.gateways[0];
    assert_eq!(
        config.database.url.expose(),
        "sqlite://textgate.sqlite3?mode=rwc"
    );
    assert_eq!(config.log.format, LogFormat::Text);
    assert_eq!(gateway.available_shows, [Show::Chat, Show::Available]);
    assert_eq!(gateway.max_parts, 6);
    assert_eq!(
        gateway.notice_multipart.render(3).as_deref(),
        Some("(sent as 3 SMS)")
    );
    assert_eq!(gateway.outbox.initial_backoff, Duration::from_secs(10));
    assert_eq!(gateway.outbox.max_backoff, Duration::from_secs(600));
    assert_eq!(gateway.call_auto_reply, None);
}

#[test]
fn unknown_keys_are_named() {
    check(
        &format!("{MINIMAL}\n[htp]\nlisten = \"0.0.0.0:80\"\n"),
        expect![[r#"
            test.toml has 1 error:
              htp: unknown key; the top level has `database`, `http`, `log`, `alerts`, `[[gateway]]` and `[[webhook]]`
        "#]],
    );
    check(
        &format!("[http]\nlisen = \"0.0.0.0:80\"\n{MINIMAL}"),
        expect![[r#"
            test.toml has 1 error:
              http.lisen: unknown field `lisen`, expected one of `listen`, `secure_cookies`, `sends_per_minute`
        "#]],
    );
    check(
        &edit(
            MINIMAL,
            "default_region",
            "rooting = \"claim\"\ndefault_region",
        ),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).rooting: unknown field `rooting`, expected one of `name`, `domain`, `secret`, `server`, `operators`, `available_shows`, `away_fallback`, `routing`, `claim_collisions`, `privacy_handles`, `transfer_to`, `notices`, `display_name`, `default_region`, `max_parts`, `notice_multipart`, `transcripts`, `call_auto_reply`, `rate_limit_per_minute`, `outbox`, `desk`, `health`, `driver`
        "#]],
    );
    check(
        &edit(MINIMAL, "address =", "adress ="),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).driver.adress: unknown field `adress`, expected `address` or `spawn`
        "#]],
    );
    check(
        &edit(MINIMAL, "\"simulator\"", "\"sim\""),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).driver.kind: unknown variant `sim`, expected one of `at`, `simulator`, `smtp`, `smpp`, `android`
        "#]],
    );
}

#[test]
fn wrong_types_are_named() {
    check(
        &edit(
            MINIMAL,
            "default_region",
            "max_parts = \"six\"\ndefault_region",
        ),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).max_parts: invalid type: string "six", expected a whole number from 0 to 255
        "#]],
    );
    check(
        &edit(MINIMAL, "default_region", "max_parts = 256\ndefault_region"),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).max_parts: 256 is too large; expected a whole number from 0 to 255
        "#]],
    );
    check(
        &edit(
            MINIMAL,
            "kind = \"simulator\"\naddress = \"127.0.0.1:7001\"",
            "kind = \"at\"\ndevice = \"/dev/null\"\nbaud = \"fast\"",
        ),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).driver.baud: invalid type: string "fast", expected a whole number
        "#]],
    );
    check(
        &edit(
            MINIMAL,
            "operators = [\"alice@library.example\"]",
            "operators = \"alice@library.example\"",
        ),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).operators: invalid type: string "alice@library.example", expected a sequence
        "#]],
    );
    check(
        "[gateway]\nname = \"library\"\n",
        expect![[r#"
            test.toml has 1 error:
              gateway: gateways are written as [[gateway]] blocks (an array of tables)
        "#]],
    );
    check(
        &edit(
            MINIMAL,
            "[gateway.driver]",
            "[gateway.outbox]\nmax_backoff = \"forever\"\n\n[gateway.driver]",
        ),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).outbox.max_backoff: invalid value: string "forever", expected a duration
        "#]],
    );
    check(
        &edit(MINIMAL, "secret = \"component-secret\"", "secret = 1234"),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).secret: invalid type: integer `1234`, expected a secret: a quoted string, { file = "PATH" } or { env = "VARIABLE" }
        "#]],
    );
    check(
        &edit(
            MINIMAL,
            "secret = \"component-secret\"",
            "secret = { path = \"x\" }",
        ),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).secret: unknown field `path`, expected `file` or `env`
        "#]],
    );
}

#[test]
fn secrets_take_exactly_one_form() {
    check(
        &edit(
            MINIMAL,
            "secret = \"component-secret\"",
            "secret = { file = \"x\", env = \"Y\" }",
        ),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).secret: a secret takes exactly one of `file` or `env`
        "#]],
    );
    check(
        &edit(MINIMAL, "secret = \"component-secret\"", "secret = {}"),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).secret: a secret takes exactly one of `file` or `env`
        "#]],
    );
}

#[test]
fn syntax_errors_give_the_line() {
    check(
        "[http\nlisten = 1\n",
        expect![[r#"
            test.toml is not valid TOML: TOML parse error at line 1, column 6
              |
            1 | [http
              |      ^
            invalid table header
            expected `.`, `]`
        "#]],
    );
}

#[test]
fn gateways_must_be_unique() {
    let two = format!("{MINIMAL}{CAMPUS}");
    check(
        &edit(&two, "name = \"campus\"", "name = \"library\""),
        expect![[r#"
            test.toml has 1 error:
              gateway[1] (library).name: gateway[0] (library) has the same name (or the same variable name TEXTGATE_GATEWAY_LIBRARY_…)
        "#]],
    );
    check(
        &edit(&two, "sms.campus.example", "sms.library.example"),
        expect![[r#"
            test.toml has 1 error:
              gateway[1] (campus).domain: "sms.library.example" is already the domain of gateway[0] (library)
        "#]],
    );
    check(
        &edit(&two, "127.0.0.1:7002", "127.0.0.1:7001"),
        expect![[r#"
            test.toml has 1 error:
              gateway[1] (campus).driver.address: 127.0.0.1:7001 is already used by gateway[0] (library)
        "#]],
    );
    check(
        &edit(&two, "name = \"campus\"", "name = \"Library\""),
        expect![[r#"
            test.toml has 1 error:
              gateway[1] (Library).name: gateway[0] (library) has the same name (or the same variable name TEXTGATE_GATEWAY_LIBRARY_…)
        "#]],
    );
}

#[test]
fn bad_jids_are_named_by_index() {
    check(
        &edit(
            MINIMAL,
            "[\"alice@library.example\"]",
            "[\"alice@library.example\", \"library.example\", \"bob@\", \"carol@library.example/phone\", \"alice@library.example\"]",
        ),
        expect![[r#"
            test.toml has 4 errors:
              gateway[0] (library).operators[1]: "library.example" is a server, not a user: operators are accounts like alice@library.example
              gateway[0] (library).operators[2]: "bob@" is not a valid JID: nothing after the @
              gateway[0] (library).operators[3]: "carol@library.example/phone" has a /resource: operators are bare JIDs, every resource of the account counts
              gateway[0] (library).operators[4]: "alice@library.example" repeats operators[0]
        "#]],
    );
    check(
        &edit(MINIMAL, "[\"alice@library.example\"]", "[]"),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).operators: at least one operator is required, or nobody would read the texts
        "#]],
    );
    check(
        &edit(
            MINIMAL,
            "domain = \"sms.library.example\"",
            "domain = \"sms@library.example\"",
        ),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).domain: "sms@library.example" is not a bare domain: a component's address has no `user@` or `/resource`, e.g. sms.library.example
        "#]],
    );
}

#[test]
fn bad_regions_are_explained() {
    check(
        &edit(MINIMAL, "\"US\"", "\"UK\""),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).default_region: "UK" is not an ISO 3166-1 alpha-2 region known to libphonenumber (the United Kingdom is "GB")
        "#]],
    );
    check(
        &edit(MINIMAL, "\"US\"", "\"fr\""),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).default_region: "fr" is not an ISO 3166-1 alpha-2 region known to libphonenumber (region codes are upper case: "FR")
        "#]],
    );
}

/// `[alerts]` with valid keys, for configurations that need it.
const ALERTS: &str = r#"
[alerts]
blind_index_key = "0000000000000000000000000000000000000000000000000000000000000001"
confirmation_key = "0000000000000000000000000000000000000000000000000000000000000002"
[alerts.encryption_key]
id = "k1"
key = "0000000000000000000000000000000000000000000000000000000000000003"
"#;

const WEBHOOK: &str = r#"
[[webhook]]
name = "ils"
url = "https://ils.library.example/hook"
secret = "webhook-secret"
events = ["text.received", "text.failed"]
"#;

/// `[gateway.desk]`: hours that do not parse, a time zone nobody has heard of, keywords
/// that are not one word in capitals, replies longer than the gateway sends, a zero window.
#[test]
fn desk_settings_are_checked() {
    let desk = |body: &str| format!("{MINIMAL}\n[gateway.desk]\n{body}\n");
    check(
        &desk(
            r#"time_zone = "America/New_York"
weekly = ["mon-fri 09:00-17:00"]
keywords = { HOURS = "9 to 5" }"#,
        ),
        expect![[r#"
            test.toml: OK
            database: SQLite; http: 127.0.0.1:8080; log: text at info
            alerts: off
            1 gateway(s):
              library (sms.library.example) via 127.0.0.1:5347: simulator at 127.0.0.1:7001; region US; routing claim; transcripts off; operators alice@library.example
        "#]],
    );
    check(
        &desk(
            r#"time_zone = "Mars/Olympus"
weekly = ["mon-fri 09:00-17:00"]"#,
        ),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).desk.time_zone: unknown time zone "Mars/Olympus": expected an IANA name such as "America/New_York" or "Europe/Berlin"
        "#]],
    );
    check(
        &desk(
            r#"time_zone = "Europe/Berlin"
weekly = ["mon-fri 17:00-09:00"]"#,
        ),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).desk.weekly: weekly hours entry "mon-fri 17:00-09:00": "17:00-09:00" does not close after it opens (hours past midnight are two intervals: ...-24:00 and, the next day, 00:00-...)
        "#]],
    );
    check(
        &desk(
            r#"time_zone = "Europe/Berlin"
weekly = ["mon-fri 09:00-17:00"]
exceptions = ["2026-02-30 closed"]"#,
        ),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).desk.exceptions: exception "2026-02-30 closed": "2026-02-30" is not a date: expected YYYY-MM-DD, or a range YYYY-MM-DD..YYYY-MM-DD
        "#]],
    );
    check(
        &desk(r#"exceptions = ["2026-12-25 closed"]"#),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).desk.exceptions: exceptions need weekly hours to be exceptions to
        "#]],
    );
    check(
        &desk(r#"weekly = ["mon-fri 17:00-09:00"]"#),
        expect![[r#"
        test.toml has 1 error:
          gateway[0] (library).desk.time_zone: weekly hours need a time_zone, e.g. "America/New_York"
    "#]],
    );
    check(
        &desk(&format!(
            r#"unattended_reply = "{}"
auto_reply_every = "0s"
keywords = {{ hours = "9 to 5", "OPENING HOURS" = "9 to 5", ADDRESS = "" }}"#,
            "x".repeat(1200)
        )),
        expect![[r#"
            test.toml has 5 errors:
              gateway[0] (library).desk.auto_reply_every: must be longer than 0s, or a patron gets an automatic reply to every text
              gateway[0] (library).desk.unattended_reply: needs 8 SMS; this gateway sends at most 6 (max_parts)
              gateway[0] (library).desk.keywords.ADDRESS: is empty
              gateway[0] (library).desk.keywords.OPENING HOURS: a keyword is one word in capitals, e.g. HOURS
              gateway[0] (library).desk.keywords.hours: a keyword is one word in capitals, e.g. HOURS
        "#]],
    );
}

#[test]
fn webhooks_are_checked() {
    check(
        &format!("{ALERTS}{MINIMAL}{WEBHOOK}"),
        expect![[r#"
            test.toml: OK
            database: SQLite; http: 127.0.0.1:8080; log: text at info
            alerts: on, encryption key k1 (0 retired); texts up to 140 characters
            1 gateway(s):
              library (sms.library.example) via 127.0.0.1:5347: simulator at 127.0.0.1:7001; region US; routing claim; transcripts off; operators alice@library.example
            1 webhook(s):
              ils -> https://ils.library.example/hook: text.received, text.failed
        "#]],
    );
    check(
        &format!("{MINIMAL}{WEBHOOK}"),
        expect![[r#"
            test.toml has 1 error:
              webhook: [[webhook]] needs [alerts]: the alert service sends the webhooks
        "#]],
    );
    let bad = r#"
[[webhook]]
name = "the ils"
url = "http://ils.library.example/hook"
secret = ""
events = []
gateways = ["nowhere"]
unattended_after = "0s"

[[webhook]]
name = "the ils"
url = "ftp://x"
secret = "s"
events = ["text.sent"]

[[webhook]]
name = "third"
url = "https://x.example"
secret = "s"
events = ["text.failed"]
received = "some"
"#;
    check(
        &format!("{ALERTS}{MINIMAL}{bad}"),
        expect![[r#"
            test.toml has 11 errors:
              webhook[2] (third).received: unknown variant `some`, expected `unattended` or `all`
              webhook[0] (the ils).name: must be letters, digits, `-` and `_` (it names the webhook in the log)
              webhook[0] (the ils).url: "http://ils.library.example/hook": plain http:// only to this host (127.0.0.1, [::1], localhost); anywhere else use https://, the posts carry patrons' texts
              webhook[0] (the ils).secret: is empty
              webhook[0] (the ils).events: is empty; name some of "text.received", "text.delivered", "text.failed", "alert.published"
              webhook[0] (the ils).gateways: "nowhere" is not the name of a [[gateway]]
              webhook[0] (the ils).unattended_after: must be longer than 0s; use received = "all" for every text at once
              webhook[1] (the ils).name: must be letters, digits, `-` and `_` (it names the webhook in the log)
              webhook[1] (the ils).name: is also the name of webhook[0]; names must be unique
              webhook[1] (the ils).url: "ftp://x" is not an https:// URL
              webhook[1] (the ils).events: "text.sent" is not an event; the events are "text.received", "text.delivered", "text.failed", "alert.published"
        "#]],
    );
    let loopback = edit(
        WEBHOOK,
        "https://ils.library.example/hook",
        "http://127.0.0.1:9000/hook",
    );
    let v6 = edit(
        WEBHOOK,
        "https://ils.library.example/hook",
        "http://[::1]:9000/hook",
    );
    // CAP messages name their sender and area, which only [alerts.feed] says.
    check(
        &format!(
            "{ALERTS}{MINIMAL}{}",
            edit(WEBHOOK, "\"text.failed\"", "\"alert.published\"")
        ),
        expect![[r#"
            test.toml has 1 error:
              webhook[0] (ils).events: "alert.published" posts each alert as a CAP message, which needs [alerts.feed] (it names the sender and the area)
        "#]],
    );
    let twice = format!("{WEBHOOK}{}", edit(WEBHOOK, "\"ils\"", "\"other\""));
    for ok in [loopback, v6, twice] {
        let config = load(&format!("{ALERTS}{MINIMAL}{ok}"), &[], Path::new("."));
        assert!(!config.webhooks.is_empty());
    }
}

#[test]
fn a_send_api_allowance_of_nothing_is_refused() {
    check(
        &format!("[http]\nsends_per_minute = 0\n{MINIMAL}"),
        expect![[r#"
            test.toml has 1 error:
              http.sends_per_minute: must be at least 1 (it is the most texts one API token may send a minute)
        "#]],
    );
}

#[test]
fn ranges_and_exclusive_keys() {
    check(
        &edit(MINIMAL, "default_region", "max_parts = 0\nrate_limit_per_minute = 0\ncall_auto_reply = \" \"\nnotice_multipart = \"{count} SMS\"\navailable_shows = []\ndefault_region"),
        expect![[r#"
            test.toml has 5 errors:
              gateway[0] (library).available_shows: is empty, so no operator would ever be available
              gateway[0] (library).max_parts: must be between 1 and 255 (0 would refuse every reply)
              gateway[0] (library).notice_multipart: "{count} SMS" uses {count}; the only placeholder is {parts}
              gateway[0] (library).call_auto_reply: is empty; leave the key out to send no reply
              gateway[0] (library).rate_limit_per_minute: must be at least 1 (0 would never send an alert)
        "#]],
    );
    check(
        &edit(MINIMAL, "[gateway.driver]", "[gateway.outbox]\nmax_attempts = 0\ninitial_backoff = \"1m\"\nmax_backoff = \"30s\"\n\n[gateway.driver]"),
        expect![[r#"
            test.toml has 2 errors:
              gateway[0] (library).outbox.max_attempts: must be at least 1 (the first attempt counts)
              gateway[0] (library).outbox.max_backoff: 30s is shorter than initial_backoff (1m)
        "#]],
    );
    check(
        &edit(
            MINIMAL,
            "address = \"127.0.0.1:7001\"",
            "address = \"127.0.0.1:7001\"\nspawn = true",
        ),
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).driver: set either `address` (a running simulator) or `spawn = true`, not both
        "#]],
    );
    check(
        &edit(
            MINIMAL,
            "kind = \"simulator\"\naddress = \"127.0.0.1:7001\"",
            "kind = \"at\"\ndevice = \"/dev/null\"\naddress = \"modem:4001\"\nbaud = 115201\npin = \"12a4\"\nsmsc = \"SMSC\"\nsend_timeout = \"0s\"",
        ),
        expect![[r#"
            test.toml has 5 errors:
              gateway[0] (library).driver: set either `device` (a serial port) or `address` (TCP), not both
              gateway[0] (library).driver.baud: 115201 is not a serial line speed; use one of 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600
              gateway[0] (library).driver.pin: a SIM PIN is 4 to 8 digits
              gateway[0] (library).driver.smsc: "SMSC" is not a phone number; write the service centre in international form, e.g. "+447785016005"
              gateway[0] (library).driver.send_timeout: must be longer than 0s
        "#]],
    );
    check(
        "[database]\nurl = \"mysql://root:hunter2@db/textgate\"\n[log]\nlevel = \"info,textgate_modem=loud\"\n",
        expect![[r#"
            test.toml has 3 errors:
              database.url: unsupported database URL: use sqlite://FILE?mode=rwc or postgres://USER:PASSWORD@HOST/DATABASE
              log.level: "textgate_modem=loud" is not a log level or a target=level directive; levels are off, error, warn, info, debug, trace
              gateway: at least one [[gateway]] is required: textgate has nothing to do without one
        "#]],
    );
}

#[test]
fn devices_that_are_missing_or_unstable_are_warnings() {
    check(
        &edit(
            MINIMAL,
            "kind = \"simulator\"\naddress = \"127.0.0.1:7001\"",
            "kind = \"at\"\ndevice = \"/dev/ttyUSB97\"",
        ),
        expect![[r#"
            test.toml: OK
            database: SQLite; http: 127.0.0.1:8080; log: text at info
            alerts: off
            1 gateway(s):
              library (sms.library.example) via 127.0.0.1:5347: AT modem on /dev/ttyUSB97 (quirks auto); region US; routing claim; transcripts off; operators alice@library.example
            warning: gateway[0] (library).driver.device: /dev/ttyUSB97 does not exist (yet); the daemon will keep trying to open it
            warning: gateway[0] (library).driver.device: /dev/ttyUSB97 can name another device after a reboot; prefer its /dev/serial/by-id/… name
        "#]],
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let two = format!("{MINIMAL}{CAMPUS}");
    let broken = edit(&two, "[\"carol@campus.example\"]", "[\"carol@\"]");
    let broken = edit(&broken, "\"FR\"", "\"XX\"");
    let broken = edit(
        &broken,
        "address = \"127.0.0.1:7001\"",
        "adress = \"127.0.0.1:7001\"",
    );
    check_env(
        &format!("[log]\nformat = \"xml\"\n{broken}"),
        &[("TEXTGATE_HTTP_PORT", "80")],
        expect![[r#"
            test.toml has 5 errors:
              TEXTGATE_HTTP_PORT: not a textgate setting; the top-level overrides are TEXTGATE_DATABASE_URL, TEXTGATE_HTTP_LISTEN, TEXTGATE_HTTP_SECURE_COOKIES, TEXTGATE_HTTP_SENDS_PER_MINUTE, TEXTGATE_LOG_FORMAT, TEXTGATE_LOG_LEVEL, TEXTGATE_ALERTS_ENCRYPTION_KEY_ID, TEXTGATE_ALERTS_ENCRYPTION_KEY, TEXTGATE_ALERTS_BLIND_INDEX_KEY, TEXTGATE_ALERTS_CONFIRMATION_KEY, TEXTGATE_ALERTS_EMAIL_RELAY, TEXTGATE_ALERTS_EMAIL_USERNAME, TEXTGATE_ALERTS_EMAIL_PASSWORD, TEXTGATE_ALERTS_XMPP_COMPONENT, TEXTGATE_ALERTS_XMPP_SECRET, TEXTGATE_ALERTS_XMPP_SERVER, TEXTGATE_ALERTS_XMPP_ROOM, TEXTGATE_ALERTS_XMPP_STAFF
              log.format: unknown variant `xml`, expected `text` or `json`
              gateway[0] (library).driver.adress: unknown field `adress`, expected `address` or `spawn`
              gateway[1] (campus).operators[0]: "carol@" is not a valid JID: nothing after the @
              gateway[1] (campus).default_region: "XX" is not an ISO 3166-1 alpha-2 region known to libphonenumber
        "#]],
    );
}

#[test]
fn environment_overrides() {
    let vars = [
        (
            "TEXTGATE_DATABASE_URL",
            "postgres://textgate:pw@db/textgate",
        ),
        ("TEXTGATE_HTTP_LISTEN", "[::]:9090"),
        ("TEXTGATE_LOG_FORMAT", "json"),
        ("TEXTGATE_LOG_LEVEL", "debug"),
        ("TEXTGATE_GATEWAY_LIBRARY_SECRET", "from-env"),
        (
            "TEXTGATE_GATEWAY_LIBRARY_OPERATORS",
            "dan@library.example, erin@library.example",
        ),
        ("TEXTGATE_GATEWAY_LIBRARY_MAX_PARTS", "3"),
        ("TEXTGATE_GATEWAY_LIBRARY_DRIVER_ADDRESS", "127.0.0.1:7100"),
        ("TEXTGATE_CONFIG", "/elsewhere/textgate.toml"),
        ("PATH", "/usr/bin"),
    ];
    check_env(
        MINIMAL,
        &vars,
        expect![[r#"
            test.toml: OK
            database: PostgreSQL; http: [::]:9090; log: json at debug
            alerts: off
            1 gateway(s):
              library (sms.library.example) via 127.0.0.1:5347: simulator at 127.0.0.1:7100; region US; routing claim; transcripts off; operators dan@library.example, erin@library.example
        "#]],
    );
    let config = load(MINIMAL, &vars, Path::new("."));
    assert_eq!(
        config.database.url.expose(),
        "postgres://textgate:pw@db/textgate"
    );
    assert_eq!(config.gateways[0].secret.expose(), "from-env");
    assert_eq!(config.gateways[0].max_parts, 3);
}

#[test]
fn overrides_that_match_nothing_are_errors() {
    check_env(
        MINIMAL,
        &[
            ("TEXTGATE_HTTP_PORT", "80"),
            ("TEXTGATE_GATEWAY_NOSUCH_SECRET", "x"),
            ("TEXTGATE_GATEWAY_LIBRARY_BAUD", "9600"),
            ("TEXTGATE_GATEWAY_LIBRARY_MAX_PARTS", "six"),
        ],
        expect![[r#"
            test.toml has 4 errors:
              TEXTGATE_GATEWAY_LIBRARY_BAUD: not a gateway setting that can be overridden; the gateway overrides end in DOMAIN, SECRET, SERVER, OPERATORS, AVAILABLE_SHOWS, ROUTING, CLAIM_COLLISIONS, PRIVACY_HANDLES, NOTICES, DISPLAY_NAME, AWAY_FALLBACK, DEFAULT_REGION, MAX_PARTS, TRANSCRIPTS, CALL_AUTO_REPLY, RATE_LIMIT_PER_MINUTE, DRIVER_DEVICE, DRIVER_ADDRESS, DRIVER_BAUD, DRIVER_QUIRKS, DRIVER_PIN, DRIVER_SMSC, DRIVER_USERNAME, DRIVER_PASSWORD, DRIVER_URL, DRIVER_SIGNING_KEY
              TEXTGATE_GATEWAY_LIBRARY_MAX_PARTS: expected an integer, got "six"
              TEXTGATE_GATEWAY_NOSUCH_SECRET: no gateway has this name; the gateways' names in variables are LIBRARY
              TEXTGATE_HTTP_PORT: not a textgate setting; the top-level overrides are TEXTGATE_DATABASE_URL, TEXTGATE_HTTP_LISTEN, TEXTGATE_HTTP_SECURE_COOKIES, TEXTGATE_HTTP_SENDS_PER_MINUTE, TEXTGATE_LOG_FORMAT, TEXTGATE_LOG_LEVEL, TEXTGATE_ALERTS_ENCRYPTION_KEY_ID, TEXTGATE_ALERTS_ENCRYPTION_KEY, TEXTGATE_ALERTS_BLIND_INDEX_KEY, TEXTGATE_ALERTS_CONFIRMATION_KEY, TEXTGATE_ALERTS_EMAIL_RELAY, TEXTGATE_ALERTS_EMAIL_USERNAME, TEXTGATE_ALERTS_EMAIL_PASSWORD, TEXTGATE_ALERTS_XMPP_COMPONENT, TEXTGATE_ALERTS_XMPP_SECRET, TEXTGATE_ALERTS_XMPP_SERVER, TEXTGATE_ALERTS_XMPP_ROOM, TEXTGATE_ALERTS_XMPP_STAFF
        "#]],
    );
    // An override that is well-formed but wrong says where the value came from.
    check_env(
        MINIMAL,
        &[("TEXTGATE_GATEWAY_LIBRARY_MAX_PARTS", "0")],
        expect![[r#"
            test.toml has 1 error:
              gateway[0] (library).max_parts: must be between 1 and 255 (0 would refuse every reply) (set by TEXTGATE_GATEWAY_LIBRARY_MAX_PARTS)
        "#]],
    );
    check_env(
        MINIMAL,
        &[
            ("TEXTGATE_GATEWAY_LIBRARY_DRIVER_DEVICE", "/dev/ttyUSB0"),
            ("TEXTGATE_HTTP_LISTEN", "localhost"),
        ],
        expect![[r#"
            test.toml has 2 errors:
              http.listen: invalid socket address syntax (set by TEXTGATE_HTTP_LISTEN)
              gateway[0] (library).driver.device: unknown field `device`, expected `address` or `spawn` (set by TEXTGATE_GATEWAY_LIBRARY_DRIVER_DEVICE)
        "#]],
    );
}

#[test]
fn secrets_from_env_and_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("component"), "from-file\n").unwrap();
    let text = edit(
        MINIMAL,
        "secret = \"component-secret\"",
        "secret = { file = \"component\" }",
    );
    let text = format!("[database]\nurl = {{ env = \"TEXTGATE_DB\" }}\n{text}");
    let vars = [("TEXTGATE_DB", "postgres://u:pw@db/t")];
    let config = load(&text, &vars, dir.path());
    assert_eq!(config.gateways[0].secret.expose(), "from-file");
    assert_eq!(
        config.gateways[0].secret.source(),
        &SecretSource::File(dir.path().join("component"))
    );
    assert_eq!(config.database.url.expose(), "postgres://u:pw@db/t");
    assert_eq!(
        config.database.url.source(),
        &SecretSource::Env("TEXTGATE_DB".to_owned()),
        "a variable named by a secret is not mistaken for an override"
    );

    expect![[r#"
        test.toml has 2 errors:
          database.url: environment variable TEXTGATE_DB is not set
          gateway[0] (library).secret: cannot read secret file ./component: No such file or directory (os error 2)
    "#]]
    .assert_eq(&outcome(&text, &[], Path::new(".")));

    std::fs::write(dir.path().join("component"), "\n").unwrap();
    expect![[r#"
        test.toml has 1 error:
          gateway[0] (library).secret: secret file component is empty
    "#]]
    .assert_eq(
        &outcome(&text, &vars, dir.path()).replace(&format!("{}/", dir.path().display()), ""),
    );
}

#[test]
fn debug_output_never_shows_secrets() {
    let text = edit(
        MINIMAL,
        "kind = \"simulator\"\naddress = \"127.0.0.1:7001\"",
        "kind = \"at\"\naddress = \"modem:4001\"\npin = \"8642\"",
    );
    let text = format!("[database]\nurl = \"postgres://u:hunter2@db/t\"\n{text}");
    let config = load(&text, &[], Path::new("."));
    let debug = format!("{config:?} {config:#?}");
    for secret in ["hunter2", "component-secret", "8642"] {
        assert!(!debug.contains(secret), "{secret} leaked: {debug}");
    }
    assert!(debug.contains("url: <redacted>"), "{debug}");
    let serialised = toml::to_string(&config).unwrap();
    for secret in ["hunter2", "component-secret", "8642"] {
        assert!(
            !serialised.contains(secret),
            "{secret} leaked: {serialised}"
        );
    }
}

/// The example file with the values a sysadmin would supply through the environment.
const EXAMPLE_ENV: &[(&str, &str)] = &[
    (
        "TEXTGATE_GATEWAY_LIBRARY_SECRET",
        "library-component-secret",
    ),
    ("LIBRARY_SIM_PIN", "1234"),
];

#[test]
fn example_configuration_is_valid() {
    let text = std::fs::read_to_string(example_path()).unwrap();
    expect![[r#"
        test.toml: OK
        database: SQLite; http: 127.0.0.1:8080; log: text at info
        alerts: off
        2 gateway(s):
          library (sms.library.example) via 127.0.0.1:5347: AT modem on /dev/serial/by-id/usb-Quectel_EG25-G-if02-port0 (quirks auto); region US; routing claim; transcripts off; operators alice@library.example, bob@library.example
          demo (sms.demo.example) via 127.0.0.1:5347: simulator at 127.0.0.1:7001; region GB; routing claim; transcripts off; operators librarian@demo.example
        warning: gateway[0] (library).driver.device: /dev/serial/by-id/usb-Quectel_EG25-G-if02-port0 does not exist (yet); the daemon will keep trying to open it
    "#]]
    .assert_eq(&outcome(&text, EXAMPLE_ENV, Path::new("/etc/textgate")));
    // Copied as is, the example asks for exactly its secrets.
    expect![[r#"
        test.toml has 2 errors:
          gateway[0] (library).secret: cannot read secret file /etc/textgate/secrets/library-component: No such file or directory (os error 2)
          gateway[0] (library).driver.pin: environment variable LIBRARY_SIM_PIN is not set
    "#]]
    .assert_eq(&outcome(&text, &[], Path::new("/etc/textgate")));
}

/// The commented-out SMTP gateway at the end of the example, uncommented.
fn example_smtp_gateway() -> String {
    let text = std::fs::read_to_string(example_path()).unwrap();
    let banner = text
        .find("# An alert-only gateway")
        .expect("the example has a commented SMTP gateway");
    let start = banner
        + text[banner..]
            .find("# [[gateway]]")
            .expect("the example has a commented gateway");
    let block: String = text[start..]
        .lines()
        .filter_map(|line| line.strip_prefix("# ").or(line.strip_prefix('#')))
        .filter(|line| !line.starts_with('#'))
        .map(|line| format!("{line}\n"))
        .collect();
    block
}

#[test]
fn example_smtp_gateway_is_valid_when_uncommented() {
    let block = example_smtp_gateway();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("carriers.toml"), "carriers = []\n").unwrap();
    let config = load(
        &format!("{MINIMAL}{block}"),
        &[
            ("EMAIL_COMPONENT_SECRET", "s"),
            ("TEXTGATE_GATEWAY_EMAIL_DRIVER_PASSWORD", "smtp-password"),
        ],
        dir.path(),
    );
    let DriverConfig::Smtp(smtp) = &config.gateways[1].driver else {
        panic!("not an SMTP driver: {:?}", config.gateways[1].driver);
    };
    assert_eq!(smtp.relay, "smtp.library.example");
    assert_eq!(smtp.carriers, dir.path().join("carriers.toml"));
    assert_eq!(
        smtp.password.as_ref().map(Secret::expose),
        Some("smtp-password")
    );
}

/// A commented-out gateway of the example, uncommented: the block after the comment
/// starting with `banner`, up to the comment starting with `next`.
fn example_commented_gateway(banner: &str, next: &str) -> String {
    let text = std::fs::read_to_string(example_path()).unwrap();
    let banner = text
        .find(banner)
        .unwrap_or_else(|| panic!("the example has no {banner:?}"));
    let end = text
        .find(next)
        .unwrap_or_else(|| panic!("the example has no {next:?}"));
    let start = banner + text[banner..].find("# [[gateway]]").expect("a gateway");
    text[start..end]
        .lines()
        .filter_map(|line| line.strip_prefix("# ").or(line.strip_prefix('#')))
        .filter(|line| !line.starts_with('#'))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// The commented-out SMPP gateway of the example, uncommented.
fn example_smpp_gateway() -> String {
    example_commented_gateway(
        "# A gateway on an operator's",
        "# A gateway on an Android phone",
    )
}

#[test]
fn example_smpp_gateway_is_valid_when_uncommented() {
    let block = example_smpp_gateway();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("aggregator-ca.pem"), "").unwrap();
    let config = load(
        &format!("{MINIMAL}{block}"),
        &[
            ("CARRIER_COMPONENT_SECRET", "s"),
            ("CARRIER_SMPP_PASSWORD", "pw"),
        ],
        dir.path(),
    );
    let DriverConfig::Smpp(smpp) = &config.gateways[1].driver else {
        panic!("not an SMPP driver: {:?}", config.gateways[1].driver);
    };
    assert_eq!(smpp.address, "smpp.aggregator.example:2775");
    assert_eq!(smpp.password.expose(), "pw");
    assert_eq!(smpp.max_per_second, Some(50));
    assert_eq!(smpp.window, 10);
    assert_eq!(smpp.tls_ca_file, Some(dir.path().join("aggregator-ca.pem")));
}

/// The commented-out Android gateway of the example, uncommented.
fn example_android_gateway() -> String {
    example_commented_gateway("# A gateway on an Android phone", "# An alert-only gateway")
}

const ANDROID_ENV: &[(&str, &str)] = &[
    ("PHONE_COMPONENT_SECRET", "s"),
    ("PHONE_API_PASSWORD", "pw"),
    ("PHONE_SIGNING_KEY", "signing-key"),
];

#[test]
fn example_android_gateway_is_valid_when_uncommented() {
    let block = example_android_gateway();
    let config = load(&format!("{MINIMAL}{block}"), ANDROID_ENV, Path::new("."));
    let DriverConfig::Android(android) = &config.gateways[1].driver else {
        panic!("not an Android driver: {:?}", config.gateways[1].driver);
    };
    assert_eq!(android.url, "http://192.168.1.20:8080");
    assert_eq!(android.mode, AndroidMode::Local);
    assert_eq!(android.password.expose(), "pw");
    assert_eq!(android.signing_key.expose(), "signing-key");
    assert_eq!(android.sim, Some(1));
    assert_eq!(android.per_minute, 30);
    assert_eq!(android.offline_after, Duration::from_secs(120));
}

#[test]
fn android_settings_are_checked() {
    let block = example_android_gateway()
        .replace("http://192.168.1.20:8080", "192.168.1.20:8080")
        .replace("sim = 1", "sim = 4")
        .replace("per_minute = 30", "per_minute = 0")
        .replace("poll_interval = \"30s\"", "poll_interval = \"0s\"")
        .replace(
            "webhook_url = \"https://textgate.library.example/android/phone/webhook\"",
            "webhook_url = \"http://192.168.1.5:8080/android/phone/webhook\"",
        );
    let vars = environment(&[
        ("PHONE_COMPONENT_SECRET", "s"),
        ("PHONE_API_PASSWORD", "pw"),
        ("PHONE_SIGNING_KEY", ""),
    ]);
    let error = Config::from_toml(
        &format!("{MINIMAL}{block}"),
        &vars,
        "test.toml",
        Path::new("/nonexistent"),
    )
    .expect_err("every setting is wrong")
    .to_string();
    expect![[r#"
        test.toml has 6 errors:
          gateway[1] (phone).driver.url: must be http://HOST:PORT (the phone's local server) or https://HOST (a server)
          gateway[1] (phone).driver.signing_key: environment variable PHONE_SIGNING_KEY is empty
          gateway[1] (phone).driver.webhook_url: webhook URL "http://192.168.1.5:8080/android/phone/webhook" refused: plain http is accepted only to 127.0.0.1; use https
          gateway[1] (phone).driver.sim: must be 1, 2 or 3 (the SIM slot, from 1)
          gateway[1] (phone).driver.per_minute: must be at least 1
          gateway[1] (phone).driver.poll_interval: must be at least 1s"#]].assert_eq(&error);
}

#[test]
fn an_android_webhook_url_may_be_left_out_only_on_loopback() {
    let block = example_android_gateway().replace(
        "webhook_url = \"https://textgate.library.example/android/phone/webhook\"",
        "",
    );
    // The default listener is 127.0.0.1: the phone's app may post there in plain http.
    let config = load(&format!("{MINIMAL}{block}"), ANDROID_ENV, Path::new("."));
    let DriverConfig::Android(android) = &config.gateways[1].driver else {
        panic!("not an Android driver");
    };
    assert_eq!(android.webhook_url, None);
    let error = Config::from_toml(
        &format!("[http]\nlisten = \"0.0.0.0:8080\"\n{MINIMAL}{block}"),
        &environment(ANDROID_ENV),
        "test.toml",
        Path::new("."),
    )
    .expect_err("the phone cannot post to 0.0.0.0 in plain http")
    .to_string();
    expect![[r#"
        test.toml has 1 error:
          gateway[1] (phone).driver.webhook_url: is required when [http] listen (0.0.0.0:8080) is not on 127.0.0.1: the phone posts to https://YOUR-HOST/android/phone/webhook"#]].assert_eq(&error);
}

#[test]
fn smpp_settings_are_checked() {
    let block = example_smpp_gateway()
        .replace("smpp.aggregator.example:2775", "smpp.aggregator.example")
        .replace(
            "system_id = \"library\"",
            "system_id = \"a-much-too-long-system-id\"",
        )
        .replace("window = 10", "window = 500")
        .replace("max_per_second = 50", "max_per_second = 0")
        .replace(
            "source_addr = \"+15551230000\"",
            "source_addr = \"Public Library\"",
        )
        .replace("tls = true", "tls = false");
    let vars = environment(&[
        ("CARRIER_COMPONENT_SECRET", "s"),
        ("CARRIER_SMPP_PASSWORD", "longer-than-eight"),
    ]);
    let error = Config::from_toml(
        &format!("{MINIMAL}{block}"),
        &vars,
        "test.toml",
        Path::new("/nonexistent"),
    )
    .expect_err("every setting is wrong")
    .to_string();
    expect![[r#"
        test.toml has 8 errors:
          gateway[1] (carrier).driver.address: "smpp.aggregator.example" has no port: write host:port
          gateway[1] (carrier).driver.system_id: must be 1 to 15 characters (SMPP 3.4)
          gateway[1] (carrier).driver.password: must be at most 8 characters (SMPP 3.4)
          gateway[1] (carrier).driver.window: must be between 1 and 100
          gateway[1] (carrier).driver.max_per_second: must be at least 1 (or left out)
          gateway[1] (carrier).driver.source_addr: "Public Library": an alphanumeric sender is 1 to 11 ASCII characters (most carriers also require it to be registered)
          gateway[1] (carrier).driver.tls_ca_file: only applies with `tls = true`
          gateway[1] (carrier).driver.tls_server_name: only applies with `tls = true`"#]].assert_eq(&error);
}

/// A carrier file that is not a carrier table is a configuration error named by its key,
/// found by check-config rather than when the alert service first reads it.
#[test]
fn a_broken_carrier_file_is_named() {
    let block = example_smtp_gateway();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("carriers.toml"),
        "[[carriers]]\nid = \"x\"\n",
    )
    .unwrap();
    let vars = environment(&[
        ("EMAIL_COMPONENT_SECRET", "s"),
        ("TEXTGATE_GATEWAY_EMAIL_DRIVER_PASSWORD", "smtp-password"),
    ]);
    let error = Config::from_toml(&format!("{MINIMAL}{block}"), &vars, "test.toml", dir.path())
        .expect_err("the carrier file is broken")
        .to_string()
        .replace(&dir.path().display().to_string(), "DIR");
    expect![[r#"
        test.toml has 1 error:
          gateway[1] (email).driver.carriers: the carrier file DIR/carriers.toml is not a valid carrier table: missing field `name`"#]]
    .assert_eq(&error);
}

/// The commented lines of the example from the line `start` up to the next banner (a line
/// of dashes), uncommented.
fn uncommented_block(example: &str, start: &str) -> String {
    let from = example.find(start).expect("the example has the block");
    example[from..]
        .lines()
        .take_while(|line| !line.starts_with("# ----"))
        .filter_map(|line| line.strip_prefix("# ").or(line.strip_prefix('#')))
        .filter(|line| !line.starts_with('#'))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// The minimal configuration with the example's `[alerts]` block uncommented, and the
/// directory it is read in (where the retired key's file is: the example's path does not
/// exist here).
fn example_with_alerts() -> (String, tempfile::TempDir) {
    let example = std::fs::read_to_string(example_path()).unwrap();
    let alerts = uncommented_block(&example, "# [alerts]");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old.key"), format!("{KEY_D}\n")).unwrap();
    let alerts = edit(
        &alerts,
        "/etc/textgate/secrets/alerts-2025-01.key",
        "old.key",
    );
    (format!("{MINIMAL}{alerts}"), dir)
}

/// The alert channels' credentials and addresses come from the environment as a
/// gateway's do, and are checked as if the file said them.
#[test]
fn alert_channels_take_their_credentials_from_the_environment() {
    let (text, dir) = example_with_alerts();
    let mut vars = vec![
        ("TEXTGATE_ALERTS_ENCRYPTION_KEY", KEY_A),
        ("TEXTGATE_ALERTS_BLIND_INDEX_KEY", KEY_B),
        ("TEXTGATE_ALERTS_CONFIRMATION_KEY", KEY_C),
        ("SMTP_PASSWORD", "from the file's variable"),
        ("ALERTS_COMPONENT_SECRET", "from the file's variable"),
        ("TEXTGATE_ALERTS_EMAIL_RELAY", "relay.test.example"),
        ("TEXTGATE_ALERTS_EMAIL_PASSWORD", "test-relay-password"),
        ("TEXTGATE_ALERTS_XMPP_COMPONENT", "alerts.test.example"),
        ("TEXTGATE_ALERTS_XMPP_SECRET", "test-component-secret"),
        ("TEXTGATE_ALERTS_XMPP_SERVER", "127.0.0.1:5347"),
        ("TEXTGATE_ALERTS_XMPP_ROOM", "drill@conference.test.example"),
        (
            "TEXTGATE_ALERTS_XMPP_STAFF",
            "dana@test.example, eli@test.example",
        ),
    ];
    let config = load(&text, &vars, dir.path());
    let alerts = config.alerts.expect("alerts are on");
    let email = alerts.email.as_ref().expect("the e-mail copy");
    assert_eq!(email.relay, "relay.test.example");
    assert_eq!(
        email.password.as_ref().map(|p| p.expose()),
        Some("test-relay-password")
    );
    let xmpp = alerts.xmpp.as_ref().expect("alerts over XMPP");
    assert_eq!(xmpp.component, "alerts.test.example");
    assert_eq!(xmpp.secret.expose(), "test-component-secret");
    assert_eq!(xmpp.server, "127.0.0.1:5347");
    assert_eq!(xmpp.room.as_deref(), Some("drill@conference.test.example"));
    assert_eq!(xmpp.staff, ["dana@test.example", "eli@test.example"]);

    // An override is checked like the key it replaces, and named in the error.
    vars.push(("TEXTGATE_ALERTS_XMPP_ROOM", "not a room"));
    let errors = outcome(&text, &vars, dir.path());
    assert!(
        errors.contains("alerts.xmpp.room") && errors.contains("TEXTGATE_ALERTS_XMPP_ROOM"),
        "{errors}"
    );
}

/// Distinct valid 32-byte keys in hexadecimal.
const KEY_A: &str = "5d1c2b7e9f03a4c6d8e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7";
const KEY_B: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff00";
const KEY_C: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00123456789abcdeffedcba9876543210";
const KEY_D: &str = "c0ffee00c0ffee01c0ffee02c0ffee03c0ffee04c0ffee05c0ffee06c0ffee07";

#[test]
fn example_alerts_section_is_valid_when_uncommented() {
    let (text, dir) = example_with_alerts();
    let vars = [
        ("TEXTGATE_ALERTS_ENCRYPTION_KEY", KEY_A),
        ("TEXTGATE_ALERTS_BLIND_INDEX_KEY", KEY_B),
        ("TEXTGATE_ALERTS_CONFIRMATION_KEY", KEY_C),
        ("SMTP_PASSWORD", "relay-password"),
        ("ALERTS_COMPONENT_SECRET", "alerts-secret"),
    ];
    let config = load(&text, &vars, dir.path());
    let alerts = config.alerts.expect("alerts are on");
    assert_eq!(alerts.encryption_key.id, "2026-01");
    assert_eq!(
        alerts
            .email
            .as_ref()
            .and_then(|e| e.password.as_ref())
            .map(|p| p.expose()),
        Some("relay-password")
    );
    let xmpp = alerts.xmpp.as_ref().expect("alerts over XMPP");
    assert_eq!(xmpp.secret.expose(), "alerts-secret");
    assert_eq!(
        xmpp.room.as_deref(),
        Some("staff@conference.library.example")
    );
    assert_eq!(alerts.compose_limits().safe_length, 110);
    assert_eq!(alerts.approval, textgate::config::ApprovalConfig::OnePerson);
    assert_eq!(
        alerts.approval_expires_after,
        std::time::Duration::from_secs(30 * 60)
    );
    let ring = alerts.key_ring().unwrap();
    assert_eq!(ring.active_id().as_str(), "2026-01");
    assert_eq!(ring.key_ids().count(), 2);
}

#[test]
fn alert_keys_are_checked() {
    let text = format!(
        "{MINIMAL}
[alerts]
blind_index_key = \"{KEY_A}\"
confirmation_key = \"00000000000000000000000000000000000000000000000000000000000000000\"
safe_length = 200
approval = \"two-person\"
approval_expires_after = \"10s\"

[alerts.encryption_key]
id = \"2026/01\"
key = \"{KEY_A}\"

[[alerts.retired_keys]]
id = \"old\"
key = \"abcd\"

[[alerts.retired_keys]]
id = \"old\"
key = {{ env = \"OLD_KEY\" }}
"
    );
    check_env(
        &text,
        &[("OLD_KEY", &"0".repeat(64))],
        expect![[r#"
            test.toml has 8 errors:
              alerts.encryption_key.id: key id "2026/01" is not valid: use 1 to 32 characters from A-Z, a-z, 0-9, '.', '_' and '-'
              alerts.retired_keys[0].key: the key decodes to 2 bytes as hexadecimal, but a key must be exactly 32 bytes (64 hexadecimal digits or 44 base64 characters)
              alerts.retired_keys[1].id: "old" is already the id of alerts.retired_keys[0]
              alerts.retired_keys[1].key: the key is 32 identical bytes, which looks like a placeholder, not a random key
              alerts.blind_index_key: is the same key as alerts.encryption_key.key; every purpose needs its own random key
              alerts.confirmation_key: the key is neither hexadecimal nor base64 (65 characters); generate one with `openssl rand -hex 32`
              alerts.safe_length: 200 is more than hard_limit (140)
              alerts.approval_expires_after: must be between 1 minute and 7 days: an alert nobody approved in a week is no alert
        "#]],
    );
}

/// `transfer_to`: other gateways of this configuration, each once, never the gateway itself.
#[test]
fn transfer_desks_are_other_gateways() {
    let library = MINIMAL.replace(
        "default_region = \"US\"\n",
        "default_region = \"US\"\ntransfer_to = [\"campus\", \"library\", \"branch\", \"campus\"]\n",
    );
    check(
        &format!("{library}{CAMPUS}"),
        expect![[r#"
            test.toml has 3 errors:
              gateway[0] (library).transfer_to[1]: is this gateway itself; name another gateway's desk
              gateway[0] (library).transfer_to[2]: "branch" is not a gateway here; the others are: campus
              gateway[0] (library).transfer_to[3]: "campus" is named twice
        "#]],
    );
    // The valid form loads.
    let library = MINIMAL.replace(
        "default_region = \"US\"\n",
        "default_region = \"US\"\ntransfer_to = [\"campus\"]\n",
    );
    let config = load(
        &format!("{library}{CAMPUS}"),
        &[],
        std::path::Path::new("."),
    );
    assert_eq!(config.gateways[0].transfer_to, ["campus"]);
}

/// `[alerts.xmpp]`: a bare component domain, a host:port, a room and staff that are
/// people's addresses, a usable nickname.
#[test]
fn alerts_over_xmpp_are_checked() {
    let text = format!(
        "{MINIMAL}
[alerts]
blind_index_key = \"{KEY_B}\"
confirmation_key = \"{KEY_C}\"

[alerts.encryption_key]
id = \"2026\"
key = \"{KEY_A}\"

[alerts.xmpp]
component = \"alerts@library.example\"
secret = {{ env = \"NOT_SET_ANYWHERE\" }}
server = \"library.example\"
room = \"conference.library.example\"
nick = \" \"
staff = [\"library.example\", \"duty@library.example\"]
"
    );
    check_env(
        &text,
        &[],
        expect![[r#"
            test.toml has 6 errors:
              alerts.xmpp.component: "alerts@library.example" is not a bare domain: a component's address has no `user@` or `/resource`, e.g. alerts.library.example
              alerts.xmpp.secret: environment variable NOT_SET_ANYWHERE is not set
              alerts.xmpp.server: "library.example" has no port: write host:port
              alerts.xmpp.room: "conference.library.example" is a server, not a room: write the room's address, e.g. staff@conference.library.example
              alerts.xmpp.nick: " " cannot be a nickname in a room
              alerts.xmpp.staff[0]: "library.example" is a server, not a person: e.g. duty@library.example
        "#]],
    );
}

/// `[alerts.feed]`: the public address, a CAP sender without spaces or commas, words
/// for people, and a sensible time in the feeds.
#[test]
fn alert_feed_is_checked() {
    let text = format!(
        "{MINIMAL}
[alerts]
blind_index_key = \"{KEY_B}\"
confirmation_key = \"{KEY_C}\"

[alerts.encryption_key]
id = \"2026-01\"
key = \"{KEY_A}\"

[[alerts.template]]
name = \"lock down\"
title = \"Lockdown\"
text = \"\"

[[alerts.template]]
name = \"closure\"
title = \"\"
text = \"Closed today: {{reason}}\"

[alerts.feed]
url = \"alerts.library.example\"
sender = \"Library alerts, main\"
sender_name = \" \"
area = \"Campus\"
active_for = \"10s\"
"
    );
    check_env(
        &text,
        &[],
        expect![[r#"
            test.toml has 7 errors:
              alerts.feed.url: must be the console's public address, starting https:// (or http://)
              alerts.feed.sender: must be an address such as alerts@library.example, without spaces, commas, < or &
              alerts.feed.sender_name: must not be empty
              alerts.feed.active_for: must be at least 1 minute
              alerts.template[0].name: use letters, digits, - and _ (it names the template in links)
              alerts.template[0].text: must not be empty
              alerts.template[1].title: must not be empty
        "#]],
    );
}

/// `[http] secure_cookies`: on unless turned off; off is allowed with a warning (and a
/// different one when there is no console to use it); only `true` or `false`, also from
/// the environment.
#[test]
fn secure_cookies_default_on_and_off_is_warned_about() {
    let alerts = format!(
        "
[alerts]
blind_index_key = \"{KEY_B}\"
confirmation_key = \"{KEY_C}\"

[alerts.encryption_key]
id = \"2026-01\"
key = \"{KEY_A}\"
"
    );
    let with_alerts = format!("{MINIMAL}{alerts}");
    assert!(load(&with_alerts, &[], Path::new(".")).http.secure_cookies);
    let plain = format!("[http]\nsecure_cookies = false\n{with_alerts}");
    assert!(!load(&plain, &[], Path::new(".")).http.secure_cookies);
    let warnings = |text: &str, vars: &[(&str, &str)]| -> Vec<String> {
        match Config::from_toml(text, &environment(vars), "test.toml", Path::new(".")) {
            Ok(loaded) => loaded.warnings.iter().map(ToString::to_string).collect(),
            Err(e) => panic!("{e}"),
        }
    };
    expect![[r#"
        [
            "http.secure_cookies: false: session cookies also travel over plain HTTP, where anyone on the network path can read them; use it only on a trusted network (behind a TLS-terminating proxy keep it true)",
        ]
    "#]]
    .assert_debug_eq(&warnings(&plain, &[]));
    assert!(warnings(&with_alerts, &[]).is_empty());
    expect![[r#"
        [
            "http.secure_cookies: has no effect without [alerts]: the web console is off",
        ]
    "#]]
    .assert_debug_eq(&warnings(
        &format!("[http]\nsecure_cookies = false\n{MINIMAL}"),
        &[],
    ));
    // The environment turns it off (and back on) like the key.
    let from_env = load(
        &with_alerts,
        &[("TEXTGATE_HTTP_SECURE_COOKIES", "false")],
        Path::new("."),
    );
    assert!(!from_env.http.secure_cookies);
    assert!(
        load(
            &plain,
            &[("TEXTGATE_HTTP_SECURE_COOKIES", "true")],
            Path::new(".")
        )
        .http
        .secure_cookies
    );
    check_env(
        MINIMAL,
        &[("TEXTGATE_HTTP_SECURE_COOKIES", "no")],
        expect![[r#"
            test.toml has 1 error:
              TEXTGATE_HTTP_SECURE_COOKIES: expected true or false, got "no"
        "#]],
    );
    check(
        &format!("[http]\nsecure_cookies = \"off\"\n{MINIMAL}"),
        expect![[r#"
            test.toml has 1 error:
              http.secure_cookies: invalid type: string "off", expected a boolean
        "#]],
    );
}

/// A configuration with every optional key set, one gateway per driver kind, so that
/// serialising it lists every key of the tree.
fn every_key() -> Config {
    let gateway = |name: &str, driver| GatewayConfig {
        name: name.to_owned(),
        domain: format!("{name}.example"),
        secret: Secret::inline("s"),
        server: "127.0.0.1:5347".to_owned(),
        operators: vec!["a@example.org".to_owned()],
        available_shows: vec![Show::Chat],
        away_fallback: false,
        routing: Routing::Broadcast,
        claim_collisions: ClaimCollisions::Refuse,
        privacy_handles: true,
        transfer_to: vec!["other".to_owned()],
        notices: NoticePlacement::Conversation,
        display_name: "Library SMS".to_owned(),
        default_region: "US".to_owned(),
        max_parts: 6,
        notice_multipart: MultipartNotice::default(),
        transcripts: Transcripts::On,
        call_auto_reply: Some("texts only".to_owned()),
        rate_limit_per_minute: 20,
        outbox: OutboxConfig::default(),
        desk: DeskConfig {
            time_zone: Some("America/New_York".to_owned()),
            weekly: vec!["mon-fri 09:00-17:00".to_owned()],
            exceptions: vec!["2026-12-25 closed".to_owned()],
            closed_reply: "Closed; we open {opens}.".to_owned(),
            unattended_reply: Some("Nobody is at the desk right now.".to_owned()),
            auto_reply_every: std::time::Duration::from_secs(3600),
            keywords: [("HOURS".to_owned(), "9 to 5".to_owned())].into(),
            mms_reply: Some("We cannot see pictures; please text us.".to_owned()),
            conversation_ends_after: std::time::Duration::from_secs(3600),
            flood_limit: 20,
            flood_window: std::time::Duration::from_secs(600),
        },
        health: HealthConfig {
            notices: true,
            notify: vec!["admin@example.org".to_owned()],
            every: std::time::Duration::from_secs(600),
            signal_below_dbm: Some(-105),
            backlog_above: Some(20),
        },
        driver,
    };
    Config {
        database: DatabaseConfig::default(),
        http: HttpConfig::default(),
        log: LogConfig::default(),
        alerts: Some(AlertsConfig {
            encryption_key: AlertKey {
                id: "new".to_owned(),
                key: Secret::inline("k"),
            },
            retired_keys: vec![AlertKey {
                id: "old".to_owned(),
                key: Secret::inline("k"),
            }],
            blind_index_key: Secret::inline("k"),
            confirmation_key: Secret::inline("k"),
            safe_length: 110,
            hard_limit: 140,
            ucs2: Ucs2Policy::Refuse,
            approval: textgate::config::ApprovalConfig::TwoPerson,
            approval_expires_after: std::time::Duration::from_secs(600),
            feed: Some(textgate::config::AlertFeedConfig {
                url: "https://alerts.example".to_owned(),
                sender: "alerts@example".to_owned(),
                sender_name: "Alerts".to_owned(),
                area: "Campus".to_owned(),
                language: "en-US".to_owned(),
                event: "Emergency alert".to_owned(),
                active_for: std::time::Duration::from_secs(3600),
            }),
            templates: vec![textgate::config::AlertTemplateConfig {
                name: "lockdown".to_owned(),
                title: "Lockdown".to_owned(),
                text: "LOCKDOWN at {place}".to_owned(),
            }],
            groups: vec![textgate::config::AlertGroupConfig {
                name: "closures".to_owned(),
                title: "Library closures".to_owned(),
            }],
            email: Some(textgate::config::AlertEmailConfig {
                relay: "smtp.example.org".to_owned(),
                port: 587,
                tls: SmtpTls::Starttls,
                from: "alerts@example.org".to_owned(),
                username: Some(Secret::inline("alerts")),
                password: Some(Secret::inline("p")),
            }),
            xmpp: Some(textgate::config::AlertXmppConfig {
                component: "alerts.example.org".to_owned(),
                secret: Secret::inline("s"),
                server: "127.0.0.1:5347".to_owned(),
                room: Some("staff@conference.example.org".to_owned()),
                nick: "Alerts".to_owned(),
                staff: vec!["duty@example.org".to_owned()],
            }),
        }),
        gateways: vec![
            gateway(
                "at",
                DriverConfig::At(AtDriver {
                    device: Some("/dev/x".into()),
                    address: Some("h:1".to_owned()),
                    baud: 115_200,
                    quirks: Quirks::Huawei,
                    pin: Some(Secret::inline("1234")),
                    smsc: Some("+1555".to_owned()),
                    send_timeout: Duration::from_secs(1),
                }),
            ),
            gateway(
                "sim",
                DriverConfig::Simulator(SimulatorDriver {
                    address: Some("h:1".to_owned()),
                    spawn: true,
                }),
            ),
            gateway(
                "smtp",
                DriverConfig::Smtp(SmtpDriver {
                    relay: "relay".to_owned(),
                    port: 587,
                    tls: SmtpTls::Tls,
                    from: "a@example.org".to_owned(),
                    username: Some(Secret::inline("u")),
                    password: Some(Secret::inline("p")),
                    carriers: "c.toml".into(),
                }),
            ),
            gateway(
                "smpp",
                DriverConfig::Smpp(SmppDriver {
                    address: "h:1".to_owned(),
                    system_id: "id".to_owned(),
                    password: Secret::inline("p"),
                    system_type: "VMA".to_owned(),
                    bind: SmppBind::TransmitterReceiver,
                    tls: true,
                    tls_server_name: Some("h".to_owned()),
                    tls_ca_file: Some("ca.pem".into()),
                    window: 10,
                    max_per_second: Some(50),
                    source_addr: Some("12345".to_owned()),
                    gsm7_packing: SmppPacking::Packed,
                    multipart: SmppMultipart::Sar,
                    registered_delivery: true,
                    enquire_link: Duration::from_secs(30),
                }),
            ),
            gateway(
                "android",
                DriverConfig::Android(AndroidDriver {
                    url: "https://sms.example.org".to_owned(),
                    mode: AndroidMode::Server,
                    api_path: "/api".to_owned(),
                    username: "u".to_owned(),
                    password: Secret::inline("p"),
                    signing_key: Secret::inline("k"),
                    webhook_url: Some("https://t.example/android/android/webhook".to_owned()),
                    sim: Some(2),
                    device_id: Some("d".to_owned()),
                    per_minute: 20,
                    delivery_reports: true,
                    ttl: Duration::from_secs(3600),
                    send_timeout: Duration::from_secs(60),
                    poll_interval: Duration::from_secs(30),
                    offline_after: Duration::from_secs(120),
                }),
            ),
        ],
        webhooks: vec![WebhookConfig {
            name: "ils".to_owned(),
            url: "https://ils.example/hook".to_owned(),
            secret: Secret::inline("k"),
            events: vec!["text.received".to_owned()],
            gateways: Some(vec!["at".to_owned()]),
            received: WebhookReceived::All,
            unattended_after: Duration::from_secs(60),
        }],
    }
}

/// Dotted key paths of a TOML value; arrays of tables do not add an index.
fn key_paths(prefix: &str, value: &toml::Value, out: &mut BTreeSet<String>) {
    match value {
        toml::Value::Table(table) => {
            for (key, value) in table {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                // A table whose keys the user chooses (desk keywords, in capitals) is one
                // key, like a list.
                let user_named = value.as_table().is_some_and(|t| {
                    !t.is_empty() && t.keys().all(|k| k.chars().all(|c| !c.is_ascii_lowercase()))
                });
                let is_table = (value.is_table() && !user_named)
                    || value
                        .as_array()
                        .is_some_and(|items| items.first().is_some_and(toml::Value::is_table));
                if is_table {
                    key_paths(&path, value, out);
                } else {
                    out.insert(path);
                }
            }
        }
        toml::Value::Array(items) => items.iter().for_each(|item| key_paths(prefix, item, out)),
        _ => {}
    }
}

/// Key paths the example sets or shows commented out (`# key = value` under a header,
/// itself possibly commented out).
fn example_mentions(text: &str) -> BTreeSet<String> {
    let mut table = String::new();
    let mut keys = BTreeSet::new();
    for line in text.lines() {
        let code = match line.strip_prefix('#') {
            Some(comment) => comment.strip_prefix(' ').unwrap_or(comment),
            None => line,
        };
        let header = code
            .strip_prefix("[[")
            .and_then(|h| h.strip_suffix("]]"))
            .or_else(|| code.strip_prefix('[').and_then(|h| h.strip_suffix(']')));
        if let Some(header) = header {
            table = header.to_owned();
        } else if let Some((key, _)) = code.split_once(" = ") {
            if !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                keys.insert(format!("{table}.{key}"));
            }
        }
    }
    keys
}

#[test]
fn example_mentions_every_key_and_no_other() {
    let mut struct_keys = BTreeSet::new();
    key_paths(
        "",
        &toml::Value::try_from(every_key()).unwrap(),
        &mut struct_keys,
    );
    let example = example_mentions(&std::fs::read_to_string(example_path()).unwrap());
    let missing: Vec<_> = struct_keys.difference(&example).collect();
    let unknown: Vec<_> = example.difference(&struct_keys).collect();
    assert!(missing.is_empty(), "keys not in the example: {missing:?}");
    assert!(
        unknown.is_empty(),
        "example keys that do not exist: {unknown:?}"
    );
    assert!(
        struct_keys.contains("gateway.driver.relay"),
        "{struct_keys:?}"
    );
}

#[test]
fn documentation_lists_every_override_variable() {
    let docs = std::fs::read_to_string(manifest_dir().join("../../docs/configuration.md")).unwrap();
    let missing: Vec<_> = override_variables()
        .into_iter()
        .filter(|variable| !docs.contains(&format!("`{variable}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "not in docs/configuration.md: {missing:?}"
    );
}

fn textgate(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_textgate"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn check_config_accepts_the_example() {
    let (status, stdout, stderr) = textgate(
        &manifest_dir(),
        &[
            "check-config",
            "--config",
            "../../config/textgate.example.toml",
        ],
        EXAMPLE_ENV,
    );
    assert_eq!(status, 0, "{stderr}");
    expect![[r#"
        ../../config/textgate.example.toml: OK
        database: SQLite; http: 127.0.0.1:8080; log: text at info
        alerts: off
        2 gateway(s):
          library (sms.library.example) via 127.0.0.1:5347: AT modem on /dev/serial/by-id/usb-Quectel_EG25-G-if02-port0 (quirks auto); region US; routing claim; transcripts off; operators alice@library.example, bob@library.example
          demo (sms.demo.example) via 127.0.0.1:5347: simulator at 127.0.0.1:7001; region GB; routing claim; transcripts off; operators librarian@demo.example
    "#]]
    .assert_eq(&stdout);
    expect![[r#"
        warning: gateway[0] (library).driver.device: /dev/serial/by-id/usb-Quectel_EG25-G-if02-port0 does not exist (yet); the daemon will keep trying to open it
    "#]]
    .assert_eq(&stderr);
}

#[test]
fn check_config_rejects_a_bad_file_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = edit(MINIMAL, "\"US\"", "\"UK\"");
    let bad = edit(&bad, "\"alice@library.example\"", "\"bob@\"");
    std::fs::write(dir.path().join("bad.toml"), bad).unwrap();
    let (status, stdout, stderr) = textgate(
        dir.path(),
        &["check-config"],
        &[("TEXTGATE_CONFIG", "bad.toml")],
    );
    assert_eq!(status, 2);
    assert_eq!(stdout, "");
    expect![[r#"
        textgate: bad.toml has 2 errors:
          gateway[0] (library).operators[0]: "bob@" is not a valid JID: nothing after the @
          gateway[0] (library).default_region: "UK" is not an ISO 3166-1 alpha-2 region known to libphonenumber (the United Kingdom is "GB")
    "#]]
    .assert_eq(&stderr);

    let (status, _, stderr) = textgate(
        dir.path(),
        &["check-config", "--config", "absent.toml"],
        &[],
    );
    assert_eq!(status, 2);
    expect![[r#"
        textgate: cannot read configuration file absent.toml: No such file or directory (os error 2)
    "#]]
    .assert_eq(&stderr);
}

/// Any value in any key of a valid file, and any value in any override variable, gives a
/// configuration or errors that each name a key; nothing panics.
mod arbitrary_values {
    use super::*;
    use proptest::prelude::*;

    fn toml_value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<bool>().prop_map(|b| b.to_string()),
            "\\PC{0,12}".prop_map(|s| format!("{s:?}")),
            prop::collection::vec("[a-z@.:/]{0,8}", 0..3).prop_map(|v| format!("{v:?}")),
            Just("{ file = \"/nonexistent\" }".to_owned()),
            Just("{ env = \"UNSET\" }".to_owned()),
        ]
    }

    fn assert_every_problem_has_a_key(result: Result<textgate::config::Loaded, ConfigError>) {
        if let Err(ConfigError::Invalid { problems, .. }) = result {
            assert!(!problems.is_empty());
            for problem in problems {
                assert!(!problem.key.is_empty(), "{problem:?}");
                assert!(!problem.message.is_empty(), "{problem:?}");
            }
        }
    }

    proptest! {
        #[test]
        fn any_value_in_any_key(line in 0..MINIMAL.lines().count(), value in toml_value()) {
            let text: String = MINIMAL
                .lines()
                .enumerate()
                .map(|(i, l)| match l.split_once(" = ") {
                    Some((key, _)) if i == line => format!("{key} = {value}\n"),
                    _ => format!("{l}\n"),
                })
                .collect();
            let result = Config::from_toml(&text, &BTreeMap::new(), "t", Path::new("."));
            assert_every_problem_has_a_key(result);
        }

        #[test]
        fn any_value_in_any_override(variable in 0..override_variables().len(), value in "\\PC{0,16}") {
            let variable = override_variables()[variable].replace("<NAME>", "LIBRARY");
            let env = BTreeMap::from([(variable, value)]);
            let result = Config::from_toml(MINIMAL, &env, "t", Path::new("."));
            assert_every_problem_has_a_key(result);
        }
    }
}

/// `check-config --connect` against a real PostgreSQL, a real Prosody and the simulator.
mod connect {
    use super::*;
    use textgate_modemsim::{SimConfig, SimHandle};

    const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";
    const DOMAIN: &str = "sms.library.example";

    /// A simulator serving AT commands on a free local port, until the runtime ends.
    async fn simulator() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let sim = SimHandle::new(SimConfig::default());
        tokio::spawn(textgate_modemsim::tcp::serve_tcp(sim, listener));
        address
    }

    /// A local port nothing listens on, and nothing can while the socket is kept: bound
    /// but never listening, so a connection to it is refused (a port bound and released
    /// could be taken by another test's server meanwhile).
    fn dead_address() -> (String, tokio::net::TcpSocket) {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket
            .bind("127.0.0.1:0".parse().expect("an address"))
            .expect("bind");
        let address = socket.local_addr().expect("address").to_string();
        (address, socket)
    }

    fn configuration(database: &str, server: &str, secret: &str, modem: &str) -> String {
        let text = edit(MINIMAL, "\"component-secret\"", &format!("{secret:?}"));
        let text = edit(&text, "secret =", &format!("server = {server:?}\nsecret ="));
        let text = edit(&text, "\"127.0.0.1:7001\"", &format!("{modem:?}"));
        format!("[database]\nurl = {database:?}\n{text}")
    }

    /// Runs `check-config --connect` on `text` off the runtime, so the simulator keeps
    /// answering meanwhile.
    async fn check_connect(text: String) -> (i32, String, String) {
        tokio::task::spawn_blocking(move || {
            let dir = tempfile::tempdir().expect("temporary directory");
            std::fs::write(dir.path().join("t.toml"), text).expect("write the configuration");
            textgate(
                dir.path(),
                &["check-config", "--config", "t.toml", "--connect"],
                &[],
            )
        })
        .await
        .expect("check-config ran")
    }

    #[tokio::test]
    async fn everything_reachable_exits_0() {
        let prosody = Prosody::start(&[DOMAIN]).await.expect("Prosody starts");
        let modem = simulator().await;
        let text = configuration(
            POSTGRES,
            &prosody.component_addr(),
            &prosody.secret(DOMAIN),
            &modem,
        );
        let (status, stdout, stderr) = check_connect(text).await;
        assert_eq!(status, 0, "{stderr}\n{}", prosody.log());
        assert!(
            stdout.ends_with("connections: database, XMPP servers and modems reached\n"),
            "{stdout}"
        );
    }

    /// An Android phone is asked with the gateway's credentials (the simulated SMSGate
    /// app checks them as the app does): right ones pass, a wrong password is named, and
    /// an address that is not the API is named under `url`.
    #[tokio::test]
    async fn an_android_phone_is_asked_with_its_credentials() {
        let prosody = Prosody::start(&[DOMAIN]).await.expect("Prosody starts");
        let phone = textgate_androidsim::Phone::start(Default::default())
            .await
            .expect("the phone starts");
        let known = phone.config();
        let with_phone = |url: &str, password: &str| {
            let text = configuration(
                POSTGRES,
                &prosody.component_addr(),
                &prosody.secret(DOMAIN),
                "127.0.0.1:7001",
            );
            edit(
                &text,
                "kind = \"simulator\"\naddress = \"127.0.0.1:7001\"",
                &format!(
                    "kind = \"android\"\nurl = {url:?}\nusername = {:?}\npassword = {password:?}\n\
                     signing_key = {:?}",
                    known.username, known.signing_key
                ),
            )
        };

        let (status, stdout, stderr) =
            check_connect(with_phone(&phone.base_url(), &known.password)).await;
        assert_eq!(status, 0, "{stdout}{stderr}");

        let (status, _, stderr) = check_connect(with_phone(&phone.base_url(), "guessed")).await;
        assert_eq!(status, 1, "{stderr}");
        assert!(
            stderr.contains(
                "gateway[0] (library).driver.password: the phone refused the username and \
                 password (HTTP 401)"
            ),
            "{stderr}"
        );

        // The phone answers there, but it is not the API.
        let elsewhere = format!("{}/nowhere", phone.base_url());
        let (status, _, stderr) = check_connect(with_phone(&elsewhere, &known.password)).await;
        assert_eq!(status, 1, "{stderr}");
        assert!(
            stderr.contains("gateway[0] (library).driver.url:") && stderr.contains("HTTP 404"),
            "{stderr}"
        );
    }

    /// An SMSC (node-smpp's, written by nobody on the team) gets a bind with the
    /// gateway's account and an unbind: the right password passes, a wrong one is named.
    #[tokio::test]
    async fn an_smsc_is_bound_with_the_account_and_unbound() {
        let prosody = Prosody::start(&[DOMAIN]).await.expect("Prosody starts");
        let mut smsc = textgate_testkit::smsc::Smsc::start()
            .await
            .expect("node-smpp's SMSC starts");
        let port = smsc.port;
        let with_password = |password: &str| {
            let text = configuration(
                POSTGRES,
                &prosody.component_addr(),
                &prosody.secret(DOMAIN),
                "127.0.0.1:7001",
            );
            edit(
                &text,
                "kind = \"simulator\"\naddress = \"127.0.0.1:7001\"",
                &format!(
                    "kind = \"smpp\"\naddress = \"127.0.0.1:{}\"\nsystem_id = \"textgate\"\n\
                     password = {password:?}\nsource_addr = \"12345\"",
                    port
                ),
            )
        };

        let (status, stdout, stderr) = check_connect(with_password("secret")).await;
        assert_eq!(status, 0, "{stdout}{stderr}");
        let bind = smsc.next("bind").await;
        assert_eq!(bind["kind"], "transmitter", "{bind}");
        assert_eq!(bind["ok"], true, "{bind}");
        smsc.next("unbind").await;

        let (status, _, stderr) = check_connect(with_password("guessed")).await;
        assert_eq!(status, 1, "{stderr}");
        assert!(
            stderr.contains("gateway[0] (library).driver.password: the SMSC refused the bind"),
            "{stderr}"
        );
        assert_eq!(smsc.next("bind").await["ok"], false);
    }

    /// The test relay (`crates/modem/tests/support/smtp_relay.py`), its port, and the
    /// process, killed when dropped.
    async fn smtp_relay(args: &[&str]) -> (u16, tokio::process::Child) {
        use tokio::io::AsyncBufReadExt;
        let script = manifest_dir().join("../modem/tests/support/smtp_relay.py");
        let mut child = tokio::process::Command::new("python3")
            .arg(&script)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs the test relay");
        let stdout = child.stdout.take().expect("stdout is piped");
        let first = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            tokio::io::BufReader::new(stdout).lines().next_line(),
        )
        .await
        .expect("the relay starts in time")
        .expect("the relay's output")
        .unwrap_or_default();
        let port = first
            .strip_prefix("LISTENING ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the relay said {first:?}"));
        (port, child)
    }

    /// `[alerts.email]` towards `address`, without TLS or login.
    fn alerts_email(address: &str) -> String {
        let (host, port) = address.rsplit_once(':').expect("host:port");
        format!(
            "{ALERTS}[alerts.email]\nrelay = {host:?}\nport = {port}\ntls = \"none\"\n\
             from = \"alerts@library.example\"\n"
        )
    }

    /// The alerts' e-mail relay is greeted as the copies will be (EHLO, NOOP, no mail): a
    /// relay passes, a port that answers but is not SMTP is named.
    #[tokio::test]
    async fn the_alerts_relay_is_greeted_and_a_port_that_is_not_smtp_is_named() {
        let prosody = Prosody::start(&[DOMAIN]).await.expect("Prosody starts");
        let modem = simulator().await;
        let text = configuration(
            POSTGRES,
            &prosody.component_addr(),
            &prosody.secret(DOMAIN),
            &modem,
        );
        let (port, _relay) = smtp_relay(&[]).await;
        let relay = format!("127.0.0.1:{port}");
        let (status, stdout, stderr) =
            check_connect(format!("{}{text}", alerts_email(&relay))).await;
        assert_eq!(status, 0, "{stdout}{stderr}");

        // A relay that wants a login: the right one passes, a wrong one is named.
        let (port, _guarded) = smtp_relay(&["--login", "alerts:relay-password"]).await;
        let guarded = format!("127.0.0.1:{port}");
        let with_login = |password: &str| {
            format!(
                "{}username = \"alerts\"\npassword = {password:?}\n{text}",
                alerts_email(&guarded)
            )
        };
        let (status, stdout, stderr) = check_connect(with_login("relay-password")).await;
        assert_eq!(status, 0, "{stdout}{stderr}");
        let (status, _, stderr) = check_connect(with_login("guessed")).await;
        assert_eq!(status, 1, "{stderr}");
        assert!(
            stderr.contains("alerts.email.password: ") && stderr.contains("535"),
            "{stderr}"
        );

        // Something that answers at once, in another protocol.
        let other = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let elsewhere = other.local_addr().expect("address").to_string();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            while let Ok((mut stream, _)) = other.accept().await {
                let _ = stream
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    .await;
            }
        });
        let (status, _, stderr) =
            check_connect(format!("{}{text}", alerts_email(&elsewhere))).await;
        assert_eq!(status, 1, "{stderr}");
        assert!(stderr.contains("alerts.email.relay: "), "{stderr}");
        assert!(!stderr.contains("gateway[0]"), "{stderr}");
    }

    /// The alerts' e-mail relay is reached too, and named when it is not.
    #[tokio::test]
    async fn an_unreachable_alerts_relay_is_named() {
        let prosody = Prosody::start(&[DOMAIN]).await.expect("Prosody starts");
        let modem = simulator().await;
        let (relay, _relay) = dead_address();
        let text = configuration(
            POSTGRES,
            &prosody.component_addr(),
            &prosody.secret(DOMAIN),
            &modem,
        );
        let (status, stdout, stderr) =
            check_connect(format!("{}{text}", alerts_email(&relay))).await;
        assert_eq!(status, 1, "{stdout}{stderr}");
        let stderr = stderr.replace(&relay, "RELAY");
        expect![[r#"
            textgate: 1 connection check failed:
              alerts.email.relay: cannot reach the relay at RELAY: Connection refused (os error 111)
        "#]]
        .assert_eq(&stderr);
    }

    #[tokio::test]
    async fn unreachable_server_modem_and_database_exit_1_naming_each_key() {
        let (server, _server) = dead_address();
        let (modem, _modem) = dead_address();
        let (database, _database) = dead_address();
        let text = configuration(
            &format!("postgres://postgres@{database}/postgres"),
            &server,
            "component-secret",
            &modem,
        );
        let (status, stdout, stderr) = check_connect(text).await;
        assert_eq!(status, 1, "{stderr}");
        assert!(stdout.starts_with("t.toml: OK\n"), "{stdout}");
        let stderr = stderr
            .replace(&server, "SERVER")
            .replace(&modem, "MODEM")
            .replace(&database, "DATABASE");
        expect![[r#"
            textgate: 3 connection checks failed:
              database.url: cannot reach DATABASE: Connection refused (os error 111)
              gateway[0] (library).server: cannot reach SERVER: Connection refused (os error 111)
              gateway[0] (library).driver.address: cannot open tcp://MODEM: Connection refused (os error 111)
        "#]]
        .assert_eq(&stderr);
    }

    #[tokio::test]
    async fn a_wrong_component_secret_exits_1_naming_the_secret() {
        let prosody = Prosody::start(&[DOMAIN]).await.expect("Prosody starts");
        let modem = simulator().await;
        let text = configuration(
            POSTGRES,
            &prosody.component_addr(),
            "not-the-secret",
            &modem,
        );
        let (status, _, stderr) = check_connect(text).await;
        assert_eq!(status, 1, "{stderr}");
        let stderr = stderr.replace(&prosody.component_addr(), "SERVER");
        expect![[r#"
            textgate: 1 connection check failed:
              gateway[0] (library).secret: not accepted by SERVER (handshake refused for sms.library.example: stream error not-authorized: Given token does not match calculated token)
        "#]]
        .assert_eq(&stderr);
    }

    #[tokio::test]
    async fn an_sqlite_file_is_never_created_and_a_missing_directory_is_named() {
        let prosody = Prosody::start(&[DOMAIN]).await.expect("Prosody starts");
        let modem = simulator().await;
        let server = prosody.component_addr();
        let secret = prosody.secret(DOMAIN);
        let text = configuration("sqlite://fresh.sqlite3?mode=rwc", &server, &secret, &modem);
        let (status, stdout, stderr, created) = tokio::task::spawn_blocking(move || {
            let dir = tempfile::tempdir().expect("temporary directory");
            std::fs::write(dir.path().join("t.toml"), text).expect("write the configuration");
            let (status, stdout, stderr) = textgate(
                dir.path(),
                &["check-config", "--config", "t.toml", "--connect"],
                &[],
            );
            (
                status,
                stdout,
                stderr,
                dir.path().join("fresh.sqlite3").exists(),
            )
        })
        .await
        .expect("check-config ran");
        assert_eq!(status, 0, "{stderr}");
        assert!(stdout.ends_with("reached\n"), "{stdout}");
        assert!(!created, "check-config --connect created the database file");

        let text = configuration("sqlite://no-such-dir/t.sqlite3", &server, &secret, &modem);
        let (status, _, stderr) = check_connect(text).await;
        assert_eq!(status, 1, "{stderr}");
        expect![[r#"
            textgate: 1 connection check failed:
              database.url: no-such-dir/t.sqlite3 cannot be created: directory no-such-dir does not exist
        "#]].assert_eq(&stderr);
    }

    #[tokio::test]
    async fn a_component_already_connected_is_named_under_the_domain() {
        let prosody = Prosody::start(&[DOMAIN]).await.expect("Prosody starts");
        let modem = simulator().await;
        let secret = prosody.secret(DOMAIN);
        // What a running daemon holds.
        let mut held = textgate_xmpp::link::ComponentLink::connect(
            &prosody.component_addr(),
            DOMAIN,
            &secret,
            Default::default(),
        )
        .await
        .expect("the first component connection");
        let text = configuration(POSTGRES, &prosody.component_addr(), &secret, &modem);
        let (status, _, stderr) = check_connect(text).await;
        let _ = held.close().await;
        assert_eq!(status, 1, "{stderr}");
        let stderr = stderr.replace(&prosody.component_addr(), "SERVER");
        expect![[r#"
            textgate: 1 connection check failed:
              gateway[0] (library).domain: SERVER already has a component connected for sms.library.example (is textgate running?): handshake refused for sms.library.example: stream error conflict: Component already connected
        "#]].assert_eq(&stderr);
    }
}

#[test]
fn alert_groups_are_one_word_members_can_text() {
    let groups = r#"
[[alerts.group]]
name = "closures"
title = "Library closures"

[[alerts.group]]
name = "closures"
title = "Again"

[[alerts.group]]
name = "Snow Days"
title = ""

[[alerts.group]]
name = "all"
title = "Everything"
"#;
    check(
        &format!("{ALERTS}{groups}{MINIMAL}"),
        expect![[r#"
            test.toml has 4 errors:
              alerts.group[1].name: "closures" is used twice
              alerts.group[2].name: use lower-case letters, digits and - (members text it: JOIN closures)
              alerts.group[2].title: must not be empty
              alerts.group[3].name: "all" would read as all alerts; emergency alerts reach every member anyway
        "#]],
    );
}
