//! `textgate-modemsim`: a simulated GSM modem on a pseudo-terminal and/or a TCP port, with
//! an HTTP control API. Prints one line per endpoint on standard output, e.g.
//!
//! ```text
//! pty /dev/pts/7
//! tcp 127.0.0.1:7001
//! control http://127.0.0.1:7002
//! ```
//!
//! so scripts and tests can read where to connect (a new `pty` line follows every
//! reconnection after a simulated disconnect).

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use textgate_modemsim::{Personality, SimConfig, SimHandle};
use tokio::net::TcpListener;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "A simulated GSM modem speaking AT commands (3GPP TS 27.005/27.007, PDU mode)"
)]
struct Args {
    /// Serve on a pseudo-terminal (the default when no --tcp is given).
    #[arg(long)]
    pty: bool,
    /// Create (or replace) a symlink to the pseudo-terminal at this path; implies --pty.
    #[arg(long)]
    link: Option<PathBuf>,
    /// Serve on this TCP address, e.g. 127.0.0.1:7001 (port 0 picks a free one).
    #[arg(long)]
    tcp: Option<SocketAddr>,
    /// Serve the HTTP control API on this address.
    #[arg(long)]
    control: Option<SocketAddr>,
    /// How long each AT+CMGS takes, in milliseconds.
    #[arg(long, default_value_t = 2500)]
    latency_ms: u64,
    /// How long after a send its status report arrives, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    status_report_delay_ms: u64,
    /// generic, huawei, quectel, simcom, sierra or android.
    #[arg(long, default_value = "generic")]
    personality: Personality,
    /// Require this SIM PIN.
    #[arg(long)]
    pin: Option<String>,
    /// How many messages the SIM holds.
    #[arg(long, default_value_t = 30)]
    capacity: usize,
    /// Seed for random fault injection.
    #[arg(long)]
    seed: Option<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut config = SimConfig {
        personality: args.personality,
        pin: args.pin,
        capacity: args.capacity,
        send_latency: Duration::from_millis(args.latency_ms),
        status_report_delay: Duration::from_millis(args.status_report_delay_ms),
        ..SimConfig::default()
    };
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    let handle = SimHandle::new(config);
    let use_pty = args.pty || args.link.is_some() || args.tcp.is_none();

    let mut tasks = tokio::task::JoinSet::new();
    if let Some(addr) = args.tcp {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for AT connections on {addr}"))?;
        println!("tcp {}", listener.local_addr()?);
        let h = handle.clone();
        tasks.spawn(async move {
            textgate_modemsim::tcp::serve_tcp(h, listener)
                .await
                .context("the TCP transport failed")
        });
    }
    if let Some(addr) = args.control {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for the control API on {addr}"))?;
        println!("control http://{}", listener.local_addr()?);
        let h = handle.clone();
        tasks.spawn(async move {
            textgate_modemsim::control::serve_control(h, listener)
                .await
                .context("the control API failed")
        });
    }
    if use_pty {
        let mut paths = handle.pty_path();
        let h = handle.clone();
        let link = args.link.clone();
        tasks.spawn(async move {
            textgate_modemsim::pty::serve_pty(h, link)
                .await
                .context("the pseudo-terminal transport failed")
        });
        tasks.spawn(async move {
            // Announce every (re)appearance of the pseudo-terminal.
            loop {
                if let Some(path) = paths.borrow_and_update().clone() {
                    println!("pty {}", path.display());
                }
                if paths.changed().await.is_err() {
                    return Ok(());
                }
            }
        });
    }
    if let Some(link) = &args.link {
        println!("link {}", link.display());
    }

    tokio::select! {
        finished = tasks.join_next() => match finished {
            Some(Ok(result)) => result,
            Some(Err(e)) => Err(e).context("a transport task panicked"),
            None => Ok(()),
        },
        signal = tokio::signal::ctrl_c() => {
            signal.context("cannot wait for Ctrl-C")?;
            if let Some(link) = &args.link {
                let _ = std::fs::remove_file(link);
            }
            Ok(())
        }
    }
}
