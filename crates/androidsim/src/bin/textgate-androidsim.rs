//! `textgate-androidsim`: a simulated SMSGate phone (local server mode) on one address,
//! with the control API under `/control/` on the same listener, without auth: anyone who
//! can reach `--listen` can steer it, so keep it on loopback (the default). Prints
//! `listening http://ADDRESS` on standard output once it serves.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use textgate_androidsim::{ControlApi, Phone, PhoneConfig};
use tokio::net::TcpListener;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "A simulated Android phone running SMSGate v1.68.0 in local server mode"
)]
struct Args {
    /// Address to serve the app's API and the control API on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Basic auth user name of the local server.
    #[arg(long, default_value = "sms")]
    username: String,
    /// Basic auth password of the local server.
    #[arg(long, default_value = "password")]
    password: String,
    /// Key the webhooks are signed with.
    #[arg(long, default_value = "signing1")]
    signing_key: String,
    /// Post `system:ping` every this many seconds (off when absent).
    #[arg(long)]
    ping_seconds: Option<u64>,
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
    let config = PhoneConfig {
        username: args.username,
        password: args.password,
        signing_key: args.signing_key,
        // By hand, the app's own pace of retries.
        webhook_retry_base: Duration::from_secs(5),
        ping_interval: args.ping_seconds.map(Duration::from_secs),
        ..PhoneConfig::default()
    };
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let phone = Phone::start_on(listener, config, ControlApi::On)
        .await
        .context("starting the phone")?;
    println!("listening {}", phone.base_url());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    drop(phone);
    Ok(())
}
