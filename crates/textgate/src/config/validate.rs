//! The validation pass: everything serde's types cannot say (JIDs, regions, ranges,
//! uniqueness across gateways, exclusive keys), plus resolving secrets and relative paths.
//! It never stops at the first problem, and it has no side effects beyond reading files.
//!
//! One file per group of sections under `validate/`; what they share (the `Checker`, its
//! error and secret helpers, `host_port`) stays here, so every part reports the same way.

use std::collections::BTreeMap;
use std::path::Path;

use super::load::{Problem, Sections};
use super::{HttpConfig, Secret};

mod across;
mod alerts;
mod alerts_xmpp;
mod drivers;
mod gateway;

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
}

/// Checks a `host:port` address; IPv6 hosts go in brackets.
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
}
