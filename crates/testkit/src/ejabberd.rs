//! A throw-away ejabberd: its own configuration, Mnesia spool and logs in a temporary
//! directory, free ports on 127.0.0.1, a unique Erlang node name, accounts created as it
//! starts, killed when dropped. Needs the `ejabberd` package (Debian 12 ships 23.01;
//! scripts/test installs it).
//!
//! The node is the Erlang runtime itself (`erl … -s ejabberd`), not `ejabberdctl foreground`:
//! run as root, ejabberdctl switches to the `ejabberd` user through `su`, so the process we
//! started would not be the one holding the ports, and the temporary directory would have to
//! change owner. Run directly, the node runs as whoever runs the tests, and the process we
//! started (erl execs the emulator) is the one [`crate::ports::who_listens`] must find on
//! both ports; a port another process took makes the start try again on new ones, as for
//! Prosody. Accounts are created by the node once ejabberd has started (an `-eval` after
//! `-s ejabberd`), and it prints a line when they are; [`EjabberdSetup::start`] returns only
//! after that line, so no login races the account.
//!
//! Erlang nodes find each other through `epmd`; the node starts one if none runs, and it
//! stays running afterwards, as after any Erlang program.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::time::Instant;

use crate::ports::{free_port, who_listens, Listener};

/// How long ejabberd may take to open its ports and create its accounts (it takes 3–10 s on
/// a busy 2-core machine).
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// How many sets of ports a start tries before it gives up.
const START_ATTEMPTS: usize = 5;
/// The XMPP domain of the librarians' accounts (the same as Prosody's in [`crate::prosody`]).
pub const HOST: &str = "library.test";
/// What the node prints once the accounts exist, followed by the results of creating them.
const ACCOUNTS_MARK: &str = "textgate-testkit accounts:";

/// What went wrong starting ejabberd.
#[derive(thiserror::Error)]
pub enum EjabberdError {
    #[error("cannot create a temporary directory for ejabberd: {source}")]
    TempDir { source: std::io::Error },
    #[error("cannot create {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot find a free port for ejabberd: {source}")]
    FreePort { source: std::io::Error },
    #[error("account {0:?}: the test launcher takes names and passwords of letters, digits, '.', '_' and '-' only")]
    Account(String),
    #[error("cannot start erl (is the ejabberd package installed?): {source}")]
    Spawn { source: std::io::Error },
    #[error("ejabberd exited with {status} while starting; its output and log:\n{log}")]
    Exited { status: ExitStatus, log: String },
    #[error("ejabberd was not ready (ports {ports:?} open, accounts created) within {:?}; its output and log:\n{log}", START_TIMEOUT)]
    NotReady { ports: Vec<u16>, log: String },
    #[error("port {port} is held by another process, so ejabberd could not listen on it; its output and log:\n{log}")]
    PortTaken { port: u16, log: String },
    #[error("creating the accounts failed ({answer}); its output and log:\n{log}")]
    Accounts { answer: String, log: String },
    #[error("cannot tell which process listens on port {port} (from /proc): {source}")]
    Listeners { port: u16, source: std::io::Error },
    #[error("waiting for ejabberd: {source}")]
    Wait { source: std::io::Error },
}

/// The message itself, so a test's `expect` shows the server's log line by line.
impl std::fmt::Debug for EjabberdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// What ejabberd's `mod_stream_mgmt` does with the stanzas a session never acknowledged
/// when the session times out (its `resend_on_timeout` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResendOnTimeout {
    /// `false`, the module's default: they bounce back to their senders.
    No,
    /// `if_offline`, what Debian's shipped ejabberd.yml sets: they are routed again when
    /// the account has no other session (to offline storage), and bounce otherwise.
    IfOffline,
    /// `true`: they are always routed again.
    Yes,
}

impl ResendOnTimeout {
    fn as_yaml(self) -> &'static str {
        match self {
            ResendOnTimeout::No => "false",
            ResendOnTimeout::IfOffline => "if_offline",
            ResendOnTimeout::Yes => "true",
        }
    }
}

/// How to set up an ejabberd: its external components (XEP-0114) with their secrets, its
/// accounts on [`HOST`], and stream management (XEP-0198).
#[derive(Debug, Clone, Default)]
pub struct EjabberdSetup {
    components: Vec<(String, String)>,
    accounts: Vec<(String, String)>,
    stream_management: Option<(Duration, ResendOnTimeout)>,
}

impl EjabberdSetup {
    /// No components, no accounts, stream management off.
    pub fn new() -> EjabberdSetup {
        EjabberdSetup::default()
    }

    /// Adds an external component `domain` that authenticates with `secret`.
    pub fn component(mut self, domain: &str, secret: &str) -> EjabberdSetup {
        self.components.push((domain.to_owned(), secret.to_owned()));
        self
    }

    /// Adds an account `user@library.test`, created as the server starts.
    pub fn account(mut self, user: &str, password: &str) -> EjabberdSetup {
        self.accounts.push((user.to_owned(), password.to_owned()));
        self
    }

    /// Turns on stream management as phone clients use it: a session whose connection
    /// drops is kept `resume_timeout` for resumption (whole seconds, at least 1), then
    /// ended, and what it never acknowledged is handled as `resend` says.
    pub fn stream_management(
        mut self,
        resume_timeout: Duration,
        resend: ResendOnTimeout,
    ) -> EjabberdSetup {
        self.stream_management = Some((resume_timeout, resend));
        self
    }

    /// Writes the configuration and starts ejabberd; returns once the process we started
    /// listens on both ports and the accounts exist. When another process holds a port,
    /// starts again on new ones.
    pub async fn start(self) -> Result<Ejabberd, EjabberdError> {
        for (user, password) in &self.accounts {
            for word in [user, password] {
                let plain = !word.is_empty()
                    && word
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
                if !plain {
                    return Err(EjabberdError::Account(user.clone()));
                }
            }
        }
        let temporary = tempfile::Builder::new()
            .prefix("textgate-ejabberd-")
            .tempdir()
            .map_err(|source| EjabberdError::TempDir { source })?;
        let dir = temporary.path().to_owned();
        for sub in ["spool", "logs"] {
            let path = dir.join(sub);
            std::fs::create_dir(&path).map_err(|source| EjabberdError::Write { path, source })?;
        }
        // Erlang's resolver: the hosts file, then the system's, so `localhost` in the node
        // name resolves without DNS.
        write(&dir.join("inetrc"), "{lookup,[\"file\",\"native\"]}.\n")?;
        let mut ejabberd = Ejabberd {
            _temporary: temporary,
            dir,
            child: None,
            c2s_port: 0,
            component_port: 0,
        };
        let mut attempt = 1;
        loop {
            ejabberd.c2s_port = free_port().map_err(|source| EjabberdError::FreePort { source })?;
            ejabberd.component_port = loop {
                let port = free_port().map_err(|source| EjabberdError::FreePort { source })?;
                if port != ejabberd.c2s_port {
                    break port;
                }
            };
            write(
                &ejabberd.dir.join("ejabberd.yml"),
                &self.configuration(&ejabberd),
            )?;
            // Without components ejabberd opens no component port.
            let ports = if self.components.is_empty() {
                vec![ejabberd.c2s_port]
            } else {
                vec![ejabberd.c2s_port, ejabberd.component_port]
            };
            match ejabberd.launch(attempt, &self.accounts, &ports).await {
                Err(EjabberdError::PortTaken { .. }) if attempt < START_ATTEMPTS => attempt += 1,
                Err(e) => return Err(e),
                Ok(()) => return Ok(ejabberd),
            }
        }
    }

    /// ejabberd.yml: loopback only, no TLS (plain logins on loopback), plain stored
    /// passwords, the modules a librarian's session meets in Debian's shipped configuration
    /// that matter to a gateway (roster, disco, ping, offline storage, stream management).
    fn configuration(&self, ejabberd: &Ejabberd) -> String {
        let mut components = String::new();
        for (domain, secret) in &self.components {
            components.push_str(&format!(
                "      \"{domain}\":\n        password: \"{secret}\"\n"
            ));
        }
        let component_listener = if self.components.is_empty() {
            String::new()
        } else {
            format!(
                "  -\n    port: {}\n    ip: \"127.0.0.1\"\n    module: ejabberd_service\n    hosts:\n{components}",
                ejabberd.component_port
            )
        };
        let stream_management = match self.stream_management {
            Some((resume_timeout, resend)) => format!(
                "  mod_stream_mgmt:\n    resume_timeout: {}\n    resend_on_timeout: {}\n",
                resume_timeout.as_secs().max(1),
                resend.as_yaml()
            ),
            None => String::new(),
        };
        format!(
            r#"# A throw-away ejabberd (textgate's testkit); removed with its directory.
hosts:
  - {HOST}
loglevel: info
certfiles: []
auth_method: internal
auth_password_format: plain
listen:
  -
    port: {c2s}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls_required: false
{component_listener}modules:
  mod_disco: {{}}
  mod_offline: {{}}
  mod_ping: {{}}
  mod_roster: {{}}
{stream_management}"#,
            c2s = ejabberd.c2s_port,
        )
    }
}

/// The node's output and ejabberd's error log so far, or nothing when there is none.
fn read_log(dir: &Path) -> String {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    format!("{}{}", read("ejabberd.out"), read("logs/error.log"))
}

fn write(path: &Path, text: &str) -> Result<(), EjabberdError> {
    std::fs::write(path, text).map_err(|source| EjabberdError::Write {
        path: path.to_owned(),
        source,
    })
}

/// A running ejabberd. Dropping it kills the node.
pub struct Ejabberd {
    /// Held so the temporary directory lives as long as the server.
    _temporary: tempfile::TempDir,
    dir: PathBuf,
    child: Option<Child>,
    pub c2s_port: u16,
    pub component_port: u16,
}

impl Ejabberd {
    pub fn c2s_addr(&self) -> String {
        format!("127.0.0.1:{}", self.c2s_port)
    }

    pub fn component_addr(&self) -> String {
        format!("127.0.0.1:{}", self.component_port)
    }

    /// The directory with ejabberd's files (`ejabberd.yml`, `ejabberd.out`, `logs/`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the node printed and logged so far, for assertion and error messages.
    pub fn log(&self) -> String {
        read_log(&self.dir)
    }

    /// Stops the node the polite way (SIGTERM), killing it if it takes longer than `grace`.
    pub async fn stop(&mut self, grace: Duration) {
        if let Some(mut child) = self.child.take() {
            crate::process::terminate(&mut child, grace).await;
        }
    }

    /// Starts the node (a name unique to this process and attempt) and waits until it
    /// listens on its ports and has printed the accounts' results. On an error the node is
    /// killed.
    async fn launch(
        &mut self,
        attempt: usize,
        accounts: &[(String, String)],
        ports: &[u16],
    ) -> Result<(), EjabberdError> {
        let out_path = self.dir.join("ejabberd.out");
        let out = std::fs::File::create(&out_path).map_err(|source| EjabberdError::Write {
            path: out_path.clone(),
            source,
        })?;
        let err = out.try_clone().map_err(|source| EjabberdError::Write {
            path: out_path.clone(),
            source,
        })?;
        let registrations: Vec<String> = accounts
            .iter()
            .map(|(user, password)| format!("{{<<\"{user}\">>, <<\"{password}\">>}}"))
            .collect();
        let eval = format!(
            "R = [ejabberd_auth:try_register(U, <<\"{HOST}\">>, P) || {{U, P}} <- [{}]], \
             io:format(\"{ACCOUNTS_MARK} ~p~n\", [R]).",
            registrations.join(", ")
        );
        let node = format!(
            "textgate-testkit-{}-{}-{attempt}@localhost",
            std::process::id(),
            self.component_port
        );
        let child = Command::new("erl")
            .arg("-sname")
            .arg(&node)
            .args(["-noinput", "-mnesia", "dir"])
            .arg(format!("\"{}\"", self.dir.join("spool").display()))
            .args(["-s", "ejabberd", "-eval"])
            .arg(eval)
            .env("EJABBERD_CONFIG_PATH", self.dir.join("ejabberd.yml"))
            .env("EJABBERD_LOG_PATH", self.dir.join("logs/ejabberd.log"))
            .env("ERL_INETRC", self.dir.join("inetrc"))
            .env("ERL_CRASH_DUMP", self.dir.join("logs/erl_crash.dump"))
            // Where Debian's ejabberd package puts ejabberd and its Erlang libraries.
            .env("ERL_LIBS", "/usr/lib/x86_64-linux-gnu")
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // A test that panics must not leave the node running.
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| EjabberdError::Spawn { source })?;
        let child = self.child.insert(child);
        let dir = self.dir.clone();
        let waited = wait_until_ready(child, ports, &out_path, || read_log(&dir)).await;
        if waited.is_err() {
            if let Some(mut child) = self.child.take() {
                let _ = child.kill().await;
            }
        }
        waited
    }
}

/// Waits until `child` listens on every port in `ports` and has printed the accounts'
/// results, all of them `ok`.
async fn wait_until_ready(
    child: &mut Child,
    ports: &[u16],
    out: &Path,
    log: impl Fn() -> String,
) -> Result<(), EjabberdError> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let pid = match (child.try_wait(), child.id()) {
            (Ok(Some(status)), _) => return Err(EjabberdError::Exited { status, log: log() }),
            (Ok(None), Some(pid)) => pid,
            (Err(source), _) => return Err(EjabberdError::Wait { source }),
            (Ok(None), None) => {
                return Err(EjabberdError::Wait {
                    source: std::io::Error::other("ejabberd's process id is gone"),
                })
            }
        };
        let mut listening = true;
        for &port in ports {
            match who_listens(port, pid)
                .map_err(|source| EjabberdError::Listeners { port, source })?
            {
                Listener::TheProcess => {}
                Listener::SomeoneElse => return Err(EjabberdError::PortTaken { port, log: log() }),
                Listener::Nobody => listening = false,
            }
        }
        let printed = std::fs::read_to_string(out).unwrap_or_default();
        let answer = printed
            .lines()
            .find_map(|line| line.split_once(ACCOUNTS_MARK))
            .map(|(_, answer)| answer.trim().to_owned());
        if let Some(answer) = &answer {
            let all_ok = answer
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split(',')
                .all(|result| matches!(result.trim(), "ok" | ""));
            if !all_ok {
                return Err(EjabberdError::Accounts {
                    answer: answer.clone(),
                    log: log(),
                });
            }
        }
        if listening && answer.is_some() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(EjabberdError::NotReady {
                ports: ports.to_vec(),
                log: log(),
            });
        }
        // Neither the kernel's socket tables nor a file being written has an event to await
        // here; a short pause between looks.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
