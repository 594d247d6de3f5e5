//! What the operators are told about the driver's device (an Android phone that stops
//! answering, a modem that is lost), decided without I/O: a notice when a device that was
//! ready goes away, at most once per interval so a flapping device does not flood anyone,
//! and a notice when it is back after one was sent.

use std::time::Duration;

use textgate_modem::HealthChange;
use tokio::time::Instant;

/// A notice to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceNotice {
    /// The device went away; the text says why, in words for a librarian.
    Lost(String),
    /// It is back after a [`DeviceNotice::Lost`].
    Back,
}

impl DeviceNotice {
    /// The notice as the operators read it.
    pub fn body(&self) -> String {
        match self {
            DeviceNotice::Lost(reason) => format!(
                "The gateway's phone is not answering ({reason}). Texts from patrons cannot \
                 arrive now; your replies wait and go out when it is back. Check that the \
                 phone is on, charged and on the network."
            ),
            DeviceNotice::Back => "The gateway's phone is back: texts arrive again and waiting \
                                   replies are going out."
                .to_owned(),
        }
    }
}

/// The device's story so far, as far as notices go.
#[derive(Debug)]
pub struct DeviceWatch {
    interval: Duration,
    ready: bool,
    told_lost: bool,
    last_lost_notice: Option<Instant>,
}

impl DeviceWatch {
    pub fn new(interval: Duration) -> DeviceWatch {
        DeviceWatch {
            interval,
            ready: false,
            told_lost: false,
            last_lost_notice: None,
        }
    }

    /// The notice a health change calls for, if any.
    pub fn on(&mut self, change: &HealthChange, now: Instant) -> Option<DeviceNotice> {
        match change {
            HealthChange::Ready { .. } => {
                self.ready = true;
                std::mem::take(&mut self.told_lost).then_some(DeviceNotice::Back)
            }
            HealthChange::Unresponsive { reason }
            | HealthChange::Disconnected { reason, .. }
            | HealthChange::NeedsOperator { reason } => {
                let was_ready = std::mem::take(&mut self.ready);
                let quiet_long_enough = self
                    .last_lost_notice
                    .is_none_or(|at| now.duration_since(at) >= self.interval);
                if was_ready && !self.told_lost && quiet_long_enough {
                    self.told_lost = true;
                    self.last_lost_notice = Some(now);
                    Some(DeviceNotice::Lost(reason.clone()))
                } else {
                    None
                }
            }
            HealthChange::Connecting { .. }
            | HealthChange::NoServiceCentre
            | HealthChange::StorageFull { .. }
            | HealthChange::StorageAvailable { .. } => None,
        }
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
}
