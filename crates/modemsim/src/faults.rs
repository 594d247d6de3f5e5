//! Fault injection: the ways real modems misbehave, switched on and off at run time. The
//! core consults [`Faults`] on every command; the control API changes it with a
//! [`FaultPatch`] (only the fields given change).

use serde::{Deserialize, Serialize};

/// How injected send errors are chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SendErrorFault {
    /// The `+CMS ERROR` code (500 unknown, 38 network out of order, ...).
    pub code: u16,
    /// Fail the next this many sends, then stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u32>,
    /// Fail each send with this probability (0.0..=1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

/// What the network reports for sends that asked for a status report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportOutcome {
    /// TP-ST 0x00: short message received by the SME.
    #[default]
    Delivered,
    /// TP-ST 0x41: permanent error, incompatible destination.
    Failed,
}

impl ReportOutcome {
    pub fn tp_status(self) -> u8 {
        match self {
            ReportOutcome::Delivered => 0x00,
            ReportOutcome::Failed => 0x41,
        }
    }
}

/// The faults in force.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// The modem stops answering (input is swallowed, no unsolicited codes) until cleared.
    pub hang: bool,
    /// Every command line is echoed once more than it should be (also with `ATE0`).
    pub double_echo: bool,
    /// The SIM behaves as full whatever its real use.
    pub sim_full: bool,
    /// The SIM lost its service centre address (`+CSCA: ""`), so sends without one fail.
    pub smsc_lost: bool,
    /// Sends fail with an injected `+CMS ERROR`.
    pub send_error: Option<SendErrorFault>,
    /// The outcome reported in status reports.
    pub status_report: ReportOutcome,
}

/// A partial update of [`Faults`]: absent fields keep their value.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPatch {
    pub hang: Option<bool>,
    pub double_echo: Option<bool>,
    pub sim_full: Option<bool>,
    pub smsc_lost: Option<bool>,
    /// `null` clears the send error fault; absent keeps it.
    #[serde(default, deserialize_with = "present")]
    pub send_error: Option<Option<SendErrorFault>>,
    pub status_report: Option<ReportOutcome>,
}

fn present<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<SendErrorFault>>, D::Error> {
    Option::<SendErrorFault>::deserialize(d).map(Some)
}

impl Faults {
    pub fn apply(&mut self, patch: FaultPatch) {
        if let Some(v) = patch.hang {
            self.hang = v;
        }
        if let Some(v) = patch.double_echo {
            self.double_echo = v;
        }
        if let Some(v) = patch.sim_full {
            self.sim_full = v;
        }
        if let Some(v) = patch.smsc_lost {
            self.smsc_lost = v;
        }
        if let Some(v) = patch.send_error {
            self.send_error = v;
        }
        if let Some(v) = patch.status_report {
            self.status_report = v;
        }
    }
}
