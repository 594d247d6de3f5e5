//! A scripted fake modem for transcript tests: a recorded AT session (what the driver
//! must write, what the modem answers) replayed over an in-memory pipe, with one section
//! per time the driver opens the device.
//!
//! Transcript syntax (files in `tests/transcripts/`):
//!
//! ```text
//! # comment
//! include startup        another transcript, inlined
//! > AT+CMGF=0            the driver must write this line (a `\r` is appended)
//! >raw \x1b              the driver must write exactly these bytes (escapes: \r \n \xHH)
//! < OK                   the modem answers this line (sent as `\r\nOK\r\n`)
//! <raw \r\n> \x20        the modem sends exactly these bytes
//! hang                   the modem stops answering (reads and ignores everything)
//! close                  the modem drops the connection
//! delay 100              the modem takes 100 ms (paused time: modelled, not waited)
//! --- open               the next time the driver opens the device
//! --- open fails         the next open attempt fails
//! ```

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use textgate_gsm::pdu::Tpdu;
use textgate_modem::{
    AckHandle, AtModem, BoxPort, ModemConfig, ModemEvent, PortOpener, ReceivedPdu, SendError,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::{mpsc, watch};

#[derive(Debug, Clone)]
enum Step {
    Expect(Vec<u8>),
    Send(Vec<u8>),
    Hang,
    Close,
    Delay(Duration),
}

#[derive(Debug, Clone)]
enum Section {
    Open(Vec<Step>),
    FailOpen,
}

fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'\\', Some(b'r')) => (out.push(b'\r'), i += 2).1,
            (b'\\', Some(b'n')) => (out.push(b'\n'), i += 2).1,
            (b'\\', Some(b'x')) => {
                let hex = &text[i + 2..i + 4];
                out.push(u8::from_str_radix(hex, 16).expect("\\xHH escape in transcript"));
                i += 4;
            }
            (b, _) => (out.push(b), i += 1).1,
        }
    }
    out
}

fn transcript_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/transcripts")
        .join(format!("{name}.txt"))
}

fn parse(name: &str, sections: &mut Vec<Section>) {
    let path = transcript_path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(other) = line.strip_prefix("include ") {
            parse(other.trim(), sections);
            continue;
        }
        if line == "--- open" {
            sections.push(Section::Open(Vec::new()));
            continue;
        }
        if line == "--- open fails" {
            sections.push(Section::FailOpen);
            continue;
        }
        if sections.is_empty() {
            sections.push(Section::Open(Vec::new()));
        }
        let Some(Section::Open(steps)) = sections.last_mut() else {
            panic!(
                "{name}:{}: steps after '--- open fails' need a '--- open'",
                number + 1
            );
        };
        let step = if let Some(rest) = line.strip_prefix(">raw ") {
            Step::Expect(unescape(rest))
        } else if let Some(rest) = line.strip_prefix("> ") {
            let mut bytes = unescape(rest);
            bytes.push(b'\r');
            Step::Expect(bytes)
        } else if let Some(rest) = line.strip_prefix("<raw ") {
            Step::Send(unescape(rest))
        } else if let Some(rest) = line.strip_prefix("< ") {
            Step::Send([b"\r\n", rest.as_bytes(), b"\r\n"].concat())
        } else if line == "hang" {
            Step::Hang
        } else if line == "close" {
            Step::Close
        } else if let Some(ms) = line.strip_prefix("delay ") {
            Step::Delay(Duration::from_millis(
                ms.trim().parse().expect("delay in milliseconds"),
            ))
        } else {
            panic!(
                "{name}:{}: cannot read transcript line {line:?}",
                number + 1
            );
        };
        steps.push(step);
    }
}

/// How far the fake modem got through the script.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub steps_done: usize,
    pub total_steps: usize,
    pub failure: Option<String>,
}

impl Progress {
    fn finished(&self) -> bool {
        self.failure.is_some() || self.steps_done == self.total_steps
    }
}

struct OpenerState {
    sections: VecDeque<Section>,
}

/// The fake device: each `open` plays the next section of the script.
pub struct ScriptedOpener {
    state: Arc<Mutex<OpenerState>>,
    progress: Arc<watch::Sender<Progress>>,
}

#[async_trait]
impl PortOpener for ScriptedOpener {
    async fn open(&self) -> io::Result<BoxPort> {
        let section = self.state.lock().unwrap().sections.pop_front();
        match section {
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "the script has no more connections",
            )),
            Some(Section::FailOpen) => {
                self.progress.send_modify(|p| p.steps_done += 1);
                Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "no such device (scripted)",
                ))
            }
            Some(Section::Open(steps)) => {
                let (driver_end, modem_end) = tokio::io::duplex(1 << 16);
                tokio::spawn(play(steps, modem_end, self.progress.clone()));
                Ok(Box::new(driver_end))
            }
        }
    }

    fn describe(&self) -> String {
        "scripted modem".into()
    }
}

fn escaped(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

async fn play(steps: Vec<Step>, mut port: DuplexStream, progress: Arc<watch::Sender<Progress>>) {
    let mut pending: Vec<u8> = Vec::new();
    let mut buffer = [0u8; 4096];
    for step in steps {
        match step {
            Step::Expect(expected) => {
                while pending.len() < expected.len() {
                    let common = pending.len().min(expected.len());
                    if pending[..common] != expected[..common] {
                        break;
                    }
                    match port.read(&mut buffer).await {
                        Ok(0) | Err(_) => {
                            let failure = format!(
                                "driver closed the port while the script expected {:?} (got {:?})",
                                escaped(&expected),
                                escaped(&pending)
                            );
                            progress.send_modify(|p| p.failure = Some(failure));
                            return;
                        }
                        Ok(n) => pending.extend_from_slice(&buffer[..n]),
                    }
                }
                if !pending.starts_with(&expected) {
                    let failure = format!(
                        "driver wrote {:?}, the script expected {:?}",
                        escaped(&pending),
                        escaped(&expected)
                    );
                    progress.send_modify(|p| p.failure = Some(failure));
                    return;
                }
                pending.drain(..expected.len());
            }
            Step::Send(bytes) => {
                if port.write_all(&bytes).await.is_err() {
                    progress.send_modify(|p| {
                        p.failure = Some("driver closed the port before the modem's answer".into())
                    });
                    return;
                }
            }
            Step::Hang => {
                progress.send_modify(|p| p.steps_done += 1);
                while !matches!(port.read(&mut buffer).await, Ok(0) | Err(_)) {}
                return;
            }
            Step::Close => {
                progress.send_modify(|p| p.steps_done += 1);
                return;
            }
            Step::Delay(duration) => tokio::time::sleep(duration).await,
        }
        progress.send_modify(|p| p.steps_done += 1);
    }
    // Script done: keep the line open, and remember anything further the driver writes.
    loop {
        match port.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let extra = escaped(&buffer[..n]);
                progress.send_modify(|p| {
                    if p.failure.is_none() {
                        p.failure = Some(format!(
                            "driver wrote {extra:?} after the end of the script"
                        ));
                    }
                });
            }
        }
    }
}

/// A transcript ready to be played.
pub struct Script {
    pub opener: ScriptedOpener,
    pub progress: watch::Receiver<Progress>,
}

impl Script {
    pub fn load(name: &str) -> Script {
        let mut sections = Vec::new();
        parse(name, &mut sections);
        let total_steps = sections
            .iter()
            .map(|s| match s {
                Section::Open(steps) => steps.len(),
                Section::FailOpen => 1,
            })
            .sum();
        let (tx, rx) = watch::channel(Progress {
            total_steps,
            ..Progress::default()
        });
        let opener = ScriptedOpener {
            state: Arc::new(Mutex::new(OpenerState {
                sections: sections.into(),
            })),
            progress: Arc::new(tx),
        };
        Script {
            opener,
            progress: rx,
        }
    }
}

/// What the test's receiver does with acknowledgement handles.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Receiver {
    /// Acknowledge right after recording (as the store does once committed).
    AcknowledgeAtOnce,
    /// Hand the handles to the test.
    HandOver,
}

/// A running driver over a scripted modem, with everything it reported in a log.
pub struct Session {
    pub modem: AtModem,
    pub log: Arc<watch::Sender<Vec<String>>>,
    progress: watch::Receiver<Progress>,
    pub held: mpsc::UnboundedReceiver<AckHandle>,
    consumer: tokio::task::JoinHandle<()>,
}

/// Long enough for any scripted exchange; time is paused in these tests, so it costs
/// nothing and only bounds a test that would otherwise wait forever.
pub const PATIENCE: Duration = Duration::from_secs(3600);

pub fn test_config() -> ModemConfig {
    ModemConfig {
        keepalive: Duration::from_secs(24 * 3600),
        storage_check: Duration::from_secs(24 * 3600),
        ..ModemConfig::default()
    }
}

pub fn describe_pdu(received: &ReceivedPdu) -> String {
    let origin = match received.origin {
        textgate_modem::Origin::Stored { index } => format!("stored {index}"),
        textgate_modem::Origin::Routed => "routed".into(),
        textgate_modem::Origin::Smsc { sequence } => format!("smsc {sequence}"),
    };
    match &received.decoded {
        Ok(pdu) => match &pdu.tpdu {
            Tpdu::Deliver(deliver) => format!(
                "({origin}) from {} {:?}",
                deliver.sender.number,
                deliver.user_data.as_text().unwrap_or("<data>")
            ),
            Tpdu::StatusReport(report) => format!(
                "({origin}) reference {} to {} status {:#04x}",
                report.message_reference,
                report.recipient.number,
                report.status.code()
            ),
            Tpdu::Submit(_) => format!("({origin}) a SUBMIT"),
        },
        Err(error) => format!("({origin}) undecodable: {error}"),
    }
}

impl Session {
    pub fn start(name: &str, config: ModemConfig, receiver: Receiver) -> Session {
        let script = Script::load(name);
        let (modem, mut events) = AtModem::spawn(config, Box::new(script.opener));
        let log = Arc::new(watch::channel(Vec::new()).0);
        let (held_tx, held) = mpsc::unbounded_channel();
        let consumer_log = log.clone();
        let consumer = tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let (line, ack) = match event {
                    ModemEvent::IncomingPart(received) => (
                        format!("incoming part {}", describe_pdu(&received)),
                        Some(received.ack),
                    ),
                    ModemEvent::StatusReport(received) => (
                        format!("status report {}", describe_pdu(&received)),
                        Some(received.ack),
                    ),
                    ModemEvent::IncomingCall { number } => (
                        format!(
                            "call from {} rejected",
                            number.as_deref().unwrap_or("a hidden number")
                        ),
                        None,
                    ),
                    ModemEvent::Health(change) => (format!("health: {change}"), None),
                    ModemEvent::Receipt(receipt) => (
                        format!("receipt {}", receipt.description),
                        Some(receipt.ack),
                    ),
                };
                consumer_log.send_modify(|log| log.push(line));
                if let Some(ack) = ack {
                    match receiver {
                        Receiver::AcknowledgeAtOnce => ack.acknowledge().expect("driver running"),
                        Receiver::HandOver => held_tx.send(ack).expect("test holds the receiver"),
                    }
                }
            }
        });
        Session {
            modem,
            log,
            progress: script.progress,
            held,
            consumer,
        }
    }

    pub fn note(&self, line: impl Into<String>) {
        let line = line.into();
        self.log.send_modify(|log| log.push(line));
    }

    pub fn record_send(&self, result: &Result<Vec<textgate_modem::MessageReference>, SendError>) {
        let line = match result {
            Ok(references) => format!("send ok, references {references:?}"),
            Err(error) => format!("send failed ({}): {error}", error.class()),
        };
        self.note(line);
    }

    /// Waits until the modem played its whole script (or failed), stops the driver, waits
    /// for the receiver to record everything, and returns the log.
    pub async fn finish(self) -> String {
        let Session {
            modem,
            log,
            mut progress,
            held,
            consumer,
        } = self;
        let waited = tokio::time::timeout(PATIENCE, progress.wait_for(Progress::finished))
            .await
            .is_ok();
        let snapshot = progress.borrow().clone();
        let so_far = || log.borrow().join("\n");
        assert!(
            waited,
            "the script did not finish: {snapshot:?}\nlog so far:\n{}",
            so_far()
        );
        if let Some(failure) = snapshot.failure {
            panic!("{failure}\nlog so far:\n{}", so_far());
        }
        // Dropping the handle stops the driver, which closes the event stream.
        drop(modem);
        drop(held);
        tokio::time::timeout(PATIENCE, consumer)
            .await
            .expect("driver stops")
            .expect("receiver task");
        if let Some(failure) = progress.borrow().failure.clone() {
            panic!("{failure}\nlog:\n{}", so_far());
        }
        let log = log.borrow().join("\n");
        log
    }

    /// Waits until the log has a line starting with `prefix`.
    pub async fn wait_for_log(&self, prefix: &str) {
        let mut log = self.log.subscribe();
        let found = tokio::time::timeout(
            PATIENCE,
            log.wait_for(|log| log.iter().any(|line| line.starts_with(prefix))),
        )
        .await
        .is_ok();
        assert!(
            found,
            "no log line starting with {prefix:?}:\n{}",
            self.log.borrow().join("\n")
        );
    }

    pub fn steps_done(&self) -> usize {
        self.progress.borrow().steps_done
    }
}
