//! The received messages the store did not take, waiting (unacknowledged, so the modem keeps
//! them) to be tried again: a queue that keeps their order, with a doubling wait.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// The first wait before the store is tried again, and the longest (the wait doubles).
const STORE_RETRY_FIRST: Duration = Duration::from_secs(1);
const STORE_RETRY_LONGEST: Duration = Duration::from_secs(10);

/// Items waiting for the store, oldest first, with the time of the next attempt: whatever
/// arrives while one waits goes behind it, so texts reach the operators in the order they
/// came. The wait doubles after each failed attempt, up to [`STORE_RETRY_LONGEST`].
pub(super) struct Backlog<T> {
    waiting: VecDeque<T>,
    delay: Duration,
    next_attempt: Option<Instant>,
}

impl<T> Backlog<T> {
    pub(super) fn new() -> Backlog<T> {
        Backlog {
            waiting: VecDeque::new(),
            delay: STORE_RETRY_FIRST,
            next_attempt: None,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.waiting.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// When the oldest item is due to be tried again; `None` when nothing waits.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.next_attempt.filter(|_| !self.waiting.is_empty())
    }

    /// Puts an item behind the others; the first one starts the timer.
    pub(super) fn hold(&mut self, item: T, now: Instant) {
        self.waiting.push_back(item);
        if self.next_attempt.is_none() {
            self.next_attempt = Some(now + self.delay);
        }
    }

    /// The oldest item, to be tried now; when the last one is taken the wait starts over.
    pub(super) fn take_oldest(&mut self) -> Option<T> {
        let oldest = self.waiting.pop_front();
        if self.waiting.is_empty() {
            self.delay = STORE_RETRY_FIRST;
            self.next_attempt = None;
        }
        oldest
    }

    /// The item taken last failed again: it goes back in front and the wait doubles.
    pub(super) fn failed_again(&mut self, item: T, now: Instant) -> Duration {
        self.waiting.push_front(item);
        self.delay = (self.delay * 2).min(STORE_RETRY_LONGEST);
        self.next_attempt = Some(now + self.delay);
        self.delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a backlog holds and when it tries next, as offsets from `start` in seconds.
    fn describe(backlog: &Backlog<&str>, start: Instant) -> String {
        let waiting: Vec<&str> = backlog.waiting.iter().copied().collect();
        let next = backlog
            .deadline()
            .map(|d| format!("{}s", (d - start).as_secs()));
        format!("{waiting:?} next={next:?}")
    }

    #[test]
    fn later_arrivals_wait_behind_a_failed_one_and_the_wait_doubles_up_to_the_longest() {
        let start = Instant::now();
        let mut backlog = Backlog::new();
        let mut log = Vec::new();
        backlog.hold("first", start);
        backlog.hold("second", start);
        backlog.hold("third", start);
        log.push(describe(&backlog, start));
        let mut now = start;
        for _ in 0..5 {
            let oldest = backlog.take_oldest();
            log.push(format!("tried {oldest:?}"));
            if let Some(oldest) = oldest {
                now += backlog.failed_again(oldest, now);
            }
            log.push(describe(&backlog, start));
        }
        while let Some(oldest) = backlog.take_oldest() {
            log.push(format!("stored {oldest}; {}", describe(&backlog, start)));
        }
        backlog.hold("fourth", now);
        log.push(describe(&backlog, start));
        expect_test::expect![[r#"
            [
                "[\"first\", \"second\", \"third\"] next=Some(\"1s\")",
                "tried Some(\"first\")",
                "[\"first\", \"second\", \"third\"] next=Some(\"2s\")",
                "tried Some(\"first\")",
                "[\"first\", \"second\", \"third\"] next=Some(\"6s\")",
                "tried Some(\"first\")",
                "[\"first\", \"second\", \"third\"] next=Some(\"14s\")",
                "tried Some(\"first\")",
                "[\"first\", \"second\", \"third\"] next=Some(\"24s\")",
                "tried Some(\"first\")",
                "[\"first\", \"second\", \"third\"] next=Some(\"34s\")",
                "stored first; [\"second\", \"third\"] next=Some(\"34s\")",
                "stored second; [\"third\"] next=Some(\"34s\")",
                "stored third; [] next=None",
                "[\"fourth\"] next=Some(\"35s\")",
            ]
        "#]]
        .assert_debug_eq(&log);
    }
}
