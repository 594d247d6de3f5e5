//! The metrics registry and its Prometheus exposition.
//!
//! [`Metrics`] is an `Arc` inside: clone it into every task that reports something. Each
//! method is one event or one reading in the runtime's terms, so call sites read as what
//! happened (`metrics.text_in("library")`) and the metric names live in one place.
//!
//! The exposition is the OpenMetrics text format, which Prometheus scrapes natively
//! (counters end in `_total`, the body ends with `# EOF`). Every series carries a `gateway`
//! label with the `[[gateway]] name`; failure reasons come from the closed [`SendFailure`]
//! set so a flood of odd modem errors cannot explode the number of series.

use std::fmt::Write as _;
use std::sync::Arc;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// The content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GatewayLabel {
    gateway: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    gateway: String,
    reason: SendFailure,
}

/// Why an SMS could not be sent, as a bounded label value.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum SendFailure {
    /// The network refused it (`+CMS ERROR` from the SMSC: barred, unassigned number...).
    Network,
    /// The modem refused it (`+CMS ERROR` about the PDU, the SIM or memory, `ERROR`).
    Modem,
    /// No answer in time (`+CMGS` never came).
    Timeout,
    /// The modem was not there (unplugged, resetting, PIN not entered).
    ModemUnavailable,
    /// The reply needed more parts than `max_parts` allows.
    TooLong,
    /// The recipient is not a number the gateway can text.
    BadRecipient,
    /// Anything else; the log line says what.
    Other,
}

impl SendFailure {
    /// The `reason` label's value.
    pub fn as_str(self) -> &'static str {
        match self {
            SendFailure::Network => "network",
            SendFailure::Modem => "modem",
            SendFailure::Timeout => "timeout",
            SendFailure::ModemUnavailable => "modem_unavailable",
            SendFailure::TooLong => "too_long",
            SendFailure::BadRecipient => "bad_recipient",
            SendFailure::Other => "other",
        }
    }
}

impl EncodeLabelValue for SendFailure {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

/// The daemon's metrics. Cheap to clone; all clones update the same series.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    texts_in: Family<GatewayLabel, Counter>,
    conversations: Family<GatewayLabel, Counter>,
    texts_out: Family<GatewayLabel, Counter>,
    sms_parts_out: Family<GatewayLabel, Counter>,
    sms_parts_resent_unsure: Family<GatewayLabel, Counter>,
    send_failures: Family<FailureLabels, Counter>,
    outbox_depth: Family<GatewayLabel, Gauge>,
    offline_backlog: Family<GatewayLabel, Gauge>,
    modem_signal: Family<GatewayLabel, Gauge>,
    modem_ready: Family<GatewayLabel, Gauge>,
    modem_restarts: Family<GatewayLabel, Counter>,
    xmpp_connected: Family<GatewayLabel, Gauge>,
    xmpp_reconnects: Family<GatewayLabel, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every series textgate reports, all `textgate_`-prefixed, plus
    /// `textgate_build_info{version}`.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("textgate");
        let texts_in = Family::<GatewayLabel, Counter>::default();
        let conversations = Family::<GatewayLabel, Counter>::default();
        let texts_out = Family::<GatewayLabel, Counter>::default();
        let sms_parts_out = Family::<GatewayLabel, Counter>::default();
        let send_failures = Family::<FailureLabels, Counter>::default();
        let sms_parts_resent_unsure = Family::<GatewayLabel, Counter>::default();
        let outbox_depth = Family::<GatewayLabel, Gauge>::default();
        let offline_backlog = Family::<GatewayLabel, Gauge>::default();
        let modem_signal = Family::<GatewayLabel, Gauge>::default();
        let modem_ready = Family::<GatewayLabel, Gauge>::default();
        let modem_restarts = Family::<GatewayLabel, Counter>::default();
        let xmpp_connected = Family::<GatewayLabel, Gauge>::default();
        let xmpp_reconnects = Family::<GatewayLabel, Counter>::default();
        registry.register(
            "build",
            "textgate's version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        registry.register(
            "texts_in",
            "Texts received from patrons (after reassembly) and committed to the store",
            texts_in.clone(),
        );
        registry.register(
            "conversations",
            "Conversations started: a patron's first text, or their first after the conversation ended for want of activity",
            conversations.clone(),
        );
        registry.register(
            "texts_out",
            "Replies handed to the network (all their parts accepted by the modem)",
            texts_out.clone(),
        );
        registry.register(
            "sms_parts_out",
            "SMS parts accepted by the modem (a long reply is several)",
            sms_parts_out.clone(),
        );
        registry.register(
            "sms_parts_resent_unsure",
            "SMS parts sent again although an earlier attempt may have sent them (its answer was lost with the daemon or the link, and no status report showed it arrived): each may reach the phone twice",
            sms_parts_resent_unsure.clone(),
        );
        registry.register(
            "send_failures",
            "Replies that failed for good after their retries, by reason",
            send_failures.clone(),
        );
        registry.register(
            "outbox_depth",
            "Replies waiting in the outbox to be sent",
            outbox_depth.clone(),
        );
        registry.register(
            "offline_backlog",
            "Received texts waiting for an operator to come online",
            offline_backlog.clone(),
        );
        registry.register(
            "modem_signal_csq",
            "The modem's last AT+CSQ signal reading: 0 (-113 dBm or less) to 31 (-51 dBm or more), 99 unknown",
            modem_signal.clone(),
        );
        registry.register(
            "modem_ready",
            "1 while the modem is open, answers and can send (SIM unlocked, registered), else 0",
            modem_ready.clone(),
        );
        registry.register(
            "modem_restarts",
            "Times the modem supervisor reopened or reset the modem",
            modem_restarts.clone(),
        );
        registry.register(
            "xmpp_connected",
            "1 while the XMPP component session is authenticated, else 0",
            xmpp_connected.clone(),
        );
        registry.register(
            "xmpp_reconnects",
            "Times the XMPP component session was re-established after a loss",
            xmpp_reconnects.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                texts_in,
                conversations,
                texts_out,
                sms_parts_out,
                sms_parts_resent_unsure,
                send_failures,
                outbox_depth,
                offline_backlog,
                modem_signal,
                modem_ready,
                modem_restarts,
                xmpp_connected,
                xmpp_reconnects,
            }),
        }
    }

    /// Makes every per-gateway series of `gateway` exist at zero, so dashboards and alerts
    /// see the gateway from start-up rather than from its first event. Call it once per
    /// configured gateway, before starting it.
    pub fn register_gateway(&self, gateway: &str) {
        let label = label(gateway);
        let i = &self.inner;
        i.texts_in.get_or_create(&label).inc_by(0);
        i.conversations.get_or_create(&label).inc_by(0);
        i.texts_out.get_or_create(&label).inc_by(0);
        i.sms_parts_out.get_or_create(&label).inc_by(0);
        i.sms_parts_resent_unsure.get_or_create(&label).inc_by(0);
        i.outbox_depth.get_or_create(&label).set(0);
        i.offline_backlog.get_or_create(&label).set(0);
        i.modem_signal.get_or_create(&label).set(99);
        i.modem_ready.get_or_create(&label).set(0);
        i.modem_restarts.get_or_create(&label).inc_by(0);
        i.xmpp_connected.get_or_create(&label).set(0);
        i.xmpp_reconnects.get_or_create(&label).inc_by(0);
    }

    /// A text from a patron was committed to the store (once per text, not per part).
    pub fn text_in(&self, gateway: &str) {
        self.inner.texts_in.get_or_create(&label(gateway)).inc();
    }

    /// A conversation started (a patron's first text, or their first after an idle end).
    pub fn conversation_started(&self, gateway: &str) {
        self.inner
            .conversations
            .get_or_create(&label(gateway))
            .inc();
    }

    /// A reply of `parts` SMS parts was accepted by the modem.
    pub fn text_out(&self, gateway: &str, parts: u32) {
        let label = label(gateway);
        self.inner.texts_out.get_or_create(&label).inc();
        self.inner
            .sms_parts_out
            .get_or_create(&label)
            .inc_by(u64::from(parts));
    }

    /// A part whose earlier outcome was lost is sent again (it may arrive twice).
    pub fn part_resent_unsure(&self, gateway: &str) {
        self.inner
            .sms_parts_resent_unsure
            .get_or_create(&label(gateway))
            .inc();
    }

    /// A reply failed for good (no retry left, or not retryable).
    pub fn send_failed(&self, gateway: &str, reason: SendFailure) {
        self.inner
            .send_failures
            .get_or_create(&FailureLabels {
                gateway: gateway.to_owned(),
                reason,
            })
            .inc();
    }

    /// The number of replies now waiting in the outbox.
    pub fn set_outbox_depth(&self, gateway: &str, depth: u64) {
        set(&self.inner.outbox_depth, gateway, depth);
    }

    /// The number of received texts now waiting for an operator.
    pub fn set_offline_backlog(&self, gateway: &str, texts: u64) {
        set(&self.inner.offline_backlog, gateway, texts);
    }

    /// The modem's latest `AT+CSQ` reading (`<rssi>`: 0 to 31, 99 when unknown). `None`
    /// records 99.
    pub fn set_modem_signal(&self, gateway: &str, csq: Option<u8>) {
        set(
            &self.inner.modem_signal,
            gateway,
            u64::from(csq.unwrap_or(99)),
        );
    }

    /// The modem supervisor reopened or reset the modem.
    pub fn modem_restarted(&self, gateway: &str) {
        self.inner
            .modem_restarts
            .get_or_create(&label(gateway))
            .inc();
    }

    /// The XMPP component session came back after being lost (not the first connect).
    pub fn xmpp_reconnected(&self, gateway: &str) {
        self.inner
            .xmpp_reconnects
            .get_or_create(&label(gateway))
            .inc();
    }

    /// Set by [`crate::Readiness`]; the runtime reports states there, not here.
    pub(crate) fn set_modem_ready(&self, gateway: &str, ready: bool) {
        set(&self.inner.modem_ready, gateway, u64::from(ready));
    }

    /// Set by [`crate::Readiness`].
    pub(crate) fn set_xmpp_connected(&self, gateway: &str, connected: bool) {
        set(&self.inner.xmpp_connected, gateway, u64::from(connected));
    }

    /// Every series in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail, and the registry holds no metric whose
        // encoder returns an error, so the result carries no information.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.inner.registry);
        out
    }
}

fn label(gateway: &str) -> GatewayLabel {
    GatewayLabel {
        gateway: gateway.to_owned(),
    }
}

fn set(family: &Family<GatewayLabel, Gauge>, gateway: &str, value: u64) {
    family
        .get_or_create(&label(gateway))
        .set(i64::try_from(value).unwrap_or(i64::MAX));
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    #[test]
    fn a_fresh_gateway_shows_every_series_at_its_resting_value() {
        let metrics = Metrics::new();
        metrics.register_gateway("library");
        expect![[r##"
            # HELP textgate_build textgate's version.
            # TYPE textgate_build info
            textgate_build_info{version="0.1.0"} 1
            # HELP textgate_texts_in Texts received from patrons (after reassembly) and committed to the store.
            # TYPE textgate_texts_in counter
            textgate_texts_in_total{gateway="library"} 0
            # HELP textgate_conversations Conversations started: a patron's first text, or their first after the conversation ended for want of activity.
            # TYPE textgate_conversations counter
            textgate_conversations_total{gateway="library"} 0
            # HELP textgate_texts_out Replies handed to the network (all their parts accepted by the modem).
            # TYPE textgate_texts_out counter
            textgate_texts_out_total{gateway="library"} 0
            # HELP textgate_sms_parts_out SMS parts accepted by the modem (a long reply is several).
            # TYPE textgate_sms_parts_out counter
            textgate_sms_parts_out_total{gateway="library"} 0
            # HELP textgate_sms_parts_resent_unsure SMS parts sent again although an earlier attempt may have sent them (its answer was lost with the daemon or the link, and no status report showed it arrived): each may reach the phone twice.
            # TYPE textgate_sms_parts_resent_unsure counter
            textgate_sms_parts_resent_unsure_total{gateway="library"} 0
            # HELP textgate_outbox_depth Replies waiting in the outbox to be sent.
            # TYPE textgate_outbox_depth gauge
            textgate_outbox_depth{gateway="library"} 0
            # HELP textgate_offline_backlog Received texts waiting for an operator to come online.
            # TYPE textgate_offline_backlog gauge
            textgate_offline_backlog{gateway="library"} 0
            # HELP textgate_modem_signal_csq The modem's last AT+CSQ signal reading: 0 (-113 dBm or less) to 31 (-51 dBm or more), 99 unknown.
            # TYPE textgate_modem_signal_csq gauge
            textgate_modem_signal_csq{gateway="library"} 99
            # HELP textgate_modem_ready 1 while the modem is open, answers and can send (SIM unlocked, registered), else 0.
            # TYPE textgate_modem_ready gauge
            textgate_modem_ready{gateway="library"} 0
            # HELP textgate_modem_restarts Times the modem supervisor reopened or reset the modem.
            # TYPE textgate_modem_restarts counter
            textgate_modem_restarts_total{gateway="library"} 0
            # HELP textgate_xmpp_connected 1 while the XMPP component session is authenticated, else 0.
            # TYPE textgate_xmpp_connected gauge
            textgate_xmpp_connected{gateway="library"} 0
            # HELP textgate_xmpp_reconnects Times the XMPP component session was re-established after a loss.
            # TYPE textgate_xmpp_reconnects counter
            textgate_xmpp_reconnects_total{gateway="library"} 0
            # EOF
        "##]]
        .assert_eq(&metrics.encode());
    }

    /// Only the series that moved, so the snapshot shows exactly what each call did.
    /// Sorted, because a family keeps its series in a hash map.
    fn moved(metrics: &Metrics) -> String {
        let mut lines: Vec<String> = metrics
            .encode()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("textgate_build"))
            .map(|l| format!("{l}\n"))
            .collect();
        lines.sort();
        lines.concat()
    }

    #[test]
    fn events_move_their_own_series_per_gateway() {
        let metrics = Metrics::new();
        let clone = metrics.clone();
        metrics.text_in("library");
        clone.text_in("library");
        metrics.text_in("campus");
        metrics.text_out("library", 3);
        metrics.send_failed("library", SendFailure::Network);
        metrics.send_failed("library", SendFailure::Network);
        metrics.send_failed("campus", SendFailure::TooLong);
        metrics.set_outbox_depth("library", 4);
        metrics.set_offline_backlog("campus", 12);
        metrics.set_modem_signal("library", Some(21));
        metrics.set_modem_signal("campus", None);
        metrics.modem_restarted("campus");
        metrics.xmpp_reconnected("library");
        metrics.set_modem_ready("library", true);
        metrics.set_xmpp_connected("campus", false);
        expect![[r#"
            textgate_modem_ready{gateway="library"} 1
            textgate_modem_restarts_total{gateway="campus"} 1
            textgate_modem_signal_csq{gateway="campus"} 99
            textgate_modem_signal_csq{gateway="library"} 21
            textgate_offline_backlog{gateway="campus"} 12
            textgate_outbox_depth{gateway="library"} 4
            textgate_send_failures_total{gateway="campus",reason="too_long"} 1
            textgate_send_failures_total{gateway="library",reason="network"} 2
            textgate_sms_parts_out_total{gateway="library"} 3
            textgate_texts_in_total{gateway="campus"} 1
            textgate_texts_in_total{gateway="library"} 2
            textgate_texts_out_total{gateway="library"} 1
            textgate_xmpp_connected{gateway="campus"} 0
            textgate_xmpp_reconnects_total{gateway="library"} 1
        "#]]
        .assert_eq(&moved(&metrics));
    }

    #[test]
    fn label_values_are_escaped() {
        let metrics = Metrics::new();
        metrics.text_in("odd\"name\\\n");
        assert!(
            metrics
                .encode()
                .contains(r#"textgate_texts_in_total{gateway="odd\"name\\\n"} 1"#),
            "{}",
            metrics.encode()
        );
    }
}
