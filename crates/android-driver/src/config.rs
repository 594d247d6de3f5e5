//! The settings of a `kind = "android"` gateway and their defaults.

use std::time::Duration;

use textgate_android::{ApiMode, SimNumber};

/// How to reach the phone (or the SMSGate server in front of it) and how to treat it.
#[derive(Debug, Clone)]
pub struct AndroidConfig {
    /// The gateway's name: it names the webhook path and our webhook registrations.
    pub gateway: String,
    /// Where the API is: the phone's own server (`http://192.168.1.20:8080`), the cloud
    /// (`https://api.sms-gate.app`) or a private server (`https://sms.example.org`).
    pub api_url: String,
    /// Which of those it is; it decides every path.
    pub mode: ApiMode,
    /// The app's (or the server's) basic-auth user and password.
    pub username: String,
    pub password: String,
    /// The key the app signs its webhooks with (Settings → Webhooks → Signing Key).
    pub signing_key: String,
    /// The URL the phone posts its webhooks to: this daemon's HTTP listener as the phone
    /// reaches it, ending in [`webhook_path`]. The app takes only `https://`, or plain
    /// `http://` to `127.0.0.1`.
    pub webhook_url: String,
    /// The SIM to send from (1 is the first slot); `None` lets the app choose.
    pub sim: Option<SimNumber>,
    /// In server mode, the phone to send through when the account has several.
    pub device_id: Option<String>,
    /// SMS parts handed to the phone in any 60 s. Android warns, and asks the person
    /// holding the phone, above 30 SMS per 60 s per app (AOSP `SmsUsageMonitor`); a
    /// gateway phone nobody watches must stay under that.
    pub per_minute: u32,
    /// Whether to ask the network for delivery reports (XEP-0184 receipts need them).
    pub delivery_reports: bool,
    /// How long the phone may keep trying a text before it gives up (`TTL expired`).
    pub ttl: Duration,
    /// How long one HTTP request to the phone may take.
    pub request_timeout: Duration,
    /// How long a send waits for the phone to say it sent the text before the outbox is
    /// told to try later (the next try looks the same message up; it never sends twice).
    pub send_timeout: Duration,
    /// How long to wait for a webhook before asking the phone for a message's state.
    pub poll_interval: Duration,
    /// How long the phone may stay silent (no ping, no webhook, no answer) before the
    /// gateway counts it gone: unready, replies wait, operators are told.
    pub offline_after: Duration,
}

impl AndroidConfig {
    /// The defaults around the values every gateway must give.
    pub fn new(
        gateway: &str,
        api_url: &str,
        mode: ApiMode,
        username: &str,
        password: &str,
        signing_key: &str,
        webhook_url: &str,
    ) -> AndroidConfig {
        AndroidConfig {
            gateway: gateway.to_owned(),
            api_url: api_url.trim_end_matches('/').to_owned(),
            mode,
            username: username.to_owned(),
            password: password.to_owned(),
            signing_key: signing_key.to_owned(),
            webhook_url: webhook_url.to_owned(),
            sim: None,
            device_id: None,
            per_minute: ANDROID_LIMIT_PER_MINUTE,
            delivery_reports: true,
            ttl: Duration::from_secs(24 * 60 * 60),
            request_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(120),
            poll_interval: Duration::from_secs(30),
            offline_after: Duration::from_secs(120),
        }
    }
}

/// Android's default allowance: 30 SMS per 60 s per app (`DEFAULT_SMS_MAX_COUNT`,
/// `DEFAULT_SMS_CHECK_PERIOD` in AOSP `SmsUsageMonitor`; see `crates/android/README.md`).
pub const ANDROID_LIMIT_PER_MINUTE: u32 = 30;

/// Where this daemon serves the webhooks of the gateway named `gateway`.
pub fn webhook_path(gateway: &str) -> String {
    format!("/android/{gateway}/webhook")
}
