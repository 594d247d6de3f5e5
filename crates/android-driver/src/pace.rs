//! Pacing under Android's SMS allowance: at most `per_minute` parts handed to the phone in
//! any 60 s. Android counts every part of a long text (AOSP `SMSDispatcher` checks the
//! `SmsUsageMonitor` with the number of parts), so this counts parts too.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// The window Android counts in.
const WINDOW: Duration = Duration::from_secs(60);

/// A sliding window of the parts handed over recently.
#[derive(Debug)]
pub struct Pacer {
    per_minute: usize,
    sent: Mutex<VecDeque<Instant>>,
}

impl Pacer {
    pub fn new(per_minute: u32) -> Pacer {
        Pacer {
            per_minute: usize::try_from(per_minute.max(1)).unwrap_or(usize::MAX),
            sent: Mutex::new(VecDeque::new()),
        }
    }

    /// Waits until `parts` more parts fit in the window, then counts them as sent now. A
    /// text longer than the whole allowance waits for an empty window and goes alone.
    /// Callers take turns in the order they asked (tokio's mutex is fair).
    pub async fn admit(&self, parts: usize) {
        let mut sent = self.sent.lock().await;
        let parts = parts.clamp(1, self.per_minute);
        loop {
            let now = Instant::now();
            while sent
                .front()
                .is_some_and(|at| now.duration_since(*at) >= WINDOW)
            {
                sent.pop_front();
            }
            if sent.len() + parts <= self.per_minute {
                sent.extend(std::iter::repeat_n(now, parts));
                return;
            }
            // The oldest entries leave the window first; wait until enough have.
            let index = sent.len() + parts - self.per_minute - 1;
            let Some(free_at) = sent.get(index).map(|at| *at + WINDOW) else {
                return;
            };
            tokio::time::sleep_until(free_at).await;
        }
    }

    /// Gives back `parts` counted for a send the phone never took (it was offline or
    /// refused the request), so they do not hold the window.
    pub async fn refund(&self, parts: usize) {
        let mut sent = self.sent.lock().await;
        for _ in 0..parts.clamp(1, self.per_minute) {
            sent.pop_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn no_more_than_the_allowance_goes_in_any_minute() {
        let pacer = Pacer::new(30);
        let start = Instant::now();
        let mut admitted = Vec::new();
        for _ in 0..70 {
            pacer.admit(1).await;
            admitted.push(Instant::now().duration_since(start));
        }
        for (i, at) in admitted.iter().enumerate() {
            let in_window = admitted
                .iter()
                .filter(|other| **other <= *at && *at - **other < WINDOW)
                .count();
            assert!(
                in_window <= 30,
                "part {i} at {at:?} makes {in_window} in 60 s"
            );
        }
        assert_eq!(admitted[29], Duration::ZERO);
        assert_eq!(admitted[30], WINDOW);
        assert_eq!(admitted[60], 2 * WINDOW);
    }

    #[tokio::test(start_paused = true)]
    async fn every_part_of_a_long_text_counts() {
        let pacer = Pacer::new(10);
        let start = Instant::now();
        pacer.admit(4).await;
        pacer.admit(4).await;
        pacer.admit(4).await;
        assert_eq!(Instant::now().duration_since(start), WINDOW);
        // Longer than the allowance: waits for an empty window, then goes.
        pacer.admit(25).await;
        assert_eq!(Instant::now().duration_since(start), 2 * WINDOW);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_send_gives_its_parts_back() {
        let pacer = Pacer::new(2);
        let start = Instant::now();
        pacer.admit(2).await;
        pacer.refund(2).await;
        pacer.admit(2).await;
        assert_eq!(Instant::now().duration_since(start), Duration::ZERO);
    }
}
