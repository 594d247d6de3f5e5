//! Striking the faults of the plan, one after another with the plan's pauses between them,
//! while the traffic flows. Each fault is recorded with when it began and when it was
//! over: when the daemon, the component, the librarian or the modem was back, as the
//! daemon's own log (or the librarian's desk) says, so lateness is measured from the
//! moment the system could deliver again.

use std::time::Duration;

use textgate_modemsim::FaultPatch;
use textgate_testkit::prosody::HOST;

use crate::clock::RunClock;
use crate::daemon::Stopped;
use crate::error::ChaosError;
use crate::librarian::Desk;
use crate::plan::{Fault, PlannedFault};
use crate::rig::{Rig, LIBRARIAN, START};

/// How long the daemon may take to stop on SIGTERM before it is killed (it is started
/// with `--shutdown-timeout 5`).
const TERM_GRACE: Duration = Duration::from_secs(15);
/// How long Prosody may take to stop on SIGTERM.
const PROSODY_GRACE: Duration = Duration::from_secs(5);

/// One fault as it happened.
#[derive(Clone, Debug)]
pub struct FaultRecord {
    pub fault: Fault,
    pub started: Duration,
    /// When everything it struck was back.
    pub ended: Duration,
    /// Anything unexpected: the daemon not exiting on SIGTERM, not coming back in time.
    pub note: Option<String>,
}

/// Strikes every fault of the plan in turn; returns their records. `on_fault` hears of
/// each as it ends.
pub async fn strike_all(
    rig: &mut Rig,
    desk: &Desk,
    faults: &[PlannedFault],
    clock: RunClock,
    on_fault: Option<fn(usize, usize, &FaultRecord)>,
) -> Result<Vec<FaultRecord>, ChaosError> {
    let mut records = Vec::with_capacity(faults.len());
    for (n, planned) in faults.iter().enumerate() {
        // The pause is the schedule itself: chaos strikes at moments of its own choosing.
        tokio::time::sleep(planned.pause).await;
        let record = strike(rig, desk, planned.fault, clock).await?;
        if let Some(report) = on_fault {
            report(n + 1, faults.len(), &record);
        }
        records.push(record);
    }
    Ok(records)
}

async fn strike(
    rig: &mut Rig,
    desk: &Desk,
    fault: Fault,
    clock: RunClock,
) -> Result<FaultRecord, ChaosError> {
    let started = clock.now();
    let mut notes = Vec::new();
    match fault {
        Fault::DaemonKill { down } => {
            rig.daemon.kill().await;
            tokio::time::sleep(down).await;
            restart_daemon(rig, &mut notes).await?;
        }
        Fault::DaemonTerm { down } => {
            match rig.daemon.terminate(TERM_GRACE).await {
                Some(Stopped::Exited(status)) if status.success() => {}
                Some(Stopped::Exited(status)) => {
                    notes.push(format!("the daemon exited with {status} on SIGTERM"));
                }
                Some(Stopped::KilledAfterGrace) => notes.push(format!(
                    "the daemon did not exit within {TERM_GRACE:?} of SIGTERM and was killed"
                )),
                None => notes.push("the daemon was not running".to_owned()),
            }
            tokio::time::sleep(down).await;
            restart_daemon(rig, &mut notes).await?;
        }
        Fault::ProsodyRestart => {
            let mark = rig.daemon.log().mark();
            let logins = desk.state().logins;
            rig.prosody.stop(PROSODY_GRACE).await;
            rig.prosody.restart().await?;
            let log = rig.daemon.log();
            if log
                .wait_for(mark, &["component connected"], START)
                .await
                .is_none()
            {
                notes.push(format!("the component did not reconnect within {START:?}"));
            }
            if !desk.wait_online(logins + 1, START).await {
                notes.push(format!(
                    "the librarian was not back online within {START:?}"
                ));
            }
            let jid = format!("{LIBRARIAN}@{HOST}");
            if log
                .wait_for(mark, &["operator presence", &jid, "Available"], START)
                .await
                .is_none()
            {
                notes.push(format!(
                    "the daemon did not see the librarian available within {START:?}"
                ));
            }
        }
        Fault::LinkDrop { outage } => {
            let mark = rig.daemon.log().mark();
            rig.sim.disconnect(outage);
            // The outage lasts this long; the simulator brings the terminal back itself.
            tokio::time::sleep(outage).await;
            wait_modem_ready(rig, mark, &mut notes).await;
        }
        Fault::ModemHang { hang } => {
            let mark = rig.daemon.log().mark();
            rig.sim.set_faults(FaultPatch {
                hang: Some(true),
                ..FaultPatch::default()
            });
            tokio::time::sleep(hang).await;
            rig.sim.set_faults(FaultPatch {
                hang: Some(false),
                ..FaultPatch::default()
            });
            // Only a daemon that noticed the hang has anything to come back from.
            let noticed = rig.daemon.log().last_since(mark, |l| {
                l.text.contains("modem health")
                    && (l.text.contains("unresponsive") || l.text.contains("disconnected"))
            });
            if let Some(from) = noticed {
                wait_modem_ready(rig, from, &mut notes).await;
            }
        }
    }
    Ok(FaultRecord {
        fault,
        started,
        ended: clock.now(),
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    })
}

async fn restart_daemon(rig: &mut Rig, notes: &mut Vec<String>) -> Result<(), ChaosError> {
    rig.daemon.launch()?;
    if let Err(e) = rig.daemon.wait_ready(START).await {
        notes.push(e.to_string());
    }
    Ok(())
}

async fn wait_modem_ready(rig: &Rig, from: usize, notes: &mut Vec<String>) {
    if rig
        .daemon
        .log()
        .wait_for(from, &["modem health", "ready ("], START)
        .await
        .is_none()
    {
        notes.push(format!("the modem was not ready again within {START:?}"));
    }
}
