//! `textgate-demo` (and `textgate demo`, which runs it): a whole gateway on this machine,
//! with nothing but Prosody installed.
//!
//! It starts, in a fresh temporary directory and on free ports of 127.0.0.1 only:
//! a throw-away Prosody (testkit's, with the component `sms.library.test` and two librarian
//! accounts), the modem simulator on a pseudo-terminal (in this process, with its HTTP
//! control API playing the phone network), the daemon as a child process (`textgate run`
//! with a generated configuration on SQLite; the `textgate` beside this program), and the
//! browser desk: Converse.js (`clients/converse`, installed by `npm ci` there) served on a
//! port of its own, talking to Prosody over WebSocket. Then it prints how to log in as a
//! librarian (in a browser or any XMPP client) and how to text the gateway as a patron, and
//! waits for Ctrl-C.
//!
//! On Ctrl-C, or when anything it started dies, it stops everything it started and removes
//! the directory. With `--self-test` it plays both sides instead (a patron's text in, a
//! librarian's reply out through testkit's XMPP client) and exits 0 only if the reply
//! reached the simulated network.
//!
//! The demo is its own program so that the daemon, `textgate`, does not link the simulator.

#![forbid(unsafe_code)]

mod daemon;
mod dir;
mod instructions;
mod self_test;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use textgate_modemsim::{SimConfig, SimHandle};
use textgate_testkit::converse::{self, ConverseSite};
use textgate_testkit::prosody::{LogLevel, Prosody, ProsodySetup, HOST};
use tokio::net::TcpListener;

use daemon::Daemon;
use dir::DemoDir;
use instructions::say;

/// The gateway's component domain.
const GATEWAY: &str = "sms.library.test";
/// The patron the instructions and the self-test text from.
const PATRON: &str = "+15551234567";
/// How long each start-up step and each self-test step may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long Prosody may take to stop on SIGTERM before it is killed.
const PROSODY_GRACE: Duration = Duration::from_secs(5);
/// The daemon's program when `--daemon` does not name one: the one installed beside this.
const DAEMON_PROGRAM: &str = "textgate";

/// A whole demo gateway on this machine: a throw-away Prosody, the modem simulator and the
/// daemon on SQLite, all on 127.0.0.1 in a temporary directory. It prints how to use it;
/// Ctrl-C stops it all.
#[derive(Debug, Parser)]
#[command(name = "textgate-demo", version)]
struct DemoArgs {
    /// Instead of waiting for you: text the gateway, answer as a librarian, check the
    /// answer reached the (simulated) phone network, then stop. Exit status 0 means the
    /// whole path works on this machine.
    #[arg(long)]
    self_test: bool,
    /// The textgate program to run as the daemon (`PROGRAM run --config FILE`); by default
    /// the `textgate` installed beside textgate-demo.
    #[arg(long, value_name = "PROGRAM")]
    daemon: Option<PathBuf>,
    /// Converse.js's `dist` directory for the browser desk; by default the one `npm ci` in
    /// this checkout's `clients/converse` installs (scripts/demo runs it).
    #[arg(long, value_name = "DIR")]
    converse: Option<PathBuf>,
}

/// What the demo does once everything runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Print instructions and wait for Ctrl-C.
    Interactive,
    /// Play patron and librarian, then stop.
    SelfTest,
}

fn main() -> ExitCode {
    let args = DemoArgs::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("textgate-demo: {e:#}");
            // The same statuses as `textgate` itself, which ran the demo before.
            textgate::exit::status_of(&e).into()
        }
    }
}

/// Runs the demo until Ctrl-C (or until the self-test ends).
fn run(args: &DemoArgs) -> anyhow::Result<()> {
    let mode = if args.self_test {
        Mode::SelfTest
    } else {
        Mode::Interactive
    };
    let program = match &args.daemon {
        Some(program) => program.clone(),
        None => beside_this_program(DAEMON_PROGRAM)?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let converse = args.converse.clone().unwrap_or_else(converse::pinned_dist);
    let dir = DemoDir::create()?;
    let result = runtime.block_on(demo(&dir, &program, &converse, mode));
    // The simulator's tasks hold the pseudo-terminal; stop them before removing the
    // directory the link lives in.
    runtime.shutdown_timeout(Duration::from_secs(5));
    dir.remove();
    result
}

/// `name` in the directory of this program, which must exist: the demo runs the daemon
/// installed beside it, as scripts/demo builds them.
fn beside_this_program(name: &str) -> anyhow::Result<PathBuf> {
    let this = std::env::current_exe().context("finding the textgate-demo executable")?;
    let program = this.with_file_name(name);
    if !program.is_file() {
        bail!(
            "the daemon {} is missing: build it beside textgate-demo with \
             `cargo build --release -p textgate -p textgate-demo` (scripts/demo builds them \
             with `--profile demo` instead, into target/demo), or name one with --daemon",
            program.display()
        );
    }
    Ok(program)
}

async fn demo(
    dir: &DemoDir,
    program: &std::path::Path,
    converse: &std::path::Path,
    mode: Mode,
) -> anyhow::Result<()> {
    let secret = dir::random_token()?;
    let passwords = [dir::random_token()?, dir::random_token()?];

    say("starting Prosody (a throw-away server in the demo's directory)");
    let mut prosody = ProsodySetup::new()
        .component(GATEWAY, &secret)
        .in_directory(&dir.path)
        .log_level(LogLevel::Info)
        // For the browser desk.
        .websocket()
        .start()
        .await
        .context("starting Prosody")?;
    // On any error from here on, dropping `prosody` kills the server.
    for (user, password) in ["alice", "bob"].iter().zip(&passwords) {
        prosody.register(user, password).await?;
    }

    say("starting the modem simulator on a pseudo-terminal");
    let sim = SimHandle::new(SimConfig {
        // Shorter than a real network's 2.5 s, so the demo feels quick; still not instant.
        send_latency: Duration::from_millis(500),
        status_report_delay: Duration::from_secs(1),
        ..SimConfig::default()
    });
    let link = dir.path.join("modem");
    tokio::spawn(textgate_modemsim::pty::serve_pty(
        sim.clone(),
        Some(link.clone()),
    ));
    let mut pty = sim.pty_path();
    tokio::time::timeout(STEP_TIMEOUT, pty.wait_for(|p| p.is_some()))
        .await
        .context("the simulator's pseudo-terminal did not appear")?
        .context("the simulator stopped")?;
    let control = TcpListener::bind("127.0.0.1:0")
        .await
        .context("opening the simulator's control port")?;
    let control_addr = control.local_addr()?;
    tokio::spawn(textgate_modemsim::control::serve_control(
        sim.clone(),
        control,
    ));

    say("starting textgate (the daemon, on SQLite in the demo's directory)");
    let config = dir.path.join("textgate.toml");
    std::fs::write(
        &config,
        daemon::configuration(dir, &link, prosody.component_port, &secret),
    )
    .with_context(|| format!("writing {}", config.display()))?;
    let mut daemon = Daemon::start(dir, program, &config)?;
    // Ready: the component authenticated to Prosody and the modem answered.
    let waited = tokio::select! {
        r = async {
            let listening = daemon.wait_for_log("http listening").await?;
            daemon.wait_for_log("component connected").await?;
            daemon.wait_for_log("health=ready").await?;
            http_port(&listening)
        } => r,
        e = prosody_exited(&mut prosody) => Err(e),
    };
    let http_port = match waited {
        Ok(port) => port,
        Err(e) => {
            daemon.stop().await;
            prosody.stop(PROSODY_GRACE).await;
            return Err(e.context(format!("the log so far:\n{}", daemon.log_tail())));
        }
    };

    let c2s_port = prosody.c2s_port;
    let c2s_addr = prosody.c2s_addr();
    let result = match mode {
        Mode::Interactive => {
            // Without Converse.js the demo still works with any XMPP client; it says why
            // there is no browser desk.
            let desk = browser_desk(converse, &prosody).await;
            let desk_url = desk
                .as_ref()
                .map(ConverseSite::url)
                .map_err(|e| format!("{e:#}"));
            instructions::print(
                c2s_port,
                control_addr,
                &passwords,
                dir,
                http_port,
                &desk_url,
            );
            tokio::spawn(instructions::echo_gateway_events(daemon.log()));
            tokio::select! {
                r = stop_requested() => r.map(|signal| {
                    say(&format!("{signal}: stopping everything the demo started"));
                }),
                e = daemon.exited() => Err(e),
                e = prosody_exited(&mut prosody) => Err(e),
            }
        }
        Mode::SelfTest => {
            say("self-test: a patron texts, alice answers, the answer goes out as SMS");
            tokio::select! {
                r = tokio::time::timeout(
                    4 * STEP_TIMEOUT,
                    self_test::run(&sim, &c2s_addr, &passwords[0], http_port),
                ) => r.unwrap_or_else(|_| bail!("the self-test did not finish within {:?}", 4 * STEP_TIMEOUT)),
                r = stop_requested() => r.and_then(|signal| bail!("{signal}: self-test interrupted")),
                e = daemon.exited() => Err(e),
                e = prosody_exited(&mut prosody) => Err(e),
            }
        }
    };
    daemon.stop().await;
    prosody.stop(PROSODY_GRACE).await;
    match result {
        Ok(()) => {
            if mode == Mode::SelfTest {
                println!("demo self-test passed");
            }
            say("stopped; the demo's directory is removed");
            Ok(())
        }
        Err(e) => Err(e.context(format!("the daemon's log:\n{}", daemon.log_tail()))),
    }
}

/// Converse.js served for the demo's Prosody, if it is installed.
async fn browser_desk(dist: &std::path::Path, prosody: &Prosody) -> anyhow::Result<ConverseSite> {
    say("serving the browser desk (Converse.js)");
    let http = prosody
        .http_port
        .context("Prosody serves no WebSocket for the browser desk")?;
    Ok(ConverseSite::serve(dist, HOST, ([127, 0, 0, 1], http).into()).await?)
}

/// Resolves (with the reason as an error) only if Prosody stops on its own.
async fn prosody_exited(prosody: &mut Prosody) -> anyhow::Error {
    match prosody.wait().await {
        Ok(status) => anyhow::anyhow!("Prosody stopped unexpectedly ({status})"),
        Err(e) => anyhow::anyhow!("{e}"),
    }
}

/// Ctrl-C, and also SIGTERM and SIGHUP (`kill`, a closed terminal): the demo must not
/// die and leave Prosody and the daemon running.
async fn stop_requested() -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut hup = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
    Ok(tokio::select! {
        _ = int.recv() => "Ctrl-C",
        _ = term.recv() => "SIGTERM",
        _ = hup.recv() => "SIGHUP",
    })
}

/// The port of the daemon's HTTP listener, from its text log line
/// `… http listening address=127.0.0.1:41235`.
fn http_port(line: &str) -> anyhow::Result<u16> {
    line.split_whitespace()
        .find_map(|field| field.strip_prefix("address="))
        .and_then(|address| address.parse::<std::net::SocketAddr>().ok())
        .map(|address| address.port())
        .with_context(|| format!("the daemon's \"http listening\" line names no address: {line:?}"))
}

#[cfg(test)]
mod tests {
    use super::http_port;

    #[test]
    fn the_port_comes_from_the_listening_line() {
        let line = "2026-12-03T12:00:00.000000Z  INFO textgate::run_cmd: http listening address=127.0.0.1:41235";
        assert_eq!(http_port(line).expect("a port"), 41235);
        let error = http_port("INFO textgate::run_cmd: http listening").expect_err("no address");
        assert!(error.to_string().contains("names no address"), "{error}");
    }
}
