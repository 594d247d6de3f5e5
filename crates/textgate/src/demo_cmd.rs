//! `textgate demo`: a whole gateway on this machine, with nothing but Prosody installed.
//!
//! It starts, in a fresh temporary directory and on free ports of 127.0.0.1 only:
//! a throw-away Prosody (its own configuration and data, the component `sms.library.test`,
//! two librarian accounts), the modem simulator on a pseudo-terminal (in this process, with
//! its HTTP control API playing the phone network), and the daemon itself as a child
//! process (`textgate run` with a generated configuration on SQLite). Then it prints how to
//! log in as a librarian and how to text the gateway as a patron, and waits for Ctrl-C.
//!
//! On Ctrl-C, or when anything it started dies, it stops everything it started and removes
//! the directory. With `--self-test` it plays both sides instead (a patron's text in, a
//! librarian's reply out through a minimal XMPP client) and exits 0 only if the reply
//! reached the simulated network.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use textgate_modemsim::sim::IncomingText;
use textgate_modemsim::{SimConfig, SimHandle};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// The librarians' XMPP domain.
const HOST: &str = "library.test";
/// The gateway's component domain.
const GATEWAY: &str = "sms.library.test";
/// The patron the instructions and the self-test text from.
const PATRON: &str = "+15551234567";
/// How long each start-up step and each self-test step may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// Arguments of `textgate demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Instead of waiting for you: text the gateway, answer as a librarian, check the
    /// answer reached the (simulated) phone network, then stop. Exit status 0 means the
    /// whole path works on this machine.
    #[arg(long)]
    pub self_test: bool,
}

/// What the demo does once everything runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Print instructions and wait for Ctrl-C.
    Interactive,
    /// Play patron and librarian, then stop.
    SelfTest,
}

/// Runs the demo until Ctrl-C (or until the self-test ends).
pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    let mode = if args.self_test {
        Mode::SelfTest
    } else {
        Mode::Interactive
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let dir = DemoDir::create()?;
    let result = runtime.block_on(demo(&dir, mode));
    // The simulator's tasks hold the pseudo-terminal; stop them before removing the
    // directory the link lives in.
    runtime.shutdown_timeout(Duration::from_secs(5));
    dir.remove();
    result
}

async fn demo(dir: &DemoDir, mode: Mode) -> anyhow::Result<()> {
    let c2s_port = free_port()?;
    let component_port = free_port()?;
    let http_port = free_port()?;
    let secret = random_token()?;
    let passwords = [random_token()?, random_token()?];

    say("starting Prosody (a throw-away server in the demo's directory)");
    let mut prosody = Prosody::start(dir, c2s_port, component_port, &secret).await?;
    for (user, password) in ["alice", "bob"].iter().zip(&passwords) {
        prosody.register(user, password).await?;
    }

    say("starting the modem simulator on a pseudo-terminal");
    let sim = SimHandle::new(SimConfig {
        // Shorter than a real network's 2.5 s, so the demo feels quick; still not instant.
        send_latency: Duration::from_millis(500),
        status_report_delay: Duration::from_secs(1),
        ..SimConfig::default()
    });
    let link = dir.path.join("modem");
    tokio::spawn(textgate_modemsim::pty::serve_pty(
        sim.clone(),
        Some(link.clone()),
    ));
    let mut pty = sim.pty_path();
    tokio::time::timeout(STEP_TIMEOUT, pty.wait_for(|p| p.is_some()))
        .await
        .context("the simulator's pseudo-terminal did not appear")?
        .context("the simulator stopped")?;
    let control = TcpListener::bind("127.0.0.1:0")
        .await
        .context("opening the simulator's control port")?;
    let control_addr = control.local_addr()?;
    tokio::spawn(textgate_modemsim::control::serve_control(
        sim.clone(),
        control,
    ));

    say("starting textgate (the daemon, on SQLite in the demo's directory)");
    let config = dir.path.join("textgate.toml");
    std::fs::write(
        &config,
        daemon_config(dir, &link, component_port, http_port, &secret),
    )
    .with_context(|| format!("writing {}", config.display()))?;
    let mut daemon = Daemon::start(dir, &config)?;
    // Ready: the component authenticated to Prosody and the modem answered.
    let waited = tokio::select! {
        r = async {
            daemon.wait_for_log("component connected").await?;
            daemon.wait_for_log("health=ready").await
        } => r,
        r = prosody.exited() => Err(r),
    };
    if let Err(e) = waited {
        daemon.stop().await;
        prosody.stop().await;
        return Err(e.context(format!("the log so far:\n{}", daemon.log_tail())));
    }

    let result = match mode {
        Mode::Interactive => {
            print_instructions(c2s_port, control_addr, &passwords, dir, http_port);
            tokio::spawn(echo_gateway_events(daemon.log.clone()));
            tokio::select! {
                r = stop_requested() => r.map(|signal| {
                    say(&format!("{signal}: stopping everything the demo started"));
                }),
                e = daemon.exited() => Err(e),
                e = prosody.exited() => Err(e),
            }
        }
        Mode::SelfTest => {
            say("self-test: a patron texts, alice answers, the answer goes out as SMS");
            tokio::select! {
                r = tokio::time::timeout(
                    4 * STEP_TIMEOUT,
                    self_test(&sim, c2s_port, &passwords[0], http_port),
                ) => r.unwrap_or_else(|_| bail!("the self-test did not finish within {:?}", 4 * STEP_TIMEOUT)),
                r = stop_requested() => r.and_then(|signal| bail!("{signal}: self-test interrupted")),
                e = daemon.exited() => Err(e),
                e = prosody.exited() => Err(e),
            }
        }
    };
    daemon.stop().await;
    prosody.stop().await;
    match result {
        Ok(()) => {
            if mode == Mode::SelfTest {
                println!("demo self-test passed");
            }
            say("stopped; the demo's directory is removed");
            Ok(())
        }
        Err(e) => Err(e.context(format!("the daemon's log:\n{}", daemon.log_tail()))),
    }
}

/// Shows what the gateway does (texts in, replies out, librarians coming and going) as it
/// happens, so the person trying the demo sees the daemon react. The full log stays in
/// the file.
async fn echo_gateway_events(mut log: watch::Receiver<String>) {
    let mut shown = log.borrow().len();
    while log.changed().await.is_ok() {
        let fresh = {
            let all = log.borrow_and_update();
            let fresh = all.get(shown..).unwrap_or_default().to_owned();
            shown = all.len();
            fresh
        };
        for line in fresh.lines() {
            if let Some((_, event)) = line.split_once(" textgate_gateway::") {
                let event = event.split_once(": ").map_or(event, |(_, rest)| rest);
                eprintln!("    daemon: {event}");
            }
        }
    }
}

/// Ctrl-C, and also SIGTERM and SIGHUP (`kill`, a closed terminal): the demo must not
/// die and leave Prosody and the daemon running.
async fn stop_requested() -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut hup = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
    Ok(tokio::select! {
        _ = int.recv() => "Ctrl-C",
        _ = term.recv() => "SIGTERM",
        _ = hup.recv() => "SIGHUP",
    })
}

fn say(step: &str) {
    eprintln!("==> {step}");
}

fn print_instructions(
    c2s_port: u16,
    control: SocketAddr,
    passwords: &[String; 2],
    dir: &DemoDir,
    http_port: u16,
) {
    let mut text = String::new();
    let _ = write!(
        text,
        r#"
textgate demo is running. Everything listens on 127.0.0.1 only and disappears on Ctrl-C.

Log in as a librarian with any XMPP client (Gajim, Dino, Psi, profanity...):
  server   127.0.0.1   port {c2s_port}   (no TLS: plain login is allowed on this loopback server)
  alice@{HOST}   password {alice}
  bob@{HOST}     password {bob}
When the gateway {GATEWAY} asks to see your presence, accept: that is how it knows a
librarian is on duty. Texts that arrived while nobody was online are delivered then.

Text the gateway as a patron (the simulator's control API plays the phone network):
  curl -s http://{control}/sms -H 'content-type: application/json' \
       -d '{{"from": "{PATRON}", "text": "Is the library open on Sunday?"}}'
The text appears in your client from {PATRON}@{GATEWAY}; reply there. What the
modem sent to the network:
  curl -s http://{control}/sent

The daemon's health and metrics (Prometheus):
  curl -s http://127.0.0.1:{http_port}/readyz
  curl -s http://127.0.0.1:{http_port}/metrics

The daemon's log: {log}
Its configuration: {config}   (database: SQLite in the same directory)

Press Ctrl-C to stop.
"#,
        alice = passwords[0],
        bob = passwords[1],
        log = dir.path.join("textgate.log").display(),
        config = dir.path.join("textgate.toml").display(),
    );
    println!("{text}");
}

fn daemon_config(
    dir: &DemoDir,
    link: &Path,
    component_port: u16,
    http_port: u16,
    secret: &str,
) -> String {
    format!(
        r#"# Generated by `textgate demo`; removed when the demo stops.
[database]
url = "sqlite://{db}?mode=rwc"

[http]
listen = "127.0.0.1:{http_port}"

[log]
format = "text"
level = "info"

[[gateway]]
name = "library"
domain = "{GATEWAY}"
secret = "{secret}"
server = "127.0.0.1:{component_port}"
operators = ["alice@{HOST}", "bob@{HOST}"]
default_region = "US"

[gateway.driver]
kind = "at"
device = "{link}"
"#,
        db = dir.path.join("textgate.sqlite3").display(),
        link = link.display(),
    )
}

/// The demo's temporary directory. Made by hand (`tempfile` is a test-only dependency of
/// this crate) with a name nobody else can have chosen: pid, time and random bytes.
struct DemoDir {
    path: PathBuf,
}

impl DemoDir {
    fn create() -> anyhow::Result<DemoDir> {
        let name = format!("textgate-demo-{}-{}", std::process::id(), random_token()?);
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir(&path)
            .with_context(|| format!("creating the demo's directory {}", path.display()))?;
        std::fs::create_dir(path.join("prosody-data"))
            .context("creating Prosody's data directory")?;
        Ok(DemoDir { path })
    }

    fn remove(self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            eprintln!(
                "textgate demo: could not remove {}: {e}",
                self.path.display()
            );
        }
    }
}

/// A port the kernel says is free now. Another process could take it before the demo
/// binds it again; on a demo machine that race is remote, and the failure is loud.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// 16 hexadecimal digits from the kernel's random source, for passwords and secrets.
fn random_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 8];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").context("opening /dev/urandom")?,
        &mut bytes,
    )
    .context("reading /dev/urandom")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Sends SIGTERM (through kill(1): this crate forbids unsafe code and has no signal
/// crate) and waits; kills if the process does not stop in time.
async fn terminate(child: &mut Child, grace: Duration) {
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

/// The throw-away Prosody.
struct Prosody {
    child: Child,
    config: PathBuf,
}

impl Prosody {
    async fn start(
        dir: &DemoDir,
        c2s_port: u16,
        component_port: u16,
        secret: &str,
    ) -> anyhow::Result<Prosody> {
        let path = |name: &str| dir.path.join(name).display().to_string();
        let config = format!(
            r#"-- Generated by `textgate demo`; removed when the demo stops.
run_as_root = true
pidfile = "{pid}"
data_path = "{data}"
log = {{ info = "{log}" }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {c2s_port} }}
s2s_ports = {{ }}
component_ports = {{ {component_port} }}
component_interface = "127.0.0.1"
modules_enabled = {{ "roster"; "saslauth"; "disco"; "ping"; "presence"; "register"; "version" }}
modules_disabled = {{ "s2s" }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
VirtualHost "{HOST}"
Component "{GATEWAY}"
    component_secret = "{secret}"
"#,
            pid = path("prosody.pid"),
            data = path("prosody-data"),
            log = path("prosody.log"),
        );
        let config_path = dir.path.join("prosody.cfg.lua");
        std::fs::write(&config_path, config).context("writing Prosody's configuration")?;
        let child = Command::new("prosody")
            .arg("-F")
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context(
                "starting prosody (is the prosody package installed? scripts/demo installs it)",
            )?;
        let mut prosody = Prosody {
            child,
            config: config_path,
        };
        let address = format!("127.0.0.1:{c2s_port}");
        let listening = async {
            // Prosody says nothing when its ports are open, so try them; a connection
            // attempt to a closed loopback port fails at once, so this spins briefly.
            loop {
                if TcpStream::connect(&address).await.is_ok() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::select! {
            r = tokio::time::timeout(STEP_TIMEOUT, listening) => r.with_context(|| {
                format!("Prosody did not open {address}; its log: {}", path("prosody.log"))
            })?,
            e = prosody.exited() => return Err(e),
        }
        Ok(prosody)
    }

    async fn register(&self, user: &str, password: &str) -> anyhow::Result<()> {
        let output = Command::new("prosodyctl")
            .arg("--config")
            .arg(&self.config)
            .args(["register", user, HOST, password])
            .stdin(Stdio::null())
            .output()
            .await
            .context("running prosodyctl")?;
        if !output.status.success() {
            bail!(
                "prosodyctl register {user} {HOST} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    /// Resolves (with the reason as an error) only if Prosody stops.
    async fn exited(&mut self) -> anyhow::Error {
        match self.child.wait().await {
            Ok(status) => anyhow::anyhow!("Prosody stopped unexpectedly ({status})"),
            Err(e) => anyhow::anyhow!("waiting for Prosody: {e}"),
        }
    }

    async fn stop(&mut self) {
        terminate(&mut self.child, Duration::from_secs(5)).await;
    }
}

/// `textgate run` as a child process, its log copied to `textgate.log` and watched.
struct Daemon {
    child: Child,
    log: watch::Receiver<String>,
}

impl Daemon {
    fn start(dir: &DemoDir, config: &Path) -> anyhow::Result<Daemon> {
        let exe = std::env::current_exe().context("finding the textgate executable")?;
        let mut child = Command::new(exe)
            .arg("run")
            .arg("--config")
            .arg(config)
            .env_remove("TEXTGATE_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting `textgate run`")?;
        let stderr = child.stderr.take().context("the daemon's standard error")?;
        let (tx, log) = watch::channel(String::new());
        let path = dir.path.join("textgate.log");
        tokio::spawn(async move {
            let mut file = tokio::fs::File::create(&path).await.ok();
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(file) = file.as_mut() {
                    let _ = file.write_all(format!("{line}\n").as_bytes()).await;
                }
                tx.send_modify(|log| {
                    log.push_str(&line);
                    log.push('\n');
                });
            }
        });
        Ok(Daemon { child, log })
    }

    /// Waits until the daemon logs a line containing `needle`.
    async fn wait_for_log(&mut self, needle: &str) -> anyhow::Result<()> {
        let mut log = self.log.clone();
        tokio::select! {
            r = tokio::time::timeout(STEP_TIMEOUT, log.wait_for(|l| l.contains(needle))) => {
                match r {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(_)) => bail!("the daemon closed its log before logging {needle:?}"),
                    Err(_) => bail!("the daemon did not log {needle:?} within {STEP_TIMEOUT:?}"),
                }
            }
            e = self.exited() => Err(e),
        }
    }

    /// The last lines of the log, for error messages.
    fn log_tail(&self) -> String {
        let log = self.log.borrow();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    async fn exited(&mut self) -> anyhow::Error {
        match self.child.wait().await {
            Ok(status) => anyhow::anyhow!("the daemon stopped unexpectedly ({status})"),
            Err(e) => anyhow::anyhow!("waiting for the daemon: {e}"),
        }
    }

    async fn stop(&mut self) {
        terminate(&mut self.child, Duration::from_secs(15)).await;
    }
}

/// The self-test: the whole path of a text and its answer, through the real daemon.
async fn self_test(
    sim: &SimHandle,
    c2s_port: u16,
    password: &str,
    http_port: u16,
) -> anyhow::Result<()> {
    let question = "Is the library open on Sunday? (demo self-test)";
    let answer = "Yes, from 12 to 5. (demo self-test reply)";
    sim.inject_text(&IncomingText::new(PATRON, question))
        .context("injecting the patron's text")?;
    say("self-test: the patron's text is on the simulated network");

    let mut alice = Librarian::login(c2s_port, "alice", password).await?;
    say("self-test: alice logged in");
    // As clients do: ask for the roster (Prosody then delivers pending subscription
    // requests), come online, and accept the gateway's request to see our presence.
    alice
        .send("<iq type='get' id='roster-1'><query xmlns='jabber:iq:roster'/></iq>")
        .await?;
    alice
        .wait_for("the roster", |s| {
            find_any(s, &["'roster-1'", "\"roster-1\""])
        })
        .await?;
    alice.send("<presence/>").await?;
    alice
        .wait_for("the gateway's subscription request", |s| {
            find_any(s, &["type='subscribe'", "type=\"subscribe\""])
        })
        .await?;
    alice
        .send(&format!("<presence type='subscribed' to='{GATEWAY}'/>"))
        .await?;
    alice
        .wait_for("the patron's text", |s| {
            s.find(question).map(|i| i + question.len())
        })
        .await?;
    say("self-test: the text reached alice; she replies");
    alice
        .send(&format!(
            "<message type='chat' id='demo-reply-1' to='{PATRON}@{GATEWAY}'><body>{answer}</body></message>"
        ))
        .await?;
    let sent = sim
        .wait_until(STEP_TIMEOUT, |modem| {
            modem
                .sent()
                .iter()
                .any(|p| p.recipient == PATRON && p.text.as_deref() == Some(answer))
        })
        .await;
    if sent.is_err() {
        bail!(
            "alice's reply did not reach the simulated network within {STEP_TIMEOUT:?}; the modem sent: {:?}",
            sim.sent_messages()
                .iter()
                .map(|m| (&m.recipient, &m.text))
                .collect::<Vec<_>>()
        );
    }
    say("self-test: the reply left the modem as SMS");
    alice.close().await;

    // The daemon counts the reply once it has handled the modem's answer, a moment after
    // the simulator recorded the send; from outside, /metrics can only be asked again.
    let wanted = [
        "textgate_texts_in_total{gateway=\"library\"} 1",
        "textgate_texts_out_total{gateway=\"library\"} 1",
    ];
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        let metrics = http_get(http_port, "/metrics").await?;
        match wanted.iter().find(|w| !metrics.contains(*w)) {
            None => break,
            Some(missing) if tokio::time::Instant::now() >= deadline => {
                bail!("/metrics still lacks {missing} after {STEP_TIMEOUT:?}:\n{metrics}")
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    say("self-test: /metrics counted the text in and the reply out");
    Ok(())
}

/// The body of `GET path` on the daemon's HTTP listener.
async fn http_get(port: u16, path: &str) -> anyhow::Result<String> {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .context("connecting to the daemon's HTTP listener")?;
        stream
            .write_all(
                format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        anyhow::Ok(response)
    };
    let response = tokio::time::timeout(STEP_TIMEOUT, exchange)
        .await
        .with_context(|| format!("no answer to GET {path} within {STEP_TIMEOUT:?}"))??;
    match response.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(body.to_owned()),
        _ => bail!("GET {path} answered: {response}"),
    }
}

fn find_any(haystack: &str, needles: &[&str]) -> Option<usize> {
    needles
        .iter()
        .filter_map(|n| haystack.find(n).map(|i| i + n.len()))
        .min()
}

/// The smallest XMPP client the self-test needs: plain-text c2s on loopback, SASL PLAIN,
/// resource binding, and waiting for text in the stream. It matches strings in the stream
/// instead of parsing XML, which is enough for stanzas the test itself provoked and keeps
/// an XMPP client library out of the daemon's dependencies.
struct Librarian {
    stream: TcpStream,
    received: Vec<u8>,
}

impl Librarian {
    async fn login(port: u16, user: &str, password: &str) -> anyhow::Result<Librarian> {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .context("connecting to Prosody as a client")?;
        let mut client = Librarian {
            stream,
            received: Vec::new(),
        };
        client.open_stream().await?;
        let credentials = base64(format!("\0{user}\0{password}").as_bytes());
        client
            .send(&format!(
                "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{credentials}</auth>"
            ))
            .await?;
        let outcome = client
            .wait_for("the login's outcome", |s| {
                find_any(s, &["<success", "<failure"])
            })
            .await?;
        if outcome.ends_with("<failure") {
            bail!("Prosody refused {user}'s password");
        }
        client.received.clear();
        client.open_stream().await?;
        client
            .send(
                "<iq type='set' id='bind-1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
                 <resource>demo</resource></bind></iq>",
            )
            .await?;
        client
            .wait_for("resource binding", |s| {
                s.find("</jid>").map(|i| i + "</jid>".len())
            })
            .await?;
        Ok(client)
    }

    async fn open_stream(&mut self) -> anyhow::Result<()> {
        self.send(&format!(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
             xmlns:stream='http://etherx.jabber.org/streams' to='{HOST}' version='1.0'>"
        ))
        .await?;
        self.wait_for("stream features", |s| {
            s.find("</stream:features>")
                .map(|i| i + "</stream:features>".len())
        })
        .await?;
        Ok(())
    }

    async fn send(&mut self, xml: &str) -> anyhow::Result<()> {
        self.stream
            .write_all(xml.as_bytes())
            .await
            .context("writing to Prosody")
    }

    /// Reads until `find` locates something in what arrived (returning the end of the
    /// match), then drops everything up to that point. Returns the matched prefix.
    async fn wait_for(
        &mut self,
        what: &str,
        find: impl Fn(&str) -> Option<usize>,
    ) -> anyhow::Result<String> {
        let read = async {
            loop {
                let text = String::from_utf8_lossy(&self.received).into_owned();
                if let Some(end) = find(&text) {
                    let consumed = text[..end].to_owned();
                    // `end` indexes the lossy copy; cut the same prefix from the bytes
                    // when the copy is faithful, else start afresh.
                    if text.len() == self.received.len() {
                        self.received.drain(..end);
                    } else {
                        self.received.clear();
                    }
                    return Ok(consumed);
                }
                let mut chunk = [0u8; 4096];
                let n = self
                    .stream
                    .read(&mut chunk)
                    .await
                    .context("reading from Prosody")?;
                if n == 0 {
                    bail!("Prosody closed the connection while waiting for {what}");
                }
                self.received.extend_from_slice(&chunk[..n]);
            }
        };
        match tokio::time::timeout(STEP_TIMEOUT, read).await {
            Ok(r) => r,
            Err(_) => bail!(
                "no {what} within {STEP_TIMEOUT:?}; received: {}",
                String::from_utf8_lossy(&self.received)
            ),
        }
    }

    async fn close(mut self) {
        let _ = self.send("</stream:stream>").await;
    }
}

/// Standard base64 with padding (RFC 4648), for the SASL PLAIN message.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let encoded: Vec<String> = ["", "f", "fo", "foo", "foob", "fooba", "foobar", "\0a\0b"]
            .iter()
            .map(|s| base64(s.as_bytes()))
            .collect();
        expect_test::expect![[
            r#"["", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy", "AGEAYg=="]"#
        ]]
        .assert_eq(&format!("{encoded:?}"));
    }

    #[test]
    fn the_generated_configuration_passes_check_config() {
        let dir = DemoDir {
            path: PathBuf::from("/var/tmp/textgate-demo-test"),
        };
        let toml = daemon_config(&dir, &dir.path.join("modem"), 5347, 8080, "s3cret");
        let loaded = textgate::config::Config::from_toml(
            &toml,
            &std::collections::BTreeMap::new(),
            "demo",
            &dir.path,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let gateway = &loaded.config.gateways[0];
        assert_eq!(gateway.operators.len(), 2);
        assert_eq!(gateway.domain, GATEWAY);
    }
}
