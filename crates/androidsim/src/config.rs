//! The knobs of a simulated phone.

use std::time::Duration;

use chrono::{FixedOffset, Offset, Utc};

/// How the simulated phone is set up. Every field has a default (see [`Default`]); tests
/// usually shorten the delays with `..PhoneConfig::default()`.
#[derive(Debug, Clone)]
pub struct PhoneConfig {
    /// User name of the local server's basic auth (the app's Settings → Local Server).
    pub username: String,
    /// Password of the local server's basic auth.
    pub password: String,
    /// HMAC-SHA256 key the webhooks are signed with (Settings → Webhooks → Signing Key).
    pub signing_key: String,
    /// The device id the app reports in webhook envelopes and message states.
    pub device_id: String,
    /// How many SIM cards are active (1 or 2). A send naming a SIM above this is accepted
    /// with 202 and then fails with `Can't send message: SIM n not found`, as on the phone.
    pub sim_count: u8,
    /// The phone number of each SIM (index 0 is SIM 1), when the phone knows it. The app
    /// reports it as `recipient` of `sms:received` and `sender` of `sms:sent` and the other
    /// status events; many phones do not know their own number, and then the field is left
    /// out, as here when the list is shorter.
    pub sim_phone_numbers: Vec<String>,
    /// The phone's time zone: every time in a body is written in it.
    pub utc_offset: FixedOffset,
    /// From acceptance to the network's acknowledgement: the message is handed to the
    /// network (`Processed`) after half of this and is `Sent` after all of it.
    pub send_delay: Duration,
    /// From `Sent` to `Delivered`, when the send asked for a delivery report.
    pub delivery_delay: Duration,
    /// The wait before the first webhook retry; each further retry waits twice as long
    /// as the one before. The app waits 5 s before the first retry.
    pub webhook_retry_base: Duration,
    /// How many times a failed webhook is retried after its first attempt. The app's
    /// default is 15 (`WebhooksSettings.retryCount`).
    pub webhook_retries: u32,
    /// A webhook POST whose answer takes longer than this counts as failed. The app's
    /// client allows 30 s for the whole request but only 5 s without a byte from the
    /// receiver (OkHttp `socketTimeout`), so a silent receiver fails after 5 s.
    pub webhook_timeout: Duration,
    /// Post `system:ping` this often, when set (the app's Settings → Ping).
    pub ping_interval: Option<Duration>,
}

impl Default for PhoneConfig {
    fn default() -> Self {
        PhoneConfig {
            username: "sms".to_owned(),
            password: "password".to_owned(),
            signing_key: "signing1".to_owned(),
            device_id: "androidsim0000000001".to_owned(),
            sim_count: 1,
            sim_phone_numbers: Vec::new(),
            utc_offset: Utc.fix(),
            send_delay: Duration::from_millis(50),
            delivery_delay: Duration::from_millis(50),
            webhook_retry_base: Duration::from_secs(1),
            webhook_retries: 15,
            webhook_timeout: Duration::from_secs(5),
            ping_interval: None,
        }
    }
}

/// Whether the control API (`/control/...`, no auth) is served beside the app's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ControlApi {
    /// Only the app's API, as on a real phone (tests steer the phone through [`crate::Phone`]).
    #[default]
    Off,
    /// `/control/receive`, `/control/offline` and `/control/sent` too, without auth; for
    /// the binary, steered from outside the process. Reachable by anyone who can reach the
    /// listen address, so bind it to loopback.
    On,
}
