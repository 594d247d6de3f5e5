//! One bind and unbind with the configured account, and nothing sent: what `check-config
//! --connect` asks of an SMSC, so a wrong address, certificate, system id or password shows
//! before the daemon starts rather than as a gateway that needs an operator after.

use textgate_smpp::{BindKind, CommandStatus, Event, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout_at, Instant};

use crate::config::SmppConfig;
use crate::link::{open, session_config};

/// Why [`check_bind`] failed, and which setting to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindProblem {
    /// No connection, no TLS, or no SMPP answer: the `address` (or the TLS settings).
    Address(String),
    /// The SMSC refused the system id or the password.
    Credentials(String),
    /// The SMSC refused the bind for another reason (an account already bound as often as
    /// it may be, a system type it does not know).
    Refused(String),
}

/// Binds as a transmitter (a check must not take texts a running daemon's receiver is
/// owed) with the configured account, and unbinds at once. Returns the SMSC's system id.
pub async fn check_bind(config: &SmppConfig) -> Result<String, BindProblem> {
    let mut stream = open(config).await.map_err(BindProblem::Address)?;
    let (mut session, bind) = Session::connect(
        session_config(config, BindKind::Transmitter),
        std::time::Instant::now(),
    );
    let address = &config.address;
    let lost = |e: std::io::Error| BindProblem::Address(format!("{address}: {e}"));
    stream.write_all(&bind).await.map_err(lost)?;
    let deadline = Instant::now() + config.response_timeout;
    let mut buffer = vec![0u8; 4096];
    loop {
        let read = timeout_at(deadline, stream.read(&mut buffer))
            .await
            .map_err(|_| {
                BindProblem::Address(format!(
                    "{address} did not answer the bind within {:?}",
                    config.response_timeout
                ))
            })?
            .map_err(lost)?;
        if read == 0 {
            return Err(BindProblem::Address(format!(
                "{address} closed the connection without answering the bind (is it an SMSC?)"
            )));
        }
        let (out, events) = session.received(&buffer[..read], std::time::Instant::now());
        for bytes in out {
            stream.write_all(&bytes).await.map_err(lost)?;
        }
        for event in events {
            match event {
                Event::Bound { system_id } => {
                    if let Some(unbind) = session.unbind(std::time::Instant::now()) {
                        // The answer to the unbind does not matter: the check is done.
                        let _ = stream.write_all(&unbind).await;
                    }
                    let _ = stream.shutdown().await;
                    return Ok(String::from_utf8_lossy(&system_id).into_owned());
                }
                Event::BindRefused { status }
                    if matches!(
                        status,
                        CommandStatus::INVALID_PASSWORD | CommandStatus::INVALID_SYSTEM_ID
                    ) =>
                {
                    return Err(BindProblem::Credentials(format!(
                        "the SMSC refused the bind as system id {:?}: {status}",
                        config.system_id
                    )));
                }
                Event::BindRefused { status } => {
                    return Err(BindProblem::Refused(format!(
                        "the SMSC refused the bind: {status}"
                    )));
                }
                Event::Disconnect { reason } => {
                    return Err(BindProblem::Address(format!("{address}: {reason}")));
                }
                _ => {}
            }
        }
    }
}
