//! The component session: one tokio task per gateway that connects to the server (XEP-0114
//! handshake), runs [`ComponentProtocol`] over the stream, pings the server so a half-dead
//! link is noticed, and reconnects with backoff when the link is lost. tokio-xmpp does not
//! reconnect by itself: a dropped connection just ends its stream.
//! The connection itself is [`ComponentLink`].

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep, timeout};
use tokio_xmpp::jid::Jid;

use crate::backoff;
use crate::config::ComponentConfig;
use crate::keepalive::{self, Pings, Tick};
use crate::link::{ComponentLink, Incoming};
use crate::protocol::{Action, ComponentProtocol, GatewayEvent, Outgoing, OutgoingError};
use crate::XmppError;

/// Events are buffered this deep before the session waits for the daemon to catch up.
const EVENT_BUFFER: usize = 1024;
const COMMAND_BUFFER: usize = 256;
/// How long a graceful close may take before the socket is simply dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a stanza could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("the component is not connected to the XMPP server; try again after it reconnects")]
    NotConnected,
    #[error("the component session has shut down")]
    SessionClosed,
    #[error("writing to the XMPP server failed: {0}")]
    Write(String),
    #[error(transparent)]
    Invalid(#[from] OutgoingError),
    /// The daemon could not make the message ready to send (for example, it could not
    /// read a patron's privacy handle); nothing was sent.
    #[error("the message could not be made ready to send: {0}")]
    Unprepared(String),
}

enum Command {
    Send(Outgoing, oneshot::Sender<Result<(), SendError>>),
    Shutdown(oneshot::Sender<()>),
}

/// Talks to a running session. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ComponentHandle {
    commands: mpsc::Sender<Command>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Send(out, _) => f.debug_tuple("Send").field(out).finish(),
            Command::Shutdown(_) => f.write_str("Shutdown"),
        }
    }
}

impl ComponentHandle {
    /// Sends a stanza. `Ok` means it was written to the server connection; when the
    /// component is between connections the answer is [`SendError::NotConnected`] and the
    /// caller keeps the message for later (the store is the source of truth).
    pub async fn send(&self, outgoing: Outgoing) -> Result<(), SendError> {
        let (ack, result) = oneshot::channel();
        self.commands
            .send(Command::Send(outgoing, ack))
            .await
            .map_err(|_| SendError::SessionClosed)?;
        result.await.map_err(|_| SendError::SessionClosed)?
    }

    /// Says goodbye to the operators, closes the stream and ends the session. Returns when
    /// the session has ended.
    pub async fn shutdown(&self) {
        let (done, finished) = oneshot::channel();
        if self.commands.send(Command::Shutdown(done)).await.is_ok() {
            let _ = finished.await;
        }
    }
}

/// Starts the session task for one gateway. Events arrive on the returned receiver; the
/// session ends when [`ComponentHandle::shutdown`] is called or every handle is dropped.
pub fn spawn(
    config: ComponentConfig,
) -> Result<(ComponentHandle, mpsc::Receiver<GatewayEvent>), XmppError> {
    let protocol = ComponentProtocol::new(&config.domain, &config.operators, config.region)?
        .with_display_name(&config.display_name)
        .with_watchers(&config.watchers)?;
    let ping_target = ping_target(&config)?;
    let (commands_tx, commands) = mpsc::channel(COMMAND_BUFFER);
    let (events, events_rx) = mpsc::channel(EVENT_BUFFER);
    let session = Session {
        config,
        protocol,
        ping_target,
        commands,
        events,
        next_ping: 0,
    };
    tokio::spawn(session.run());
    Ok((
        ComponentHandle {
            commands: commands_tx,
        },
        events_rx,
    ))
}

fn ping_target(config: &ComponentConfig) -> Result<Jid, XmppError> {
    let target = match &config.keepalive.target {
        Some(target) => target.clone(),
        None => config
            .domain
            .split_once('.')
            .map_or(config.domain.clone(), |(_, parent)| parent.to_owned()),
    };
    Jid::new(&target).map_err(|e| XmppError::BadPingTarget {
        jid: target.clone(),
        reason: e.to_string(),
    })
}

/// How a connection ended.
enum Ending {
    Shutdown(Option<oneshot::Sender<()>>),
    Lost(String),
}

struct Session {
    config: ComponentConfig,
    protocol: ComponentProtocol,
    ping_target: Jid,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<GatewayEvent>,
    next_ping: u64,
}

type Connection = ComponentLink;

impl Session {
    async fn run(mut self) {
        let mut attempt: u32 = 0;
        loop {
            let reason = match self.connect().await {
                Ok(component) => {
                    attempt = 0;
                    tracing::info!(gateway = %self.config.domain, "component connected");
                    match self.serve(component).await {
                        Ending::Shutdown(done) => {
                            if let Some(done) = done {
                                let _ = done.send(());
                            }
                            return;
                        }
                        Ending::Lost(reason) => reason,
                    }
                }
                Err(reason) => reason,
            };
            let retry_in = backoff::delay(&self.config.backoff, attempt);
            attempt = attempt.saturating_add(1);
            tracing::warn!(gateway = %self.config.domain, %reason, ?retry_in, "component disconnected");
            for event in self.protocol.on_disconnected() {
                if !self.emit(event).await {
                    return;
                }
            }
            if !self
                .emit(GatewayEvent::Disconnected { reason, retry_in })
                .await
            {
                return;
            }
            if !self.wait_disconnected(retry_in).await {
                return;
            }
        }
    }

    /// Emits an event; `false` when nobody listens any more, which ends the session.
    async fn emit(&self, event: GatewayEvent) -> bool {
        self.events.send(event).await.is_ok()
    }

    async fn connect(&self) -> Result<Connection, String> {
        keepalive::connect(
            &self.config.server,
            &self.config.domain,
            &self.config.secret,
            &self.config.keepalive,
            self.config.connect_timeout,
        )
        .await
    }

    /// Between connections: refuse sends until the retry delay is over. `false` ends the
    /// session.
    async fn wait_disconnected(&mut self, delay: Duration) -> bool {
        let wake = sleep(delay);
        tokio::pin!(wake);
        loop {
            tokio::select! {
                () = &mut wake => return true,
                command = self.commands.recv() => match command {
                    Some(Command::Send(_, ack)) => {
                        let _ = ack.send(Err(SendError::NotConnected));
                    }
                    Some(Command::Shutdown(done)) => {
                        let _ = done.send(());
                        return false;
                    }
                    None => return false,
                },
            }
        }
    }

    async fn serve(&mut self, mut component: Connection) -> Ending {
        for stanza in self.protocol.on_connected() {
            if let Err(e) = component.send(stanza).await {
                return Ending::Lost(format!("announcing presence: {e}"));
            }
        }
        if !self.emit(GatewayEvent::Connected).await {
            return self.close(component, None).await;
        }
        let mut pings = Pings::new(&self.config.keepalive);
        loop {
            tokio::select! {
                incoming = component.next() => {
                    let stanza = match incoming {
                        Incoming::Stanza(stanza) => stanza,
                        Incoming::Unreadable { element, why } => {
                            tracing::warn!(gateway = %self.config.domain, %why, "unreadable stanza skipped");
                            if let Some(answer) = self.protocol.unreadable(&element, &why) {
                                if let Err(e) = component.send(answer).await {
                                    return Ending::Lost(format!("writing: {e}"));
                                }
                            }
                            continue;
                        }
                        Incoming::Closed(reason) => return Ending::Lost(reason),
                    };
                    for action in self.protocol.handle(stanza) {
                        match action {
                            Action::Send(stanza) => {
                                if let Err(e) = component.send(stanza).await {
                                    return Ending::Lost(format!("writing: {e}"));
                                }
                            }
                            Action::Emit(event) => {
                                if !self.emit(event).await {
                                    return self.close(component, None).await;
                                }
                            }
                            Action::IqAnswered(id) => pings.answered(&id),
                        }
                    }
                }
                command = self.commands.recv() => match command {
                    Some(Command::Send(outgoing, ack)) => {
                        let stanza = match self.protocol.outgoing(outgoing) {
                            Ok(stanza) => stanza,
                            Err(e) => {
                                let _ = ack.send(Err(e.into()));
                                continue;
                            }
                        };
                        if let Err(e) = component.send(stanza).await {
                            let _ = ack.send(Err(SendError::Write(e.to_string())));
                            return Ending::Lost(format!("writing: {e}"));
                        }
                        let _ = ack.send(Ok(()));
                    }
                    Some(Command::Shutdown(done)) => return self.close(component, Some(done)).await,
                    None => return self.close(component, None).await,
                },
                tick = pings.tick(&mut self.next_ping) => match tick {
                    Tick::Ping(id) => {
                        let ping = self.protocol.ping(&self.ping_target, &id);
                        if let Err(e) = component.send(ping).await {
                            return Ending::Lost(format!("sending ping: {e}"));
                        }
                    }
                    Tick::Dead(reason) => return Ending::Lost(reason),
                },
            }
        }
    }

    async fn close(
        &mut self,
        mut component: Connection,
        done: Option<oneshot::Sender<()>>,
    ) -> Ending {
        let goodbye = async {
            for stanza in self.protocol.on_shutdown() {
                component.send(stanza).await?;
            }
            component.close().await
        };
        match timeout(CLOSE_TIMEOUT, goodbye).await {
            Ok(Ok(())) => tracing::info!(gateway = %self.config.domain, "component closed"),
            Ok(Err(e)) => {
                tracing::warn!(gateway = %self.config.domain, error = %e, "closing the stream failed")
            }
            Err(_) => tracing::warn!(gateway = %self.config.domain, "closing the stream timed out"),
        }
        Ending::Shutdown(done)
    }
}
