//! The validation pass: everything serde's types cannot say (JIDs, regions, ranges,
//! uniqueness across gateways, exclusive keys), plus resolving secrets and relative paths.
//! It never stops at the first problem, and it has no side effects beyond reading files.

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use super::env::environment_name;
use super::load::{gateway_label, webhook_label, Problem, Sections};
use super::{
    AlertsConfig, DriverConfig, GatewayConfig, HttpConfig, MultipartNotice, Secret, WebhookConfig,
};

mod alerts_xmpp;

/// The events a `[[webhook]]` may name.
pub(crate) const WEBHOOK_EVENTS: &[&str] = &[
    "text.received",
    "text.delivered",
    "text.failed",
    "alert.published",
];

/// The shortest outbox lease: renewed every third of it, a shorter one would turn the
/// renewals into a busy loop against the database.
const MIN_LEASE: Duration = Duration::from_secs(3);
/// Where stable serial device names live; `/dev/ttyUSB0` can change between boots.
const STABLE_DEVICE_DIR: &str = "/dev/serial/by-id/";

/// Line speeds a serial port accepts.
const BAUD_RATES: &[u32] = &[
    1200, 2400, 4800, 9600, 19_200, 38_400, 57_600, 115_200, 230_400, 460_800, 921_600,
];

const LOG_LEVELS: &[&str] = &["off", "error", "warn", "info", "debug", "trace"];

/// Validates `sections`, adding errors to `problems`; returns the warnings.
pub(crate) fn validate(
    sections: &mut Sections,
    env: &BTreeMap<String, String>,
    base_dir: &Path,
    problems: &mut Vec<Problem>,
) -> Vec<Problem> {
    let mut check = Checker {
        problems,
        warnings: Vec::new(),
    };
    if let Some(database) = &mut sections.database {
        check.secret("database.url", &mut database.url, env, base_dir);
        if database.url.is_resolved() {
            check.database_url(database.url.expose());
        }
    }
    if let Some(log) = &sections.log {
        check.log_level(&log.level);
    }
    if let Some(http) = &sections.http {
        check.http(http, sections.alerts.is_some());
    }
    if let Some(alerts) = &mut sections.alerts {
        check.alerts(alerts, env, base_dir);
    }
    if !sections.gateway_key_present {
        check.error(
            "gateway",
            "at least one [[gateway]] is required: textgate has nothing to do without one",
        );
    } else if sections.gateways.is_empty() && check.problems.is_empty() {
        check.error("gateway", "at least one [[gateway]] is required");
    }
    for (index, gateway) in &mut sections.gateways {
        check.gateway(*index, gateway, env, base_dir);
    }
    check.across_gateways(&sections.gateways);
    let listen = sections
        .http
        .as_ref()
        .map_or_else(super::default_http_listen, |http| http.listen);
    check.android_webhooks(&sections.gateways, listen);
    let gateway_names: Vec<String> = sections
        .gateways
        .iter()
        .map(|(_, g)| g.name.clone())
        .collect();
    let alerts_on = sections.alerts.is_some();
    let feed_on = sections.alerts.as_ref().is_some_and(|a| a.feed.is_some());
    check.webhooks(
        &mut sections.webhooks,
        alerts_on,
        feed_on,
        &gateway_names,
        env,
        base_dir,
    );
    check.warnings
}

struct Checker<'a> {
    problems: &'a mut Vec<Problem>,
    warnings: Vec<Problem>,
}

impl Checker<'_> {
    /// `[[webhook]]`: they live in the alert service, so they need `[alerts]`; their
    /// posts carry patrons' texts, so they go over HTTPS unless the receiver is on this
    /// host.
    fn webhooks(
        &mut self,
        webhooks: &mut [(usize, WebhookConfig)],
        alerts_on: bool,
        feed_on: bool,
        gateways: &[String],
        env: &BTreeMap<String, String>,
        base_dir: &Path,
    ) {
        if !webhooks.is_empty() && !alerts_on {
            self.error(
                "webhook",
                "[[webhook]] needs [alerts]: the alert service sends the webhooks",
            );
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (index, webhook) in webhooks.iter_mut() {
            let at = webhook_label(*index, Some(&webhook.name));
            let key = |field: &str| format!("{at}.{field}");
            let name_ok = !webhook.name.is_empty()
                && webhook
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !name_ok {
                self.error(
                    key("name"),
                    "must be letters, digits, `-` and `_` (it names the webhook in the log)",
                );
            }
            if let Some(first) = seen.insert(webhook.name.clone(), *index) {
                self.error(
                    key("name"),
                    format!("is also the name of webhook[{first}]; names must be unique"),
                );
            }
            if let Err(message) = webhook_url(&webhook.url) {
                self.error(key("url"), message);
            }
            // Resolving refuses an empty secret: receivers check signatures made with it.
            self.secret(&key("secret"), &mut webhook.secret, env, base_dir);
            if webhook.events.is_empty() {
                self.error(
                    key("events"),
                    "is empty; name some of \"text.received\", \"text.delivered\", \"text.failed\", \"alert.published\"",
                );
            }
            for event in &webhook.events {
                if !WEBHOOK_EVENTS.contains(&event.as_str()) {
                    self.error(
                        key("events"),
                        format!(
                            "{event:?} is not an event; the events are \"text.received\", \"text.delivered\", \"text.failed\", \"alert.published\""
                        ),
                    );
                }
            }
            if alerts_on && !feed_on && webhook.events.iter().any(|e| e == "alert.published") {
                self.error(
                    key("events"),
                    "\"alert.published\" posts each alert as a CAP message, which needs \
                     [alerts.feed] (it names the sender and the area)",
                );
            }
            for gateway in webhook.gateways.iter().flatten() {
                if !gateways.contains(gateway) {
                    self.error(
                        key("gateways"),
                        format!("{gateway:?} is not the name of a [[gateway]]"),
                    );
                }
            }
            if webhook.gateways.as_ref().is_some_and(Vec::is_empty) {
                self.error(
                    key("gateways"),
                    "is empty, so the webhook would hear of nothing; leave it out for every gateway",
                );
            }
            if webhook.unattended_after.is_zero() {
                self.error(
                    key("unattended_after"),
                    "must be longer than 0s; use received = \"all\" for every text at once",
                );
            }
        }
    }

    fn error(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(key, message));
    }

    fn warning(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Problem::new(key, message));
    }

    fn secret(
        &mut self,
        key: &str,
        secret: &mut Secret,
        env: &BTreeMap<String, String>,
        base_dir: &Path,
    ) {
        if let Err(message) = secret.resolve(env, base_dir) {
            self.error(key, message);
        }
    }

    /// The URL is a secret: messages never repeat it.
    fn database_url(&mut self, url: &str) {
        let supported = ["sqlite:", "postgres://", "postgresql://"];
        if !supported.iter().any(|scheme| url.starts_with(scheme)) {
            self.error(
                "database.url",
                "unsupported database URL: use sqlite://FILE?mode=rwc or \
                 postgres://USER:PASSWORD@HOST/DATABASE",
            );
        }
    }

    /// Plain-HTTP session cookies are allowed but worth a word: anyone on the path can
    /// read them, and without `[alerts]` there is no console to use them.
    fn http(&mut self, http: &HttpConfig, alerts_on: bool) {
        if http.sends_per_minute == 0 {
            self.error(
                "http.sends_per_minute",
                "must be at least 1 (it is the most texts one API token may send a minute)",
            );
        }
        if http.secure_cookies {
            return;
        }
        if alerts_on {
            self.warning(
                "http.secure_cookies",
                "false: session cookies also travel over plain HTTP, where anyone on the \
                 network path can read them; use it only on a trusted network (behind a \
                 TLS-terminating proxy keep it true)",
            );
        } else {
            self.warning(
                "http.secure_cookies",
                "has no effect without [alerts]: the web console is off",
            );
        }
    }

    fn log_level(&mut self, filter: &str) {
        // An empty directive (`info,`) is ignored by tracing's filter, so it is not an error.
        for directive in filter.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            // `target=level`, `target[span]=level` or just `level`: only the level part has
            // a fixed vocabulary.
            let level = directive.rsplit('=').next().unwrap_or(directive);
            if !LOG_LEVELS.iter().any(|l| l.eq_ignore_ascii_case(level)) {
                self.error(
                    "log.level",
                    format!(
                        "{directive:?} is not a log level or a target=level directive; \
                         levels are {}",
                        LOG_LEVELS.join(", ")
                    ),
                );
            }
        }
    }

    fn alerts(
        &mut self,
        alerts: &mut AlertsConfig,
        env: &BTreeMap<String, String>,
        base_dir: &Path,
    ) {
        use textgate_alerts::{BlindIndexKey, ConfirmationKey, FieldKey, KeyId};
        // Every key is checked as the alerts crate will read it, and no two purposes may
        // share a key: reusing the encryption key as the blind-index key would tie the
        // two schemes together.
        let mut seen: Vec<(String, String)> = Vec::new();
        let mut check_key =
            |checker: &mut Self,
             key: String,
             secret: &mut Secret,
             decode: fn(&str) -> Result<(), textgate_alerts::SecretError>| {
                checker.secret(&key, secret, env, base_dir);
                if !secret.is_resolved() {
                    return;
                }
                if let Err(e) = decode(secret.expose()) {
                    checker.error(key, e.to_string());
                    return;
                }
                let text = secret.expose().trim().to_owned();
                if let Some((first, _)) = seen.iter().find(|(_, other)| *other == text) {
                    checker.error(
                        key,
                        format!(
                            "is the same key as {first}; every purpose needs its own random key"
                        ),
                    );
                } else {
                    seen.push((key, text));
                }
            };
        let field_key = |text: &str| FieldKey::from_encoded(text).map(drop);
        let mut ids: HashMap<String, String> = HashMap::new();
        let entries = std::iter::once((
            "alerts.encryption_key".to_owned(),
            &mut alerts.encryption_key,
        ))
        .chain(
            alerts
                .retired_keys
                .iter_mut()
                .enumerate()
                .map(|(i, k)| (format!("alerts.retired_keys[{i}]"), k)),
        );
        for (at, entry) in entries {
            if let Err(e) = KeyId::new(&entry.id) {
                self.error(format!("{at}.id"), e.to_string());
            } else if let Some(first) = ids.get(&entry.id) {
                self.error(
                    format!("{at}.id"),
                    format!("{:?} is already the id of {first}", entry.id),
                );
            } else {
                ids.insert(entry.id.clone(), at.clone());
            }
            check_key(self, format!("{at}.key"), &mut entry.key, field_key);
        }
        check_key(
            self,
            "alerts.blind_index_key".to_owned(),
            &mut alerts.blind_index_key,
            |text| BlindIndexKey::from_encoded(text).map(drop),
        );
        check_key(
            self,
            "alerts.confirmation_key".to_owned(),
            &mut alerts.confirmation_key,
            |text| ConfirmationKey::from_encoded(text).map(drop),
        );
        if alerts.hard_limit == 0 {
            self.error("alerts.hard_limit", "must be at least 1");
        } else if alerts.safe_length > alerts.hard_limit {
            self.error(
                "alerts.safe_length",
                format!(
                    "{} is more than hard_limit ({})",
                    alerts.safe_length, alerts.hard_limit
                ),
            );
        }
        if let Some(feed) = &alerts.feed {
            if !(feed.url.starts_with("https://") || feed.url.starts_with("http://")) {
                self.error(
                    "alerts.feed.url",
                    "must be the console's public address, starting https:// (or http://)",
                );
            }
            // CAP 1.2 §3.2.1: sender and identifiers carry no spaces, commas or < and &.
            if feed.sender.is_empty()
                || feed
                    .sender
                    .chars()
                    .any(|c| c.is_whitespace() || matches!(c, ',' | '<' | '&'))
            {
                self.error(
                    "alerts.feed.sender",
                    "must be an address such as alerts@library.example, without spaces, commas, < or &",
                );
            }
            for (key, value) in [
                ("alerts.feed.sender_name", &feed.sender_name),
                ("alerts.feed.area", &feed.area),
                ("alerts.feed.event", &feed.event),
                ("alerts.feed.language", &feed.language),
            ] {
                if value.trim().is_empty() {
                    self.error(key, "must not be empty");
                }
            }
            if feed.active_for < Duration::from_secs(60) {
                self.error("alerts.feed.active_for", "must be at least 1 minute");
            }
        }
        let mut names: Vec<&str> = Vec::new();
        for (i, template) in alerts.templates.iter().enumerate() {
            let key = format!("alerts.template[{i}]");
            let name = template.name.as_str();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                self.error(
                    format!("{key}.name"),
                    "use letters, digits, - and _ (it names the template in links)",
                );
            } else if names.contains(&name) {
                self.error(format!("{key}.name"), format!("{name:?} is used twice"));
            }
            names.push(name);
            if template.title.trim().is_empty() {
                self.error(format!("{key}.title"), "must not be empty");
            }
            if template.text.trim().is_empty() {
                self.error(format!("{key}.text"), "must not be empty");
            } else if template.text.chars().count() > usize::from(alerts.hard_limit) {
                self.error(
                    format!("{key}.text"),
                    format!(
                        "is {} characters, more than hard_limit ({}) before its gaps are even filled",
                        template.text.chars().count(),
                        alerts.hard_limit
                    ),
                );
            }
        }
        if let Some(email) = &mut alerts.email {
            if email.relay.trim().is_empty() {
                self.error("alerts.email.relay", "must name the SMTP relay");
            }
            match email.from.split_once('@') {
                Some((local, domain)) if !local.is_empty() && domain.contains('.') => {}
                _ => self.error(
                    "alerts.email.from",
                    format!("{:?} is not an e-mail address", email.from),
                ),
            }
            match (&mut email.username, &mut email.password) {
                (Some(username), Some(password)) => {
                    self.secret("alerts.email.username", username, env, base_dir);
                    self.secret("alerts.email.password", password, env, base_dir);
                }
                (None, None) => {}
                (Some(_), None) => {
                    self.error("alerts.email.password", "is required with `username`")
                }
                (None, Some(_)) => {
                    self.error("alerts.email.username", "is required with `password`")
                }
            }
        }
        if let Some(xmpp) = &mut alerts.xmpp {
            self.alerts_xmpp(xmpp, env, base_dir);
        }
        let mut groups: Vec<&str> = Vec::new();
        for (i, group) in alerts.groups.iter().enumerate() {
            let key = format!("alerts.group[{i}]");
            let name = group.name.as_str();
            // Members text the name after JOIN, so it is one word, and not a word the
            // keywords already mean.
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                self.error(
                    format!("{key}.name"),
                    "use lower-case letters, digits and - (members text it: JOIN closures)",
                );
            } else if groups.contains(&name) {
                self.error(format!("{key}.name"), format!("{name:?} is used twice"));
            } else if ["all", "emergency", "alerts"].contains(&name) {
                self.error(
                    format!("{key}.name"),
                    format!("{name:?} would read as all alerts; emergency alerts reach every member anyway"),
                );
            }
            groups.push(name);
            if group.title.trim().is_empty() {
                self.error(format!("{key}.title"), "must not be empty");
            }
        }
        let expires = alerts.approval_expires_after;
        if expires < Duration::from_secs(60) || expires > Duration::from_secs(7 * 24 * 3600) {
            self.error(
                "alerts.approval_expires_after",
                "must be between 1 minute and 7 days: an alert nobody approved in a week is no alert",
            );
        }
    }

    fn gateway(
        &mut self,
        index: usize,
        gateway: &mut GatewayConfig,
        env: &BTreeMap<String, String>,
        base_dir: &Path,
    ) {
        let at = gateway_label(index, Some(&gateway.name));
        let key = |field: &str| format!("{at}.{field}");

        if gateway.name.is_empty()
            || !gateway
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            self.error(
                key("name"),
                "use letters, digits, `-` and `_` only (the name appears in metrics, \
                 the command line and variable names)",
            );
        }
        match jid::Jid::new(&gateway.domain) {
            Ok(jid) if jid.node().is_none() && jid.resource().is_none() => {}
            Ok(_) => self.error(
                key("domain"),
                format!(
                    "{:?} is not a bare domain: a component's address has no `user@` or \
                     `/resource`, e.g. sms.library.example",
                    gateway.domain
                ),
            ),
            Err(e) => self.error(
                key("domain"),
                format!("{:?} is not a valid domain: {e}", gateway.domain),
            ),
        }
        self.secret(&key("secret"), &mut gateway.secret, env, base_dir);
        if let Err(message) = host_port(&gateway.server) {
            self.error(key("server"), message);
        }
        self.operators(&at, &gateway.operators);
        if gateway.available_shows.is_empty() {
            self.error(
                key("available_shows"),
                "is empty, so no operator would ever be available",
            );
        }
        if gateway.display_name.trim().is_empty()
            || gateway.display_name.chars().any(char::is_control)
        {
            self.error(
                key("display_name"),
                "must be a name clients can show: not empty, no control characters",
            );
        }
        self.region(&key("default_region"), &gateway.default_region);
        if gateway.max_parts == 0 {
            self.error(
                key("max_parts"),
                "must be between 1 and 255 (0 would refuse every reply)",
            );
        }
        if let MultipartNotice::Template(template) = &gateway.notice_multipart {
            if let Err(message) = notice_template(template) {
                self.error(key("notice_multipart"), message);
            }
        }
        if let Some(reply) = &gateway.call_auto_reply {
            if reply.trim().is_empty() {
                self.error(
                    key("call_auto_reply"),
                    "is empty; leave the key out to send no reply",
                );
            }
        }
        if gateway.rate_limit_per_minute == 0 {
            self.error(
                key("rate_limit_per_minute"),
                "must be at least 1 (0 would never send an alert)",
            );
        }
        let outbox = &gateway.outbox;
        if outbox.max_attempts == 0 {
            self.error(
                key("outbox.max_attempts"),
                "must be at least 1 (the first attempt counts)",
            );
        }
        if outbox.initial_backoff.is_zero() {
            self.error(
                key("outbox.initial_backoff"),
                "must be longer than 0s, or a failing modem is retried in a busy loop",
            );
        }
        if outbox.max_backoff < outbox.initial_backoff {
            self.error(
                key("outbox.max_backoff"),
                format!(
                    "{} is shorter than initial_backoff ({})",
                    humantime_serde::re::humantime::format_duration(outbox.max_backoff),
                    humantime_serde::re::humantime::format_duration(outbox.initial_backoff)
                ),
            );
        }
        if outbox.lease < MIN_LEASE {
            self.error(
                key("outbox.lease"),
                format!(
                    "must be at least {} (it is renewed every third of it while a reply is \
                     being sent)",
                    humantime_serde::re::humantime::format_duration(MIN_LEASE)
                ),
            );
        }
        self.desk(&format!("{at}.desk"), gateway);
        let health = &gateway.health;
        for (i, jid) in health.notify.iter().enumerate() {
            if let Err(e) = textgate_core::BareJid::new(jid) {
                self.error(format!("{at}.health.notify[{i}]"), format!("{jid:?}: {e}"));
            }
        }
        if health.every.is_zero() {
            self.error(
                format!("{at}.health.every"),
                "must be longer than 0s, or a flapping modem floods the desk",
            );
        }
        if let Some(dbm) = health.signal_below_dbm {
            if !(-113..=-51).contains(&dbm) {
                self.error(
                    format!("{at}.health.signal_below_dbm"),
                    format!("{dbm} is outside what modems report (-113 to -51 dBm)"),
                );
            }
        }
        self.driver(
            &format!("{at}.driver"),
            &gateway.name,
            &mut gateway.driver,
            env,
            base_dir,
        );
    }

    /// `[gateway.desk]`: hours that parse, keywords that are single words, and replies
    /// that fit the gateway's `max_parts`.
    fn desk(&mut self, at: &str, gateway: &GatewayConfig) {
        let desk = &gateway.desk;
        let key = |k: &str| format!("{at}.{k}");
        if let Err(message) = desk.hours() {
            let known_zone = desk.time_zone.as_deref().is_some_and(|zone| {
                textgate_core::OpeningHours::new(zone, ["mon 00:00-01:00"], [""; 0]).is_ok()
            });
            let which = if desk.weekly.is_empty() {
                "exceptions"
            } else if !known_zone {
                "time_zone"
            } else if message.starts_with("exception") {
                "exceptions"
            } else {
                "weekly"
            };
            self.error(key(which), message);
        }
        if desk.time_zone.is_some() && desk.weekly.is_empty() {
            self.error(key("weekly"), "is empty, so the time_zone is for nothing");
        }
        if desk.conversation_ends_after < std::time::Duration::from_secs(60) {
            self.error(
                key("conversation_ends_after"),
                "must be at least 1m, or every text starts a new conversation",
            );
        }
        if desk.flood_limit > 0 && desk.flood_window.is_zero() {
            self.error(
                key("flood_window"),
                "must be longer than 0s (set flood_limit = 0 for no limit)",
            );
        }
        if desk.auto_reply_every.is_zero() {
            self.error(
                key("auto_reply_every"),
                "must be longer than 0s, or a patron gets an automatic reply to every text",
            );
        }
        let segmenter = gateway.segmenter();
        let mut fits = |name: String, text: &str| {
            let countdown = segmenter.countdown(text);
            if text.trim().is_empty() {
                self.error(name, "is empty");
            } else if !countdown.within_limit() {
                self.error(
                    name,
                    format!(
                        "needs {} SMS; this gateway sends at most {} (max_parts)",
                        countdown.parts, gateway.max_parts
                    ),
                );
            }
        };
        if !desk.closed_reply.is_empty() {
            fits(key("closed_reply"), &desk.closed_reply);
        }
        if let Some(reply) = &desk.unattended_reply {
            fits(key("unattended_reply"), reply);
        }
        if let Some(reply) = &desk.mms_reply {
            fits(key("mms_reply"), reply);
        }
        for (word, reply) in &desk.keywords {
            fits(key(&format!("keywords.{word}")), reply);
        }
        for word in desk.keywords.keys() {
            if textgate_core::keyword_of(word).as_deref() != Some(word.as_str()) {
                self.error(
                    key(&format!("keywords.{word}")),
                    "a keyword is one word in capitals, e.g. HOURS",
                );
            }
        }
    }

    fn operators(&mut self, at: &str, operators: &[String]) {
        if operators.is_empty() {
            self.error(
                format!("{at}.operators"),
                "at least one operator is required, or nobody would read the texts",
            );
        }
        let mut seen: HashMap<jid::BareJid, usize> = HashMap::new();
        for (i, operator) in operators.iter().enumerate() {
            let key = format!("{at}.operators[{i}]");
            if operator
                .split_once('@')
                .is_some_and(|(_, domain)| domain.is_empty())
            {
                self.error(
                    key,
                    format!("{operator:?} is not a valid JID: nothing after the @"),
                );
                continue;
            }
            match jid::BareJid::new(operator) {
                Ok(jid) if jid.node().is_none() => self.error(
                    key,
                    format!(
                        "{operator:?} is a server, not a user: operators are accounts like \
                         alice@library.example"
                    ),
                ),
                Ok(jid) => {
                    if let Some(first) = seen.insert(jid, i) {
                        self.error(key, format!("{operator:?} repeats operators[{first}]"));
                    }
                }
                Err(jid::Error::ResourceInBareJid) => self.error(
                    key,
                    format!(
                        "{operator:?} has a /resource: operators are bare JIDs, \
                         every resource of the account counts"
                    ),
                ),
                Err(e) => self.error(key, format!("{operator:?} is not a valid JID: {e}")),
            }
        }
    }

    fn region(&mut self, key: &str, region: &str) {
        if phonenumber::country::Id::from_str(region).is_ok() {
            return;
        }
        let upper = region.to_ascii_uppercase();
        let hint = if upper != region && phonenumber::country::Id::from_str(&upper).is_ok() {
            format!(" (region codes are upper case: {upper:?})")
        } else if upper == "UK" {
            " (the United Kingdom is \"GB\")".to_owned()
        } else {
            String::new()
        };
        self.error(
            key,
            format!("{region:?} is not an ISO 3166-1 alpha-2 region known to libphonenumber{hint}"),
        );
    }

    fn driver(
        &mut self,
        at: &str,
        name: &str,
        driver: &mut DriverConfig,
        env: &BTreeMap<String, String>,
        base_dir: &Path,
    ) {
        let key = |field: &str| format!("{at}.{field}");
        match driver {
            DriverConfig::At(modem) => {
                match (&modem.device, &modem.address) {
                    (Some(_), Some(_)) => self.error(
                        at,
                        "set either `device` (a serial port) or `address` (TCP), not both",
                    ),
                    (None, None) => self.error(
                        at,
                        "set `device` (a serial port) or `address` (host:port of a TCP modem)",
                    ),
                    (Some(device), None) => {
                        // A missing device is only a warning: modems get unplugged, and the
                        // driver keeps reopening the port, so the other gateways should
                        // still start.
                        if !device.exists() {
                            self.warning(
                                key("device"),
                                format!(
                                    "{} does not exist (yet); the daemon will keep \
                                     trying to open it",
                                    device.display()
                                ),
                            );
                        }
                        // `Path::starts_with` compares whole components, `ttyUSB0` is not `tty`.
                        if device.to_string_lossy().starts_with("/dev/tty") {
                            self.warning(
                                key("device"),
                                format!(
                                    "{} can name another device after a reboot; \
                                     prefer its {STABLE_DEVICE_DIR}… name",
                                    device.display()
                                ),
                            );
                        }
                    }
                    (None, Some(address)) => {
                        if let Err(message) = host_port(address) {
                            self.error(key("address"), message);
                        }
                    }
                }
                if !BAUD_RATES.contains(&modem.baud) {
                    self.error(
                        key("baud"),
                        format!(
                            "{} is not a serial line speed; use one of {}",
                            modem.baud,
                            BAUD_RATES
                                .iter()
                                .map(u32::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
                if let Some(pin) = &mut modem.pin {
                    self.secret(&key("pin"), pin, env, base_dir);
                    let digits = pin.expose();
                    let well_formed = (4..=8).contains(&digits.len())
                        && digits.bytes().all(|b| b.is_ascii_digit());
                    if pin.is_resolved() && !well_formed {
                        self.error(key("pin"), "a SIM PIN is 4 to 8 digits");
                    }
                }
                if let Some(smsc) = &modem.smsc {
                    let digits = smsc.strip_prefix('+').unwrap_or(smsc);
                    if !(3..=15).contains(&digits.len())
                        || !digits.bytes().all(|b| b.is_ascii_digit())
                    {
                        self.error(
                            key("smsc"),
                            format!(
                                "{smsc:?} is not a phone number; write the service centre \
                                 in international form, e.g. \"+447785016005\""
                            ),
                        );
                    }
                }
                if modem.send_timeout.is_zero() {
                    self.error(key("send_timeout"), "must be longer than 0s");
                }
            }
            DriverConfig::Simulator(simulator) => match (&simulator.address, simulator.spawn) {
                (Some(_), true) => self.error(
                    at,
                    "set either `address` (a running simulator) or `spawn = true`, not both",
                ),
                (None, false) => self.error(
                    at,
                    "set `address` (host:port of a running textgate-modemsim) or `spawn = true`",
                ),
                (Some(address), false) => {
                    if let Err(message) = host_port(address) {
                        self.error(key("address"), message);
                    }
                }
                (None, true) => {}
            },
            DriverConfig::Smtp(smtp) => {
                if smtp.relay.is_empty() || smtp.relay.contains([':', '/', ' ']) {
                    self.error(
                        key("relay"),
                        format!(
                            "{:?} is not a host name (the port goes in `port`)",
                            smtp.relay
                        ),
                    );
                }
                if smtp.port == 0 {
                    self.error(key("port"), "must be between 1 and 65535");
                }
                match smtp.from.split_once('@') {
                    Some((local, domain)) if !local.is_empty() && domain.contains('.') => {}
                    _ => self.error(
                        key("from"),
                        format!("{:?} is not an e-mail address", smtp.from),
                    ),
                }
                match (&mut smtp.username, &mut smtp.password) {
                    (Some(username), Some(password)) => {
                        self.secret(&key("username"), username, env, base_dir);
                        self.secret(&key("password"), password, env, base_dir);
                    }
                    (None, None) => {}
                    (Some(_), None) => self.error(key("password"), "is required with `username`"),
                    (None, Some(_)) => self.error(key("username"), "is required with `password`"),
                }
                smtp.carriers = base_dir.join(&smtp.carriers);
                if !smtp.carriers.is_file() {
                    self.error(
                        key("carriers"),
                        format!("{} does not exist", smtp.carriers.display()),
                    );
                } else if let Err(error) = super::load_carrier_table(&smtp.carriers) {
                    // Read now, not first when the alert service starts: a broken file is
                    // a configuration error check-config must report.
                    self.error(key("carriers"), error.to_string());
                }
            }
            DriverConfig::Smpp(smpp) => {
                if let Err(message) = host_port(&smpp.address) {
                    self.error(key("address"), message);
                }
                // SMPP 3.4 §5.2: C-Octet Strings of 16 and 9 octets with their NUL.
                if smpp.system_id.is_empty() || smpp.system_id.len() > 15 {
                    self.error(key("system_id"), "must be 1 to 15 characters (SMPP 3.4)");
                }
                if smpp.system_type.len() > 12 {
                    self.error(
                        key("system_type"),
                        "must be at most 12 characters (SMPP 3.4)",
                    );
                }
                self.secret(&key("password"), &mut smpp.password, env, base_dir);
                if smpp.password.is_resolved() && smpp.password.expose().len() > 8 {
                    self.error(key("password"), "must be at most 8 characters (SMPP 3.4)");
                }
                if !(1..=100).contains(&smpp.window) {
                    self.error(key("window"), "must be between 1 and 100");
                }
                if smpp.max_per_second == Some(0) {
                    self.error(key("max_per_second"), "must be at least 1 (or left out)");
                }
                if let Some(source) = &smpp.source_addr {
                    if let Err(message) = super::smpp_source(source) {
                        self.error(key("source_addr"), message);
                    }
                }
                if smpp.enquire_link.is_zero() {
                    self.error(key("enquire_link"), "must be longer than 0s");
                }
                if let Some(ca) = &mut smpp.tls_ca_file {
                    *ca = base_dir.join(&*ca);
                    if !smpp.tls {
                        self.error(key("tls_ca_file"), "only applies with `tls = true`");
                    } else if !ca.is_file() {
                        self.error(
                            key("tls_ca_file"),
                            format!("{} does not exist", ca.display()),
                        );
                    }
                }
                if smpp.tls_server_name.is_some() && !smpp.tls {
                    self.error(key("tls_server_name"), "only applies with `tls = true`");
                }
            }
            DriverConfig::Android(android) => {
                self.android(&key, name, android, env, base_dir);
            }
        }
    }

    /// A `kind = "android"` section: URLs the driver and the app can use, secrets, and
    /// Android's allowance.
    fn android(
        &mut self,
        key: &dyn Fn(&str) -> String,
        name: &str,
        android: &mut super::AndroidDriver,
        env: &BTreeMap<String, String>,
        base_dir: &Path,
    ) {
        let after_scheme = android
            .url
            .strip_prefix("https://")
            .or_else(|| android.url.strip_prefix("http://"));
        match after_scheme {
            Some(rest) if !rest.is_empty() && !rest.starts_with('/') => {}
            _ => self.error(
                key("url"),
                "must be http://HOST:PORT (the phone's local server) or https://HOST (a server)",
            ),
        }
        if android.mode != super::AndroidMode::Local && android.url.starts_with("http://") {
            self.warning(
                key("url"),
                "a cloud or private server over plain http sends the password unencrypted",
            );
        }
        if android.username.is_empty() {
            self.error(key("username"), "must not be empty");
        }
        self.secret(&key("password"), &mut android.password, env, base_dir);
        self.secret(&key("signing_key"), &mut android.signing_key, env, base_dir);
        if android.signing_key.is_resolved() && android.signing_key.expose().is_empty() {
            self.error(
                key("signing_key"),
                "must not be empty: unsigned webhooks could come from anyone",
            );
        }
        if let Some(url) = &android.webhook_url {
            let probe_id = textgate_android::ClientId::new("probe");
            if let Ok(id) = probe_id {
                if let Err(e) = textgate_android::registration_body(
                    &id,
                    url,
                    textgate_android::WebhookKind::SmsReceived,
                ) {
                    self.error(key("webhook_url"), e.to_string());
                }
            }
            let path = textgate_android_driver::webhook_path(name);
            let url_path = url.split(['?', '#']).next().unwrap_or("");
            if !url_path.ends_with(&path) {
                self.warning(
                    key("webhook_url"),
                    format!("textgate serves this gateway's webhooks at {path}; unless a proxy rewrites the path, the URL should end with it"),
                );
            }
        }
        if let Some(sim) = android.sim {
            if !(1..=3).contains(&sim) {
                self.error(key("sim"), "must be 1, 2 or 3 (the SIM slot, from 1)");
            }
        }
        if android.per_minute == 0 {
            self.error(key("per_minute"), "must be at least 1");
        } else if android.per_minute > textgate_android_driver::ANDROID_LIMIT_PER_MINUTE {
            self.warning(
                key("per_minute"),
                "above Android's 30 SMS a minute, the phone asks its owner before each further \
                 text unless its limit was raised (adb: sms_outgoing_check_max_count)",
            );
        }
        for (field, value) in [
            ("ttl", android.ttl),
            ("send_timeout", android.send_timeout),
            ("poll_interval", android.poll_interval),
            ("offline_after", android.offline_after),
        ] {
            if value < Duration::from_secs(1) {
                self.error(key(field), "must be at least 1s");
            }
        }
    }

    /// An Android gateway without `webhook_url` is reached on `[http] listen` itself, which
    /// the app accepts only on 127.0.0.1 (plain http elsewhere is refused by the app).
    fn android_webhooks(&mut self, gateways: &[(usize, GatewayConfig)], listen: SocketAddr) {
        for (index, gateway) in gateways {
            let DriverConfig::Android(android) = &gateway.driver else {
                continue;
            };
            if android.webhook_url.is_none() && listen.ip() != Ipv4Addr::LOCALHOST {
                let at = gateway_label(*index, Some(&gateway.name));
                self.error(
                    format!("{at}.driver.webhook_url"),
                    format!(
                        "is required when [http] listen ({listen}) is not on 127.0.0.1: the phone \
                         posts to https://YOUR-HOST{}",
                        textgate_android_driver::webhook_path(&gateway.name)
                    ),
                );
            }
        }
    }

    /// Checks that must look at all gateways at once.
    fn across_gateways(&mut self, gateways: &[(usize, GatewayConfig)]) {
        for (index, gateway) in gateways {
            let at = gateway_label(*index, Some(&gateway.name));
            for (i, desk) in gateway.transfer_to.iter().enumerate() {
                let key = format!("{at}.transfer_to[{i}]");
                if desk == &gateway.name {
                    self.error(key, "is this gateway itself; name another gateway's desk");
                } else if !gateways.iter().any(|(_, g)| &g.name == desk) {
                    let names: Vec<&str> = gateways
                        .iter()
                        .filter(|(_, g)| g.name != gateway.name)
                        .map(|(_, g)| g.name.as_str())
                        .collect();
                    self.error(
                        key,
                        if names.is_empty() {
                            format!("{desk:?} is not a gateway here, and there is no other")
                        } else {
                            format!(
                                "{desk:?} is not a gateway here; the others are: {}",
                                names.join(", ")
                            )
                        },
                    );
                } else if gateway.transfer_to[..i].contains(desk) {
                    self.error(key, format!("{desk:?} is named twice"));
                }
            }
        }
        let mut names: HashMap<String, String> = HashMap::new();
        let mut domains: HashMap<String, String> = HashMap::new();
        let mut ports: HashMap<String, String> = HashMap::new();
        for (index, gateway) in gateways {
            let at = gateway_label(*index, Some(&gateway.name));
            let variable_name = environment_name(&gateway.name);
            if let Some(first) = names.get(&variable_name) {
                self.error(
                    format!("{at}.name"),
                    format!(
                        "{first} has the same name (or the same variable name \
                         TEXTGATE_GATEWAY_{variable_name}_…)"
                    ),
                );
            } else {
                names.insert(variable_name, at.clone());
            }
            // Domains compare case-insensitively, as the XMPP server compares them.
            let domain = gateway.domain.to_ascii_lowercase();
            if let Some(first) = domains.get(&domain) {
                self.error(
                    format!("{at}.domain"),
                    format!("{:?} is already the domain of {first}", gateway.domain),
                );
            } else {
                domains.insert(domain, at.clone());
            }
            // Two drivers on one port would steal each other's replies.
            let port = match &gateway.driver {
                DriverConfig::At(modem) => match (&modem.device, &modem.address) {
                    (Some(device), _) => Some(("device", device.display().to_string())),
                    (None, Some(address)) => Some(("address", address.clone())),
                    (None, None) => None,
                },
                DriverConfig::Simulator(simulator) => {
                    simulator.address.clone().map(|a| ("address", a))
                }
                DriverConfig::Smtp(_) | DriverConfig::Smpp(_) | DriverConfig::Android(_) => None,
            };
            if let Some((field, port)) = port {
                if let Some(first) = ports.get(&port) {
                    self.error(
                        format!("{at}.driver.{field}"),
                        format!("{port} is already used by {first}"),
                    );
                } else {
                    ports.insert(port, at.clone());
                }
            }
        }
    }
}

/// Checks a `host:port` address; IPv6 hosts go in brackets.
/// `url` if webhooks may be posted to it: HTTPS, or plain HTTP to this host only.
fn webhook_url(url: &str) -> Result<(), String> {
    if let Some(rest) = url.strip_prefix("https://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if host.is_empty() {
            return Err(format!("{url:?} has no host"));
        }
        return Ok(());
    }
    if let Some(rest) = url.strip_prefix("http://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => authority.split(':').next().unwrap_or(""),
        };
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if loopback {
            return Ok(());
        }
        return Err(format!(
            "{url:?}: plain http:// only to this host (127.0.0.1, [::1], localhost); \
             anywhere else use https://, the posts carry patrons' texts"
        ));
    }
    Err(format!("{url:?} is not an https:// URL"))
}

fn host_port(address: &str) -> Result<(), String> {
    let Some((host, port)) = address.rsplit_once(':') else {
        return Err(format!("{address:?} has no port: write host:port"));
    };
    if host.is_empty() {
        return Err(format!("{address:?} has no host: write host:port"));
    }
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err(format!(
            "{address:?}: an IPv6 address goes in brackets, e.g. [::1]:5347"
        ));
    }
    match port.parse::<u16>() {
        Ok(port) if port > 0 => Ok(()),
        _ => Err(format!(
            "{address:?}: {port:?} is not a port number (1 to 65535)"
        )),
    }
}

/// Checks that a notice template uses only known placeholders.
fn notice_template(template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = rest.get(open + 1..).unwrap_or_default();
        let Some(close) = after.find('}') else {
            return Err(format!("{template:?} has a `{{` without `}}`"));
        };
        let name = after.get(..close).unwrap_or_default();
        if name != "parts" {
            return Err(format!(
                "{template:?} uses {{{name}}}; the only placeholder is {{parts}}"
            ));
        }
        rest = after.get(close + 1..).unwrap_or_default();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_forms() {
        let results: Vec<String> = ["127.0.0.1:5347", "[::1]:5347", "prosody:5347", "::1:5347"]
            .iter()
            .chain(&["host", ":5347", "host:0", "host:http"])
            .map(|a| match host_port(a) {
                Ok(()) => format!("{a} ok"),
                Err(e) => e,
            })
            .collect();
        expect_test::expect![[r#"
            127.0.0.1:5347 ok
            [::1]:5347 ok
            prosody:5347 ok
            "::1:5347": an IPv6 address goes in brackets, e.g. [::1]:5347
            "host" has no port: write host:port
            ":5347" has no host: write host:port
            "host:0": "0" is not a port number (1 to 65535)
            "host:http": "http" is not a port number (1 to 65535)"#]]
        .assert_eq(&results.join("\n"));
    }

    #[test]
    fn notice_templates() {
        assert_eq!(notice_template("sent as {parts} SMS, {parts}"), Ok(()));
        assert_eq!(
            notice_template("{count} SMS"),
            Err(r#""{count} SMS" uses {count}; the only placeholder is {parts}"#.to_owned())
        );
        assert_eq!(
            notice_template("{parts"),
            Err(r#""{parts" has a `{` without `}`"#.to_owned())
        );
    }
}
