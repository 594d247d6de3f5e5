//! Sends: the send log behind every text the service puts in the outbox. Alert and test
//! campaigns are sends (see [`crate::campaigns`]), and so are the single texts: a member's
//! test, a confirmation code, a keyword reply and a review reminder. A send's id is the
//! outbox's `campaign_id`, so a send's progress is counted from the outbox itself.

pub(crate) mod data;

use chrono::{DateTime, Utc};
use textgate_store::{NewOutbound, OutboundOrigin, Priority};

use crate::{Account, AccountId, AlertError, AlertService};

/// What a send is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SendKind {
    /// A test campaign to the testers.
    Test,
    /// A real alert to everyone.
    Real,
    /// A member's own test from the member page.
    MemberTest,
    /// A confirmation code for a new number.
    Confirmation,
    /// The answer to STOP, START or HELP.
    KeywordReply,
    /// The scheduled "please review your details" text.
    ReviewReminder,
}

impl SendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SendKind::Test => "test",
            SendKind::Real => "real",
            SendKind::MemberTest => "member-test",
            SendKind::Confirmation => "confirmation",
            SendKind::KeywordReply => "keyword-reply",
            SendKind::ReviewReminder => "review-reminder",
        }
    }

    fn parse(s: &str) -> Option<SendKind> {
        [
            SendKind::Test,
            SendKind::Real,
            SendKind::MemberTest,
            SendKind::Confirmation,
            SendKind::KeywordReply,
            SendKind::ReviewReminder,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// How far a campaign's deliveries got into the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CampaignState {
    /// Confirmed; deliveries are being put in the outbox (or will be, when a daemon
    /// resumes it after a stop).
    Enqueueing,
    /// Every delivery is in the outbox.
    Enqueued,
    /// Left unfinished by a version of textgate that could not resume it; not resumed.
    Interrupted,
    /// A real alert confirmed by one emergency administrator, waiting for a second one
    /// (two-person approval); nothing is in the outbox.
    AwaitingApproval,
    /// Refused by a second emergency administrator; never sent.
    Refused,
    /// Not approved in time; never sent.
    Expired,
}

impl CampaignState {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Enqueueing => "enqueueing",
            CampaignState::Enqueued => "enqueued",
            CampaignState::Interrupted => "interrupted",
            CampaignState::AwaitingApproval => "awaiting-approval",
            CampaignState::Refused => "refused",
            CampaignState::Expired => "expired",
        }
    }

    fn parse(s: &str) -> Option<CampaignState> {
        [
            CampaignState::Enqueueing,
            CampaignState::Enqueued,
            CampaignState::Interrupted,
            CampaignState::AwaitingApproval,
            CampaignState::Refused,
            CampaignState::Expired,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// What a campaign is to the ones before it, in CAP 1.2's words (`msgType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MessageType {
    /// An alert of its own, starting a thread.
    Alert,
    /// More about an earlier alert.
    Update,
    /// The all clear: the earlier alert no longer holds.
    Cancel,
}

impl MessageType {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Alert => "alert",
            MessageType::Update => "update",
            MessageType::Cancel => "cancel",
        }
    }

    pub fn parse(s: &str) -> Option<MessageType> {
        [MessageType::Alert, MessageType::Update, MessageType::Cancel]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A campaign that follows an earlier one: an update or the all clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thread {
    pub msg_type: MessageType,
    /// The campaign it follows (the service records the thread's first alert).
    pub refers_to: i64,
}

/// The yearly-test record (Clery Act): description, date, time, announced or not.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct YearlyTest {
    pub description: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `HH:MM`.
    pub time: String,
    pub announced: bool,
}

/// One send-log row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Send {
    pub id: i64,
    pub kind: SendKind,
    pub account_id: Option<AccountId>,
    pub account_email: String,
    pub body: String,
    pub recipients: i64,
    pub estimated_seconds: i64,
    pub confirmed_at: DateTime<Utc>,
    pub enqueued_at: Option<DateTime<Utc>>,
    pub yearly_test: Option<YearlyTest>,
    /// Campaigns (test and real) only.
    pub campaign_state: Option<CampaignState>,
    /// Recipients no gateway could reach (see `CampaignPlan::unreachable`).
    pub unreachable: i64,
    /// Who approved or refused a real alert under two-person approval, and when.
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// An alert of its own, or an update or all clear of campaign `refers_to`.
    pub msg_type: MessageType,
    pub refers_to: Option<i64>,
    /// The group a campaign went to (`None`: everyone, or the testers).
    pub audience_group: Option<String>,
    /// A poll's answers, one per line (`None`: it asks nothing).
    pub poll_choices: Option<String>,
    /// Seconds after it went out when a poll's reminder goes; and when it went.
    pub poll_resend_after: Option<i64>,
    pub poll_resent_at: Option<DateTime<Utc>>,
    /// On a reminder: the poll it reminds of.
    pub poll_of: Option<i64>,
}

impl Send {
    /// Whether this campaign went out: confirmed (and approved, where it needed approval),
    /// its deliveries in the outbox or on their way there.
    pub fn went_out(&self) -> bool {
        matches!(
            self.campaign_state,
            Some(CampaignState::Enqueueing | CampaignState::Enqueued)
        )
    }

    /// What the campaign is, as a copy on another channel (an e-mail's subject, an XMPP
    /// message's first words) names it: "Emergency alert", "Test", "Update", "All clear",
    /// or "Notice" for a group's message.
    pub fn label(&self) -> &'static str {
        match (self.kind, self.msg_type) {
            (SendKind::Test, _) => "Test",
            (_, MessageType::Update) => "Update",
            (_, MessageType::Cancel) => "All clear",
            _ if self.audience_group.is_some() => "Notice",
            _ => "Emergency alert",
        }
    }
}

/// The all clear that ended `thread` (an alert and what follows it), if one went out.
pub fn all_clear_of(thread: &[Send]) -> Option<&Send> {
    thread
        .iter()
        .find(|s| s.msg_type == MessageType::Cancel && s.went_out())
}

/// A send about to be recorded.
#[derive(Debug, Clone)]
pub struct NewSend<'a> {
    pub kind: SendKind,
    pub account_id: Option<AccountId>,
    pub account_email: &'a str,
    pub body: &'a str,
    pub recipients: i64,
    pub estimated_seconds: i64,
    pub confirmed_at: DateTime<Utc>,
    pub yearly_test: Option<&'a YearlyTest>,
    /// For an update or all clear: the campaign it follows.
    pub thread: Option<Thread>,
    /// A campaign to one group's members (`None`: everyone, or the testers).
    pub group: Option<&'a str>,
    /// A campaign that asks for a reply, or the reminder of one.
    pub poll: Option<PollRecord<'a>>,
}

/// What a campaign records of its poll.
#[derive(Debug, Clone, Copy)]
pub struct PollRecord<'a> {
    pub poll: &'a crate::campaigns::polls::Poll,
    /// On a reminder: the poll it reminds of.
    pub reminder_of: Option<i64>,
}

impl AlertService {
    /// Answers a text from a phone (a keyword, a group command, a poll answer) on the
    /// gateway it came to: recorded in the send log as a keyword reply, then queued.
    pub(crate) async fn answer_phone(
        &self,
        gateway: &str,
        sender: &str,
        reply: &str,
    ) -> Result<(), AlertError> {
        let now = self.now();
        let id = self
            .record_send(&NewSend {
                thread: None,
                kind: SendKind::KeywordReply,
                account_id: None,
                account_email: "(phone)",
                body: reply,
                recipients: 1,
                estimated_seconds: 0,
                confirmed_at: now,
                yearly_test: None,
                group: None,
                poll: None,
            })
            .await?;
        self.enqueue_recorded(id, gateway, sender, reply, now).await
    }

    /// Sends one text (a member's code or test, a keyword reply, a review reminder) to
    /// `recipient` through the primary gateway, ahead of chat traffic, recorded in the send
    /// log as `kind` (a confirmation code's text is not logged). Returns the send's id and
    /// the gateway.
    pub(crate) async fn send_single(
        &self,
        kind: SendKind,
        account: Option<&Account>,
        recipient: &str,
        body: &str,
    ) -> Result<(i64, String), AlertError> {
        let gateway = self.primary_gateway()?;
        let now = self.now();
        let id = self
            .record_send(&NewSend {
                thread: None,
                kind,
                account_id: account.map(|a| a.id),
                account_email: account.map(|a| a.email.as_str()).unwrap_or("(phone)"),
                body: if kind == SendKind::Confirmation {
                    "(confirmation code)"
                } else {
                    body
                },
                recipients: 1,
                estimated_seconds: 0,
                confirmed_at: now,
                yearly_test: None,
                group: None,
                poll: None,
            })
            .await?;
        self.enqueue_recorded(id, &gateway, recipient, body, now)
            .await?;
        Ok((id, gateway))
    }

    /// The gateway that sends single texts, or a refusal saying none is configured.
    pub(crate) fn primary_gateway(&self) -> Result<String, AlertError> {
        self.settings()
            .primary_gateway()
            .map(str::to_string)
            .ok_or_else(|| {
                AlertError::refused(
                    "No gateway is configured to send texts; ask the administrators.",
                )
            })
    }

    /// Records a single send in the send log; its id.
    pub(crate) async fn record_send(&self, send: &NewSend<'_>) -> Result<i64, AlertError> {
        data::insert(self.database(), send, None, 0).await
    }

    /// Puts the one text of the recorded send `id` in the outbox and marks it enqueued
    /// `now`.
    pub(crate) async fn enqueue_recorded(
        &self,
        id: i64,
        gateway: &str,
        recipient: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AlertError> {
        self.store
            .enqueue_outbound(&NewOutbound {
                gateway: gateway.to_string(),
                recipient: recipient.to_string(),
                origin: OutboundOrigin::Campaign { campaign_id: id },
                body: body.to_string(),
                priority: Priority::ALERT,
                not_before: None,
            })
            .await?;
        data::mark_enqueued(self.database(), id, 1, now).await
    }
}
