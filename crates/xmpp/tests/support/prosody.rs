//! A throw-away Prosody for one test: its own config, data directory and free ports in a
//! temporary directory, started in the foreground and killed when dropped. Needs the
//! `prosody` package (scripts/test installs it). Self-contained so other test suites can
//! include it with `#[path = "..."] mod prosody;`.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::fmt::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long Prosody may take to open its ports.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The XMPP domain of the librarians' accounts.
pub const HOST: &str = "library.test";

pub struct Prosody {
    dir: tempfile::TempDir,
    config: PathBuf,
    child: Option<Child>,
    pub c2s_port: u16,
    pub component_port: u16,
    /// Component domain → secret.
    pub components: Vec<(String, String)>,
}

impl Prosody {
    /// Starts Prosody with the virtual host [`HOST`] and one external component per domain.
    pub fn start(component_domains: &[&str]) -> Prosody {
        let dir = tempfile::tempdir().expect("temporary directory");
        let c2s_port = free_port();
        let component_port = free_port();
        let components: Vec<(String, String)> = component_domains
            .iter()
            .enumerate()
            .map(|(i, d)| {
                (
                    (*d).to_owned(),
                    format!("secret-{i}-{}", std::process::id()),
                )
            })
            .collect();
        let path = |name: &str| dir.path().join(name).display().to_string();
        let mut config = format!(
            r#"run_as_root = true
pidfile = "{pid}"
data_path = "{data}"
log = {{ debug = "{log}" }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {c2s_port} }}
s2s_ports = {{ }}
component_ports = {{ {component_port} }}
component_interface = "127.0.0.1"
modules_enabled = {{ "roster"; "saslauth"; "disco"; "ping"; "presence"; "register" }}
modules_disabled = {{ "s2s" }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
VirtualHost "{HOST}"
"#,
            pid = path("prosody.pid"),
            data = path("data"),
            log = path("prosody.log"),
        );
        for (domain, secret) in &components {
            writeln!(
                config,
                "Component \"{domain}\"\n    component_secret = \"{secret}\""
            )
            .expect("writing to a String");
        }
        std::fs::create_dir(dir.path().join("data")).expect("data directory");
        let config_path = dir.path().join("prosody.cfg.lua");
        std::fs::write(&config_path, config).expect("writing the Prosody config");
        let mut prosody = Prosody {
            dir,
            config: config_path,
            child: None,
            c2s_port,
            component_port,
            components,
        };
        prosody.launch();
        prosody
    }

    /// The secret of a component domain.
    pub fn secret(&self, domain: &str) -> String {
        self.components
            .iter()
            .find(|(d, _)| d == domain)
            .map(|(_, s)| s.clone())
            .expect("component configured in this Prosody")
    }

    pub fn component_addr(&self) -> String {
        format!("127.0.0.1:{}", self.component_port)
    }

    pub fn c2s_addr(&self) -> String {
        format!("127.0.0.1:{}", self.c2s_port)
    }

    /// Creates an account `user@library.test`.
    pub fn register(&self, user: &str, password: &str) {
        let status = Command::new("prosodyctl")
            .arg("--config")
            .arg(&self.config)
            .args(["register", user, HOST, password])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("running prosodyctl");
        assert!(
            status.success(),
            "prosodyctl register {user} failed: {status}"
        );
    }

    /// Kills the server (SIGKILL, no goodbye to anyone), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same ports with the same data.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// The server's log so far, for assertion messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prosody.log")).unwrap_or_default()
    }

    fn launch(&mut self) {
        let child = Command::new("prosody")
            .arg("-F")
            .arg("--config")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting prosody (is the prosody package installed?)");
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        for port in [self.c2s_port, self.component_port] {
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                    panic!("prosody exited with {status}:\n{}", self.log());
                }
                assert!(
                    Instant::now() < deadline,
                    "prosody did not open port {port} within {START_TIMEOUT:?}:\n{}",
                    self.log()
                );
                // Polling a port has no event to await; a short pause between attempts.
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

impl Drop for Prosody {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port that was free a moment ago (the OS picks it; the listener is closed again).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding an ephemeral port")
}
