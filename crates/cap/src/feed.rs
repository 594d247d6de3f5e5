//! Feeds of active alerts: Atom 1.0 (RFC 4287), RSS 2.0 and a small JSON document.
//!
//! The caller decides which alerts are active and passes them with the URL at which each
//! one's CAP document is served. Every feed lists entries newest first (by `sent`).
//!
//! Atom entries follow the usual CAP-over-Atom practice of public alerting authorities:
//! the entry's `id` is the CAP document's URL, `title` the headline (or else the event),
//! `updated` the time the message was sent, `summary` the description, and a
//! `<link rel="alternate" type="application/cap+xml">` points at the CAP document. The
//! JSON shape is documented on the crate.

use chrono::{DateTime, FixedOffset};
use serde_json::{json, Value};

use crate::message::Alert;
use crate::time::{cap_time, rfc822_time};
use crate::xml::XmlWriter;
use crate::CAP_MEDIA_TYPE;

/// The Atom 1.0 namespace.
pub const ATOM_NAMESPACE: &str = "http://www.w3.org/2005/Atom";

/// What a feed says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    /// A permanent URI naming the feed, such as its own URL (Atom `<id>`).
    pub id: String,
    /// The feed's title, e.g. "Campus alerts".
    pub title: String,
    /// The site the alerts are about (Atom alternate link, RSS `<link>`).
    pub link: String,
    /// The URL this feed is served at (Atom and RSS `rel="self"` links).
    pub self_link: String,
    /// When the feed last changed.
    pub updated: DateTime<FixedOffset>,
    /// Who publishes the alerts (Atom `<author><name>`).
    pub author_name: String,
}

/// An alert listed in a feed, with the URL of its CAP XML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry<'a> {
    /// The alert.
    pub alert: &'a Alert,
    /// Where its CAP document ([`Alert::to_xml`]) is served.
    pub cap_url: String,
}

impl<'a> FeedEntry<'a> {
    /// An alert and the URL of its CAP document.
    pub fn new(alert: &'a Alert, cap_url: impl Into<String>) -> Self {
        Self {
            alert,
            cap_url: cap_url.into(),
        }
    }

    /// The title feeds show: the first info block's headline or event, or for a message
    /// without info (an Ack or Error) its type and identifier.
    pub fn title(&self) -> String {
        match self.alert.primary_info() {
            Some(info) => info.title().to_owned(),
            None => format!("{} {}", self.alert.msg_type, self.alert.identifier),
        }
    }

    fn description(&self) -> Option<&'a str> {
        self.alert.primary_info()?.description.as_deref()
    }
}

/// The entries newest first; entries sent at the same instant keep the caller's order.
fn newest_first<'e, 'a>(entries: &'e [FeedEntry<'a>]) -> Vec<&'e FeedEntry<'a>> {
    let mut sorted: Vec<&FeedEntry<'a>> = entries.iter().collect();
    sorted.sort_by_key(|entry| std::cmp::Reverse(entry.alert.sent));
    sorted
}

/// The Atom 1.0 feed document.
pub fn atom(feed: &Feed, entries: &[FeedEntry<'_>]) -> String {
    let mut w = XmlWriter::new();
    w.open("feed", &[("xmlns", ATOM_NAMESPACE)]);
    w.text("id", &[], &feed.id);
    w.text("title", &[], &feed.title);
    w.text("updated", &[], &cap_time(&feed.updated));
    w.open("author", &[]);
    w.text("name", &[], &feed.author_name);
    w.close();
    w.empty(
        "link",
        &[
            ("rel", "self"),
            ("type", "application/atom+xml"),
            ("href", &feed.self_link),
        ],
    );
    w.empty("link", &[("rel", "alternate"), ("href", &feed.link)]);
    for entry in newest_first(entries) {
        w.open("entry", &[]);
        w.text("id", &[], &entry.cap_url);
        w.text("title", &[], &entry.title());
        w.text("updated", &[], &cap_time(&entry.alert.sent));
        w.opt_text("summary", entry.description());
        w.empty(
            "link",
            &[
                ("rel", "alternate"),
                ("type", CAP_MEDIA_TYPE),
                ("href", &entry.cap_url),
            ],
        );
        w.close();
    }
    w.finish()
}

/// The RSS 2.0 feed document. Each item links to and is identified by its CAP document's
/// URL; the channel's description is the feed title, as [`Feed`] has no other.
pub fn rss(feed: &Feed, entries: &[FeedEntry<'_>]) -> String {
    let mut w = XmlWriter::new();
    w.open("rss", &[("version", "2.0"), ("xmlns:atom", ATOM_NAMESPACE)]);
    w.open("channel", &[]);
    w.text("title", &[], &feed.title);
    w.text("link", &[], &feed.link);
    w.text("description", &[], &feed.title);
    w.empty(
        "atom:link",
        &[
            ("href", &feed.self_link),
            ("rel", "self"),
            ("type", "application/rss+xml"),
        ],
    );
    w.text("lastBuildDate", &[], &rfc822_time(&feed.updated));
    for entry in newest_first(entries) {
        w.open("item", &[]);
        w.text("title", &[], &entry.title());
        w.text("link", &[], &entry.cap_url);
        w.opt_text("description", entry.description());
        w.text("guid", &[("isPermaLink", "true")], &entry.cap_url);
        w.text("pubDate", &[], &rfc822_time(&entry.alert.sent));
        w.close();
    }
    w.finish()
}

/// The JSON feed for website banners and digital signs (shape documented on the crate).
pub fn json(feed: &Feed, entries: &[FeedEntry<'_>]) -> Value {
    let alerts: Vec<Value> = newest_first(entries).into_iter().map(json_alert).collect();
    json!({
        "title": feed.title,
        "updated": cap_time(&feed.updated),
        "alerts": alerts,
    })
}

fn json_alert(entry: &FeedEntry<'_>) -> Value {
    let alert = entry.alert;
    let info = alert.primary_info();
    let references: Vec<Value> = alert
        .references
        .iter()
        .map(|r| {
            json!({
                "sender": r.sender,
                "identifier": r.identifier,
                "sent": cap_time(&r.sent),
            })
        })
        .collect();
    let areas: Vec<&str> = info
        .map(|i| i.areas.iter().map(|a| a.area_desc.as_str()).collect())
        .unwrap_or_default();
    json!({
        "identifier": alert.identifier,
        "sender": alert.sender,
        "sent": cap_time(&alert.sent),
        "status": alert.status.as_str(),
        "msgType": alert.msg_type.as_str(),
        "language": info.map(|i| i.language.as_str()),
        "event": info.map(|i| i.event.as_str()),
        "headline": info.and_then(|i| i.headline.as_deref()),
        "description": info.and_then(|i| i.description.as_deref()),
        "instruction": info.and_then(|i| i.instruction.as_deref()),
        "severity": info.map(|i| i.severity.as_str()),
        "urgency": info.map(|i| i.urgency.as_str()),
        "certainty": info.map(|i| i.certainty.as_str()),
        "expires": info.and_then(|i| i.expires.as_ref()).map(cap_time),
        "areas": areas,
        "cap": entry.cap_url,
        "references": references,
    })
}
