//! `[[gateway]]` on its own: the component, its operators, region, limits, outbox,
//! `[gateway.desk]` and `[gateway.health]`, everything that can be judged from one
//! section. The driver is in `drivers.rs`; what compares gateways with each other is in
//! `across.rs`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use super::{host_port, Checker};
use crate::config::load::gateway_label;
use crate::config::{GatewayConfig, MultipartNotice};

/// The shortest outbox lease: renewed every third of it, a shorter one would turn the
/// renewals into a busy loop against the database.
const MIN_LEASE: Duration = Duration::from_secs(3);

impl Checker<'_> {
    pub(super) fn gateway(
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
