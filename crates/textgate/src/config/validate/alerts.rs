//! `[alerts]` and `[[webhook]]`: the webhooks are sent by the alert service, so they
//! are checked against what `[alerts]` turns on (the service itself, `[alerts.feed]` for
//! `alert.published`). `[alerts.xmpp]` has its own file, `alerts_xmpp.rs`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use super::Checker;
use crate::config::load::webhook_label;
use crate::config::{AlertsConfig, Secret, WebhookConfig};

/// The events a `[[webhook]]` may name.
pub(crate) const WEBHOOK_EVENTS: &[&str] = &[
    "text.received",
    "text.delivered",
    "text.failed",
    "alert.published",
];

impl Checker<'_> {
    pub(super) fn alerts(
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

    /// `[[webhook]]`: they live in the alert service, so they need `[alerts]`; their
    /// posts carry patrons' texts, so they go over HTTPS unless the receiver is on this
    /// host.
    pub(super) fn webhooks(
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
}

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
