//! One open device: writes commands, reads until their final result, and keeps the
//! unsolicited codes that arrive meanwhile for the driver to handle afterwards. Only
//! buffering and timing live here; the meaning of bytes is `textgate_at`'s business.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use textgate_at::command::{self, Command, ESCAPE};
use textgate_at::response::ParseError;
use textgate_at::{Event, FinalResult, Framer, Response, Urc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::config::{deadline, Timeouts};
use crate::port::BoxPort;

/// A command's information responses and final result.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub responses: Vec<Response>,
    pub result: FinalResult,
}

/// Why a command produced no usable answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CommandFailure {
    #[error("no answer to {command} within {timeout:?}")]
    Timeout { command: String, timeout: Duration },
    #[error("the device closed the connection")]
    Closed,
    #[error("reading or writing the device failed: {0}")]
    Io(#[from] io::Error),
    #[error("{command} failed: {result}")]
    Rejected {
        command: String,
        result: FinalResult,
    },
    #[error(transparent)]
    Parse(#[from] ParseError),
}

impl CommandFailure {
    /// Lost contact with the modem (as opposed to the modem saying no).
    pub fn is_link_failure(&self) -> bool {
        matches!(
            self,
            CommandFailure::Timeout { .. } | CommandFailure::Closed | CommandFailure::Io(_)
        )
    }
}

/// Where `AT+CMGS` ended.
pub(crate) enum Submission {
    /// `+CMGS: <mr>` and `OK`, or a final error.
    Answered(Reply),
    /// No prompt or no final result in time.
    TimedOut { timeout: Duration },
}

pub(crate) struct Connection {
    port: BoxPort,
    framer: Framer,
    buffer: Vec<u8>,
    /// Unsolicited codes seen while a command ran, oldest first.
    pub urcs: VecDeque<Urc>,
    timeouts: Timeouts,
    /// When the modem last sent anything: keepalives go out only after silence.
    pub last_heard: Instant,
}

impl Connection {
    pub fn new(port: BoxPort, timeouts: Timeouts) -> Connection {
        Connection {
            port,
            framer: Framer::new(),
            buffer: vec![0; 1024],
            urcs: VecDeque::new(),
            timeouts,
            last_heard: Instant::now(),
        }
    }

    /// Runs a command to its final result.
    pub async fn run(&mut self, command: &Command) -> Result<Reply, CommandFailure> {
        let timeout = self.timeouts.for_class(command.duration_class());
        self.start(command).await?;
        let mut responses = Vec::new();
        let deadline = deadline(Instant::now(), timeout);
        loop {
            let events = self
                .read_until(deadline, &command.log_text(), timeout)
                .await?;
            if let Some(result) = self.absorb_all(events, &mut responses) {
                return Ok(Reply { responses, result });
            }
        }
    }

    /// Runs a command and insists on `OK`.
    pub async fn ok(&mut self, command: &Command) -> Result<Vec<Response>, CommandFailure> {
        let reply = self.run(command).await?;
        match reply.result {
            FinalResult::Ok => Ok(reply.responses),
            result => Err(CommandFailure::Rejected {
                command: command.log_text(),
                result,
            }),
        }
    }

    /// `AT+CMGS=<length>`, the prompt, the PDU and Ctrl-Z, to the final result.
    pub async fn submit(
        &mut self,
        pdu_hex: &str,
        tpdu_length: usize,
    ) -> Result<Submission, CommandFailure> {
        let command = Command::SendPdu { tpdu_length };
        let body = command::pdu_body(pdu_hex)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        self.start(&command).await?;
        let mut responses = Vec::new();
        let prompt_deadline = deadline(Instant::now(), self.timeouts.quick);
        'prompt: loop {
            let events = match self
                .read_until(prompt_deadline, "AT+CMGS", self.timeouts.quick)
                .await
            {
                Ok(events) => events,
                Err(CommandFailure::Timeout { timeout, .. }) => {
                    // The modem may sit in PDU input mode; ESC leaves it without sending.
                    self.write(&[ESCAPE]).await?;
                    return Ok(Submission::TimedOut { timeout });
                }
                Err(other) => return Err(other),
            };
            let prompted = events.contains(&Event::Prompt);
            let events = events.into_iter().filter(|e| *e != Event::Prompt).collect();
            if let Some(result) = self.absorb_all(events, &mut responses) {
                return Ok(Submission::Answered(Reply { responses, result }));
            }
            if prompted {
                break 'prompt;
            }
        }
        self.write(&body).await?;
        let timeout = self.timeouts.network;
        let deadline = deadline(Instant::now(), timeout);
        loop {
            let events = match self.read_until(deadline, "AT+CMGS", timeout).await {
                Ok(events) => events,
                Err(CommandFailure::Timeout { timeout, .. }) => {
                    return Ok(Submission::TimedOut { timeout })
                }
                Err(other) => return Err(other),
            };
            if let Some(result) = self.absorb_all(events, &mut responses) {
                return Ok(Submission::Answered(Reply { responses, result }));
            }
        }
    }

    /// Waits for bytes while no command runs; unsolicited codes land in `urcs`.
    /// Cancel safe: nothing is lost if the future is dropped before it completes.
    pub async fn read_idle(&mut self) -> Result<(), CommandFailure> {
        let n = self.port.read(&mut self.buffer).await?;
        if n == 0 {
            return Err(CommandFailure::Closed);
        }
        self.last_heard = Instant::now();
        let events = self.framer.feed(&self.buffer[..n]);
        let mut stray = Vec::new();
        if let Some(result) = self.absorb_all(events, &mut stray) {
            tracing::debug!(%result, "final result with no command running");
        }
        for response in stray {
            tracing::debug!(line = %response.line, "response with no command running");
        }
        Ok(())
    }

    /// Reads and drops answers until the modem has been silent for `quiet` (or `limit`
    /// has passed). Unsolicited codes are kept: they are news, not stale answers.
    pub async fn discard_until_quiet(
        &mut self,
        quiet: Duration,
        limit: Duration,
    ) -> Result<(), CommandFailure> {
        let end = deadline(Instant::now(), limit);
        loop {
            let until = deadline(Instant::now(), quiet).min(end);
            match tokio::time::timeout_at(until, self.port.read(&mut self.buffer)).await {
                Err(_) => return Ok(()),
                Ok(Ok(0)) => return Err(CommandFailure::Closed),
                Ok(Ok(n)) => {
                    self.last_heard = Instant::now();
                    let events = self.framer.feed(&self.buffer[..n]);
                    let mut stale = Vec::new();
                    if let Some(result) = self.absorb_all(events, &mut stale) {
                        tracing::debug!(%result, "stale answer discarded");
                    }
                    if Instant::now() >= end {
                        return Ok(());
                    }
                }
                Ok(Err(error)) => return Err(error.into()),
            }
        }
    }

    /// Forgets any half-read answer and leaves PDU input mode, before a re-initialisation.
    pub async fn resynchronise(&mut self) -> Result<(), CommandFailure> {
        self.framer.reset();
        self.write(&[ESCAPE, b'\r']).await
    }

    async fn start(&mut self, command: &Command) -> Result<(), CommandFailure> {
        tracing::debug!(command = %command.log_text(), "modem command");
        self.framer.expect(command.expectation());
        self.write(&command.to_bytes()).await
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), CommandFailure> {
        self.port.write_all(bytes).await?;
        self.port.flush().await?;
        Ok(())
    }

    async fn read_until(
        &mut self,
        deadline: Instant,
        command: &str,
        timeout: Duration,
    ) -> Result<Vec<Event>, CommandFailure> {
        let read = tokio::time::timeout_at(deadline, self.port.read(&mut self.buffer)).await;
        let n = match read {
            Err(_) => {
                self.framer.reset();
                return Err(CommandFailure::Timeout {
                    command: command.to_owned(),
                    timeout,
                });
            }
            Ok(result) => result?,
        };
        if n == 0 {
            return Err(CommandFailure::Closed);
        }
        self.last_heard = Instant::now();
        Ok(self.framer.feed(&self.buffer[..n]))
    }

    /// Sorts a batch of events and returns the first final result. Everything in the batch
    /// is handled, also after the final result: one read can end a command and carry the
    /// next unsolicited code.
    fn absorb_all(
        &mut self,
        events: Vec<Event>,
        responses: &mut Vec<Response>,
    ) -> Option<FinalResult> {
        let mut result = None;
        for event in events {
            match (self.absorb(event, responses), &result) {
                (Some(end), None) => result = Some(end),
                (Some(extra), Some(_)) => {
                    tracing::debug!(result = %extra, "second final result ignored")
                }
                (None, _) => {}
            }
        }
        result
    }

    /// Sorts one event: a final result is returned, responses are collected, unsolicited
    /// codes queued, echo and noise logged.
    fn absorb(&mut self, event: Event, responses: &mut Vec<Response>) -> Option<FinalResult> {
        match event {
            Event::Final(result) => return Some(result),
            Event::Response(response) => responses.push(response),
            Event::Urc(urc) => self.urcs.push_back(urc),
            Event::Prompt => tracing::debug!("unexpected prompt"),
            Event::Echo(line) => tracing::trace!(%line, "echo"),
            Event::Noise(bytes) => {
                tracing::debug!(bytes = bytes.len(), "line noise from the modem")
            }
        }
        None
    }
}
