//! The modem simulator on a real pseudo-terminal, served by this test process; the daemon
//! opens the terminal's path as its serial device.

use std::path::PathBuf;
use std::time::Duration;

use textgate_modemsim::{SimConfig, SimHandle};
use tokio::task::JoinHandle;

/// How long the simulator may take to be reached, or to reach an awaited state.
pub const WAIT: Duration = Duration::from_secs(20);

pub struct Modem {
    pub sim: SimHandle,
    pub path: PathBuf,
    task: JoinHandle<()>,
}

impl Modem {
    /// A modem with no send latency and immediate status reports.
    pub async fn start() -> Modem {
        Modem::start_with(SimConfig::instant()).await
    }

    pub async fn start_with(config: SimConfig) -> Modem {
        let sim = SimHandle::new(config);
        let mut paths = sim.pty_path();
        let served = sim.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = textgate_modemsim::pty::serve_pty(served, None).await {
                panic!("the simulator's pseudo-terminal failed: {e}");
            }
        });
        let path = tokio::time::timeout(WAIT, async {
            loop {
                if let Some(path) = paths.borrow_and_update().clone() {
                    return path;
                }
                paths.changed().await.expect("simulator gone");
            }
        })
        .await
        .expect("the simulator did not open its pseudo-terminal");
        Modem { sim, path, task }
    }

    /// Waits until the daemon has taken every text off the SIM (it deletes them only after
    /// the store committed them).
    pub async fn wait_sim_empty(&self) {
        self.sim
            .wait_until(WAIT, |m| m.sim().used() == 0)
            .await
            .unwrap_or_else(|e| panic!("SIM not emptied: {e}"));
    }

    /// Waits until the host has sent at least `parts` SMS parts in total.
    pub async fn wait_sent_parts(&self, parts: usize) {
        self.sim
            .wait_until(WAIT, |m| m.sent().len() >= parts)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{parts} parts not sent ({:?}): {e}",
                    self.sim.sent_messages()
                )
            });
    }
}

impl Drop for Modem {
    fn drop(&mut self) {
        self.task.abort();
    }
}
