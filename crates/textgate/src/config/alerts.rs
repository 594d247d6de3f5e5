//! `[alerts]` and its sections: the keys that protect members' numbers, the limits of an
//! alert text, approval, the feeds, templates, groups and the other channels (e-mail,
//! XMPP).

use super::*;

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
    #[serde(default = "default_xmpp_server")]
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
