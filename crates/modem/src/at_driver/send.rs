//! Sending: one outgoing message, part by part. Each part is checked before anything is
//! written (a wrong TPDU length is the classic cause of `+CMS ERROR: 304`), then submitted
//! with `AT+CMGS`; several parts go out with the radio link kept open (`AT+CMMS=1`) where
//! the quirk profile allows it. Each accepted part's reference is reported as it arrives,
//! and a stop request is looked at before each part: a part already submitted is always
//! finished, since its outcome must be known or it would be sent again.

use textgate_at::command::{Command, MoreMessages};
use textgate_at::response;
use textgate_at::FinalResult;
use textgate_gsm::pdu::to_hex;

use super::{Driver, Stop};
use crate::connection::{CommandFailure, Connection, Submission};
use crate::driver::{MessageReference, OutgoingSms, SendError, SendFailure, SendProgress};
use crate::quirks::MoreMessagesSupport;

impl Driver {
    /// Sends every part, or the parts up to a stop the caller asked for (a part already
    /// submitted is finished: its outcome must be known, or it would be sent again);
    /// returns the result for the caller and, separately, whether the link failed (which
    /// ends serving after the caller has its answer).
    pub(super) async fn send(
        &mut self,
        connection: &mut Connection,
        message: &OutgoingSms,
        progress: &SendProgress,
    ) -> (Result<Vec<MessageReference>, SendError>, Option<Stop>) {
        let total = message.parts.len();
        if total == 0 {
            return (
                Err(SendError {
                    failure: SendFailure::Empty,
                    accepted: Vec::new(),
                }),
                None,
            );
        }
        for (i, part) in message.parts.iter().enumerate() {
            if let Err(reason) = check_part(&part.pdu, part.tpdu_length) {
                let failure = SendFailure::Invalid {
                    part: i + 1,
                    total,
                    reason,
                };
                return (
                    Err(SendError {
                        failure,
                        accepted: Vec::new(),
                    }),
                    None,
                );
            }
        }
        if progress.stop_requested() {
            return (Err(SendError::stopped(0, total, Vec::new())), None);
        }
        let keep_open = total > 1 && self.profile.more_messages == MoreMessagesSupport::Use;
        if keep_open {
            if let Err(stop) = self
                .best_effort(connection, &Command::MoreMessages(MoreMessages::KeepOpen))
                .await
            {
                let failure = SendFailure::Unavailable(stop.to_string());
                return (
                    Err(SendError {
                        failure,
                        accepted: Vec::new(),
                    }),
                    Some(stop),
                );
            }
        }
        let mut accepted = Vec::new();
        let mut outcome = Ok(());
        for (i, part) in message.parts.iter().enumerate() {
            if progress.stop_requested() {
                outcome = Err((SendFailure::Stopped { sent: i, total }, None));
                break;
            }
            let (part_number, hex) = (i + 1, to_hex(&part.pdu));
            match connection.submit(&hex, part.tpdu_length).await {
                Ok(Submission::Answered(reply)) if reply.result.is_ok() => {
                    let reference = reply
                        .responses
                        .iter()
                        .find_map(|r| response::parse_cmgs(&r.line).ok());
                    match reference {
                        Some(mr) => {
                            // The caller logs the part with its text's ids.
                            tracing::debug!(part = part_number, total, mr, "part accepted");
                            progress.part_accepted(i, MessageReference::tpmr(mr));
                            accepted.push(MessageReference::tpmr(mr));
                        }
                        None => {
                            let answer = reply
                                .responses
                                .first()
                                .map(|r| r.line.clone())
                                .unwrap_or_else(|| "OK without +CMGS".into());
                            outcome = Err((
                                SendFailure::Unexpected {
                                    part: part_number,
                                    total,
                                    answer,
                                },
                                None,
                            ));
                            break;
                        }
                    }
                }
                Ok(Submission::Answered(reply)) => {
                    if let FinalResult::Cms(error) = &reply.result {
                        if error.code == Some(322) {
                            self.sweep_needed = true;
                        }
                    }
                    let failure =
                        SendError::from_result(part_number, total, reply.result, Vec::new())
                            .failure;
                    outcome = Err((failure, None));
                    break;
                }
                Ok(Submission::TimedOut { timeout }) => {
                    let failure = SendFailure::Timeout {
                        part: part_number,
                        total,
                        timeout,
                    };
                    let stop = Stop::Link(CommandFailure::Timeout {
                        command: "AT+CMGS".into(),
                        timeout,
                    });
                    outcome = Err((failure, Some(stop)));
                    break;
                }
                Err(link) => {
                    let failure = SendFailure::LinkLost {
                        part: part_number,
                        total,
                        reason: link.to_string(),
                    };
                    outcome = Err((failure, Some(Stop::Link(link))));
                    break;
                }
            }
        }
        let mut stop = None;
        if let Err((_, link_stop)) = &mut outcome {
            stop = link_stop.take();
        }
        if keep_open && stop.is_none() {
            if let Err(link) = self
                .best_effort(connection, &Command::MoreMessages(MoreMessages::Disabled))
                .await
            {
                stop = Some(link);
            }
        }
        match outcome {
            Ok(()) => (Ok(accepted), stop),
            Err((failure, _)) => (Err(SendError { failure, accepted }), stop),
        }
    }
}

/// Checks that the announced TPDU length matches the PDU: a wrong length is the classic
/// cause of `+CMS ERROR: 304`, and better caught here with a clear reason.
fn check_part(pdu: &[u8], tpdu_length: usize) -> Result<(), String> {
    let Some(&smsc_length) = pdu.first() else {
        return Err("the PDU is empty".into());
    };
    let tpdu_octets = pdu.len().saturating_sub(usize::from(smsc_length) + 1);
    if tpdu_octets != tpdu_length {
        return Err(format!(
            "TPDU length {tpdu_length} announced, but the PDU has {tpdu_octets} octets after its {}-octet SMSC field",
            usize::from(smsc_length) + 1
        ));
    }
    textgate_at::command::send_pdu(tpdu_length)
        .map(drop)
        .map_err(|e| e.to_string())
}
