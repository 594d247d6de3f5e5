//! Real alerts as the rest of the world reads them: each one a CAP 1.2 message
//! ([`textgate_cap`]), and the ones still current in Atom, RSS and JSON feeds for the
//! institution's website banner and digital signs (`[alerts.feed]`). Only real alerts that
//! went out are published: tests, drafts awaiting approval, refused and expired ones never
//! are. An update is a CAP `Update` and the all clear a CAP `Cancel`, each referencing the
//! messages of its thread before it.
//!
//! A thread is in the feeds while its latest message is younger than `active_for`, shown
//! by that latest message: a sign that reads the JSON sees the all clear (`msgType`
//! `Cancel`) and takes its banner down.

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use textgate_cap::{
    Alert, Area, Category, Certainty, Feed, FeedEntry, Info, MsgType, Reference, ResponseType,
    Severity, Urgency,
};
use textgate_store::with_database;

use crate::sends::{MessageType, Send, SendKind};
use crate::{AlertError, AlertService};

/// `[alerts.feed]`: who the CAP messages say sends them, and for how long a thread stays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSettings {
    /// The console's public address, without a trailing slash: links in the feeds.
    pub url: String,
    pub sender: String,
    pub sender_name: String,
    pub area: String,
    pub language: String,
    pub event: String,
    pub active_for: TimeDelta,
}

/// The feeds of one service; see [`AlertService::feeds`].
#[derive(Debug, Clone, Copy)]
pub struct Feeds<'a> {
    service: &'a AlertService,
    settings: &'a FeedSettings,
}

impl AlertService {
    /// The public feeds, when `[alerts.feed]` is configured.
    pub fn feeds(&self) -> Option<Feeds<'_>> {
        self.settings().feed.as_ref().map(|settings| Feeds {
            service: self,
            settings,
        })
    }
}

impl Feeds<'_> {
    /// Where campaign `id`'s CAP message is served.
    pub fn cap_url(&self, id: i64) -> String {
        format!("{}/feeds/alerts/{id}.xml", self.settings.url)
    }

    /// Real alert `id` as a CAP 1.2 message; `None` unless it is a real alert that went
    /// out.
    pub async fn cap(&self, id: i64) -> Result<Option<Alert>, AlertError> {
        let Some(send) = self.service.campaigns().send(id).await? else {
            return Ok(None);
        };
        if !published(&send) {
            return Ok(None);
        }
        let thread = self.service.campaigns().thread(id).await?;
        Ok(Some(self.message(&send, &thread)))
    }

    /// The messages the feeds show now, newest first, each with its campaign id.
    pub async fn current(&self) -> Result<Vec<(i64, Alert)>, AlertError> {
        let since = self.service.now() - self.settings.active_for;
        let roots = recent_threads(self.service, since).await?;
        let mut current = Vec::new();
        for root in roots {
            let thread = self.service.campaigns().thread(root).await?;
            let Some(latest) = thread.iter().rfind(|s| published(s)) else {
                continue;
            };
            if sent_at(latest) < since {
                continue;
            }
            current.push((latest.id, self.message(latest, &thread)));
        }
        current.sort_by(|a, b| b.1.sent.cmp(&a.1.sent).then(b.0.cmp(&a.0)));
        Ok(current)
    }

    /// The feed's own description, `path` being its address under the console.
    fn feed(&self, path: &str, current: &[(i64, Alert)]) -> Feed {
        let url = &self.settings.url;
        let updated = current
            .first()
            .map(|(_, a)| a.sent)
            .unwrap_or_else(|| utc(self.service.now()));
        Feed {
            id: format!("{url}{path}"),
            title: format!("{}: current alerts", self.settings.sender_name),
            link: url.clone(),
            self_link: format!("{url}{path}"),
            updated,
            author_name: self.settings.sender_name.clone(),
        }
    }

    /// The Atom 1.0 feed of current alerts.
    pub async fn atom(&self) -> Result<String, AlertError> {
        let current = self.current().await?;
        let entries = self.entries(&current);
        Ok(textgate_cap::feed::atom(
            &self.feed("/feeds/alerts.atom", &current),
            &entries,
        ))
    }

    /// The RSS 2.0 feed of current alerts.
    pub async fn rss(&self) -> Result<String, AlertError> {
        let current = self.current().await?;
        let entries = self.entries(&current);
        Ok(textgate_cap::feed::rss(
            &self.feed("/feeds/alerts.rss", &current),
            &entries,
        ))
    }

    /// The JSON feed of current alerts, for banners and signs.
    pub async fn json(&self) -> Result<serde_json::Value, AlertError> {
        let current = self.current().await?;
        let entries = self.entries(&current);
        Ok(textgate_cap::feed::json(
            &self.feed("/feeds/alerts.json", &current),
            &entries,
        ))
    }

    fn entries<'a>(&self, current: &'a [(i64, Alert)]) -> Vec<FeedEntry<'a>> {
        current
            .iter()
            .map(|(id, alert)| FeedEntry::new(alert, self.cap_url(*id)))
            .collect()
    }

    /// `send` as CAP, referencing the published messages of `thread` before it.
    fn message(&self, send: &Send, thread: &[Send]) -> Alert {
        let s = self.settings;
        let mut alert = Alert::new(identifier(send.id), &s.sender, utc(sent_at(send)));
        alert.msg_type = match send.msg_type {
            MessageType::Alert => MsgType::Alert,
            MessageType::Update => MsgType::Update,
            MessageType::Cancel => MsgType::Cancel,
        };
        alert.references = thread
            .iter()
            .filter(|earlier| earlier.id < send.id && published(earlier))
            .map(|earlier| Reference {
                sender: s.sender.clone(),
                identifier: identifier(earlier.id),
                sent: utc(sent_at(earlier)),
            })
            .collect();
        let cancel = send.msg_type == MessageType::Cancel;
        let (urgency, severity) = if cancel {
            (Urgency::Past, Severity::Minor)
        } else {
            (Urgency::Immediate, Severity::Severe)
        };
        let mut info = Info::new(
            &s.language,
            Category::Safety,
            &s.event,
            urgency,
            severity,
            Certainty::Observed,
        );
        if cancel {
            info.response_types = vec![ResponseType::AllClear];
        }
        info.sender_name = Some(s.sender_name.clone());
        info.headline = Some(headline(&send.body));
        info.description = Some(send.body.clone());
        info.web = Some(s.url.clone());
        info.areas = vec![Area::new(&s.area)];
        alert.info = vec![info];
        alert
    }
}

/// Whether `send` is a real alert to everyone that went out (approved, if it needed
/// approval). A group's message (a closure, the weather) is not an emergency broadcast.
fn published(send: &Send) -> bool {
    send.kind == SendKind::Real && send.audience_group.is_none() && send.went_out()
}

/// When it went out: at the approval, under two-person approval.
fn sent_at(send: &Send) -> DateTime<Utc> {
    send.decided_at.unwrap_or(send.confirmed_at)
}

fn identifier(id: i64) -> String {
    format!("textgate-alert-{id}")
}

fn utc(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.fixed_offset()
}

/// CAP's headline is short ("less than 160 characters" is the standard's advice): the
/// text's first line, cut at a word.
fn headline(body: &str) -> String {
    let first = body.lines().next().unwrap_or_default().trim();
    if first.chars().count() <= 140 {
        return first.to_owned();
    }
    let cut: String = first.chars().take(139).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}…")
}

/// The first alerts of threads with a real message since `since`.
async fn recent_threads(
    service: &AlertService,
    since: DateTime<Utc>,
) -> Result<Vec<i64>, AlertError> {
    let roots: Vec<i64> = with_database!(service.database(), pool => {
        sqlx::query_scalar(
            "SELECT DISTINCT COALESCE(refers_to, id) FROM alert_sends
             WHERE kind = 'real' AND COALESCE(decided_at, confirmed_at) >= $1",
        )
        .bind(since)
        .fetch_all(pool)
        .await?
    });
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::headline;

    #[test]
    fn a_headline_is_the_first_line_cut_at_a_word() {
        assert_eq!(
            headline("Snow: campus closed.\nStay home."),
            "Snow: campus closed."
        );
        let long = format!("{} end", "word ".repeat(40));
        let h = headline(&long);
        assert!(h.ends_with('…') && h.chars().count() <= 140, "{h}");
        assert!(!h.trim_end_matches('…').ends_with(' '), "{h}");
    }
}
