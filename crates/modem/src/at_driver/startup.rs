//! Start-up: what the driver does on a newly opened device, and again after a soft reset,
//! before it serves anything. It synchronises with the modem, identifies it (choosing the
//! quirk profile when configured to detect it), unlocks the SIM, selects PDU mode, the
//! message service, the storage and the new-message indications, checks the service
//! centre address, and collects what was stored while nobody was listening.
//!
//! A PIN is entered at most once per process unless the SIM accepted it: three wrong PINs
//! lock the SIM, so a PIN whose answer was lost counts as refused.

use std::time::Duration;

use textgate_at::command::{
    CallerId, Command, ErrorReporting, NewMessageIndication, Pin, SmscNumber, StorageSelection,
};
use textgate_at::response::{self, SimState};
use textgate_at::FinalResult;

use super::{required, Driver, Stop};
use crate::connection::{CommandFailure, Connection};
use crate::driver::{ErrorClass, HealthChange};
use crate::quirks::{self, ProfileChoice};
use crate::refusal::cme_class;

/// After synchronising, output is discarded until the modem has been quiet this long...
const QUIET: Duration = Duration::from_millis(200);
/// ...or at most this long, for a modem that never stops talking.
const QUIET_LIMIT: Duration = Duration::from_secs(2);

/// What happened to the SIM PIN in this process. A PIN that was not accepted is never
/// entered again: three wrong PINs lock the SIM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PinHistory {
    NotEntered,
    Accepted,
    NotAccepted,
}

impl Driver {
    pub(super) async fn initialise(&mut self, connection: &mut Connection) -> Result<(), Stop> {
        self.synchronise(connection).await?;
        connection.ok(&Command::EchoOff).await.map_err(required)?;
        self.best_effort(connection, &Command::ReportErrors(ErrorReporting::Numeric))
            .await?;
        let manufacturer = self
            .identity_line(connection, &Command::Manufacturer)
            .await?;
        let model = self.identity_line(connection, &Command::Model).await?;
        if self.config.profile == ProfileChoice::Detect {
            self.profile = quirks::detect(manufacturer.as_deref(), model.as_deref());
        }
        tracing::info!(
            manufacturer = manufacturer.as_deref().unwrap_or("unknown"),
            model = model.as_deref().unwrap_or("unknown"),
            profile = self.profile.name,
            "modem identified"
        );
        self.unlock_sim(connection).await?;
        self.patiently(connection, &Command::PduMode)
            .await
            .map_err(required)?;
        self.routing_supported = match self
            .patiently(connection, &Command::SelectMessageService(1))
            .await
        {
            Ok(_) => true,
            Err(failure) if failure.is_link_failure() => return Err(Stop::Link(failure)),
            Err(failure) => {
                tracing::warn!(error = %failure, "no phase 2+ message service; using stored notifications only");
                false
            }
        };
        let storage = self.profile.storage.to_owned();
        let selection = StorageSelection {
            read_delete: storage.clone(),
            write_send: storage.clone(),
            receive: storage,
        };
        let responses = self
            .patiently(connection, &Command::SelectStorage(selection))
            .await
            .map_err(required)?;
        if let Some(usage) = responses
            .first()
            .and_then(|r| response::parse_cpms(&r.line).ok())
        {
            // The last pair is the receive storage.
            if let Some(receive) = usage.into_iter().last() {
                self.note_storage(receive).await;
            }
        }
        self.select_indications(connection).await?;
        self.check_service_centre(connection).await?;
        for extra in self.profile.init_extras {
            self.best_effort(connection, &Command::Raw((*extra).to_owned()))
                .await?;
        }
        self.best_effort(connection, &Command::CallerIdPresentation(CallerId::Shown))
            .await?;
        self.delete_pending(connection).await?;
        self.sweep(connection).await?;
        self.health(HealthChange::Ready {
            profile: self.profile.name,
        })
        .await;
        Ok(())
    }

    /// `AT` until the modem answers `OK` (the first attempts may meet leftover input).
    async fn synchronise(&mut self, connection: &mut Connection) -> Result<(), Stop> {
        let mut last = None;
        for _ in 0..3 {
            match connection.ok(&Command::Attention).await {
                Ok(_) => {
                    // A late answer to a command that timed out may still be on its way;
                    // taken for the next command's answer it would pair every later
                    // command with the previous one's result.
                    connection
                        .discard_until_quiet(QUIET, QUIET_LIMIT)
                        .await
                        .map_err(Stop::Link)?;
                    return Ok(());
                }
                Err(failure @ (CommandFailure::Closed | CommandFailure::Io(_))) => {
                    return Err(Stop::Link(failure))
                }
                Err(failure) => {
                    tracing::debug!(error = %failure, "modem not in sync yet");
                    connection.resynchronise().await.map_err(Stop::Link)?;
                    last = Some(failure);
                }
            }
        }
        Err(Stop::Link(last.unwrap_or(CommandFailure::Closed)))
    }

    async fn identity_line(
        &mut self,
        connection: &mut Connection,
        command: &Command,
    ) -> Result<Option<String>, Stop> {
        Ok(self.optional(connection, command).await?.and_then(|lines| {
            let lines: Vec<String> = lines.into_iter().map(|r| r.line).collect();
            response::identity_text(&lines)
        }))
    }

    async fn unlock_sim(&mut self, connection: &mut Connection) -> Result<(), Stop> {
        let state = self.sim_state(connection).await?;
        let needs_operator = |reason: String| Err(Stop::NeedsOperator(reason));
        match state {
            SimState::Ready => Ok(()),
            SimState::PukRequired => needs_operator(
                "the SIM is blocked and asks for its PUK; unblock it in a phone, then restart"
                    .into(),
            ),
            SimState::Other(code) => needs_operator(format!(
                "the SIM asks for {code}; textgate only enters a SIM PIN"
            )),
            SimState::PinRequired => {
                let Some(configured) = self.config.pin.clone() else {
                    return needs_operator(
                        "the SIM asks for its PIN and none is configured".into(),
                    );
                };
                if self.pin == PinHistory::NotAccepted {
                    return needs_operator("the SIM asks for its PIN again, but it did not accept it before; not retrying".into());
                }
                let pin = match Pin::new(&configured) {
                    Ok(pin) => pin,
                    Err(error) => {
                        return needs_operator(format!("the configured PIN is unusable: {error}"))
                    }
                };
                // Counted as refused until the modem says OK: a PIN whose answer was lost
                // may have been counted by the SIM.
                self.pin = PinHistory::NotAccepted;
                match connection.run(&Command::EnterPin(pin)).await {
                    Ok(reply) if reply.result.is_ok() => {
                        self.pin = PinHistory::Accepted;
                        tracing::info!("SIM PIN accepted");
                    }
                    Ok(reply) => {
                        return needs_operator(format!(
                            "the SIM refused the configured PIN ({}); not trying again, as three wrong PINs lock the SIM",
                            reply.result
                        ))
                    }
                    Err(failure) => {
                        return needs_operator(format!(
                            "no answer after entering the PIN ({failure}); not entering it again, as three wrong PINs lock the SIM"
                        ));
                    }
                }
                // The SIM is busy for a moment after unlocking.
                match self.sim_state(connection).await? {
                    SimState::Ready => Ok(()),
                    other => needs_operator(format!("the SIM accepted the PIN but is {other}")),
                }
            }
        }
    }

    async fn sim_state(&mut self, connection: &mut Connection) -> Result<SimState, Stop> {
        let responses = match self.patiently(connection, &Command::PinStatus).await {
            Ok(responses) => responses,
            // A definite SIM condition (not inserted, PIN, PUK, wrong SIM) needs a person.
            Err(CommandFailure::Rejected {
                command,
                result: FinalResult::Cme(error),
            }) if cme_class(&error) == ErrorClass::NeedsOperator => {
                let failure = CommandFailure::Rejected {
                    command,
                    result: FinalResult::Cme(error),
                };
                return Err(Stop::NeedsOperator(format!(
                    "the SIM cannot be used: {failure}"
                )));
            }
            // Anything vaguer (a bare ERROR, a SIM failure) may pass: reopen and ask again.
            Err(failure) => return Err(Stop::Link(failure)),
        };
        let line = responses.first().map(|r| r.line.as_str()).unwrap_or("");
        response::parse_cpin(line).map_err(|e| Stop::Link(CommandFailure::Parse(e)))
    }

    async fn select_indications(&mut self, connection: &mut Connection) -> Result<(), Stop> {
        let mut indication = self
            .config
            .indication
            .clone()
            .unwrap_or_else(|| self.profile.indication.clone());
        if indication.mt == 2 && !self.routing_supported {
            indication = NewMessageIndication::STORE_AND_NOTIFY;
        }
        let fallback = NewMessageIndication {
            ds: 0,
            ..NewMessageIndication::STORE_AND_NOTIFY
        };
        for candidate in [indication, fallback] {
            match connection
                .run(&Command::NewMessageIndication(candidate.clone()))
                .await
            {
                Ok(reply) if reply.result.is_ok() => return Ok(()),
                Ok(reply) => {
                    tracing::warn!(result = %reply.result, "new message indication refused")
                }
                Err(failure) => return Err(required(failure)),
            }
        }
        tracing::warn!("no new message indications; relying on the periodic storage check");
        Ok(())
    }

    async fn check_service_centre(&mut self, connection: &mut Connection) -> Result<(), Stop> {
        let current = self
            .optional(connection, &Command::SmscQuery)
            .await?
            .and_then(|r| r.first().and_then(|r| response::parse_csca(&r.line).ok()))
            .and_then(|centre| centre.number);
        if current.is_some() {
            return Ok(());
        }
        let configured = self.config.smsc.as_deref().map(SmscNumber::new);
        match configured {
            Some(Ok(number)) => {
                tracing::warn!(
                    smsc = number.as_str(),
                    "SIM has no SMSC address; setting the configured one"
                );
                if self
                    .best_effort(connection, &Command::SetSmsc(number))
                    .await?
                {
                    return Ok(());
                }
            }
            Some(Err(error)) => {
                tracing::error!(%error, "the configured SMSC is unusable")
            }
            None => {}
        }
        self.health(HealthChange::NoServiceCentre).await;
        Ok(())
    }
}
