//! textgate's configuration: one typed tree read from one TOML file, with environment
//! overrides and secrets that may live inline, in files or in the environment.
//!
//! [`Config::load`] is the only way in. It parses the file, applies `TEXTGATE_…` overrides
//! from an injected environment map (so tests never touch the process environment),
//! deserialises every section on its own (so one typo does not hide the next), validates
//! the result once and resolves every [`Secret`]. Every problem names the key it is about,
//! for example `gateway[1] (campus).driver.device`, and all problems are reported together.
//!
//! The commented example `config/textgate.example.toml` is the user's reference; tests parse
//! it and check that it mentions every key of this tree.

mod alerts;
pub mod carriers;
mod check;
pub mod connect;
mod drivers;
mod env;
mod load;
mod number;
mod secret;
mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use textgate_gsm::segment::{Segmenter, SegmenterConfig};

pub use alerts::*;
pub use carriers::{load_carrier_table, CarrierFileError};
pub use check::{process_environment, run_check_config, CheckConfigArgs};
pub use drivers::*;
pub use env::{override_variables, ADMIN_PASSWORD_VARIABLE, CONFIG_PATH_VARIABLE};
pub use load::{ConfigError, Loaded, Problem};
pub use secret::{Secret, SecretSource};

/// Where the daemon looks for its configuration when neither `--config` nor
/// `TEXTGATE_CONFIG` says otherwise.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/textgate/textgate.toml";

/// The embedded store: an SQLite file in the daemon's working directory (the systemd unit
/// makes that the state directory), created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://textgate.sqlite3?mode=rwc";

/// The notice an operator gets when a reply needed more than one SMS.
pub const DEFAULT_MULTIPART_NOTICE: &str = "(sent as {parts} SMS)";

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[database]`
    #[serde(default)]
    pub database: DatabaseConfig,
    /// `[http]`
    #[serde(default)]
    pub http: HttpConfig,
    /// `[log]`
    #[serde(default)]
    pub log: LogConfig,
    /// `[alerts]`: the emergency alert service; absent, it is off.
    #[serde(default)]
    pub alerts: Option<AlertsConfig>,
    /// `[[gateway]]`, at least one.
    #[serde(rename = "gateway")]
    pub gateways: Vec<GatewayConfig>,
    /// `[[webhook]]`: events posted to other systems; needs `[alerts]`.
    #[serde(default, rename = "webhook", skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<WebhookConfig>,
}

/// `[[webhook]]`: a URL told about events (a patron's text nobody answered, a text sent
/// through the send API delivered or failed), signed with `secret`. Set by the sysadmin
/// only: the posts carry patrons' texts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Unique; letters, digits, `-` and `_`. The delivery log is kept by name.
    pub name: String,
    /// `https://…`, or `http://` to 127.0.0.1, `[::1]` or localhost only.
    pub url: String,
    /// The HMAC-SHA256 key of `X-Textgate-Signature`: inline, `file:` or `env:`.
    pub secret: Secret,
    /// Some of `text.received`, `text.delivered`, `text.failed`.
    pub events: Vec<String>,
    /// Gateways whose texts it is told about; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateways: Option<Vec<String>>,
    /// Which received texts: `unattended` (no librarian received it within
    /// `unattended_after`) or `all`.
    #[serde(default)]
    pub received: WebhookReceived,
    /// How long a received text may wait for a librarian before it is unattended.
    #[serde(default = "default_unattended_after", with = "humantime_serde")]
    pub unattended_after: Duration,
}

/// Which received texts a webhook is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookReceived {
    #[default]
    Unattended,
    All,
}

fn default_unattended_after() -> Duration {
    Duration::from_secs(60)
}

/// `[database]`: where conversations, the outbox and alert registrations are stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://FILE?mode=rwc` or `postgres://USER:PASSWORD@HOST/DB`. A secret, because a
    /// PostgreSQL URL usually carries a password.
    #[serde(default = "default_database_url")]
    pub url: Secret,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: default_database_url(),
        }
    }
}

/// `[http]`: metrics, health endpoints and the web pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address and port to listen on.
    #[serde(default = "default_http_listen")]
    pub listen: SocketAddr,
    /// Whether the web console's session cookie carries `Secure`, so browsers send it over
    /// HTTPS only (and to `http://localhost`). `false` lets people sign in over plain HTTP:
    /// only for a trusted network. Behind a TLS-terminating proxy it stays `true`.
    #[serde(default = "default_secure_cookies")]
    pub secure_cookies: bool,
    /// The most texts one API token (or signed-in account) may send through the send API
    /// and `/cgi-bin/sendsms` in any 60 seconds; more are answered 429.
    #[serde(default = "default_sends_per_minute")]
    pub sends_per_minute: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: default_http_listen(),
            secure_cookies: default_secure_cookies(),
            sends_per_minute: default_sends_per_minute(),
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Human-readable lines or one JSON object per line.
    #[serde(default)]
    pub format: LogFormat,
    /// A tracing filter: a level (`info`) or directives (`info,textgate_modem=debug`).
    #[serde(default = "default_log_level")]
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::default(),
            level: default_log_level(),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines, for a terminal or the journal.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// One `[[gateway]]`: one phone number (one driver), one XMPP component, one queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Short unique handle used in logs, metrics, the CLI and environment variable names.
    pub name: String,
    /// The component's domain, e.g. `sms.library.example`; patrons appear as
    /// `+15551234567@sms.library.example`.
    pub domain: String,
    /// The XEP-0114 component secret shared with the XMPP server.
    pub secret: Secret,
    /// The XMPP server's component port, `host:port`.
    #[serde(default = "default_xmpp_server")]
    pub server: String,
    /// The bare JIDs of the librarians who answer this gateway's texts.
    pub operators: Vec<String>,
    /// Which presence `show` values count as "available" for routing.
    #[serde(default = "default_available_shows")]
    pub available_shows: Vec<Show>,
    /// Whether operators showing `away` get new texts while nobody counts as available
    /// (clients go `away` by themselves after a few idle minutes; `xa` and `dnd` never).
    #[serde(default = "default_true")]
    pub away_fallback: bool,
    /// How texts in a conversation are routed between operators.
    #[serde(default)]
    pub routing: Routing,
    /// What happens when an operator answers a patron another available operator is
    /// answering: `allow`, `warn` (send it and tell both) or `refuse`.
    #[serde(default)]
    pub claim_collisions: ClaimCollisions,
    /// Librarians see each patron as a stable random handle (`p-7kq2m9xd`) instead of the
    /// phone number, in chats, notices, commands, transcripts and exports.
    #[serde(default)]
    pub privacy_handles: bool,
    /// Other gateways (by `name`) whose librarians may take this gateway's conversations
    /// by `transfer <number> <gateway>`; replies still leave from this gateway's number.
    #[serde(default)]
    pub transfer_to: Vec<String>,
    /// Where notices about a patron appear: `gateway` (from the gateway's JID, naming the
    /// patron) or `conversation` (in the patron's conversation, marked `[gateway]`).
    #[serde(default)]
    pub notices: NoticePlacement,
    /// The name XMPP clients show for the gateway.
    #[serde(default = "default_display_name")]
    pub display_name: String,
    /// ISO 3166-1 alpha-2 region used to read national numbers (`US`, `FR`, ...).
    pub default_region: String,
    /// Replies needing more SMS parts than this are refused with an XMPP error.
    #[serde(default = "default_max_parts", deserialize_with = "number::u8")]
    pub max_parts: u8,
    /// The notice an operator gets when a reply needed several SMS.
    #[serde(default)]
    pub notice_multipart: MultipartNotice,
    /// Whether message bodies are kept after delivery.
    #[serde(default)]
    pub transcripts: Transcripts,
    /// Text sent back to a caller after their call was rejected; no reply when absent.
    #[serde(default)]
    pub call_auto_reply: Option<String>,
    /// SMS per minute this gateway's driver may send for alert campaigns.
    #[serde(
        default = "default_rate_limit_per_minute",
        deserialize_with = "number::u32"
    )]
    pub rate_limit_per_minute: u32,
    /// `[gateway.outbox]`: retries of outgoing SMS.
    #[serde(default)]
    pub outbox: OutboxConfig,
    /// `[gateway.desk]`: opening hours and what the gateway answers patrons by itself.
    #[serde(default)]
    pub desk: DeskConfig,
    /// `[gateway.health]`: notices about the modem's (or phone's, or link's) health.
    #[serde(default)]
    pub health: HealthConfig,
    /// `[gateway.driver]`: what sends and receives the SMS.
    pub driver: DriverConfig,
}

impl GatewayConfig {
    /// How this gateway splits a text: at most its `max_parts` SMS, as its outbox splits
    /// replies. `textgate send` and the send API check texts with it.
    pub fn segmenter(&self) -> Segmenter {
        Segmenter::new(SegmenterConfig {
            max_parts: self.max_parts,
            ..SegmenterConfig::default()
        })
    }
}

/// A presence `show` value (RFC 6121 §4.7.2.1); `available` stands for a presence without
/// a `show` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Show {
    /// Free for chat.
    Chat,
    /// Plain available (no `show` element).
    Available,
    /// Temporarily away.
    Away,
    /// Extended away.
    Xa,
    /// Do not disturb.
    Dnd,
}

/// How a gateway shares conversations between its operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Routing {
    /// A new conversation goes to every available operator; the first to reply claims it
    /// and gets its later texts while available.
    #[default]
    Claim,
    /// Every text goes to every available operator; nobody claims a conversation.
    Broadcast,
}

/// `[gateway.health]`: who hears about the gateway's health over XMPP, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// Whether the operators are told when the device stops answering or needs a person,
    /// and when it is back; of a full SIM, a weak signal, a backlog.
    #[serde(default = "default_true")]
    pub notices: bool,
    /// Others who get the same notices (bare JIDs, e.g. the system administrator).
    #[serde(default)]
    pub notify: Vec<String>,
    /// Each kind of notice at most once within this time.
    #[serde(default = "default_health_every", with = "humantime_serde")]
    pub every: Duration,
    /// A signal weaker than this (dBm, e.g. -105) is worth a notice. Default: no notice.
    #[serde(default)]
    pub signal_below_dbm: Option<i32>,
    /// More replies than this waiting to be sent are worth a notice. Default: 20.
    #[serde(default = "default_backlog_above")]
    pub backlog_above: Option<u64>,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            notices: true,
            notify: Vec::new(),
            every: default_health_every(),
            signal_below_dbm: None,
            backlog_above: default_backlog_above(),
        }
    }
}

fn default_health_every() -> Duration {
    Duration::from_secs(10 * 60)
}

fn default_backlog_above() -> Option<u64> {
    Some(20)
}

/// `[gateway.desk]`: the desk's opening hours, its automatic replies and keywords.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeskConfig {
    /// The IANA time zone of the opening hours, e.g. `America/New_York`. Needed with
    /// `weekly`.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// When the desk is staffed, e.g. `["mon-fri 09:00-17:00", "sat 10:00-14:00"]`. Empty:
    /// no hours (the desk counts as open).
    #[serde(default)]
    pub weekly: Vec<String>,
    /// Dates that differ: `"2026-12-25 closed"`, `"2026-12-24 09:00-12:00"`,
    /// `"2026-12-28..2027-01-01 closed"`.
    #[serde(default)]
    pub exceptions: Vec<String>,
    /// Sent to a patron whose text waits while the desk is closed; `{opens}` becomes when
    /// it opens next. Empty: no reply.
    #[serde(default = "default_closed_reply")]
    pub closed_reply: String,
    /// Sent to a patron whose text waits while the desk is open but nobody is there.
    #[serde(default)]
    pub unattended_reply: Option<String>,
    /// At most one automatic reply per patron within this time.
    #[serde(default = "default_auto_reply_every", with = "humantime_serde")]
    pub auto_reply_every: Duration,
    /// Texts that are only one of these words are answered with the text given and not
    /// shown to the librarians, e.g. `{ HOURS = "We are open …", ADDRESS = "…" }`.
    #[serde(default)]
    pub keywords: std::collections::BTreeMap<String, String>,
    /// Sent to a patron who sent a picture message (MMS), which the desk cannot see. The
    /// librarians are told of it in any case.
    #[serde(default)]
    pub mms_reply: Option<String>,
    /// A conversation with no text either way for this long has ended: its claim is
    /// released and the patron's next text starts (and counts as) a new one.
    #[serde(default = "default_conversation_ends_after", with = "humantime_serde")]
    pub conversation_ends_after: Duration,
    /// More texts than this from one patron within `flood_window` are a flood: the rest are
    /// held back (not lost) until the patron is quiet for a window. 0: no limit.
    #[serde(default = "default_flood_limit", deserialize_with = "number::u32")]
    pub flood_limit: u32,
    #[serde(default = "default_flood_window", with = "humantime_serde")]
    pub flood_window: Duration,
}

fn default_flood_limit() -> u32 {
    20
}

fn default_flood_window() -> Duration {
    Duration::from_secs(10 * 60)
}

fn default_conversation_ends_after() -> Duration {
    Duration::from_secs(2 * 3600)
}

impl Default for DeskConfig {
    fn default() -> Self {
        DeskConfig {
            time_zone: None,
            weekly: Vec::new(),
            exceptions: Vec::new(),
            closed_reply: default_closed_reply(),
            unattended_reply: None,
            auto_reply_every: default_auto_reply_every(),
            keywords: std::collections::BTreeMap::new(),
            mms_reply: None,
            conversation_ends_after: default_conversation_ends_after(),
            flood_limit: default_flood_limit(),
            flood_window: default_flood_window(),
        }
    }
}

impl DeskConfig {
    /// The opening hours, if any are set; an error says what is wrong with them.
    pub fn hours(&self) -> Result<Option<textgate_core::OpeningHours>, String> {
        if self.weekly.is_empty() {
            if self.exceptions.is_empty() {
                return Ok(None);
            }
            return Err("exceptions need weekly hours to be exceptions to".to_owned());
        }
        let Some(zone) = &self.time_zone else {
            return Err("weekly hours need a time_zone, e.g. \"America/New_York\"".to_owned());
        };
        textgate_core::OpeningHours::new(zone, &self.weekly, &self.exceptions)
            .map(Some)
            .map_err(|e| e.to_string())
    }
}

fn default_closed_reply() -> String {
    textgate_gateway::settings::DEFAULT_CLOSED_REPLY.to_owned()
}

fn default_auto_reply_every() -> Duration {
    Duration::from_secs(12 * 3600)
}

/// What a second librarian's reply to a claimed conversation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClaimCollisions {
    /// Sent; nobody is told.
    Allow,
    /// Sent; both librarians are told.
    #[default]
    Warn,
    /// Not sent; the librarian is told who is answering.
    Refuse,
}

/// Where the gateway's notices about a patron appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticePlacement {
    /// From the gateway's own JID.
    #[default]
    Gateway,
    /// In the patron's conversation, marked `[gateway]`.
    Conversation,
}

/// Whether message bodies are stored after delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transcripts {
    /// Bodies are erased once delivered; only the record (who, when, how many) stays.
    #[default]
    Off,
    /// Bodies are kept until staff delete them.
    On,
}

/// The notice an operator gets when a reply was sent as several SMS. In TOML: `false`
/// (no notice), `true` (the default text) or a template where `{parts}` is the count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultipartNotice {
    /// No notice.
    Off,
    /// A template; `{parts}` is replaced by the number of SMS.
    Template(String),
}

impl Default for MultipartNotice {
    fn default() -> Self {
        Self::Template(DEFAULT_MULTIPART_NOTICE.to_owned())
    }
}

impl MultipartNotice {
    /// The notice for a reply sent as `parts` SMS, or `None` when notices are off.
    pub fn render(&self, parts: usize) -> Option<String> {
        match self {
            Self::Off => None,
            Self::Template(template) => Some(template.replace("{parts}", &parts.to_string())),
        }
    }
}

impl Serialize for MultipartNotice {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Off => serializer.serialize_bool(false),
            Self::Template(template) => serializer.serialize_str(template),
        }
    }
}

impl<'de> Deserialize<'de> for MultipartNotice {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NoticeVisitor;
        impl serde::de::Visitor<'_> for NoticeVisitor {
            type Value = MultipartNotice;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("false, true or a template string containing {parts}")
            }
            fn visit_bool<E: serde::de::Error>(self, on: bool) -> Result<Self::Value, E> {
                Ok(if on {
                    MultipartNotice::default()
                } else {
                    MultipartNotice::Off
                })
            }
            fn visit_str<E: serde::de::Error>(self, template: &str) -> Result<Self::Value, E> {
                Ok(MultipartNotice::Template(template.to_owned()))
            }
        }
        deserializer.deserialize_any(NoticeVisitor)
    }
}

/// `[gateway.outbox]`: how an outgoing SMS is retried before it is reported as failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxConfig {
    /// Attempts in total, the first included.
    #[serde(default = "default_max_attempts", deserialize_with = "number::u32")]
    pub max_attempts: u32,
    /// Wait after the first failure; doubled after each further failure.
    #[serde(default = "default_initial_backoff", with = "humantime_serde")]
    pub initial_backoff: Duration,
    /// The longest wait between two attempts.
    #[serde(default = "default_max_backoff", with = "humantime_serde")]
    pub max_backoff: Duration,
    /// How long a reply being sent stays this daemon's without a renewal: after a crash,
    /// the longest a reply waits before another daemon (or, on PostgreSQL, the restarted
    /// one) takes it up. Renewed every third of it while a send lasts.
    #[serde(default = "default_lease", with = "humantime_serde")]
    pub lease: Duration,
    /// After a crash or a lost link left a part's outcome unknown, how long the next
    /// attempt waits for the network's status report on it before sending it again.
    #[serde(default = "default_report_wait", with = "humantime_serde")]
    pub report_wait: Duration,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            max_attempts: default_max_attempts(),
            initial_backoff: default_initial_backoff(),
            max_backoff: default_max_backoff(),
            lease: default_lease(),
            report_wait: default_report_wait(),
        }
    }
}

fn default_database_url() -> Secret {
    Secret::inline(DEFAULT_DATABASE_URL)
}

fn default_http_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_sends_per_minute() -> u32 {
    60
}

fn default_secure_cookies() -> bool {
    true
}

fn default_log_level() -> String {
    "info".to_owned()
}

fn default_xmpp_server() -> String {
    "127.0.0.1:5347".to_owned()
}

fn default_display_name() -> String {
    textgate_xmpp::config::DEFAULT_DISPLAY_NAME.to_owned()
}

fn default_available_shows() -> Vec<Show> {
    vec![Show::Chat, Show::Available]
}

fn default_max_parts() -> u8 {
    6
}

fn default_rate_limit_per_minute() -> u32 {
    20
}

fn default_max_attempts() -> u32 {
    5
}

fn default_initial_backoff() -> Duration {
    Duration::from_secs(10)
}

fn default_max_backoff() -> Duration {
    Duration::from_secs(600)
}

fn default_lease() -> Duration {
    Duration::from_secs(15)
}

fn default_report_wait() -> Duration {
    Duration::from_secs(10)
}

fn default_baud() -> u32 {
    115_200
}

fn default_send_timeout() -> Duration {
    Duration::from_secs(60)
}

fn default_smtp_port() -> u16 {
    587
}

/// The TON, NPI and address an SMPP `source_addr` setting means: `+` and digits is an
/// international number (1/1), up to 8 digits a short code (3/0: network specific), more
/// digits a national number (2/1), anything else an alphanumeric name of at most 11
/// characters (5/0).
pub fn smpp_source(source: &str) -> Result<(u8, u8, String), String> {
    if let Some(digits) = source.strip_prefix('+') {
        if (3..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            return Ok((1, 1, digits.to_owned()));
        }
        return Err(format!(
            "{source:?} is not an international number (+ and 3 to 15 digits)"
        ));
    }
    if !source.is_empty() && source.bytes().all(|b| b.is_ascii_digit()) {
        return match source.len() {
            1..=8 => Ok((3, 0, source.to_owned())),
            9..=15 => Ok((2, 1, source.to_owned())),
            _ => Err(format!("{source:?} has more digits than a phone number")),
        };
    }
    if source.is_empty() || source.chars().count() > 11 || !source.is_ascii() {
        return Err(format!(
            "{source:?}: an alphanumeric sender is 1 to 11 ASCII characters (most carriers \
             also require it to be registered)"
        ));
    }
    Ok((5, 0, source.to_owned()))
}

fn default_true() -> bool {
    true
}

fn default_android_api_path() -> String {
    "/api".to_owned()
}

fn default_android_per_minute() -> u32 {
    30
}

fn default_android_ttl() -> Duration {
    Duration::from_secs(24 * 60 * 60)
}

fn default_android_send_timeout() -> Duration {
    Duration::from_secs(120)
}

fn default_android_poll_interval() -> Duration {
    Duration::from_secs(30)
}

fn default_android_offline_after() -> Duration {
    Duration::from_secs(120)
}

fn default_smpp_window() -> u32 {
    10
}

fn default_enquire_link() -> Duration {
    Duration::from_secs(30)
}

fn default_safe_length() -> u16 {
    110
}

fn default_hard_limit() -> u16 {
    140
}
