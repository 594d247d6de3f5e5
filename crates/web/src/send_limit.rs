//! How fast one caller may send texts through the send API: at most
//! [`WebSettings::sends_per_minute`](crate::WebSettings::sends_per_minute) texts in any
//! 60 seconds per token (per account for a signed-in session), so a runaway script or a
//! leaked token cannot empty the gateway's capacity. Kept in memory: a restart forgets
//! it, and daemons that share a database each count their own.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

/// Who is counted: a token, or an account signed in with a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Sender {
    Token(i64),
    Account(i64),
}

/// The send times of each caller in the last minute.
#[derive(Debug)]
pub(crate) struct SendLimiter {
    per_minute: u32,
    sent: Mutex<HashMap<Sender, VecDeque<DateTime<Utc>>>>,
}

impl SendLimiter {
    pub(crate) fn new(per_minute: u32) -> SendLimiter {
        SendLimiter {
            per_minute,
            sent: Mutex::new(HashMap::new()),
        }
    }

    /// Counts `texts` more texts for `who` at `now`, or refuses them all and says how
    /// many whole seconds until enough of the window has passed.
    pub(crate) fn take(&self, who: Sender, texts: u32, now: DateTime<Utc>) -> Result<(), u64> {
        let window = TimeDelta::minutes(1);
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        // Forget callers whose window has passed, so the map stays as small as the set
        // of callers of the last minute.
        sent.retain(|_, times| times.back().is_some_and(|t| now - *t < window));
        let times = sent.entry(who).or_default();
        while times.front().is_some_and(|t| now - *t >= window) {
            times.pop_front();
        }
        let allowed = usize::try_from(self.per_minute).unwrap_or(usize::MAX);
        let wanted = usize::try_from(texts).unwrap_or(usize::MAX);
        if times.len().saturating_add(wanted) > allowed {
            // The oldest send that must leave the window before these fit.
            let must_leave = (times.len() + wanted).saturating_sub(allowed);
            let wait = match times.get(must_leave.saturating_sub(1)) {
                Some(t) => (*t + window - now).num_seconds().max(1),
                None => window.num_seconds(),
            };
            return Err(u64::try_from(wait).unwrap_or(60));
        }
        times.extend(std::iter::repeat_n(now, wanted));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_caller_gets_its_minute_and_waits_for_the_oldest_send_to_leave_it() {
        let limiter = SendLimiter::new(3);
        let t0 = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap();
        let ils = Sender::Token(1);
        assert_eq!(limiter.take(ils, 2, t0), Ok(()));
        assert_eq!(limiter.take(ils, 1, t0 + TimeDelta::seconds(20)), Ok(()));
        assert_eq!(limiter.take(ils, 1, t0 + TimeDelta::seconds(30)), Err(30));
        // Another caller has its own minute.
        assert_eq!(limiter.take(Sender::Account(1), 3, t0), Ok(()));
        // Two sends leave the window at t0 + 60 s.
        assert_eq!(limiter.take(ils, 2, t0 + TimeDelta::seconds(60)), Ok(()));
        assert_eq!(limiter.take(ils, 1, t0 + TimeDelta::seconds(61)), Err(19));
        // More than the whole minute's allowance never fits.
        assert_eq!(limiter.take(Sender::Token(9), 4, t0), Err(60));
    }
}
