//! The daemon under chaos: `PROGRAM run --config FILE` as a child process, killed or
//! stopped and started again as the faults say. Every line it logs (JSON, one per line, on
//! standard error) is kept across all its lives with the time it arrived and the life it
//! came from, so the harness awaits what the daemon reports instead of sleeping and the
//! report can quote the lines about a text that went wrong.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use crate::clock::RunClock;
use crate::error::ChaosError;

/// One line the daemon logged.
#[derive(Clone, Debug)]
pub struct LogLine {
    /// Which life of the daemon logged it (1 is the first start).
    pub life: u32,
    /// When the harness read it, on the run's clock.
    pub at: Duration,
    pub text: String,
}

/// Everything the daemon logged in all its lives, shared with the readers of its output.
#[derive(Clone, Default)]
pub struct DaemonLog {
    lines: Arc<Mutex<Vec<LogLine>>>,
    count: Arc<watch::Sender<usize>>,
}

impl DaemonLog {
    fn lock(&self) -> MutexGuard<'_, Vec<LogLine>> {
        // A reader that panicked left the lines as they were; they are still the best record.
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, line: LogLine) {
        let n = {
            let mut lines = self.lock();
            lines.push(line);
            lines.len()
        };
        self.count.send_replace(n);
    }

    /// How many lines there are so far: a mark to await later lines from.
    pub fn mark(&self) -> usize {
        self.lock().len()
    }

    /// Lines from `from` on that `keep` accepts.
    pub fn lines_since(&self, from: usize, keep: impl Fn(&LogLine) -> bool) -> Vec<LogLine> {
        self.lock()
            .iter()
            .skip(from)
            .filter(|l| keep(l))
            .cloned()
            .collect()
    }

    /// The index of the last line from `from` on that `keep` accepts.
    pub fn last_since(&self, from: usize, keep: impl Fn(&LogLine) -> bool) -> Option<usize> {
        let lines = self.lock();
        lines
            .iter()
            .enumerate()
            .skip(from)
            .filter(|(_, l)| keep(l))
            .map(|(i, _)| i)
            .last()
    }

    /// Every line `keep` accepts.
    pub fn lines(&self, keep: impl Fn(&LogLine) -> bool) -> Vec<LogLine> {
        self.lines_since(0, keep)
    }

    /// The last `n` lines, for error messages.
    pub fn tail(&self, n: usize) -> String {
        let lines = self.lock();
        lines
            .iter()
            .skip(lines.len().saturating_sub(n))
            .map(|l| format!("[life {} {:.1}s] {}", l.life, l.at.as_secs_f64(), l.text))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits up to `within` for a line at or after `from` that contains every fragment;
    /// returns its index.
    pub async fn wait_for(
        &self,
        from: usize,
        fragments: &[&str],
        within: Duration,
    ) -> Option<usize> {
        let mut count = self.count.subscribe();
        tokio::time::timeout(within, async {
            let mut checked = from;
            loop {
                {
                    let lines = self.lock();
                    if let Some(offset) = lines
                        .iter()
                        .skip(checked)
                        .position(|l| fragments.iter().all(|f| l.text.contains(f)))
                    {
                        return Some(checked + offset);
                    }
                    checked = checked.max(lines.len());
                }
                if count.changed().await.is_err() {
                    return None;
                }
            }
        })
        .await
        .ok()
        .flatten()
    }
}

/// The signal number of SIGKILL, which a process killed after its grace period died of.
const SIGKILL: i32 = 9;

/// How a stop on SIGTERM went.
#[derive(Clone, Debug)]
pub enum Stopped {
    /// The daemon exited by itself within the grace period.
    Exited(ExitStatus),
    /// It was still running after the grace period and was killed.
    KilledAfterGrace,
}

/// The daemon as a child process, in one of its lives.
pub struct Daemon {
    program: PathBuf,
    config: PathBuf,
    child: Option<Child>,
    life: u32,
    /// Where the current life's lines start.
    life_mark: usize,
    log: DaemonLog,
    clock: RunClock,
}

impl Daemon {
    /// Starts `program run --config config`.
    pub fn start(program: &Path, config: &Path, clock: RunClock) -> Result<Daemon, ChaosError> {
        let mut daemon = Daemon {
            program: program.to_owned(),
            config: config.to_owned(),
            child: None,
            life: 0,
            life_mark: 0,
            log: DaemonLog::default(),
            clock,
        };
        daemon.launch()?;
        Ok(daemon)
    }

    /// Starts the next life (the previous one must have ended).
    pub fn launch(&mut self) -> Result<(), ChaosError> {
        let mut child = Command::new(&self.program)
            .arg("run")
            .arg("--config")
            .arg(&self.config)
            .arg("--shutdown-timeout")
            .arg("5")
            .env_remove("TEXTGATE_CONFIG")
            .env_remove("TEXTGATE_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ChaosError::Spawn {
                program: self.program.clone(),
                source,
            })?;
        self.life += 1;
        self.life_mark = self.log.mark();
        if let Some(stderr) = child.stderr.take() {
            let log = self.log.clone();
            let life = self.life;
            let clock = self.clock;
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(text)) = lines.next_line().await {
                    log.push(LogLine {
                        life,
                        at: clock.now(),
                        text,
                    });
                }
            });
        }
        self.child = Some(child);
        Ok(())
    }

    /// Waits until this life has connected its component and found its modem ready.
    pub async fn wait_ready(&self, within: Duration) -> Result<(), ChaosError> {
        let deadline = tokio::time::Instant::now() + within;
        for what in [
            &["component connected"][..],
            &["modem health", "ready ("][..],
        ] {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if self
                .log
                .wait_for(self.life_mark, what, left)
                .await
                .is_none()
            {
                return Err(ChaosError::NotReady {
                    what: what.join(" + "),
                    within,
                    tail: self.log.tail(40),
                });
            }
        }
        Ok(())
    }

    /// SIGKILL, as a crash or a power cut; waits until the process is gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// SIGTERM, then up to `grace` for the daemon to finish, then SIGKILL. `None` when no
    /// life was running.
    pub async fn terminate(&mut self, grace: Duration) -> Option<Stopped> {
        use std::os::unix::process::ExitStatusExt as _;
        let mut child = self.child.take()?;
        textgate_testkit::process::terminate(&mut child, grace).await;
        // It has exited now, by itself or by the SIGKILL after the grace period.
        Some(match child.wait().await {
            Ok(status) if status.signal() == Some(SIGKILL) => Stopped::KilledAfterGrace,
            Ok(status) => Stopped::Exited(status),
            Err(_) => Stopped::KilledAfterGrace,
        })
    }

    pub fn log(&self) -> &DaemonLog {
        &self.log
    }

    /// How many lives the daemon has had.
    pub fn lives(&self) -> u32 {
        self.life
    }
}
