//! Common Alerting Protocol messages for textgate, without I/O.
//!
//! This crate writes emergency alerts as OASIS Common Alerting Protocol documents
//! ("OASIS CAP Version 1.2, 1 July 2010", namespace `urn:oasis:names:tc:emergency:cap:1.2`)
//! and publishes the alerts that are active as Atom 1.0, RSS 2.0 and JSON feeds, so that
//! aggregators, public-alerting systems, websites and digital signs can pick them up.
//!
//! - [`message`]: the CAP types ([`Alert`], [`Info`], [`Area`], [`Reference`]);
//! - [`token`]: CAP's code lists ([`Status`], [`MsgType`], [`Scope`], [`Category`], ...);
//! - [`time`]: CAP's date-time form (`2026-12-05T10:30:00-05:00`, never `Z`, no fractions);
//! - [`validate`]: the rules of the standard its XML schema cannot express;
//! - [`xml`]: writing the CAP document ([`Alert::to_xml`]) with a small escaping writer;
//! - [`feed`]: the Atom, RSS and JSON feeds of active alerts.
//!
//! The crate never reads the clock, never decides which alerts are active (callers pass the
//! alerts to list) and performs no I/O. [`Alert::to_xml`] writes whatever it is given;
//! call [`Alert::validate`] first to refuse what CAP does not allow. The output is checked
//! against the published CAP 1.2 schema (`schema/CAP-v1.2.xsd`) by `tests/schema.rs`.
//!
//! Only the parts of CAP that textgate uses are modelled: an `<area>` carries its
//! `<areaDesc>` but no polygon, circle or geocode, and `<source>`, `<code>`, `<audience>`,
//! `<eventCode>`, `<parameter>` and `<resource>` are not written. `<addresses>` is, since
//! CAP requires it when the scope is Private.
//!
//! # The JSON feed
//!
//! [`feed::json`] gives a small document for website banners and digital signs. Fields of
//! an alert that come from an `<info>` block are taken from its first block (the primary
//! language); an alert without one (an Ack or Error) gives `null` there and no areas.
//! Times are CAP times; absent optional values are `null`.
//!
//! ```json
//! {
//!   "title": "Campus alerts",
//!   "updated": "2026-12-05T10:31:00-05:00",
//!   "alerts": [
//!     {
//!       "identifier": "campus-2026-0042",
//!       "sender": "alerts@example.edu",
//!       "sent": "2026-12-05T10:30:00-05:00",
//!       "status": "Actual",
//!       "msgType": "Update",
//!       "language": "en-US",
//!       "event": "Winter storm",
//!       "headline": "Campus closed today",
//!       "description": "Heavy snow ...",
//!       "instruction": "Stay home ...",
//!       "severity": "Severe",
//!       "urgency": "Expected",
//!       "certainty": "Likely",
//!       "expires": "2026-12-05T23:00:00-05:00",
//!       "areas": ["Main campus"],
//!       "cap": "https://alerts.example.edu/cap/campus-2026-0042.xml",
//!       "references": [
//!         {
//!           "sender": "alerts@example.edu",
//!           "identifier": "campus-2026-0041",
//!           "sent": "2026-12-05T06:00:00-05:00"
//!         }
//!       ]
//!     }
//!   ]
//! }
//! ```

#![forbid(unsafe_code)]

pub mod feed;
pub mod message;
pub mod time;
pub mod token;
pub mod validate;
pub mod xml;

pub use feed::{Feed, FeedEntry};
pub use message::{Alert, Area, Info, Reference};
pub use time::cap_time;
pub use token::{
    Category, Certainty, MsgType, ResponseType, Scope, Severity, Status, UnknownToken, Urgency,
};
pub use validate::ValidationError;

/// The XML namespace of CAP 1.2 documents.
pub const CAP_NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";

/// The media type a CAP document is served with.
pub const CAP_MEDIA_TYPE: &str = "application/cap+xml";
