//! Status: the questions behind [`SmsDriver::status`](crate::SmsDriver::status) and
//! `textgate modem probe` (identity, SIM, signal, registration, operator, service centre,
//! storage). A refused question leaves its field empty; only a lost link fails the status.

use textgate_at::command::Command;
use textgate_at::response;
use textgate_at::Response;

use super::{Driver, Stop};
use crate::connection::{CommandFailure, Connection};
use crate::quirks;
use crate::status::ModemStatus;

impl Driver {
    pub(super) async fn status(
        &mut self,
        connection: &mut Connection,
    ) -> Result<ModemStatus, Stop> {
        let mut status = collect_status(connection).await.map_err(Stop::Link)?;
        status.profile = Some(self.profile.name);
        if let Some(storage) = &status.storage {
            self.note_storage(storage.clone()).await;
        }
        Ok(status)
    }
}

/// Asks everything the status shows. A refused question leaves its field empty.
pub(crate) async fn collect_status(
    connection: &mut Connection,
) -> Result<ModemStatus, CommandFailure> {
    async fn ask(
        connection: &mut Connection,
        command: Command,
    ) -> Result<Vec<Response>, CommandFailure> {
        match connection.ok(&command).await {
            Ok(responses) => Ok(responses),
            Err(failure) if failure.is_link_failure() => Err(failure),
            Err(_) => Ok(Vec::new()),
        }
    }
    fn text(responses: &[Response]) -> Option<String> {
        let lines: Vec<String> = responses.iter().map(|r| r.line.clone()).collect();
        response::identity_text(&lines)
    }
    fn first<T, E>(responses: &[Response], parse: impl Fn(&str) -> Result<T, E>) -> Option<T> {
        responses.iter().find_map(|r| parse(&r.line).ok())
    }
    let manufacturer = text(&ask(connection, Command::Manufacturer).await?);
    let model = text(&ask(connection, Command::Model).await?);
    let revision = text(&ask(connection, Command::Revision).await?);
    let imei = text(&ask(connection, Command::SerialNumber).await?);
    let sim = first(
        &ask(connection, Command::PinStatus).await?,
        response::parse_cpin,
    );
    let signal = first(
        &ask(connection, Command::SignalQuality).await?,
        response::parse_csq,
    );
    let registration = first(
        &ask(connection, Command::Registration).await?,
        response::parse_creg,
    );
    let operator = first(
        &ask(connection, Command::Operator).await?,
        response::parse_cops,
    )
    .and_then(|o| o.name);
    let smsc = first(
        &ask(connection, Command::SmscQuery).await?,
        response::parse_csca,
    )
    .and_then(|c| c.number);
    let storage = first(
        &ask(connection, Command::StorageQuery).await?,
        response::parse_cpms,
    )
    .and_then(|u| u.into_iter().last());
    let profile = Some(quirks::detect(manufacturer.as_deref(), model.as_deref()).name);
    Ok(ModemStatus {
        manufacturer,
        model,
        revision,
        imei,
        sim,
        signal,
        registration,
        operator,
        smsc,
        storage,
        profile,
    })
}
