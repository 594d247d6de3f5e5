//! Stopping a child process the way an operator would: SIGTERM, a grace period to finish,
//! then SIGKILL. The demo stops its Prosody and its daemon this way, so both leave nothing
//! half-written behind.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// Sends SIGTERM to `child` and waits up to `grace` for it to exit; kills it (SIGKILL) if it
/// does not. Returns at once if it already exited.
///
/// SIGTERM goes through kill(1): this crate forbids unsafe code and the workspace's signal
/// crate is not built with its signal feature.
pub async fn terminate(child: &mut Child, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
}
