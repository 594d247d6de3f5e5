//! The settings of one running gateway. Plain data: the binary reads its TOML configuration
//! and builds these, so the configuration file format is not this crate's business.

use std::time::Duration;

use textgate_core::{AvailabilityRule, Region, RoutingPolicy};
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
            health_notices: false,
            health_notice_interval: Duration::from_secs(10 * 60),
            delivery_grace: Duration::from_secs(11 * 60),
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
