//! One chaos run from start to report, phase by phase: set up the rig and the librarian;
//! run the traffic and the faults together; wait for quiescence (bounded); judge what
//! arrived; ask the store about what did not and quote the daemon's log; tear down.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use textgate_modemsim::SimHandle;
use textgate_testkit::prosody::HOST;

use crate::clock::{secs, RunClock};
use crate::error::ChaosError;
use crate::evidence::{log_lines, StoreReader};
use crate::faults::{strike_all, FaultRecord};
use crate::ledger::Ledger;
use crate::librarian::Desk;
use crate::plan::{Direction, FaultKindName, Plan, PlanSettings};
use crate::report::{
    judge_in, judge_out, tally, LostAnswers, NetworkPart, Quiescence, Report, Verdict, Whereabouts,
    REPORTED_UNSURE, RESENT_UNSURE,
};
use crate::rig::{Rig, StoreKind, LIBRARIAN, START};
use crate::traffic::{replies_out, texts_in};

/// Everything a run needs to know.
#[derive(Clone, Debug)]
pub struct RunSettings {
    pub plan: PlanSettings,
    pub store: StoreKind,
    /// The daemon's program (`PROGRAM run --config FILE`).
    pub daemon: PathBuf,
    /// After the last fault and the last text, the wait for quiescence ends once nothing
    /// has arrived for this long...
    pub quiet: Duration,
    /// ...or after this long in all.
    pub settle_limit: Duration,
    /// Once everything arrived, how long to keep watching for duplicates.
    pub linger: Duration,
    /// A directory to write the daemon's whole log (every life) and Prosody's into at the
    /// end, for reading beside the report.
    pub keep_logs: Option<PathBuf>,
    /// Called after each fault with its number (from 1), the number planned and its
    /// record: progress for a long run.
    pub on_fault: Option<fn(usize, usize, &FaultRecord)>,
}

/// Runs the plan the settings describe and reports what happened. An error means the rig
/// itself could not be set up; whatever the daemon does wrong is in the report.
pub async fn run(settings: &RunSettings) -> Result<Report, ChaosError> {
    let plan = Plan::new(&settings.plan);
    let clock = RunClock::start();
    let mut rig = Rig::start(settings.store, &settings.daemon, plan.seed, clock).await?;
    let ledger = Ledger::default();
    let desk = Desk::open(rig.prosody.c2s_addr(), ledger.clone(), clock);
    let outcome = run_on(&mut rig, &desk, &ledger, &plan, settings, clock).await;
    if let Some(dir) = &settings.keep_logs {
        keep_logs(&rig, &ledger, dir)?;
    }
    desk.close();
    rig.stop().await;
    outcome
}

async fn run_on(
    rig: &mut Rig,
    desk: &Desk,
    ledger: &Ledger,
    plan: &Plan,
    settings: &RunSettings,
    clock: RunClock,
) -> Result<Report, ChaosError> {
    // The librarian is online and the daemon knows it before anything is sent.
    if !desk.wait_online(1, START).await {
        let notes: Vec<String> = ledger.desk_notes().into_iter().map(|(_, n)| n).collect();
        return Err(ChaosError::Librarian {
            within: START,
            reason: notes.join("; "),
        });
    }
    let jid = format!("{LIBRARIAN}@{HOST}");
    let available = ["operator presence", jid.as_str(), "Available"];
    if rig
        .daemon
        .log()
        .wait_for(0, &available, START)
        .await
        .is_none()
    {
        return Err(ChaosError::NotReady {
            what: available.join(" + "),
            within: START,
            tail: rig.daemon.log().tail(40),
        });
    }

    // Traffic and faults together.
    let start = clock.now();
    let sim = rig.sim.clone();
    let (faults, injected, ()) = tokio::join!(
        strike_all(rig, desk, &plan.faults, clock, settings.on_fault),
        texts_in(&sim, ledger, &plan.texts, clock, start),
        replies_out(desk, &plan.replies, clock, start),
    );
    let faults = faults?;
    // A text the simulator cannot encode is a bug in the harness's plan.
    injected.map_err(ChaosError::Plan)?;

    let quiescence = settle(plan, ledger, &sim, &faults, clock, settings).await;
    if quiescence.complete && !settings.linger.is_zero() {
        // Watching for duplicates that trail the last arrival: a window of observation,
        // not a wait for anything.
        tokio::time::sleep(settings.linger).await;
    }

    let parts = network_parts(&sim, clock);
    let texts = judge_in(
        &plan.texts,
        |t| ledger.injected_at(t),
        &ledger.arrivals(),
        &faults,
    );
    let replies = judge_out(
        &plan.replies,
        |t| ledger.written_at(t),
        &parts,
        &ledger.bounces(),
        &faults,
    );
    let reader = rig.store_reader().await?;
    let prosody_log = rig.prosody.log();
    let mut whereabouts = BTreeMap::new();
    for verdict in texts.iter().chain(&replies) {
        let troubled = !verdict.arrived()
            || verdict.times > 1
            || verdict.late_by.is_some()
            || !verdict.altered.is_empty();
        if troubled {
            let found = locate(&reader, rig, &prosody_log, &faults, verdict).await?;
            whereabouts.insert(verdict.text.tag.clone(), found);
        }
    }
    reader.close().await;
    // The daemon tells the librarian about her replies from the patron's JID too ("sent
    // as 2 SMS"); only a patron the plan does not know is a stray.
    let known: Vec<&str> = plan
        .texts
        .iter()
        .chain(&plan.replies)
        .map(|t| t.patron.as_str())
        .collect();
    let strays = ledger
        .arrivals()
        .into_iter()
        .filter(|a| !known.contains(&a.patron.as_str()))
        .map(|a| format!("at {} from {}: {:?}", secs(a.at), a.patron, a.body))
        .collect();
    Ok(Report {
        seed: plan.seed,
        store: settings.store,
        faults,
        texts: tally(&texts, &whereabouts),
        replies: tally(&replies, &whereabouts),
        strays,
        quiescence,
        elapsed: clock.now(),
        daemon_lives: rig.daemon.lives(),
        librarian_logins: desk.state().logins,
        librarian_resends: ledger.resends(),
        lost_answers: LostAnswers {
            reported: rig
                .daemon
                .log()
                .lines(|l| l.text.contains(REPORTED_UNSURE))
                .len(),
            resent: rig
                .daemon
                .log()
                .lines(|l| l.text.contains(RESENT_UNSURE))
                .len(),
        },
    })
}

/// Writes `daemon.log` (each line with its life and time on the run's clock),
/// `prosody.log` and `librarian.log` (her logins) into `dir`.
fn keep_logs(rig: &Rig, ledger: &Ledger, dir: &std::path::Path) -> Result<(), ChaosError> {
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| ChaosError::Write { path, source })
    };
    std::fs::create_dir_all(dir).map_err(|source| ChaosError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let daemon: Vec<String> = rig
        .daemon
        .log()
        .lines(|_| true)
        .into_iter()
        .map(|l| format!("[life {} {}] {}", l.life, secs(l.at), l.text))
        .collect();
    write("daemon.log", daemon.join("\n") + "\n")?;
    write("prosody.log", rig.prosody.log())?;
    let desk: Vec<String> = ledger
        .desk_notes()
        .into_iter()
        .map(|(at, note)| format!("[{}] {note}", secs(at)))
        .collect();
    write("librarian.log", desk.join("\n") + "\n")
}

/// Waits until every text and reply arrived, or nothing arrived for `quiet`, or
/// `settle_limit` passed. Wakes on every arrival at the librarian and every part the
/// daemon sends.
async fn settle(
    plan: &Plan,
    ledger: &Ledger,
    sim: &SimHandle,
    faults: &[FaultRecord],
    clock: RunClock,
    settings: &RunSettings,
) -> Quiescence {
    let began = clock.now();
    let deadline = tokio::time::Instant::now() + settings.settle_limit;
    let mut progress = ledger.progress();
    loop {
        let missing = missing(plan, ledger, sim, faults, clock);
        if missing == 0 {
            return Quiescence {
                complete: true,
                waited: clock.now().saturating_sub(began),
                ended_by: "everything arrived".to_owned(),
            };
        }
        let sent = sim.inspect(|m| m.sent().len());
        let quiet = tokio::select! {
            _ = progress.changed() => false,
            waited = sim.wait_until(settings.quiet, |m| m.sent().len() != sent) => waited.is_err(),
            _ = tokio::time::sleep_until(deadline) => {
                return Quiescence {
                    complete: false,
                    waited: clock.now().saturating_sub(began),
                    ended_by: format!(
                        "{missing} still missing after the limit of {}",
                        secs(settings.settle_limit)
                    ),
                };
            }
        };
        if quiet {
            return Quiescence {
                complete: false,
                waited: clock.now().saturating_sub(began),
                ended_by: format!(
                    "{missing} still missing and nothing arrived for {}",
                    secs(settings.quiet)
                ),
            };
        }
    }
}

/// How many texts and replies have not arrived yet.
fn missing(
    plan: &Plan,
    ledger: &Ledger,
    sim: &SimHandle,
    faults: &[FaultRecord],
    clock: RunClock,
) -> usize {
    let texts = judge_in(
        &plan.texts,
        |t| ledger.injected_at(t),
        &ledger.arrivals(),
        faults,
    );
    let replies = judge_out(
        &plan.replies,
        |t| ledger.written_at(t),
        &network_parts(sim, clock),
        &ledger.bounces(),
        faults,
    );
    texts
        .iter()
        .chain(&replies)
        .filter(|v| !v.arrived() && !v.refused)
        .count()
}

fn network_parts(sim: &SimHandle, clock: RunClock) -> Vec<NetworkPart> {
    sim.sent_parts()
        .into_iter()
        .map(|p| NetworkPart {
            recipient: p.recipient,
            text: p.text,
            concatenation: p.concatenation.map(|c| (c.reference, c.sequence, c.total)),
            at: clock.since_start(p.sent_at),
        })
        .collect()
}

/// Where the store has a text that went wrong, and what the daemon logged about it.
async fn locate(
    reader: &StoreReader,
    rig: &Rig,
    prosody_log: &str,
    faults: &[FaultRecord],
    verdict: &Verdict,
) -> Result<Whereabouts, ChaosError> {
    let text = &verdict.text;
    let log = rig.daemon.log();
    match verdict.direction {
        Direction::In => {
            let rows = reader.inbound(&text.patron).await?;
            let pending = reader.pending_parts(&text.patron).await?;
            // The sender's number as a PDU carries it (semi-octets, nibbles swapped), to
            // find this text's parts among what the SIM holds without decoding them.
            let address = semi_octets(&text.patron);
            let on_sim = rig
                .sim
                .sim_messages()
                .iter()
                .filter(|e| hex(&e.message.pdu).contains(&address))
                .count();
            let in_network = rig.sim.inspect(|m| m.waiting_in_network());
            let undelivered = rows
                .iter()
                .any(|r| matches!(r.get("state"), Some("stored" | "offered")));
            let ids: Vec<String> = rows
                .iter()
                .filter_map(|r| r.get("id").map(str::to_owned))
                .collect();
            let mut store_rows: Vec<String> = rows
                .iter()
                .chain(&pending)
                .map(ToString::to_string)
                .collect();
            if rows.is_empty() {
                store_rows.push(format!(
                    "no inbound row; {on_sim} of its parts on the SIM; the network holds \
                     {in_network} messages for the modem (of any sender)"
                ));
            }
            Ok(Whereabouts {
                in_store: !rows.is_empty(),
                failed: false,
                unreached: false,
                // Texts the network still holds cannot be told apart without decoding;
                // while it holds any, a text with no row may be among them.
                waiting: undelivered
                    || !pending.is_empty()
                    || on_sim > 0
                    || (rows.is_empty() && in_network > 0),
                store_rows,
                log_lines: log_lines(log, "inbound", &ids, None),
            })
        }
        Direction::Out => {
            let rows = reader.outbound(&text.tag).await?;
            let parts = reader.outbound_parts(&text.tag).await?;
            let waiting = rows
                .iter()
                .any(|r| matches!(r.get("state"), Some("queued" | "sending")));
            let ids: Vec<String> = rows
                .iter()
                .filter_map(|r| r.get("id").map(str::to_owned))
                .collect();
            let mut store_rows: Vec<String> =
                rows.iter().chain(&parts).map(ToString::to_string).collect();
            if rows.is_empty() {
                store_rows.push("no outbound row".to_owned());
            }
            let log_lines = log_lines(log, "outbound", &ids, Some(&text.tag));
            // What Prosody did with it: the lines naming its id (where it went when the
            // daemon has no trace of it).
            let id = format!("id='{}'", text.tag);
            let prosody: Vec<String> = prosody_log
                .lines()
                .filter(|l| l.contains(&id))
                .map(|l| format!("prosody {l}"))
                .collect();
            // Never committed: no row. The daemon may have logged that it received it
            // (then it was killed before the commit), or not even that.
            let unreached = rows.is_empty()
                && verdict
                    .sent_at
                    .is_some_and(|sent| component_dying(faults, sent));
            Ok(Whereabouts {
                waiting,
                in_store: !rows.is_empty(),
                failed: rows.iter().any(|r| r.get("state") == Some("failed")),
                unreached,
                store_rows,
                log_lines: log_lines.into_iter().chain(prosody).collect(),
            })
        }
    }
}

/// How long before a daemon kill or stop a reply may have gone into the dying component
/// connection (Prosody writes it to the socket; the daemon never reads it).
const DYING: Duration = Duration::from_secs(2);

/// Whether the component connection was going away at `at`: within [`DYING`] before the
/// daemon was killed or stopped, or while Prosody restarted.
fn component_dying(faults: &[FaultRecord], at: Duration) -> bool {
    faults.iter().any(|f| match f.fault.kind() {
        FaultKindName::DaemonKill | FaultKindName::DaemonTerm => {
            at + DYING >= f.started && at <= f.started + DYING
        }
        FaultKindName::ProsodyRestart => at + DYING >= f.started && at <= f.ended,
        FaultKindName::LinkDrop | FaultKindName::ModemHang => false,
    })
}

/// A number's digits as an SMS address field carries them: two per octet, low nibble
/// first, `F` filling an odd last one; in upper-case hex as the PDU's hex shows it.
fn semi_octets(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    digits
        .chunks(2)
        .flat_map(|pair| match pair {
            [a, b] => [*b, *a],
            [a] => ['F', *a],
            _ => ['F', 'F'],
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_component_is_dying_just_before_a_daemon_stop_and_during_a_prosody_restart() {
        use crate::plan::Fault;
        let fault = |fault, started: u64, ended: u64| FaultRecord {
            fault,
            started: Duration::from_secs(started),
            ended: Duration::from_secs(ended),
            note: None,
        };
        let faults = [
            fault(
                Fault::DaemonKill {
                    down: Duration::ZERO,
                },
                10,
                12,
            ),
            fault(Fault::ProsodyRestart, 20, 24),
            fault(
                Fault::LinkDrop {
                    outage: Duration::ZERO,
                },
                30,
                40,
            ),
        ];
        let dying: Vec<u64> = (0..45)
            .filter(|&at| component_dying(&faults, Duration::from_secs(at)))
            .collect();
        assert_eq!(dying, [8, 9, 10, 11, 12, 18, 19, 20, 21, 22, 23, 24]);
    }

    #[test]
    fn a_number_in_semi_octets_is_found_in_the_pdu_that_carries_it() {
        assert_eq!(semi_octets("+15551000007"), "5155010000F7");
        let parts =
            textgate_modemsim::pdu::deliver_parts(&textgate_modemsim::pdu::DeliverRequest {
                sender: "+15551000007",
                text: "cx-i0007 hello",
                smsc: "+447700900001",
                timestamp: chrono::Utc::now().fixed_offset(),
                reference: 1,
                reference_bits: textgate_modemsim::pdu::ReferenceBits::Bits8,
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let pdu = parts.first().map(|p| hex(p)).unwrap_or_default();
        assert!(pdu.contains(&semi_octets("+15551000007")), "{pdu}");
        assert!(!pdu.contains(&semi_octets("+15551000008")), "{pdu}");
    }
}
