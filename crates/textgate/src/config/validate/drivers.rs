//! `[gateway.driver]`, one arm per `kind`, and the Android check that needs `[http]`
//! too: whether the phone can reach textgate's webhooks depends on where it listens.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use super::{host_port, Checker};
use crate::config::load::gateway_label;
use crate::config::{
    load_carrier_table, smpp_source, AndroidDriver, AndroidMode, DriverConfig, GatewayConfig,
};

/// Where stable serial device names live; `/dev/ttyUSB0` can change between boots.
const STABLE_DEVICE_DIR: &str = "/dev/serial/by-id/";

/// Line speeds a serial port accepts.
const BAUD_RATES: &[u32] = &[
    1200, 2400, 4800, 9600, 19_200, 38_400, 57_600, 115_200, 230_400, 460_800, 921_600,
];

impl Checker<'_> {
    pub(super) fn driver(
        &mut self,
        at: &str,
        name: &str,
        driver: &mut DriverConfig,
        env: &BTreeMap<String, String>,
        base_dir: &Path,
    ) {
        let key = |field: &str| format!("{at}.{field}");
        match driver {
            DriverConfig::At(modem) => {
                match (&modem.device, &modem.address) {
                    (Some(_), Some(_)) => self.error(
                        at,
                        "set either `device` (a serial port) or `address` (TCP), not both",
                    ),
                    (None, None) => self.error(
                        at,
                        "set `device` (a serial port) or `address` (host:port of a TCP modem)",
                    ),
                    (Some(device), None) => {
                        // A missing device is only a warning: modems get unplugged, and the
                        // driver keeps reopening the port, so the other gateways should
                        // still start.
                        if !device.exists() {
                            self.warning(
                                key("device"),
                                format!(
                                    "{} does not exist (yet); the daemon will keep \
                                     trying to open it",
                                    device.display()
                                ),
                            );
                        }
                        // `Path::starts_with` compares whole components, `ttyUSB0` is not `tty`.
                        if device.to_string_lossy().starts_with("/dev/tty") {
                            self.warning(
                                key("device"),
                                format!(
                                    "{} can name another device after a reboot; \
                                     prefer its {STABLE_DEVICE_DIR}… name",
                                    device.display()
                                ),
                            );
                        }
                    }
                    (None, Some(address)) => {
                        if let Err(message) = host_port(address) {
                            self.error(key("address"), message);
                        }
                    }
                }
                if !BAUD_RATES.contains(&modem.baud) {
                    self.error(
                        key("baud"),
                        format!(
                            "{} is not a serial line speed; use one of {}",
                            modem.baud,
                            BAUD_RATES
                                .iter()
                                .map(u32::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
                if let Some(pin) = &mut modem.pin {
                    self.secret(&key("pin"), pin, env, base_dir);
                    let digits = pin.expose();
                    let well_formed = (4..=8).contains(&digits.len())
                        && digits.bytes().all(|b| b.is_ascii_digit());
                    if pin.is_resolved() && !well_formed {
                        self.error(key("pin"), "a SIM PIN is 4 to 8 digits");
                    }
                }
                if let Some(smsc) = &modem.smsc {
                    let digits = smsc.strip_prefix('+').unwrap_or(smsc);
                    if !(3..=15).contains(&digits.len())
                        || !digits.bytes().all(|b| b.is_ascii_digit())
                    {
                        self.error(
                            key("smsc"),
                            format!(
                                "{smsc:?} is not a phone number; write the service centre \
                                 in international form, e.g. \"+447785016005\""
                            ),
                        );
                    }
                }
                if modem.send_timeout.is_zero() {
                    self.error(key("send_timeout"), "must be longer than 0s");
                }
            }
            DriverConfig::Simulator(simulator) => match (&simulator.address, simulator.spawn) {
                (Some(_), true) => self.error(
                    at,
                    "set either `address` (a running simulator) or `spawn = true`, not both",
                ),
                (None, false) => self.error(
                    at,
                    "set `address` (host:port of a running textgate-modemsim) or `spawn = true`",
                ),
                (Some(address), false) => {
                    if let Err(message) = host_port(address) {
                        self.error(key("address"), message);
                    }
                }
                (None, true) => {}
            },
            DriverConfig::Smtp(smtp) => {
                if smtp.relay.is_empty() || smtp.relay.contains([':', '/', ' ']) {
                    self.error(
                        key("relay"),
                        format!(
                            "{:?} is not a host name (the port goes in `port`)",
                            smtp.relay
                        ),
                    );
                }
                if smtp.port == 0 {
                    self.error(key("port"), "must be between 1 and 65535");
                }
                match smtp.from.split_once('@') {
                    Some((local, domain)) if !local.is_empty() && domain.contains('.') => {}
                    _ => self.error(
                        key("from"),
                        format!("{:?} is not an e-mail address", smtp.from),
                    ),
                }
                match (&mut smtp.username, &mut smtp.password) {
                    (Some(username), Some(password)) => {
                        self.secret(&key("username"), username, env, base_dir);
                        self.secret(&key("password"), password, env, base_dir);
                    }
                    (None, None) => {}
                    (Some(_), None) => self.error(key("password"), "is required with `username`"),
                    (None, Some(_)) => self.error(key("username"), "is required with `password`"),
                }
                smtp.carriers = base_dir.join(&smtp.carriers);
                if !smtp.carriers.is_file() {
                    self.error(
                        key("carriers"),
                        format!("{} does not exist", smtp.carriers.display()),
                    );
                } else if let Err(error) = load_carrier_table(&smtp.carriers) {
                    // Read now, not first when the alert service starts: a broken file is
                    // a configuration error check-config must report.
                    self.error(key("carriers"), error.to_string());
                }
            }
            DriverConfig::Smpp(smpp) => {
                if let Err(message) = host_port(&smpp.address) {
                    self.error(key("address"), message);
                }
                // SMPP 3.4 §5.2: C-Octet Strings of 16 and 9 octets with their NUL.
                if smpp.system_id.is_empty() || smpp.system_id.len() > 15 {
                    self.error(key("system_id"), "must be 1 to 15 characters (SMPP 3.4)");
                }
                if smpp.system_type.len() > 12 {
                    self.error(
                        key("system_type"),
                        "must be at most 12 characters (SMPP 3.4)",
                    );
                }
                self.secret(&key("password"), &mut smpp.password, env, base_dir);
                if smpp.password.is_resolved() && smpp.password.expose().len() > 8 {
                    self.error(key("password"), "must be at most 8 characters (SMPP 3.4)");
                }
                if !(1..=100).contains(&smpp.window) {
                    self.error(key("window"), "must be between 1 and 100");
                }
                if smpp.max_per_second == Some(0) {
                    self.error(key("max_per_second"), "must be at least 1 (or left out)");
                }
                if let Some(source) = &smpp.source_addr {
                    if let Err(message) = smpp_source(source) {
                        self.error(key("source_addr"), message);
                    }
                }
                if smpp.enquire_link.is_zero() {
                    self.error(key("enquire_link"), "must be longer than 0s");
                }
                if let Some(ca) = &mut smpp.tls_ca_file {
                    *ca = base_dir.join(&*ca);
                    if !smpp.tls {
                        self.error(key("tls_ca_file"), "only applies with `tls = true`");
                    } else if !ca.is_file() {
                        self.error(
                            key("tls_ca_file"),
                            format!("{} does not exist", ca.display()),
                        );
                    }
                }
                if smpp.tls_server_name.is_some() && !smpp.tls {
                    self.error(key("tls_server_name"), "only applies with `tls = true`");
                }
            }
            DriverConfig::Android(android) => {
                self.android(&key, name, android, env, base_dir);
            }
        }
    }

    /// A `kind = "android"` section: URLs the driver and the app can use, secrets, and
    /// Android's allowance.
    fn android(
        &mut self,
        key: &dyn Fn(&str) -> String,
        name: &str,
        android: &mut AndroidDriver,
        env: &BTreeMap<String, String>,
        base_dir: &Path,
    ) {
        let after_scheme = android
            .url
            .strip_prefix("https://")
            .or_else(|| android.url.strip_prefix("http://"));
        match after_scheme {
            Some(rest) if !rest.is_empty() && !rest.starts_with('/') => {}
            _ => self.error(
                key("url"),
                "must be http://HOST:PORT (the phone's local server) or https://HOST (a server)",
            ),
        }
        if android.mode != AndroidMode::Local && android.url.starts_with("http://") {
            self.warning(
                key("url"),
                "a cloud or private server over plain http sends the password unencrypted",
            );
        }
        if android.username.is_empty() {
            self.error(key("username"), "must not be empty");
        }
        self.secret(&key("password"), &mut android.password, env, base_dir);
        self.secret(&key("signing_key"), &mut android.signing_key, env, base_dir);
        if android.signing_key.is_resolved() && android.signing_key.expose().is_empty() {
            self.error(
                key("signing_key"),
                "must not be empty: unsigned webhooks could come from anyone",
            );
        }
        if let Some(url) = &android.webhook_url {
            let probe_id = textgate_android::ClientId::new("probe");
            if let Ok(id) = probe_id {
                if let Err(e) = textgate_android::registration_body(
                    &id,
                    url,
                    textgate_android::WebhookKind::SmsReceived,
                ) {
                    self.error(key("webhook_url"), e.to_string());
                }
            }
            let path = textgate_android_driver::webhook_path(name);
            let url_path = url.split(['?', '#']).next().unwrap_or("");
            if !url_path.ends_with(&path) {
                self.warning(
                    key("webhook_url"),
                    format!("textgate serves this gateway's webhooks at {path}; unless a proxy rewrites the path, the URL should end with it"),
                );
            }
        }
        if let Some(sim) = android.sim {
            if !(1..=3).contains(&sim) {
                self.error(key("sim"), "must be 1, 2 or 3 (the SIM slot, from 1)");
            }
        }
        if android.per_minute == 0 {
            self.error(key("per_minute"), "must be at least 1");
        } else if android.per_minute > textgate_android_driver::ANDROID_LIMIT_PER_MINUTE {
            self.warning(
                key("per_minute"),
                "above Android's 30 SMS a minute, the phone asks its owner before each further \
                 text unless its limit was raised (adb: sms_outgoing_check_max_count)",
            );
        }
        for (field, value) in [
            ("ttl", android.ttl),
            ("send_timeout", android.send_timeout),
            ("poll_interval", android.poll_interval),
            ("offline_after", android.offline_after),
        ] {
            if value < Duration::from_secs(1) {
                self.error(key(field), "must be at least 1s");
            }
        }
    }

    /// An Android gateway without `webhook_url` is reached on `[http] listen` itself, which
    /// the app accepts only on 127.0.0.1 (plain http elsewhere is refused by the app).
    pub(super) fn android_webhooks(
        &mut self,
        gateways: &[(usize, GatewayConfig)],
        listen: SocketAddr,
    ) {
        for (index, gateway) in gateways {
            let DriverConfig::Android(android) = &gateway.driver else {
                continue;
            };
            if android.webhook_url.is_none() && listen.ip() != Ipv4Addr::LOCALHOST {
                let at = gateway_label(*index, Some(&gateway.name));
                self.error(
                    format!("{at}.driver.webhook_url"),
                    format!(
                        "is required when [http] listen ({listen}) is not on 127.0.0.1: the phone \
                         posts to https://YOUR-HOST{}",
                        textgate_android_driver::webhook_path(&gateway.name)
                    ),
                );
            }
        }
    }
}
