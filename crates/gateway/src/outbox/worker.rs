//! The outbox worker's task: it waits for due replies, leases one, sends the parts the store
//! has no record of, records each part the network accepts, and completes, retries, gives
//! back or fails the reply (the argument for sending each part once is in the
//! [module doc](super)).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use textgate_gsm::pdu::Address;
use textgate_gsm::segment::Segmenter;
use textgate_modem::{
    AcceptedPart, MessageReference, OutgoingSms, Outlook, SendError, SendFailure as DriverFailure,
    SendProgress, SmsDriver,
};
use textgate_store::{
    BackendKind, Lease, LeasedOutbound, OutboundText, SentPart, Store, StoreError,
};
use textgate_telemetry::{Metrics, SendFailure};
use tokio::sync::watch;
use tracing::Instrument;

use super::completions::Completions;
use super::parts::{build_sms, references, text_key, unsent_parts, PartLog, Unsent};
use super::{after_failure, AfterFailure};
use crate::hooks;
use crate::notices::OperatorNotices;
use crate::report_matcher::RecordedSends;
use crate::settings::GatewaySettings;

/// How long to wait before trying again after the store itself failed.
const STORE_RETRY: Duration = Duration::from_secs(2);
/// How often a busy worker counts the outbox for the depth metric.
const DEPTH_EVERY: Duration = Duration::from_secs(1);
/// A floor on the wait between looks at the outbox, so a due text that cannot be leased
/// (another daemon holds its row lock) does not spin the worker.
const MIN_WAIT: Duration = Duration::from_millis(50);

/// How one attempt at a text's missing parts ended.
enum Attempt {
    /// The driver answered: every part went out, or the send failed (or stopped on
    /// request between parts).
    Answered(Result<(), SendError>),
    /// The daemon is stopping and the part with the modem did not finish within the grace.
    OutcomeUnknown,
}

/// Whether every part handed over got its answer before a text went back to the queue.
#[derive(Clone, Copy)]
enum Answer {
    Known,
    /// The last part handed over may or may not have gone (see [`Store::mark_retry_unsure`]).
    Lost,
}

/// What follows for a text with a part whose answer was lost.
enum Unsure {
    /// Send these parts now.
    Go(Unsent),
    /// Put back until a status report may have come.
    Later,
}

/// Whether the worker goes on.
enum Flow {
    Continue,
    Stopped,
}

/// The worker of one gateway's outbox.
#[derive(Clone)]
pub struct OutboxWorker {
    pub settings: Arc<GatewaySettings>,
    pub store: Store,
    pub driver: Arc<dyn SmsDriver>,
    /// Tells the operator a reply failed, or went out as several SMS.
    pub notices: OperatorNotices,
    pub segmenter: Segmenter,
    /// The lease owner's name in the store (gateway, process and a random suffix).
    pub worker_id: String,
    /// Told after each send the store recorded, so status reports that overtook the
    /// record (a fast network answers before the commit) are matched again.
    pub sent: RecordedSends,
    pub metrics: Metrics,
    /// Where finished sends are recorded ([`Completions::direct`] for one worker; workers
    /// side by side record theirs together).
    pub completions: Completions,
}

impl OutboxWorker {
    /// Runs until `shutdown` turns true.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        self.run_side_by_side(1, 1, shutdown).await;
    }

    /// Runs `copies` workers side by side until `shutdown` turns true, for a driver that
    /// works on several sends at once ([`SmsDriver::concurrency`]); each leases up to
    /// `sends_each` texts at a time and sends them together (the store never leases one
    /// text twice). A predecessor's leases are taken up
    /// once, before any copy leases: a copy doing it later would take its siblings'. One
    /// listener hears of new work for all of them: on PostgreSQL a `LISTEN` holds a
    /// connection of the pool, and fifty workers each holding one would starve the rest.
    pub async fn run_side_by_side(
        self,
        copies: usize,
        sends_each: usize,
        shutdown: watch::Receiver<bool>,
    ) {
        let mut this = self;
        if copies * sends_each > 1 {
            this.completions = Completions::gathered(this.store.clone());
        }
        let sends_each = u32::try_from(sends_each.max(1)).unwrap_or(u32::MAX);
        this.run_copies(copies, sends_each, shutdown).await;
    }

    async fn run_copies(self, copies: usize, sends_each: u32, shutdown: watch::Receiver<bool>) {
        self.reclaim_own_leases().await;
        let (wake, woken) = watch::channel(0u64);
        let (ready, listening) = tokio::sync::oneshot::channel();
        let listener = tokio::spawn(
            listen(
                self.store.clone(),
                self.settings.name.clone(),
                wake,
                ready,
                shutdown.clone(),
            )
            .instrument(tracing::Span::current()),
        );
        // Workers look for work only once the listener listens (or could not), so nothing
        // enqueued in between goes unheard.
        let _ = listening.await;
        let mut siblings = tokio::task::JoinSet::new();
        for copy in 1..copies.max(1) {
            let mut sibling = self.clone();
            sibling.worker_id = format!("{}-{copy}", self.worker_id);
            siblings.spawn(
                sibling
                    .serve(woken.clone(), sends_each, shutdown.clone())
                    .instrument(tracing::Span::current()),
            );
        }
        self.serve(woken, sends_each, shutdown).await;
        while siblings.join_next().await.is_some() {}
        let _ = listener.await;
    }

    async fn serve(
        self,
        mut woken: watch::Receiver<u64>,
        sends_each: u32,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let name = self.settings.name.clone();
        // While texts follow each other the depth is counted once a second, not after each
        // (a campaign's fifty workers would count the outbox thousands of times a second);
        // it is always counted when the worker finds nothing more to do.
        let mut counted_at: Option<tokio::time::Instant> = None;
        let mut busy = false;
        loop {
            // Every change to the outbox passes through here: an enqueue wakes this loop,
            // and each send, retry or failure comes back to it. Marked seen before looking
            // for work, so work enqueued while looking wakes the wait below.
            woken.borrow_and_update();
            if !busy || counted_at.is_none_or(|at| at.elapsed() >= DEPTH_EVERY) {
                self.report_depth().await;
                counted_at = Some(tokio::time::Instant::now());
            }
            if *shutdown.borrow() {
                return;
            }
            busy = false;
            match self.take_some(sends_each, &mut shutdown).await {
                Ok(Some(Flow::Continue)) => {
                    busy = true;
                    continue;
                }
                Ok(Some(Flow::Stopped)) => return,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "outbox: store failed");
                    if wait_or_stop(STORE_RETRY, &mut shutdown).await {
                        return;
                    }
                    continue;
                }
            }
            let wait = match self.store.next_outbound_due(&name).await {
                Ok(Some(due)) => (due - Utc::now())
                    .to_std()
                    .unwrap_or_default()
                    .max(MIN_WAIT),
                Ok(None) => Duration::from_secs(24 * 3600),
                Err(e) => {
                    tracing::warn!(error = %e, "outbox: store failed");
                    STORE_RETRY
                }
            };
            tokio::select! {
                changed = woken.changed() => {
                    if changed.is_err() {
                        // The listener ended: the gateway is stopping.
                        return;
                    }
                }
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// On SQLite this daemon is the database's only one, so a text still `sending` at
    /// start was left by its predecessor (killed mid-send): it is taken up now rather than
    /// when that dead worker's lease would have run out. On PostgreSQL other live daemons
    /// may be sending; their leases are short and renewed, so a dead one's text is taken
    /// up within one lease. A failure here only delays: the leases still run out.
    async fn reclaim_own_leases(&self) {
        if self.store.kind() != BackendKind::Sqlite {
            return;
        }
        match self
            .store
            .reclaim_leases(&self.settings.name, &self.worker_id)
            .await
        {
            Ok(0) => {}
            Ok(reclaimed) => tracing::info!(
                reclaimed,
                "taking up replies a stopped daemon was sending; parts it recorded as sent \
                 are not sent again"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot reclaim the leases of a stopped daemon"),
        }
    }

    /// The lease a worker asks for, renewed every third of it while a send goes on.
    fn lease_for(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.settings.outbox.lease)
            .unwrap_or(chrono::Duration::seconds(15))
    }

    /// Keeps the lease while the driver works. A renewal the store refuses is logged and
    /// left: the send goes on and what it records afterwards is refused in turn (the text
    /// is then another worker's, which sends only the parts recorded as missing).
    async fn renew(&self, log: &PartLog<'_>) {
        if let Err(e) = self.store.renew_lease(log.lease, self.lease_for()).await {
            tracing::warn!(outbound = log.text.id, error = %e, "cannot renew the lease");
        }
    }

    /// Sets the `textgate_outbox_depth` gauge from the store. A failed count leaves the
    /// gauge as it was: the next pass through the loop tries again.
    async fn report_depth(&self) {
        let gateway = &self.settings.name;
        match self.store.outbox_depth(gateway).await {
            Ok(depth) => self.metrics.set_outbox_depth(gateway, depth),
            Err(e) => tracing::debug!(error = %e, "cannot count the outbox"),
        }
    }

    /// Leases and sends one due text. `None` when nothing is due.
    /// Leases up to `batch` due texts and sends them together (one at a time for a modem);
    /// `None` when nothing was due.
    async fn take_some(
        &self,
        batch: u32,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Option<Flow>, StoreError> {
        let mut leased = self
            .store
            .lease_due(
                &self.settings.name,
                &self.worker_id,
                batch,
                self.lease_for(),
            )
            .await?;
        if leased.len() <= 1 {
            let Some(one) = leased.pop() else {
                return Ok(None);
            };
            return self.send(one, shutdown).await.map(Some);
        }
        let sends = leased.into_iter().map(|one| {
            let mut shutdown = shutdown.clone();
            async move { self.send(one, &mut shutdown).await }
        });
        let mut flow = Flow::Continue;
        for result in futures::future::join_all(sends).await {
            if let Flow::Stopped = result? {
                flow = Flow::Stopped;
            }
        }
        Ok(Some(flow))
    }

    async fn send(
        &self,
        leased: LeasedOutbound,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Flow, StoreError> {
        let LeasedOutbound { lease, text } = leased;
        let gateway = &self.settings.name;
        let Some(body) = text.body.clone() else {
            self.fail(
                &lease,
                &text,
                &BTreeMap::new(),
                "the text was erased before it could be sent",
            )
            .await?;
            self.metrics.send_failed(gateway, SendFailure::Other);
            return Ok(Flow::Continue);
        };
        let sms = match build_sms(&self.segmenter, &text.recipient, &body, text.id) {
            Ok(sms) => OutgoingSms {
                key: Some(text_key(text.id, text.created_at)),
                ..sms
            },
            Err(reason) => {
                self.fail(&lease, &text, &BTreeMap::new(), &reason).await?;
                // The number or the text is unusable (the segmenter refuses what exceeds
                // max_parts, which the runtime already refused before queueing).
                let failure = if Address::from_number(&text.recipient).is_err() {
                    SendFailure::BadRecipient
                } else {
                    SendFailure::TooLong
                };
                self.metrics.send_failed(gateway, failure);
                return Ok(Flow::Continue);
            }
        };
        // Parts are recorded only under a lease, so a text leased for the first time has
        // none: the question is asked of retries only (a campaign's first pass is most of
        // an alert's texts).
        let recorded = if text.attempts > 1 {
            self.store.sent_parts(text.id).await?
        } else {
            Vec::new()
        };
        let mut log = PartLog::new(&lease, &text, sms.parts.len(), &recorded);
        let mut unsent = unsent_parts(sms, &recorded);
        if let Some(since) = text.unsure_since {
            match self.settle_unsure(&mut log, since, unsent).await? {
                Unsure::Go(rest) => unsent = rest,
                Unsure::Later => return Ok(Flow::Continue),
            }
        }
        if !recorded.is_empty() {
            tracing::info!(
                outbound = text.id, stanza = text.xmpp_id.as_deref(),
                mr = %log.references(), sent = recorded.len(), parts = log.total,
                "resuming a reply: sending only the parts not sent before"
            );
        }
        let attempt = if unsent.numbers.is_empty() {
            // Every part went out before, but the text was not completed (the daemon
            // stopped between the last record and the completion).
            Attempt::Answered(Ok(()))
        } else if *shutdown.borrow() {
            let stopped = SendError::stopped(0, unsent.numbers.len(), Vec::new());
            Attempt::Answered(Err(stopped.renumbered(&unsent.numbers, log.total)))
        } else {
            self.send_unsent(&mut log, unsent, shutdown).await
        };
        let stopping = *shutdown.borrow();
        match attempt {
            Attempt::Answered(Ok(())) => {
                if let Err(error) = self.sent(&log).await {
                    // The completion did not commit: the last part at least keeps its
                    // record, so the next attempt does not send it again.
                    for (seq, reference) in std::mem::take(&mut log.noted) {
                        self.store_part(&mut log, seq, reference).await;
                    }
                    return Err(error);
                }
            }
            Attempt::Answered(Err(error))
                if stopping && matches!(error.failure, DriverFailure::Stopped { .. }) =>
            {
                self.give_back(&log, &error.to_string(), Answer::Known)
                    .await?;
            }
            Attempt::Answered(Err(error)) => self.failed_attempt(&log, &error).await?,
            Attempt::OutcomeUnknown => {
                let reason = format!(
                    "the daemon stopped while a part was with the modem and no answer came \
                     within {:?}; its status report is looked for before it is sent again",
                    self.settings.outbox.stop_grace
                );
                self.give_back(&log, &reason, Answer::Lost).await?;
            }
        }
        Ok(if stopping {
            Flow::Stopped
        } else {
            Flow::Continue
        })
    }

    /// An earlier attempt lost the answer for the first part still missing (the daemon
    /// died or the link ended with the part handed over): the network may have taken it,
    /// and, when the daemon died between a part's answer and its record, the part after it
    /// too. Status reports received since that attempt began, about this recipient and
    /// matching no recorded part, show which went: the missing parts are recorded, in
    /// order, with their references (the reports then match them as any other) and not
    /// sent again. While parts remain that no report accounts for, the text is put back
    /// until `report_wait` has passed since the doubt began (the worker sends other texts
    /// meanwhile; a modem keeps reports on the SIM while the daemon is down, and the
    /// restarted one reads them at start); after that they are sent and counted: the phone
    /// may show the first of them twice. A later report on a first copy matches nothing
    /// and ages out.
    async fn settle_unsure(
        &self,
        log: &mut PartLog<'_>,
        since: chrono::DateTime<Utc>,
        unsent: Unsent,
    ) -> Result<Unsure, StoreError> {
        let text = log.text;
        let found = if unsent.numbers.is_empty() {
            Vec::new()
        } else {
            self.store
                .unmatched_reports_about(&self.settings.name, &text.recipient, since)
                .await?
        };
        let mut unsent = unsent;
        for report in found.into_iter().take(unsent.numbers.len()) {
            let seq = unsent.numbers[0];
            let reference = MessageReference::from_stored(report.message_ref.clone());
            let part = SentPart {
                seq,
                message_ref: report.message_ref,
            };
            self.store.record_sent_part(log.lease, part).await?;
            tracing::info!(
                outbound = text.id, stanza = text.xmpp_id.as_deref(), mr = %reference,
                part = seq, parts = log.total,
                "the network reported the part whose answer was lost; not sending it again"
            );
            log.sent.insert(seq, reference);
            // The report matches the part now recorded.
            self.sent.recorded();
            unsent = unsent.without_first();
        }
        let Some(&first) = unsent.numbers.first() else {
            self.store.settle_unsure(log.lease).await?;
            return Ok(Unsure::Go(unsent));
        };
        let wait = if self.driver.reports_delivery() {
            self.settings.outbox.report_wait
        } else {
            Duration::ZERO
        };
        // The doubt began when the attempt was given back (a stop, a failure with its
        // backoff) or, for a dead daemon's attempt, no later than that attempt's start.
        let deadline = text
            .next_attempt_at
            .max(since + chrono::Duration::from_std(wait).unwrap_or_default());
        if Utc::now() < deadline {
            self.store.defer_unsure(log.lease, deadline).await?;
            tracing::info!(
                outbound = text.id, stanza = text.xmpp_id.as_deref(), part = first,
                parts = log.total, until = %deadline,
                "waiting for a status report on a part whose answer was lost"
            );
            return Ok(Unsure::Later);
        }
        self.store.settle_unsure(log.lease).await?;
        tracing::warn!(
            outbound = text.id,
            stanza = text.xmpp_id.as_deref(),
            part = first,
            parts = log.total,
            "sending again a part whose answer was lost: no status report showed it \
             arrived, so the phone may show it twice"
        );
        self.metrics.part_resent_unsure(&self.settings.name);
        Ok(Unsure::Go(unsent))
    }

    /// Sends the parts still missing, recording each part's message reference as soon as
    /// the network accepted it. A shutdown stops the send after the part with the modem,
    /// waiting for that part at most `stop_grace`.
    async fn send_unsent(
        &self,
        log: &mut PartLog<'_>,
        unsent: Unsent,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Attempt {
        let Unsent { sms, numbers } = unsent;
        log.numbers = numbers;
        let (progress, mut monitor) = SendProgress::channel();
        let send = self.driver.send_reporting(sms, progress);
        tokio::pin!(send);
        let mut grace_until = None;
        let every = (self.settings.outbox.lease / 3).max(MIN_WAIT);
        let mut renewal = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        renewal.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let answer = loop {
            tokio::select! {
                // Reports first, so a part is recorded before the send's end is looked at.
                biased;
                Some(part) = monitor.next_accepted() => {
                    if part.index + 1 == log.numbers.len() {
                        // The last part: the send ends with it, and the text's completion
                        // records it in the same commit (one durable write less per text).
                        // Recorded on its own below should the send not end well.
                        self.note(log, part);
                    } else if !self.record(log, part).await {
                        // Without its record a part would be sent again by the next
                        // attempt; start no more parts whose records may fail as well.
                        monitor.stop();
                    }
                }
                answer = &mut send => break Some(answer),
                _ = renewal.tick() => self.renew(log).await,
                _ = shutdown.changed(), if grace_until.is_none() => {
                    tracing::info!(
                        outbound = log.text.id,
                        stanza = log.text.xmpp_id.as_deref(), grace = ?self.settings.outbox.stop_grace,
                        "stopping: the part with the modem may finish, no other starts"
                    );
                    monitor.stop();
                    grace_until = Some(tokio::time::Instant::now() + self.settings.outbox.stop_grace);
                }
                // The part's outcome is unknown. The send is dropped unfinished; the AT
                // driver still finishes that part, but nothing will record it.
                _ = sleep_until_some(grace_until) => break None,
            }
        };
        monitor.stop();
        // Parts reported while the send was ending.
        while let Some(part) = monitor.try_next_accepted() {
            self.record(log, part).await;
        }
        if !matches!(answer, Some(Ok(_))) {
            // No completion follows at once: the noted last part is recorded now.
            for (seq, reference) in std::mem::take(&mut log.noted) {
                self.store_part(log, seq, reference).await;
            }
        }
        let (result, accepted) = match answer {
            Some(Ok(references)) => (Ok(()), references),
            Some(Err(error)) => {
                let accepted = error.accepted.clone();
                (Err(error.renumbered(&log.numbers, log.total)), accepted)
            }
            None => return Attempt::OutcomeUnknown,
        };
        // A driver reports every part it lists in its answer; record any it did not.
        for (index, reference) in accepted.into_iter().enumerate() {
            if !log.knows(index, &reference) {
                self.record(log, AcceptedPart { index, reference }).await;
            }
        }
        // Once more for the parts the store refused: it may be back. Should the lease be
        // lost, whatever follows is refused as well, and the worker holding the text now
        // sends the parts without a record.
        for seq in std::mem::take(&mut log.unrecorded) {
            if let Some(reference) = log.sent.get(&seq).cloned() {
                self.store_part(log, seq, reference).await;
            }
        }
        Attempt::Answered(result)
    }

    /// Records one part the network accepted; false when the store refused (the part is
    /// then kept in `log.unrecorded`).
    async fn record(&self, log: &mut PartLog<'_>, part: AcceptedPart) -> bool {
        match Self::log_part(log, part) {
            Some((seq, reference)) => self.store_part(log, seq, reference).await,
            None => true,
        }
    }

    /// Keeps an accepted part in the log (and the log file) without storing it yet: the
    /// text's completion, which follows at once, records it.
    fn note(&self, log: &mut PartLog<'_>, part: AcceptedPart) {
        if let Some((seq, reference)) = Self::log_part(log, part) {
            log.noted.push((seq, reference));
        }
    }

    /// The part number and reference of an accepted part, now in `log.sent`; `None` for a
    /// part the text does not have.
    fn log_part(log: &mut PartLog<'_>, part: AcceptedPart) -> Option<(u8, MessageReference)> {
        let Some(&seq) = log.numbers.get(part.index) else {
            tracing::warn!(
                outbound = log.text.id,
                index = part.index,
                "the driver reported a part the text does not have"
            );
            return None;
        };
        let reference = part.reference;
        log.sent.insert(seq, reference.clone());
        tracing::info!(
            outbound = log.text.id,
            stanza = log.text.xmpp_id.as_deref(),
            mr = %reference,
            part = seq,
            parts = log.total,
            "part sent"
        );
        Some((seq, reference))
    }

    async fn store_part(
        &self,
        log: &mut PartLog<'_>,
        seq: u8,
        reference: MessageReference,
    ) -> bool {
        let part = SentPart {
            seq,
            message_ref: reference.as_str().to_owned(),
        };
        match self.store.record_sent_part(log.lease, part).await {
            Ok(()) => {
                log.unrecorded.remove(&seq);
                // A status report for this part may have overtaken the record.
                self.sent.recorded();
                true
            }
            Err(e) => {
                tracing::warn!(
                    outbound = log.text.id, mr = %reference,
                    part = seq, error = %e, "cannot record a sent part"
                );
                log.unrecorded.insert(seq);
                false
            }
        }
    }

    /// Completes a text whose every part the network accepted.
    async fn sent(&self, log: &PartLog<'_>) -> Result<(), StoreError> {
        let gateway = &self.settings.name;
        self.completions.mark_sent(log.lease, log.parts()).await?;
        self.sent.recorded();
        tracing::info!(
            outbound = log.text.id, stanza = log.text.xmpp_id.as_deref(),
            mr = %log.references(), parts = log.total, "reply sent"
        );
        self.metrics
            .text_out(gateway, u32::try_from(log.total).unwrap_or(u32::MAX));
        if log.total > 1 {
            self.notices.sent_as(log.text.into(), log.total).await;
        }
        Ok(())
    }

    /// Gives a text back to the queue because the daemon is stopping; the restarted daemon
    /// sends the parts not recorded (after looking for the report on a part whose answer
    /// was lost).
    async fn give_back(
        &self,
        log: &PartLog<'_>,
        reason: &str,
        answer: Answer,
    ) -> Result<(), StoreError> {
        match answer {
            Answer::Known => self.store.mark_retry(log.lease, reason, Utc::now()).await?,
            Answer::Lost => {
                self.store
                    .mark_retry_unsure(log.lease, reason, Utc::now())
                    .await?
            }
        }
        tracing::info!(
            outbound = log.text.id,
            stanza = log.text.xmpp_id.as_deref(), mr = %log.references(),
            sent = log.sent.len(), parts = log.total, reason, "given back"
        );
        Ok(())
    }

    /// After a failed attempt: back to the queue with backoff (the parts recorded stay
    /// recorded and are not sent again), or a final failure.
    async fn failed_attempt(&self, log: &PartLog<'_>, error: &SendError) -> Result<(), StoreError> {
        let text = log.text;
        let attempts = u32::try_from(text.attempts).unwrap_or(u32::MAX);
        match after_failure(error.class(), attempts, &self.settings.outbox) {
            AfterFailure::RetryIn(delay) => {
                tracing::warn!(
                    outbound = text.id,
                    stanza = text.xmpp_id.as_deref(), mr = %log.references(), attempts,
                    error = %error, retry_in = ?delay, "sending failed; will retry"
                );
                let at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                if error.outcome_unknown() {
                    // The part may have gone: the next attempt looks for its report first.
                    self.store
                        .mark_retry_unsure(log.lease, &error.to_string(), at)
                        .await
                } else {
                    self.store
                        .mark_retry(log.lease, &error.to_string(), at)
                        .await
                }
            }
            AfterFailure::GiveUp => {
                self.metrics
                    .send_failed(&self.settings.name, hooks::failure_reason(error));
                // In words a librarian understands, what to do, then the technical detail
                // (the stored reason is what the send API and the log show too).
                let reason = error
                    .in_plain_words(Outlook::GaveUp { attempts })
                    .to_string();
                self.fail(log.lease, text, &log.sent, &reason).await
            }
        }
    }

    /// Gives up on a text and tells the operator on their original message. `sent` holds
    /// the parts that did go out (part number → message reference), for the log.
    async fn fail(
        &self,
        lease: &Lease,
        text: &OutboundText,
        sent: &BTreeMap<u8, MessageReference>,
        reason: &str,
    ) -> Result<(), StoreError> {
        tracing::warn!(
            outbound = text.id, stanza = text.xmpp_id.as_deref(),
            mr = %references(sent), reason, "reply failed"
        );
        self.store.mark_failed(lease, reason).await?;
        self.notices.not_sent(text.into(), reason).await;
        Ok(())
    }
}

/// Waits until `deadline`, or forever without one.
/// Hears of new outbound work for the gateway `name` and wakes its workers, listening again
/// whenever the signal is lost (and waking them then too: work may have come meanwhile).
/// `ready` is told once the first attempt to listen is over, whether it worked or not.
async fn listen(
    store: Store,
    name: String,
    wake: watch::Sender<u64>,
    ready: tokio::sync::oneshot::Sender<()>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ready = Some(ready);
    while !*shutdown.borrow() {
        match store.outbound_signal(&name).await {
            Ok(mut signal) => {
                wake.send_modify(|n| *n += 1);
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
                loop {
                    tokio::select! {
                        woke = signal.notified() => match woke {
                            Ok(()) => wake.send_modify(|n| *n += 1),
                            Err(e) => {
                                tracing::warn!(error = %e, "outbound signal lost; listening again");
                                break;
                            }
                        },
                        _ = shutdown.changed() => return,
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for outbound work");
                // The workers still look by the clock (the next due text) meanwhile.
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
                if wait_or_stop(STORE_RETRY, &mut shutdown).await {
                    return;
                }
            }
        }
    }
}

async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Waits `duration`; true when shutdown was asked for meanwhile.
async fn wait_or_stop(duration: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(duration) => *shutdown.borrow(),
        _ = shutdown.changed() => true,
    }
}
