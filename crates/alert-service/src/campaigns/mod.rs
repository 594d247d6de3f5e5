//! Alert and test campaigns: the preview on the confirm page, starting a campaign (one
//! outbox delivery per recipient, spread over the modems by the alerts crate's plan), its
//! enqueueing and resumption ([`enqueue`]) and its progress ([`progress`]).
//!
//! Enqueueing is resumable. A confirmed campaign is recorded in state `enqueueing` before
//! any delivery is queued; the enqueuer skips every recipient who already has a delivery
//! of the campaign (any gateway) and marks the campaign `enqueued` at the end. A daemon
//! stopped or killed half-way leaves the campaign `enqueueing`, and
//! [`Campaigns::resume_enqueueing`] (run by the service's jobs at start-up and every
//! minute) finishes it. One enqueuer per campaign: a set in the process, and on PostgreSQL
//! an advisory lock held on a connection of its own, which the server drops with the
//! connection when a daemon dies, so another daemon may take over at once.
//!
//! The legacy e-mail gateways ([`SendPath::CarrierEmail`]) get only members whose carrier
//! still runs a gateway; the others go to the modems, or, with no modem, are reported as
//! unreachable (on the confirm and progress pages) rather than failed one by one.

pub mod approval;
mod data;
pub mod enqueue;
pub mod polls;
pub mod progress;

use chrono::TimeDelta;
use textgate_alerts::campaign::PlanWarning;
use textgate_alerts::throughput::{self, MeasuredRate};
use textgate_alerts::{
    authorize, Action, CampaignPlan, Composer, ModemRate, ReachCounts, SendPath,
};
use tokio::sync::watch;

use crate::audit::AuditAction;
use crate::sends::{self, CampaignState, MessageType, NewSend, Send, SendKind, Thread, YearlyTest};
use crate::{Actor, AlertError, AlertService};

pub use approval::Decision;
pub use progress::ProgressView;

/// How far back a gateway's last campaign still says something about its rate.
const MEASURED_WITHIN: TimeDelta = TimeDelta::days(90);

/// Who a campaign goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Members marked as testers (technical administrators' tests).
    Testers,
    /// Every confirmed member.
    Everyone,
    /// The confirmed members who joined one of the optional groups.
    Group(GroupId),
}

/// One of the optional groups, by its place in `[[alerts.group]]`
/// ([`Campaigns::group_named`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupId(usize);

/// Who a campaign's recipients are, as the database selects them: a group by its name, so
/// that a campaign resumed after a crash goes to the group it was started for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recipients<'a> {
    Testers,
    Everyone,
    Group(&'a str),
    /// The members of a poll's audience (everyone, or `group`) who have not answered it.
    NonResponders {
        poll: i64,
        group: Option<&'a str>,
    },
}

impl Audience {
    /// The role a campaign to this audience needs.
    pub fn action(self) -> Action {
        match self {
            Audience::Testers => Action::SendTestToTesters,
            // A group's message (a closure, the weather) is sent from the alert desk.
            Audience::Everyone | Audience::Group(_) => Action::SendAlertToEveryone,
        }
    }

    fn send_kind(self) -> SendKind {
        match self {
            Audience::Testers => SendKind::Test,
            Audience::Everyone | Audience::Group(_) => SendKind::Real,
        }
    }

    fn audit_action(self) -> AuditAction {
        match self {
            Audience::Testers => AuditAction::SendTest,
            Audience::Everyone | Audience::Group(_) => AuditAction::SendAlert,
        }
    }
}

/// Counts of a campaign's deliveries in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct CampaignCounts {
    pub queued: u64,
    pub sent: u64,
    pub delivered: u64,
    pub failed: u64,
}

/// What the confirm page shows before sending.
#[derive(Debug, Clone)]
pub struct Preview {
    /// Recipients some gateway can reach.
    pub recipients: u64,
    /// Recipients no gateway can reach: members without a carrier when the only gateways
    /// are the legacy e-mail path.
    pub unreachable: u64,
    pub plan: CampaignPlan,
    pub warnings: Vec<String>,
    /// Gateways whose last campaign measured less than their configured rate: the plan's
    /// estimate uses the measurement (see [`textgate_alerts::throughput`]).
    pub measured: Vec<MeasuredRate>,
}

/// Campaigns (a view of [`AlertService`]).
#[derive(Clone, Copy)]
pub struct Campaigns<'a> {
    pub(crate) service: &'a AlertService,
}

impl AlertService {
    fn composer(&self) -> Composer {
        Composer::new(
            self.settings().compose_limits,
            self.settings().segmenter.clone(),
        )
    }

    fn rates(&self) -> Vec<ModemRate> {
        self.settings()
            .modems
            .iter()
            .map(|m| m.rate.clone())
            .collect()
    }

    /// Each gateway's rate as measured in the last campaign it sent (within
    /// [`MEASURED_WITHIN`]), where one says anything.
    async fn measured_rates(&self) -> Result<Vec<MeasuredRate>, AlertError> {
        let since = self.now() - MEASURED_WITHIN;
        let spans = data::campaign_throughput(self.database(), since, None).await?;
        let mut latest: Vec<MeasuredRate> = Vec::new();
        for (gateway, campaign_id, span) in spans {
            let Some(per_minute) = throughput::measure_campaign(span) else {
                continue;
            };
            let measured = MeasuredRate {
                gateway,
                per_minute,
                campaign_id,
                at: span.last,
            };
            match latest.iter_mut().find(|m| m.gateway == measured.gateway) {
                Some(known) if known.at >= measured.at => {}
                Some(known) => *known = measured,
                None => latest.push(measured),
            }
        }
        Ok(latest)
    }

    /// The configured rates, each lowered where its gateway measured less (`measured`).
    fn estimate_rates(&self, measured: &[(String, u32)]) -> Vec<ModemRate> {
        let configured: Vec<(String, ModemRate)> = self
            .settings()
            .modems
            .iter()
            .map(|m| (m.gateway.clone(), m.rate.clone()))
            .collect();
        throughput::estimate_rates(&configured, measured)
    }

    fn has_email_path(&self) -> bool {
        self.settings()
            .modems
            .iter()
            .any(|m| m.rate.path == SendPath::CarrierEmail)
    }
}

impl Campaigns<'_> {
    /// The composer with the configured limits (counters, part count, validation).
    pub fn composer(&self) -> Composer {
        self.service.composer()
    }

    /// The configured optional groups.
    pub fn groups(&self) -> &[crate::settings::AlertGroup] {
        &self.service.settings().groups
    }

    /// The group configured as `name` (compared without regard to case).
    pub fn group_named(&self, name: &str) -> Option<GroupId> {
        self.groups()
            .iter()
            .position(|g| g.name.eq_ignore_ascii_case(name.trim()))
            .map(GroupId)
    }

    /// The configured group `id` stands for.
    pub fn group(&self, id: GroupId) -> Option<&crate::settings::AlertGroup> {
        self.groups().get(id.0)
    }

    fn recipients(&self, audience: Audience) -> Result<Recipients<'_>, AlertError> {
        Ok(match audience {
            Audience::Testers => Recipients::Testers,
            Audience::Everyone => Recipients::Everyone,
            Audience::Group(id) => Recipients::Group(
                &self
                    .group(id)
                    .ok_or_else(|| AlertError::refused("No such group."))?
                    .name,
            ),
        })
    }

    /// How many confirmed members a campaign to `audience` would go to.
    pub async fn audience_size(&self, audience: Audience) -> Result<i64, AlertError> {
        data::count_recipients(self.service.database(), self.recipients(audience)?).await
    }

    /// Counts `audience` by reach. The carrier's gateway is judged by today's date;
    /// whether the number is from the carrier's country is only checked when the campaign
    /// is enqueued (the numbers are encrypted).
    async fn recipients_reach(
        &self,
        recipients: Recipients<'_>,
    ) -> Result<ReachCounts, AlertError> {
        let service = self.service;
        let email_path = service.has_email_path();
        let today = service.now().date_naive();
        let mut counts = ReachCounts::default();
        for (carrier, n) in
            data::count_recipients_by_carrier(service.database(), recipients).await?
        {
            let n = u64::try_from(n).unwrap_or(0);
            let gateway_works = carrier
                .as_deref()
                .and_then(|id| service.settings().carriers.get(id))
                .is_some_and(|c| c.status.usable_on(today));
            if email_path && gateway_works {
                counts.modems_or_email += n;
            } else {
                counts.modems_only += n;
            }
        }
        Ok(counts)
    }

    /// Plans `audience` for a message of `parts` parts.
    pub async fn preview(&self, audience: Audience, parts: usize) -> Result<Preview, AlertError> {
        self.preview_recipients(self.recipients(audience)?, parts)
            .await
    }

    async fn preview_recipients(
        &self,
        recipients: Recipients<'_>,
        parts: usize,
    ) -> Result<Preview, AlertError> {
        let reach = self.recipients_reach(recipients).await?;
        let parts = u32::try_from(parts.max(1)).unwrap_or(u32::MAX);
        // Paths that measured less than configured in their last campaign are estimated
        // at what they did; the schedule itself keeps the configured rates.
        let measured: Vec<MeasuredRate> = self
            .service
            .measured_rates()
            .await?
            .into_iter()
            .filter(|m| m.per_minute < self.service.settings().gateway_rate(&m.gateway))
            .collect();
        let lowered: Vec<(String, u32)> = measured
            .iter()
            .map(|m| (m.gateway.clone(), m.per_minute))
            .collect();
        let rates = self.service.estimate_rates(&lowered);
        let plan = CampaignPlan::with_reach(reach, &rates, parts)
            .map_err(|e| AlertError::refused(format!("Cannot plan the campaign: {e}.")))?;
        let warnings = plan
            .warnings()
            .into_iter()
            .map(|w| match w {
                PlanWarning::AboveTypicalDailyVolume { modem, messages } => format!(
                    "Modem {modem} would send {messages} texts, more than an ordinary SIM sends in a day; carriers may filter part of them. A membership this large needs a registered messaging provider."
                ),
            })
            .collect();
        Ok(Preview {
            recipients: plan.recipients(),
            unreachable: plan.unreachable(),
            plan,
            warnings,
            measured,
        })
    }

    /// Starts a campaign of `text` to `audience`: records it in the send log (state
    /// `enqueueing`) and the audit log, and enqueues it in the background. Returns the
    /// send id at once (the progress page shows the enqueueing too). Under two-person
    /// approval a real alert is recorded `awaiting-approval` instead and waits for
    /// [`Campaigns::decide`].
    pub async fn start(
        &self,
        actor: &Actor<'_>,
        audience: Audience,
        text: &str,
        yearly_test: Option<&YearlyTest>,
        thread: Option<Thread>,
    ) -> Result<i64, AlertError> {
        self.start_with(actor, audience, text, yearly_test, thread, None)
            .await
    }

    /// Like [`Campaigns::start`], asking for a reply when `poll` is given (its instruction
    /// is added to the text unless the text asks for the numbers already).
    pub async fn start_with(
        &self,
        actor: &Actor<'_>,
        audience: Audience,
        text: &str,
        yearly_test: Option<&YearlyTest>,
        thread: Option<Thread>,
        poll: Option<&polls::Poll>,
    ) -> Result<i64, AlertError> {
        authorize(&actor.account.roles, audience.action())?;
        if poll.is_some() && audience == Audience::Testers {
            return Err(AlertError::refused("A poll is sent from the alert desk."));
        }
        let asked;
        let text = match poll {
            Some(poll) => {
                asked = poll.with_instruction(text);
                asked.as_str()
            }
            None => text,
        };
        self.check_no_gap(text)?;
        let thread = self.checked_thread(audience, thread).await?;
        let validated = self
            .composer()
            .validate(text)
            .map_err(|e| AlertError::refused(format!("{e}.")))?;
        let preview = self.preview(audience, validated.report.parts).await?;
        let awaiting = self.needs_approval(audience);
        let state = if awaiting {
            CampaignState::AwaitingApproval
        } else {
            CampaignState::Enqueueing
        };
        let id = self
            .record_in(
                state,
                &NewSend {
                    kind: audience.send_kind(),
                    account_id: Some(actor.account.id),
                    account_email: &actor.account.email,
                    body: &validated.text,
                    recipients: i64::try_from(preview.recipients).unwrap_or(i64::MAX),
                    estimated_seconds: preview.plan.estimated_duration().num_seconds(),
                    confirmed_at: self.service.now(),
                    yearly_test,
                    thread,
                    group: match self.recipients(audience)? {
                        Recipients::Group(name) => Some(name),
                        _ => None,
                    },
                    poll: poll.map(|poll| sends::PollRecord {
                        poll,
                        reminder_of: None,
                    }),
                },
                i64::try_from(preview.unreachable).unwrap_or(i64::MAX),
            )
            .await?;
        let action = if awaiting {
            AuditAction::DraftAlert
        } else {
            self.service.spawn_enqueue(id);
            audience.audit_action()
        };
        let follows = match thread {
            Some(t) if t.msg_type == MessageType::Cancel => {
                format!(" (all clear for campaign {})", t.refers_to)
            }
            Some(t) => format!(" (update to campaign {})", t.refers_to),
            None => String::new(),
        };
        self.service
            .audit(actor, action, &format!("campaign {id}{follows}: {text}"))
            .await?;
        Ok(id)
    }

    /// Refuses a text that still has a template's `{gap}`: no alert goes out reading
    /// `{place}`, whichever page or call sent it.
    pub fn check_no_gap(&self, text: &str) -> Result<(), AlertError> {
        match textgate_alerts::template::unfilled(text) {
            Some(gap) => Err(AlertError::refused(format!(
                "Fill in {{{gap}}} before sending: the text still has the template's gap."
            ))),
            None => Ok(()),
        }
    }

    /// The thread an update or all clear joins: the campaign it follows must be one this
    /// desk sends (a test follows a test), and the thread must not have had its all clear.
    /// Recorded against the thread's first alert, whichever of its campaigns was named.
    async fn checked_thread(
        &self,
        audience: Audience,
        thread: Option<Thread>,
    ) -> Result<Option<Thread>, AlertError> {
        let Some(thread) = thread.filter(|t| t.msg_type != MessageType::Alert) else {
            return Ok(None);
        };
        let named = self
            .send(thread.refers_to)
            .await?
            .filter(|s| s.kind == audience.send_kind())
            .ok_or_else(|| {
                AlertError::refused(format!(
                    "Campaign {} is not one this desk sent, so it cannot be updated or cleared here.",
                    thread.refers_to
                ))
            })?;
        let root = named.refers_to.unwrap_or(named.id);
        let earlier = sends::data::thread(self.service.database(), root).await?;
        if let Some(clear) = sends::all_clear_of(&earlier) {
            return Err(AlertError::refused(format!(
                "Campaign {root} already had its all clear (campaign {}); compose a new alert instead.",
                clear.id
            )));
        }
        Ok(Some(Thread {
            msg_type: thread.msg_type,
            refers_to: root,
        }))
    }

    /// Campaign `id`'s thread: its first alert, then each update and the all clear, in
    /// order.
    pub async fn thread(&self, id: i64) -> Result<Vec<Send>, AlertError> {
        let Some(send) = self.send(id).await? else {
            return Ok(Vec::new());
        };
        let root = send.refers_to.unwrap_or(send.id);
        sends::data::thread(self.service.database(), root).await
    }

    /// Records a confirmed campaign in the send log in state `enqueueing` without starting
    /// its enqueuer ([`Campaigns::start`] does both): from this commit on, the campaign is
    /// resumed by [`Campaigns::resume_enqueueing`]. For tools and tests that drive the
    /// enqueuer themselves; `unreachable` members are reported on the progress page.
    pub async fn record(&self, send: &NewSend<'_>, unreachable: i64) -> Result<i64, AlertError> {
        self.record_in(CampaignState::Enqueueing, send, unreachable)
            .await
    }

    async fn record_in(
        &self,
        state: CampaignState,
        send: &NewSend<'_>,
        unreachable: i64,
    ) -> Result<i64, AlertError> {
        data::insert_campaign(self.service.database(), send, state, unreachable).await
    }

    /// The send-log row of send `id`.
    pub async fn send(&self, id: i64) -> Result<Option<Send>, AlertError> {
        sends::data::send(self.service.database(), id).await
    }

    /// A receiver that changes each time a campaign's enqueuer has finished.
    pub fn enqueued_signal(&self) -> watch::Receiver<u64> {
        self.service.enqueued.subscribe()
    }
}
