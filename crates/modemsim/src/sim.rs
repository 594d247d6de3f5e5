//! The simulator at run time: one [`ModemState`] shared by every connection, the tokio
//! tasks that carry out its [`Step`]s (writes, pauses, timed jobs), and [`SimHandle`], the
//! in-process API that tests and the HTTP control API use to inject texts, calls and
//! faults, read what was sent, and wait for the modem to reach a state.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{broadcast, watch};

use crate::config::SimConfig;
use crate::faults::{FaultPatch, Faults};
use crate::modem::{Counters, IncomingKind, Job, Line, ModemState, SentPart, Step};
use crate::pdu::{self, DeliverError, DeliverRequest, PduRejection, ReferenceBits};
use crate::store::StoredMessage;

/// Unsolicited codes waiting for a slow connection; past this a connection loses the oldest.
const URC_BACKLOG: usize = 4096;
/// How long after answering `AT+CFUN=1,1` the rebooting modem's link drops.
const REBOOT_GRACE: Duration = Duration::from_millis(100);
/// A host that reads nothing for this long loses what the modem writes, as on a serial line
/// nobody reads (a pty with no host fills up after about 4 KiB and would block the modem).
const STALLED_HOST: Duration = Duration::from_secs(5);

async fn write_or_drop<W: AsyncWrite + Unpin>(writer: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    let write = async {
        writer.write_all(bytes).await?;
        writer.flush().await
    };
    match tokio::time::timeout(STALLED_HOST, write).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                bytes = bytes.len(),
                "the host reads nothing: modem output dropped"
            );
            Ok(())
        }
    }
}

/// A text from a phone, to be delivered to the modem.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomingText {
    /// The sender: `+` and digits, digits (a short code) or a name (alphanumeric sender).
    pub from: String,
    pub text: String,
    /// The concatenation reference; by default a counter.
    #[serde(default)]
    pub reference: Option<u16>,
    #[serde(default)]
    pub reference_bits: ReferenceBits,
    /// The order in which the network delivers the parts.
    #[serde(default)]
    pub order: PartOrder,
    /// Parts (1-based) the network loses.
    #[serde(default)]
    pub drop_parts: Vec<u8>,
}

impl IncomingText {
    pub fn new(from: impl Into<String>, text: impl Into<String>) -> IncomingText {
        IncomingText {
            from: from.into(),
            text: text.into(),
            reference: None,
            reference_bits: ReferenceBits::Bits8,
            order: PartOrder::InOrder,
            drop_parts: Vec::new(),
        }
    }
}

/// The order in which the parts of a long text arrive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartOrder {
    #[default]
    InOrder,
    Reversed,
    /// The last part first, then the rest in order (a common real-world shuffle).
    LastFirst,
}

/// What an injection did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InjectReport {
    /// How many parts the text became.
    pub parts: usize,
    /// The parts handed to the network, in delivery order (1-based).
    pub delivered: Vec<u8>,
    /// The concatenation reference (meaningful when `parts > 1`).
    pub reference: u16,
    /// The PDUs in delivery order, as hex with the SMSC field.
    pub pdus: Vec<String>,
}

/// Why an injection was refused.
#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    #[error("cannot encode the text: {0}")]
    Encoding(#[from] DeliverError),
    #[error("invalid PDU: {0}")]
    Pdu(#[from] PduRejection),
}

/// One message the host sent, its parts joined.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SentMessage {
    pub recipient: String,
    /// The text of the parts in sequence order; missing parts are left out.
    pub text: String,
    /// The message references (`+CMGS: <mr>`) of the parts, in the order they were sent.
    pub references: Vec<u8>,
    /// How many parts the header announced (1 for a single SMS).
    pub total_parts: u8,
    /// Whether every announced part was sent.
    pub complete: bool,
    pub first_sent_at: chrono::DateTime<Utc>,
    pub last_sent_at: chrono::DateTime<Utc>,
}

/// A stored SIM message with its index, for the control API.
#[derive(Clone, Debug, Serialize)]
pub struct StoredEntry {
    pub index: usize,
    #[serde(flatten)]
    pub message: StoredMessage,
}

/// The modem gave no sign of reaching the awaited state in time.
#[derive(Debug, thiserror::Error)]
#[error("the simulated modem did not reach the awaited state within {0:?}")]
pub struct WaitTimeout(pub Duration);

/// Resolves when a new outage begins (the generation moves past `seen`); the end of an
/// outage is not a reason to drop anything.
async fn link_dropped(outage: &mut watch::Receiver<Outage>, seen: u64) {
    loop {
        if outage.changed().await.is_err() {
            // The simulator is gone; nothing will ever drop the link again.
            std::future::pending::<()>().await;
        }
        if outage.borrow_and_update().generation != seen {
            return;
        }
    }
}

/// A link outage: connections are dropped, and a pseudo-terminal disappears until `until`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Outage {
    pub generation: u64,
    pub until: Option<tokio::time::Instant>,
}

struct Shared {
    modem: Mutex<ModemState>,
    urcs: broadcast::Sender<Vec<u8>>,
    version: watch::Sender<u64>,
    outage: watch::Sender<Outage>,
    next_reference: AtomicU16,
    pty_path: watch::Sender<Option<std::path::PathBuf>>,
}

/// A handle to a running simulator; cheap to clone. Create it inside a tokio runtime.
#[derive(Clone)]
pub struct SimHandle {
    shared: Arc<Shared>,
}

impl SimHandle {
    pub fn new(config: SimConfig) -> SimHandle {
        let (urcs, _) = broadcast::channel(URC_BACKLOG);
        let handle = SimHandle {
            shared: Arc::new(Shared {
                modem: Mutex::new(ModemState::new(config)),
                urcs,
                version: watch::Sender::new(0),
                outage: watch::Sender::new(Outage::default()),
                next_reference: AtomicU16::new(1),
                pty_path: watch::Sender::new(None),
            }),
        };
        let steps = handle.modem().power_on_jobs();
        handle.run_detached(steps);
        handle
    }

    fn modem(&self) -> MutexGuard<'_, ModemState> {
        // A panic while holding the lock would be a bug in the core; the state is still
        // the best there is, so keep going with it.
        self.shared.modem.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn touched(&self) {
        self.shared.version.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Reads the modem's state under its lock.
    pub fn inspect<T>(&self, f: impl FnOnce(&ModemState) -> T) -> T {
        f(&self.modem())
    }

    /// Waits until `predicate` holds for the modem's state, re-checking after every change.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        mut predicate: impl FnMut(&ModemState) -> bool,
    ) -> Result<(), WaitTimeout> {
        let mut changes = self.shared.version.subscribe();
        let wait = async {
            loop {
                if predicate(&self.modem()) {
                    return;
                }
                if changes.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| WaitTimeout(timeout))
    }

    /// Carries out steps that belong to no connection (jobs, injections).
    fn run_detached(&self, steps: Vec<Step>) {
        for step in steps {
            match step {
                Step::Unsolicited(bytes) => {
                    // Nobody attached: the bytes go nowhere, as on a real line.
                    let _ = self.shared.urcs.send(bytes);
                }
                Step::Schedule { after, job } => self.schedule(after, job),
                Step::LinkDown(outage) => self.disconnect(outage),
                Step::Reply(_) | Step::Radio(_) => {}
            }
        }
        self.touched();
    }

    fn schedule(&self, after: Duration, job: Job) {
        let handle = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let steps = handle.modem().run_job(job, Utc::now());
            handle.run_detached(steps);
        });
    }

    /// Serves the AT interface on one byte stream until the peer closes it or an outage
    /// drops it. Connections take turns: a real port has one host at a time.
    pub async fn serve<S>(&self, stream: S) -> std::io::Result<()>
    where
        S: AsyncRead + AsyncWrite + Send,
    {
        let (mut reader, mut writer) = tokio::io::split(stream);
        let mut urcs = self.shared.urcs.subscribe();
        let mut outage = self.shared.outage.subscribe();
        let seen = outage.borrow_and_update().generation;
        let mut line = Line::default();
        let mut buf = [0u8; 1024];
        loop {
            tokio::select! {
                _ = link_dropped(&mut outage, seen) => return Ok(()),
                read = reader.read(&mut buf) => {
                    let n = read?;
                    if n == 0 {
                        return Ok(());
                    }
                    let input = buf.get(..n).unwrap_or(&[]);
                    let steps = self.modem().input(&mut line, input, Utc::now());
                    self.touched();
                    tokio::select! {
                        result = self.run_steps(steps, &mut line, &mut writer) => result?,
                        _ = link_dropped(&mut outage, seen) => {
                            // The link dropped, perhaps in the middle of a send.
                            self.modem().radio_aborted();
                            self.touched();
                            return Ok(());
                        }
                    }
                }
                urc = urcs.recv(), if !line.awaiting_pdu() => match urc {
                    Ok(bytes) => write_or_drop(&mut writer, &bytes).await?,
                    Err(broadcast::error::RecvError::Lagged(lost)) => {
                        tracing::warn!(lost, "connection too slow: unsolicited codes lost");
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
            }
        }
    }

    async fn run_steps<W: AsyncWrite + Unpin>(
        &self,
        steps: Vec<Step>,
        line: &mut Line,
        writer: &mut W,
    ) -> std::io::Result<()> {
        let mut queue: std::collections::VecDeque<Step> = steps.into();
        while let Some(step) = queue.pop_front() {
            match step {
                Step::Reply(bytes) => write_or_drop(writer, &bytes).await?,
                Step::Unsolicited(bytes) => {
                    let _ = self.shared.urcs.send(bytes);
                }
                Step::Radio(d) => {
                    if !d.is_zero() {
                        tokio::time::sleep(d).await;
                    }
                    let answer = self.modem().radio_done(line, Utc::now());
                    self.touched();
                    for step in answer.into_iter().rev() {
                        queue.push_front(step);
                    }
                }
                Step::Schedule { after, job } => self.schedule(after, job),
                Step::LinkDown(outage) => {
                    // A rebooting modem answers, then goes away a moment later; the pause
                    // gives the host the chance to read the answer first.
                    tokio::time::sleep(REBOOT_GRACE).await;
                    self.disconnect(outage);
                }
            }
        }
        Ok(())
    }

    /// An in-memory connection to the modem, for tests that need no pseudo-terminal.
    pub fn connect_in_memory(&self) -> tokio::io::DuplexStream {
        let (host, modem) = tokio::io::duplex(64 * 1024);
        let handle = self.clone();
        tokio::spawn(async move {
            if let Err(e) = handle.serve(modem).await {
                tracing::debug!(error = %e, "in-memory connection ended");
            }
        });
        host
    }

    /// A phone sends a text to the modem's number. Long texts become concatenated parts.
    pub fn inject_text(&self, text: &IncomingText) -> Result<InjectReport, InjectError> {
        let reference = text.reference.unwrap_or_else(|| {
            let next = self.shared.next_reference.fetch_add(1, Ordering::Relaxed);
            // An 8-bit reference wraps at 256, as a phone's counter does.
            match text.reference_bits {
                ReferenceBits::Bits8 => next % 256,
                ReferenceBits::Bits16 => next,
            }
        });
        let smsc = self.modem().network_smsc().to_owned();
        let parts = pdu::deliver_parts(&DeliverRequest {
            sender: &text.from,
            text: &text.text,
            smsc: &smsc,
            timestamp: Utc::now().fixed_offset(),
            reference,
            reference_bits: text.reference_bits,
        })?;
        let total = parts.len();
        let mut numbered: Vec<(u8, Vec<u8>)> = parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| (u8::try_from(i + 1).unwrap_or(u8::MAX), p))
            .collect();
        match text.order {
            PartOrder::InOrder => {}
            PartOrder::Reversed => numbered.reverse(),
            PartOrder::LastFirst => numbered.rotate_right(1),
        }
        numbered.retain(|(sequence, _)| !text.drop_parts.contains(sequence));
        let report = InjectReport {
            parts: total,
            delivered: numbered.iter().map(|(s, _)| *s).collect(),
            reference,
            pdus: numbered.iter().map(|(_, p)| hex::encode_upper(p)).collect(),
        };
        let pdus = numbered.into_iter().map(|(_, p)| p).collect();
        let steps = self
            .modem()
            .receive(IncomingKind::Deliver, pdus, Utc::now())?;
        self.run_detached(steps);
        Ok(report)
    }

    /// The network delivers a ready-made PDU (hex, SMSC field first).
    pub fn inject_pdu(&self, hex: &str, kind: IncomingKind) -> Result<(), InjectError> {
        let bytes = textgate_gsm::pdu::from_hex(hex).map_err(PduRejection::Hex)?;
        let steps = self.modem().receive(kind, vec![bytes], Utc::now())?;
        self.run_detached(steps);
        Ok(())
    }

    /// A phone calls; the modem rings `rings` times unless the host hangs up.
    pub fn inject_call(&self, number: &str, rings: u32) {
        let steps = self.modem().incoming_call(number, rings, Utc::now());
        self.run_detached(steps);
    }

    /// Changes the faults in force (only the fields given).
    pub fn set_faults(&self, patch: FaultPatch) -> Faults {
        let mut modem = self.modem();
        let steps = modem.set_faults(patch, Utc::now());
        let faults = modem.faults().clone();
        drop(modem);
        self.run_detached(steps);
        faults
    }

    pub fn clear_faults(&self) {
        let steps = self.modem().clear_faults(Utc::now());
        self.run_detached(steps);
    }

    pub fn faults(&self) -> Faults {
        self.modem().faults().clone()
    }

    /// Line noise on every attached connection.
    pub fn inject_garbage(&self, bytes: Vec<u8>) {
        let steps = self.modem().garbage(bytes);
        self.run_detached(steps);
    }

    pub fn set_signal(&self, signal: u8) {
        self.modem().set_signal(signal);
        self.touched();
    }

    /// The link drops: every connection is closed; a pseudo-terminal vanishes for
    /// `duration` and comes back (see [`crate::pty`]); TCP refuses connections meanwhile.
    pub fn disconnect(&self, duration: Duration) {
        let now = tokio::time::Instant::now();
        // An absurd duration (from the HTTP API) means "down for a very long time".
        let until = now
            .checked_add(duration)
            .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600));
        self.shared.outage.send_modify(|o| {
            o.generation += 1;
            o.until = Some(until);
        });
        self.touched();
    }

    /// Ends an outage early: the pseudo-terminal comes back and TCP serves again now.
    pub fn restore_link(&self) {
        let now = tokio::time::Instant::now();
        self.shared.outage.send_if_modified(|o| match o.until {
            Some(until) if until > now => {
                o.until = None;
                true
            }
            _ => false,
        });
        self.touched();
    }

    /// Whether the link is down (during a [`SimHandle::disconnect`]).
    pub fn in_outage(&self) -> bool {
        self.shared
            .outage
            .borrow()
            .until
            .is_some_and(|until| tokio::time::Instant::now() < until)
    }

    pub(crate) fn outage(&self) -> watch::Receiver<Outage> {
        self.shared.outage.subscribe()
    }

    pub(crate) fn publish_pty_path(&self, path: Option<std::path::PathBuf>) {
        self.shared.pty_path.send_replace(path);
        self.touched();
    }

    /// The current pseudo-terminal slave path; it changes after a disconnect.
    pub fn pty_path(&self) -> watch::Receiver<Option<std::path::PathBuf>> {
        self.shared.pty_path.subscribe()
    }

    pub fn counters(&self) -> Counters {
        self.modem().counters().clone()
    }

    /// Every part the host sent, in order.
    pub fn sent_parts(&self) -> Vec<SentPart> {
        self.modem().sent().to_vec()
    }

    /// What the host sent, parts joined into messages.
    pub fn sent_messages(&self) -> Vec<SentMessage> {
        join_parts(self.modem().sent())
    }

    pub fn clear_sent(&self) {
        self.modem().clear_sent();
        self.touched();
    }

    /// What the SIM holds.
    pub fn sim_messages(&self) -> Vec<StoredEntry> {
        self.modem()
            .sim()
            .snapshot()
            .into_iter()
            .map(|(index, message)| StoredEntry { index, message })
            .collect()
    }
}

/// Groups parts into messages: a concatenated part joins the latest open message to the
/// same recipient with the same reference and total that lacks its sequence number.
fn join_parts(parts: &[SentPart]) -> Vec<SentMessage> {
    struct Building {
        message: SentMessage,
        key: Option<(u16, u8)>,
        texts: Vec<(u8, String)>,
    }
    let mut building: Vec<Building> = Vec::new();
    for part in parts {
        let key = part.concatenation.map(|c| (c.reference, c.total));
        let sequence = part.concatenation.map_or(1, |c| c.sequence);
        let open = building.iter_mut().rev().find(|b| {
            key.is_some()
                && b.key == key
                && b.message.recipient == part.recipient
                && !b.texts.iter().any(|(s, _)| *s == sequence)
        });
        let text = part.text.clone().unwrap_or_default();
        match open {
            Some(b) => {
                b.texts.push((sequence, text));
                b.message.references.push(part.reference);
                b.message.last_sent_at = part.sent_at;
            }
            None => building.push(Building {
                message: SentMessage {
                    recipient: part.recipient.clone(),
                    text: String::new(),
                    references: vec![part.reference],
                    total_parts: key.map_or(1, |(_, total)| total),
                    complete: false,
                    first_sent_at: part.sent_at,
                    last_sent_at: part.sent_at,
                },
                key,
                texts: vec![(sequence, text)],
            }),
        }
    }
    building
        .into_iter()
        .map(|mut b| {
            b.texts.sort_by_key(|(s, _)| *s);
            b.message.complete = b.texts.len() == usize::from(b.message.total_parts);
            b.message.text = b.texts.into_iter().map(|(_, t)| t).collect();
            b.message
        })
        .collect()
}
