//! The console's own settings: how it sets its cookie. Everything about alerts (keys,
//! region, modems, carriers, limits, password cost, session lifetime) is the alert
//! service's ([`textgate_alert_service::AlertSettings`]).

/// Whether session cookies carry the `Secure` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieSecurity {
    /// `Secure`: the browser sends the cookie over HTTPS only. Use it whenever users reach
    /// the console over TLS, including through a TLS-terminating proxy.
    HttpsOnly,
    /// No `Secure` attribute: plain HTTP on a trusted network or in tests.
    AllowPlainHttp,
}

/// Everything the console needs besides the alert service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebSettings {
    pub cookie: CookieSecurity,
    /// The most texts one token (or one signed-in account) may send through the send API
    /// in any 60 seconds.
    pub sends_per_minute: u32,
}

/// The default [`WebSettings::sends_per_minute`]: well above a library system's notices
/// (sent in batches of tens), well below what would empty a modem's hour.
pub const DEFAULT_SENDS_PER_MINUTE: u32 = 60;

impl Default for WebSettings {
    /// `Secure` cookies; [`DEFAULT_SENDS_PER_MINUTE`].
    fn default() -> Self {
        WebSettings {
            cookie: CookieSecurity::HttpsOnly,
            sends_per_minute: DEFAULT_SENDS_PER_MINUTE,
        }
    }
}
