//! While the device is away: between connections (the backoff before a reopen) and for
//! good once a person must act (a PIN refused, a blocked SIM). Requests are answered at
//! once with the reason rather than left waiting, and acknowledgements are kept: a stored
//! message acknowledged meanwhile is deleted after the next connection's start-up reads
//! its slot again; a routed one is lost with its connection, so the network delivers it
//! again.

use std::time::Duration;

use tokio::time::{sleep_until, Instant};

use super::{Driver, Request};
use crate::config::deadline;
use crate::driver::{AckToken, Origin, SendError, SendFailure, StatusError};

impl Driver {
    /// Waits out a backoff delay, answering requests that they cannot be served now.
    /// Returns false when the driver should stop.
    pub(super) async fn wait_disconnected(&mut self, delay: Duration, reason: &str) -> bool {
        let until = deadline(Instant::now(), delay);
        loop {
            tokio::select! {
                _ = sleep_until(until) => return true,
                token = self.acks.recv() => match token {
                    Some(token) => self.defer(token),
                    None => return false,
                },
                request = self.requests.recv() => match request {
                    Some(request) => refuse(request, reason),
                    None => return false,
                },
            }
        }
    }

    /// After a refused PIN: answer every request with the reason, until shut down.
    pub(super) async fn refuse_until_shutdown(&mut self, reason: &str) {
        let reason = format!("stopped until a person acts: {reason}");
        loop {
            tokio::select! {
                token = self.acks.recv() => match token {
                    Some(token) => self.defer(token),
                    None => return,
                },
                request = self.requests.recv() => match request {
                    Some(request) => refuse(request, &reason),
                    None => return,
                },
            }
        }
    }

    /// Answers every request already queued with `reason`, without waiting for more.
    pub(super) fn refuse_queued(&mut self, reason: &str) {
        while let Ok(request) = self.requests.try_recv() {
            refuse(request, reason);
        }
    }

    fn defer(&mut self, token: AckToken) {
        match token.origin {
            Origin::Stored { index } if self.acknowledges_current(&token) => {
                self.retry_delete(index)
            }
            Origin::Stored { index } => {
                tracing::debug!(
                    slot = index,
                    "acknowledgement for a message no longer in its slot; nothing deleted"
                )
            }
            Origin::Routed | Origin::Smsc { .. } => {
                tracing::debug!(
                    "acknowledgement after the connection was lost; the network delivers again"
                )
            }
        }
    }
}

fn refuse(request: Request, reason: &str) {
    match request {
        Request::Send { reply, .. } => {
            let _ = reply.send(Err(SendError {
                failure: SendFailure::Unavailable(reason.to_owned()),
                accepted: Vec::new(),
            }));
        }
        Request::Status { reply } => {
            let _ = reply.send(Err(StatusError::Unavailable(reason.to_owned())));
        }
    }
}
