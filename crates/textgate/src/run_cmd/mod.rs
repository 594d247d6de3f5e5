//! `textgate run`: the daemon. Loads the configuration, opens the store (applying
//! migrations), builds each gateway's driver and XMPP component from its section, starts
//! the runtime of `textgate_gateway` for each, and stops them all on SIGTERM or SIGINT.
//! It also serves `/metrics`, `/healthz` and `/readyz` on `[http] listen` and tells
//! systemd when every gateway is up (see `textgate_telemetry`). With `[alerts]` it starts
//! the alert service on the daemon's one store, serves the web console on the same
//! listener, lets the service screen received texts (STOP/START/HELP) and tell the e-mail
//! gateways the members' carriers, and starts the service's periodic jobs. Only wiring
//! lives here; what a gateway or the alert service does is their crates' business.
//!
//! This file starts and stops the parts; turning the configuration into each part's
//! settings is split by part, so a section's translation is read beside its siblings:
//! `gateway.rs` (the runtime and the XMPP component of a `[[gateway]]`), `drivers.rs` (its
//! `[gateway.driver]`) and `alerts.rs` (`[alerts]`, `[[webhook]]` and the console).
//!
//! Exit statuses: a configuration that cannot be read or is invalid is bad input (2);
//! anything that fails afterwards (the database, the listener, no gateway starting) is a
//! runtime failure (1).

mod alerts;
mod drivers;
mod gateway;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use textgate_alert_service::AlertService;
use textgate_android_driver::AndroidDriver;
use textgate_gateway::{Gateway, Hooks, InboundScreen};
use textgate_store::Store;
use textgate_telemetry::{Metrics, Readiness, SystemdNotifier, DEFAULT_READY_GRACE};
use textgate_web::WebState;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::{process_environment, Config, DriverConfig, LogFormat, DEFAULT_CONFIG_PATH};
use crate::exit::{ExitStatusExt, Status};

pub use alerts::{alert_settings, web_settings};
pub(crate) use drivers::relay_config;
pub use drivers::{android_config, smpp_config, smtp_config};
use gateway::start_gateway;
pub use gateway::{component, settings};

/// The target of the start-up lines logged from the submodules: the one they had before
/// `run_cmd` was split, which operators' log filters and scrapers may name.
const LOG_TARGET: &str = module_path!();

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
        .map_err(runtime_failure)
}

/// Errors of the running daemon are runtime failures, unless marked otherwise already
/// (the `[alerts]` keys, checked only when the console starts, are configuration).
fn runtime_failure(error: anyhow::Error) -> anyhow::Error {
    if error.chain().any(|e| e.is::<crate::exit::Classified>()) {
        error
    } else {
        crate::exit::mark(Status::Failure, error)
    }
}

/// The daemon's logs as `[log]` says: text for people, or flat JSON lines whose span fields
/// (`inbound`, `outbound`, `stanza`, `slot`, `mr`) let a collector follow one text.
fn init_logging(config: &Config) -> anyhow::Result<()> {
    let format = match config.log.format {
        LogFormat::Text => textgate_telemetry::LogFormat::Text,
        LogFormat::Json => textgate_telemetry::LogFormat::Json,
    };
    match textgate_telemetry::init_logging(format, &config.log.level) {
        // Already initialised (a test harness calling `run` twice) is not an error.
        Ok(()) | Err(textgate_telemetry::LoggingError::AlreadyInstalled) => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "log.level {:?} is not a valid filter",
            config.log.level
        ))),
    }
}

async fn serve(config: Config, shutdown_timeout: Duration) -> anyhow::Result<()> {
    let store = Store::open(config.database.url.expose())
        .await
        .context("opening the database")?;
    // The alert service shares the daemon's one store (and its pool and signals).
    let alerts = match alert_settings(&config).or_exit(Status::BadInput)? {
        Some(settings) => {
            Some(AlertService::new(store.clone(), settings).context("starting the alert service")?)
        }
        None => None,
    };
    // Every configured gateway counts from now, so one that fails to start keeps /readyz
    // at 503 instead of disappearing from the answer.
    let metrics = Metrics::new();
    let readiness = Readiness::new(metrics.clone());
    for gateway in &config.gateways {
        metrics.register_gateway(&gateway.name);
        readiness.register_gateway(&gateway.name);
    }
    let mut app = textgate_telemetry::router(metrics.clone(), readiness.clone());
    if let Some(alerts) = &alerts {
        let console = WebState::new(alerts.clone(), web_settings(&config))
            .context("starting the web console")?;
        app = app.merge(textgate_web::router(console));
    }
    // An Android gateway's driver starts before the listener: the phone posts to an
    // endpoint on it, and a text it posts early waits in the driver's channel for the
    // gateway.
    // The listener is bound first: its address is the webhook URL's default.
    let (listener, address) = bind_http(config.http.listen).await?;
    let mut phones = HashMap::new();
    for gateway in &config.gateways {
        if let DriverConfig::Android(android) = &gateway.driver {
            let (driver, events) = AndroidDriver::spawn(android_config(gateway, android, address));
            app = app.merge(driver.router());
            tracing::info!(gateway = %gateway.name, api = %android.url, "Android driver started");
            phones.insert(gateway.name.clone(), (driver, events));
        }
    }
    let http = serve_http(listener, address, app);
    let mut systemd = SystemdNotifier::spawn(readiness.clone(), DEFAULT_READY_GRACE);
    let hooks = Hooks {
        metrics,
        readiness,
        screen: alerts
            .clone()
            .map(|alerts| Arc::new(alerts) as Arc<dyn InboundScreen>),
    };
    let mut gateways = Vec::new();
    for gateway in &config.gateways {
        let started = start_gateway(
            gateway,
            &config.gateways,
            &store,
            hooks.clone(),
            stop_grace(shutdown_timeout),
            alerts.as_ref(),
            phones.remove(&gateway.name),
        );
        match started.await {
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
    let jobs = alerts.as_ref().map(AlertService::start_jobs);
    tracing::info!(gateways = gateways.len(), "textgate running");
    wait_for_signal().await?;
    tracing::info!("stopping");
    systemd.stopping();
    if let Some(jobs) = jobs {
        jobs.stop();
    }
    let stopping = futures_join(gateways);
    if tokio::time::timeout(shutdown_timeout, stopping)
        .await
        .is_err()
    {
        tracing::warn!(timeout = ?shutdown_timeout, "gateways did not stop in time; exiting anyway");
    }
    // The endpoints answered while the gateways went down; now they stop too.
    http.abort();
    systemd.stop();
    store.close().await;
    Ok(())
}

/// Binds `[http] listen`; an error here, at start-up, names the address.
async fn bind_http(listen: SocketAddr) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (http.listen)"))?;
    let address = listener
        .local_addr()
        .with_context(|| format!("cannot listen on {listen} (http.listen)"))?;
    Ok((listener, address))
}

/// Serves the endpoints and, with `[alerts]`, the web console, which needs each client's
/// address.
fn serve_http(listener: TcpListener, address: SocketAddr, app: axum::Router) -> JoinHandle<()> {
    tracing::info!(%address, "http listening");
    tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(e) = axum::serve(listener, service).await {
            tracing::error!(%address, error = %e, "the HTTP listener stopped");
        }
    })
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

/// How long a reply's part already with the modem may take to finish when the daemon
/// stops: half the shutdown timeout, so the other half is left for giving the reply back
/// to the outbox (a slow database) and closing the XMPP streams.
fn stop_grace(shutdown_timeout: Duration) -> Duration {
    shutdown_timeout / 2
}

/// A modem gateway's section, the starting point of the unit tests' configurations.
#[cfg(test)]
const MODEM_GATEWAY: &str = r#"
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
