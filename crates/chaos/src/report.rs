//! The verdict on a run: for each direction, how many texts were sent and how many arrived,
//! were lost, stuck, refused, duplicated, late or altered, with a case and its evidence for
//! every text that went wrong. [`judge`] decides from what was observed without I/O; the
//! run then resolves the texts that never arrived into lost or stuck from the store and
//! attaches the evidence.
//!
//! The definitions:
//! - **arrived**: the whole text reached the other side unaltered at least once (for a
//!   multipart reply: every part, reassembled, equals the body).
//! - **lost**: it never arrived, nothing about it is waiting in the store, and nobody was
//!   told it failed.
//! - **stuck**: it never arrived but still waits in the store at the end (a reply queued
//!   or leased, a text stored but not delivered, parts pending) or on the SIM.
//! - **refused**: a reply that never arrived, the librarian got an error about it, and
//!   either it never reached the daemon or the daemon gave up on it (`failed`).
//! - **unreached**: a reply that never reached the daemon's store (no row), was not
//!   refused, and was written just before the daemon was killed or stopped or while
//!   Prosody restarted: Prosody handed it to a component connection that was dying, and
//!   the daemon never read it or was killed between reading and committing it. XEP-0114
//!   acknowledges nothing, so the librarian is not told: a real loss at the XMPP boundary,
//!   counted apart from `lost` (a text the daemon committed, or took from the modem, and
//!   lost) so each has its own figure, with Prosody's and the daemon's log lines as its
//!   evidence.
//! - **unsent**: a reply the librarian never managed to write (she was never online again).
//! - **duplicated**: it, or one of its parts, reached the other side more than once.
//! - **late**: between its sending and its first arrival it spent more than
//!   [`LATE_AFTER`] in transit while no fault was in progress (a fault lasts from its start
//!   until the daemon, Prosody, the librarian or the modem is back): with faults every few
//!   seconds, "more than 30 s after the last fault ended" would excuse everything.
//! - **altered**: something with its patron arrived that differs from its body.
//!
//! Each sent text has exactly one of arrived, lost, stuck, refused, unreached; duplicated, late and
//! altered are marks on top. [`Report::inconsistencies`] checks that the numbers add up.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::time::Duration;

use crate::clock::secs;
use crate::faults::FaultRecord;
use crate::ledger::{Arrival, Bounce};
use crate::plan::{Direction, PlannedText, TextKind};
use crate::rig::StoreKind;

/// What the daemon logs when it sends again a part whose answer was lost (killed, stopped
/// or cut off with the part handed over) and no status report showed the part arrived:
/// the documented at-least-once point.
pub const RESENT_UNSURE: &str = "sending again a part whose answer was lost";
/// What it logs when a status report showed such a part arrived, so it was not sent again.
pub const REPORTED_UNSURE: &str = "the network reported the part whose answer was lost";

/// An arrival later than this after the text could have been delivered is late.
pub const LATE_AFTER: Duration = Duration::from_secs(30);

/// What went wrong with one text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    Lost,
    Stuck,
    Refused,
    Unreached,
    Unsent,
    Duplicated {
        times: usize,
    },
    /// `healthy`: its time in transit while no fault was in progress.
    Late {
        healthy: Duration,
    },
    Altered,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Lost => f.write_str("LOST"),
            Problem::Stuck => f.write_str("STUCK"),
            Problem::Refused => f.write_str("REFUSED"),
            Problem::Unreached => f.write_str("UNREACHED"),
            Problem::Unsent => f.write_str("UNSENT"),
            Problem::Duplicated { times } => write!(f, "DUPLICATED ({times} times)"),
            Problem::Late { healthy } => {
                write!(f, "LATE ({} in transit outside faults)", secs(*healthy))
            }
            Problem::Altered => f.write_str("ALTERED"),
        }
    }
}

/// One text that went wrong, with the evidence.
#[derive(Clone, Debug)]
pub struct Case {
    pub tag: String,
    pub kind: TextKind,
    pub patron: String,
    pub problem: Problem,
    /// When it was sent (injected, or written by the librarian).
    pub sent_at: Option<Duration>,
    /// When it (or, for a reply, its completing part) arrived, every time.
    pub arrivals: Vec<Duration>,
    /// What the harness saw: the differing body, the parts that did arrive, the error.
    pub detail: Vec<String>,
    /// The text's rows in the daemon's store at the end.
    pub store_rows: Vec<String>,
    /// The daemon's log lines naming those rows or the reply's stanza id.
    pub log_lines: Vec<String>,
}

/// The numbers and cases of one direction.
#[derive(Clone, Debug, Default)]
pub struct DirectionReport {
    pub planned: usize,
    pub sent: usize,
    pub arrived: usize,
    pub lost: usize,
    pub stuck: usize,
    pub refused: usize,
    pub unreached: usize,
    pub unsent: usize,
    pub duplicated: usize,
    /// Of the duplicated, those the daemon logged it sent again after losing a part's
    /// answer ([`RESENT_UNSURE`]); the rest have no such explanation.
    pub duplicated_resent: usize,
    pub late: usize,
    pub altered: usize,
    pub cases: Vec<Case>,
}

/// Whether the wait for quiescence saw everything arrive.
#[derive(Clone, Debug)]
pub struct Quiescence {
    /// Every text and reply arrived before the wait ended.
    pub complete: bool,
    /// How long the wait took (after the last fault and the last text).
    pub waited: Duration,
    /// What ended it.
    pub ended_by: String,
}

/// Everything a run found.
#[derive(Clone, Debug)]
pub struct Report {
    pub seed: u64,
    pub store: StoreKind,
    pub faults: Vec<FaultRecord>,
    /// Patron -> librarian.
    pub texts: DirectionReport,
    /// Librarian -> patron.
    pub replies: DirectionReport,
    /// Texts from patrons' JIDs the plan does not know.
    pub strays: Vec<String>,
    pub quiescence: Quiescence,
    pub elapsed: Duration,
    /// How many times the daemon was started.
    pub daemon_lives: u32,
    pub librarian_logins: u32,
    /// Replies the server refused for now (the daemon was down) that the librarian sent
    /// again.
    pub librarian_resends: usize,
    /// Parts whose answer an attempt lost, as the daemon settled them.
    pub lost_answers: LostAnswers,
}

/// What became of the parts whose answer was lost with a killed or stopped daemon (or a
/// dropped link), from the daemon's log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LostAnswers {
    /// A status report showed the part arrived: recorded, not sent again.
    pub reported: usize,
    /// Nothing showed it: sent again, a possible duplicate.
    pub resent: usize,
}

/// One SMS part the daemon sent to the network, on the run's clock.
#[derive(Clone, Debug)]
pub struct NetworkPart {
    pub recipient: String,
    pub text: Option<String>,
    /// Concatenation reference, sequence number and total, for one part of several.
    pub concatenation: Option<(u16, u8, u8)>,
    pub at: Duration,
}

/// What became of one text, before the store is asked about those that never arrived.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub text: PlannedText,
    pub direction: Direction,
    pub sent_at: Option<Duration>,
    /// Times of every complete, unaltered arrival.
    pub arrivals: Vec<Duration>,
    /// The most times anything of it arrived (whole text or one part).
    pub times: usize,
    pub altered: Vec<String>,
    /// Partial arrivals and errors, for the evidence.
    pub detail: Vec<String>,
    pub refused: bool,
    /// Its time in transit outside faults, when that made it late.
    pub late_by: Option<Duration>,
}

impl Verdict {
    pub fn arrived(&self) -> bool {
        !self.arrivals.is_empty()
    }
}

/// Judges the texts in (`texts` with `injected` times and the librarian's `arrivals`).
pub fn judge_in(
    texts: &[PlannedText],
    injected: impl Fn(&str) -> Option<Duration>,
    arrivals: &[Arrival],
    faults: &[FaultRecord],
) -> Vec<Verdict> {
    texts
        .iter()
        .map(|text| {
            let sent_at = injected(&text.tag);
            let mine: Vec<&Arrival> = arrivals
                .iter()
                .filter(|a| a.patron == text.patron)
                .collect();
            let good: Vec<Duration> = mine
                .iter()
                .filter(|a| a.body == text.body)
                .map(|a| a.at)
                .collect();
            let altered: Vec<String> = mine
                .iter()
                .filter(|a| a.body != text.body)
                .map(|a| format!("at {}: {:?}", secs(a.at), a.body))
                .collect();
            let detail = mine
                .iter()
                .map(|a| {
                    format!(
                        "reached the librarian at {}{}",
                        secs(a.at),
                        if a.delayed { " (delay-stamped)" } else { "" }
                    )
                })
                .collect();
            let late_by = lateness(sent_at, &good, faults);
            Verdict {
                text: text.clone(),
                direction: Direction::In,
                sent_at,
                times: mine.len(),
                arrivals: good,
                altered,
                detail,
                refused: false,
                late_by,
            }
        })
        .collect()
}

/// Judges the replies (`replies` with `written` times) against what the network got.
pub fn judge_out(
    replies: &[PlannedText],
    written: impl Fn(&str) -> Option<Duration>,
    parts: &[NetworkPart],
    bounces: &[Bounce],
    faults: &[FaultRecord],
) -> Vec<Verdict> {
    replies
        .iter()
        .map(|reply| {
            let sent_at = written(&reply.tag);
            let want = digits(&reply.patron);
            let mine: Vec<&NetworkPart> = parts
                .iter()
                .filter(|p| digits(&p.recipient) == want)
                .collect();
            let mut arrivals = Vec::new();
            let mut altered = Vec::new();
            let mut detail = Vec::new();
            let mut times = 0;
            // Single SMS: each is a whole delivery.
            for part in mine.iter().filter(|p| p.concatenation.is_none()) {
                times += 1;
                let text = part.text.clone().unwrap_or_default();
                if text == reply.body {
                    arrivals.push(part.at);
                } else {
                    altered.push(format!("at {}: {text:?}", secs(part.at)));
                }
            }
            // Concatenated parts, grouped by reference and total.
            let mut groups: BTreeMap<(u16, u8), BTreeMap<u8, Vec<&NetworkPart>>> = BTreeMap::new();
            for part in &mine {
                if let Some((reference, sequence, total)) = part.concatenation {
                    groups
                        .entry((reference, total))
                        .or_default()
                        .entry(sequence)
                        .or_default()
                        .push(part);
                }
            }
            for ((reference, total), by_sequence) in &groups {
                let most = by_sequence.values().map(Vec::len).max().unwrap_or(0);
                times = times.max(most);
                let complete = (1..=*total).all(|s| by_sequence.contains_key(&s));
                let sent: Vec<String> = by_sequence
                    .iter()
                    .map(|(s, copies)| {
                        let at: Vec<String> = copies.iter().map(|p| secs(p.at)).collect();
                        format!("{s}@{}", at.join("+"))
                    })
                    .collect();
                detail.push(format!(
                    "ref {reference}: parts {} of {total} sent ({})",
                    by_sequence.len(),
                    sent.join(", ")
                ));
                if !complete {
                    continue;
                }
                let whole: String = by_sequence
                    .values()
                    .filter_map(|copies| copies.first().and_then(|p| p.text.clone()))
                    .collect();
                let done = by_sequence
                    .values()
                    .filter_map(|copies| copies.first().map(|p| p.at))
                    .max()
                    .unwrap_or_default();
                if whole == reply.body {
                    arrivals.push(done);
                } else {
                    altered.push(format!("ref {reference} at {}: {whole:?}", secs(done)));
                }
            }
            arrivals.sort();
            times = times.max(arrivals.len() + altered.len());
            let mine_bounces: Vec<&Bounce> = bounces.iter().filter(|b| b.id == reply.tag).collect();
            for bounce in &mine_bounces {
                detail.push(format!("error at {}: {}", secs(bounce.at), bounce.stanza));
            }
            let late_by = lateness(sent_at, &arrivals, faults);
            Verdict {
                text: reply.clone(),
                direction: Direction::Out,
                sent_at,
                arrivals,
                times,
                altered,
                detail,
                refused: !mine_bounces.is_empty(),
                late_by,
            }
        })
        .collect()
}

fn digits(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).collect()
}

/// How long the text was in transit while nothing was broken, if that is more than
/// [`LATE_AFTER`]: the time from its sending to its first arrival, less the time any fault
/// was in progress (from its start until everything it struck was back). Under constant
/// chaos a text may wait out many faults; it is late only when it also waited while the
/// system was whole.
fn lateness(
    sent_at: Option<Duration>,
    arrivals: &[Duration],
    faults: &[FaultRecord],
) -> Option<Duration> {
    let first = *arrivals.iter().min()?;
    let sent_at = sent_at.unwrap_or_default();
    let mut windows: Vec<(Duration, Duration)> = faults
        .iter()
        .map(|f| (f.started.max(sent_at), f.ended.min(first)))
        .filter(|(from, to)| from < to)
        .collect();
    windows.sort();
    // The union of the fault windows within the transit.
    let mut covered = Duration::ZERO;
    let mut reached = sent_at;
    for (from, to) in windows {
        let from = from.max(reached);
        if to > from {
            covered += to - from;
            reached = to;
        }
    }
    let healthy = first.saturating_sub(sent_at).saturating_sub(covered);
    (healthy > LATE_AFTER).then_some(healthy)
}

/// Where a text that never arrived is, according to the store at the end.
#[derive(Clone, Debug, Default)]
pub struct Whereabouts {
    /// Still waiting: queued, leased, stored but not delivered, parts pending, on the SIM.
    pub waiting: bool,
    /// The daemon has a row for it (a refused reply has none: it never reached the daemon).
    pub in_store: bool,
    /// The daemon gave up on it (a reply in state `failed`, which the librarian is told).
    pub failed: bool,
    /// It was sent just before the daemon died or while Prosody restarted, and the daemon
    /// never committed it (no row).
    pub unreached: bool,
    pub store_rows: Vec<String>,
    pub log_lines: Vec<String>,
}

/// Counts the verdicts into a direction's report. `whereabouts` says, for each tag that
/// went wrong, where the store has it and what the daemon logged about it.
pub fn tally(verdicts: &[Verdict], whereabouts: &BTreeMap<String, Whereabouts>) -> DirectionReport {
    let mut report = DirectionReport {
        planned: verdicts.len(),
        ..DirectionReport::default()
    };
    for verdict in verdicts {
        let found = whereabouts
            .get(&verdict.text.tag)
            .cloned()
            .unwrap_or_default();
        let case = |problem: Problem| Case {
            tag: verdict.text.tag.clone(),
            kind: verdict.text.kind,
            patron: verdict.text.patron.clone(),
            problem,
            sent_at: verdict.sent_at,
            arrivals: verdict.arrivals.clone(),
            detail: verdict
                .altered
                .iter()
                .map(|a| format!("altered: {a}"))
                .chain(verdict.detail.iter().cloned())
                .collect(),
            store_rows: found.store_rows.clone(),
            log_lines: found.log_lines.clone(),
        };
        if verdict.sent_at.is_none() {
            report.unsent += 1;
            report.cases.push(case(Problem::Unsent));
            continue;
        }
        report.sent += 1;
        if verdict.arrived() {
            report.arrived += 1;
        } else if verdict.refused && (!found.in_store || found.failed) {
            // The librarian was told: by the server (it never reached the daemon; a reply
            // she sent again and that did reach it is judged by the store) or by the
            // daemon giving up.
            report.refused += 1;
            report.cases.push(case(Problem::Refused));
        } else if found.waiting {
            report.stuck += 1;
            report.cases.push(case(Problem::Stuck));
        } else if found.unreached {
            report.unreached += 1;
            report.cases.push(case(Problem::Unreached));
        } else {
            report.lost += 1;
            report.cases.push(case(Problem::Lost));
        }
        if verdict.times > 1 {
            report.duplicated += 1;
            if found.log_lines.iter().any(|l| l.contains(RESENT_UNSURE)) {
                report.duplicated_resent += 1;
            }
            report.cases.push(case(Problem::Duplicated {
                times: verdict.times,
            }));
        }
        if let Some(healthy) = verdict.late_by {
            report.late += 1;
            report.cases.push(case(Problem::Late { healthy }));
        }
        if !verdict.altered.is_empty() {
            report.altered += 1;
            report.cases.push(case(Problem::Altered));
        }
    }
    report
}

impl DirectionReport {
    fn inconsistencies(&self, name: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut check = |holds: bool, what: String| {
            if !holds {
                found.push(format!("{name}: {what}"));
            }
        };
        check(
            self.planned == self.sent + self.unsent,
            format!(
                "planned {} != sent {} + unsent {}",
                self.planned, self.sent, self.unsent
            ),
        );
        check(
            self.sent == self.arrived + self.lost + self.stuck + self.refused + self.unreached,
            format!(
                "sent {} != arrived {} + lost {} + stuck {} + refused {} + unreached {}",
                self.sent, self.arrived, self.lost, self.stuck, self.refused, self.unreached
            ),
        );
        check(
            self.late <= self.arrived,
            format!("late {} > arrived {}", self.late, self.arrived),
        );
        check(
            self.duplicated <= self.sent && self.altered <= self.sent,
            format!(
                "duplicated {} or altered {} > sent {}",
                self.duplicated, self.altered, self.sent
            ),
        );
        let count = |f: fn(&Problem) -> bool| self.cases.iter().filter(|c| f(&c.problem)).count();
        let counted = [
            (count(|p| *p == Problem::Lost), self.lost, "lost"),
            (count(|p| *p == Problem::Stuck), self.stuck, "stuck"),
            (count(|p| *p == Problem::Refused), self.refused, "refused"),
            (
                count(|p| *p == Problem::Unreached),
                self.unreached,
                "unreached",
            ),
            (count(|p| *p == Problem::Unsent), self.unsent, "unsent"),
            (
                count(|p| matches!(p, Problem::Duplicated { .. })),
                self.duplicated,
                "duplicated",
            ),
            (
                count(|p| matches!(p, Problem::Late { .. })),
                self.late,
                "late",
            ),
            (count(|p| *p == Problem::Altered), self.altered, "altered"),
        ];
        for (cases, number, what) in counted {
            check(
                cases == number,
                format!("{cases} {what} cases but {what} = {number}"),
            );
        }
        found
    }
}

impl Report {
    /// Everything in the report that does not add up; empty when it is consistent.
    pub fn inconsistencies(&self, planned_faults: usize) -> Vec<String> {
        let mut found = self.texts.inconsistencies("texts");
        found.extend(self.replies.inconsistencies("replies"));
        if self.faults.len() != planned_faults {
            found.push(format!(
                "{} faults struck of {planned_faults} planned",
                self.faults.len()
            ));
        }
        for fault in &self.faults {
            if fault.ended < fault.started {
                found.push(format!("{} ended before it started", fault.fault));
            }
        }
        found
    }

    /// Every case of both directions.
    pub fn cases(&self) -> impl Iterator<Item = (&'static str, &Case)> {
        self.texts
            .cases
            .iter()
            .map(|c| ("text", c))
            .chain(self.replies.cases.iter().map(|c| ("reply", c)))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "chaos run: seed {} store {} faults {} elapsed {} (daemon lives {}, librarian logins {}, replies resent after a refusal {})",
            self.seed,
            self.store.as_str(),
            self.faults.len(),
            secs(self.elapsed),
            self.daemon_lives,
            self.librarian_logins,
            self.librarian_resends,
        )?;
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for fault in &self.faults {
            *kinds.entry(fault.fault.kind().as_str()).or_default() += 1;
        }
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        writeln!(f, "faults: {}", kinds.join(", "))?;
        writeln!(
            f,
            "parts whose answer was lost: {} shown sent by a status report, {} sent again",
            self.lost_answers.reported, self.lost_answers.resent
        )?;
        writeln!(
            f,
            "quiescence: {} after {} ({})",
            if self.quiescence.complete {
                "complete"
            } else {
                "incomplete"
            },
            secs(self.quiescence.waited),
            self.quiescence.ended_by
        )?;
        writeln!(
            f,
            "{:<8} {:>5} {:>5} {:>7} {:>5} {:>6} {:>7} {:>9} {:>6} {:>10} {:>5} {:>7}",
            "",
            "plan",
            "sent",
            "arrived",
            "lost",
            "stuck",
            "refused",
            "unreached",
            "unsent",
            "duplicated",
            "late",
            "altered"
        )?;
        for (name, d) in [("texts", &self.texts), ("replies", &self.replies)] {
            writeln!(
                f,
                "{:<8} {:>5} {:>5} {:>7} {:>5} {:>6} {:>7} {:>9} {:>6} {:>10} {:>5} {:>7}",
                name,
                d.planned,
                d.sent,
                d.arrived,
                d.lost,
                d.stuck,
                d.refused,
                d.unreached,
                d.unsent,
                d.duplicated,
                d.late,
                d.altered
            )?;
        }
        for (name, d) in [("texts", &self.texts), ("replies", &self.replies)] {
            if d.duplicated > 0 {
                writeln!(
                    f,
                    "{name} duplicated: {} after the daemon sent again a part whose answer was lost, {} otherwise",
                    d.duplicated_resent,
                    d.duplicated - d.duplicated_resent
                )?;
            }
        }
        if !self.strays.is_empty() {
            writeln!(
                f,
                "strays (from patrons the plan does not know): {}",
                self.strays.len()
            )?;
            for stray in &self.strays {
                writeln!(f, "  {stray}")?;
            }
        }
        for fault in &self.faults {
            if let Some(note) = &fault.note {
                writeln!(
                    f,
                    "fault {} at {}: {note}",
                    fault.fault,
                    secs(fault.started)
                )?;
            }
        }
        for (direction, case) in self.cases() {
            let mut line = format!(
                "\n{} {direction} {} ({}, patron {})",
                case.problem,
                case.tag,
                case.kind.as_str(),
                case.patron
            );
            if let Some(at) = case.sent_at {
                let _ = write!(line, " sent at {}", secs(at));
            }
            if !case.arrivals.is_empty() {
                let at: Vec<String> = case.arrivals.iter().map(|a| secs(*a)).collect();
                let _ = write!(line, ", arrived at {}", at.join(", "));
            }
            writeln!(f, "{line}")?;
            // The faults that met it on its way: in progress when it was sent, or struck
            // within LATE_AFTER of it.
            let sent = case.sent_at.unwrap_or_default();
            let around: Vec<String> = self
                .faults
                .iter()
                .filter(|fault| fault.ended >= sent && fault.started <= sent + LATE_AFTER)
                .map(|fault| {
                    format!(
                        "{} {}..{}",
                        fault.fault,
                        secs(fault.started),
                        secs(fault.ended)
                    )
                })
                .collect();
            if !around.is_empty() {
                writeln!(f, "  faults on its way: {}", around.join("; "))?;
            }
            for detail in &case.detail {
                writeln!(f, "  {detail}")?;
            }
            for row in &case.store_rows {
                writeln!(f, "  store {row}")?;
            }
            for line in &case.log_lines {
                writeln!(f, "  log {line}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
