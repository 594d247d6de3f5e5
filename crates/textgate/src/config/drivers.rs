//! `[gateway.driver]`: the AT modem, the simulator, the legacy e-mail path, an SMPP
//! message centre and an Android phone, each with its own keys.

use super::*;

/// `[gateway.driver]`, chosen by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum DriverConfig {
    /// A GSM/LTE modem (or an Android phone) speaking AT commands.
    At(AtDriver),
    /// The textgate-modemsim simulator.
    Simulator(SimulatorDriver),
    /// A carrier's legacy e-mail-to-SMS gateway, for alerts only.
    Smtp(SmtpDriver),
    /// An operator's or aggregator's message centre over SMPP 3.4.
    Smpp(SmppDriver),
    /// An Android phone running the SMSGate app, over its HTTP API.
    Android(AndroidDriver),
}

impl DriverConfig {
    /// The `kind` value naming this driver in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::At(_) => "at",
            Self::Simulator(_) => "simulator",
            Self::Smtp(_) => "smtp",
            Self::Smpp(_) => "smpp",
            Self::Android(_) => "android",
        }
    }
}

/// `kind = "at"`: a modem on a serial device or behind a TCP port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtDriver {
    /// Serial device; prefer a stable `/dev/serial/by-id/…` path. Exclusive with `address`.
    #[serde(default)]
    pub device: Option<PathBuf>,
    /// `host:port` of a modem reachable over TCP. Exclusive with `device`.
    #[serde(default)]
    pub address: Option<String>,
    /// Serial line speed (ignored over TCP and by most USB modems).
    #[serde(default = "default_baud", deserialize_with = "number::u32")]
    pub baud: u32,
    /// Which modem family's quirks to expect.
    #[serde(default)]
    pub quirks: Quirks,
    /// SIM PIN, when the SIM asks for one.
    #[serde(default)]
    pub pin: Option<Secret>,
    /// SMS service centre number, when the SIM's default is wrong or missing.
    #[serde(default)]
    pub smsc: Option<String>,
    /// How long one SMS send may take before it counts as failed.
    #[serde(default = "default_send_timeout", with = "humantime_serde")]
    pub send_timeout: Duration,
}

/// The modem family whose deviations from 3GPP TS 27.005/27.007 the driver expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quirks {
    /// Detect from the modem's `AT+CGMI`/`AT+CGMM` answers.
    #[default]
    Auto,
    /// Plain 3GPP behaviour.
    Generic,
    /// Huawei modems.
    Huawei,
    /// Quectel modules.
    Quectel,
    /// SIMCom modules.
    Simcom,
    /// Sierra Wireless modules.
    Sierra,
    /// An Android phone exposing an AT port.
    Android,
}

/// `kind = "simulator"`: textgate-modemsim, for the demo and tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorDriver {
    /// `host:port` of a running simulator's AT port. Exclusive with `spawn`.
    #[serde(default)]
    pub address: Option<String>,
    /// Start a simulator inside the daemon instead of connecting to one.
    #[serde(default)]
    pub spawn: bool,
}

/// `kind = "smtp"`: sends texts as e-mail to a carrier's e-mail-to-SMS gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpDriver {
    /// The SMTP relay's host name.
    pub relay: String,
    /// The relay's port.
    #[serde(default = "default_smtp_port", deserialize_with = "number::u16")]
    pub port: u16,
    /// How the connection to the relay is protected.
    #[serde(default)]
    pub tls: SmtpTls,
    /// The envelope and header sender address.
    pub from: String,
    /// SMTP AUTH user name, if the relay wants one.
    #[serde(default)]
    pub username: Option<Secret>,
    /// SMTP AUTH password, if the relay wants one.
    #[serde(default)]
    pub password: Option<Secret>,
    /// TOML file mapping carrier names to their e-mail-to-SMS domains.
    pub carriers: PathBuf,
}

/// `kind = "smpp"`: a message centre (SMSC) over SMPP 3.4 (docs/alerts.md says what
/// carriers require before they carry application traffic).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmppDriver {
    /// `host:port` of the SMSC.
    pub address: String,
    /// The account's system id (at most 15 characters).
    pub system_id: String,
    /// The account's password (at most 8 characters): inline, `file:` or `env:`.
    pub password: Secret,
    /// Some SMSCs want a system type ("VMA", "OTA"); empty by default.
    #[serde(default)]
    pub system_type: String,
    /// `transceiver` (one connection, the default) or `transmitter-receiver` (two).
    #[serde(default)]
    pub bind: SmppBind,
    /// SMPP over TLS (the aggregator's TLS port); the certificate is always checked.
    #[serde(default)]
    pub tls: bool,
    /// The name the SMSC's certificate carries, when it is not the address's host.
    #[serde(default)]
    pub tls_server_name: Option<String>,
    /// Extra certificate authorities (PEM file) for an aggregator with a private CA.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    /// Submits awaiting the SMSC's answer at once (1 to 100).
    #[serde(default = "default_smpp_window", deserialize_with = "number::u32")]
    pub window: u32,
    /// The account's agreed submits per second; also the campaign plan's rate.
    #[serde(default)]
    pub max_per_second: Option<u32>,
    /// The sender: a long number (`+15551230000`), a short code (`12345`) or an
    /// alphanumeric name (`Library`); the account's default when absent.
    #[serde(default)]
    pub source_addr: Option<String>,
    /// How GSM 7-bit text is written (`unpacked`, the SMPP norm, or `packed`).
    #[serde(default)]
    pub gsm7_packing: SmppPacking,
    /// How long texts go: `udh` (headers in the parts, the default), `sar`, or `payload`
    /// (the whole text in one `message_payload`; the SMSC cuts it).
    #[serde(default)]
    pub multipart: SmppMultipart,
    /// Ask for delivery receipts (they become the librarian's receipts).
    #[serde(default = "default_true")]
    pub registered_delivery: bool,
    /// Silence after which the link is probed with `enquire_link`.
    #[serde(default = "default_enquire_link", with = "humantime_serde")]
    pub enquire_link: Duration,
}

/// `kind = "android"`: a phone running the SMSGate app ("SMS Gateway for Android", app
/// v1.68.0), reached over its HTTP API: the phone's own server, the cloud or a private
/// SMSGate server. The phone posts received texts and reports to `webhook_url`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AndroidDriver {
    /// The API: the phone's local server (`http://192.168.1.20:8080`), the cloud
    /// (`https://api.sms-gate.app`) or a private server (`https://sms.example.org`).
    pub url: String,
    /// `local` (the phone's own server, the default), `cloud` or `server` (private).
    #[serde(default)]
    pub mode: AndroidMode,
    /// Where a private server mounts its API (`server` mode only).
    #[serde(default = "default_android_api_path")]
    pub api_path: String,
    /// The app's (or the server's) user name.
    pub username: String,
    /// Its password: inline, `file:` or `env:`.
    pub password: Secret,
    /// The app's webhook signing key (Settings → Webhooks → Signing Key).
    pub signing_key: Secret,
    /// This daemon's webhook endpoint as the phone reaches it: `https://…/android/NAME/webhook`
    /// (the app accepts plain `http://` only to 127.0.0.1). May be left out when `[http]
    /// listen` is on 127.0.0.1 (a private server on the same host): then it is that
    /// listener's address.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// The SIM slot to send from (1 to 3); the app's choice when absent.
    #[serde(default)]
    pub sim: Option<u8>,
    /// In `cloud`/`server` mode, the phone to send through when the account has several.
    #[serde(default)]
    pub device_id: Option<String>,
    /// SMS parts handed to the phone in any minute; Android asks the phone's owner above 30.
    #[serde(
        default = "default_android_per_minute",
        deserialize_with = "number::u32"
    )]
    pub per_minute: u32,
    /// Ask the network for delivery reports (they become the librarian's receipts).
    #[serde(default = "default_true")]
    pub delivery_reports: bool,
    /// How long the phone keeps trying a text before it gives up.
    #[serde(default = "default_android_ttl", with = "humantime_serde")]
    pub ttl: Duration,
    /// How long a send waits for the phone to say it sent the text.
    #[serde(default = "default_android_send_timeout", with = "humantime_serde")]
    pub send_timeout: Duration,
    /// How long to wait for a webhook before asking the phone for a text's state.
    #[serde(default = "default_android_poll_interval", with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Silence after which the phone counts as gone (turn on the app's Ping, shorter).
    #[serde(default = "default_android_offline_after", with = "humantime_serde")]
    pub offline_after: Duration,
}

/// Where an Android gateway's API is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AndroidMode {
    #[default]
    Local,
    Cloud,
    Server,
}

/// How an SMPP gateway binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SmppBind {
    #[default]
    Transceiver,
    TransmitterReceiver,
}

/// How GSM 7-bit goes into `short_message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmppPacking {
    #[default]
    Unpacked,
    Packed,
}

/// How the parts of a long text are tied together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmppMultipart {
    #[default]
    Udh,
    Sar,
    /// The whole text in one `submit_sm`'s `message_payload`; the SMSC cuts it.
    Payload,
}

/// Transport security towards the SMTP relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption; only for a relay on the same host.
    None,
}
