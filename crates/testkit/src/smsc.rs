//! An SMSC nobody on the team wrote, steered by the test: node-smpp's server (npm `smpp`
//! 0.5.1, pinned in `crates/smpp/tests/peer/package.json`, installed by scripts/test with
//! `npm ci`) running `crates/smpp/tests/peer/controlled.js`. It listens on a port the kernel
//! picks and says which, so no other server can be mistaken for it; everything it sees
//! arrives as one JSON event per line; commands make it throttle, refuse, hold answers,
//! drop connections, change its receipts or deliver a text from a phone.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::time::timeout;

/// How long starting, or any one event, may take.
const WAIT: Duration = Duration::from_secs(20);

/// Why the SMSC did not start.
#[derive(Debug, thiserror::Error)]
pub enum SmscError {
    #[error("node-smpp is not installed in {0}: run scripts/test, or `npm ci` there")]
    NotInstalled(PathBuf),
    #[error("cannot start node (is Node.js installed?): {0}")]
    Spawn(std::io::Error),
    #[error("the SMSC did not start: {0}")]
    Start(String),
}

fn peer_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../smpp/tests/peer")
}

/// The steered node-smpp SMSC; killed when dropped.
pub struct Smsc {
    _child: Child,
    stdin: ChildStdin,
    pub port: u16,
    lines: mpsc::UnboundedReceiver<Value>,
    /// Every event read so far, in order.
    pub seen: Vec<Value>,
    pings: u64,
}

impl Smsc {
    /// Starts the SMSC of `crates/smpp/tests/peer/controlled.js` on a port the kernel
    /// picks; node-smpp must be installed there (`npm ci`, which scripts/test runs).
    pub async fn start() -> Result<Smsc, SmscError> {
        Smsc::launch(None).await
    }

    /// The same SMSC speaking SMPP over TLS with the PEM `key` and `cert` files.
    pub async fn start_tls(key: &Path, cert: &Path) -> Result<Smsc, SmscError> {
        Smsc::launch(Some((key, cert))).await
    }

    async fn launch(tls: Option<(&Path, &Path)>) -> Result<Smsc, SmscError> {
        let dir = peer_dir();
        if !dir.join("node_modules/smpp").is_dir() {
            return Err(SmscError::NotInstalled(dir));
        }
        let mut command = Command::new("node");
        if let Some((key, cert)) = tls {
            command.env("SMSC_TLS_KEY", key).env("SMSC_TLS_CERT", cert);
        }
        let mut child = command
            .arg(dir.join("controlled.js"))
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(SmscError::Spawn)?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(SmscError::Start("no pipes to node".into()));
        };
        let mut reader = BufReader::new(stdout).lines();
        let first = timeout(WAIT, reader.next_line())
            .await
            .map_err(|_| SmscError::Start(format!("no port within {WAIT:?}")))?
            .map_err(|e| SmscError::Start(e.to_string()))?
            .ok_or_else(|| SmscError::Start("node exited before listening".into()))?;
        let port: u16 = first
            .strip_prefix("listening ")
            .and_then(|p| p.trim().parse().ok())
            .ok_or_else(|| SmscError::Start(format!("unexpected first line {first:?}")))?;
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = reader.next_line().await {
                match serde_json::from_str::<Value>(&line) {
                    Ok(value) => {
                        if tx.send(value).is_err() {
                            return;
                        }
                    }
                    Err(_) => eprintln!("smsc: {line}"),
                }
            }
        });
        Ok(Smsc {
            _child: child,
            stdin,
            port,
            lines,
            seen: Vec::new(),
            pings: 0,
        })
    }

    /// Sends one command (see controlled.js for the list).
    pub async fn command(&mut self, command: Value) {
        let line = format!("{command}\n");
        self.stdin
            .write_all(line.as_bytes())
            .await
            .expect("the SMSC reads commands");
    }

    /// Waits for the next event named `name`; the events passed on the way are kept.
    pub async fn next(&mut self, name: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("no {name} within {WAIT:?}; seen {:#?}", self.seen))
                .expect("the SMSC is running");
            self.seen.push(line.clone());
            if line["event"] == name {
                return line;
            }
        }
    }

    /// Waits until the SMSC handled everything sent to it before this call.
    pub async fn settle(&mut self) {
        self.pings += 1;
        let id = self.pings;
        self.command(serde_json::json!({"cmd": "ping", "id": id}))
            .await;
        loop {
            let pong = self.next("pong").await;
            if pong["id"] == id {
                return;
            }
        }
    }

    /// Waits until `count` events named `name` were read in all (those passed over by
    /// [`Smsc::next`] included).
    pub async fn until_count(&mut self, name: &str, count: usize) {
        while self.count(name) < count {
            self.next(name).await;
        }
    }

    /// How many events named `name` were read so far.
    pub fn count(&self, name: &str) -> usize {
        self.seen.iter().filter(|e| e["event"] == name).count()
    }
}
