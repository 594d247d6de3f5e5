//! `textgate modem probe`: ask a modem what it is, without changing its settings (no PIN
//! is entered, no message mode is set).

use textgate_at::command::{Command, ErrorReporting};
use tracing::Instrument;

use crate::at_driver::collect_status;
use crate::config::Timeouts;
use crate::connection::{CommandFailure, Connection};
use crate::port::{opener_for, BoxPort};
use crate::status::ModemStatus;

/// Why a probe found no modem to talk to.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot open {device}: {source}")]
    Open {
        device: String,
        source: std::io::Error,
    },
    #[error("no modem answered on {device}: {reason}")]
    NoAnswer { device: String, reason: String },
}

/// Opens `device` (a serial path, or `host:port` / `tcp://host:port`) and probes it.
pub async fn probe_device(
    device: &str,
    baud_rate: u32,
    timeouts: Timeouts,
) -> Result<ModemStatus, ProbeError> {
    let opener = opener_for(device, baud_rate);
    let port = opener.open().await.map_err(|source| ProbeError::Open {
        device: opener.describe(),
        source,
    })?;
    probe(port, &opener.describe(), timeouts).await
}

/// Probes a modem over an open port.
pub async fn probe(
    port: BoxPort,
    device: &str,
    timeouts: Timeouts,
) -> Result<ModemStatus, ProbeError> {
    // The connection's lines name no device: the span does, as the driver's span does.
    let span = tracing::info_span!("probe", device = %device);
    probe_in_span(port, device, timeouts).instrument(span).await
}

async fn probe_in_span(
    port: BoxPort,
    device: &str,
    timeouts: Timeouts,
) -> Result<ModemStatus, ProbeError> {
    let no_answer = |failure: CommandFailure| ProbeError::NoAnswer {
        device: device.to_owned(),
        reason: failure.to_string(),
    };
    let mut connection = Connection::new(port, timeouts);
    // The first AT may meet leftover input; a second one settles it.
    if connection.ok(&Command::Attention).await.is_err() {
        connection.resynchronise().await.map_err(no_answer)?;
        connection
            .ok(&Command::Attention)
            .await
            .map_err(no_answer)?;
    }
    connection.ok(&Command::EchoOff).await.map_err(no_answer)?;
    // Numeric errors only make the answers easier to read; a refusal changes nothing.
    let _ = connection
        .ok(&Command::ReportErrors(ErrorReporting::Numeric))
        .await;
    collect_status(&mut connection).await.map_err(no_answer)
}
