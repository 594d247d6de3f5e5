//! The settings of one running gateway. Plain data: the binary reads its TOML configuration
//! and builds these, so the configuration file format is not this crate's business.

use std::collections::BTreeMap;
use std::time::Duration;

use textgate_core::{AvailabilityRule, OpeningHours, Region, RoutingPolicy};
use textgate_gsm::reassembly::ReassemblyConfig;
use textgate_store::TranscriptPolicy;

/// Everything the runtime needs to know about one gateway besides its driver, its store and
/// its XMPP component.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// The gateway's handle in logs and in the store.
    pub name: String,
    /// The component's domain; patron JIDs live in it.
    pub domain: String,
    /// The region national sender numbers are read in.
    pub region: Region,
    pub availability: AvailabilityRule,
    pub routing: RoutingPolicy,
    /// Replies needing more SMS parts than this are refused with an XMPP error.
    pub max_parts: u8,
    /// The notice sent to an operator when a reply needed several SMS; `{parts}` is
    /// replaced by their number. `None` sends no notice.
    pub multipart_notice: Option<String>,
    pub transcripts: TranscriptPolicy,
    /// Sent back to a caller whose voice call was rejected, if set.
    pub call_auto_reply: Option<String>,
    pub outbox: OutboxPolicy,
    pub reassembly: ReassemblyConfig,
    /// How long after sending a status report can still be matched to a part (the message
    /// reference wraps at 256).
    pub status_report_window: Duration,
    /// How long a text written to an operator stays `offered` (its body kept) when her
    /// client does not confirm it (XEP-0184): a server may bounce it until the session it
    /// went to is given up. Longer than the stream-management resumption times of common
    /// servers (ejabberd 300 s, Prosody's mod_smacks 600 s), after which the text counts
    /// as delivered.
    pub delivery_grace: Duration,
    /// Whether the operators are told when the driver's device goes away and comes back
    /// ("the phone is not answering; replies wait"). On for drivers nobody watches
    /// (an Android phone on a shelf); a lost notice goes out at most once per
    /// [`GatewaySettings::health_notice_interval`], so a flapping device does not flood
    /// anyone.
    pub health_notices: bool,
    pub health_notice_interval: Duration,
    /// What the notices call the device: "modem", "phone", "link to the SMS provider".
    pub health_device: String,
    /// Who else hears the health notices (an administrator), besides the operators.
    pub health_watchers: Vec<textgate_core::BareJid>,
    /// A signal weaker than this (dBm) is worth a notice.
    pub signal_below: Option<i32>,
    /// More replies than this waiting in the outbox are worth a notice.
    pub backlog_above: Option<u64>,
    /// Where notices about a patron ("sent as 3 SMS", "alice is now answering") appear.
    pub notice_placement: NoticePlacement,
    /// What happens when an operator answers a patron another available operator is
    /// answering.
    pub claim_collisions: ClaimCollisions,
    /// Whether librarians see patrons as privacy handles (`p-7kq2m9xd`) instead of phone
    /// numbers ([`crate::handles`]).
    pub privacy_handles: bool,
    /// The desk's own answers to patrons: opening hours, automatic replies, keywords.
    pub desk: DeskSettings,
    /// Other gateways' desks this gateway's librarians may hand a conversation to
    /// (`transfer <number> <desk>`); see `textgate_core::routing`'s handoff.
    pub transfer_desks: Vec<TransferDesk>,
}

/// Another gateway's desk, as a place to hand conversations to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferDesk {
    /// The other gateway's name: what librarians type.
    pub name: String,
    /// What the notices call it ("Branch library SMS").
    pub display_name: String,
    /// Its librarians.
    pub operators: Vec<textgate_core::BareJid>,
}

/// What the gateway answers patrons by itself.
#[derive(Debug, Clone)]
pub struct DeskSettings {
    /// When a librarian is at the desk; `None`: no hours (always open).
    pub hours: Option<OpeningHours>,
    /// Sent to a patron whose text waits for a librarian while the desk is closed;
    /// `{opens}` becomes when it opens next ("tomorrow at 09:00"). Only with `hours`.
    pub closed_reply: Option<String>,
    /// Sent to a patron whose text waits for a librarian while the desk is open (or has
    /// no hours) but nobody is there; `None` sends nothing.
    pub unattended_reply: Option<String>,
    /// At most one of those automatic replies per patron within this time.
    pub auto_reply_every: Duration,
    /// A text that is only one of these words (upper case) is answered with its text and
    /// not shown to the librarians: `HOURS`, `ADDRESS`.
    pub keywords: BTreeMap<String, String>,
    /// Sent to a patron who sent a picture message (MMS), which the desk cannot see.
    pub mms_reply: Option<String>,
    /// A conversation with nothing in it (texts either way) for this long has ended: its
    /// claim is released and the patron's next text starts a new one.
    pub conversation_ends_after: Duration,
    /// More texts than this from one patron within `flood_window` are a flood: the rest
    /// are held back until the patron is quiet for a window. 0 turns it off.
    pub flood_limit: u32,
    pub flood_window: Duration,
}

/// The closed-desk reply when the configuration gives none.
pub const DEFAULT_CLOSED_REPLY: &str =
    "Thanks for your text. The library's desk is closed now; we open {opens}, and a \
     librarian will answer then.";

impl Default for DeskSettings {
    fn default() -> Self {
        DeskSettings {
            hours: None,
            closed_reply: Some(DEFAULT_CLOSED_REPLY.to_owned()),
            unattended_reply: None,
            auto_reply_every: Duration::from_secs(12 * 3600),
            keywords: BTreeMap::new(),
            mms_reply: None,
            conversation_ends_after: Duration::from_secs(2 * 3600),
            flood_limit: 20,
            flood_window: Duration::from_secs(10 * 60),
        }
    }
}

/// Where the gateway's notices about a patron appear in an operator's client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoticePlacement {
    /// From the gateway's own JID, naming the patron: nobody mistakes them for the
    /// patron's words.
    #[default]
    Gateway,
    /// In the patron's conversation (from the patron's JID), each marked
    /// [`crate::notices::CONVERSATION_MARK`], for desks that want everything about a
    /// patron in one window.
    Conversation,
}

/// What the gateway does with a reply to a patron whose conversation another operator,
/// available now, has claimed (answered first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClaimCollisions {
    /// Send it; nobody is told (the behaviour before claims were announced).
    Allow,
    /// Send it, and tell both: the replier who is answering, the owner what was sent.
    #[default]
    Warn,
    /// Do not send it: the replier gets an error saying who is answering, the owner a
    /// notice with the reply that was stopped.
    Refuse,
}

impl GatewaySettings {
    /// Settings with textgate's defaults for everything but the identity of the gateway.
    pub fn new(name: impl Into<String>, domain: impl Into<String>, region: Region) -> Self {
        GatewaySettings {
            name: name.into(),
            domain: domain.into(),
            region,
            availability: AvailabilityRule::default(),
            routing: RoutingPolicy::default(),
            max_parts: 6,
            multipart_notice: Some("(sent as {parts} SMS)".to_owned()),
            transcripts: TranscriptPolicy::default(),
            call_auto_reply: None,
            outbox: OutboxPolicy::default(),
            reassembly: ReassemblyConfig::default(),
            status_report_window: Duration::from_secs(3 * 24 * 3600),
            health_notices: true,
            health_notice_interval: Duration::from_secs(10 * 60),
            health_device: "modem".to_owned(),
            health_watchers: Vec::new(),
            signal_below: None,
            backlog_above: None,
            delivery_grace: Duration::from_secs(11 * 60),
            notice_placement: NoticePlacement::default(),
            claim_collisions: ClaimCollisions::default(),
            privacy_handles: false,
            desk: DeskSettings::default(),
            transfer_desks: Vec::new(),
        }
    }

    /// The multipart notice for a reply sent as `parts` SMS, if one is configured.
    pub fn multipart_notice(&self, parts: usize) -> Option<String> {
        self.multipart_notice
            .as_ref()
            .map(|template| template.replace("{parts}", &parts.to_string()))
    }
}

/// How the outbox retries a reply the modem could not send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxPolicy {
    /// Attempts, the first included, before the operator gets an error.
    pub max_attempts: u32,
    /// The wait after the first failed attempt; it doubles after each further failure.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// How long a leased text stays a worker's without news from it. The worker renews
    /// the lease every third of it while a send goes on, so this bounds how long a text
    /// waits after its daemon died (another daemon, or the restarted one on PostgreSQL,
    /// takes it up then), not how long a send may take.
    pub lease: Duration,
    /// When the daemon stops mid-send, how long the part already handed to the modem may
    /// take to be accepted. No further part is started; when the time is up the text goes
    /// back to the queue with that part's outcome unknown. Must leave the daemon's shutdown
    /// timeout room to write the give-back, or the text waits for its lease to run out.
    pub stop_grace: Duration,
    /// When an earlier attempt lost a part's answer (the daemon died, the link ended),
    /// how long the next attempt waits for the network's status report on that part
    /// before sending it again. A report usually follows within seconds when the phone
    /// is on; one that comes later arrives after the part was sent again (the phone shows
    /// it twice). Not waited for on paths without reports (e-mail, an SMSC without
    /// `registered_delivery`).
    pub report_wait: Duration,
}

impl Default for OutboxPolicy {
    fn default() -> Self {
        OutboxPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(600),
            lease: Duration::from_secs(15),
            stop_grace: Duration::from_secs(5),
            report_wait: Duration::from_secs(10),
        }
    }
}

impl OutboxPolicy {
    /// The wait after failed attempt number `attempt` (1 is the first).
    pub fn retry_delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_up_to_the_limit() {
        let policy = OutboxPolicy {
            initial_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(60),
            ..OutboxPolicy::default()
        };
        let delays: Vec<u64> = (1..=6).map(|a| policy.retry_delay(a).as_secs()).collect();
        assert_eq!(delays, [10, 20, 40, 60, 60, 60]);
        assert_eq!(policy.retry_delay(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn multipart_notice_names_the_parts() {
        let mut settings = GatewaySettings::new("lib", "sms.lib.test", "US".parse().unwrap());
        assert_eq!(
            settings.multipart_notice(3).as_deref(),
            Some("(sent as 3 SMS)")
        );
        settings.multipart_notice = None;
        assert_eq!(settings.multipart_notice(3), None);
    }
}
