//! What the driver needs to reach a message centre; mirrors the daemon's `kind = "smpp"`
//! driver section (docs/configuration.md), with its defaults.

use std::path::PathBuf;
use std::time::Duration;

use textgate_smpp::Address;

/// How the driver binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindMode {
    /// One connection sends and receives (`bind_transceiver`): what most SMSCs offer.
    Transceiver,
    /// Two connections, one `bind_transmitter` for sending and one `bind_receiver` for
    /// texts and receipts: for SMSCs that do not offer transceivers.
    TransmitterReceiver,
}

/// How GSM 7-bit text goes into `short_message` with `data_coding` 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gsm7Packing {
    /// One septet per octet: what SMPP 3.4 SMSCs expect for their default alphabet.
    Unpacked,
    /// Eight septets in seven octets, as on the air: a few SMSCs want this.
    Packed,
}

/// How a text of several parts is submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Multipart {
    /// Each part carries its user data header (`esm_class` UDHI): the default, understood
    /// by every SMSC that passes concatenated texts on.
    Udh,
    /// The concatenation goes in the `sar_*` optional parameters and the SMSC builds the
    /// header: for SMSCs that refuse UDHI from applications.
    Sar,
    /// The whole text in one `submit_sm`'s `message_payload` parameter; the SMSC cuts it.
    /// It answers with one id, so every part is recorded under it, and its one receipt is
    /// about them all.
    Payload,
}

/// TLS towards the SMSC.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// The name the SMSC's certificate must carry; the address's host by default.
    pub server_name: Option<String>,
    /// Extra certificate authorities (PEM), for an aggregator with a private CA; the
    /// public web roots are always trusted.
    pub ca_file: Option<PathBuf>,
}

/// Everything the SMPP driver needs.
#[derive(Clone)]
pub struct SmppConfig {
    /// `host:port` of the SMSC.
    pub address: String,
    pub system_id: String,
    pub password: String,
    pub system_type: String,
    pub bind: BindMode,
    pub tls: Option<TlsSettings>,
    /// Submits outstanding at once (SMSCs allow 1 to 100; 10 is common).
    pub window: usize,
    /// Submits per second at most; `None` leaves the pace to the window and the SMSC's
    /// throttling answers.
    pub max_per_second: Option<u32>,
    /// The sender every text carries: long number, short code or alphanumeric, with its
    /// TON/NPI; empty means the SMSC's default for this account.
    pub source: Address,
    pub gsm7_packing: Gsm7Packing,
    pub multipart: Multipart,
    /// Ask for delivery receipts (`registered_delivery` 1): they become the librarian's
    /// XEP-0184 receipts and the campaigns' "delivered" counts.
    pub registered_delivery: bool,
    /// Silence after which an `enquire_link` is sent.
    pub enquire_link_interval: Duration,
    /// How long any request may wait for its answer before the link counts as dead.
    pub response_timeout: Duration,
    /// Reconnecting: the first pause, doubled each failure up to `reconnect_max`, each
    /// with up to a quarter of random jitter so many gateways do not reconnect in step.
    pub reconnect_initial: Duration,
    pub reconnect_max: Duration,
    /// The first pause after `ESME_RTHROTTLED`, doubled while the SMSC keeps throttling.
    pub throttle_pause: Duration,
    /// How long a part the SMSC keeps throttling is tried before its send fails (and the
    /// outbox tries again later).
    pub throttle_give_up: Duration,
}

impl std::fmt::Debug for SmppConfig {
    // Never print the password (configuration dumps and logs show Debug output).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmppConfig")
            .field("address", &self.address)
            .field("system_id", &self.system_id)
            .field("password", &"<hidden>")
            .field("system_type", &self.system_type)
            .field("bind", &self.bind)
            .field("tls", &self.tls)
            .field("window", &self.window)
            .field("max_per_second", &self.max_per_second)
            .field("source", &self.source)
            .field("gsm7_packing", &self.gsm7_packing)
            .field("multipart", &self.multipart)
            .field("registered_delivery", &self.registered_delivery)
            .finish_non_exhaustive()
    }
}

impl SmppConfig {
    /// A transceiver bind to `address` with the defaults: window 10, no rate limit,
    /// receipts asked for, unpacked GSM 7-bit, parts with user data headers, an
    /// `enquire_link` after 30 s of silence, 10 s for any answer, reconnecting after 1 s
    /// up to 60 s, throttling paused from 1 s and given up after 60 s.
    pub fn new(
        address: impl Into<String>,
        system_id: impl Into<String>,
        password: impl Into<String>,
    ) -> SmppConfig {
        SmppConfig {
            address: address.into(),
            system_id: system_id.into(),
            password: password.into(),
            system_type: String::new(),
            bind: BindMode::Transceiver,
            tls: None,
            window: 10,
            max_per_second: None,
            source: Address::default(),
            gsm7_packing: Gsm7Packing::Unpacked,
            multipart: Multipart::Udh,
            registered_delivery: true,
            enquire_link_interval: Duration::from_secs(30),
            response_timeout: Duration::from_secs(10),
            reconnect_initial: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(60),
            throttle_pause: Duration::from_secs(1),
            throttle_give_up: Duration::from_secs(60),
        }
    }

    /// The host part of the address, for TLS and logs.
    pub fn host(&self) -> &str {
        self.address
            .rsplit_once(':')
            .map_or(self.address.as_str(), |(host, _)| host)
            .trim_start_matches('[')
            .trim_end_matches(']')
    }

    /// The pause before reconnect attempt `attempt` (1 is the first retry), without jitter.
    pub fn reconnect_delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        self.reconnect_initial
            .saturating_mul(factor)
            .min(self.reconnect_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_the_address_without_its_port() {
        let mut config = SmppConfig::new("smsc.example.net:2775", "id", "pw");
        assert_eq!(config.host(), "smsc.example.net");
        config.address = "[::1]:2775".into();
        assert_eq!(config.host(), "::1");
    }

    #[test]
    fn reconnecting_backs_off_to_the_maximum() {
        let config = SmppConfig::new("h:1", "id", "pw");
        let delays: Vec<u64> = (1..=8)
            .map(|a| config.reconnect_delay(a).as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn the_password_never_shows_in_debug_output() {
        let config = SmppConfig::new("h:1", "id", "hunter2");
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
