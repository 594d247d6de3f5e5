//! The run decided before it starts, from one `u64` seed: which texts patrons send and
//! when, which replies the librarian sends and when, and which faults strike after which
//! pauses. Nothing here performs I/O or reads the clock, so the same seed always gives the
//! same plan (the run itself still meets the machine's own timing).

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How much traffic and how many faults a run has.
#[derive(Clone, Debug)]
pub struct PlanSettings {
    pub seed: u64,
    /// How many faults strike.
    pub faults: usize,
    /// How many texts patrons send (patron -> simulator -> daemon -> librarian).
    pub texts: usize,
    /// How many replies the librarian sends (librarian -> daemon -> simulator network).
    pub replies: usize,
    /// Which kinds of fault may strike.
    pub kinds: Vec<FaultKindName>,
}

/// The kinds of fault, without their parameters (for choosing and for the command line).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKindName {
    DaemonKill,
    DaemonTerm,
    ProsodyRestart,
    LinkDrop,
    ModemHang,
}

impl FaultKindName {
    pub const ALL: [FaultKindName; 5] = [
        FaultKindName::DaemonKill,
        FaultKindName::DaemonTerm,
        FaultKindName::ProsodyRestart,
        FaultKindName::LinkDrop,
        FaultKindName::ModemHang,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultKindName::DaemonKill => "daemon-kill",
            FaultKindName::DaemonTerm => "daemon-term",
            FaultKindName::ProsodyRestart => "prosody-restart",
            FaultKindName::LinkDrop => "link-drop",
            FaultKindName::ModemHang => "modem-hang",
        }
    }

    /// The kind a command-line name means.
    pub fn parse(name: &str) -> Option<FaultKindName> {
        FaultKindName::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// One fault with its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL, as a crash or a power cut; started again after `down`.
    DaemonKill { down: Duration },
    /// SIGTERM, as systemd stops it; started again after `down`.
    DaemonTerm { down: Duration },
    /// Prosody stopped the polite way and started again, as `systemctl restart prosody`.
    ProsodyRestart,
    /// The modem's link drops (a USB modem re-enumerating): its device vanishes for
    /// `outage` and comes back.
    LinkDrop { outage: Duration },
    /// The modem stops answering for `hang`.
    ModemHang { hang: Duration },
}

impl Fault {
    pub fn kind(&self) -> FaultKindName {
        match self {
            Fault::DaemonKill { .. } => FaultKindName::DaemonKill,
            Fault::DaemonTerm { .. } => FaultKindName::DaemonTerm,
            Fault::ProsodyRestart => FaultKindName::ProsodyRestart,
            Fault::LinkDrop { .. } => FaultKindName::LinkDrop,
            Fault::ModemHang { .. } => FaultKindName::ModemHang,
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::DaemonKill { down } | Fault::DaemonTerm { down } => {
                write!(
                    f,
                    "{} (down {:.1}s)",
                    self.kind().as_str(),
                    down.as_secs_f64()
                )
            }
            Fault::ProsodyRestart => f.write_str(self.kind().as_str()),
            Fault::LinkDrop { outage } => {
                write!(f, "link-drop ({:.1}s)", outage.as_secs_f64())
            }
            Fault::ModemHang { hang } => write!(f, "modem-hang ({:.1}s)", hang.as_secs_f64()),
        }
    }
}

/// A fault and the pause before it (counted from the end of the previous fault's recovery,
/// or from the start of the run for the first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedFault {
    pub pause: Duration,
    pub fault: Fault,
}

/// The shapes of text the harness mixes: each travels a different path through the codecs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TextKind {
    /// GSM 7-bit, one SMS.
    Single,
    /// GSM 7-bit, two or three concatenated parts.
    Multipart,
    /// UCS-2 (characters outside the GSM alphabet, one outside the BMP), one SMS.
    Ucs2,
    /// UCS-2, two or three concatenated parts.
    Ucs2Multipart,
}

impl TextKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TextKind::Single => "single",
            TextKind::Multipart => "multipart",
            TextKind::Ucs2 => "ucs2",
            TextKind::Ucs2Multipart => "ucs2-multipart",
        }
    }
}

/// Which way a text travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// Patron -> simulator -> daemon -> librarian.
    In,
    /// Librarian -> daemon -> simulator's network.
    Out,
}

/// One text of either stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedText {
    /// The unique id the body starts with, e.g. `cx-i0007`; also the reply's stanza id.
    pub tag: String,
    pub kind: TextKind,
    /// The whole body, tag first.
    pub body: String,
    /// The patron's number: the sender of a text in, the recipient of a reply. Each text
    /// has its own, so concatenated parts never mix and arrivals are unambiguous.
    pub patron: String,
    /// When it is sent, counted from the start of the traffic.
    pub at: Duration,
}

/// The whole run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub seed: u64,
    pub texts: Vec<PlannedText>,
    pub replies: Vec<PlannedText>,
    pub faults: Vec<PlannedFault>,
}

/// The shortest and longest pause between two faults.
const PAUSE: (u64, u64) = (500, 3000);
/// A fault costs about this much on average (the daemon starting again, a hang, an
/// outage), used to spread the traffic over the time the faults take.
const MEAN_FAULT_MS: u64 = 2500;

/// Words for the bodies: GSM alphabet only (so the GSM kinds stay GSM) and nothing XML
/// needs escaped.
const WORDS: &[&str] = &[
    "library", "book", "renewal", "overdue", "hold", "atlas", "sailing", "desk", "card", "branch",
    "Friday", "evening", "night", "slot", "fine", "returned", "thanks", "please", "could", "you",
    "check", "my", "account", "the", "shelf", "reading", "room", "open",
];
/// Non-GSM characters for the UCS-2 kinds; the last is outside the BMP (a surrogate pair
/// in UCS-2/UTF-16, which a segment must never split).
const WIDE: &[&str] = &["ą", "ł", "ж", "д", "中", "文", "ś", "č", "ő", "📚"];

impl Plan {
    pub fn new(settings: &PlanSettings) -> Plan {
        let mut rng = StdRng::seed_from_u64(settings.seed);
        let kinds: Vec<FaultKindName> = if settings.kinds.is_empty() {
            FaultKindName::ALL.to_vec()
        } else {
            settings.kinds.clone()
        };
        let mut faults = Vec::with_capacity(settings.faults);
        for _ in 0..settings.faults {
            let pause = Duration::from_millis(rng.gen_range(PAUSE.0..=PAUSE.1));
            let kind = kinds[rng.gen_range(0..kinds.len())];
            let fault = match kind {
                FaultKindName::DaemonKill => Fault::DaemonKill {
                    down: Duration::from_millis(rng.gen_range(0..=2000)),
                },
                FaultKindName::DaemonTerm => Fault::DaemonTerm {
                    down: Duration::from_millis(rng.gen_range(0..=2000)),
                },
                FaultKindName::ProsodyRestart => Fault::ProsodyRestart,
                FaultKindName::LinkDrop => Fault::LinkDrop {
                    outage: Duration::from_millis(rng.gen_range(500..=4000)),
                },
                FaultKindName::ModemHang => Fault::ModemHang {
                    hang: Duration::from_millis(rng.gen_range(1000..=6000)),
                },
            };
            faults.push(PlannedFault { pause, fault });
        }
        // The traffic is spread over about the time the faults take, so texts meet faults.
        let span_ms = u64::try_from(settings.faults)
            .unwrap_or(u64::MAX)
            .saturating_mul((PAUSE.0 + PAUSE.1) / 2 + MEAN_FAULT_MS)
            .max(10_000);
        let texts = stream(&mut rng, Direction::In, settings.texts, span_ms);
        let replies = stream(&mut rng, Direction::Out, settings.replies, span_ms);
        Plan {
            seed: settings.seed,
            texts,
            replies,
            faults,
        }
    }
}

fn stream(rng: &mut StdRng, direction: Direction, count: usize, span_ms: u64) -> Vec<PlannedText> {
    let mut times: Vec<u64> = (0..count).map(|_| rng.gen_range(0..span_ms)).collect();
    times.sort_unstable();
    times
        .into_iter()
        .enumerate()
        .map(|(n, at)| {
            let kind = match rng.gen_range(0..10) {
                0..=3 => TextKind::Single,
                4..=6 => TextKind::Multipart,
                7..=8 => TextKind::Ucs2,
                _ => TextKind::Ucs2Multipart,
            };
            let (letter, base) = match direction {
                Direction::In => ('i', 1_000_000),
                Direction::Out => ('o', 2_000_000),
            };
            let tag = format!("cx-{letter}{n:04}");
            let body = body(rng, &tag, kind);
            PlannedText {
                tag,
                kind,
                body,
                patron: format!("+1555{:07}", base + n),
                at: Duration::from_millis(at),
            }
        })
        .collect()
}

/// A body of `kind` starting with `tag`: within one SMS (160 GSM characters, 70 UCS-2
/// code units) for the single kinds, two or three parts for the multipart kinds.
fn body(rng: &mut StdRng, tag: &str, kind: TextKind) -> String {
    // Lengths in UTF-16 code units, which is what a UCS-2 SMS counts (a character outside
    // the BMP is two); the GSM kinds are ASCII, one septet a character. The last word may
    // fall short of the target by one word, so the multipart minimums sit a word above
    // one SMS.
    let (min, max) = match kind {
        TextKind::Single => (20, 150),
        TextKind::Multipart => (170, 450),
        TextKind::Ucs2 => (12, 68),
        TextKind::Ucs2Multipart => (80, 195),
    };
    let target = rng.gen_range(min..=max);
    let wide = matches!(kind, TextKind::Ucs2 | TextKind::Ucs2Multipart);
    let mut text = tag.to_owned();
    if wide {
        // At least one character that forces UCS-2.
        text.push(' ');
        text.push_str(WIDE[rng.gen_range(0..WIDE.len() - 1)]);
    }
    loop {
        let word = if wide && rng.gen_range(0..4) == 0 {
            WIDE[rng.gen_range(0..WIDE.len())]
        } else {
            WORDS[rng.gen_range(0..WORDS.len())]
        };
        if units(&text) + 1 + units(word) > target {
            break;
        }
        text.push(' ');
        text.push_str(word);
    }
    text
}

fn units(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(seed: u64) -> PlanSettings {
        PlanSettings {
            seed,
            faults: 30,
            texts: 40,
            replies: 40,
            kinds: Vec::new(),
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_plan_and_another_seed_another() {
        assert_eq!(Plan::new(&settings(7)), Plan::new(&settings(7)));
        assert_ne!(Plan::new(&settings(7)), Plan::new(&settings(8)));
    }

    #[test]
    fn tags_and_patrons_are_unique_and_bodies_start_with_their_tag() {
        let plan = Plan::new(&settings(1));
        let all: Vec<&PlannedText> = plan.texts.iter().chain(&plan.replies).collect();
        let tags: std::collections::BTreeSet<&str> = all.iter().map(|t| t.tag.as_str()).collect();
        let patrons: std::collections::BTreeSet<&str> =
            all.iter().map(|t| t.patron.as_str()).collect();
        assert_eq!((tags.len(), patrons.len()), (80, 80));
        for text in &all {
            assert!(text.body.starts_with(&format!("{} ", text.tag)), "{text:?}");
            assert!(!text.body.contains(['<', '>', '&']), "{text:?}");
        }
    }

    #[test]
    fn every_kind_of_text_and_fault_appears_and_sizes_fit_the_kind() {
        let plan = Plan::new(&settings(3));
        let kinds: std::collections::BTreeSet<TextKind> = plan
            .texts
            .iter()
            .chain(&plan.replies)
            .map(|t| t.kind)
            .collect();
        assert_eq!(kinds.len(), 4, "{kinds:?}");
        let faults: std::collections::BTreeSet<FaultKindName> =
            plan.faults.iter().map(|f| f.fault.kind()).collect();
        assert_eq!(faults.len(), 5, "{faults:?}");
        for text in plan.texts.iter().chain(&plan.replies) {
            let units = units(&text.body);
            let fits = match text.kind {
                TextKind::Single => text.body.is_ascii() && units <= 160,
                TextKind::Multipart => text.body.is_ascii() && (161..=459).contains(&units),
                TextKind::Ucs2 => !text.body.is_ascii() && units <= 70,
                TextKind::Ucs2Multipart => !text.body.is_ascii() && (71..=201).contains(&units),
            };
            assert!(fits, "{} units: {text:?}", units);
        }
    }

    #[test]
    fn only_the_kinds_asked_for_strike() {
        let plan = Plan::new(&PlanSettings {
            kinds: vec![FaultKindName::ProsodyRestart],
            ..settings(5)
        });
        assert!(plan.faults.iter().all(|f| f.fault == Fault::ProsodyRestart));
    }
}
