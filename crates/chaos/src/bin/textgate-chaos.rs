//! `textgate-chaos`: one chaos run against the current daemon, for the long runs the test
//! suite has no time for. Prints the report; see docs/benchmarks.md ("Chaos").

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use textgate_chaos::faults::FaultRecord;
use textgate_chaos::{FaultKindName, PlanSettings, RunSettings, StoreKind};

/// The daemon's program when `--daemon` does not name one: the one built beside this.
const DAEMON_PROGRAM: &str = "textgate-chaos-daemon";

/// Runs the daemon through seeded faults while texts flow both ways, then reports what was
/// lost, stuck, duplicated or late. Needs Prosody installed and, for `--store postgres`,
/// PostgreSQL at DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
#[derive(Parser)]
#[command(name = "textgate-chaos")]
struct Args {
    /// The seed of the plan (texts, replies, faults and their moments); random if not given.
    #[arg(long)]
    seed: Option<u64>,
    /// How many faults strike.
    #[arg(long, default_value_t = 200)]
    faults: usize,
    /// The daemon's store: postgres or sqlite.
    #[arg(long, default_value = "postgres", value_parser = parse_store)]
    store: StoreKind,
    /// How many texts patrons send; by default two per fault.
    #[arg(long)]
    texts: Option<usize>,
    /// How many replies the librarian sends; by default two per fault.
    #[arg(long)]
    replies: Option<usize>,
    /// Only these kinds of fault (comma-separated): daemon-kill, daemon-term,
    /// prosody-restart, link-drop, modem-hang. All by default.
    #[arg(long, value_delimiter = ',', value_parser = parse_kind)]
    kinds: Vec<FaultKindName>,
    /// After the faults, stop waiting once nothing has arrived for this many seconds.
    #[arg(long, default_value_t = 30)]
    quiet: u64,
    /// After the faults, stop waiting after this many seconds in all.
    #[arg(long, default_value_t = 120)]
    settle_limit: u64,
    /// The daemon's program (run as `PROGRAM run --config FILE`); by default the
    /// textgate-chaos-daemon beside this program.
    #[arg(long)]
    daemon: Option<PathBuf>,
    /// Write the daemon's whole log, Prosody's and the librarian's logins into this
    /// directory at the end.
    #[arg(long)]
    keep_logs: Option<PathBuf>,
    /// Exit with status 1 when anything was lost (or the report does not add up).
    #[arg(long)]
    fail_on_loss: bool,
}

fn parse_store(name: &str) -> Result<StoreKind, String> {
    StoreKind::parse(name).ok_or_else(|| format!("{name:?}: use postgres or sqlite"))
}

fn parse_kind(name: &str) -> Result<FaultKindName, String> {
    FaultKindName::parse(name).ok_or_else(|| {
        let all: Vec<&str> = FaultKindName::ALL.iter().map(|k| k.as_str()).collect();
        format!("{name:?}: use one of {}", all.join(", "))
    })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let daemon = match args.daemon {
        Some(program) => program,
        None => beside_this_program(DAEMON_PROGRAM)?,
    };
    let seed = args.seed.unwrap_or_else(rand::random);
    let settings = RunSettings {
        plan: PlanSettings {
            seed,
            faults: args.faults,
            texts: args.texts.unwrap_or(2 * args.faults),
            replies: args.replies.unwrap_or(2 * args.faults),
            kinds: args.kinds,
        },
        store: args.store,
        daemon,
        quiet: Duration::from_secs(args.quiet),
        settle_limit: Duration::from_secs(args.settle_limit),
        linger: Duration::from_secs(3),
        keep_logs: args.keep_logs,
        on_fault: Some(progress),
    };
    eprintln!(
        "textgate-chaos: seed {seed}, {} faults, {} texts, {} replies, store {}",
        settings.plan.faults,
        settings.plan.texts,
        settings.plan.replies,
        settings.store.as_str()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime
        .block_on(textgate_chaos::run(&settings))
        .context("the chaos run could not be set up")?;
    println!("{report}");
    let inconsistencies = report.inconsistencies(settings.plan.faults);
    for problem in &inconsistencies {
        println!("INCONSISTENT: {problem}");
    }
    let lost = report.texts.lost + report.replies.lost;
    if args.fail_on_loss && (lost > 0 || !inconsistencies.is_empty()) {
        std::process::exit(1);
    }
    Ok(())
}

/// One line per fault on standard error, so a long run shows it is alive.
fn progress(n: usize, of: usize, fault: &FaultRecord) {
    eprintln!(
        "fault {n}/{of} at {:.1}s: {} (back after {:.1}s){}",
        fault.started.as_secs_f64(),
        fault.fault,
        (fault.ended - fault.started).as_secs_f64(),
        fault
            .note
            .as_deref()
            .map(|n| format!(": {n}"))
            .unwrap_or_default()
    );
}

/// `name` in the directory of this program, which must exist (`cargo build -p
/// textgate-chaos` builds both).
fn beside_this_program(name: &str) -> anyhow::Result<PathBuf> {
    let this = std::env::current_exe().context("finding the textgate-chaos executable")?;
    let program = this.with_file_name(name);
    if !program.is_file() {
        bail!(
            "the daemon {} is missing: build it with `cargo build --release -p textgate-chaos`, \
             or name one with --daemon",
            program.display()
        );
    }
    Ok(program)
}
