//! What the tests with real end-user XMPP clients share (`client_converse.rs`,
//! `client_profanity.rs`): the gateway's scene with Prosody also serving XMPP over WebSocket,
//! where the clients' screenshots and screen captures go, and a terminal client in tmux.
//!
//! The clients are programs nobody on the team wrote, installed by `scripts/lib/env.sh`:
//! Converse.js from npm (`ensure_converse`, pinned in `clients/converse`), profanity and tmux
//! from Debian (`ensure_profanity`). Without them these tests fail rather than skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use textgate_modemsim::SimConfig;

use super::daemon::{self, Daemon, GatewaySection};
use super::database::Database;
use super::modem::Modem;
use super::prosody::ProsodySetup;
use super::scene::{operator, Scene, GW, PASSWORD};

/// How long a client may take to show what the test waits for. Generous: Chromium and the
/// daemon share two cores with the rest of the test suite.
pub const SHOW_WAIT: Duration = Duration::from_secs(60);

/// The gateway set up like [`Scene::start`] (alice and bob its operators, mallory not), with
/// the simulated modem configured by `sim` and Prosody serving XMPP over WebSocket too.
pub async fn scene(sim: SimConfig) -> Scene {
    let prosody = ProsodySetup::new()
        .component(GW, &format!("secret-clients-{}", std::process::id()))
        .websocket()
        .start()
        .await
        .expect("Prosody starts");
    for user in ["alice", "bob", "mallory"] {
        prosody
            .register(user, PASSWORD)
            .await
            .unwrap_or_else(|e| panic!("registering {user}: {e}"));
    }
    let db = Database::create().await;
    let modem = Modem::start_with(sim).await;
    let section = GatewaySection {
        operators: vec![operator("alice"), operator("bob")],
        ..GatewaySection::for_alice(
            prosody.component_addr(),
            &prosody.secret(GW),
            modem.path.clone(),
        )
    };
    let config = daemon::config(&db.url, &[section]);
    let daemon = Daemon::start(&config);
    Scene {
        daemon,
        modem,
        db,
        prosody,
        config,
    }
}

/// A simulated network whose status reports come `delay` after each send, so a client can
/// be seen before and after its receipt; no other delays.
pub fn sim_with_report_delay(delay: Duration) -> SimConfig {
    SimConfig {
        status_report_delay: delay,
        ..SimConfig::instant()
    }
}

/// `target/artifacts/clients/<test>/`, created: the screenshots and screen captures a test
/// keeps, for a person to look at what the client showed.
pub fn artifacts(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/artifacts/clients")
        .join(test);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("creating the artifact directory {}: {e}", dir.display()));
    dir.canonicalize().unwrap_or(dir)
}

/// Writes one artifact and says where it is on the test's output.
pub fn keep(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents)
        .unwrap_or_else(|e| panic!("writing the artifact {}: {e}", path.display()));
    println!("artifact: {}", path.display());
    path
}

/// A program running in a detached tmux session on a tmux server of its own (its socket in
/// a temporary directory), with a fixed window size so its screen is the same on every
/// machine. Keys go in with `send-keys`; the screen comes out with `capture-pane`. Dropping
/// it stops that tmux server and the program with it.
pub struct Terminal {
    socket: PathBuf,
    // Holds the socket's directory (and whatever else the test keeps there).
    _dir: tempfile::TempDir,
}

impl Terminal {
    /// Runs `program` with `args` and the environment `env` (on top of a clean one: PATH,
    /// TERM and LANG only) in a new session of `columns` x `lines`.
    pub fn start(
        program: &str,
        args: &[&str],
        env: &[(&str, &Path)],
        size: (u16, u16),
    ) -> Terminal {
        let dir = tempfile::tempdir().expect("a directory for the tmux socket");
        let socket = dir.path().join("tmux.sock");
        let terminal = Terminal { socket, _dir: dir };
        let mut command = vec![
            "new-session".to_owned(),
            "-d".into(),
            "-s".into(),
            "client".into(),
            "-x".into(),
            size.0.to_string(),
            "-y".into(),
            size.1.to_string(),
            "env".into(),
            "-i".into(),
            format!("PATH={}", std::env::var("PATH").unwrap_or_default()),
            "LANG=C.UTF-8".into(),
            "TERM=tmux-256color".into(),
        ];
        command.extend(env.iter().map(|(k, v)| format!("{k}={}", v.display())));
        command.push(program.into());
        command.extend(args.iter().map(|a| (*a).to_owned()));
        let output = terminal.tmux(&command.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            output.status.success(),
            "tmux could not start {program} (is tmux installed? scripts/lib/env.sh \
             ensure_profanity installs it): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        // The session would close with the program; keep it, so a program that exits
        // leaves its last screen to read.
        terminal.tmux(&["set-option", "-t", "client", "remain-on-exit", "on"]);
        terminal
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            // No user's ~/.tmux.conf: the same terminal on every machine.
            .args(["-f", "/dev/null"])
            .args(args)
            .output()
            .expect("running tmux (scripts/lib/env.sh ensure_profanity installs it)")
    }

    /// Types `text` literally (no key names), then Enter.
    pub fn type_line(&self, text: &str) {
        let typed = self.tmux(&["send-keys", "-t", "client", "-l", text]);
        assert!(
            typed.status.success(),
            "send-keys: {}",
            String::from_utf8_lossy(&typed.stderr)
        );
        let enter = self.tmux(&["send-keys", "-t", "client", "Enter"]);
        assert!(
            enter.status.success(),
            "send-keys: {}",
            String::from_utf8_lossy(&enter.stderr)
        );
    }

    /// Presses keys by tmux's names (`"M-2"`, `"Escape"`).
    pub fn press(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "client"];
        args.extend_from_slice(keys);
        let pressed = self.tmux(&args);
        assert!(
            pressed.status.success(),
            "send-keys: {}",
            String::from_utf8_lossy(&pressed.stderr)
        );
    }

    /// The screen as text.
    pub fn screen(&self) -> String {
        self.capture(&[])
    }

    /// The screen with its colours and attributes as ANSI escape sequences.
    pub fn screen_with_colours(&self) -> String {
        self.capture(&["-e"])
    }

    fn capture(&self, extra: &[&str]) -> String {
        let mut args = vec!["capture-pane", "-p", "-t", "client"];
        args.extend_from_slice(extra);
        let output = self.tmux(&args);
        assert!(
            output.status.success(),
            "capture-pane: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits until the screen (as [`Terminal::screen`] or, with `colours`,
    /// [`Terminal::screen_with_colours`] gives it) satisfies `shows`, and returns it; on a
    /// timeout the panic names `what` and shows the last screen. A terminal has no event
    /// to await: the screen is looked at every 100 ms.
    pub async fn wait_for(
        &self,
        what: &str,
        colours: Colours,
        shows: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = tokio::time::Instant::now() + SHOW_WAIT;
        loop {
            let screen = match colours {
                Colours::Plain => self.screen(),
                Colours::Kept => self.screen_with_colours(),
            };
            if shows(&screen) {
                return screen;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "the terminal did not show {what} within {SHOW_WAIT:?}; its screen:\n{screen}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Whether a screen is read with its colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colours {
    Plain,
    Kept,
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // Stops this test's tmux server only (its own socket), and the program in it.
        let _ = self.tmux(&["kill-server"]);
    }
}
