//! How often a member may press **Save and Test**.
//!
//! A test sends a real text to whatever number was typed, so the button could be used to
//! pester somebody else's phone. The limiter allows a few tests in a short window and a
//! few more per day (sliding windows over the times of past tests). It keeps no clock: the
//! caller passes `now`, and can rebuild a limiter from the test log after a restart
//! ([`TestRateLimiter::from_history`]), so the limit survives restarts and is shared by
//! daemons that share a database. The web layer keeps one limiter per member and one per
//! destination number (by blind index), so changing accounts does not reset the count for
//! a number.

use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};

/// At most `max` tests in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowLimit {
    /// Tests allowed in the window.
    pub max: u32,
    /// Length of the sliding window.
    pub window: TimeDelta,
}

/// The limits a test must pass, all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRatePolicy {
    limits: Vec<WindowLimit>,
}

impl Default for TestRatePolicy {
    /// 3 tests in 10 minutes and 10 in a day: enough to fix a typo and try again, too few
    /// to harass anyone.
    fn default() -> Self {
        Self {
            limits: vec![
                WindowLimit {
                    max: 3,
                    window: TimeDelta::minutes(10),
                },
                WindowLimit {
                    max: 10,
                    window: TimeDelta::days(1),
                },
            ],
        }
    }
}

impl TestRatePolicy {
    /// A policy from explicit limits (a limit with `max` 0 forbids tests altogether).
    pub fn new(limits: Vec<WindowLimit>) -> Self {
        Self { limits }
    }

    fn longest_window(&self) -> TimeDelta {
        self.limits
            .iter()
            .map(|l| l.window)
            .max()
            .unwrap_or(TimeDelta::zero())
    }
}

/// A test refused by the limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many tests: at most {max} in {window_minutes} minutes; try again after {retry_after}")]
pub struct RateLimited {
    /// The moment a test will be allowed again.
    pub retry_after: DateTime<Utc>,
    /// The limit that refused it.
    pub max: u32,
    /// That limit's window in minutes.
    pub window_minutes: i64,
}

/// The sliding-window limiter for one member or one destination.
#[derive(Debug, Clone)]
pub struct TestRateLimiter {
    policy: TestRatePolicy,
    /// Times of accepted tests, oldest first.
    sent: VecDeque<DateTime<Utc>>,
}

impl TestRateLimiter {
    /// A limiter with no tests recorded.
    pub fn new(policy: TestRatePolicy) -> Self {
        Self {
            policy,
            sent: VecDeque::new(),
        }
    }

    /// A limiter that already counts the tests at `times` (from the test log, any order).
    pub fn from_history(
        policy: TestRatePolicy,
        times: impl IntoIterator<Item = DateTime<Utc>>,
    ) -> Self {
        let mut sent: Vec<DateTime<Utc>> = times.into_iter().collect();
        sent.sort();
        Self {
            policy,
            sent: sent.into(),
        }
    }

    /// Whether a test at `now` is allowed, without recording it.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), RateLimited> {
        let mut refusal: Option<RateLimited> = None;
        for limit in &self.policy.limits {
            let window_start = before(now, limit.window);
            // Tests stamped after `now` (the clock went back) count as inside the window:
            // a clock step must not hand out free tests.
            let inside: Vec<&DateTime<Utc>> =
                self.sent.iter().filter(|&&t| t > window_start).collect();
            let count = u32::try_from(inside.len()).unwrap_or(u32::MAX);
            if count < limit.max {
                continue;
            }
            // Allowed again once enough of the tests inside have left the window: the
            // (count - max + 1)-th oldest one must leave.
            let leaving = (count - limit.max) as usize;
            let retry_after = match inside.get(leaving) {
                Some(&&t) => after(t, limit.window),
                // max == 0 and nothing inside: never allowed; report the window's end.
                None => after(now, limit.window),
            };
            let later = refusal.is_none_or(|r| retry_after > r.retry_after);
            if later {
                refusal = Some(RateLimited {
                    retry_after,
                    max: limit.max,
                    window_minutes: limit.window.num_minutes(),
                });
            }
        }
        refusal.map_or(Ok(()), Err)
    }

    /// Allow and record a test at `now`, or refuse it. Refused attempts are not recorded,
    /// so hammering the button does not push the retry time further away.
    pub fn try_acquire(&mut self, now: DateTime<Utc>) -> Result<(), RateLimited> {
        self.check(now)?;
        self.forget_before(before(now, self.policy.longest_window()));
        let position = self.sent.partition_point(|&t| t <= now);
        self.sent.insert(position, now);
        Ok(())
    }

    /// Tests recorded (still inside the longest window as of the last acquisition).
    pub fn recorded(&self) -> usize {
        self.sent.len()
    }

    fn forget_before(&mut self, cutoff: DateTime<Utc>) {
        while self.sent.front().is_some_and(|&t| t <= cutoff) {
            self.sent.pop_front();
        }
    }
}

/// `t - window`, saturating at the start of time (windows come from configuration).
fn before(t: DateTime<Utc>, window: TimeDelta) -> DateTime<Utc> {
    t.checked_sub_signed(window)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// `t + window`, saturating at the end of time.
fn after(t: DateTime<Utc>, window: TimeDelta) -> DateTime<Utc> {
    t.checked_add_signed(window)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn three_in_ten_minutes_then_wait_for_the_oldest() {
        let mut limiter = TestRateLimiter::new(TestRatePolicy::default());
        for s in [0, 60, 120] {
            limiter.try_acquire(at(s)).unwrap();
        }
        let refused = limiter.try_acquire(at(180)).unwrap_err();
        assert_eq!(refused.retry_after, at(600));
        assert_eq!(refused.max, 3);
        assert_eq!(
            limiter.try_acquire(at(599)).unwrap_err().retry_after,
            at(600)
        );
        limiter.try_acquire(at(600)).unwrap();
        assert_eq!(
            limiter.try_acquire(at(601)).unwrap_err().retry_after,
            at(660)
        );
    }

    #[test]
    fn daily_limit_applies_after_the_short_one() {
        let mut limiter = TestRateLimiter::new(TestRatePolicy::default());
        // Ten tests spread out so the 10-minute window never fills.
        for i in 0..10 {
            limiter.try_acquire(at(i * 700)).unwrap();
        }
        let refused = limiter.try_acquire(at(10 * 700)).unwrap_err();
        assert_eq!(refused.max, 10);
        assert_eq!(refused.retry_after, at(86_400));
        assert_eq!(
            refused.to_string(),
            format!(
                "too many tests: at most 10 in 1440 minutes; try again after {}",
                at(86_400)
            )
        );
        limiter.try_acquire(at(86_400)).unwrap();
    }

    #[test]
    fn history_from_the_test_log_counts() {
        let limiter =
            TestRateLimiter::from_history(TestRatePolicy::default(), [at(120), at(0), at(60)]);
        assert_eq!(limiter.check(at(200)).unwrap_err().retry_after, at(600));
        // A test stamped in the future (clock stepped back) still counts.
        let limiter =
            TestRateLimiter::from_history(TestRatePolicy::default(), [at(0), at(60), at(5000)]);
        assert!(limiter.check(at(100)).is_err());
    }

    #[test]
    fn zero_limit_refuses_everything() {
        let policy = TestRatePolicy::new(vec![WindowLimit {
            max: 0,
            window: TimeDelta::hours(1),
        }]);
        let mut limiter = TestRateLimiter::new(policy);
        assert_eq!(
            limiter.try_acquire(at(0)).unwrap_err().retry_after,
            at(3600)
        );
    }

    proptest! {
        /// Whatever the arrival times, no window ever holds more accepted tests than allowed.
        #[test]
        fn accepted_tests_never_exceed_any_window(mut gaps in prop::collection::vec(0i64..400, 1..80)) {
            let mut limiter = TestRateLimiter::new(TestRatePolicy::default());
            let mut now = 0;
            let mut accepted = Vec::new();
            for gap in gaps.drain(..) {
                now += gap;
                if limiter.try_acquire(at(now)).is_ok() {
                    accepted.push(now);
                }
            }
            for &start in &accepted {
                let in_ten = accepted.iter().filter(|&&t| t >= start && t < start + 600).count();
                prop_assert!(in_ten <= 3);
                let in_day = accepted.iter().filter(|&&t| t >= start && t < start + 86_400).count();
                prop_assert!(in_day <= 10);
            }
            prop_assert!(!accepted.is_empty());
        }
    }
}
