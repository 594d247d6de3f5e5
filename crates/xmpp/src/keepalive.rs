//! What both component sessions (a gateway's and the alerts' announcer) do the same way:
//! connect within a time limit, and ping the server so a half-dead link (TCP open, nothing
//! flowing) is noticed.

use std::time::Duration;

use tokio::time::{sleep_until, timeout, Instant};
use tokio_xmpp::xmlstream::Timeouts;

use crate::config::KeepaliveConfig;
use crate::link::ComponentLink;

/// Connects to `server` as component `domain` within `connect_timeout`. The XML stream's
/// own timers are only a backstop behind the keepalive, set well beyond a whole ping cycle.
pub(crate) async fn connect(
    server: &str,
    domain: &str,
    secret: &str,
    keepalive: &KeepaliveConfig,
    connect_timeout: Duration,
) -> Result<ComponentLink, String> {
    let cycle = keepalive.interval + keepalive.timeout;
    let timeouts = Timeouts {
        read_timeout: cycle * 3 + Duration::from_secs(1),
        response_timeout: cycle * 3 + Duration::from_secs(1),
    };
    match timeout(
        connect_timeout,
        ComponentLink::connect(server, domain, secret, timeouts),
    )
    .await
    {
        Ok(result) => result,
        Err(_) => Err(format!(
            "connecting to {server}: no handshake within {connect_timeout:?}"
        )),
    }
}

/// What the keepalive asks for when its time comes.
pub(crate) enum Tick {
    /// Send a ping with this id.
    Ping(String),
    /// The last ping went unanswered: the link is dead.
    Dead(String),
}

/// One connection's pings: one in flight at a time, the next `interval` after the last.
pub(crate) struct Pings {
    interval: Duration,
    timeout: Duration,
    next_at: Instant,
    /// The id of the ping in flight and when its answer is due.
    pending: Option<(String, Instant)>,
}

impl Pings {
    pub(crate) fn new(config: &KeepaliveConfig) -> Pings {
        Pings {
            interval: config.interval,
            timeout: config.timeout,
            next_at: Instant::now() + config.interval,
            pending: None,
        }
    }

    /// An iq answer arrived: if it answers the ping in flight, the link is alive.
    pub(crate) fn answered(&mut self, id: &str) {
        if self.pending.as_ref().is_some_and(|(ping, _)| ping == id) {
            self.pending = None;
        }
    }

    /// Waits until the next ping is due (its id made with `counter`) or the one in flight is
    /// overdue. Cancel-safe: nothing changes until the wait is over.
    pub(crate) async fn tick(&mut self, counter: &mut u64) -> Tick {
        match &self.pending {
            Some((_, due)) => {
                sleep_until(*due).await;
                Tick::Dead(format!(
                    "no answer to a keepalive ping within {:?}",
                    self.timeout
                ))
            }
            None => {
                sleep_until(self.next_at).await;
                *counter += 1;
                let id = format!("keepalive-{counter}");
                let now = Instant::now();
                self.pending = Some((id.clone(), now + self.timeout));
                self.next_at = now + self.interval;
                Tick::Ping(id)
            }
        }
    }
}
