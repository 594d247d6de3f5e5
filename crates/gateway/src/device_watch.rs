//! What the operators (and any configured watcher, such as the library's system
//! administrator) are told about the gateway's health, decided without I/O: the device
//! (a modem, an Android phone, the link to a message centre) that stops answering or needs
//! a person (a PIN), and its return; a full SIM; a weak signal; replies piling up in the
//! outbox. Each kind is said at most once per interval, so a flapping modem does not flood
//! anyone, and "back" is said only after "gone" was.

use std::collections::HashMap;
use std::time::Duration;

use textgate_modem::HealthChange;
use tokio::time::Instant;

/// A notice to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceNotice {
    /// The device stopped answering; the text says why.
    Lost(String),
    /// The device stopped and waits for a person (a SIM PIN, a missing SIM).
    NeedsPerson(String),
    /// It is back after a [`DeviceNotice::Lost`] or [`DeviceNotice::NeedsPerson`].
    Back,
    /// The SIM's message storage is full: no text can arrive.
    StorageFull,
    /// The signal is weaker than the configured threshold.
    WeakSignal { dbm: i32 },
    /// More replies wait in the outbox than the configured threshold.
    Backlog { waiting: u64 },
}

/// The kinds of notice, each with its own interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Lost,
    StorageFull,
    WeakSignal,
    Backlog,
}

impl DeviceNotice {
    /// The notice as the operators read it; `device` names the device ("modem", "phone",
    /// "link to the SMS provider").
    pub fn body(&self, device: &str) -> String {
        match self {
            DeviceNotice::Lost(reason) => format!(
                "The gateway's {device} is not answering ({reason}). Texts from patrons cannot \
                 arrive now; your replies wait and go out when it is back. If this lasts, ask \
                 your administrator to check the {device}."
            ),
            DeviceNotice::NeedsPerson(reason) => format!(
                "The gateway's {device} has stopped and needs a person: {reason}. Texts cannot \
                 arrive or leave until your administrator fixes it; your replies wait."
            ),
            DeviceNotice::Back => format!(
                "The gateway's {device} is back: texts arrive again and waiting replies are \
                 going out."
            ),
            DeviceNotice::StorageFull => format!(
                "The gateway's {device} reports its message storage full: new texts cannot \
                 arrive until room is made. textgate empties it as it stores texts; if this \
                 lasts, ask your administrator."
            ),
            DeviceNotice::WeakSignal { dbm } => format!(
                "The gateway's {device} has a weak signal ({dbm} dBm): texts may be slow or \
                 fail. Ask your administrator to move it or its antenna."
            ),
            DeviceNotice::Backlog { waiting } => format!(
                "{waiting} replies are waiting to be sent: the {device} is slow or failing. \
                 They go out in order; send \"status\" to the gateway for details."
            ),
        }
    }
}

/// The gateway's health story so far, as far as notices go.
#[derive(Debug)]
pub struct DeviceWatch {
    interval: Duration,
    ready: bool,
    told_lost: bool,
    last: HashMap<Kind, Instant>,
    signal_below: Option<i32>,
    backlog_above: Option<u64>,
    told_backlog: bool,
}

impl DeviceWatch {
    pub fn new(interval: Duration) -> DeviceWatch {
        DeviceWatch {
            interval,
            ready: false,
            told_lost: false,
            last: HashMap::new(),
            signal_below: None,
            backlog_above: None,
            told_backlog: false,
        }
    }

    /// Also warns of a signal weaker than `signal_below` dBm and of more than
    /// `backlog_above` replies waiting.
    pub fn with_thresholds(
        mut self,
        signal_below: Option<i32>,
        backlog_above: Option<u64>,
    ) -> Self {
        self.signal_below = signal_below;
        self.backlog_above = backlog_above;
        self
    }

    /// Whether a notice of `kind` may go out at `now`; records it if so.
    fn may_say(&mut self, kind: Kind, now: Instant) -> bool {
        let quiet = self
            .last
            .get(&kind)
            .is_none_or(|at| now.duration_since(*at) >= self.interval);
        if quiet {
            self.last.insert(kind, now);
        }
        quiet
    }

    /// The notice a health change calls for, if any.
    pub fn on(&mut self, change: &HealthChange, now: Instant) -> Option<DeviceNotice> {
        match change {
            HealthChange::Ready { .. } => {
                self.ready = true;
                std::mem::take(&mut self.told_lost).then_some(DeviceNotice::Back)
            }
            HealthChange::Unresponsive { reason } | HealthChange::Disconnected { reason, .. } => {
                let was_ready = std::mem::take(&mut self.ready);
                if was_ready && !self.told_lost && self.may_say(Kind::Lost, now) {
                    self.told_lost = true;
                    Some(DeviceNotice::Lost(reason.clone()))
                } else {
                    None
                }
            }
            // A device that needs a person is news even if it never was ready (a SIM that
            // asks for its PIN at start-up): nothing will change until someone acts.
            HealthChange::NeedsOperator { reason } => {
                self.ready = false;
                if !self.told_lost && self.may_say(Kind::Lost, now) {
                    self.told_lost = true;
                    Some(DeviceNotice::NeedsPerson(reason.clone()))
                } else {
                    None
                }
            }
            HealthChange::StorageFull { .. } => self
                .may_say(Kind::StorageFull, now)
                .then_some(DeviceNotice::StorageFull),
            HealthChange::Connecting { .. }
            | HealthChange::NoServiceCentre
            | HealthChange::StorageAvailable { .. } => None,
        }
    }

    /// A signal reading (dBm): a notice when it is below the threshold.
    pub fn on_signal(&mut self, dbm: i32, now: Instant) -> Option<DeviceNotice> {
        let below = self.signal_below.is_some_and(|threshold| dbm < threshold);
        (below && self.may_say(Kind::WeakSignal, now)).then_some(DeviceNotice::WeakSignal { dbm })
    }

    /// The number of replies waiting: a notice when it first exceeds the threshold (again
    /// only after it fell back to it or below).
    pub fn on_backlog(&mut self, waiting: u64, now: Instant) -> Option<DeviceNotice> {
        let threshold = self.backlog_above?;
        if waiting <= threshold {
            self.told_backlog = false;
            return None;
        }
        if self.told_backlog || !self.may_say(Kind::Backlog, now) {
            return None;
        }
        self.told_backlog = true;
        Some(DeviceNotice::Backlog { waiting })
    }

    /// Whether backlog readings are wanted at all.
    pub fn watches_backlog(&self) -> bool {
        self.backlog_above.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lost() -> HealthChange {
        HealthChange::Disconnected {
            reason: "silent for 120 s".to_owned(),
            retry_in: Duration::from_secs(30),
        }
    }

    const READY: HealthChange = HealthChange::Ready { profile: "android" };

    #[test]
    fn a_device_that_goes_and_comes_back_is_told_once_each_way() {
        let mut watch = DeviceWatch::new(Duration::from_secs(600));
        let start = Instant::now();
        assert_eq!(
            watch.on(&HealthChange::Connecting { attempt: 1 }, start),
            None
        );
        // Not yet ready: a device that never came is not news to anyone at the desk.
        assert_eq!(watch.on(&lost(), start), None);
        assert_eq!(watch.on(&READY, start), None);
        assert_eq!(
            watch.on(&lost(), start),
            Some(DeviceNotice::Lost("silent for 120 s".to_owned()))
        );
        assert_eq!(watch.on(&lost(), start), None);
        assert_eq!(watch.on(&READY, start), Some(DeviceNotice::Back));
        assert_eq!(watch.on(&READY, start), None);
    }

    #[test]
    fn a_flapping_device_is_told_at_most_once_per_interval() {
        let mut watch = DeviceWatch::new(Duration::from_secs(600));
        let start = Instant::now();
        watch.on(&READY, start);
        assert!(watch.on(&lost(), start).is_some());
        assert_eq!(watch.on(&READY, start), Some(DeviceNotice::Back));
        let soon = start + Duration::from_secs(60);
        assert_eq!(watch.on(&lost(), soon), None);
        // Nothing was said about that loss, so nothing about its end either.
        assert_eq!(watch.on(&READY, soon), None);
        let later = start + Duration::from_secs(600);
        assert!(watch.on(&lost(), later).is_some());
    }

    #[test]
    fn a_pin_is_news_at_start_up_and_its_fix_too() {
        let mut watch = DeviceWatch::new(Duration::from_secs(600));
        let start = Instant::now();
        let pin = HealthChange::NeedsOperator {
            reason: "the SIM asks for its PIN".to_owned(),
        };
        assert_eq!(
            watch.on(&pin, start),
            Some(DeviceNotice::NeedsPerson(
                "the SIM asks for its PIN".to_owned()
            ))
        );
        assert_eq!(watch.on(&pin, start), None);
        assert_eq!(watch.on(&READY, start), Some(DeviceNotice::Back));
    }

    #[test]
    fn storage_signal_and_backlog_are_each_rate_limited() {
        let mut watch =
            DeviceWatch::new(Duration::from_secs(600)).with_thresholds(Some(-105), Some(20));
        let start = Instant::now();
        let full = HealthChange::StorageFull {
            used: 30,
            total: 30,
        };
        assert_eq!(watch.on(&full, start), Some(DeviceNotice::StorageFull));
        assert_eq!(watch.on(&full, start), None);

        assert_eq!(watch.on_signal(-90, start), None);
        assert_eq!(
            watch.on_signal(-109, start),
            Some(DeviceNotice::WeakSignal { dbm: -109 })
        );
        assert_eq!(watch.on_signal(-111, start), None);

        assert_eq!(watch.on_backlog(20, start), None);
        assert_eq!(
            watch.on_backlog(21, start),
            Some(DeviceNotice::Backlog { waiting: 21 })
        );
        assert_eq!(watch.on_backlog(40, start), None, "told already");
        assert_eq!(watch.on_backlog(3, start), None);
        assert_eq!(
            watch.on_backlog(25, start),
            None,
            "below and above again within the interval"
        );
        let later = start + Duration::from_secs(600);
        assert_eq!(
            watch.on_backlog(25, later),
            Some(DeviceNotice::Backlog { waiting: 25 })
        );
        assert_eq!(watch.on(&full, later), Some(DeviceNotice::StorageFull));
    }

    #[test]
    fn no_thresholds_no_signal_or_backlog_notices() {
        let mut watch = DeviceWatch::new(Duration::from_secs(600));
        let now = Instant::now();
        assert_eq!(watch.on_signal(-120, now), None);
        assert_eq!(watch.on_backlog(10_000, now), None);
        assert!(!watch.watches_backlog());
    }
}
