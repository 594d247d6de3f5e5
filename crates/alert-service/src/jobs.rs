//! The service's periodic jobs: the members' review reminders (hourly), the resumption
//! of campaigns a stopped daemon left half-way, the expiry of real alerts nobody
//! approved in time and the scheduled tests that are due (every minute, which also retries an
//! enqueueing a database error interrupted), and, when webhooks are configured, their
//! enqueuer and dispatcher (every second; the dispatcher also wakes when the enqueuer
//! added deliveries). All run once at start-up. The daemon starts them with one call
//! ([`AlertService::start_jobs`]) and stops them on shutdown ([`AlertJobs::stop`]).

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::AlertService;

/// How often members due for review are looked for.
pub const REVIEW_REMINDER_PERIOD: Duration = Duration::from_secs(3600);

/// How often campaigns left enqueueing are looked for.
pub const CAMPAIGN_RESUME_PERIOD: Duration = Duration::from_secs(60);

/// How often new webhook events are looked for, and due deliveries posted.
pub const WEBHOOK_PERIOD: Duration = Duration::from_secs(1);

/// How often due e-mail copies of alerts are looked for.
pub const EMAIL_PERIOD: Duration = Duration::from_secs(5);

/// How often due XMPP messages of alerts are looked for.
pub const XMPP_PERIOD: Duration = Duration::from_secs(5);

/// The running jobs; dropping the handle stops them too.
#[derive(Debug)]
pub struct AlertJobs {
    tasks: Vec<JoinHandle<()>>,
}

impl AlertService {
    /// Starts the periodic jobs on the current tokio runtime.
    pub fn start_jobs(&self) -> AlertJobs {
        let mut tasks = vec![
            tokio::spawn(resume_campaigns(self.clone())),
            tokio::spawn(review_reminders(self.clone())),
        ];
        if self.emails().configured() {
            tasks.push(tokio::spawn(send_email_copies(self.clone())));
        }
        if let Some(channel) = &self.settings().xmpp {
            match textgate_xmpp::announcer::spawn_announcer(channel.announcer.clone()) {
                Ok((announcer, events)) => {
                    tasks.push(tokio::spawn(send_xmpp_messages(
                        self.clone(),
                        announcer,
                        events,
                    )));
                }
                // The configuration check refuses what the announcer cannot use.
                Err(e) => tracing::error!(error = %e, "alerts over XMPP not started"),
            }
        }
        if !self.settings().webhooks.is_empty() {
            tasks.push(tokio::spawn(enqueue_webhook_events(self.clone())));
            tasks.push(tokio::spawn(dispatch_webhooks(self.clone())));
        }
        AlertJobs { tasks }
    }
}

impl AlertJobs {
    /// Stops the jobs. A campaign enqueuer they started keeps going until the runtime
    /// stops; what it left undone is resumed at the next start.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for AlertJobs {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Texts the "please review your details" reminder to members who are due, hourly.
async fn review_reminders(service: AlertService) {
    let mut hourly = tokio::time::interval(REVIEW_REMINDER_PERIOD);
    loop {
        hourly.tick().await;
        match service.members().send_review_reminders().await {
            Ok(0) => {}
            Ok(sent) => tracing::info!(sent, "review reminders queued"),
            Err(e) => {
                tracing::warn!(error = %e, "review reminders not sent; trying again in an hour")
            }
        }
    }
}

/// Finishes enqueueing the campaigns a stopped daemon (this one before a restart, or
/// another on the same database) left half-way.
async fn resume_campaigns(service: AlertService) {
    let mut every_minute = tokio::time::interval(CAMPAIGN_RESUME_PERIOD);
    loop {
        every_minute.tick().await;
        match service.campaigns().expire_unapproved().await {
            Ok(0) => {}
            Ok(expired) => tracing::info!(expired, "real alerts expired unapproved"),
            Err(e) => {
                tracing::warn!(error = %e, "unapproved alerts not checked; trying again in a minute")
            }
        }
        match service.schedules().run_due().await {
            Ok(0) => {}
            Ok(started) => tracing::info!(started, "scheduled tests started"),
            Err(e) => {
                tracing::warn!(error = %e, "scheduled tests not looked for; trying again in a minute")
            }
        }
        match service.campaigns().send_poll_reminders().await {
            Ok(0) => {}
            Ok(started) => tracing::info!(started, "poll reminders started"),
            Err(e) => {
                tracing::warn!(error = %e, "poll reminders not looked for; trying again in a minute")
            }
        }
        match service.campaigns().resume_enqueueing().await {
            Ok(0) => {}
            Ok(found) => tracing::debug!(found, "unfinished campaigns handed to an enqueuer"),
            Err(e) => {
                tracing::warn!(error = %e, "unfinished campaigns not looked for; trying again in a minute")
            }
        }
    }
}

/// Turns new texts into webhook deliveries, every second.
async fn enqueue_webhook_events(service: AlertService) {
    let mut every_second = tokio::time::interval(WEBHOOK_PERIOD);
    // A pass that took long (a slow database) is not followed by a burst of catch-ups.
    every_second.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every_second.tick().await;
        match service.webhooks().enqueue().await {
            Ok(0) => {}
            Ok(added) => tracing::debug!(added, "webhook deliveries enqueued"),
            Err(e) => tracing::warn!(error = %e, "webhook events not looked for; trying again"),
        }
    }
}

/// Posts due webhook deliveries, every second and whenever the enqueuer added some.
async fn dispatch_webhooks(service: AlertService) {
    let mut every_second = tokio::time::interval(WEBHOOK_PERIOD);
    every_second.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let wake = service.webhook_wake.clone();
    loop {
        tokio::select! {
            _ = every_second.tick() => {}
            () = wake.notified() => {}
        }
        if let Err(e) = service.webhooks().dispatch_due().await {
            tracing::warn!(error = %e, "webhook deliveries not posted; trying again");
        }
    }
}

/// Sends the alerts' e-mail copies that are due, every 5 seconds and whenever a campaign
/// queued some.
async fn send_email_copies(service: AlertService) {
    let mut every = tokio::time::interval(EMAIL_PERIOD);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let wake = service.mail_wake.clone();
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = wake.notified() => {}
        }
        match service.emails().send_due().await {
            Ok(0) => {}
            Ok(tried) => tracing::debug!(tried, "alert e-mail copies sent"),
            Err(e) => tracing::warn!(error = %e, "alert e-mail copies not sent; trying again"),
        }
    }
}

/// Sends the alerts' XMPP messages that are due, every 5 seconds, whenever a campaign
/// queued some and once the staff room let the announcer in; records what the server
/// bounced. Owns the announcer: when the job stops, the component leaves.
async fn send_xmpp_messages(
    service: AlertService,
    announcer: textgate_xmpp::announcer::AnnouncerHandle,
    mut events: tokio::sync::mpsc::Receiver<textgate_xmpp::announcer::AnnouncerEvent>,
) {
    use textgate_xmpp::announcer::AnnouncerEvent;
    let mut every = tokio::time::interval(XMPP_PERIOD);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let wake = service.xmpp_wake.clone();
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = wake.notified() => {}
            event = events.recv() => match event {
                None => return,
                Some(AnnouncerEvent::Bounced { id, reason }) => {
                    if let Err(e) = service.xmpp().bounced(&id, &reason).await {
                        tracing::warn!(error = %e, "a bounced XMPP alert could not be recorded");
                    }
                    continue;
                }
                Some(AnnouncerEvent::RoomJoined) => {
                    tracing::info!("alerts component joined the staff room");
                }
                Some(AnnouncerEvent::RoomRefused { reason }) => {
                    tracing::warn!(%reason, "the staff room refused the alerts component");
                    continue;
                }
            },
        }
        match service.xmpp().send_due(&announcer).await {
            Ok(0) => {}
            Ok(tried) => tracing::debug!(tried, "alert XMPP messages sent"),
            Err(e) => tracing::warn!(error = %e, "alert XMPP messages not sent; trying again"),
        }
    }
}
