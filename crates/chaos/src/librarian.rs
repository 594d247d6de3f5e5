//! The librarian at her desk: testkit's [`Librarian`] client on a task of its own that
//! logs in again whenever the connection drops (Prosody restarting closes it), records
//! every text from a patron and every error about one of her replies in the [`Ledger`],
//! and writes the replies the run hands her, holding them while she is offline.
//!
//! A reply counts as sent once it was written to her connection. A write that fails sends
//! nothing and is tried again after the next login. A reply the server refuses for now
//! (an error of type `wait`: "Component unavailable" while the daemon is down) is sent
//! again a moment later, as a librarian would, with the same id.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use textgate_testkit::prosody::HOST;
use textgate_testkit::xmpp::{to_xml, Element, Librarian, XmppError};
use tokio::sync::{mpsc, watch};

use crate::clock::RunClock;
use crate::ledger::{Arrival, Bounce, Ledger};
use crate::rig::{GATEWAY, LIBRARIAN, PASSWORD};

/// How long one login may take before it is tried again.
const LOGIN: Duration = Duration::from_secs(15);
/// The pause between two failed logins (Prosody may be down for a while).
const RELOGIN: Duration = Duration::from_millis(250);
/// How long the desk waits for a stanza before looking at its queue again; a quiet server
/// is no error.
const IDLE: Duration = Duration::from_secs(3600);
/// The pause before a refused reply is sent again, and how often it is.
const RESEND_AFTER: Duration = Duration::from_secs(1);
const RESENDS: u32 = 60;

/// A reply to write.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The stanza id: the reply's tag.
    pub id: String,
    /// The patron's number.
    pub to: String,
    pub body: String,
}

/// Whether the librarian is logged in, and how often she has logged in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeskState {
    pub online: bool,
    pub logins: u32,
}

/// The handle the run keeps: hand over replies, watch the state.
pub struct Desk {
    replies: mpsc::UnboundedSender<Reply>,
    state: watch::Receiver<DeskState>,
    task: tokio::task::JoinHandle<()>,
}

impl Desk {
    /// Starts the desk against Prosody's client port.
    pub fn open(c2s: String, ledger: Ledger, clock: RunClock) -> Desk {
        let (replies, queue) = mpsc::unbounded_channel();
        let (state_tx, state) = watch::channel(DeskState::default());
        let desk = DeskTask {
            ledger,
            clock,
            queue,
            again: replies.clone(),
            written: BTreeMap::new(),
        };
        let task = tokio::spawn(desk.serve(c2s, state_tx));
        Desk {
            replies,
            state,
            task,
        }
    }

    /// Hands a reply to the librarian; she writes it as soon as she is online.
    pub fn reply(&self, reply: Reply) {
        // The desk task lives as long as this handle.
        let _ = self.replies.send(reply);
    }

    /// Waits up to `within` until she is online after at least `logins` logins.
    pub async fn wait_online(&self, logins: u32, within: Duration) -> bool {
        let mut state = self.state.clone();
        tokio::time::timeout(within, state.wait_for(|s| s.online && s.logins >= logins))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    pub fn state(&self) -> DeskState {
        *self.state.borrow()
    }

    pub fn close(self) {
        self.task.abort();
    }
}

/// The desk's task: its queue, the replies it wrote (to send a refused one again) and
/// where it records what happens.
struct DeskTask {
    ledger: Ledger,
    clock: RunClock,
    queue: mpsc::UnboundedReceiver<Reply>,
    /// Puts a refused reply back in the queue.
    again: mpsc::UnboundedSender<Reply>,
    /// Id -> the reply and how often it was sent again.
    written: BTreeMap<String, (Reply, u32)>,
}

impl DeskTask {
    async fn serve(mut self, c2s: String, state: watch::Sender<DeskState>) {
        let mut waiting: VecDeque<Reply> = VecDeque::new();
        loop {
            let mut librarian = match login(&c2s).await {
                Ok(librarian) => librarian,
                Err(e) => {
                    self.ledger
                        .note_desk(self.clock.now(), format!("login failed: {e}"));
                    // Prosody is down or restarting: try again shortly (this pause is the
                    // retry's pacing, nothing waits on it).
                    tokio::time::sleep(RELOGIN).await;
                    continue;
                }
            };
            state.send_modify(|s| {
                s.online = true;
                s.logins += 1;
            });
            self.ledger.note_desk(self.clock.now(), "online".to_owned());
            let reason = self.session(&mut librarian, &mut waiting).await;
            state.send_modify(|s| s.online = false);
            self.ledger
                .note_desk(self.clock.now(), format!("offline: {reason}"));
        }
    }

    /// One connection's life: writes what waits, then answers stanzas and writes replies
    /// until the connection fails. Returns why it ended.
    async fn session(
        &mut self,
        librarian: &mut Librarian,
        waiting: &mut VecDeque<Reply>,
    ) -> String {
        loop {
            while let Some(reply) = waiting.pop_front() {
                if let Err(e) = librarian.write(&stanza(&reply)).await {
                    waiting.push_front(reply);
                    return format!("writing a reply: {e}");
                }
                self.ledger.reply_written(&reply.id, self.clock.now());
                self.written
                    .entry(reply.id.clone())
                    .or_insert_with(|| (reply, 0));
            }
            let event = tokio::select! {
                reply = self.queue.recv() => Event::Reply(reply),
                stanza = librarian.wait_for("any stanza", IDLE, |_| true) => Event::Stanza(stanza),
            };
            match event {
                Event::Reply(Some(reply)) => waiting.push_back(reply),
                // Cannot happen while the task holds a sender itself.
                Event::Reply(None) => {}
                Event::Stanza(Ok(stanza)) => {
                    if let Err(e) = self.handle(librarian, &stanza).await {
                        return format!("answering a stanza: {e}");
                    }
                }
                Event::Stanza(Err(XmppError::Timeout { .. })) => {}
                Event::Stanza(Err(e)) => return e.to_string(),
            }
        }
    }

    /// A patron's text goes into the ledger; an error about a reply too (and a reply
    /// refused for now is sent again); the gateway's subscription request is approved, as
    /// the librarian does once in her client.
    async fn handle(
        &mut self,
        librarian: &mut Librarian,
        stanza: &Element,
    ) -> Result<(), XmppError> {
        let from = stanza.attr("from").unwrap_or_default();
        match stanza.name() {
            "presence" if stanza.attr("type") == Some("subscribe") && from == GATEWAY => {
                librarian
                    .write(&format!(
                        "<presence xmlns='jabber:client' type='subscribed' to='{GATEWAY}'/>"
                    ))
                    .await?;
            }
            "message" if stanza.attr("type") == Some("error") => {
                let id = stanza.attr("id").unwrap_or_default().to_owned();
                self.ledger.bounce(Bounce {
                    id: id.clone(),
                    at: self.clock.now(),
                    stanza: to_xml(stanza),
                });
                let for_now = stanza
                    .get_child("error", "jabber:client")
                    .is_some_and(|e| e.attr("type") == Some("wait"));
                if let Some((reply, resent)) = self.written.get_mut(&id) {
                    if for_now && *resent < RESENDS {
                        *resent += 1;
                        let reply = reply.clone();
                        let again = self.again.clone();
                        self.ledger.resent();
                        tokio::spawn(async move {
                            // The librarian's pause before trying again.
                            tokio::time::sleep(RESEND_AFTER).await;
                            let _ = again.send(reply);
                        });
                    }
                }
            }
            "message" => {
                let Some(body) = stanza.get_child("body", "jabber:client") else {
                    return Ok(());
                };
                let Some(patron) = from
                    .split('/')
                    .next()
                    .and_then(|bare| bare.strip_suffix(&format!("@{GATEWAY}")))
                else {
                    return Ok(());
                };
                self.ledger.arrival(Arrival {
                    patron: patron.to_owned(),
                    body: body.text(),
                    at: self.clock.now(),
                    delayed: stanza.get_child("delay", "urn:xmpp:delay").is_some(),
                });
            }
            _ => {}
        }
        Ok(())
    }
}

async fn login(c2s: &str) -> Result<Librarian, XmppError> {
    let mut librarian = Librarian::login(c2s, HOST, LIBRARIAN, PASSWORD, "desk").await?;
    tokio::time::timeout(LOGIN, librarian.come_online())
        .await
        .map_err(|_| XmppError::LoginTimeout {
            user: LIBRARIAN.to_owned(),
        })??;
    Ok(librarian)
}

enum Event {
    Reply(Option<Reply>),
    Stanza(Result<Element, XmppError>),
}

/// A chat message to the patron, with the tag as its id.
fn stanza(reply: &Reply) -> String {
    let body = reply
        .body
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<message xmlns='jabber:client' type='chat' id='{id}' to='{to}@{GATEWAY}'><body>{body}</body></message>",
        id = reply.id,
        to = reply.to,
    )
}
