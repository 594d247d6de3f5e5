//! Polls: an alert that asks for a reply ("Reply 1 = Safe, 2 = Need help"). A member answers
//! by texting the number of an answer; the latest answer counts ([`Members::handle_poll_answer`]).
//! The progress page tallies the answers and lists who needs help and who has not answered
//! ([`Campaigns::poll_view`]), the export has every member asked ([`Campaigns::poll_export`]),
//! and after a set time a reminder goes to those who have not answered
//! ([`Campaigns::send_poll_reminders`], run every minute by the service's jobs).
//!
//! Who was asked is the poll's audience as it stands (every confirmed member, or a group's):
//! a member who signs up after the poll went out is listed as not having answered, which is
//! what a responder needs to know.
//!
//! The reminder is a campaign of its own in the poll's thread (a CAP `Update`), to the
//! members of the audience who have not answered when it goes out, with the same answers;
//! what they text counts for the poll. It is claimed with one conditional update, so two
//! daemons, or a restart, never send it twice.

use chrono::{DateTime, TimeDelta, Utc};
use textgate_store::with_database;

use super::{data as campaign_data, Campaigns, Recipients};
use crate::audit::AuditAction;
use crate::members::open_number;
use crate::members::Members;
use crate::sends::{self, CampaignState, MessageType, NewSend, Send, SendKind, Thread};
use crate::{AccountId, Actor, AlertError};
use textgate_alerts::{authorize, Action};

/// How long after it went out a poll still takes answers.
pub const POLL_OPEN_FOR: TimeDelta = TimeDelta::hours(48);
/// How many members the progress page lists by name in each list; the export has all.
const LISTED: usize = 200;

/// The answers an alert asks for, numbered from 1; the first means all is well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poll {
    pub choices: Vec<String>,
    /// When the reminder goes to those who have not answered; `None`: no reminder.
    pub resend_after: Option<TimeDelta>,
}

impl Poll {
    /// "1 = Safe, 2 = Need help", the question every campus alert service asks.
    pub fn safe_or_help(resend_after: Option<TimeDelta>) -> Poll {
        Poll {
            choices: vec!["Safe".to_owned(), "Need help".to_owned()],
            resend_after,
        }
    }

    /// What the text must tell members: "Reply 1 = Safe, 2 = Need help."
    pub fn instruction(&self) -> String {
        let listed: Vec<String> = self
            .choices
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{} = {c}", i + 1))
            .collect();
        format!("Reply {}.", listed.join(", "))
    }

    /// `text` with the instruction added, unless it already asks for the numbers.
    pub fn with_instruction(&self, text: &str) -> String {
        if text.to_lowercase().contains("reply 1") {
            text.to_owned()
        } else {
            format!("{} {}", text.trim_end(), self.instruction())
        }
    }

    pub(crate) fn encoded(&self) -> String {
        self.choices.join("\n")
    }

    pub(crate) fn decode(encoded: &str) -> Vec<String> {
        encoded.lines().map(str::to_owned).collect()
    }
}

/// One answer's tally.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChoiceTally {
    pub number: usize,
    pub label: String,
    pub count: u64,
}

/// A member on the poll's lists and in its export.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PollMember {
    pub email: String,
    /// The number in full: responders call it.
    pub number: String,
    /// `None`: not answered.
    pub answer: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
}

/// A poll as the progress page shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PollView {
    pub choices: Vec<ChoiceTally>,
    pub asked: u64,
    pub unanswered: u64,
    /// Members whose latest answer is not the first (all is well) one.
    pub attention: Vec<PollMember>,
    pub attention_more: u64,
    pub not_answered: Vec<PollMember>,
    pub not_answered_more: u64,
    /// "after 30 min", when a reminder is set; and when it went.
    pub reminder: Option<String>,
    pub reminded_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct AskedRow {
    account_id: AccountId,
    email: String,
    number_enc: String,
    answer: Option<i64>,
    answered_at: Option<DateTime<Utc>>,
}

impl Campaigns<'_> {
    /// The poll of campaign `send` (or of the poll it reminds of); `None` when it asks
    /// nothing.
    pub async fn poll_view(&self, send: &Send) -> Result<Option<PollView>, AlertError> {
        let Some((root, choices)) = self.poll_of(send).await? else {
            return Ok(None);
        };
        let rows = self.poll_rows_of(&root, &choices).await?;
        let mut tallies: Vec<ChoiceTally> = choices
            .iter()
            .enumerate()
            .map(|(i, label)| ChoiceTally {
                number: i + 1,
                label: label.clone(),
                count: 0,
            })
            .collect();
        let (mut attention, mut not_answered) = (Vec::new(), Vec::new());
        let (mut attention_all, mut unanswered) = (0u64, 0u64);
        for (member, number) in rows {
            match number {
                Some(n) => {
                    if let Some(t) = tallies.get_mut(n - 1) {
                        t.count += 1;
                    }
                    if n > 1 {
                        attention_all += 1;
                        if attention.len() < LISTED {
                            attention.push(member);
                        }
                    }
                }
                None => {
                    unanswered += 1;
                    if not_answered.len() < LISTED {
                        not_answered.push(member);
                    }
                }
            }
        }
        let asked = tallies.iter().map(|t| t.count).sum::<u64>() + unanswered;
        Ok(Some(PollView {
            attention_more: attention_all - attention.len() as u64,
            not_answered_more: unanswered - not_answered.len() as u64,
            choices: tallies,
            asked,
            unanswered,
            attention,
            not_answered,
            reminder: root.poll_resend_after.map(|s| {
                format!(
                    "after {}",
                    textgate_alerts::campaign::describe_duration(TimeDelta::seconds(s))
                )
            }),
            reminded_at: root.poll_resent_at,
        }))
    }

    /// Every member the poll asked, with their number and latest answer: the export, for
    /// emergency administrators, audited.
    pub async fn poll_export(
        &self,
        actor: &Actor<'_>,
        send: &Send,
    ) -> Result<Vec<PollMember>, AlertError> {
        authorize(&actor.account.roles, Action::SendAlertToEveryone)?;
        let Some((root, choices)) = self.poll_of(send).await? else {
            return Err(AlertError::refused(format!(
                "Campaign {} asked for no reply.",
                send.id
            )));
        };
        let rows: Vec<PollMember> = self
            .poll_rows_of(&root, &choices)
            .await?
            .into_iter()
            .map(|(member, _)| member)
            .collect();
        self.service
            .audit(
                actor,
                AuditAction::ExportPoll,
                &format!("campaign {}: {} members", root.id, rows.len()),
            )
            .await?;
        Ok(rows)
    }

    /// The poll `send` belongs to (itself, or the one it reminds of) and its answers.
    async fn poll_of(&self, send: &Send) -> Result<Option<(Send, Vec<String>)>, AlertError> {
        let root = match send.poll_of {
            Some(poll) => self.send(poll).await?.ok_or(AlertError::NotFound)?,
            None => send.clone(),
        };
        Ok(root
            .poll_choices
            .as_deref()
            .map(Poll::decode)
            .map(|choices| (root, choices)))
    }

    async fn poll_rows_of(
        &self,
        root: &Send,
        choices: &[String],
    ) -> Result<Vec<(PollMember, Option<usize>)>, AlertError> {
        let service = self.service;
        let group_filter = if root.audience_group.is_some() {
            "AND r.account_id IN (SELECT account_id FROM alert_group_members WHERE group_name = $2)"
        } else {
            ""
        };
        let sql = format!(
            "SELECT r.account_id, a.email, r.number_enc, p.answer, p.answered_at
             FROM alert_registrations r
             JOIN web_accounts a ON a.id = r.account_id
             LEFT JOIN alert_poll_answers p ON p.account_id = r.account_id AND p.campaign_id = $1
             WHERE r.state = 'active' {group_filter}
             ORDER BY a.email"
        );
        let rows: Vec<AskedRow> = with_database!(service.database(), pool => {
            let mut query = sqlx::query_as(&sql).bind(root.id);
            if let Some(group) = &root.audience_group {
                query = query.bind(group);
            }
            query.fetch_all(pool).await?
        });
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let number = open_number(service.settings(), row.account_id, &row.number_enc)
                .unwrap_or_else(|_| "(cannot be read)".to_owned());
            let answer = row
                .answer
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| (1..=choices.len()).contains(n));
            out.push((
                PollMember {
                    email: row.email,
                    number,
                    answer: answer.map(|n| format!("{n} = {}", choices[n - 1])),
                    answered_at: row.answered_at,
                },
                answer,
            ));
        }
        Ok(out)
    }

    /// Sends each due reminder: to the members of a poll's audience who have not
    /// answered, once. Returns how many reminders started.
    pub async fn send_poll_reminders(&self) -> Result<u64, AlertError> {
        let service = self.service;
        let database = service.database();
        let now = service.now();
        let candidates: Vec<i64> = with_database!(database, pool => {
            sqlx::query_scalar(
                "SELECT id FROM alert_sends
                 WHERE poll_choices IS NOT NULL AND poll_of IS NULL
                   AND poll_resend_after IS NOT NULL AND poll_resent_at IS NULL
                   AND campaign_state IN ('enqueueing', 'enqueued')
                 ORDER BY id",
            )
            .fetch_all(pool)
            .await?
        });
        let mut started = 0;
        for id in candidates {
            let Some(poll) = self.send(id).await? else {
                continue;
            };
            let went_out = poll.decided_at.unwrap_or(poll.confirmed_at);
            let after = TimeDelta::seconds(poll.poll_resend_after.unwrap_or(0));
            if went_out + after > now || now - went_out > POLL_OPEN_FOR {
                continue;
            }
            let claimed = with_database!(database, pool => {
                sqlx::query(
                    "UPDATE alert_sends SET poll_resent_at = $2
                     WHERE id = $1 AND poll_resent_at IS NULL",
                )
                .bind(id)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
            });
            if claimed != 1 {
                continue; // another daemon sent it
            }
            let reminder = self.start_reminder(&poll).await?;
            tracing::info!(poll = id, reminder, "poll reminder started");
            started += 1;
        }
        Ok(started)
    }

    async fn start_reminder(&self, poll: &Send) -> Result<i64, AlertError> {
        let service = self.service;
        let recipients = Recipients::NonResponders {
            poll: poll.id,
            group: poll.audience_group.as_deref(),
        };
        let body = format!("REMINDER: {}", poll.body);
        let parts = self.composer().measure(&body).parts;
        let waiting = campaign_data::count_recipients(service.database(), recipients).await?;
        let choices = Poll {
            choices: poll
                .poll_choices
                .as_deref()
                .map(Poll::decode)
                .unwrap_or_default(),
            resend_after: None,
        };
        let estimated = self
            .preview_recipients(recipients, parts)
            .await
            .map(|p| p.plan.estimated_duration().num_seconds())
            .unwrap_or(0);
        let id = campaign_data::insert_campaign(
            service.database(),
            &NewSend {
                kind: SendKind::Real,
                account_id: poll.account_id,
                account_email: &poll.account_email,
                body: &body,
                recipients: waiting,
                estimated_seconds: estimated,
                confirmed_at: service.now(),
                yearly_test: None,
                thread: Some(Thread {
                    msg_type: MessageType::Update,
                    refers_to: poll.refers_to.unwrap_or(poll.id),
                }),
                group: poll.audience_group.as_deref(),
                poll: Some(sends::PollRecord {
                    poll: &choices,
                    reminder_of: Some(poll.id),
                }),
            },
            CampaignState::Enqueueing,
            0,
        )
        .await?;
        service.spawn_enqueue(id);
        service
            .audit_daemon(
                AuditAction::PollReminder,
                &format!(
                    "campaign {id}: reminder of poll {} to {waiting} members",
                    poll.id
                ),
            )
            .await?;
        Ok(id)
    }
}

impl Members<'_> {
    /// A text that is only the number of an answer ("2"), from a confirmed member asked by
    /// a poll still open: recorded as their answer (their latest counts) and
    /// acknowledged by SMS. `None` for anything else, which goes on to the keywords and
    /// the librarians.
    pub async fn handle_poll_answer(
        &self,
        gateway: &str,
        sender: &str,
        body: &str,
    ) -> Result<Option<String>, AlertError> {
        let word = body
            .trim()
            .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '.' | '!'));
        let Ok(number) = word.parse::<usize>() else {
            return Ok(None);
        };
        if !(1..=9).contains(&number) || word.len() != 1 {
            return Ok(None);
        }
        let service = self.service;
        let settings = service.settings();
        let Some(index) = settings.blind_index.index_sender(sender) else {
            return Ok(None);
        };
        let Some(registration) =
            crate::members::registration_by_index(service.database(), &index.to_string()).await?
        else {
            return Ok(None);
        };
        if registration.state != "active" {
            return Ok(None);
        }
        let now = service.now();
        let since = now - POLL_OPEN_FOR;
        // The newest open poll this member was asked (their group's, or everyone's).
        let poll: Option<(i64, String)> = with_database!(service.database(), pool => {
            sqlx::query_as(
                "SELECT s.id, s.poll_choices FROM alert_sends s
                 WHERE s.poll_choices IS NOT NULL AND s.poll_of IS NULL
                   AND s.campaign_state IN ('enqueueing', 'enqueued')
                   AND COALESCE(s.decided_at, s.confirmed_at) >= $1
                   AND (s.audience_group IS NULL OR s.audience_group IN
                        (SELECT group_name FROM alert_group_members WHERE account_id = $2))
                 ORDER BY s.id DESC LIMIT 1",
            )
            .bind(since)
            .bind(registration.account_id)
            .fetch_optional(pool)
            .await?
        });
        let Some((poll, choices)) = poll else {
            return Ok(None);
        };
        let choices = Poll::decode(&choices);
        let reply = match choices.get(number - 1) {
            None => format!(
                "Please reply with the number of an answer: {}",
                Poll {
                    choices: choices.clone(),
                    resend_after: None
                }
                .instruction()
                .trim_start_matches("Reply ")
            ),
            Some(label) => {
                with_database!(service.database(), pool => {
                    sqlx::query(
                        "INSERT INTO alert_poll_answers (campaign_id, account_id, answer, answered_at)
                         VALUES ($1, $2, $3, $4)
                         ON CONFLICT (campaign_id, account_id)
                         DO UPDATE SET answer = excluded.answer, answered_at = excluded.answered_at",
                    )
                    .bind(poll)
                    .bind(registration.account_id)
                    .bind(i64::try_from(number).unwrap_or(0))
                    .bind(now)
                    .execute(pool)
                    .await?;
                });
                tracing::info!(poll, answer = number, "poll answer recorded");
                format!("Thank you. We recorded your answer: {label}.")
            }
        };
        service.answer_phone(gateway, sender, &reply).await?;
        Ok(Some(reply))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instruction_is_added_once() {
        let poll = Poll::safe_or_help(None);
        assert_eq!(poll.instruction(), "Reply 1 = Safe, 2 = Need help.");
        assert_eq!(
            poll.with_instruction("Shelter in place. "),
            "Shelter in place. Reply 1 = Safe, 2 = Need help."
        );
        let asked = "Fire drill over. Reply 1 if you are out, 2 if not.";
        assert_eq!(poll.with_instruction(asked), asked);
        assert_eq!(Poll::decode(&poll.encoded()), poll.choices);
    }
}
