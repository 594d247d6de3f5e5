//! Privacy operations on finished texts: erase transcripts (bodies and PDUs) while keeping
//! the records, delete whole records, and export transcripts as a zip of text files.
//! Texts still on their way (not yet delivered to an operator, or not yet sent) are never
//! touched: a privacy operation must not lose a text in flight.

use std::io::{Cursor, Write};

use chrono::{DateTime, Utc};
use zip::write::SimpleFileOptions;

use crate::backend::{in_transaction, placeholders, with_pool, BackendKind};
use crate::conversation::{ConversationRow, ExchangedRow, CONVERSATION_COLUMNS};
use crate::{Conversation, ExchangedText, Store, StoreError};

/// Which texts a privacy operation applies to, always within one gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every finished text of these conversations.
    Conversations { gateway: String, ids: Vec<i64> },
    /// Every finished text received or written in `[from, until)`.
    Period {
        gateway: String,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    },
}

/// What a deletion removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    /// Bodies and PDUs only; who, when and how much stays for statistics.
    Transcripts,
    /// The texts themselves, and conversations left without any text.
    Records,
}

/// What a deletion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeletionReport {
    /// Texts whose body was erased ([`Deletion::Transcripts`]) or that were deleted.
    pub texts: u64,
    pub conversations: u64,
}

/// One statement's worth of a selection (id lists are cut to bound the parameters).
enum Filter<'a> {
    Ids(&'a [i64]),
    Period(DateTime<Utc>, DateTime<Utc>),
}

const ID_CHUNK: usize = 500;

impl Selection {
    fn gateway(&self) -> &str {
        match self {
            Selection::Conversations { gateway, .. } | Selection::Period { gateway, .. } => gateway,
        }
    }

    fn filters(&self) -> Vec<Filter<'_>> {
        match self {
            Selection::Conversations { ids, .. } => ids.chunks(ID_CHUNK).map(Filter::Ids).collect(),
            Selection::Period { from, until, .. } => vec![Filter::Period(*from, *until)],
        }
    }
}

impl Filter<'_> {
    /// The WHERE condition on a text table whose time column is `time`; `$1` is the gateway.
    fn condition(&self, time: &str) -> String {
        match self {
            Filter::Ids(ids) => format!(
                "gateway = $1 AND conversation_id IN ({})",
                placeholders(2, ids.len())
            ),
            Filter::Period(..) => format!("gateway = $1 AND {time} >= $2 AND {time} < $3"),
        }
    }
}

/// Binds the gateway and the filter's values to a query built with [`Filter::condition`].
macro_rules! bind_filter {
    ($query:expr, $gateway:expr, $filter:expr) => {{
        let mut query = $query.bind($gateway);
        match $filter {
            Filter::Ids(ids) => {
                for id in *ids {
                    query = query.bind(*id);
                }
            }
            Filter::Period(from, until) => query = query.bind(*from).bind(*until),
        }
        query
    }};
}

const INBOUND_FINISHED: &str = "state = 'delivered'";
const OUTBOUND_FINISHED: &str = "state IN ('sent', 'delivered', 'failed')";

impl Store {
    /// Erases transcripts or deletes records of the selected finished texts.
    pub async fn delete(
        &self,
        selection: &Selection,
        deletion: Deletion,
    ) -> Result<DeletionReport, StoreError> {
        let gateway = selection.gateway();
        let filters = selection.filters();
        let (least, greatest) = match self.kind() {
            BackendKind::Postgres => ("LEAST", "GREATEST"),
            BackendKind::Sqlite => ("MIN", "MAX"),
        };
        in_transaction!(self, tx => {
            let mut report = DeletionReport::default();
            for filter in &filters {
                let inbound = filter.condition("received_at");
                let outbound = filter.condition("created_at");
                let statements = match deletion {
                    Deletion::Transcripts => [
                        format!("DELETE FROM inbound_parts WHERE inbound_id IN
                                 (SELECT id FROM inbound WHERE {inbound} AND {INBOUND_FINISHED})"),
                        format!("UPDATE inbound SET body = NULL
                                 WHERE {inbound} AND {INBOUND_FINISHED} AND body IS NOT NULL"),
                        format!("UPDATE outbound SET body = NULL
                                 WHERE {outbound} AND {OUTBOUND_FINISHED} AND body IS NOT NULL"),
                    ],
                    Deletion::Records => [
                        // Parts go with their texts (ON DELETE CASCADE); the first statement
                        // is only there to keep the three-statement shape.
                        format!("DELETE FROM inbound_parts WHERE inbound_id IN
                                 (SELECT id FROM inbound WHERE {inbound} AND {INBOUND_FINISHED})"),
                        format!("DELETE FROM inbound WHERE {inbound} AND {INBOUND_FINISHED}"),
                        format!("DELETE FROM outbound WHERE {outbound} AND {OUTBOUND_FINISHED}"),
                    ],
                };
                for (n, sql) in statements.iter().enumerate() {
                    let done = bind_filter!(sqlx::query(sql), gateway, filter)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if n > 0 {
                        report.texts += done;
                    }
                }
            }
            if deletion == Deletion::Records {
                // The conversation records now describe only the texts that remain.
                let first_in = "(SELECT MIN(received_at) FROM inbound i WHERE i.conversation_id = conversations.id)";
                let first_out = "(SELECT MIN(created_at) FROM outbound o WHERE o.conversation_id = conversations.id)";
                let last_in = "(SELECT MAX(received_at) FROM inbound i WHERE i.conversation_id = conversations.id)";
                let last_out = "(SELECT MAX(created_at) FROM outbound o WHERE o.conversation_id = conversations.id)";
                let sql = format!(
                    "UPDATE conversations SET
                         texts_in = (SELECT COUNT(*) FROM inbound i WHERE i.conversation_id = conversations.id),
                         texts_out = (SELECT COUNT(*) FROM outbound o WHERE o.conversation_id = conversations.id),
                         first_activity = COALESCE({least}(COALESCE({first_in}, {first_out}), COALESCE({first_out}, {first_in})), first_activity),
                         last_activity = COALESCE({greatest}(COALESCE({last_in}, {last_out}), COALESCE({last_out}, {last_in})), last_activity)
                     WHERE gateway = $1"
                );
                sqlx::query(&sql).bind(gateway).execute(&mut *tx).await?;
                report.conversations = sqlx::query(
                    "DELETE FROM conversations WHERE gateway = $1 AND texts_in = 0 AND texts_out = 0",
                )
                .bind(gateway)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            Ok(report)
        })
    }

    /// The selected conversations' transcripts as a zip archive: one text file per
    /// conversation, with the time, direction and people of every text.
    pub async fn export_transcripts(&self, selection: &Selection) -> Result<Vec<u8>, StoreError> {
        let gateway = selection.gateway();
        let exported_at = self.now();
        let mut conversations: Vec<(Conversation, Vec<ExchangedText>)> = Vec::new();
        for filter in selection.filters() {
            let inbound = filter.condition("received_at");
            let outbound = filter.condition("created_at");
            let sql = format!(
                "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id IN (
                     SELECT conversation_id FROM inbound WHERE {inbound}
                     UNION SELECT conversation_id FROM outbound
                           WHERE {outbound} AND conversation_id IS NOT NULL)
                 ORDER BY id"
            );
            let found: Vec<ConversationRow> = with_pool!(self, pool => {
                bind_filter!(sqlx::query_as(&sql), gateway, &filter).fetch_all(pool).await?
            });
            for conversation in found.into_iter().map(Conversation::from) {
                let lines = self.transcript_lines(&conversation, &filter).await?;
                conversations.push((conversation, lines));
            }
        }

        let mut archive = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (conversation, lines) in &conversations {
            archive.start_file(transcript_file_name(conversation), options)?;
            archive.write_all(render_transcript(conversation, lines, exported_at).as_bytes())?;
        }
        Ok(archive.finish()?.into_inner())
    }

    async fn transcript_lines(
        &self,
        conversation: &Conversation,
        filter: &Filter<'_>,
    ) -> Result<Vec<ExchangedText>, StoreError> {
        // Within a conversation selected by id every text belongs; within a period only
        // the texts of the period.
        let (in_time, out_time, binds_period) = match filter {
            Filter::Ids(_) => (String::new(), String::new(), None),
            Filter::Period(from, until) => (
                " AND received_at >= $2 AND received_at < $3".to_string(),
                " AND created_at >= $2 AND created_at < $3".to_string(),
                Some((*from, *until)),
            ),
        };
        let sql = format!(
            "SELECT received_at AS at, 'in' AS direction, delivered_to AS operator, body
             FROM inbound WHERE conversation_id = $1{in_time}
             UNION ALL
             SELECT created_at AS at, 'out' AS direction, sender_jid AS operator, body
             FROM outbound WHERE conversation_id = $1{out_time}
             ORDER BY at, direction"
        );
        let rows: Vec<ExchangedRow> = with_pool!(self, pool => {
            let mut query = sqlx::query_as(&sql).bind(conversation.id);
            if let Some((from, until)) = binds_period {
                query = query.bind(from).bind(until);
            }
            query.fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(ExchangedText::from).collect())
    }
}

/// `000012 +15551234567.txt`: sortable, and safe on every file system.
fn transcript_file_name(conversation: &Conversation) -> String {
    let patron: String = conversation
        .patron_as_shown()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '+' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{:06} {patron}.txt", conversation.id)
}

fn render_transcript(
    conversation: &Conversation,
    lines: &[ExchangedText],
    exported_at: DateTime<Utc>,
) -> String {
    const TIME: &str = "%Y-%m-%d %H:%M:%S UTC";
    let patron = conversation.patron_as_shown();
    let mut out = format!(
        "Conversation {} on gateway {} with {}\nExported {}\n",
        conversation.id,
        conversation.gateway,
        patron,
        exported_at.format(TIME),
    );
    for line in lines {
        let who = match (line.inbound, &line.operator) {
            (true, Some(operator)) => format!("{patron} to {operator}"),
            (true, None) => format!("{patron} (not yet delivered)"),
            (false, Some(operator)) => format!("{operator} to {patron}"),
            (false, None) => format!("gateway to {patron}"),
        };
        out.push_str(&format!("\n{}  {who}\n", line.at.format(TIME)));
        match &line.body {
            Some(body) => {
                for text_line in body.lines() {
                    out.push_str("    ");
                    out.push_str(text_line);
                    out.push('\n');
                }
            }
            None => out.push_str("    (text not kept)\n"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use expect_test::{expect, Expect};

    use super::*;

    fn check(patron: &str, lines: Vec<ExchangedText>, expect: Expect) {
        let at = |minute| Utc.with_ymd_and_hms(2026, 11, 22, 8, minute, 0).unwrap();
        let conversation = Conversation {
            id: 42,
            gateway: "library".into(),
            patron: patron.into(),
            claimed_by: None,
            first_activity: at(0),
            last_activity: at(5),
            texts_in: 2,
            texts_out: 1,
            handle: None,
        };
        let rendered = format!(
            "=== {}\n{}",
            transcript_file_name(&conversation),
            render_transcript(&conversation, &lines, at(30))
        );
        expect.assert_eq(&rendered);
    }

    fn line(
        minute: u32,
        inbound: bool,
        operator: Option<&str>,
        body: Option<&str>,
    ) -> ExchangedText {
        ExchangedText {
            at: Utc.with_ymd_and_hms(2026, 11, 22, 8, minute, 0).unwrap(),
            inbound,
            operator: operator.map(str::to_string),
            body: body.map(str::to_string),
        }
    }

    #[test]
    fn transcripts_read_like_a_conversation() {
        check(
            "+15551234567",
            vec![
                line(
                    0,
                    true,
                    Some("alice@library.example"),
                    Some("Hello,\nare you open?"),
                ),
                line(1, false, Some("alice@library.example"), Some("Until 8 pm.")),
                line(5, true, None, None),
            ],
            expect![[r#"
                === 000042 +15551234567.txt
                Conversation 42 on gateway library with +15551234567
                Exported 2026-11-22 08:30:00 UTC

                2026-11-22 08:00:00 UTC  +15551234567 to alice@library.example
                    Hello,
                    are you open?

                2026-11-22 08:01:00 UTC  alice@library.example to +15551234567
                    Until 8 pm.

                2026-11-22 08:05:00 UTC  +15551234567 (not yet delivered)
                    (text not kept)
            "#]],
        );
        check(
            "Bank/Alerts: 2FA",
            vec![],
            expect![[r#"
            === 000042 Bank_Alerts__2FA.txt
            Conversation 42 on gateway library with Bank/Alerts: 2FA
            Exported 2026-11-22 08:30:00 UTC
        "#]],
        );
    }
}
