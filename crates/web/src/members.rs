//! A member's own registration: Save, Save and Test, Remove, the confirmation code, and
//! STOP / START / HELP from phones. Shared by the pages and the JSON API; every function
//! takes the account it acts for, already authorised by the caller.

use chrono::{DateTime, Utc};
use rand::rngs::OsRng;
use textgate_alerts::cipher::{FieldContext, FieldPurpose};
use textgate_alerts::confirmation::{self, PendingConfirmation, VerifyOutcome};
use textgate_alerts::{
    on_keyword, EncryptedField, Keyword, MemberNumber, ReviewStatus, SubscriptionState,
    TestRateLimiter,
};
use textgate_store::{NewOutbound, OutboundOrigin, Priority};

use crate::db::{Account, NewSend, Registration, SendKind, TestLogRow};
use crate::state::{WebError, WebState};

/// Which button the member pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberAction {
    Save,
    SaveAndTest,
    Remove,
}

impl MemberAction {
    pub fn parse(s: &str) -> Option<MemberAction> {
        match s {
            "save" => Some(MemberAction::Save),
            "save-and-test" => Some(MemberAction::SaveAndTest),
            "remove" => Some(MemberAction::Remove),
            _ => None,
        }
    }
}

/// What the member sees about their saved registration.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SavedView {
    pub masked: String,
    pub state: &'static str,
    pub state_text: &'static str,
    pub awaiting: bool,
    pub carrier: Option<String>,
    pub last_updated: String,
    pub last_tested: Option<String>,
    pub review_due: bool,
}

pub(crate) fn state_name(state: SubscriptionState) -> &'static str {
    match state {
        SubscriptionState::AwaitingConfirmation => "awaiting-confirmation",
        SubscriptionState::Active => "active",
        SubscriptionState::OptedOut => "opted-out",
    }
}

fn parse_state(s: &str) -> Result<SubscriptionState, WebError> {
    match s {
        "awaiting-confirmation" => Ok(SubscriptionState::AwaitingConfirmation),
        "active" => Ok(SubscriptionState::Active),
        "opted-out" => Ok(SubscriptionState::OptedOut),
        other => Err(WebError::Internal(format!(
            "registration has unknown state {other:?}"
        ))),
    }
}

pub(crate) fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn user_error(message: impl Into<String>) -> WebError {
    WebError::BadRequest(message.into())
}

fn member_context(account: &Account) -> FieldContext {
    FieldContext::new(FieldPurpose::MemberNumber, account.id.to_string())
}

/// Opens the member's stored number.
fn decrypt_number(
    state: &WebState,
    account: &Account,
    reg: &Registration,
) -> Result<String, WebError> {
    let field: EncryptedField = reg.number_enc.parse().map_err(|e| {
        tracing::error!(account = account.id, error = %e, "stored alert number is damaged");
        user_error("We could not read your saved number; please enter it again.")
    })?;
    state
        .settings
        .cipher
        .decrypt(&field, &member_context(account))
        .map_err(|e| {
            tracing::error!(account = account.id, error = %e, "stored alert number does not open");
            user_error("We could not read your saved number; please enter it again.")
        })
}

/// The member's saved registration as shown on the page.
pub async fn saved_view(
    state: &WebState,
    account: &Account,
) -> Result<Option<SavedView>, WebError> {
    let Some(reg) = state.db.registration(account.id).await? else {
        return Ok(None);
    };
    let masked = match decrypt_number(state, account, &reg) {
        Ok(number) => textgate_alerts::mask(&number),
        Err(_) => "(unreadable, please enter it again)".to_string(),
    };
    let sub = parse_state(&reg.state)?;
    let review_due = matches!(
        state.settings.review.status(reg.last_updated, state.now()),
        ReviewStatus::Due { .. }
    );
    Ok(Some(SavedView {
        masked,
        state: state_name(sub),
        state_text: match sub {
            SubscriptionState::AwaitingConfirmation => "waiting for the confirmation code",
            SubscriptionState::Active => "confirmed: you receive alerts",
            SubscriptionState::OptedOut => "stopped by a STOP reply: text START to resume",
        },
        awaiting: sub == SubscriptionState::AwaitingConfirmation,
        carrier: reg.carrier.clone(),
        last_updated: format_time(reg.last_updated),
        last_tested: reg.last_tested.map(format_time),
        review_due,
    }))
}

async fn enqueue_single(
    state: &WebState,
    kind: SendKind,
    account: Option<&Account>,
    recipient: &str,
    body: &str,
) -> Result<(i64, String), WebError> {
    let gateway = state
        .settings
        .primary_gateway()
        .ok_or_else(|| {
            user_error("No gateway is configured to send texts; ask the administrators.")
        })?
        .to_string();
    let now = state.now();
    let id = state
        .db
        .insert_send(&NewSend {
            kind,
            account_id: account.map(|a| a.id),
            account_email: account.map(|a| a.email.as_str()).unwrap_or("(phone)"),
            body: if kind == SendKind::Confirmation {
                "(confirmation code)"
            } else {
                body
            },
            recipients: 1,
            estimated_seconds: 0,
            confirmed_at: now,
            yearly_test: None,
        })
        .await?;
    state
        .store
        .enqueue_outbound(&NewOutbound {
            gateway: gateway.clone(),
            recipient: recipient.to_string(),
            origin: OutboundOrigin::Campaign { campaign_id: id },
            body: body.to_string(),
            priority: Priority::ALERT,
            not_before: None,
        })
        .await?;
    state.db.mark_send_enqueued(id, 1, now).await?;
    Ok((id, gateway))
}

/// Save (and optionally test) the member's number; returns the message for the page.
pub async fn save(
    state: &WebState,
    account: &Account,
    ip: &str,
    typed_number: &str,
    carrier: Option<&str>,
    action: MemberAction,
) -> Result<String, WebError> {
    let now = state.now();
    let settings = &state.settings;
    let carrier = match carrier.map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(id) => match settings.carriers.get(id) {
            Some(c) => Some(c.id.clone()),
            None => return Err(user_error("Please choose a carrier from the list.")),
        },
    };
    let existing = state.db.registration(account.id).await?;
    let typed_number = typed_number.trim();
    let mut messages = Vec::new();
    let mut reg = if typed_number.is_empty() {
        let Some(mut reg) = existing.clone() else {
            return Err(user_error("Please enter your mobile number."));
        };
        reg.carrier = carrier.clone();
        reg.last_updated = now;
        messages.push("Your details have been saved.".to_string());
        reg
    } else {
        let number = MemberNumber::parse(typed_number, settings.region)
            .map_err(|e| user_error(format!("{e}.")))?;
        let index = settings.blind_index.index(&number).to_string();
        if let Some(other) = state.db.registration_by_index(&index).await? {
            if other.account_id != account.id {
                return Err(user_error(
                    "This number cannot be registered to your account. If it is yours, contact the alert administrators.",
                ));
            }
        }
        match existing.clone() {
            Some(mut reg) if reg.number_index == index => {
                reg.carrier = carrier.clone();
                reg.last_updated = now;
                messages.push("Your details have been saved.".to_string());
                reg
            }
            _ => {
                let enc = settings
                    .cipher
                    .encrypt(number.as_str(), &member_context(account), &mut OsRng)
                    .map_err(|e| WebError::Internal(format!("cannot encrypt a number: {e}")))?;
                let opted_out = state.db.is_opted_out(&index).await?;
                let mut reg = Registration {
                    account_id: account.id,
                    number_enc: enc.to_string(),
                    number_index: index,
                    carrier: carrier.clone(),
                    state: state_name(SubscriptionState::AwaitingConfirmation).to_string(),
                    confirmation: None,
                    last_updated: now,
                    last_tested: None,
                };
                if opted_out {
                    reg.state = state_name(SubscriptionState::OptedOut).to_string();
                    messages.push(format!(
                        "Saved. {} replied STOP earlier, so we send it nothing: text START to our number to receive alerts.",
                        number.masked()
                    ));
                } else {
                    // A code is a text to a number the member typed: the same limits as a
                    // test, so the form cannot be used to bombard someone with codes.
                    let history = state
                        .db
                        .send_times(
                            account.id,
                            SendKind::Confirmation,
                            now - chrono::TimeDelta::days(2),
                        )
                        .await?;
                    TestRateLimiter::from_history(settings.test_rate.clone(), history)
                        .check(now)
                        .map_err(|limited| {
                            user_error(format!(
                                "Not saved: we have sent too many confirmation codes (at most {} in {} minutes). Try again after {}.",
                                limited.max,
                                limited.window_minutes,
                                format_time(limited.retry_after)
                            ))
                        })?;
                    let (code, pending) = confirmation::issue(
                        &settings.confirmation_key,
                        &settings.confirmation_policy,
                        &number,
                        now,
                        &mut OsRng,
                    );
                    reg.confirmation = Some(
                        serde_json::to_string(&pending)
                            .map_err(|e| WebError::Internal(e.to_string()))?,
                    );
                    let minutes = settings.confirmation_policy.lifetime.num_minutes();
                    let text = settings.replies.confirmation_text(code.as_str(), minutes);
                    state.db.save_registration(&reg).await?;
                    enqueue_single(
                        state,
                        SendKind::Confirmation,
                        Some(account),
                        number.as_str(),
                        &text,
                    )
                    .await?;
                    messages.push(format!(
                        "Saved. We have sent a confirmation code to {}; enter it below to start receiving alerts.",
                        number.masked()
                    ));
                }
                reg
            }
        }
    };
    state.db.save_registration(&reg).await?;
    if action == MemberAction::SaveAndTest {
        match send_test(state, account, ip, &mut reg).await {
            Ok(message) => messages.push(message),
            Err(WebError::BadRequest(m)) => {
                return Err(WebError::BadRequest(format!("{} {m}", messages.join(" "))));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(messages.join(" "))
}

async fn send_test(
    state: &WebState,
    account: &Account,
    ip: &str,
    reg: &mut Registration,
) -> Result<String, WebError> {
    let now = state.now();
    if parse_state(&reg.state)? != SubscriptionState::Active {
        return Err(user_error(
            "No test was sent: your number is not confirmed yet (or said STOP). Confirm it first, then test.",
        ));
    }
    let number = decrypt_number(state, account, reg)?;
    let since = now - chrono::TimeDelta::days(2);
    let (by_account, to_number) = state
        .db
        .test_times(account.id, &reg.number_index, since)
        .await?;
    for history in [by_account, to_number] {
        TestRateLimiter::from_history(state.settings.test_rate.clone(), history)
            .check(now)
            .map_err(|limited| {
                user_error(format!(
                    "No test was sent: at most {} tests in {} minutes. Try again after {}.",
                    limited.max,
                    limited.window_minutes,
                    format_time(limited.retry_after)
                ))
            })?;
    }
    // The send row's id is the test id printed in the text and kept in the test log.
    let gateway = state
        .settings
        .primary_gateway()
        .ok_or_else(|| {
            user_error("No gateway is configured to send texts; ask the administrators.")
        })?
        .to_string();
    let test_id = state
        .db
        .insert_send(&NewSend {
            kind: SendKind::MemberTest,
            account_id: Some(account.id),
            account_email: &account.email,
            body: "(member test)",
            recipients: 1,
            estimated_seconds: 0,
            confirmed_at: now,
            yearly_test: None,
        })
        .await?;
    let body = format!(
        "Test {test_id} of your emergency alert registration: it works. No action needed. Reply STOP to opt out."
    );
    let enc = state
        .settings
        .cipher
        .encrypt(
            &number,
            &FieldContext::new(FieldPurpose::TestLogNumber, test_id.to_string()),
            &mut OsRng,
        )
        .map_err(|e| WebError::Internal(format!("cannot encrypt a number: {e}")))?;
    state
        .db
        .insert_test_log(&TestLogRow {
            test_id,
            account_id: account.id,
            ip_address: ip.to_string(),
            gateway: gateway.clone(),
            number_enc: enc.to_string(),
            number_index: reg.number_index.clone(),
            sent_at: now,
        })
        .await?;
    state
        .store
        .enqueue_outbound(&NewOutbound {
            gateway,
            recipient: number.clone(),
            origin: OutboundOrigin::Campaign {
                campaign_id: test_id,
            },
            body,
            priority: Priority::ALERT,
            not_before: None,
        })
        .await?;
    state.db.mark_send_enqueued(test_id, 1, now).await?;
    reg.last_tested = Some(now);
    state.db.save_registration(reg).await?;
    Ok(format!(
        "Test {test_id} is on its way to {}; it should arrive shortly.",
        textgate_alerts::mask(&number)
    ))
}

/// Removes the member's registration (the test log stays).
pub async fn remove(state: &WebState, account: &Account) -> Result<String, WebError> {
    if state.db.delete_registration(account.id).await? {
        Ok("Your number has been removed. You will no longer receive emergency texts.".to_string())
    } else {
        Err(user_error("There was no saved number to remove."))
    }
}

/// Checks the confirmation code the member typed.
pub async fn confirm_code(
    state: &WebState,
    account: &Account,
    typed: &str,
) -> Result<String, WebError> {
    let now = state.now();
    let Some(mut reg) = state.db.registration(account.id).await? else {
        return Err(user_error("Save your number first."));
    };
    let Some(pending_json) = reg.confirmation.clone() else {
        return Err(user_error(
            "There is no code waiting; your number is already confirmed or stopped.",
        ));
    };
    let mut pending: PendingConfirmation = serde_json::from_str(&pending_json)
        .map_err(|e| WebError::Internal(format!("stored confirmation is damaged: {e}")))?;
    let number_text = decrypt_number(state, account, &reg)?;
    let number = MemberNumber::parse(&number_text, state.settings.region)
        .map_err(|e| WebError::Internal(format!("stored number no longer parses: {e}")))?;
    let outcome = pending.verify(&state.settings.confirmation_key, &number, typed, now);
    match outcome {
        VerifyOutcome::Confirmed => {
            reg.state = state_name(parse_state(&reg.state)?.after_confirmation()).to_string();
            reg.confirmation = None;
            state.db.save_registration(&reg).await?;
            Ok("Your number is confirmed: you will receive emergency alerts.".to_string())
        }
        VerifyOutcome::WrongCode { attempts_left } => {
            reg.confirmation = Some(
                serde_json::to_string(&pending).map_err(|e| WebError::Internal(e.to_string()))?,
            );
            state.db.save_registration(&reg).await?;
            Err(user_error(format!(
                "That is not the code we sent; {attempts_left} attempt(s) left."
            )))
        }
        VerifyOutcome::Expired => Err(user_error(
            "The code has expired; save your number again for a new one.",
        )),
        VerifyOutcome::TooManyAttempts => Err(user_error(
            "Too many wrong codes; save your number again for a new one.",
        )),
    }
}

/// The scheduled review reminder: texts every confirmed member whose details are more
/// than six months old (`ReviewPolicy::reminder_due`: once when review becomes due, then
/// at most every 30 days until they save). The daemon calls it now and then (hourly is
/// plenty). Returns how many reminders were enqueued.
pub async fn send_review_reminders(state: &WebState) -> Result<u64, WebError> {
    let now = state.now();
    // Six calendar months are never shorter than 181 days; the exact rule is applied below.
    let candidates = state
        .db
        .stale_registrations(now - chrono::TimeDelta::days(181))
        .await?;
    let mut sent = 0;
    for (account_id, number_enc, last_updated, last_reminded) in candidates {
        if !state
            .settings
            .review
            .reminder_due(last_updated, last_reminded, now)
        {
            continue;
        }
        let context = FieldContext::new(FieldPurpose::MemberNumber, account_id.to_string());
        let number = match number_enc
            .parse::<EncryptedField>()
            .map_err(|e| e.to_string())
            .and_then(|f| {
                state
                    .settings
                    .cipher
                    .decrypt(&f, &context)
                    .map_err(|e| e.to_string())
            }) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(account = account_id, error = %e, "a member's number does not open; no reminder");
                continue;
            }
        };
        let Some(account) = state.db.account(account_id).await? else {
            continue;
        };
        let text = state.settings.review_reminder.clone();
        enqueue_single(
            state,
            SendKind::ReviewReminder,
            Some(&account),
            &number,
            &text,
        )
        .await?;
        state.db.set_last_reminded(account_id, now).await?;
        sent += 1;
    }
    Ok(sent)
}

/// What a keyword text from a phone did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordHandled {
    pub keyword: Keyword,
    /// The reply put in the outbox.
    pub reply: String,
}

/// Handles an incoming SMS from `sender` (E.164, as textgate-core normalised it) on
/// `gateway`: if the whole text is STOP, START or HELP (or a synonym), updates the
/// registration by blind index, remembers an opt-out of an unregistered number, and
/// enqueues the reply. Returns `None` for any other text, which belongs to the
/// operators. The gateway runtime calls this before handing a text to XMPP.
pub async fn handle_incoming_sms(
    state: &WebState,
    gateway: &str,
    sender: &str,
    body: &str,
) -> Result<Option<KeywordHandled>, WebError> {
    let Some(keyword) = state.settings.keywords.classify(body) else {
        return Ok(None);
    };
    let Some(index) = state.settings.blind_index.index_sender(sender) else {
        return Ok(None);
    };
    let index = index.to_string();
    let now = state.now();
    let reg = state.db.registration_by_index(&index).await?;
    let current = reg.as_ref().map(|r| parse_state(&r.state)).transpose()?;
    let effect = on_keyword(current, keyword);
    if let (Some(_), Some(new_state)) = (&reg, effect.state) {
        state
            .db
            .set_registration_state(&index, state_name(new_state))
            .await?;
    }
    if effect.remember_opt_out {
        state.db.remember_opt_out(&index, now).await?;
    }
    if keyword == Keyword::Start {
        state.db.forget_opt_out(&index).await?;
    }
    let reply = state.settings.replies.reply(effect.reply).to_string();
    let id = state
        .db
        .insert_send(&NewSend {
            kind: SendKind::KeywordReply,
            account_id: None,
            account_email: "(phone)",
            body: &reply,
            recipients: 1,
            estimated_seconds: 0,
            confirmed_at: now,
            yearly_test: None,
        })
        .await?;
    state
        .store
        .enqueue_outbound(&NewOutbound {
            gateway: gateway.to_string(),
            recipient: sender.to_string(),
            origin: OutboundOrigin::Campaign { campaign_id: id },
            body: reply.clone(),
            priority: Priority::ALERT,
            not_before: None,
        })
        .await?;
    state.db.mark_send_enqueued(id, 1, now).await?;
    Ok(Some(KeywordHandled { keyword, reply }))
}
