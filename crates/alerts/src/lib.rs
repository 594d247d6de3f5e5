//! The emergency-alert domain of textgate, without I/O.
//!
//! Everything the web pages, the store and the campaign sender need to decide about alerts
//! lives here as plain data and pure functions, so it can be tested on its own:
//!
//! - [`cipher`]: phone numbers encrypted at rest (XChaCha20-Poly1305, key ids, rotation);
//! - [`blind_index`]: a keyed HMAC of the number to find a member without decrypting;
//! - [`number`]: validating a number a member typed, and masking it for display;
//! - [`carrier`]: the legacy e-mail-to-SMS carrier table and which gateways still work;
//! - [`keywords`]: STOP / START / HELP replies and their answers;
//! - [`confirmation`]: the code that confirms a new number before it gets alerts;
//! - [`subscription`]: whether a number receives alerts, and what codes and keywords change;
//! - [`review`]: the "please review your details" rule after six months;
//! - [`rate_limit`]: how often a member may send themselves a test;
//! - [`compose`]: counters, part count, overflow split and validation of an alert text;
//! - [`roles`]: who may do what;
//! - [`campaign`]: spreading a send over modems and an honest time estimate;
//! - [`records`]: the send log, the test log and the Clery Act yearly-test record.
//!
//! The crate never reads the clock (callers pass `now`), never draws its own randomness
//! (callers pass an [`rand::RngCore`]) and never performs I/O. Secrets are passed in
//! by the caller, which loads them from configuration.

#![forbid(unsafe_code)]

pub mod blind_index;
pub mod campaign;
pub mod carrier;
pub mod cipher;
pub mod compose;
pub mod confirmation;
pub mod keywords;
pub mod number;
pub mod rate_limit;
pub mod records;
pub mod review;
pub mod roles;
mod secret;
pub mod subscription;
pub mod template;
pub mod throughput;

pub use blind_index::{BlindIndex, BlindIndexKey, BlindIndexValue};
pub use campaign::{
    CampaignPlan, CampaignProgress, ModemRate, PlannedDelivery, Reach, ReachCounts, SendPath,
};
pub use carrier::{Carrier, CarrierTable, GatewayStatus};
pub use cipher::{
    EncryptedField, FieldCipher, FieldContext, FieldKey, FieldPurpose, KeyId, KeyRing,
};
pub use compose::{ComposeError, ComposeLimits, ComposeReport, Composer, SafeSplit};
pub use confirmation::{
    ConfirmationCode, ConfirmationKey, ConfirmationPolicy, PendingConfirmation, VerifyOutcome,
};
pub use keywords::{Keyword, KeywordReplies, KeywordTable};
pub use number::{mask, MemberNumber, NumberError, Region};
pub use rate_limit::{RateLimited, TestRateLimiter, TestRatePolicy};
pub use records::{SendKind, SendLogEntry, TestLogEntry, YearlyTestRecord};
pub use review::{ReviewPolicy, ReviewStatus};
pub use roles::{authorize, Action, Forbidden, Role, Roles};
pub use secret::SecretError;
pub use subscription::{on_keyword, KeywordEffect, SubscriptionState};
pub use template::{Template, TemplateError};
