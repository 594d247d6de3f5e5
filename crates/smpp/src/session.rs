//! One SMPP session as a state machine without I/O: the caller feeds it what the connection
//! read and the current time, and sends what it returns. It binds, keeps the link alive
//! with `enquire_link`, numbers requests, holds a window of outstanding `submit_sm`s, pairs
//! responses with requests, answers what the SMSC asks, and says when the connection must
//! be dropped.
//!
//! Two rules carry textgate's promise never to lose or double a text:
//! - An incoming `deliver_sm` is answered only when the caller says it is safe
//!   ([`Session::acknowledge`], after the store committed the text or receipt): an SMSC
//!   that gets no answer delivers it again.
//! - When the connection ends with submits outstanding, each is reported
//!   [`Event::Unknown`]: the SMSC may or may not have taken it, and only the caller (with
//!   its record of what was accepted) decides whether to send it again.
//!
//! Bad input never panics and never loses the session's footing: a PDU that cannot be
//! framed ends the connection ([`Event::Disconnect`]); a framed PDU whose body cannot be
//! read, or a request this session does not serve, gets a `generic_nack` with its
//! sequence number and the connection goes on (SMPP 3.4 §4.3).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::framer::{Framer, FramingError};
use crate::pdu::{Bind, Body, DecodeError, Header, Pdu, ShortMessage};
use crate::status::CommandStatus;

/// How a session behaves.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub bind: Bind,
    /// Submits outstanding at once.
    pub window: usize,
    /// Silence after which an `enquire_link` is sent.
    pub enquire_link_interval: Duration,
    /// How long any request may wait for its response before the link counts as dead.
    pub response_timeout: Duration,
    /// The largest PDU accepted from the SMSC.
    pub max_pdu: u32,
}

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Connected, the bind sent, no answer yet.
    Binding,
    Bound,
    /// The unbind sent (or received); nothing new is sent.
    Unbinding,
    /// Over: the caller closes the connection.
    Closed,
}

/// What the caller learns from the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The SMSC accepted the bind.
    Bound { system_id: Vec<u8> },
    /// The SMSC refused the bind with `status` (a [`Event::Disconnect`] follows): a wrong
    /// password or system id needs a person, other refusals pass.
    BindRefused { status: CommandStatus },
    /// The SMSC accepted the submit tagged `tag` under `message_id`.
    Accepted { tag: u64, message_id: Vec<u8> },
    /// The SMSC refused the submit tagged `tag`.
    Refused { tag: u64, status: CommandStatus },
    /// The submit tagged `tag` was outstanding when the connection ended: the SMSC may have
    /// taken it or not.
    Unknown { tag: u64 },
    /// A `deliver_sm` (a text from a phone or a receipt): answer it with
    /// [`Session::acknowledge`] once it is safely stored.
    Deliver {
        sequence: u32,
        message: ShortMessage,
    },
    /// Something the SMSC sent was answered with `generic_nack` or ignored; for the log.
    Rejected { what: String },
    /// The connection must be closed; the caller reconnects (or not, after an unbind).
    Disconnect { reason: String },
}

/// Why a submit was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error("the session is not bound")]
    NotBound,
    #[error("the window of outstanding submits is full")]
    WindowFull,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    Bind,
    Submit { tag: u64 },
    EnquireLink,
    Unbind,
}

/// One SMPP session.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    state: State,
    framer: Framer,
    next_sequence: u32,
    /// Requests awaiting their response: sequence → what and when sent.
    outstanding: BTreeMap<u32, (Request, Instant)>,
    submits: usize,
    /// When something last arrived from the SMSC.
    last_heard: Instant,
}

impl Session {
    /// A session on a connection just opened: returns it and the bind to send.
    pub fn connect(config: SessionConfig, now: Instant) -> (Session, Vec<u8>) {
        let mut session = Session {
            framer: Framer::new(config.max_pdu),
            config,
            state: State::Binding,
            next_sequence: 1,
            outstanding: BTreeMap::new(),
            submits: 0,
            last_heard: now,
        };
        let bind = Body::Bind(session.config.bind.clone());
        let bytes = session.request(Request::Bind, bind, now);
        (session, bytes)
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Whether a submit would be taken now.
    pub fn can_submit(&self) -> bool {
        self.state == State::Bound && self.submits < self.config.window
    }

    /// Submits are outstanding.
    pub fn submits_outstanding(&self) -> usize {
        self.submits
    }

    /// A `submit_sm` to send, tagged `tag` for the events that answer it.
    pub fn submit(
        &mut self,
        tag: u64,
        message: ShortMessage,
        now: Instant,
    ) -> Result<Vec<u8>, SubmitError> {
        if self.state != State::Bound {
            return Err(SubmitError::NotBound);
        }
        if self.submits >= self.config.window {
            return Err(SubmitError::WindowFull);
        }
        self.submits += 1;
        Ok(self.request(Request::Submit { tag }, Body::SubmitSm(message), now))
    }

    /// The answer to the `deliver_sm` numbered `sequence`, once its content is safe.
    pub fn acknowledge(&self, sequence: u32) -> Vec<u8> {
        Pdu::new(sequence, Body::DeliverSmResp).encode()
    }

    /// The `deliver_sm` numbered `sequence` cannot be taken now (the store failed): a
    /// temporary error, so the SMSC delivers it again later (`ESME_RX_T_APPN`).
    pub fn refuse_for_now(&self, sequence: u32) -> Vec<u8> {
        Pdu {
            status: CommandStatus(0x64),
            sequence,
            body: Body::DeliverSmResp,
        }
        .encode()
    }

    /// An `unbind` to send, to end the session politely. Nothing new is sent after it.
    pub fn unbind(&mut self, now: Instant) -> Option<Vec<u8>> {
        if matches!(self.state, State::Unbinding | State::Closed) {
            return None;
        }
        self.state = State::Unbinding;
        Some(self.request(Request::Unbind, Body::Unbind, now))
    }

    /// Octets read from the connection: what to send back and what happened.
    pub fn received(&mut self, bytes: &[u8], now: Instant) -> (Vec<Vec<u8>>, Vec<Event>) {
        let mut out = Vec::new();
        let mut events = Vec::new();
        if self.state == State::Closed {
            return (out, events);
        }
        self.last_heard = now;
        self.framer.push(bytes);
        loop {
            match self.framer.next_frame() {
                Ok(Some(frame)) => self.on_frame(&frame, &mut out, &mut events),
                Ok(None) => break,
                Err(e) => {
                    self.close(framing_reason(e), &mut events);
                    break;
                }
            }
            if self.state == State::Closed {
                break;
            }
        }
        (out, events)
    }

    /// The connection ended (read end, error): outstanding submits become unknown.
    pub fn connection_lost(&mut self, reason: &str) -> Vec<Event> {
        let mut events = Vec::new();
        if self.state != State::Closed {
            self.close(reason.to_owned(), &mut events);
        }
        events
    }

    /// Time passed: a keep-alive to send when the link was silent, or the end of the
    /// connection when a response is overdue.
    pub fn tick(&mut self, now: Instant) -> (Vec<Vec<u8>>, Vec<Event>) {
        let mut out = Vec::new();
        let mut events = Vec::new();
        if self.state == State::Closed {
            return (out, events);
        }
        let overdue = self
            .outstanding
            .values()
            .find(|(_, sent)| now.saturating_duration_since(*sent) >= self.config.response_timeout)
            .map(|(request, _)| *request);
        if let Some(request) = overdue {
            self.close(
                format!(
                    "no answer to {request:?} within {:?}",
                    self.config.response_timeout
                ),
                &mut events,
            );
            return (out, events);
        }
        let quiet = now.saturating_duration_since(self.last_heard);
        let probing = self
            .outstanding
            .values()
            .any(|(request, _)| *request == Request::EnquireLink);
        if self.state == State::Bound && quiet >= self.config.enquire_link_interval && !probing {
            out.push(self.request(Request::EnquireLink, Body::EnquireLink, now));
        }
        (out, events)
    }

    /// When [`Session::tick`] next has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.state == State::Closed {
            return None;
        }
        let response = self
            .outstanding
            .values()
            .map(|(_, sent)| *sent + self.config.response_timeout)
            .min();
        let keep_alive = (self.state == State::Bound)
            .then(|| self.last_heard + self.config.enquire_link_interval);
        [response, keep_alive].into_iter().flatten().min()
    }

    fn request(&mut self, request: Request, body: Body, now: Instant) -> Vec<u8> {
        let sequence = self.next_sequence;
        // §3.2: sequence numbers run from 1 to 0x7FFFFFFF, then wrap.
        self.next_sequence = if sequence >= 0x7FFF_FFFF {
            1
        } else {
            sequence + 1
        };
        self.outstanding.insert(sequence, (request, now));
        Pdu::new(sequence, body).encode()
    }

    fn close(&mut self, reason: String, events: &mut Vec<Event>) {
        self.state = State::Closed;
        for (_, (request, _)) in std::mem::take(&mut self.outstanding) {
            if let Request::Submit { tag } = request {
                events.push(Event::Unknown { tag });
            }
        }
        self.submits = 0;
        events.push(Event::Disconnect { reason });
    }

    fn on_frame(&mut self, frame: &[u8], out: &mut Vec<Vec<u8>>, events: &mut Vec<Event>) {
        let pdu = match Pdu::decode(frame) {
            Ok(pdu) => pdu,
            Err(e) => {
                self.on_undecodable(frame, &e, out, events);
                return;
            }
        };
        if pdu.command_id().is_response() {
            self.on_response(pdu, events);
        } else {
            self.on_request(pdu, out, events);
        }
    }

    /// A framed PDU whose body could not be read: `generic_nack` for a request (with its
    /// sequence number), and a response that cannot be read settles nothing, so its
    /// request is left to time out.
    fn on_undecodable(
        &mut self,
        frame: &[u8],
        error: &DecodeError,
        out: &mut Vec<Vec<u8>>,
        events: &mut Vec<Event>,
    ) {
        let Ok(header) = Header::read(frame) else {
            return;
        };
        events.push(Event::Rejected {
            what: format!("{:?} that cannot be read: {error}", header.command_id),
        });
        if !header.command_id.is_response() {
            out.push(nack(header.sequence, CommandStatus::INVALID_COMMAND_LENGTH));
        }
    }

    fn on_response(&mut self, pdu: Pdu, events: &mut Vec<Event>) {
        let Some((request, _)) = self.outstanding.remove(&pdu.sequence) else {
            events.push(Event::Rejected {
                what: format!(
                    "{:?} numbered {}, which answers no request of ours",
                    pdu.command_id(),
                    pdu.sequence
                ),
            });
            return;
        };
        match (request, pdu.body) {
            (Request::Bind, Body::BindResp { system_id, .. })
                if pdu.status == CommandStatus::OK =>
            {
                self.state = State::Bound;
                events.push(Event::Bound { system_id });
            }
            (Request::Bind, _) => {
                events.push(Event::BindRefused { status: pdu.status });
                self.close(format!("the SMSC refused the bind: {}", pdu.status), events);
            }
            (Request::Submit { tag }, body) => {
                self.submits = self.submits.saturating_sub(1);
                match body {
                    Body::SubmitSmResp { message_id } if pdu.status == CommandStatus::OK => {
                        events.push(Event::Accepted { tag, message_id });
                    }
                    // A refusal, or a generic_nack for our submit.
                    _ => events.push(Event::Refused {
                        tag,
                        status: if pdu.status == CommandStatus::OK {
                            CommandStatus::UNKNOWN_ERROR
                        } else {
                            pdu.status
                        },
                    }),
                }
            }
            (Request::EnquireLink, _) => {}
            (Request::Unbind, _) => self.close("unbound".to_owned(), events),
        }
    }

    fn on_request(&mut self, pdu: Pdu, out: &mut Vec<Vec<u8>>, events: &mut Vec<Event>) {
        let command = pdu.command_id();
        match pdu.body {
            Body::EnquireLink => out.push(Pdu::new(pdu.sequence, Body::EnquireLinkResp).encode()),
            Body::Unbind => {
                out.push(Pdu::new(pdu.sequence, Body::UnbindResp).encode());
                self.close("the SMSC unbound".to_owned(), events);
            }
            Body::DeliverSm(message)
                if self.state == State::Bound || self.state == State::Unbinding =>
            {
                events.push(Event::Deliver {
                    sequence: pdu.sequence,
                    message,
                });
            }
            body => {
                // §4.3: an unknown or unexpected command is answered generic_nack.
                let status = if matches!(body, Body::Other { .. }) {
                    CommandStatus::INVALID_COMMAND_ID
                } else {
                    CommandStatus::INCORRECT_BIND_STATUS
                };
                events.push(Event::Rejected {
                    what: format!("{command:?} from the SMSC, answered {status}"),
                });
                out.push(nack(pdu.sequence, status));
            }
        }
    }
}

fn nack(sequence: u32, status: CommandStatus) -> Vec<u8> {
    Pdu {
        status,
        sequence,
        body: Body::GenericNack,
    }
    .encode()
}

fn framing_reason(error: FramingError) -> String {
    format!("the SMSC's stream cannot be read further: {error}")
}
