//! The settings of one component session. Plain data: the binary reads its TOML and builds
//! these, so the wire format of the configuration file is not this crate's business.

use std::time::Duration;

use textgate_core::{BareJid, Region};

/// One gateway's XEP-0114 component.
#[derive(Debug, Clone)]
pub struct ComponentConfig {
    /// The component's domain, e.g. `sms.library.example`.
    pub domain: String,
    /// The shared secret configured on the server for this component.
    pub secret: String,
    /// Where the server's component port listens, `host:port` (e.g. `127.0.0.1:5347`).
    pub server: String,
    /// The operators of this gateway's queue (bare JIDs). Only they may send SMS.
    pub operators: Vec<BareJid>,
    /// The region national numbers typed into XEP-0100 are read in.
    pub region: Region,
    pub keepalive: KeepaliveConfig,
    pub backoff: BackoffConfig,
    /// How long a single connection attempt (TCP connect and handshake) may take.
    pub connect_timeout: Duration,
    /// The name clients show for the gateway's own JID (its vCard and nickname).
    pub display_name: String,
    /// Who else may receive the gateway's notices (an administrator hearing of the
    /// modem's health). They cannot send texts through it.
    pub watchers: Vec<BareJid>,
}

/// What clients call the gateway when the configuration gives it no name.
pub const DEFAULT_DISPLAY_NAME: &str = "SMS gateway";

impl ComponentConfig {
    /// A configuration with the default keepalive, backoff and timeouts.
    pub fn new(
        domain: impl Into<String>,
        secret: impl Into<String>,
        server: impl Into<String>,
        operators: Vec<BareJid>,
        region: Region,
    ) -> Self {
        ComponentConfig {
            domain: domain.into(),
            secret: secret.into(),
            server: server.into(),
            operators,
            region,
            keepalive: KeepaliveConfig::default(),
            backoff: BackoffConfig::default(),
            connect_timeout: Duration::from_secs(10),
            display_name: DEFAULT_DISPLAY_NAME.to_owned(),
            watchers: Vec::new(),
        }
    }
}

/// XEP-0199 pings to the server, so a half-dead link (TCP open, nothing flowing) is noticed.
#[derive(Debug, Clone)]
pub struct KeepaliveConfig {
    /// Time between pings.
    pub interval: Duration,
    /// How long to wait for the answer before the link is declared dead and reconnected.
    pub timeout: Duration,
    /// Whom to ping. `None` pings the parent domain of the component (`library.example` for
    /// `sms.library.example`), which is the server's host in the usual set-up. Any answer,
    /// even an error, proves the link is alive.
    pub target: Option<String>,
}

impl Default for KeepaliveConfig {
    fn default() -> Self {
        KeepaliveConfig {
            interval: Duration::from_secs(15),
            timeout: Duration::from_secs(5),
            target: None,
        }
    }
}

/// Reconnection delays: exponential from `initial` up to `max`, with random jitter so several
/// gateways don't hammer a restarted server in step.
#[derive(Debug, Clone)]
pub struct BackoffConfig {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(60),
        }
    }
}
