//! A `[gateway.driver]` section as its driver takes it: the modem's port and settings, the
//! SMPP account, the Android phone's API and the e-mail relay (whose settings the alerts'
//! e-mail copies share). Apart from the gateway's own settings because each driver
//! crate has its own vocabulary to translate into.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{bail, Context};
use textgate_alert_service::{AlertService, AlertSettings};
use textgate_android_driver::{AndroidApiMode, AndroidConfig, SimNumber};
use textgate_modem::quirks::{self, ProfileChoice};
use textgate_modem::{
    ModemConfig, ModemEvents, PortOpener, SerialDevice, SmsDriver, SmtpConfig, SmtpCredentials,
    SmtpDriver, SmtpSecurity, TcpAddress, Timeouts,
};
use textgate_smpp_driver::SmppConfig;

use super::LOG_TARGET;
use crate::config::{
    AndroidDriver as AndroidDriverConfig, AndroidMode, DriverConfig, GatewayConfig, Quirks,
    SmppBind, SmppDriver as SmppDriverConfig, SmppMultipart, SmppPacking,
    SmtpDriver as SmtpDriverConfig, SmtpTls,
};

/// The legacy e-mail-to-SMS driver of a `kind = "smtp"` gateway. With `[alerts]` it finds
/// each recipient's carrier in the members' registrations (by blind index); without, it
/// refuses every text, since a carrier cannot be guessed from a number.
pub(super) fn smtp_driver(
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
            target: LOG_TARGET,
            gateway = %gateway.name,
            "an smtp gateway without [alerts] knows no member's carrier and refuses every text"
        ),
    }
    let driver = Arc::new(driver);
    tracing::info!(target: LOG_TARGET, gateway = %gateway.name, relay = %format!("{}:{}", smtp.relay, smtp.port), "e-mail-to-SMS driver started (legacy)");
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
pub(crate) fn relay_config(
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

pub(super) fn opener(driver: &DriverConfig) -> anyhow::Result<Box<dyn PortOpener>> {
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

pub(super) fn modem_config(gateway: &GatewayConfig) -> anyhow::Result<ModemConfig> {
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
