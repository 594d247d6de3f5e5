//! The AT driver's settings. The binary builds this from its TOML configuration.

use std::time::Duration;

use textgate_at::command::{DurationClass, NewMessageIndication};

use crate::quirks::ProfileChoice;

/// `from + wait`, or a year later if that overflows (a configured "forever").
pub(crate) fn deadline(from: tokio::time::Instant, wait: Duration) -> tokio::time::Instant {
    from.checked_add(wait)
        .unwrap_or_else(|| from + Duration::from_secs(365 * 24 * 3600))
}

/// How long each kind of command may take before the modem counts as unresponsive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Most commands: a modem answers in milliseconds.
    pub quick: Duration,
    /// Listing a full SIM, entering a PIN, querying the operator.
    pub slow: Duration,
    /// `AT+CMGS`: the round trip to the SMSC (python-gsmmodem waits 35 s, Kannel 20 s).
    pub network: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            quick: Duration::from_secs(5),
            slow: Duration::from_secs(20),
            network: Duration::from_secs(35),
        }
    }
}

impl Timeouts {
    pub fn for_class(&self, class: DurationClass) -> Duration {
        match class {
            DurationClass::Quick => self.quick,
            DurationClass::Slow => self.slow,
            DurationClass::Network => self.network,
        }
    }
}

/// Reopening a lost device: `initial`, doubling up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The wait before reopen attempt `attempt` (1 is the first retry).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// Everything the AT driver needs besides the device.
#[derive(Debug, Clone)]
pub struct ModemConfig {
    /// A label for logs (the gateway's name).
    pub name: String,
    /// The SIM PIN, if the SIM asks for one. Entered once per start-up; a refused PIN
    /// stops the driver (three wrong PINs lock the SIM).
    pub pin: Option<String>,
    /// Set when the SIM's SMSC address is empty.
    pub smsc: Option<String>,
    pub profile: ProfileChoice,
    /// Overrides the profile's `AT+CNMI` settings, e.g. `ROUTE_DIRECTLY` for `+CMT`
    /// delivery. The default (stored, `+CMTI`) loses nothing while the daemon is down.
    pub indication: Option<NewMessageIndication>,
    pub timeouts: Timeouts,
    /// Send `AT` after this long without traffic, to notice a hung modem.
    pub keepalive: Duration,
    /// Check storage use (and collect messages whose notification was lost) this often.
    pub storage_check: Duration,
    pub backoff: Backoff,
}

impl Default for ModemConfig {
    fn default() -> ModemConfig {
        ModemConfig {
            name: "modem".into(),
            pin: None,
            smsc: None,
            profile: ProfileChoice::Detect,
            indication: None,
            timeouts: Timeouts::default(),
            keepalive: Duration::from_secs(60),
            storage_check: Duration::from_secs(300),
            backoff: Backoff::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_limit() {
        let backoff = Backoff::default();
        let delays: Vec<u64> = (1..=9).map(|a| backoff.delay(a).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff.delay(u32::MAX), Duration::from_secs(60));
    }
}
