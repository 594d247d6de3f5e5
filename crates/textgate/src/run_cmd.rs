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
//! Exit statuses: a configuration that cannot be read or is invalid is bad input (2);
//! anything that fails afterwards (the database, the listener, no gateway starting) is a
//! runtime failure (1).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use chrono::TimeDelta;
use textgate_alert_service::{
    AlertService, AlertSettings, CampaignModem, ReceivedTexts, TextGateway, Webhook, WebhookEvent,
};
use textgate_alerts::{BlindIndex, BlindIndexKey, ConfirmationKey, FieldCipher, ModemRate};
use textgate_android_driver::{AndroidApiMode, AndroidConfig, AndroidDriver, SimNumber};
use textgate_core::{AvailabilityRule, BareJid, Region, RoutingPolicy};
use textgate_gateway::{Gateway, GatewaySettings, Hooks, InboundScreen, OutboxPolicy};
use textgate_modem::quirks::{self, ProfileChoice};
use textgate_modem::{
    AtModem, ModemConfig, ModemEvents, PortOpener, SerialDevice, SmsDriver, SmtpConfig,
    SmtpCredentials, SmtpDriver, SmtpSecurity, TcpAddress, Timeouts,
};
use textgate_smpp_driver::SmppConfig;
use textgate_store::{Store, TranscriptPolicy};
use textgate_telemetry::{Metrics, Readiness, SystemdNotifier, DEFAULT_READY_GRACE};
use textgate_web::{CookieSecurity, WebSettings, WebState};
use textgate_xmpp::ComponentConfig;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::{
    process_environment, AndroidDriver as AndroidDriverConfig, AndroidMode, Config, DriverConfig,
    GatewayConfig, LogFormat, Quirks, Routing, Show, SmppBind, SmppDriver as SmppDriverConfig,
    SmppMultipart, SmppPacking, SmtpDriver as SmtpDriverConfig, SmtpTls, Transcripts,
    WebhookReceived, DEFAULT_CONFIG_PATH,
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

/// The alert service's settings from `[alerts]` and the gateways; `None` without
/// `[alerts]`.
pub fn alert_settings(config: &Config) -> anyhow::Result<Option<AlertSettings>> {
    let Some(alerts) = &config.alerts else {
        return Ok(None);
    };
    let ring = alerts.key_ring().context("alerts.encryption_key")?;
    let blind_index = BlindIndexKey::from_encoded(alerts.blind_index_key.expose())
        .context("alerts.blind_index_key")?;
    let confirmation = ConfirmationKey::from_encoded(alerts.confirmation_key.expose())
        .context("alerts.confirmation_key")?;
    let region: Region = match config.gateways.first() {
        Some(gateway) => gateway
            .default_region
            .parse()
            .with_context(|| format!("gateway {}: default_region", gateway.name))?,
        None => bail!("[alerts] needs at least one [[gateway]] to send through"),
    };
    let modems = config
        .gateways
        .iter()
        .map(|g| CampaignModem {
            gateway: g.name.clone(),
            rate: match &g.driver {
                DriverConfig::Smtp(_) => ModemRate::carrier_email(&g.name, g.rate_limit_per_minute),
                // The account's agreed rate, when the configuration gives one.
                DriverConfig::Smpp(smpp) => ModemRate::message_centre(
                    &g.name,
                    smpp.max_per_second
                        .map_or(g.rate_limit_per_minute, |rate| rate.saturating_mul(60)),
                ),
                DriverConfig::At(_) | DriverConfig::Simulator(_) => {
                    ModemRate::new(&g.name, g.rate_limit_per_minute)
                }
                // The phone sends no faster than its pace under Android's allowance.
                DriverConfig::Android(android) => {
                    ModemRate::new(&g.name, g.rate_limit_per_minute.min(android.per_minute))
                }
            },
        })
        .collect();
    // Members choose among the carriers the e-mail gateway knows (several e-mail gateways
    // should share one carrier file; the first one's is offered).
    let carriers = config.gateways.iter().find_map(|g| match &g.driver {
        DriverConfig::Smtp(smtp) => Some((g, smtp)),
        DriverConfig::At(_)
        | DriverConfig::Simulator(_)
        | DriverConfig::Smpp(_)
        | DriverConfig::Android(_) => None,
    });
    let mut settings = AlertSettings::new(
        FieldCipher::new(ring),
        BlindIndex::new(blind_index),
        confirmation,
        region,
        modems,
    );
    settings.compose_limits = alerts.compose_limits();
    settings.approval = match alerts.approval {
        crate::config::ApprovalConfig::OnePerson => textgate_alert_service::Approval::OnePerson,
        crate::config::ApprovalConfig::TwoPerson => textgate_alert_service::Approval::TwoPerson {
            expires_after: chrono::TimeDelta::from_std(alerts.approval_expires_after)
                .context("alerts.approval_expires_after is too long")?,
        },
    };
    settings.text_gateways = text_gateways(config)?;
    settings.webhooks = webhooks(config)?;
    settings.templates = alerts
        .templates
        .iter()
        .map(|t| textgate_alerts::Template {
            name: t.name.clone(),
            title: t.title.clone(),
            text: t.text.clone(),
        })
        .collect();
    settings.email = alerts.email.as_ref().map(|email| {
        relay_config(
            &email.relay,
            email.port,
            email.tls,
            &email.from,
            email.username.as_ref().zip(email.password.as_ref()),
        )
    });
    settings.xmpp = alerts.xmpp.as_ref().map(alerts_xmpp).transpose()?;
    settings.groups = alerts
        .groups
        .iter()
        .map(|g| textgate_alert_service::AlertGroup {
            name: g.name.clone(),
            title: g.title.clone(),
        })
        .collect();
    settings.feed = match &alerts.feed {
        None => None,
        Some(feed) => Some(textgate_alert_service::feeds::FeedSettings {
            url: feed.url.trim_end_matches('/').to_owned(),
            sender: feed.sender.clone(),
            sender_name: feed.sender_name.clone(),
            area: feed.area.clone(),
            language: feed.language.clone(),
            event: feed.event.clone(),
            active_for: chrono::TimeDelta::from_std(feed.active_for)
                .context("alerts.feed.active_for is too long")?,
        }),
    };
    if let Some((gateway, smtp)) = carriers {
        settings.carriers = crate::config::load_carrier_table(&smtp.carriers)
            .with_context(|| format!("gateway {}: driver.carriers", gateway.name))?;
    }
    Ok(Some(settings))
}

/// The `[[webhook]]` sections as the alert service takes them (validated already; a
/// value that still does not convert is reported under its key).
fn webhooks(config: &Config) -> anyhow::Result<Vec<Webhook>> {
    config
        .webhooks
        .iter()
        .map(|w| {
            let events = w
                .events
                .iter()
                .map(|e| {
                    WebhookEvent::parse(e).with_context(|| {
                        format!("webhook {}: events: {e:?} is not an event", w.name)
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let unattended_after = TimeDelta::from_std(w.unattended_after)
                .with_context(|| format!("webhook {}: unattended_after", w.name))?;
            Ok(Webhook {
                name: w.name.clone(),
                url: w.url.clone(),
                secret: w.secret.expose().to_owned(),
                events,
                gateways: w.gateways.clone(),
                received: match w.received {
                    WebhookReceived::Unattended => ReceivedTexts::Unattended,
                    WebhookReceived::All => ReceivedTexts::All,
                },
                unattended_after,
            })
        })
        .collect()
}

/// The gateways the send API may use, each reading numbers and splitting texts as its
/// own section says (as `textgate send` does); the e-mail path reaches only members with
/// a carrier, so it is not one of them.
fn text_gateways(config: &Config) -> anyhow::Result<Vec<TextGateway>> {
    let mut gateways = Vec::new();
    for g in &config.gateways {
        if matches!(g.driver, DriverConfig::Smtp(_)) {
            continue;
        }
        gateways.push(TextGateway {
            name: g.name.clone(),
            region: g
                .default_region
                .parse()
                .with_context(|| format!("gateway {}: default_region", g.name))?,
            segmenter: g.segmenter(),
        });
    }
    Ok(gateways)
}

/// The web console's own settings, from `[http]`.
pub fn web_settings(config: &Config) -> WebSettings {
    WebSettings {
        cookie: if config.http.secure_cookies {
            CookieSecurity::HttpsOnly
        } else {
            CookieSecurity::AllowPlainHttp
        },
        sends_per_minute: config.http.sends_per_minute,
    }
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

async fn start_gateway(
    gateway: &GatewayConfig,
    all: &[GatewayConfig],
    store: &Store,
    hooks: Hooks,
    stop_grace: Duration,
    alerts: Option<&AlertService>,
    phone: Option<(AndroidDriver, ModemEvents)>,
) -> anyhow::Result<Gateway> {
    let mut settings = settings(gateway)?;
    settings.outbox.stop_grace = stop_grace;
    settings.transfer_desks = transfer_desks(gateway, all)?;
    let component = component(gateway, settings.region)?;
    let (driver, events) = match &gateway.driver {
        DriverConfig::Android(_) => {
            let (driver, events) = phone.context("the Android driver was not started")?;
            settings.health_device = "phone".to_owned();
            (Arc::new(driver) as Arc<dyn SmsDriver>, events)
        }
        DriverConfig::Smtp(smtp) => smtp_driver(gateway, smtp, alerts)?,
        DriverConfig::Smpp(smpp) => {
            let config =
                smpp_config(smpp).with_context(|| format!("gateway {}: driver", gateway.name))?;
            let (driver, events) = textgate_smpp_driver::SmppDriver::spawn(config)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("gateway {}: driver", gateway.name))?;
            tracing::info!(gateway = %gateway.name, smsc = %smpp.address, "SMPP driver started");
            (Arc::new(driver) as Arc<dyn SmsDriver>, events)
        }
        DriverConfig::At(_) | DriverConfig::Simulator(_) => {
            let opener = opener(&gateway.driver)?;
            let modem = modem_config(gateway)?;
            let (driver, events) = AtModem::spawn(modem, opener);
            tracing::info!(gateway = %gateway.name, device = driver.device(), "modem driver started");
            (Arc::new(driver) as Arc<dyn SmsDriver>, events)
        }
    };
    Gateway::start_with(settings, store.clone(), driver, events, component, hooks)
        .await
        .map_err(Into::into)
}

/// The legacy e-mail-to-SMS driver of a `kind = "smtp"` gateway. With `[alerts]` it finds
/// each recipient's carrier in the members' registrations (by blind index); without, it
/// refuses every text, since a carrier cannot be guessed from a number.
fn smtp_driver(
    gateway: &GatewayConfig,
    smtp: &SmtpDriverConfig,
    alerts: Option<&AlertService>,
) -> anyhow::Result<(Arc<dyn SmsDriver>, ModemEvents)> {
    let config = smtp_config(smtp, alerts.map(AlertService::settings))
        .with_context(|| format!("gateway {}: driver", gateway.name))?;
    let mut driver =
        SmtpDriver::new(config).with_context(|| format!("gateway {}: driver", gateway.name))?;
    match alerts {
        // The alert service is the directory of the members' carriers.
        Some(alerts) => driver = driver.with_directory(Arc::new(alerts.clone())),
        None => tracing::warn!(
            gateway = %gateway.name,
            "an smtp gateway without [alerts] knows no member's carrier and refuses every text"
        ),
    }
    let driver = Arc::new(driver);
    tracing::info!(gateway = %gateway.name, relay = %format!("{}:{}", smtp.relay, smtp.port), "e-mail-to-SMS driver started (legacy)");
    let events = driver.clone().watch_relay();
    Ok((driver, events))
}

/// The Android driver's settings from a `kind = "android"` section (already validated).
/// Without `webhook_url` the phone is given the daemon's own listener, `listening`, which
/// validation allowed only on loopback (the phone then reaches it through `adb reverse`
/// or the server mode's relay on the same host).
pub fn android_config(
    gateway: &GatewayConfig,
    android: &AndroidDriverConfig,
    listening: SocketAddr,
) -> AndroidConfig {
    let webhook_url = match &android.webhook_url {
        Some(url) => url.clone(),
        None => format!(
            "http://{listening}{}",
            textgate_android_driver::webhook_path(&gateway.name)
        ),
    };
    let mode = match android.mode {
        AndroidMode::Local => AndroidApiMode::Local,
        AndroidMode::Cloud => AndroidApiMode::cloud(),
        AndroidMode::Server => AndroidApiMode::with_prefix(&android.api_path),
    };
    let mut config = AndroidConfig::new(
        &gateway.name,
        &android.url,
        mode,
        &android.username,
        android.password.expose(),
        android.signing_key.expose(),
        &webhook_url,
    );
    config.sim = android.sim.and_then(SimNumber::new);
    config.device_id = android.device_id.clone();
    config.per_minute = android.per_minute;
    config.delivery_reports = android.delivery_reports;
    config.ttl = android.ttl;
    config.send_timeout = android.send_timeout;
    config.poll_interval = android.poll_interval;
    config.offline_after = android.offline_after;
    config
}

/// The SMPP driver's settings from a `kind = "smpp"` section (already validated).
pub fn smpp_config(smpp: &SmppDriverConfig) -> anyhow::Result<SmppConfig> {
    use textgate_smpp_driver::{Address, BindMode, Gsm7Packing, Multipart, TlsSettings};
    let mut config = SmppConfig::new(&smpp.address, &smpp.system_id, smpp.password.expose());
    config.system_type = smpp.system_type.clone();
    config.bind = match smpp.bind {
        SmppBind::Transceiver => BindMode::Transceiver,
        SmppBind::TransmitterReceiver => BindMode::TransmitterReceiver,
    };
    config.tls = smpp.tls.then(|| TlsSettings {
        server_name: smpp.tls_server_name.clone(),
        ca_file: smpp.tls_ca_file.clone(),
    });
    config.window = usize::try_from(smpp.window).context("window")?;
    config.max_per_second = smpp.max_per_second;
    if let Some(source) = &smpp.source_addr {
        let (ton, npi, address) = crate::config::smpp_source(source).map_err(anyhow::Error::msg)?;
        config.source = Address::new(ton, npi, address.into_bytes());
    }
    config.gsm7_packing = match smpp.gsm7_packing {
        SmppPacking::Unpacked => Gsm7Packing::Unpacked,
        SmppPacking::Packed => Gsm7Packing::Packed,
    };
    config.multipart = match smpp.multipart {
        SmppMultipart::Udh => Multipart::Udh,
        SmppMultipart::Sar => Multipart::Sar,
        SmppMultipart::Payload => Multipart::Payload,
    };
    config.registered_delivery = smpp.registered_delivery;
    config.enquire_link_interval = smpp.enquire_link;
    Ok(config)
}

/// An SMTP relay's settings, as both the e-mail-to-SMS driver and the alerts' e-mail
/// copies give them.
fn relay_config(
    relay: &str,
    port: u16,
    tls: SmtpTls,
    from: &str,
    login: Option<(&crate::config::Secret, &crate::config::Secret)>,
) -> SmtpConfig {
    let mut config = SmtpConfig::new(relay, port, from);
    config.security = match tls {
        SmtpTls::Starttls => SmtpSecurity::Starttls,
        SmtpTls::Tls => SmtpSecurity::Tls,
        SmtpTls::None => SmtpSecurity::Plain,
    };
    config.credentials = login.map(|(username, password)| SmtpCredentials {
        username: username.expose().to_owned(),
        password: password.expose().to_owned(),
    });
    config
}

/// The driver's settings from a `kind = "smtp"` section, and the alerts' hard limit on a
/// text's length.
pub fn smtp_config(
    smtp: &SmtpDriverConfig,
    alerts: Option<&AlertSettings>,
) -> anyhow::Result<SmtpConfig> {
    let mut config = relay_config(
        &smtp.relay,
        smtp.port,
        smtp.tls,
        &smtp.from,
        smtp.username.as_ref().zip(smtp.password.as_ref()),
    );
    if let Some(settings) = alerts {
        config.hard_limit = settings.compose_limits.hard_limit;
    }
    Ok(config)
}

/// The desks `gateway`'s librarians may hand conversations to (`transfer_to`): the other
/// gateways' librarians, by gateway name.
fn transfer_desks(
    gateway: &GatewayConfig,
    all: &[GatewayConfig],
) -> anyhow::Result<Vec<textgate_gateway::settings::TransferDesk>> {
    gateway
        .transfer_to
        .iter()
        .map(|name| {
            let other = all.iter().find(|g| &g.name == name).with_context(|| {
                format!(
                    "gateway {}: transfer_to names no gateway {name}",
                    gateway.name
                )
            })?;
            let operators = other
                .operators
                .iter()
                .map(|jid| {
                    BareJid::new(jid).with_context(|| format!("gateway {}: operators", other.name))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(textgate_gateway::settings::TransferDesk {
                name: other.name.clone(),
                display_name: other.display_name.clone(),
                operators,
            })
        })
        .collect()
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
        }))
        .with_away_fallback(gateway.away_fallback);
    settings.claim_collisions = match gateway.claim_collisions {
        crate::config::ClaimCollisions::Allow => textgate_gateway::settings::ClaimCollisions::Allow,
        crate::config::ClaimCollisions::Warn => textgate_gateway::settings::ClaimCollisions::Warn,
        crate::config::ClaimCollisions::Refuse => {
            textgate_gateway::settings::ClaimCollisions::Refuse
        }
    };
    settings.privacy_handles = gateway.privacy_handles;
    settings.notice_placement = match gateway.notices {
        crate::config::NoticePlacement::Gateway => {
            textgate_gateway::settings::NoticePlacement::Gateway
        }
        crate::config::NoticePlacement::Conversation => {
            textgate_gateway::settings::NoticePlacement::Conversation
        }
    };
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
    settings.health_notices = gateway.health.notices;
    settings.health_notice_interval = gateway.health.every;
    settings.signal_below = gateway.health.signal_below_dbm;
    settings.backlog_above = gateway.health.backlog_above;
    settings.health_watchers = watchers(gateway)?;
    settings.health_device = match &gateway.driver {
        DriverConfig::Android(_) => "phone",
        DriverConfig::Smpp(_) => "link to the SMS provider",
        DriverConfig::Smtp(_) => "e-mail relay",
        _ => "modem",
    }
    .to_owned();
    settings.desk = textgate_gateway::settings::DeskSettings {
        hours: gateway
            .desk
            .hours()
            .map_err(|e| anyhow::anyhow!("gateway {}: desk: {e}", gateway.name))?,
        closed_reply: Some(gateway.desk.closed_reply.clone()).filter(|r| !r.is_empty()),
        unattended_reply: gateway.desk.unattended_reply.clone(),
        auto_reply_every: gateway.desk.auto_reply_every,
        keywords: gateway.desk.keywords.clone(),
        mms_reply: gateway.desk.mms_reply.clone(),
        conversation_ends_after: gateway.desk.conversation_ends_after,
        flood_limit: gateway.desk.flood_limit,
        flood_window: gateway.desk.flood_window,
    };
    settings.outbox = OutboxPolicy {
        max_attempts: gateway.outbox.max_attempts,
        initial_backoff: gateway.outbox.initial_backoff,
        max_backoff: gateway.outbox.max_backoff,
        lease: gateway.outbox.lease,
        report_wait: gateway.outbox.report_wait,
        ..OutboxPolicy::default()
    };
    Ok(settings)
}

/// Who hears the health notices besides the operators (`[gateway.health] notify`).
fn watchers(gateway: &GatewayConfig) -> anyhow::Result<Vec<BareJid>> {
    gateway
        .health
        .notify
        .iter()
        .map(|jid| {
            BareJid::new(jid)
                .with_context(|| format!("gateway {}: health.notify {jid:?}", gateway.name))
        })
        .collect()
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
    let mut component = ComponentConfig::new(
        &gateway.domain,
        gateway.secret.expose(),
        &gateway.server,
        operators,
        region,
    );
    component.display_name.clone_from(&gateway.display_name);
    component.watchers = watchers(gateway)?;
    Ok(component)
}

/// `[alerts.xmpp]` as the alert service takes it (checked already by the validation).
fn alerts_xmpp(
    xmpp: &crate::config::AlertXmppConfig,
) -> anyhow::Result<textgate_alert_service::xmpp::XmppChannel> {
    use textgate_core::BareJid;
    let room = match &xmpp.room {
        None => None,
        Some(room) => Some(textgate_xmpp::announcer::StaffRoom {
            room: BareJid::new(room).context("alerts.xmpp.room")?,
            nick: xmpp.nick.clone(),
        }),
    };
    let staff = xmpp
        .staff
        .iter()
        .map(|jid| BareJid::new(jid).context("alerts.xmpp.staff"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(textgate_alert_service::xmpp::XmppChannel {
        announcer: textgate_xmpp::announcer::AnnouncerConfig::new(
            &xmpp.component,
            xmpp.secret.expose(),
            &xmpp.server,
            room,
        ),
        staff,
    })
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
        DriverConfig::Smtp(_) => bail!("an smtp gateway has no port to open"),
        DriverConfig::Smpp(_) => bail!("an smpp gateway has no port to open"),
        DriverConfig::Android(_) => bail!("an android gateway has no port to open"),
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

    /// An e-mail gateway beside a modem: its driver settings from the section and the
    /// carrier file, and its place in campaign plans as the e-mail path.
    #[test]
    fn an_smtp_section_becomes_an_email_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("carriers.toml"),
            "[[carriers]]\nid = \"campus\"\nname = \"Campus Mobile\"\ncountry_code = 1\n\
             sms_domain = \"sms.campus.test\"\nstatus = \"active\"\nnote = \"\"\n",
        )
        .unwrap();
        let text = format!(
            "{CONFIG}
[[gateway]]
name = \"legacy\"
domain = \"mail.library.test\"
secret = \"s3cret\"
operators = [\"alice@library.test\"]
default_region = \"US\"
rate_limit_per_minute = 600

[gateway.driver]
kind = \"smtp\"
relay = \"relay.library.test\"
port = 465
tls = \"tls\"
from = \"alerts@library.test\"
username = \"alerts\"
password = \"pw\"
carriers = \"carriers.toml\"

[alerts]
blind_index_key = \"{a}\"
confirmation_key = \"{b}\"

[alerts.encryption_key]
id = \"2026-01\"
key = \"{c}\"
",
            a = "0123456789abcdef".repeat(4),
            b = "fedcba9876543210".repeat(4),
            c = "00112233445566778899aabbccddeeff".repeat(2),
        );
        let loaded = Config::from_toml(&text, &BTreeMap::new(), "test", dir.path()).unwrap();
        let DriverConfig::Smtp(smtp) = &loaded.config.gateways[1].driver else {
            panic!("an smtp driver")
        };
        let config = smtp_config(smtp, None).unwrap();
        let alerts = alert_settings(&loaded.config).unwrap().unwrap();
        let summary = format!(
            "{}:{} {:?} from {} credentials {:?} hard limit {}\n\
             paths: {:?}\noffered: {:?}\nsingle texts via {:?}",
            config.relay,
            config.port,
            config.security,
            config.from,
            config.credentials,
            config.hard_limit,
            alerts
                .modems
                .iter()
                .map(|m| (m.gateway.as_str(), m.rate.path, m.rate.per_minute))
                .collect::<Vec<_>>(),
            alerts
                .carriers
                .all()
                .iter()
                .map(|c| &c.id)
                .collect::<Vec<_>>(),
            alerts.primary_gateway(),
        );
        expect_test::expect![[r#"
            relay.library.test:465 Tls from alerts@library.test credentials Some(SmtpCredentials { username: "alerts", password: "<hidden>" }) hard limit 140
            paths: [("library", Radio, 20), ("legacy", CarrierEmail, 600)]
            offered: ["campus"]
            single texts via Some("library")"#]].assert_eq(&summary);
    }

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
