//! The note a desk's librarians get when a conversation is handed to them (`transfer
//! <number> <desk>`): who handed it over, where the patron's texts now come from, and the
//! conversation so far, so they do not have to ask the patron to say it all again. No I/O:
//! the runtime reads the texts from the store and sends the note.
//!
//! The history is only what the gateway still has. Without transcripts a text's body is
//! erased once a librarian received it; such a text is shown as erased, in its place, and
//! the note says whom to ask.

use chrono::{DateTime, Utc};
use textgate_store::ExchangedText;

/// How many of the last texts the note shows: enough to pick up a reference question,
/// short enough for a chat window.
pub const TEXTS_SHOWN: u32 = 10;

/// A body longer than this is cut in the note (the whole text stays in the store).
const BODY_SHOWN: usize = 300;

/// The handoff note for one conversation.
pub struct HandoffNote<'a> {
    /// The librarian who handed it over (bare JID).
    pub by: &'a str,
    /// The patron as the librarians see them (a formatted number or a privacy handle).
    pub patron: &'a str,
    /// The receiving desk's display name.
    pub desk: &'a str,
    /// The handing gateway's domain, where the patron's texts now come from.
    pub gateway: &'a str,
    /// The last texts, oldest first ([`textgate_store::Store::recent_texts`]).
    pub so_far: &'a [ExchangedText],
}

impl HandoffNote<'_> {
    pub fn render(&self, now: DateTime<Utc>) -> String {
        let mut note = format!(
            "{} handed the conversation with {} to your desk ({}). Their next texts come to \
             you from {}; your replies leave from this gateway's number, the one they texted.",
            self.by, self.patron, self.desk, self.gateway
        );
        if self.so_far.is_empty() {
            return note;
        }
        note.push_str(&match self.so_far.len() {
            1 => "\nSo far:".to_owned(),
            n => format!("\nSo far (the last {n} texts):"),
        });
        let mut erased = 0;
        for text in self.so_far {
            let who = if text.inbound {
                self.patron.to_owned()
            } else {
                text.operator
                    .as_deref()
                    .map(bare)
                    .unwrap_or("a librarian")
                    .to_owned()
            };
            let body = match &text.body {
                Some(body) => shortened(body),
                None => {
                    erased += 1;
                    "(not kept: this gateway keeps no transcripts)".to_owned()
                }
            };
            note.push_str(&format!("\n  {}, {who}: {body}", ago(text.at, now)));
        }
        if erased > 0 {
            note.push_str(&format!("\nAsk {} about what is not shown here.", self.by));
        }
        note
    }
}

/// A JID without its resource, as librarians know each other.
fn bare(jid: &str) -> &str {
    jid.split_once('/').map_or(jid, |(bare, _)| bare)
}

/// The body on one line, cut at [`BODY_SHOWN`] characters.
fn shortened(body: &str) -> String {
    let one_line = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= BODY_SHOWN {
        return one_line;
    }
    let cut: String = one_line.chars().take(BODY_SHOWN).collect();
    format!("{}…", cut.trim_end())
}

/// How long ago, in the words a desk uses (no time zone to get wrong).
fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (now - at).num_minutes().max(0);
    match minutes {
        0 => "just now".to_owned(),
        1..=59 => format!("{minutes} min ago"),
        60..=2879 => format!("{} h ago", minutes / 60),
        _ => format!("{} days ago", minutes / 1440),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn text(
        minutes_ago: i64,
        inbound: bool,
        body: Option<&str>,
        now: DateTime<Utc>,
    ) -> ExchangedText {
        ExchangedText {
            at: now - Duration::minutes(minutes_ago),
            inbound,
            operator: Some(if inbound {
                "alice@library.test".to_owned()
            } else {
                "alice@library.test/desk".to_owned()
            }),
            body: body.map(str::to_owned),
        }
    }

    fn note(so_far: &[ExchangedText], now: DateTime<Utc>) -> String {
        HandoffNote {
            by: "alice@library.test",
            patron: "+1 555-123-4567",
            desk: "Branch library",
            gateway: "sms.library.test",
            so_far,
        }
        .render(now)
    }

    #[test]
    fn the_conversation_so_far_in_order_with_who_said_it() {
        let now = Utc::now();
        let so_far = [
            text(125, true, Some("Do you have\nMiddlemarch?"), now),
            text(12, false, Some("Let me look."), now),
            text(0, true, Some("Any large print?"), now),
        ];
        let note = note(&so_far, now);
        assert!(
            note.starts_with("alice@library.test handed the conversation with +1 555-123-4567 to your desk (Branch library)."),
            "{note}"
        );
        assert!(
            note.ends_with(
                "So far (the last 3 texts):\n  2 h ago, +1 555-123-4567: Do you have Middlemarch?\n  12 min ago, alice@library.test: Let me look.\n  just now, +1 555-123-4567: Any large print?"
            ),
            "{note}"
        );
    }

    #[test]
    fn erased_texts_keep_their_place_and_say_whom_to_ask() {
        let now = Utc::now();
        let so_far = [
            text(3 * 24 * 60, true, None, now),
            text(2, false, Some("Let me look."), now),
        ];
        let note = note(&so_far, now);
        assert!(
            note.contains("\n  3 days ago, +1 555-123-4567: (not kept: this gateway keeps no transcripts)\n  2 min ago, alice@library.test: Let me look.\nAsk alice@library.test about what is not shown here."),
            "{note}"
        );
    }

    #[test]
    fn a_new_conversation_has_no_history_and_long_texts_are_cut() {
        let now = Utc::now();
        let alone = note(&[], now);
        assert!(!alone.contains("So far"), "{alone}");
        assert!(alone.ends_with("the one they texted."), "{alone}");

        let long = "é".repeat(BODY_SHOWN + 20);
        let one = note(&[text(1, true, Some(&long), now)], now);
        let shown = one.rsplit(": ").next().unwrap_or_default();
        assert_eq!(shown.chars().count(), BODY_SHOWN + 1, "{one}");
        assert!(shown.ends_with('…'));
        assert!(one.contains("\nSo far:\n"), "{one}");
    }
}
