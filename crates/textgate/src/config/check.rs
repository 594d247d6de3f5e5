//! `textgate check-config`: loads the configuration exactly as the daemon would, without
//! opening the database, the XMPP connections or the modems, and prints a summary or every
//! problem found. With `--connect` it then reaches each of them too (see [`super::connect`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::exit::{ExitStatusExt as _, Status};

use super::{Config, DriverConfig, GatewayConfig, DEFAULT_CONFIG_PATH};

/// Arguments of `textgate check-config`.
#[derive(Debug, clap::Args)]
pub struct CheckConfigArgs {
    /// The configuration file.
    #[arg(long, short, value_name = "PATH", env = "TEXTGATE_CONFIG", default_value = DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
    /// Also reach the database, each XMPP server (completing the component handshake) and
    /// each modem, changing nothing; exit status 1 when one cannot be reached.
    #[arg(long)]
    pub connect: bool,
}

/// The process environment as the map [`Config::load`] takes. Variables whose name or
/// value is not UTF-8 cannot be textgate settings and are left out.
pub fn process_environment() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect()
}

/// Runs `check-config`: the summary on stdout, warnings on stderr, and an error listing
/// every problem when the configuration is not usable.
pub fn run_check_config(args: &CheckConfigArgs) -> anyhow::Result<()> {
    let loaded = Config::load(&args.config, &process_environment())?;
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    print!("{}", loaded.config.summary(&args.config));
    if args.connect {
        connect_all(&loaded.config)?;
    }
    Ok(())
}

/// `--connect`: every unreachable thing on one line each, under one exit status 1 error.
fn connect_all(config: &Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .or_exit(Status::Failure)?;
    // The daemon resolves a relative SQLite path against its working directory; so does
    // this check (an empty base leaves the path as the user wrote it in messages).
    let failures = runtime.block_on(super::connect::reach_everything(config, Path::new("")));
    if failures.is_empty() {
        println!("connections: database, XMPP servers and modems reached");
        return Ok(());
    }
    let mut message = format!("{} failed:", plural(failures.len()));
    for failure in &failures {
        let _ = write!(message, "\n  {failure}");
    }
    Err(crate::exit::mark(Status::Failure, anyhow::anyhow!(message)))
}

fn plural(count: usize) -> String {
    match count {
        1 => "1 connection check".to_owned(),
        n => format!("{n} connection checks"),
    }
}

impl Config {
    /// A short human summary: what would run, never a secret.
    pub fn summary(&self, path: &Path) -> String {
        let mut out = String::new();
        let database = match self.database.url.expose() {
            url if url.starts_with("sqlite:") => "SQLite",
            _ => "PostgreSQL",
        };
        let _ = writeln!(out, "{}: OK", path.display());
        let _ = writeln!(
            out,
            "database: {database}; http: {}; log: {} at {}",
            self.http.listen,
            spelling(&self.log.format),
            self.log.level
        );
        match &self.alerts {
            Some(alerts) => {
                let _ = writeln!(
                    out,
                    "alerts: on, encryption key {} ({} retired); texts up to {} characters",
                    alerts.encryption_key.id,
                    alerts.retired_keys.len(),
                    alerts.hard_limit
                );
            }
            None => {
                let _ = writeln!(out, "alerts: off");
            }
        }
        let _ = writeln!(out, "{} gateway(s):", self.gateways.len());
        for gateway in &self.gateways {
            let _ = writeln!(out, "  {}", gateway_summary(gateway));
        }
        if !self.webhooks.is_empty() {
            let _ = writeln!(out, "{} webhook(s):", self.webhooks.len());
            for webhook in &self.webhooks {
                let _ = writeln!(
                    out,
                    "  {} -> {}: {}",
                    webhook.name,
                    webhook.url,
                    webhook.events.join(", ")
                );
            }
        }
        out
    }
}

fn gateway_summary(gateway: &GatewayConfig) -> String {
    let driver = match &gateway.driver {
        DriverConfig::At(modem) => {
            let port = match (&modem.device, &modem.address) {
                (Some(device), _) => device.display().to_string(),
                (None, Some(address)) => format!("tcp {address}"),
                (None, None) => "?".to_owned(),
            };
            format!("AT modem on {port} (quirks {})", spelling(&modem.quirks))
        }
        DriverConfig::Simulator(simulator) => match &simulator.address {
            Some(address) => format!("simulator at {address}"),
            None => "simulator (spawned)".to_owned(),
        },
        DriverConfig::Smtp(smtp) => format!("e-mail to SMS via {}:{}", smtp.relay, smtp.port),
        DriverConfig::Smpp(smpp) => format!(
            "SMPP {} to {}{} as {}, window {}{}",
            spelling(&smpp.bind),
            smpp.address,
            if smpp.tls { " over TLS" } else { "" },
            smpp.system_id,
            smpp.window,
            smpp.max_per_second
                .map(|rate| format!(", at most {rate}/s"))
                .unwrap_or_default(),
        ),
        DriverConfig::Android(android) => format!(
            "Android phone (SMSGate app, {} mode) at {}, at most {} SMS a minute{}",
            spelling(&android.mode),
            android.url,
            android.per_minute,
            android
                .sim
                .map(|sim| format!(", SIM {sim}"))
                .unwrap_or_default(),
        ),
    };
    format!(
        "{} ({}) via {}: {driver}; region {}; routing {}; transcripts {}; operators {}",
        gateway.name,
        gateway.domain,
        gateway.server,
        gateway.default_region,
        spelling(&gateway.routing),
        spelling(&gateway.transcripts),
        gateway.operators.join(", ")
    )
}

/// How a keyword value is spelt in the file (`claim`, not `Claim`).
fn spelling<T: serde::Serialize>(value: &T) -> String {
    match toml::Value::try_from(value) {
        Ok(toml::Value::String(word)) => word,
        _ => "?".to_owned(),
    }
}
