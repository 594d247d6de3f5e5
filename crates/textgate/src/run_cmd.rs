//! `textgate run`: the daemon. Loads the configuration, opens the store (applying
//! migrations), builds each gateway's driver and XMPP component from its section, starts
//! the runtime of `textgate_gateway` for each, and stops them all on SIGTERM or SIGINT.
//! It also serves `/metrics`, `/healthz` and `/readyz` on `[http] listen` and tells
//! systemd when every gateway is up (see `textgate_telemetry`). Only wiring lives here;
//! what a gateway does is the gateway crate's business.
//!
//! Exit statuses: a configuration that cannot be read or is invalid is bad input (2);
//! anything that fails afterwards (the database, the listener, no gateway starting) is a
//! runtime failure (1).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use textgate_core::{AvailabilityRule, BareJid, Region, RoutingPolicy};
use textgate_gateway::{Gateway, GatewaySettings, Hooks, OutboxPolicy};
use textgate_modem::quirks::{self, ProfileChoice};
use textgate_modem::{AtModem, ModemConfig, PortOpener, SerialDevice, TcpAddress, Timeouts};
use textgate_store::{Store, TranscriptPolicy};
use textgate_telemetry::{Telemetry, DEFAULT_READY_GRACE};
use textgate_xmpp::ComponentConfig;

use crate::config::{
    process_environment, Config, DriverConfig, GatewayConfig, LogFormat, Quirks, Routing, Show,
    Transcripts, DEFAULT_CONFIG_PATH,
};
use crate::exit::{ExitStatusExt, Status};

/// Arguments of `textgate run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The configuration file.
    #[arg(long, short, value_name = "PATH", env = "TEXTGATE_CONFIG", default_value = DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
    /// How long the gateways may take to stop after SIGTERM or SIGINT before the daemon
    /// exits anyway, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub shutdown_timeout: u64,
}

/// Runs the daemon until a signal asks it to stop.
pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    let loaded = Config::load(&args.config, &process_environment()).or_exit(Status::BadInput)?;
    init_logging(&loaded.config).or_exit(Status::BadInput)?;
    for warning in &loaded.warnings {
        tracing::warn!(%warning, "configuration");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .or_exit(Status::Failure)?;
    runtime
        .block_on(serve(
            loaded.config,
            Duration::from_secs(args.shutdown_timeout),
        ))
        .or_exit(Status::Failure)
}

fn init_logging(config: &Config) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.level)
        .with_context(|| format!("log.level {:?} is not a valid filter", config.log.level))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let result = match config.log.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    // Already initialised (a test harness calling `run` twice) is not an error.
    let _ = result;
    Ok(())
}

async fn serve(config: Config, shutdown_timeout: Duration) -> anyhow::Result<()> {
    let store = Store::open(config.database.url.expose())
        .await
        .context("opening the database")?;
    let mut telemetry = Telemetry::start(
        config.http.listen,
        config.gateways.iter().map(|g| g.name.as_str()),
        DEFAULT_READY_GRACE,
    )
    .await?;
    tracing::info!(address = %telemetry.http_address(), "http listening");
    let hooks = Hooks {
        metrics: telemetry.metrics.clone(),
        readiness: telemetry.readiness.clone(),
    };
    let mut gateways = Vec::new();
    for gateway in &config.gateways {
        match start_gateway(gateway, &store, hooks.clone()).await {
            Ok(running) => gateways.push(running),
            // One gateway's trouble must not keep the others from serving.
            Err(e) => {
                tracing::error!(gateway = %gateway.name, error = format!("{e:#}"), "gateway not started")
            }
        }
    }
    if gateways.is_empty() {
        bail!("no gateway could be started");
    }
    tracing::info!(gateways = gateways.len(), "textgate running");
    wait_for_signal().await?;
    tracing::info!("stopping");
    telemetry.stopping();
    let stopping = futures_join(gateways);
    if tokio::time::timeout(shutdown_timeout, stopping)
        .await
        .is_err()
    {
        tracing::warn!(timeout = ?shutdown_timeout, "gateways did not stop in time; exiting anyway");
    }
    store.close().await;
    drop(telemetry);
    Ok(())
}

async fn futures_join(gateways: Vec<Gateway>) {
    let tasks: Vec<_> = gateways
        .into_iter()
        .map(|g| tokio::spawn(g.shutdown()))
        .collect();
    for task in tasks {
        let _ = task.await;
    }
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
    Ok(())
}

async fn start_gateway(
    gateway: &GatewayConfig,
    store: &Store,
    hooks: Hooks,
) -> anyhow::Result<Gateway> {
    let settings = settings(gateway)?;
    let component = component(gateway, settings.region)?;
    let opener = opener(&gateway.driver)?;
    let modem = modem_config(gateway)?;
    let (driver, events) = AtModem::spawn(modem, opener);
    tracing::info!(gateway = %gateway.name, device = driver.device(), "modem driver started");
    Gateway::start_with(
        settings,
        store.clone(),
        Arc::new(driver),
        events,
        component,
        hooks,
    )
    .await
    .map_err(Into::into)
}

/// The runtime's settings from a `[[gateway]]` section.
pub fn settings(gateway: &GatewayConfig) -> anyhow::Result<GatewaySettings> {
    let region: Region = gateway
        .default_region
        .parse()
        .with_context(|| format!("gateway {}: default_region", gateway.name))?;
    let mut settings = GatewaySettings::new(&gateway.name, &gateway.domain, region);
    settings.availability =
        AvailabilityRule::new(gateway.available_shows.iter().map(|s| match s {
            Show::Chat => textgate_core::Show::Chat,
            Show::Available => textgate_core::Show::Online,
            Show::Away => textgate_core::Show::Away,
            Show::Xa => textgate_core::Show::Xa,
            Show::Dnd => textgate_core::Show::Dnd,
        }));
    settings.routing = match gateway.routing {
        Routing::Claim => RoutingPolicy::FirstReplyClaims,
        Routing::Broadcast => RoutingPolicy::Broadcast,
    };
    settings.max_parts = gateway.max_parts;
    settings.multipart_notice = match &gateway.notice_multipart {
        crate::config::MultipartNotice::Off => None,
        crate::config::MultipartNotice::Template(t) => Some(t.clone()),
    };
    settings.transcripts = match gateway.transcripts {
        Transcripts::Off => TranscriptPolicy::EraseOnDelivery,
        Transcripts::On => TranscriptPolicy::Keep,
    };
    settings.call_auto_reply = gateway.call_auto_reply.clone();
    settings.outbox = OutboxPolicy {
        max_attempts: gateway.outbox.max_attempts,
        initial_backoff: gateway.outbox.initial_backoff,
        max_backoff: gateway.outbox.max_backoff,
        ..OutboxPolicy::default()
    };
    Ok(settings)
}

/// The XMPP component's settings from a `[[gateway]]` section.
pub fn component(gateway: &GatewayConfig, region: Region) -> anyhow::Result<ComponentConfig> {
    let operators = gateway
        .operators
        .iter()
        .map(|o| {
            BareJid::new(o).with_context(|| format!("gateway {}: operator {o:?}", gateway.name))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(ComponentConfig::new(
        &gateway.domain,
        gateway.secret.expose(),
        &gateway.server,
        operators,
        region,
    ))
}

fn opener(driver: &DriverConfig) -> anyhow::Result<Box<dyn PortOpener>> {
    match driver {
        DriverConfig::At(at) => match (&at.device, &at.address) {
            (Some(device), _) => Ok(Box::new(SerialDevice {
                path: device.display().to_string(),
                baud_rate: at.baud,
            })),
            (None, Some(address)) => Ok(Box::new(TcpAddress(address.clone()))),
            (None, None) => bail!("the AT driver needs a device or an address"),
        },
        DriverConfig::Simulator(sim) => match &sim.address {
            Some(address) => Ok(Box::new(TcpAddress(address.clone()))),
            None => bail!(
                "a simulator started inside the daemon (spawn = true) is not supported by \
                 `textgate run` yet; start textgate-modemsim --tcp and set driver.address"
            ),
        },
        DriverConfig::Smtp(_) => {
            bail!("the smtp driver sends alerts only and is not run by `textgate run` yet")
        }
    }
}

fn modem_config(gateway: &GatewayConfig) -> anyhow::Result<ModemConfig> {
    let mut modem = ModemConfig {
        name: gateway.name.clone(),
        ..ModemConfig::default()
    };
    if let DriverConfig::At(at) = &gateway.driver {
        modem.pin = at.pin.as_ref().map(|p| p.expose().to_owned());
        modem.smsc = at.smsc.clone();
        modem.profile = match at.quirks {
            Quirks::Auto => ProfileChoice::Detect,
            other => {
                let name = format!("{other:?}").to_lowercase();
                let profile = quirks::by_name(&name)
                    .with_context(|| format!("gateway {}: unknown quirks {name}", gateway.name))?;
                ProfileChoice::Fixed(profile)
            }
        };
        modem.timeouts = Timeouts {
            network: at.send_timeout,
            ..Timeouts::default()
        };
    }
    Ok(modem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::Path;

    const CONFIG: &str = r#"
[[gateway]]
name = "library"
domain = "sms.library.test"
secret = "s3cret"
server = "127.0.0.1:5347"
operators = ["alice@library.test", "bob@library.test"]
available_shows = ["available", "away"]
routing = "broadcast"
default_region = "GB"
max_parts = 3
notice_multipart = "({parts} texts)"
transcripts = "on"
call_auto_reply = "Texts only, please."

[gateway.outbox]
max_attempts = 2
initial_backoff = "1s"
max_backoff = "4s"

[gateway.driver]
kind = "at"
address = "127.0.0.1:7001"
quirks = "quectel"
send_timeout = "30s"
"#;

    #[test]
    fn a_gateway_section_becomes_runtime_settings() {
        let loaded = Config::from_toml(CONFIG, &BTreeMap::new(), "test", Path::new(".")).unwrap();
        let gateway = &loaded.config.gateways[0];
        let settings = settings(gateway).unwrap();
        let component = component(gateway, settings.region).unwrap();
        let modem = modem_config(gateway).unwrap();
        let summary = format!(
            "{} {} {} routing={:?} max_parts={} notice={:?} transcripts={:?} auto_reply={:?}\n\
             outbox={:?}\navailable: online={} away={} chat={}\n\
             component: {} {} operators={:?}\nmodem: {:?} network timeout={:?} device={}",
            settings.name,
            settings.domain,
            settings.region,
            settings.routing,
            settings.max_parts,
            settings.multipart_notice(2),
            settings.transcripts,
            settings.call_auto_reply,
            (
                settings.outbox.max_attempts,
                settings.outbox.initial_backoff,
                settings.outbox.max_backoff
            ),
            settings
                .availability
                .counts_as_available(textgate_core::Show::Online),
            settings
                .availability
                .counts_as_available(textgate_core::Show::Away),
            settings
                .availability
                .counts_as_available(textgate_core::Show::Chat),
            component.domain,
            component.server,
            component
                .operators
                .iter()
                .map(|o| o.as_str())
                .collect::<Vec<_>>(),
            match modem.profile {
                ProfileChoice::Fixed(p) => p.name,
                ProfileChoice::Detect => "detect",
            },
            modem.timeouts.network,
            opener(&gateway.driver).unwrap().describe(),
        );
        expect_test::expect![[r#"
            library sms.library.test GB routing=Broadcast max_parts=3 notice=Some("(2 texts)") transcripts=Keep auto_reply=Some("Texts only, please.")
            outbox=(2, 1s, 4s)
            available: online=true away=true chat=false
            component: sms.library.test 127.0.0.1:5347 operators=["alice@library.test", "bob@library.test"]
            modem: "quectel" network timeout=30s device=tcp://127.0.0.1:7001"#]].assert_eq(&summary);
    }
}
