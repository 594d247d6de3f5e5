//! One send: wait for the phone, pace, hand the text over under our id, and wait until
//! the phone says it went to the network (by webhook, or by looking its state up when
//! the webhook is late).
//!
//! The at-most-once point is the id. Every attempt at one text posts the same id (the
//! outbox's key for it), so a retry after a lost answer or a timeout meets `409 Conflict`
//! and looks the earlier message up instead of sending again. Only when the phone says
//! the earlier message failed for good is the text posted again, under the next id
//! (`…~2`, `…~3`).
//!
//! The app takes a whole text and splits it itself, so the parts are not sent one by one:
//! every part is reported accepted once the phone says the message was sent, all under
//! the message's id (one delivery receipt then settles all of them).

use std::sync::Arc;

use textgate_android::{
    ClientId, DeliveryReport, MessageState, ProcessingState, SendRequest, SendStatusClass, Ttl,
    E164,
};
use textgate_modem::{
    ErrorClass, MessageReference, OutgoingSms, PlainCause, Refusal, RefusedBy, SendError,
    SendFailure, SendProgress,
};

use crate::client::{Answer, RequestFailure};
use crate::liveness::PhoneState;
use crate::tracker::Phase;
use crate::Shared;

/// How many ids one text may use up (each after the phone failed the one before).
const MAX_IDS: u32 = 8;

/// Sends one text through the phone.
pub async fn send(
    shared: &Arc<Shared>,
    message: OutgoingSms,
    mut progress: SendProgress,
) -> Result<Vec<MessageReference>, SendError> {
    let total = message.parts.len();
    if total == 0 {
        return Err(failure(SendFailure::Empty));
    }
    let recipient = E164::new(&message.recipient).map_err(|e| {
        failure(SendFailure::Invalid {
            part: 1,
            total,
            reason: format!("the Android app sends only to numbers in international form: {e}"),
        })
    })?;
    let key = message.key.clone().unwrap_or_else(random_key);
    for round in 1..=MAX_IDS {
        let id = message_id(&key, round)?;
        // The phone must be there: while it is gone the reply waits here (its lease
        // renewed by the outbox) instead of using up its attempts.
        tokio::select! {
            present = present(shared) => present?,
            () = progress.stopped() => return Err(SendError::stopped(0, total, Vec::new())),
        }
        let phase = shared.tracker.wait_on(id.as_str());
        let outcome = hand_over(shared, &id, &recipient, &message, &mut progress).await;
        let result = match outcome {
            Ok(HandOver::Taken) | Ok(HandOver::TakenBefore) => {
                wait_until_sent(shared, &id, phase, total, &mut progress).await
            }
            Ok(HandOver::FailedBefore(reason)) => {
                tracing::info!(id = %id, %reason, "the phone failed this text before; sending it under a new id");
                shared.tracker.done_waiting(id.as_str());
                continue;
            }
            Err(error) => Err(error),
        };
        shared.tracker.done_waiting(id.as_str());
        if result.is_ok() && shared.config.delivery_reports {
            shared.tracker.sent(id.as_str(), recipient.as_str());
        }
        return result.map(|()| {
            let reference = MessageReference::from_stored(id.as_str());
            for index in 0..total {
                progress.part_accepted(index, reference.clone());
            }
            vec![reference; total]
        });
    }
    Err(failure(SendFailure::Refused {
        part: 1,
        total,
        refusal: Refusal {
            by: RefusedBy::Device,
            code: None,
            reason: format!("the phone failed this text {MAX_IDS} times"),
            class: ErrorClass::Final,
            plain: Some(
                PlainCause::new("The gateway's Android phone failed to send the text every time")
                    .advise(CHECK_PHONE),
            ),
        },
    }))
}

/// What became of posting the text.
enum HandOver {
    /// The phone queued it now.
    Taken,
    /// An earlier attempt's message with this id is there and not failed.
    TakenBefore,
    /// An earlier attempt's message with this id failed for good.
    FailedBefore(String),
}

async fn hand_over(
    shared: &Arc<Shared>,
    id: &ClientId,
    recipient: &E164,
    message: &OutgoingSms,
    progress: &mut SendProgress,
) -> Result<HandOver, SendError> {
    let config = &shared.config;
    let total = message.parts.len();
    let mut request = SendRequest::builder(id.clone(), recipient.clone(), message.text.clone())
        .delivery_report(if config.delivery_reports {
            DeliveryReport::Requested
        } else {
            DeliveryReport::NotRequested
        })
        .ttl(Ttl::from_secs(config.ttl.as_secs().max(Ttl::MIN_SECS)).map_err(invalid(total))?);
    if let Some(sim) = config.sim {
        request = request.sim(sim);
    }
    if let Some(device) = &config.device_id {
        request = request.device_id(device);
    }
    let request = request.build().map_err(invalid(total))?;
    tokio::select! {
        () = shared.pacer.admit(total) => {}
        () = progress.stopped() => return Err(SendError::stopped(0, total, Vec::new())),
    }
    let answer = match shared
        .client
        .post(&config.mode.messages_path(), request.body())
        .await
    {
        Ok(answer) => answer,
        Err(e) => {
            shared.pacer.refund(total).await;
            return Err(unreachable(shared, e));
        }
    };
    shared.heard_answer();
    match SendStatusClass::of(answer.status) {
        SendStatusClass::Accepted => {
            if let Ok(state) = MessageState::parse(&answer.body) {
                shared.observe_state(&state);
            }
            tracing::info!(id = %id, parts = total, "the phone took the text");
            Ok(HandOver::Taken)
        }
        SendStatusClass::DuplicateId => {
            shared.pacer.refund(total).await;
            match look_up(shared, id).await? {
                Some(Phase::Failed(reason)) => Ok(HandOver::FailedBefore(reason)),
                _ => {
                    tracing::info!(id = %id, "the phone has this text from an earlier attempt; not sent again");
                    Ok(HandOver::TakenBefore)
                }
            }
        }
        class => {
            shared.pacer.refund(total).await;
            Err(refused(class, &answer, total))
        }
    }
}

/// Waits for the phone to say the text went to the network, asking it when no webhook
/// came within the poll interval.
async fn wait_until_sent(
    shared: &Arc<Shared>,
    id: &ClientId,
    mut phase: tokio::sync::watch::Receiver<Phase>,
    total: usize,
    progress: &mut SendProgress,
) -> Result<(), SendError> {
    let config = &shared.config;
    let deadline = tokio::time::Instant::now() + config.send_timeout;
    loop {
        let settled = phase.borrow_and_update().clone();
        match settled {
            Phase::Sent | Phase::Delivered => return Ok(()),
            Phase::Failed(reason) => {
                shared.tracker.settle(id.as_str());
                return Err(failure(SendFailure::Refused {
                    part: 1,
                    total,
                    refusal: phone_refusal(&reason),
                }));
            }
            Phase::Waiting => {}
        }
        let poll_at = tokio::time::Instant::now() + config.poll_interval;
        tokio::select! {
            changed = phase.changed() => {
                if changed.is_err() {
                    return Err(failure(SendFailure::Unavailable("the driver stopped".into())));
                }
            }
            () = tokio::time::sleep_until(poll_at.min(deadline)) => {
                if tokio::time::Instant::now() >= deadline {
                    // Still queued on the phone: the outbox tries later, and that try
                    // finds this message by its id instead of sending it again.
                    return Err(failure(SendFailure::Unavailable(format!(
                        "the phone took the text but has not sent it within {} s; it is still queued there",
                        config.send_timeout.as_secs()
                    ))));
                }
                if let Err(e) = look_up(shared, id).await {
                    tracing::debug!(id = %id, error = %e, "cannot look the text up yet");
                }
            }
            () = progress.stopped() => {
                // Stopping: the phone still has it; the next attempt finds it by its id.
                return Err(SendError::stopped(0, total, Vec::new()));
            }
        }
    }
}

/// Asks the phone for a message's state and records what it says.
pub async fn look_up(shared: &Arc<Shared>, id: &ClientId) -> Result<Option<Phase>, SendError> {
    let answer = shared
        .client
        .get(&shared.config.mode.message_path(id))
        .await
        .map_err(|e| unreachable(shared, e))?;
    shared.heard_answer();
    if answer.status == 404 {
        return Ok(None);
    }
    if !(200..300).contains(&answer.status) {
        return Err(refused(SendStatusClass::of(answer.status), &answer, 1));
    }
    let state = MessageState::parse(&answer.body).map_err(|e| {
        failure(SendFailure::Unexpected {
            part: 1,
            total: 1,
            answer: format!("an unreadable message state: {e}"),
        })
    })?;
    Ok(Some(shared.observe_state(&state)))
}

/// The phase a message state stands for.
pub fn phase_of(state: &MessageState) -> Phase {
    match &state.state {
        ProcessingState::Sent => Phase::Sent,
        ProcessingState::Delivered => Phase::Delivered,
        ProcessingState::Failed | ProcessingState::Cancelled => Phase::Failed(
            state
                .recipients
                .iter()
                .find_map(|r| r.error.clone())
                .unwrap_or_else(|| format!("{:?}", state.state)),
        ),
        _ => Phase::Waiting,
    }
}

/// Waits until the phone is present; fails at once when it refused our credentials.
async fn present(shared: &Arc<Shared>) -> Result<(), SendError> {
    let mut state = shared.liveness.watch();
    loop {
        let current = state.borrow_and_update().clone();
        match current {
            PhoneState::Present => return Ok(()),
            PhoneState::Refused(reason) => {
                return Err(failure(SendFailure::Refused {
                    part: 1,
                    total: 1,
                    refusal: Refusal {
                        by: RefusedBy::Device,
                        code: None,
                        reason,
                        class: ErrorClass::NeedsOperator,
                        plain: Some(REFUSES_REQUESTS),
                    },
                }));
            }
            PhoneState::Unknown | PhoneState::Gone(_) => {}
        }
        if state.changed().await.is_err() {
            return Err(failure(SendFailure::Unavailable(
                "the driver stopped".into(),
            )));
        }
    }
}

/// The id of the text's `round`th message on the phone.
fn message_id(key: &str, round: u32) -> Result<ClientId, SendError> {
    let id = if round == 1 {
        key.to_owned()
    } else {
        format!("{key}~{round}")
    };
    // The key is the outbox's (`tg{id}-{millis}`); ids are limited to 36 characters.
    let id: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    ClientId::new(&id).map_err(|e| {
        failure(SendFailure::Invalid {
            part: 1,
            total: 1,
            reason: format!("no message id for the phone: {e}"),
        })
    })
}

/// A key for a text the outbox gave none (a test, `textgate send` through a driver).
fn random_key() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("tgx{nanos:x}")
}

fn failure(failure: SendFailure) -> SendError {
    SendError {
        failure,
        accepted: Vec::new(),
    }
}

fn invalid<E: std::fmt::Display>(total: usize) -> impl Fn(E) -> SendError {
    move |e| {
        failure(SendFailure::Invalid {
            part: 1,
            total,
            reason: e.to_string(),
        })
    }
}

/// No answer: the phone is gone (the liveness is told, so other sends wait for it). A
/// request that may have arrived is still safe to repeat: it carries the same id.
fn unreachable(shared: &Shared, error: RequestFailure) -> SendError {
    if matches!(
        error,
        RequestFailure::Unreachable(_) | RequestFailure::NoAnswer { .. }
    ) {
        shared.liveness.lost(PhoneState::Gone(format!(
            "the phone does not answer: {error}"
        )));
    }
    failure(SendFailure::Unavailable(format!(
        "the phone does not answer: {error}"
    )))
}

/// A refusal by HTTP status, in words a librarian can act on.
fn refused(class: SendStatusClass, answer: &Answer, total: usize) -> SendError {
    let said = textgate_android::error_message(&answer.body)
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    let status = answer.status;
    let (reason, class, plain) = match class {
        SendStatusClass::Rejected => (
            format!("the phone refused the text (HTTP {status}{said})"),
            ErrorClass::Final,
            REFUSED_REQUEST,
        ),
        SendStatusClass::Unauthorized => (
            format!("the phone refused textgate's username and password (HTTP {status}{said}); check [gateway.driver]"),
            ErrorClass::NeedsOperator,
            REFUSED_LOGIN,
        ),
        SendStatusClass::QueueFull => (
            format!("the phone's queue is full (HTTP {status}{said}); retried later"),
            ErrorClass::Retryable,
            PlainCause::new("The queue of texts for the gateway's Android phone is full"),
        ),
        SendStatusClass::RetryLater => (
            format!("the phone is busy (HTTP {status}{said}); retried later"),
            ErrorClass::Retryable,
            PlainCause::new("The gateway's Android phone is busy"),
        ),
        SendStatusClass::Accepted | SendStatusClass::DuplicateId | SendStatusClass::Unexpected => (
            format!("the phone answered HTTP {status}{said}"),
            ErrorClass::Retryable,
            UNEXPECTED_ANSWER,
        ),
    };
    failure(SendFailure::Refused {
        part: 1,
        total,
        refusal: Refusal {
            by: RefusedBy::Device,
            code: Some(status),
            reason,
            class,
            plain: Some(plain),
        },
    })
}

/// The phone's reason for failing a text, as a refusal: the radio's transient errors and
/// an expired TTL are worth another try; Android's refusals of the request are not.
pub fn phone_refusal(reason: &str) -> Refusal {
    let permanent = [
        "RESULT_ERROR_NULL_PDU",
        "RESULT_INVALID_ARGUMENTS",
        "RESULT_INVALID_SMS_FORMAT",
    ];
    let class = if permanent.iter().any(|p| reason.contains(p)) {
        ErrorClass::Final
    } else {
        ErrorClass::Retryable
    };
    Refusal {
        by: RefusedBy::Network,
        code: None,
        reason: format!("the phone could not send it: {reason}"),
        class,
        plain: Some(phone_cause(reason)),
    }
}

const CHECK_PHONE: &str = "ask your administrator to check the gateway's Android phone";
/// Registering webhooks was refused: the phone's login, or a webhook address it cannot take.
const REFUSES_REQUESTS: PlainCause =
    PlainCause::new("The gateway's Android phone refuses textgate's requests").advise(
        "ask your administrator to check the phone's settings in the gateway (username, \
         password, webhook address)",
    );
/// A `400` is about the request as a whole: the number, the text or its options.
const REFUSED_REQUEST: PlainCause =
    PlainCause::new("The gateway's Android phone refused the request to send the text")
        .advise("check the number; if it is right, ask your administrator");
const REFUSED_LOGIN: PlainCause =
    PlainCause::new("The gateway's Android phone refused textgate's username and password")
        .advise("ask your administrator to check them in the gateway's settings");
const UNEXPECTED_ANSWER: PlainCause =
    PlainCause::new("The gateway's Android phone gave an unexpected answer").advise(CHECK_PHONE);
const UNSENDABLE: PlainCause =
    PlainCause::new("Android on the gateway's phone could not make an SMS of this text")
        .advise("check the number and the text; if they look right, ask your administrator");

/// The phone's words for a failed send and what they mean to a librarian. The app passes
/// Android's send result on by name (`RESULT_ERROR_RADIO_OFF`, `SmsManager` in the Android
/// API reference) or says `TTL expired`; a name is looked for within its words.
const PHONE_CAUSES: &[(&str, PlainCause)] = &[
    (
        "TTL expired",
        PlainCause::new("The text waited on the gateway's Android phone until it expired, unsent")
            .advise(CHECK_PHONE),
    ),
    (
        "RESULT_ERROR_RADIO_OFF",
        PlainCause::new("The gateway's Android phone has its mobile radio switched off").advise(
            "ask your administrator to switch the phone's mobile radio on (airplane mode off)",
        ),
    ),
    // RESULT_RADIO_NOT_AVAILABLE and RESULT_RIL_RADIO_NOT_AVAILABLE: "the radio did not
    // start or is resetting".
    (
        "RADIO_NOT_AVAILABLE",
        PlainCause::new("The mobile radio of the gateway's Android phone is not available")
            .advise(CHECK_PHONE),
    ),
    (
        "RESULT_ERROR_NO_SERVICE",
        PlainCause::new("The gateway's Android phone has no mobile service")
            .advise("ask your administrator to check the phone's signal"),
    ),
    (
        "RESULT_NETWORK_REJECT",
        PlainCause::new("The phone network refused the text from the gateway's Android phone")
            .advise("check the number; if it is right, ask your administrator"),
    ),
    // Android's own limit on texts an app may send in a while.
    (
        "RESULT_ERROR_LIMIT_EXCEEDED",
        PlainCause::new(
            "Android on the gateway's phone held the text back: too many texts in a short time",
        )
        .advise(
            "ask your administrator to raise the phone's SMS limit or lower the gateway's \
             sending rate",
        ),
    ),
    // RESULT_ERROR_SHORT_CODE_NOT_ALLOWED and …_NEVER_ALLOWED: premium short codes.
    (
        "RESULT_ERROR_SHORT_CODE_",
        PlainCause::new("Android on the gateway's phone does not allow texts to this short code")
            .advise("ask your administrator to allow texts to short codes on the phone"),
    ),
    (
        "RESULT_ERROR_FDN_CHECK_FAILURE",
        PlainCause::new(
            "The gateway's Android phone allows texts only to its fixed dialling numbers, and \
             this is not one",
        )
        .advise("ask your administrator to add the number or turn fixed dialling off"),
    ),
    (
        "RESULT_INVALID_SMSC_ADDRESS",
        PlainCause::new("The gateway's Android phone has no valid SMS centre number")
            .advise("ask your administrator to check the phone's SMS centre number"),
    ),
    // The request itself: no PDU, bad arguments, an SMS Android cannot encode.
    ("RESULT_ERROR_NULL_PDU", UNSENDABLE),
    ("RESULT_INVALID_ARGUMENTS", UNSENDABLE),
    ("RESULT_INVALID_SMS_FORMAT", UNSENDABLE),
    (
        "RESULT_ERROR_GENERIC_FAILURE",
        PlainCause::new("The gateway's Android phone could not send the text and did not say why"),
    ),
];

/// The phone's failure in plain words; one it does not name says only that the phone
/// could not send it (never that the network refused).
fn phone_cause(reason: &str) -> PlainCause {
    PHONE_CAUSES
        .iter()
        .find(|(name, _)| reason.contains(name))
        .map(|(_, cause)| *cause)
        .unwrap_or(PlainCause::new(
            "The gateway's Android phone could not send the text",
        ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use textgate_modem::Outlook;

    fn summary(refusal: Refusal, outlook: Outlook) -> String {
        SendError {
            failure: SendFailure::Refused {
                part: 1,
                total: 1,
                refusal,
            },
            accepted: Vec::new(),
        }
        .in_plain_words(outlook)
        .summary()
    }

    #[test]
    fn the_phones_failures_in_plain_words() {
        let gave_up = Outlook::GaveUp { attempts: 3 };
        assert_eq!(
            summary(
                phone_refusal("Send result: RESULT_ERROR_RADIO_OFF (Radio off)"),
                gave_up
            ),
            "The gateway's Android phone has its mobile radio switched off; textgate gave up \
             after 3 attempts; send it again later; if this keeps happening, ask your \
             administrator to switch the phone's mobile radio on (airplane mode off)."
        );
        assert_eq!(
            summary(phone_refusal("RESULT_INVALID_SMS_FORMAT"), gave_up),
            "Android on the gateway's phone could not make an SMS of this text; check the \
             number and the text; if they look right, ask your administrator."
        );
        assert_eq!(
            summary(phone_refusal("Unknown"), Outlook::Retrying),
            "The gateway's Android phone could not send the text; textgate will try again."
        );
        assert_eq!(
            phone_cause("RESULT_ERROR_SHORT_CODE_NEVER_ALLOWED").what,
            "Android on the gateway's phone does not allow texts to this short code"
        );
    }

    #[test]
    fn http_refusals_in_plain_words() {
        let answer = |status| Answer {
            status,
            body: bytes::Bytes::new(),
        };
        let words = |status| {
            let error = refused(SendStatusClass::of(status), &answer(status), 1);
            error.in_plain_words(Outlook::Retrying).summary()
        };
        assert_eq!(
            words(401),
            "The gateway's Android phone refused textgate's username and password; ask your \
             administrator to check them in the gateway's settings; textgate keeps the text and \
             tries again meanwhile."
        );
        assert_eq!(
            words(503),
            "The queue of texts for the gateway's Android phone is full; textgate will try again."
        );
        assert_eq!(
            words(400),
            "The gateway's Android phone refused the request to send the text; check the \
             number; if it is right, ask your administrator."
        );
    }
}
