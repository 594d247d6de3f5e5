//! The announcer's session: one tokio task that connects (XEP-0114), runs [`Announcer`],
//! pings the server so a half-dead link is noticed, and reconnects with backoff. Like the
//! gateway's session, it answers [`SendError::NotConnected`] between connections: the
//! caller keeps the announcement (in the store) and tries again later.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep, timeout};
use tokio_xmpp::jid::Jid;

use super::{AnnounceError, Announcement, Announcer, AnnouncerAction, AnnouncerEvent, StaffRoom};
use crate::config::{BackoffConfig, KeepaliveConfig};
use crate::keepalive::{self, Pings, Tick};
use crate::link::{ComponentLink, Incoming};
use crate::session::SendError;
use crate::{backoff, XmppError};

const EVENT_BUFFER: usize = 256;
const COMMAND_BUFFER: usize = 64;
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The alerts' component.
#[derive(Debug, Clone)]
pub struct AnnouncerConfig {
    /// The component's domain, e.g. `alerts.library.example`.
    pub domain: String,
    pub secret: String,
    /// The server's component port, `host:port`.
    pub server: String,
    pub room: Option<StaffRoom>,
    pub keepalive: KeepaliveConfig,
    pub backoff: BackoffConfig,
    pub connect_timeout: Duration,
}

impl AnnouncerConfig {
    /// A configuration with the default keepalive, backoff and timeouts.
    pub fn new(
        domain: impl Into<String>,
        secret: impl Into<String>,
        server: impl Into<String>,
        room: Option<StaffRoom>,
    ) -> AnnouncerConfig {
        AnnouncerConfig {
            domain: domain.into(),
            secret: secret.into(),
            server: server.into(),
            room,
            keepalive: KeepaliveConfig::default(),
            backoff: BackoffConfig::default(),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

enum Command {
    Send(Announcement, oneshot::Sender<Result<(), SendError>>),
}

/// Talks to a running announcer. Cheap to clone; the session ends when every handle is
/// dropped (it leaves the room and closes the stream).
#[derive(Debug, Clone)]
pub struct AnnouncerHandle {
    commands: mpsc::Sender<Command>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Send(a, _) => f.debug_tuple("Send").field(&a.id).finish(),
        }
    }
}

impl AnnouncerHandle {
    /// Sends one announcement. `Ok` means it was written to the server connection.
    pub async fn send(&self, announcement: Announcement) -> Result<(), SendError> {
        let (ack, result) = oneshot::channel();
        self.commands
            .send(Command::Send(announcement, ack))
            .await
            .map_err(|_| SendError::SessionClosed)?;
        result.await.map_err(|_| SendError::SessionClosed)?
    }
}

/// Starts the announcer's session. Bounces and the room's answers arrive on the returned
/// receiver.
pub fn spawn_announcer(
    config: AnnouncerConfig,
) -> Result<(AnnouncerHandle, mpsc::Receiver<AnnouncerEvent>), XmppError> {
    let announcer = Announcer::new(&config.domain, config.room.clone())?;
    let target = config.keepalive.target.clone().unwrap_or_else(|| {
        config
            .domain
            .split_once('.')
            .map_or(config.domain.clone(), |(_, parent)| parent.to_owned())
    });
    let ping_target = Jid::new(&target).map_err(|e| XmppError::BadPingTarget {
        jid: target.clone(),
        reason: e.to_string(),
    })?;
    let (commands_tx, commands) = mpsc::channel(COMMAND_BUFFER);
    let (events, events_rx) = mpsc::channel(EVENT_BUFFER);
    let session = Session {
        config,
        announcer,
        ping_target,
        commands,
        events,
        next_ping: 0,
    };
    tokio::spawn(session.run());
    Ok((
        AnnouncerHandle {
            commands: commands_tx,
        },
        events_rx,
    ))
}

struct Session {
    config: AnnouncerConfig,
    announcer: Announcer,
    ping_target: Jid,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<AnnouncerEvent>,
    next_ping: u64,
}

/// How a connection ended.
enum Ending {
    /// Every handle is gone.
    Done,
    Lost(String),
}

impl Session {
    async fn run(mut self) {
        let mut attempt: u32 = 0;
        loop {
            let reason = match self.connect().await {
                Ok(link) => {
                    attempt = 0;
                    tracing::info!(component = %self.config.domain, "alerts component connected");
                    match self.serve(link).await {
                        Ending::Done => return,
                        Ending::Lost(reason) => reason,
                    }
                }
                Err(reason) => reason,
            };
            self.announcer.on_disconnected();
            let retry_in = backoff::delay(&self.config.backoff, attempt);
            attempt = attempt.saturating_add(1);
            tracing::warn!(component = %self.config.domain, %reason, ?retry_in, "alerts component disconnected");
            if !self.wait_disconnected(retry_in).await {
                return;
            }
        }
    }

    async fn connect(&self) -> Result<ComponentLink, String> {
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
                    None => return false,
                },
            }
        }
    }

    async fn serve(&mut self, mut link: ComponentLink) -> Ending {
        for stanza in self.announcer.on_connected() {
            if let Err(e) = link.send(stanza).await {
                return Ending::Lost(format!("joining the staff room: {e}"));
            }
        }
        let mut pings = Pings::new(&self.config.keepalive);
        loop {
            tokio::select! {
                incoming = link.next() => {
                    let stanza = match incoming {
                        Incoming::Stanza(stanza) => stanza,
                        Incoming::Unreadable { why, .. } => {
                            tracing::warn!(component = %self.config.domain, %why, "unreadable stanza skipped");
                            continue;
                        }
                        Incoming::Closed(reason) => return Ending::Lost(reason),
                    };
                    for action in self.announcer.handle(stanza) {
                        match action {
                            AnnouncerAction::Send(stanza) => {
                                if let Err(e) = link.send(stanza).await {
                                    return Ending::Lost(format!("writing: {e}"));
                                }
                            }
                            AnnouncerAction::Emit(event) => {
                                if self.events.send(event).await.is_err() {
                                    return self.close(link).await;
                                }
                            }
                            AnnouncerAction::IqAnswered(id) => pings.answered(&id),
                        }
                    }
                }
                command = self.commands.recv() => match command {
                    Some(Command::Send(announcement, ack)) => {
                        let stanza = match self.announcer.announce(&announcement) {
                            Ok(stanza) => stanza,
                            Err(e @ (AnnounceError::NoRoom | AnnounceError::NotInRoom(_))) => {
                                let _ = ack.send(Err(SendError::Unprepared(e.to_string())));
                                continue;
                            }
                        };
                        if let Err(e) = link.send(stanza).await {
                            let _ = ack.send(Err(SendError::Write(e.to_string())));
                            return Ending::Lost(format!("writing: {e}"));
                        }
                        let _ = ack.send(Ok(()));
                    }
                    None => return self.close(link).await,
                },
                tick = pings.tick(&mut self.next_ping) => match tick {
                    Tick::Ping(id) => {
                        let ping = self.announcer.ping(&self.ping_target, &id);
                        if let Err(e) = link.send(ping).await {
                            return Ending::Lost(format!("sending ping: {e}"));
                        }
                    }
                    Tick::Dead(reason) => return Ending::Lost(reason),
                },
            }
        }
    }

    async fn close(&mut self, mut link: ComponentLink) -> Ending {
        let goodbye = async {
            for stanza in self.announcer.on_shutdown() {
                link.send(stanza).await?;
            }
            link.close().await
        };
        if timeout(CLOSE_TIMEOUT, goodbye).await.is_err() {
            tracing::warn!(component = %self.config.domain, "closing the alerts component timed out");
        }
        Ending::Done
    }
}
