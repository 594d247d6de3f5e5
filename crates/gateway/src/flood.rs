//! One phone must not bury the queue: a patron who sends more than `limit` texts within
//! `window` is flooding, and their further texts are held back (stored, not shown) until
//! they have been quiet for a whole window; then the held texts go to the librarians, in
//! order, behind a line saying so. Nothing is dropped, and a restart loses nothing: held
//! texts are in the store, undelivered, and are read back like any text that waited.
//! Decided without I/O; the runtime supplies the clock.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use textgate_core::{InboundTextId, PatronAddress};
use tokio::time::Instant;

/// What to do with a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloodVerdict {
    /// Route it as usual.
    Pass,
    /// Hold it back; `first` when this text started the flood (tell the librarians).
    Held { first: bool },
}

/// Texts held back from one patron.
#[derive(Debug)]
struct Flood {
    texts: Vec<InboundTextId>,
    /// Released once nothing came from the patron for a window: moves with each text.
    until: Instant,
}

/// The texts of one flood, released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FloodEnd {
    pub patron: PatronAddress,
    pub texts: Vec<InboundTextId>,
}

/// Per-sender flood limits for one gateway.
#[derive(Debug)]
pub struct FloodGuard {
    limit: usize,
    window: Duration,
    recent: HashMap<PatronAddress, VecDeque<Instant>>,
    floods: HashMap<PatronAddress, Flood>,
}

impl FloodGuard {
    /// At most `limit` texts per patron within `window`; `limit` 0 turns the guard off.
    pub fn new(limit: u32, window: Duration) -> FloodGuard {
        FloodGuard {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            window,
            recent: HashMap::new(),
            floods: HashMap::new(),
        }
    }

    /// A new text `id` from `patron` at `now`.
    pub fn on_text(
        &mut self,
        patron: &PatronAddress,
        id: InboundTextId,
        now: Instant,
    ) -> FloodVerdict {
        if self.limit == 0 {
            return FloodVerdict::Pass;
        }
        if let Some(flood) = self.floods.get_mut(patron) {
            flood.texts.push(id);
            flood.until = now + self.window;
            return FloodVerdict::Held { first: false };
        }
        let recent = self.recent.entry(patron.clone()).or_default();
        while recent
            .front()
            .is_some_and(|at| now.duration_since(*at) >= self.window)
        {
            recent.pop_front();
        }
        recent.push_back(now);
        if recent.len() <= self.limit {
            return FloodVerdict::Pass;
        }
        self.recent.remove(patron);
        self.floods.insert(
            patron.clone(),
            Flood {
                texts: vec![id],
                until: now + self.window,
            },
        );
        FloodVerdict::Held { first: true }
    }

    /// When the next flood may end.
    pub fn next_end(&self) -> Option<Instant> {
        self.floods.values().map(|f| f.until).min()
    }

    /// The floods over at `now`, each with the texts it held, oldest first.
    pub fn ended(&mut self, now: Instant) -> Vec<FloodEnd> {
        let over: Vec<PatronAddress> = self
            .floods
            .iter()
            .filter(|(_, f)| f.until <= now)
            .map(|(p, _)| p.clone())
            .collect();
        over.into_iter()
            .filter_map(|patron| {
                let flood = self.floods.remove(&patron)?;
                Some(FloodEnd {
                    patron,
                    texts: flood.texts,
                })
            })
            .collect()
    }

    /// How many texts each flooding patron has held back now.
    pub fn holding(&self) -> Vec<(PatronAddress, usize)> {
        let mut holding: Vec<(PatronAddress, usize)> = self
            .floods
            .iter()
            .map(|(p, f)| (p.clone(), f.texts.len()))
            .collect();
        holding.sort();
        holding
    }

    /// Forgets the patrons who were quiet for a window (keeps the map small).
    pub fn tidy(&mut self, now: Instant) {
        let window = self.window;
        self.recent.retain(|_, times| {
            times
                .back()
                .is_some_and(|at| now.duration_since(*at) < window)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patron(n: &str) -> PatronAddress {
        PatronAddress::E164(n.to_owned())
    }

    #[test]
    fn the_texts_over_the_limit_are_held_until_a_quiet_window_and_then_released() {
        let mut guard = FloodGuard::new(3, Duration::from_secs(600));
        let start = Instant::now();
        let flooder = patron("+15550000666");
        let other = patron("+15551234567");
        let at = |s: u64| start + Duration::from_secs(s);
        let verdicts: Vec<FloodVerdict> = (0..6)
            .map(|i: u64| {
                let id = InboundTextId(i64::try_from(i).expect("small"));
                guard.on_text(&flooder, id, at(i * 10))
            })
            .collect();
        assert_eq!(
            verdicts,
            [
                FloodVerdict::Pass,
                FloodVerdict::Pass,
                FloodVerdict::Pass,
                FloodVerdict::Held { first: true },
                FloodVerdict::Held { first: false },
                FloodVerdict::Held { first: false },
            ]
        );
        // Another patron is not affected.
        assert_eq!(
            guard.on_text(&other, InboundTextId(99), at(55)),
            FloodVerdict::Pass
        );
        assert_eq!(guard.holding(), [(flooder.clone(), 3)]);
        // The last held text came at 50 s: the flood ends 600 s later, not before.
        assert_eq!(guard.next_end(), Some(at(650)));
        assert!(guard.ended(at(649)).is_empty());
        assert_eq!(
            guard.ended(at(650)),
            [FloodEnd {
                patron: flooder.clone(),
                texts: vec![InboundTextId(3), InboundTextId(4), InboundTextId(5)],
            }]
        );
        assert_eq!(guard.next_end(), None);
        // After the flood the patron starts afresh.
        assert_eq!(
            guard.on_text(&flooder, InboundTextId(7), at(700)),
            FloodVerdict::Pass
        );
    }

    #[test]
    fn texts_spread_over_time_never_flood() {
        let mut guard = FloodGuard::new(2, Duration::from_secs(60));
        let start = Instant::now();
        let p = patron("+15551234567");
        for i in 0..10_i64 {
            let now = start + Duration::from_secs(31 * u64::try_from(i).expect("small"));
            assert_eq!(guard.on_text(&p, InboundTextId(i), now), FloodVerdict::Pass);
        }
        guard.tidy(start + Duration::from_secs(10_000));
        assert!(guard.recent.is_empty());
    }

    #[test]
    fn a_limit_of_zero_is_off() {
        let mut guard = FloodGuard::new(0, Duration::from_secs(60));
        let now = Instant::now();
        let p = patron("+15551234567");
        for i in 0..100 {
            assert_eq!(guard.on_text(&p, InboundTextId(i), now), FloodVerdict::Pass);
        }
    }
}
