//! The emergency alert service: members and their registrations, confirmation codes,
//! STOP / START / HELP from phones, campaigns (planning, enqueueing, resumption and
//! progress), accounts, sessions' and API tokens' rows, sign-in failures, and the send,
//! test and audit logs, behind one cheap-to-clone handle, [`AlertService`].
//!
//! The pure alert domain (encryption of numbers, the blind index, keywords, codes, roles,
//! campaign plans) lives in `textgate-alerts`; this crate adds the tables, the clock, the
//! outbox and the rules that need them. The web console (`textgate-web`) only renders and
//! parses: every rule and every write is here, whoever calls (a page, the JSON API, the
//! command line, a phone).
//!
//! Shape: one module per concern with its API (a view of the handle, such as
//! [`AlertService::members`]) and its SQL in a `data` module beside it, in the manner of
//! tuwunel's services:
//!
//! - [`accounts`]: accounts, roles, passwords, testers;
//! - [`sessions`]: sign-in (with its failure limits), session rows;
//! - [`tokens`]: API tokens and their scopes;
//! - [`texts`]: texts other systems send through the send API;
//! - [`members`]: a member's registration, codes and tests, keywords from phones, the
//!   review reminders, and the members' carriers for the legacy e-mail path;
//! - [`sends`]: the send-log rows behind every text the service sends;
//! - [`campaigns`]: alert and test campaigns;
//! - [`audit`]: the audit log, written by the service once per action;
//! - [`logs`]: the send, test and audit logs as administrators read them;
//! - [`transcripts`]: the staff's audited transcript deletions and downloads (the store
//!   does the work; the audit log is this service's);
//! - [`webhooks`]: events other systems subscribe to (configured, not requested),
//!   enqueued durably, signed, posted and retried, and their delivery log;
//! - [`email`] and [`xmpp`]: the campaigns' other channels (e-mail copies for members who
//!   ask; XMPP messages to members' JIDs, staff JIDs and a staff room);
//! - [`jobs`]: the periodic jobs (hourly review reminders, per-minute campaign
//!   resumption, the webhooks' enqueuer and dispatcher every second, the other channels'
//!   senders).
//!
//! The service takes the daemon's one [`Store`] and keeps its tables in the store's
//! database through the pool the store lends ([`Store::database`]); the tables'
//! migrations are the store's (`migrations/*/01xx_*.sql`). For the daemon's edges it
//! implements the gateway's [`textgate_gateway::InboundScreen`] (STOP / START / HELP are
//! answered before a text reaches the librarians) and the e-mail driver's
//! [`textgate_modem::CarrierDirectory`].

#![forbid(unsafe_code)]

pub mod accounts;
pub mod audit;
pub mod campaigns;
pub mod channels;
pub mod email;
mod error;
pub mod feeds;
pub mod jobs;
pub mod logs;
pub mod members;
pub mod schedules;
mod secrets;
pub mod sends;
pub mod sessions;
mod settings;
pub mod texts;
pub mod tokens;
pub mod transcripts;
pub mod webhooks;
pub mod xmpp;

#[cfg(test)]
mod test_support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use textgate_store::{Clock, Database, Store, SystemClock};
use tokio::sync::{watch, Notify};

pub use accounts::{Account, AccountId};
pub use error::AlertError;
pub use members::keywords::STOP_NOTICE;
pub use settings::{
    AlertGroup, AlertSettings, Approval, CampaignModem, PasswordCost, SigninLimit, TextGateway,
};
pub use webhooks::{ReceivedTexts, Webhook, WebhookEvent, WebhookPolicy};

/// The alert service. Cheap to clone: clones share the store, the settings, the clock and
/// the campaigns being enqueued.
#[derive(Clone)]
pub struct AlertService {
    store: Store,
    settings: Arc<AlertSettings>,
    clock: Arc<dyn Clock>,
    /// Bumped each time a campaign's enqueuer has finished (tests and tools await it).
    enqueued: Arc<watch::Sender<u64>>,
    /// Campaigns this process is enqueueing: one enqueuer per campaign (PostgreSQL
    /// advisory locks extend this to every daemon on the database).
    enqueueing: Arc<Mutex<HashSet<i64>>>,
    /// A hash to check passwords of unknown accounts against, so that sign-in takes as
    /// long whether or not the account exists.
    dummy_hash: Arc<String>,
    /// Wakes the webhook dispatcher when the enqueuer added deliveries, so the first
    /// attempt does not wait for the dispatcher's next tick.
    webhook_wake: Arc<Notify>,
    /// One HTTP client (and its connection pool) for every webhook post.
    webhook_client: webhooks::dispatch::WebhookClient,
    /// The SMTP relay for alerts' e-mail copies (`[alerts.email]`).
    mailer: Option<Arc<textgate_modem::SmtpDriver>>,
    /// Wakes the mail job when copies were queued.
    mail_wake: Arc<Notify>,
    /// Wakes the XMPP job when messages were queued.
    xmpp_wake: Arc<Notify>,
}

impl std::fmt::Debug for AlertService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertService")
            .field("store", &self.store)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Who asks the service to act, for its rules and its audit log: a signed-in account,
/// from an address, with a session or an API token.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub account: &'a Account,
    /// The client's address as the web server saw it.
    pub ip: &'a str,
    pub credential: Credential,
}

/// How an [`Actor`] proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A signed-in browser session.
    Session,
    /// An API bearer token.
    ApiToken,
}

impl AlertService {
    /// The service over the daemon's store (migrations applied: `Store::open`).
    pub fn new(store: Store, settings: AlertSettings) -> Result<AlertService, AlertError> {
        let dummy_hash =
            accounts::passwords::hash(&secrets::random_token(), settings.password_cost)
                .map_err(|e| AlertError::Internal(e.to_string()))?;
        let mailer = match &settings.email {
            None => None,
            Some(config) => Some(Arc::new(
                textgate_modem::SmtpDriver::new(config.clone())
                    .map_err(|e| AlertError::Internal(format!("[alerts.email]: {e}")))?,
            )),
        };
        Ok(AlertService {
            store,
            settings: Arc::new(settings),
            clock: Arc::new(SystemClock),
            enqueued: Arc::new(watch::channel(0).0),
            enqueueing: Arc::default(),
            dummy_hash: Arc::new(dummy_hash),
            webhook_wake: Arc::new(Notify::new()),
            webhook_client: webhooks::dispatch::WebhookClient::default(),
            mailer,
            mail_wake: Arc::new(Notify::new()),
            xmpp_wake: Arc::new(Notify::new()),
        })
    }

    /// Uses `clock` for every time the service reads (the store keeps its own clock: give
    /// it the same one with `Store::with_clock`).
    pub fn with_clock(mut self, clock: impl Clock) -> AlertService {
        self.clock = Arc::new(clock);
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn settings(&self) -> &AlertSettings {
        &self.settings
    }

    /// The store the service enqueues its texts in (and keeps its tables beside).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The pool of the store's database, which the data modules query.
    pub(crate) fn database(&self) -> &Database {
        self.store.database()
    }

    pub fn accounts(&self) -> accounts::Accounts<'_> {
        accounts::Accounts { service: self }
    }

    pub fn sessions(&self) -> sessions::Sessions<'_> {
        sessions::Sessions { service: self }
    }

    pub fn tokens(&self) -> tokens::Tokens<'_> {
        tokens::Tokens { service: self }
    }

    pub fn texts(&self) -> texts::Texts<'_> {
        texts::Texts { service: self }
    }

    pub fn members(&self) -> members::Members<'_> {
        members::Members { service: self }
    }

    pub fn campaigns(&self) -> campaigns::Campaigns<'_> {
        campaigns::Campaigns { service: self }
    }

    pub fn logs(&self) -> logs::Logs<'_> {
        logs::Logs { service: self }
    }

    pub fn transcripts(&self) -> transcripts::Transcripts<'_> {
        transcripts::Transcripts { service: self }
    }

    pub fn webhooks(&self) -> webhooks::Webhooks<'_> {
        webhooks::Webhooks { service: self }
    }
}

/// A time as the pages and the service's messages show it: `2026-11-22 08:00 UTC`.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
