//! A throw-away Prosody: its own configuration, data directory and free ports on 127.0.0.1,
//! started in the foreground as a child process and killed when dropped. Tests start one
//! each with [`Prosody::start`]; the demo binary places one in its own directory with
//! [`ProsodySetup`]. Needs the `prosody` package (scripts/test and scripts/demo install it).
//!
//! A port chosen free can be taken by another server before Prosody binds it; Prosody then
//! runs on without it, and whatever connects reaches the other server. So Prosody counts as
//! started only when the kernel says the process we launched is the one listening on its
//! ports ([`ports`]); when another process holds one, a start tries again on new ports
//! (up to [`START_ATTEMPTS`] times) and a restart, which must keep its ports, fails.
//!
//! With [`ProsodySetup::websocket`] it also serves XMPP over WebSocket (RFC 7395, Prosody's
//! mod_websocket) on an HTTP port of its own, for browser clients such as Converse.js
//! ([`crate::converse`]); that port is chosen and checked like the others.
//!
//! Starting, registering an account and restarting return an error that says which step
//! failed, with the server's log when it has one. [`Prosody::secret`] panics only when asked
//! for a domain it was never given, which is a mistake in the caller.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::time::Instant;

use crate::ports::{free_port, who_listens, Listener};

/// How long Prosody may take to open its ports.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How many sets of ports a start tries before it gives up: each is lost only to a server
/// that binds a just-released port in a window of milliseconds.
const START_ATTEMPTS: usize = 5;
/// The XMPP domain of the librarians' accounts.
pub const HOST: &str = "library.test";
/// Where Prosody's mod_websocket serves XMPP over WebSocket on its HTTP port.
pub const WEBSOCKET_PATH: &str = "/xmpp-websocket";

/// What went wrong starting or driving Prosody.
#[derive(thiserror::Error)]
pub enum ProsodyError {
    #[error("cannot create a temporary directory for Prosody: {source}")]
    TempDir { source: std::io::Error },
    #[error("cannot create {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot find a free port for Prosody: {source}")]
    FreePort { source: std::io::Error },
    #[error("cannot start prosody (is the prosody package installed?): {source}")]
    Spawn { source: std::io::Error },
    #[error("prosody exited with {status} while starting; its log:\n{log}")]
    Exited { status: ExitStatus, log: String },
    #[error(
        "prosody did not open port {port} within {:?}; its log:\n{log}",
        START_TIMEOUT
    )]
    NotListening { port: u16, log: String },
    #[error("port {port} is held by another process, so prosody could not listen on it; its log:\n{log}")]
    PortTaken { port: u16, log: String },
    #[error("cannot tell which process listens on port {port} (from /proc): {source}")]
    Listeners { port: u16, source: std::io::Error },
    #[error("cannot run prosodyctl: {source}")]
    Prosodyctl { source: std::io::Error },
    #[error("prosodyctl register {user} {} failed ({status}): {stderr}", HOST)]
    Register {
        user: String,
        status: ExitStatus,
        stderr: String,
    },
    #[error("waiting for prosody: {source}")]
    Wait { source: std::io::Error },
}

/// The message itself, so a test's `expect` shows the server's log line by line rather than
/// as one escaped string.
impl std::fmt::Debug for ProsodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// How much Prosody writes to its log (`prosody.log` in its directory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Every stanza: what a failing test's message needs.
    Debug,
    /// Connections and problems: what a person watching the demo can read.
    Info,
}

impl LogLevel {
    fn as_lua(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
        }
    }
}

/// Where Prosody's files go.
#[derive(Debug, Clone)]
enum Place {
    /// A temporary directory of its own, removed when the [`Prosody`] is dropped.
    Temporary,
    /// A directory the caller owns (and removes).
    In(PathBuf),
}

/// How to set up a Prosody: its external components (XEP-0114) with their secrets, where its
/// files go and how much it logs. [`Prosody::start`] is the tests' short form.
#[derive(Debug, Clone)]
pub struct ProsodySetup {
    components: Vec<(String, String)>,
    place: Place,
    log_level: LogLevel,
    ports: PortSource,
    /// Stream management (XEP-0198, Prosody's bundled mod_smacks) with this hibernation
    /// time; off unless set.
    stream_management: Option<Duration>,
    /// Whether Prosody serves XMPP over WebSocket on an HTTP port; off unless set.
    web: Web,
    /// A multi-user chat service (XEP-0045, Prosody's bundled mod_muc) on this domain.
    muc: Option<String>,
}

/// What Prosody serves over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Web {
    /// No HTTP at all (mod_http is not loaded).
    Nothing,
    /// mod_websocket at `/xmpp-websocket`, plain HTTP on 127.0.0.1.
    Websocket,
}

impl Default for ProsodySetup {
    fn default() -> Self {
        ProsodySetup {
            components: Vec::new(),
            place: Place::Temporary,
            log_level: LogLevel::Debug,
            ports: PortSource(Arc::new(free_port)),
            stream_management: None,
            web: Web::Nothing,
            muc: None,
        }
    }
}

/// Where a start gets its ports from.
#[derive(Clone)]
struct PortSource(Arc<dyn Fn() -> std::io::Result<u16> + Send + Sync>);

impl PortSource {
    /// `count` different ports, in the order services ask for them (client, component,
    /// HTTP): one port for two services would be ours for one and missing for the other.
    fn distinct(&self, count: usize) -> Result<Vec<u16>, ProsodyError> {
        let next = || (self.0)().map_err(|source| ProsodyError::FreePort { source });
        let mut ports: Vec<u16> = Vec::with_capacity(count);
        while ports.len() < count {
            let mut attempts = 0;
            let port = loop {
                let port = next()?;
                if !ports.contains(&port) {
                    break port;
                }
                attempts += 1;
                if attempts >= START_ATTEMPTS {
                    return Err(ProsodyError::FreePort {
                        source: std::io::Error::other(format!(
                            "the port source gave only ports already chosen ({ports:?}), \
                             not {count} different ones"
                        )),
                    });
                }
            };
            ports.push(port);
        }
        Ok(ports)
    }
}

impl std::fmt::Debug for PortSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PortSource")
    }
}

impl ProsodySetup {
    /// No components, a temporary directory, a debug log.
    pub fn new() -> ProsodySetup {
        ProsodySetup::default()
    }

    /// Adds an external component `domain` that authenticates with `secret`.
    pub fn component(mut self, domain: &str, secret: &str) -> ProsodySetup {
        self.components.push((domain.to_owned(), secret.to_owned()));
        self
    }

    /// Puts Prosody's files into `dir` (which must exist) instead of a temporary directory:
    /// `prosody.cfg.lua`, `prosody.pid`, `prosody.log` and `prosody-data/`. The caller
    /// removes them. The names all start with `prosody` so the directory can be shared.
    pub fn in_directory(mut self, dir: &Path) -> ProsodySetup {
        self.place = Place::In(dir.to_owned());
        self
    }

    /// Turns on stream management (XEP-0198) as phone clients use it: a session whose
    /// connection drops is kept `hibernation` for resumption (stanzas to it are queued),
    /// then destroyed, and what it never acknowledged bounces. Whole seconds, at least 1.
    pub fn stream_management(mut self, hibernation: Duration) -> ProsodySetup {
        self.stream_management = Some(hibernation);
        self
    }

    /// Serves XMPP over WebSocket (RFC 7395, Prosody's mod_websocket) at `/xmpp-websocket` on
    /// a plain HTTP port of 127.0.0.1 ([`Prosody::http_port`]), as browser clients connect.
    /// The connection counts as secure (`consider_websocket_secure`), as it does behind a web
    /// server that ends TLS; any origin may connect.
    pub fn websocket(mut self) -> ProsodySetup {
        self.web = Web::Websocket;
        self
    }

    /// Serves multi-user chat (XEP-0045, Prosody's bundled mod_muc) on `domain`, e.g.
    /// `conference.library.test`; anyone may create a room by joining it, as in Prosody's
    /// default configuration.
    pub fn muc(mut self, domain: &str) -> ProsodySetup {
        self.muc = Some(domain.to_owned());
        self
    }

    /// How much Prosody logs; [`LogLevel::Debug`] unless set.
    pub fn log_level(mut self, level: LogLevel) -> ProsodySetup {
        self.log_level = level;
        self
    }

    /// Where ports come from: free ports the OS picks, unless set. Each start asks for the
    /// client port, then the component port, then (with [`ProsodySetup::websocket`]) the
    /// HTTP port. For testing the launcher itself, with a port
    /// someone else holds.
    pub fn port_source(
        mut self,
        next_port: impl Fn() -> std::io::Result<u16> + Send + Sync + 'static,
    ) -> ProsodySetup {
        self.ports = PortSource(Arc::new(next_port));
        self
    }

    /// Writes the configuration and starts Prosody with the virtual host [`HOST`]; returns
    /// once it listens on its client and its component port (and its HTTP port, with
    /// [`ProsodySetup::websocket`]). When another process holds one of them, starts again on
    /// new ports.
    pub async fn start(self) -> Result<Prosody, ProsodyError> {
        let (temporary, dir) = match self.place {
            Place::Temporary => {
                let temporary =
                    tempfile::tempdir().map_err(|source| ProsodyError::TempDir { source })?;
                let dir = temporary.path().to_owned();
                (Some(temporary), dir)
            }
            Place::In(dir) => (None, dir),
        };
        let data = dir.join("prosody-data");
        std::fs::create_dir(&data).map_err(|source| ProsodyError::Write {
            path: data.clone(),
            source,
        })?;
        let mut prosody = Prosody {
            _temporary: temporary,
            config: dir.join("prosody.cfg.lua"),
            dir,
            child: None,
            c2s_port: 0,
            component_port: 0,
            http_port: None,
            components: self.components,
        };
        let count = match self.web {
            Web::Nothing => 2,
            Web::Websocket => 3,
        };
        let mut attempt = 1;
        loop {
            let ports = self.ports.distinct(count)?;
            (prosody.c2s_port, prosody.component_port) = (ports[0], ports[1]);
            prosody.http_port = ports.get(2).copied();
            prosody.write_configuration(
                self.log_level,
                self.stream_management,
                self.muc.as_deref(),
            )?;
            match prosody.launch().await {
                Err(ProsodyError::PortTaken { .. }) if attempt < START_ATTEMPTS => attempt += 1,
                Err(e) => return Err(e),
                Ok(()) => return Ok(prosody),
            }
        }
    }
}

/// The configuration file: loopback only, no TLS (plain logins are allowed on loopback),
/// no server-to-server, registration by prosodyctl; with an `http_port`, XMPP over
/// WebSocket on it.
fn configuration(
    dir: &Path,
    c2s_port: u16,
    component_port: u16,
    http_port: Option<u16>,
    components: &[(String, String)],
    log_level: LogLevel,
    stream_management: Option<Duration>,
) -> String {
    let (smacks_module, smacks_option) = match stream_management {
        Some(hibernation) => (
            "; \"smacks\"",
            format!(
                "smacks_hibernation_time = {}\n",
                hibernation.as_secs().max(1)
            ),
        ),
        None => ("", String::new()),
    };
    // Plain HTTP on loopback only: no HTTPS port (Prosody would otherwise try 5281 on every
    // interface), and requests whose Host header is 127.0.0.1 served by the virtual host.
    // Browser clients get the blocking command (XEP-0191, mod_blocklist) too, as Debian's
    // default configuration has it: Converse.js 14 waits for the block list before it
    // shows a chat with anyone outside the roster, and without the module it never comes.
    let (websocket_module, websocket_options) = match http_port {
        Some(port) => (
            "; \"websocket\"; \"blocklist\"",
            format!(
                "http_ports = {{ {port} }}\n\
                 http_interfaces = {{ \"127.0.0.1\" }}\n\
                 https_ports = {{ }}\n\
                 https_interfaces = {{ }}\n\
                 http_default_host = \"{HOST}\"\n\
                 consider_websocket_secure = true\n"
            ),
        ),
        None => ("", String::new()),
    };
    let path = |name: &str| dir.join(name).display().to_string();
    let mut config = format!(
        r#"-- A throw-away Prosody (textgate's testkit); removed with its directory.
run_as_root = true
pidfile = "{pid}"
data_path = "{data}"
log = {{ {level} = "{log}" }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {c2s_port} }}
s2s_ports = {{ }}
component_ports = {{ {component_port} }}
component_interface = "127.0.0.1"
modules_enabled = {{ "roster"; "saslauth"; "disco"; "ping"; "presence"; "register"; "version"{smacks_module}{websocket_module} }}
{smacks_option}{websocket_options}
modules_disabled = {{ "s2s" }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
VirtualHost "{HOST}"
"#,
        pid = path("prosody.pid"),
        data = path("prosody-data"),
        log = path("prosody.log"),
        level = log_level.as_lua(),
    );
    for (domain, secret) in components {
        // Writing to a String cannot fail.
        let _ = writeln!(
            config,
            "Component \"{domain}\"\n    component_secret = \"{secret}\""
        );
    }
    config
}

/// A running (or killed) Prosody. Dropping it kills the server.
pub struct Prosody {
    /// Held so the temporary directory lives as long as the server.
    _temporary: Option<tempfile::TempDir>,
    dir: PathBuf,
    config: PathBuf,
    child: Option<Child>,
    pub c2s_port: u16,
    pub component_port: u16,
    /// The HTTP port serving XMPP over WebSocket, with [`ProsodySetup::websocket`].
    pub http_port: Option<u16>,
    /// Component domain → secret.
    pub components: Vec<(String, String)>,
}

impl Prosody {
    /// Starts Prosody in a temporary directory with one external component per domain, each
    /// with a secret of its own.
    pub async fn start(component_domains: &[&str]) -> Result<Prosody, ProsodyError> {
        let mut setup = ProsodySetup::new();
        for (i, domain) in component_domains.iter().enumerate() {
            setup = setup.component(domain, &format!("secret-{i}-{}", std::process::id()));
        }
        setup.start().await
    }

    /// The secret of a component domain.
    ///
    /// # Panics
    ///
    /// When `domain` is not one of the components this Prosody was started with.
    pub fn secret(&self, domain: &str) -> String {
        self.components
            .iter()
            .find(|(d, _)| d == domain)
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| panic!("{domain} is not a component of this Prosody"))
    }

    pub fn component_addr(&self) -> String {
        format!("127.0.0.1:{}", self.component_port)
    }

    pub fn c2s_addr(&self) -> String {
        format!("127.0.0.1:{}", self.c2s_port)
    }

    /// Where browser clients connect, `ws://127.0.0.1:PORT/xmpp-websocket`, with
    /// [`ProsodySetup::websocket`].
    pub fn websocket_url(&self) -> Option<String> {
        self.http_port
            .map(|port| format!("ws://127.0.0.1:{port}{WEBSOCKET_PATH}"))
    }

    /// Creates an account `user@library.test`.
    pub async fn register(&self, user: &str, password: &str) -> Result<(), ProsodyError> {
        let output = Command::new("prosodyctl")
            .arg("--config")
            .arg(&self.config)
            .args(["register", user, HOST, password])
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|source| ProsodyError::Prosodyctl { source })?;
        if !output.status.success() {
            return Err(ProsodyError::Register {
                user: user.to_owned(),
                status: output.status,
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        Ok(())
    }

    /// Kills the server (SIGKILL, no goodbye to anyone), as a crash would.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Stops the server the polite way (SIGTERM), killing it if it takes longer than
    /// `grace`.
    pub async fn stop(&mut self, grace: Duration) {
        if let Some(mut child) = self.child.take() {
            crate::process::terminate(&mut child, grace).await;
        }
    }

    /// Starts the server again on the same ports with the same data. Fails with
    /// [`ProsodyError::PortTaken`] when another process took one of them meanwhile.
    pub async fn restart(&mut self) -> Result<(), ProsodyError> {
        self.kill().await;
        self.launch().await
    }

    /// Waits until the server exits, and says how. Never returns while it runs, nor after
    /// [`Prosody::kill`] or [`Prosody::stop`]: it is for noticing that Prosody died on its
    /// own while something else is awaited.
    pub async fn wait(&mut self) -> Result<ExitStatus, ProsodyError> {
        match self.child.as_mut() {
            Some(child) => child
                .wait()
                .await
                .map_err(|source| ProsodyError::Wait { source }),
            None => std::future::pending().await,
        }
    }

    /// The directory with Prosody's files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's log so far, for assertion and error messages.
    pub fn log(&self) -> String {
        read_log(&self.dir)
    }

    fn write_configuration(
        &self,
        log_level: LogLevel,
        stream_management: Option<Duration>,
        muc: Option<&str>,
    ) -> Result<(), ProsodyError> {
        let mut config = configuration(
            &self.dir,
            self.c2s_port,
            self.component_port,
            self.http_port,
            &self.components,
            log_level,
            stream_management,
        );
        if let Some(domain) = muc {
            config.push_str(&format!("Component \"{domain}\" \"muc\"\n"));
        }
        std::fs::write(&self.config, config).map_err(|source| ProsodyError::Write {
            path: self.config.clone(),
            source,
        })
    }

    /// Starts the server on the configured ports and waits until the process it started
    /// listens on them. On an error the process is killed.
    async fn launch(&mut self) -> Result<(), ProsodyError> {
        let child = Command::new("prosody")
            .arg("-F")
            .arg("--config")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // A test that panics, or a demo that fails, must not leave the server running.
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ProsodyError::Spawn { source })?;
        let child = self.child.insert(child);
        // Without components Prosody opens no component port.
        let mut ports = if self.components.is_empty() {
            vec![self.c2s_port]
        } else {
            vec![self.c2s_port, self.component_port]
        };
        ports.extend(self.http_port);
        let waited = wait_until_listening(child, &ports, &self.dir).await;
        if waited.is_err() {
            self.kill().await;
        }
        waited
    }
}

/// Waits until `child` is the process listening on every port in `ports`.
async fn wait_until_listening(
    child: &mut Child,
    ports: &[u16],
    dir: &Path,
) -> Result<(), ProsodyError> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let pid = match (child.try_wait(), child.id()) {
            (Ok(Some(status)), _) => {
                return Err(ProsodyError::Exited {
                    status,
                    log: read_log(dir),
                })
            }
            (Ok(None), Some(pid)) => pid,
            (Err(source), _) => return Err(ProsodyError::Wait { source }),
            // tokio forgets the id only once it reaped the process, which try_wait reports.
            (Ok(None), None) => {
                return Err(ProsodyError::Wait {
                    source: std::io::Error::other("prosody's process id is gone"),
                })
            }
        };
        let mut waiting_for = None;
        for &port in ports {
            let listener = who_listens(port, pid)
                .map_err(|source| ProsodyError::Listeners { port, source })?;
            match listener {
                Listener::TheProcess => {}
                // Prosody binds each port once, at start-up: a port another process holds
                // now is lost to it for this run.
                Listener::SomeoneElse => {
                    return Err(ProsodyError::PortTaken {
                        port,
                        log: read_log(dir),
                    })
                }
                Listener::Nobody => waiting_for = waiting_for.or(Some(port)),
            }
        }
        let Some(port) = waiting_for else {
            return Ok(());
        };
        if Instant::now() >= deadline {
            return Err(ProsodyError::NotListening {
                port,
                log: read_log(dir),
            });
        }
        // The kernel's socket tables have no event to await; a short pause between looks.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Prosody's log so far, or nothing when it has written none.
fn read_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("prosody.log")).unwrap_or_default()
}
