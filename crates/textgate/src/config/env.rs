//! `TEXTGATE_…` environment overrides, applied to the parsed TOML tree before it is
//! deserialised, so an override is checked exactly like the key it replaces.
//!
//! The variables are a fixed, documented list (see [`override_variables`]):
//! `TEXTGATE_DATABASE_URL`, `TEXTGATE_HTTP_LISTEN`, `TEXTGATE_HTTP_SECURE_COOKIES`,
//! `TEXTGATE_LOG_FORMAT`, `TEXTGATE_LOG_LEVEL`, the `[alerts]` keys (with the e-mail relay's
//! and the XMPP component's), and per gateway
//! `TEXTGATE_GATEWAY_<NAME>_<KEY>`, where `<NAME>` is the gateway's `name` upper-cased with
//! every other character than A–Z and 0–9 turned into `_`. A `TEXTGATE_` variable that
//! matches nothing is an error, so a misspelt override never silently does nothing;
//! `TEXTGATE_CONFIG`, `TEXTGATE_ADMIN_PASSWORD` and variables named by a secret's
//! `{ env = "…" }` form are exempt.

use std::collections::{BTreeMap, BTreeSet};

use toml::{Table, Value};

use super::load::{gateway_label, Problem};

/// The variable naming the configuration file (read by the command line, not here).
pub const CONFIG_PATH_VARIABLE: &str = "TEXTGATE_CONFIG";

/// The new administrator's password for `textgate create-admin` (read by that command).
pub const ADMIN_PASSWORD_VARIABLE: &str = "TEXTGATE_ADMIN_PASSWORD";

/// Variables the commands read themselves: not settings, so never overrides.
const COMMAND_VARIABLES: [&str; 2] = [CONFIG_PATH_VARIABLE, ADMIN_PASSWORD_VARIABLE];

const PREFIX: &str = "TEXTGATE_";
const GATEWAY_PREFIX: &str = "TEXTGATE_GATEWAY_";

/// How a variable's text becomes a TOML value.
#[derive(Clone, Copy)]
enum Kind {
    /// A string, as is.
    Text,
    /// A decimal integer.
    Integer,
    /// A comma-separated list of strings; blanks around items are dropped.
    List,
    /// `true` or `false`.
    Boolean,
}

/// One overridable key: the variable name after the prefix, and the key path it sets.
struct Setting {
    variable: &'static str,
    path: &'static [&'static str],
    kind: Kind,
}

const fn setting(variable: &'static str, path: &'static [&'static str], kind: Kind) -> Setting {
    Setting {
        variable,
        path,
        kind,
    }
}

/// Overrides of top-level keys: `TEXTGATE_<VARIABLE>`.
const GLOBAL: &[Setting] = &[
    setting("DATABASE_URL", &["database", "url"], Kind::Text),
    setting("HTTP_LISTEN", &["http", "listen"], Kind::Text),
    setting(
        "HTTP_SECURE_COOKIES",
        &["http", "secure_cookies"],
        Kind::Boolean,
    ),
    setting(
        "HTTP_SENDS_PER_MINUTE",
        &["http", "sends_per_minute"],
        Kind::Integer,
    ),
    setting("LOG_FORMAT", &["log", "format"], Kind::Text),
    setting("LOG_LEVEL", &["log", "level"], Kind::Text),
    setting(
        "ALERTS_ENCRYPTION_KEY_ID",
        &["alerts", "encryption_key", "id"],
        Kind::Text,
    ),
    setting(
        "ALERTS_ENCRYPTION_KEY",
        &["alerts", "encryption_key", "key"],
        Kind::Text,
    ),
    setting(
        "ALERTS_BLIND_INDEX_KEY",
        &["alerts", "blind_index_key"],
        Kind::Text,
    ),
    setting(
        "ALERTS_CONFIRMATION_KEY",
        &["alerts", "confirmation_key"],
        Kind::Text,
    ),
    // The relay's and the component's credentials differ between a test and a production
    // host while the rest of the file stays the same: what a deployment sets from outside.
    setting(
        "ALERTS_EMAIL_RELAY",
        &["alerts", "email", "relay"],
        Kind::Text,
    ),
    setting(
        "ALERTS_EMAIL_USERNAME",
        &["alerts", "email", "username"],
        Kind::Text,
    ),
    setting(
        "ALERTS_EMAIL_PASSWORD",
        &["alerts", "email", "password"],
        Kind::Text,
    ),
    setting(
        "ALERTS_XMPP_COMPONENT",
        &["alerts", "xmpp", "component"],
        Kind::Text,
    ),
    setting(
        "ALERTS_XMPP_SECRET",
        &["alerts", "xmpp", "secret"],
        Kind::Text,
    ),
    setting(
        "ALERTS_XMPP_SERVER",
        &["alerts", "xmpp", "server"],
        Kind::Text,
    ),
    setting("ALERTS_XMPP_ROOM", &["alerts", "xmpp", "room"], Kind::Text),
    setting(
        "ALERTS_XMPP_STAFF",
        &["alerts", "xmpp", "staff"],
        Kind::List,
    ),
];

/// Overrides of a gateway's keys: `TEXTGATE_GATEWAY_<NAME>_<VARIABLE>`.
const PER_GATEWAY: &[Setting] = &[
    setting("DOMAIN", &["domain"], Kind::Text),
    setting("SECRET", &["secret"], Kind::Text),
    setting("SERVER", &["server"], Kind::Text),
    setting("OPERATORS", &["operators"], Kind::List),
    setting("AVAILABLE_SHOWS", &["available_shows"], Kind::List),
    setting("ROUTING", &["routing"], Kind::Text),
    setting("CLAIM_COLLISIONS", &["claim_collisions"], Kind::Text),
    setting("PRIVACY_HANDLES", &["privacy_handles"], Kind::Boolean),
    setting("NOTICES", &["notices"], Kind::Text),
    setting("DISPLAY_NAME", &["display_name"], Kind::Text),
    setting("AWAY_FALLBACK", &["away_fallback"], Kind::Boolean),
    setting("DEFAULT_REGION", &["default_region"], Kind::Text),
    setting("MAX_PARTS", &["max_parts"], Kind::Integer),
    setting("TRANSCRIPTS", &["transcripts"], Kind::Text),
    setting("CALL_AUTO_REPLY", &["call_auto_reply"], Kind::Text),
    setting(
        "RATE_LIMIT_PER_MINUTE",
        &["rate_limit_per_minute"],
        Kind::Integer,
    ),
    setting("DRIVER_DEVICE", &["driver", "device"], Kind::Text),
    setting("DRIVER_ADDRESS", &["driver", "address"], Kind::Text),
    setting("DRIVER_BAUD", &["driver", "baud"], Kind::Integer),
    setting("DRIVER_QUIRKS", &["driver", "quirks"], Kind::Text),
    setting("DRIVER_PIN", &["driver", "pin"], Kind::Text),
    setting("DRIVER_SMSC", &["driver", "smsc"], Kind::Text),
    setting("DRIVER_USERNAME", &["driver", "username"], Kind::Text),
    setting("DRIVER_PASSWORD", &["driver", "password"], Kind::Text),
    setting("DRIVER_URL", &["driver", "url"], Kind::Text),
    setting("DRIVER_SIGNING_KEY", &["driver", "signing_key"], Kind::Text),
];

/// Every override variable, with `<NAME>` standing for a gateway's environment name, in
/// the order of the documentation.
pub fn override_variables() -> Vec<String> {
    GLOBAL
        .iter()
        .map(|s| format!("{PREFIX}{}", s.variable))
        .chain(
            PER_GATEWAY
                .iter()
                .map(|s| format!("{GATEWAY_PREFIX}<NAME>_{}", s.variable)),
        )
        .collect()
}

/// A gateway name as it appears in variable names: upper case, other characters than
/// letters and digits turned into `_`.
pub(crate) fn environment_name(gateway: &str) -> String {
    gateway
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The result of applying overrides to the raw tree.
#[derive(Default)]
pub(crate) struct Applied {
    /// Display key path (as in [`Problem::key`]) → the variable that set it.
    pub origins: BTreeMap<String, String>,
    pub problems: Vec<Problem>,
}

/// Applies every `TEXTGATE_…` variable in `env` to `table`.
pub(crate) fn apply(table: &mut Table, env: &BTreeMap<String, String>) -> Applied {
    let mut applied = Applied::default();
    let exempt = secret_variables(table);
    for (variable, text) in env.range(PREFIX.to_owned()..) {
        let Some(rest) = variable.strip_prefix(PREFIX) else {
            break; // `range` is sorted: past the last TEXTGATE_ variable.
        };
        if COMMAND_VARIABLES.contains(&variable.as_str()) || exempt.contains(variable) {
            continue;
        }
        let result = if let Some(setting) = GLOBAL.iter().find(|s| s.variable == rest) {
            set(table, setting, text, "").map(|()| setting.path.join("."))
        } else if variable.starts_with(GATEWAY_PREFIX) {
            apply_gateway(table, variable, text)
        } else {
            Err(format!(
                "not a textgate setting; the top-level overrides are {}",
                GLOBAL
                    .iter()
                    .map(|s| format!("{PREFIX}{}", s.variable))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        };
        match result {
            Ok(key) => {
                applied.origins.insert(key, variable.clone());
            }
            Err(message) => applied.problems.push(Problem::new(variable, message)),
        }
    }
    applied
}

/// Applies one `TEXTGATE_GATEWAY_…` variable; returns the display key it set.
fn apply_gateway(table: &mut Table, variable: &str, text: &str) -> Result<String, String> {
    let rest = variable.get(GATEWAY_PREFIX.len()..).unwrap_or_default();
    let Some(Value::Array(gateways)) = table.get_mut("gateway") else {
        return Err("the file has no [[gateway]] to override".to_owned());
    };
    let names: Vec<Option<String>> = gateways
        .iter()
        .map(|g| g.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let mut name_matched = false;
    let mut matches = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let Some(name) = name else { continue };
        let Some(key) = rest
            .strip_prefix(&environment_name(name))
            .and_then(|k| k.strip_prefix('_'))
        else {
            continue;
        };
        name_matched = true;
        if let Some(setting) = PER_GATEWAY.iter().find(|s| s.variable == key) {
            matches.push((index, setting));
        }
    }
    match matches.as_slice() {
        [(index, setting)] => {
            let label = gateway_label(*index, names.get(*index).and_then(Option::as_deref));
            let gateway = gateways
                .get_mut(*index)
                .and_then(Value::as_table_mut)
                .ok_or_else(|| format!("{label} is not a table"))?;
            set(gateway, setting, text, &label)?;
            Ok(format!("{label}.{}", setting.path.join(".")))
        }
        [] if name_matched => Err(format!(
            "not a gateway setting that can be overridden; the gateway overrides end in {}",
            PER_GATEWAY
                .iter()
                .map(|s| s.variable)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        [] => Err(format!(
            "no gateway has this name; the gateways' names in variables are {}",
            names
                .iter()
                .flatten()
                .map(|n| environment_name(n))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => Err(
            "matches more than one gateway; rename the gateways so that one's \
                  name is not a prefix of another's"
                .to_owned(),
        ),
    }
}

/// Sets `setting.path` inside `table` to `text` converted to the setting's kind, creating
/// intermediate tables. `label` prefixes the key in messages.
fn set(table: &mut Table, setting: &Setting, text: &str, label: &str) -> Result<(), String> {
    let value = match setting.kind {
        Kind::Text => Value::String(text.to_owned()),
        Kind::Integer => text
            .trim()
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| format!("expected an integer, got {text:?}"))?,
        Kind::List => Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| Value::String(item.to_owned()))
                .collect(),
        ),
        Kind::Boolean => match text.trim() {
            "true" => Value::Boolean(true),
            "false" => Value::Boolean(false),
            _ => return Err(format!("expected true or false, got {text:?}")),
        },
    };
    let Some((last, parents)) = setting.path.split_last() else {
        return Err("empty key path".to_owned());
    };
    let mut current = table;
    let mut shown = label.to_owned();
    for part in parents {
        shown = if shown.is_empty() {
            (*part).to_owned()
        } else {
            format!("{shown}.{part}")
        };
        current = current
            .entry(*part)
            .or_insert_with(|| Value::Table(Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("cannot override: {shown} in the file is not a table"))?;
    }
    current.insert((*last).to_owned(), value);
    Ok(())
}

/// The variables named by `{ env = "…" }` secrets anywhere in the tree.
fn secret_variables(table: &Table) -> BTreeSet<String> {
    fn walk(value: &Value, found: &mut BTreeSet<String>) {
        match value {
            Value::Table(table) => {
                if let (1, Some(Value::String(variable))) = (table.len(), table.get("env")) {
                    found.insert(variable.clone());
                }
                table.values().for_each(|v| walk(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    let mut found = BTreeSet::new();
    table.values().for_each(|v| walk(v, &mut found));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_names() {
        assert_eq!(environment_name("main-desk.2"), "MAIN_DESK_2");
        assert_eq!(environment_name("Library"), "LIBRARY");
    }

    #[test]
    fn list_override_splits_on_commas() {
        let mut table: Table = "[[gateway]]\nname = \"x\"\n".parse().unwrap();
        let env = BTreeMap::from([(
            "TEXTGATE_GATEWAY_X_OPERATORS".to_owned(),
            " a@example.org, ,b@example.org".to_owned(),
        )]);
        let applied = apply(&mut table, &env);
        assert!(applied.problems.is_empty());
        assert_eq!(
            table["gateway"][0]["operators"],
            Value::Array(vec!["a@example.org".into(), "b@example.org".into()])
        );
        assert_eq!(
            applied
                .origins
                .get("gateway[0] (x).operators")
                .map(String::as_str),
            Some("TEXTGATE_GATEWAY_X_OPERATORS")
        );
    }
}
