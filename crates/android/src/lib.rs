//! The HTTP API of the Android app SMSGate ("SMS Gateway for Android",
//! capcom6/android-sms-gateway) without I/O: a phone running the app becomes a modem we
//! reach over HTTP, either directly (the app's local server) or through the cloud or a
//! private server (android-sms-gateway/server, formerly capcom6/sms-gateway).
//!
//! - [`send`]: where requests go ([`ApiMode`]), the JSON that sends one text
//!   ([`SendRequest`]), what a send or a state look-up answers ([`MessageState`]), and what
//!   an HTTP status means ([`SendStatusClass`]).
//! - [`webhook`]: what the phone posts to us ([`Webhook`], [`WebhookEvent`]), checking its
//!   signature ([`verify_signature`]), registering for it ([`registration_body`]), and a
//!   key that recognises a received text seen before ([`DedupKey`]), which the app's own
//!   id cannot do.
//!
//! Implemented against app v1.68.0 (commit 0cdc5d86c6f3cc24101f27feefd926e801e8b2c7) and
//! server v1.47.1 (commit 22074dda6adc71414a00c3457ee057e4fdde510f), read in their sources,
//! and the documentation at docs.sms-gate.app (source android-sms-gateway/docs-web, commit
//! af975373c77ceb9f5d1ad40db3d6c71c290293c1). Each module cites the files it follows;
//! `crates/android/README.md` lists the contract and what is left out.
//!
//! Invariant: nothing here does I/O or reads a clock (callers pass `now`), and nothing
//! panics on any input. Everything the phone sends is untrusted: a body that does not fit
//! the contract is a [`ParseError`] naming the field, and an event this crate does not
//! know is kept by name ([`WebhookEvent::Unknown`]) rather than refused.
//!
//! Not here: the HTTP client that talks to the phone, the phone simulator, the daemon's
//! webhook endpoint, and pacing under Android's limit of 30 SMS per 60 s per app
//! (AOSP `SmsUsageMonitor`): those are the driver's, and none of them exists yet.

#![forbid(unsafe_code)]

mod json;
pub mod send;
pub mod webhook;

pub use json::ParseError;
pub use send::{
    error_message, ApiMode, ClientId, DeliveryReport, MessageState, ProcessingState,
    RecipientState, RequestError, SendRequest, SendRequestBuilder, SendStatusClass, SimNumber,
    TextField, Ttl, E164,
};
pub use webhook::{
    registration_body, sign, verify_signature, CancelledSms, DedupKey, DeliveredSms, FailedSms,
    HealthStatus, ReceivedSms, SentSms, SignatureError, Webhook, WebhookEvent, WebhookKind,
    RECOMMENDED_TOLERANCE, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
