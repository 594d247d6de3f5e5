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

pub mod carriers;
mod check;
pub mod connect;
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

pub use carriers::{load_carrier_table, CarrierFileError};
pub use check::{process_environment, run_check_config, CheckConfigArgs};
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

/// `[alerts]`: the keys that protect members' numbers and the limits of an alert text.
/// Keys are 64 hexadecimal digits or base64 of 32 random bytes (`openssl rand -hex 32`),
/// each purpose with its own key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// `[alerts.encryption_key]`: the key that encrypts members' numbers from now on.
    pub encryption_key: AlertKey,
    /// `[[alerts.retired_keys]]`: earlier encryption keys, kept only to read values they
    /// encrypted.
    #[serde(default)]
    pub retired_keys: Vec<AlertKey>,
    /// The key of the blind index that finds a member by number without decrypting.
    pub blind_index_key: Secret,
    /// The key that derives the codes confirming a new number.
    pub confirmation_key: Secret,
    /// Characters almost every phone receives whole; the compose countdown starts here.
    #[serde(default = "default_safe_length", deserialize_with = "number::u16")]
    pub safe_length: u16,
    /// The longest alert text accepted at all.
    #[serde(default = "default_hard_limit", deserialize_with = "number::u16")]
    pub hard_limit: u16,
    /// Whether an alert needing UCS-2 (characters outside the GSM alphabet) is allowed.
    #[serde(default)]
    pub ucs2: textgate_alerts::compose::Ucs2Policy,
    /// Who must agree before a real alert goes out.
    #[serde(default)]
    pub approval: ApprovalConfig,
    /// How long a real alert waits for a second administrator before it expires unsent.
    #[serde(default = "default_approval_expires_after", with = "humantime_serde")]
    pub approval_expires_after: Duration,
    /// `[alerts.feed]`: real alerts published as CAP 1.2 and in Atom, RSS and JSON feeds
    /// for websites and signs. Absent: no feeds.
    #[serde(default)]
    pub feed: Option<AlertFeedConfig>,
    /// `[[alerts.template]]`: ready texts per scenario for the compose pages.
    #[serde(default, rename = "template")]
    pub templates: Vec<AlertTemplateConfig>,
    /// `[[alerts.group]]`: optional groups members may join besides emergency alerts.
    #[serde(default, rename = "group")]
    pub groups: Vec<AlertGroupConfig>,
    /// `[alerts.email]`: the SMTP relay for the e-mail copy of alerts members may ask for.
    #[serde(default)]
    pub email: Option<AlertEmailConfig>,
    /// `[alerts.xmpp]`: alerts also over XMPP, to members' JIDs, staff JIDs and a staff room.
    #[serde(default)]
    pub xmpp: Option<AlertXmppConfig>,
}

/// `[alerts.xmpp]`: the alerts' own XMPP component (XEP-0114), beside the gateways'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertXmppConfig {
    /// The component's domain, e.g. `alerts.library.example`: the address alerts come from.
    pub component: String,
    /// The XEP-0114 component secret shared with the XMPP server.
    pub secret: Secret,
    /// The XMPP server's component port, `host:port`.
    #[serde(default = "default_component_server")]
    pub server: String,
    /// A multi-user chat room (XEP-0045) for staff, e.g. `staff@conference.library.example`.
    #[serde(default)]
    pub room: Option<String>,
    /// The component's nickname in the room.
    #[serde(default = "default_alerts_nick")]
    pub nick: String,
    /// Staff JIDs that get every campaign.
    #[serde(default)]
    pub staff: Vec<String>,
}

fn default_component_server() -> String {
    "127.0.0.1:5347".to_owned()
}

fn default_alerts_nick() -> String {
    "Alerts".to_owned()
}

/// `[alerts.email]`: an e-mail copy of each alert, for members who ask for one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertEmailConfig {
    /// The SMTP relay's host name.
    pub relay: String,
    #[serde(default = "default_smtp_port", deserialize_with = "number::u16")]
    pub port: u16,
    /// How the connection to the relay is protected.
    #[serde(default)]
    pub tls: SmtpTls,
    /// The sender address of the copies.
    pub from: String,
    /// SMTP AUTH user name, if the relay wants one.
    #[serde(default)]
    pub username: Option<Secret>,
    /// SMTP AUTH password, if the relay wants one.
    #[serde(default)]
    pub password: Option<Secret>,
}

/// `[[alerts.group]]`: an optional group (closures, weather ...) members join on their
/// page or by texting `JOIN <name>`; administrators send to it from the alert desk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertGroupConfig {
    /// Lower-case letters, digits and `-`; unique: the word members text.
    pub name: String,
    /// What the pages show ("Library closures").
    pub title: String,
}

/// `[[alerts.template]]`: one scenario's text, `{placeholders}` filled in when composing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertTemplateConfig {
    /// Letters, digits, `-` and `_`; unique.
    pub name: String,
    /// What the compose page shows.
    pub title: String,
    pub text: String,
}

/// `[alerts.feed]`: what the public CAP 1.2 messages and feeds say about who sends them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertFeedConfig {
    /// The console's public address (`https://alerts.library.example`): links in feeds.
    pub url: String,
    /// CAP `sender`: who issues the alerts, unique among issuers (an e-mail address or
    /// domain name), without spaces or commas.
    pub sender: String,
    /// CAP `senderName`, what people read (`Library emergency alerts`).
    pub sender_name: String,
    /// CAP `areaDesc`: where the alerts apply (`Main library and campus`).
    pub area: String,
    /// CAP `language` (RFC 3066). Default `en-US`.
    #[serde(default = "default_feed_language")]
    pub language: String,
    /// CAP `event`, the kind of event (`Campus emergency`). Default `Emergency alert`.
    #[serde(default = "default_feed_event")]
    pub event: String,
    /// How long after its last message a thread stays in the feeds. Default `24h`.
    #[serde(default = "default_feed_active_for", with = "humantime_serde")]
    pub active_for: Duration,
}

fn default_feed_language() -> String {
    "en-US".to_owned()
}

fn default_feed_event() -> String {
    "Emergency alert".to_owned()
}

fn default_feed_active_for() -> Duration {
    Duration::from_secs(24 * 3600)
}

/// `[alerts] approval`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalConfig {
    /// The emergency administrator who confirms a real alert sends it.
    #[default]
    OnePerson,
    /// A second emergency administrator must approve it.
    TwoPerson,
}

fn default_approval_expires_after() -> Duration {
    Duration::from_secs(30 * 60)
}

impl AlertsConfig {
    /// The compose page's limits, as the alerts crate takes them.
    pub fn compose_limits(&self) -> textgate_alerts::ComposeLimits {
        textgate_alerts::ComposeLimits {
            safe_length: self.safe_length.into(),
            hard_limit: self.hard_limit.into(),
            ucs2: self.ucs2,
        }
    }

    /// The field-encryption key ring: the active key and the retired ones. Cannot fail for
    /// a configuration returned by [`Config::load`], which checked every id and key.
    pub fn key_ring(
        &self,
    ) -> Result<textgate_alerts::KeyRing, textgate_alerts::cipher::KeyRingError> {
        textgate_alerts::KeyRing::from_config(
            (&self.encryption_key.id, self.encryption_key.key.expose()),
            self.retired_keys
                .iter()
                .map(|k| (k.id.as_str(), k.key.expose())),
        )
    }
}

/// An encryption key and the id stored beside every value it encrypted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertKey {
    /// 1 to 32 characters from `A-Z a-z 0-9 . _ -`, e.g. the month it was made: `2026-01`.
    pub id: String,
    /// The key.
    pub key: Secret,
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
