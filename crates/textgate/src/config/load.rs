//! Reading a configuration: TOML text → raw table → overrides → typed sections →
//! validation, collecting every problem under the key it is about.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::{Table, Value};

use super::{
    env, validate, AlertsConfig, AtDriver, Config, DatabaseConfig, GatewayConfig, HttpConfig,
    LogConfig, SimulatorDriver, SmppDriver, SmtpDriver, WebhookConfig,
};

/// One thing wrong (or, as a warning, doubtful) in a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key path, e.g. `gateway[1] (campus).driver.device`, or the environment
    /// variable the problem is about.
    pub key: String,
    /// What is wrong, in the user's terms.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("cannot read configuration file {}: {reason}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why. Not a `#[source]`: the message already says it, and error chains would
        /// repeat it.
        reason: std::io::Error,
    },
    /// The file is not TOML.
    #[error("{origin} is not valid TOML: {message}")]
    Syntax {
        /// The file (or the name given to a string).
        origin: String,
        /// The TOML parser's message, with line and column.
        message: String,
    },
    /// The file is TOML but its content is wrong; every problem found is listed.
    #[error("{origin} has {}:{}", count(problems.len()), list(problems))]
    Invalid {
        /// The file (or the name given to a string).
        origin: String,
        /// Each problem, naming its key.
        problems: Vec<Problem>,
    },
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 error".to_owned()
    } else {
        format!("{n} errors")
    }
}

fn list(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("\n  {p}")).collect()
}

/// A loaded configuration and the doubts worth telling the administrator about.
#[derive(Debug)]
pub struct Loaded {
    /// The validated configuration; every secret is resolved.
    pub config: Config,
    /// Things that are allowed but probably not intended (a device that is not plugged in,
    /// an unstable `/dev/ttyUSB0` path, ...).
    pub warnings: Vec<Problem>,
}

impl Config {
    /// Reads, overrides, validates and resolves the configuration at `path`. `env` is the
    /// environment (`std::env::vars()` in the daemon; see
    /// [`process_environment`](super::process_environment)). Relative paths in the file
    /// (secret files, the carrier table) are relative to the file's directory.
    pub fn load(path: &Path, env: &BTreeMap<String, String>) -> Result<Loaded, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|reason| ConfigError::Read {
            path: path.to_owned(),
            reason,
        })?;
        let base_dir = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(&text, env, &path.display().to_string(), base_dir)
    }

    /// Like [`Config::load`] for text already in memory; `origin` names it in errors and
    /// `base_dir` anchors relative paths.
    pub fn from_toml(
        text: &str,
        env: &BTreeMap<String, String>,
        origin: &str,
        base_dir: &Path,
    ) -> Result<Loaded, ConfigError> {
        let mut table: Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Syntax {
                origin: origin.to_owned(),
                message: e.to_string().trim_end().to_owned(),
            })?;
        let applied = env::apply(&mut table, env);
        let mut problems = applied.problems;
        let (mut sections, section_problems) = Sections::deserialize(table);
        problems.extend(section_problems);
        let warnings = validate::validate(&mut sections, env, base_dir, &mut problems);
        for problem in &mut problems {
            annotate_origin(problem, &applied.origins);
        }
        if !problems.is_empty() {
            return Err(ConfigError::Invalid {
                origin: origin.to_owned(),
                problems,
            });
        }
        let config = Config {
            database: sections.database.unwrap_or_default(),
            http: sections.http.unwrap_or_default(),
            log: sections.log.unwrap_or_default(),
            alerts: sections.alerts,
            gateways: sections.gateways.into_iter().map(|(_, g)| g).collect(),
            webhooks: sections.webhooks.into_iter().map(|(_, w)| w).collect(),
        };
        Ok(Loaded { config, warnings })
    }
}

/// Says which variable set a key, when a problem is about an overridden key.
fn annotate_origin(problem: &mut Problem, origins: &BTreeMap<String, String>) {
    let origin = origins.iter().find(|(key, _)| {
        problem.key == **key
            || problem
                .key
                .strip_prefix(key.as_str())
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    });
    if let Some((_, variable)) = origin {
        problem.message = format!("{} (set by {variable})", problem.message);
    }
}

/// The label of the `index`th gateway in key paths: `gateway[1] (campus)`.
pub(crate) fn gateway_label(index: usize, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("gateway[{index}] ({name})"),
        None => format!("gateway[{index}]"),
    }
}

/// The label of the `index`th webhook in key paths: `webhook[0] (ils)`.
pub(crate) fn webhook_label(index: usize, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("webhook[{index}] ({name})"),
        None => format!("webhook[{index}]"),
    }
}

/// The sections that deserialised; a section that failed is `None` (or missing from
/// `gateways`) and its problem is reported instead.
pub(crate) struct Sections {
    pub database: Option<DatabaseConfig>,
    pub http: Option<HttpConfig>,
    pub log: Option<LogConfig>,
    pub alerts: Option<AlertsConfig>,
    /// Each gateway with its index in the file, so labels stay right when one failed.
    pub gateways: Vec<(usize, GatewayConfig)>,
    /// Whether the file has a `gateway` key at all.
    pub gateway_key_present: bool,
    /// Each webhook with its index in the file.
    pub webhooks: Vec<(usize, WebhookConfig)>,
}

impl Sections {
    /// Deserialises each section separately so that one section's mistake does not hide
    /// another's.
    fn deserialize(table: Table) -> (Self, Vec<Problem>) {
        let mut problems = Vec::new();
        let mut sections = Sections {
            database: None,
            http: None,
            log: None,
            alerts: None,
            gateways: Vec::new(),
            gateway_key_present: false,
            webhooks: Vec::new(),
        };
        let mut gateway_values = Vec::new();
        for (key, value) in table {
            match key.as_str() {
                "database" => {
                    sections.database = keep(deserialize_at(value, "database"), &mut problems)
                }
                "http" => sections.http = keep(deserialize_at(value, "http"), &mut problems),
                "log" => sections.log = keep(deserialize_at(value, "log"), &mut problems),
                "alerts" => sections.alerts = keep(deserialize_at(value, "alerts"), &mut problems),
                "gateway" => {
                    sections.gateway_key_present = true;
                    match value {
                        Value::Array(items) => gateway_values = items,
                        _ => {
                            problems.push(Problem::new(
                                "gateway",
                                "gateways are written as [[gateway]] blocks (an array of tables)",
                            ));
                        }
                    }
                }
                "webhook" => match value {
                    Value::Array(items) => {
                        for (index, item) in items.into_iter().enumerate() {
                            let name = item.get("name").and_then(Value::as_str).map(str::to_owned);
                            let label = webhook_label(index, name.as_deref());
                            if let Some(webhook) = keep(deserialize_at(item, &label), &mut problems)
                            {
                                sections.webhooks.push((index, webhook));
                            }
                        }
                    }
                    _ => problems.push(Problem::new(
                        "webhook",
                        "webhooks are written as [[webhook]] blocks (an array of tables)",
                    )),
                },
                _ => {
                    problems.push(Problem::new(
                        key,
                        "unknown key; the top level has `database`, `http`, `log`, `alerts`, \
                         `[[gateway]]` and `[[webhook]]`",
                    ));
                }
            }
        }
        for (index, value) in gateway_values.into_iter().enumerate() {
            let name = value.get("name").and_then(Value::as_str).map(str::to_owned);
            let label = gateway_label(index, name.as_deref());
            let driver = value.get("driver").cloned();
            match deserialize_at::<GatewayConfig>(value, &label) {
                Ok(gateway) => sections.gateways.push((index, gateway)),
                Err(mut problem) => {
                    // Errors inside the `kind`-tagged driver table lose their path in
                    // serde; find the exact key by deserialising the chosen kind alone.
                    let driver_key = format!("{label}.driver");
                    if problem.key == driver_key {
                        if let Some(exact) = driver.and_then(|d| driver_problem(d, &driver_key)) {
                            problem = exact;
                        }
                    }
                    problems.push(problem);
                }
            }
        }
        (sections, problems)
    }
}

/// The value, or `None` with the problem recorded.
fn keep<T>(result: Result<T, Problem>, problems: &mut Vec<Problem>) -> Option<T> {
    result.map_err(|problem| problems.push(problem)).ok()
}

/// Deserialises `value`, reporting a failure under `prefix` joined with the path inside it.
fn deserialize_at<T: DeserializeOwned>(value: Value, prefix: &str) -> Result<T, Problem> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let inner = error.path().to_string();
        let key = match inner.as_str() {
            "." => prefix.to_owned(),
            _ if inner.starts_with('[') => format!("{prefix}{inner}"),
            _ => format!("{prefix}.{inner}"),
        };
        Problem::new(key, error.into_inner().message().trim_end().to_owned())
    })
}

/// The exact problem inside a driver table whose `kind` is known, or `None` if
/// deserialising it alone succeeds (the original message then stands).
fn driver_problem(driver: Value, key: &str) -> Option<Problem> {
    let Value::Table(mut table) = driver else {
        return None;
    };
    let kind = table.remove("kind")?;
    let value = Value::Table(table);
    match kind.as_str()? {
        "at" => deserialize_at::<AtDriver>(value, key).err(),
        "simulator" => deserialize_at::<SimulatorDriver>(value, key).err(),
        "smtp" => deserialize_at::<SmtpDriver>(value, key).err(),
        "smpp" => deserialize_at::<SmppDriver>(value, key).err(),
        _ => None,
    }
}
