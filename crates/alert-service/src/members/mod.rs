//! Members and their registrations: Save, Save and Test, Remove, and the confirmation code
//! (this file); STOP / START / HELP from phones ([`keywords`]); the scheduled review
//! reminders ([`reminders`]); and the members' carriers for the legacy e-mail path
//! ([`directory`]). The pages and the JSON API call the same methods, with the account the
//! caller has already signed in and authorised.
//!
//! A number is stored only encrypted (`FieldCipher`, purpose `MemberNumber`, record id =
//! account id) beside its keyed blind index, which finds a member from a phone's STOP
//! without decrypting anything. A new number waits for its confirmation code before it
//! receives alerts; a number that said STOP before (even unregistered) starts opted out.

pub(crate) mod data;
pub mod directory;
pub mod groups;
pub mod keywords;
pub mod reminders;

use rand::rngs::OsRng;
use textgate_alerts::cipher::{FieldContext, FieldPurpose};
use textgate_alerts::confirmation::{self, PendingConfirmation, VerifyOutcome};
use textgate_alerts::{
    EncryptedField, MemberNumber, ReviewStatus, SubscriptionState, TestRateLimiter,
};

use crate::sends::{self, NewSend, SendKind};
use crate::{format_time, Account, AccountId, Actor, AlertError, AlertService, AlertSettings};
use data::{Registration, TestLogRow};

pub use keywords::KeywordHandled;

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

/// What [`Members::save`] did: the details are saved; `message` says so and what came of
/// the test, which may have been refused (not confirmed yet, too many tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub message: String,
    pub test_refused: bool,
}

impl Saved {
    /// The outcome as one result, for callers that show a refused test as an error.
    pub fn into_result(self) -> Result<String, AlertError> {
        if self.test_refused {
            Err(AlertError::Refused(self.message))
        } else {
            Ok(self.message)
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

fn parse_state(s: &str) -> Result<SubscriptionState, AlertError> {
    match s {
        "awaiting-confirmation" => Ok(SubscriptionState::AwaitingConfirmation),
        "active" => Ok(SubscriptionState::Active),
        "opted-out" => Ok(SubscriptionState::OptedOut),
        other => Err(AlertError::Corrupt {
            what: "registration",
            detail: format!("unknown state {other:?}"),
        }),
    }
}

fn member_context(account_id: AccountId) -> FieldContext {
    FieldContext::new(FieldPurpose::MemberNumber, account_id.to_string())
}

/// Opens a member's stored number (`number_enc` of account `account_id`); the error says
/// why it does not open, for the log.
pub(crate) fn open_number(
    settings: &AlertSettings,
    account_id: AccountId,
    number_enc: &str,
) -> Result<String, String> {
    let field: EncryptedField = number_enc.parse().map_err(|e| format!("{e}"))?;
    settings
        .cipher
        .decrypt(&field, &member_context(account_id))
        .map_err(|e| e.to_string())
}

/// The members of the alert service (a view of [`AlertService`]).
#[derive(Clone, Copy)]
pub struct Members<'a> {
    pub(crate) service: &'a AlertService,
}

impl Members<'_> {
    /// Opens the member's stored number; a damaged one is a refusal asking them to enter
    /// it again (and an error in the log).
    fn decrypt_number(&self, account: &Account, reg: &Registration) -> Result<String, AlertError> {
        open_number(self.service.settings(), account.id, &reg.number_enc).map_err(|e| {
            tracing::error!(account = account.id, error = %e, "stored alert number does not open");
            AlertError::refused("We could not read your saved number; please enter it again.")
        })
    }

    /// The member's saved registration as shown on the page.
    pub async fn saved_view(&self, account: &Account) -> Result<Option<SavedView>, AlertError> {
        let Some(reg) = data::registration(self.service.database(), account.id).await? else {
            return Ok(None);
        };
        let masked = match self.decrypt_number(account, &reg) {
            Ok(number) => textgate_alerts::mask(&number),
            Err(_) => "(unreadable, please enter it again)".to_string(),
        };
        let sub = parse_state(&reg.state)?;
        let review_due = matches!(
            self.service
                .settings()
                .review
                .status(reg.last_updated, self.service.now()),
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

    /// Saves (and with [`MemberAction::SaveAndTest`] tests) the actor's number; returns
    /// the message for the page. An empty `typed_number` keeps the saved number (the
    /// member confirms their details for the review rule). A number saved just now gets
    /// its confirmation code instead of a test: the code is the first text it receives.
    pub async fn save(
        &self,
        actor: &Actor<'_>,
        typed_number: &str,
        carrier: Option<&str>,
        action: MemberAction,
    ) -> Result<Saved, AlertError> {
        let account = actor.account;
        let service = self.service;
        let database = service.database();
        let now = service.now();
        let settings = service.settings();
        let carrier = match carrier.map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(id) => match settings.carriers.get(id) {
                Some(c) => Some(c.id.clone()),
                None => {
                    return Err(AlertError::refused(
                        "Please choose a carrier from the list.",
                    ))
                }
            },
        };
        let existing = data::registration(database, account.id).await?;
        let typed_number = typed_number.trim();
        let mut messages = Vec::new();
        let mut new_number = false;
        let mut reg = if typed_number.is_empty() {
            let Some(mut reg) = existing.clone() else {
                return Err(AlertError::refused("Please enter your mobile number."));
            };
            reg.carrier = carrier.clone();
            reg.last_updated = now;
            messages.push("Your details have been saved.".to_string());
            reg
        } else {
            let number = MemberNumber::parse(typed_number, settings.region)
                .map_err(|e| AlertError::refused(format!("{e}.")))?;
            let index = settings.blind_index.index(&number).to_string();
            if let Some(other) = data::registration_by_index(database, &index).await? {
                if other.account_id != account.id {
                    return Err(AlertError::refused(
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
                    new_number = true;
                    self.new_number(account, number, index, carrier.clone(), &mut messages)
                        .await?
                }
            }
        };
        data::save_registration(database, &reg).await?;
        let mut test_refused = false;
        let awaiting = parse_state(&reg.state)? == SubscriptionState::AwaitingConfirmation;
        if action == MemberAction::SaveAndTest && new_number && awaiting {
            messages.push(
                "Once you have entered the code, press Save and Test for a test alert.".into(),
            );
        } else if action == MemberAction::SaveAndTest {
            match self.send_test(actor, &mut reg).await {
                Ok(message) => messages.push(message),
                Err(AlertError::Refused(m)) => {
                    messages.push(m);
                    test_refused = true;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Saved {
            message: messages.join(" "),
            test_refused,
        })
    }

    /// A registration for a number the member has not registered before: opted out if it
    /// said STOP earlier, otherwise awaiting the confirmation code sent to it now.
    async fn new_number(
        &self,
        account: &Account,
        number: MemberNumber,
        index: String,
        carrier: Option<String>,
        messages: &mut Vec<String>,
    ) -> Result<Registration, AlertError> {
        let service = self.service;
        let database = service.database();
        let settings = service.settings();
        let now = service.now();
        let enc = settings
            .cipher
            .encrypt(number.as_str(), &member_context(account.id), &mut OsRng)
            .map_err(|e| AlertError::Internal(format!("cannot encrypt a number: {e}")))?;
        let opted_out = data::is_opted_out(database, &index).await?;
        let mut reg = Registration {
            account_id: account.id,
            number_enc: enc.to_string(),
            number_index: index,
            carrier,
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
            return Ok(reg);
        }
        // A code is a text to a number the member typed: the same limits as a test, so the
        // form cannot be used to bombard someone with codes.
        let history = sends::data::send_times(
            database,
            account.id,
            SendKind::Confirmation,
            now - chrono::TimeDelta::days(2),
        )
        .await?;
        TestRateLimiter::from_history(settings.test_rate.clone(), history)
            .check(now)
            .map_err(|limited| {
                AlertError::refused(format!(
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
        reg.confirmation =
            Some(serde_json::to_string(&pending).map_err(|e| AlertError::Internal(e.to_string()))?);
        let minutes = settings.confirmation_policy.lifetime.num_minutes();
        let text = settings.replies.confirmation_text(code.as_str(), minutes);
        data::save_registration(database, &reg).await?;
        service
            .send_single(
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
        Ok(reg)
    }

    /// Sends the member a test of their confirmed number, within the test rate limits,
    /// and records it in the test log.
    async fn send_test(
        &self,
        actor: &Actor<'_>,
        reg: &mut Registration,
    ) -> Result<String, AlertError> {
        let account = actor.account;
        let service = self.service;
        let database = service.database();
        let settings = service.settings();
        let now = service.now();
        if parse_state(&reg.state)? != SubscriptionState::Active {
            return Err(AlertError::refused(
                "No test was sent: your number is not confirmed yet (or said STOP). Confirm it first, then test.",
            ));
        }
        let number = self.decrypt_number(account, reg)?;
        let since = now - chrono::TimeDelta::days(2);
        let (by_account, to_number) =
            data::test_times(database, account.id, &reg.number_index, since).await?;
        for history in [by_account, to_number] {
            TestRateLimiter::from_history(settings.test_rate.clone(), history)
                .check(now)
                .map_err(|limited| {
                    AlertError::refused(format!(
                        "No test was sent: at most {} tests in {} minutes. Try again after {}.",
                        limited.max,
                        limited.window_minutes,
                        format_time(limited.retry_after)
                    ))
                })?;
        }
        // The send row's id is the test id printed in the text and kept in the test log.
        let gateway = service.primary_gateway()?;
        let test_id = service
            .record_send(&NewSend {
                thread: None,
                kind: SendKind::MemberTest,
                account_id: Some(account.id),
                account_email: &account.email,
                body: "(member test)",
                recipients: 1,
                estimated_seconds: 0,
                confirmed_at: now,
                yearly_test: None,
                group: None,
                poll: None,
            })
            .await?;
        let body = format!(
            "Test {test_id} of your emergency alert registration: it works. No action needed. Reply STOP to opt out."
        );
        let enc = settings
            .cipher
            .encrypt(
                &number,
                &FieldContext::new(FieldPurpose::TestLogNumber, test_id.to_string()),
                &mut OsRng,
            )
            .map_err(|e| AlertError::Internal(format!("cannot encrypt a number: {e}")))?;
        data::insert_test_log(
            database,
            &TestLogRow {
                test_id,
                account_id: account.id,
                ip_address: actor.ip.to_string(),
                gateway: gateway.clone(),
                number_enc: enc.to_string(),
                number_index: reg.number_index.clone(),
                sent_at: now,
            },
        )
        .await?;
        service
            .enqueue_recorded(test_id, &gateway, &number, &body, now)
            .await?;
        reg.last_tested = Some(now);
        data::save_registration(database, reg).await?;
        Ok(format!(
            "Test {test_id} is on its way to {}; it should arrive shortly.",
            textgate_alerts::mask(&number)
        ))
    }

    /// Removes the member's registration (the test log stays).
    pub async fn remove(&self, account: &Account) -> Result<String, AlertError> {
        if data::delete_registration(self.service.database(), account.id).await? {
            Ok(
                "Your number has been removed. You will no longer receive emergency texts."
                    .to_string(),
            )
        } else {
            Err(AlertError::refused("There was no saved number to remove."))
        }
    }

    /// Checks the confirmation code the member typed.
    pub async fn confirm_code(&self, account: &Account, typed: &str) -> Result<String, AlertError> {
        let service = self.service;
        let database = service.database();
        let settings = service.settings();
        let now = service.now();
        let Some(mut reg) = data::registration(database, account.id).await? else {
            return Err(AlertError::refused("Save your number first."));
        };
        let Some(pending_json) = reg.confirmation.clone() else {
            return Err(AlertError::refused(
                "There is no code waiting; your number is already confirmed or stopped.",
            ));
        };
        let mut pending: PendingConfirmation =
            serde_json::from_str(&pending_json).map_err(|e| AlertError::Corrupt {
                what: "confirmation",
                detail: e.to_string(),
            })?;
        let number_text = self.decrypt_number(account, &reg)?;
        let number = MemberNumber::parse(&number_text, settings.region)
            .map_err(|e| AlertError::Internal(format!("stored number no longer parses: {e}")))?;
        match pending.verify(&settings.confirmation_key, &number, typed, now) {
            VerifyOutcome::Confirmed => {
                reg.state = state_name(parse_state(&reg.state)?.after_confirmation()).to_string();
                reg.confirmation = None;
                data::save_registration(database, &reg).await?;
                Ok("Your number is confirmed: you will receive emergency alerts.".to_string())
            }
            VerifyOutcome::WrongCode { attempts_left } => {
                reg.confirmation = Some(
                    serde_json::to_string(&pending)
                        .map_err(|e| AlertError::Internal(e.to_string()))?,
                );
                data::save_registration(database, &reg).await?;
                Err(AlertError::refused(format!(
                    "That is not the code we sent; {attempts_left} attempt(s) left."
                )))
            }
            VerifyOutcome::Expired => Err(AlertError::refused(
                "The code has expired; save your number again for a new one.",
            )),
            VerifyOutcome::TooManyAttempts => Err(AlertError::refused(
                "Too many wrong codes; save your number again for a new one.",
            )),
        }
    }
}

/// The registration stored under a number's blind index (for the poll answers).
pub(crate) async fn registration_by_index(
    database: &textgate_store::Database,
    index: &str,
) -> Result<Option<Registration>, AlertError> {
    data::registration_by_index(database, index).await
}
