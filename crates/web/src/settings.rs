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
}

impl Default for WebSettings {
    /// `Secure` cookies.
    fn default() -> Self {
        WebSettings {
            cookie: CookieSecurity::HttpsOnly,
        }
    }
}
