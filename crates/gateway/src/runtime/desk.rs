//! The desk's commands: what a librarian asks the gateway itself, by chatting with its JID
//! or through an ad-hoc command (XEP-0050), both read as one command line
//! ([`DeskCommand::parse`]). Each answer says what happened in plain words; a command that
//! could not be carried out says why, marked as failed.
//!
//! The commands run on the event loop because they change what the loop owns (claims,
//! pauses) or read it (the texts waiting); the one that asks the modem (`status`) finishes
//! off the loop, so a modem that hangs never delays texts.

use std::fmt::Write as _;
use std::time::Duration;

use textgate_core::{BareJid, DeskCommand, GuestAccess, PatronAddress};
use textgate_store::{
    DeliveryReceipt, ExchangedText, NewOutbound, OutboundOrigin, Priority, Saved,
};
use textgate_xmpp::{DeskAnswer, DeskRequest, Outgoing};
use tracing::Instrument;

use super::Runtime;
use crate::handoff::{self, HandoffNote};

/// How long `status` waits for the modem to describe itself.
const STATUS_WAIT: Duration = Duration::from_secs(5);

/// What a command answers: its text, and whether it failed.
type Answer = Result<String, String>;

impl Runtime {
    /// Reads and carries out one request from an operator, and answers it.
    pub(super) async fn on_desk_request(&mut self, request: DeskRequest) {
        let span = tracing::info_span!("desk", operator = %request.operator.as_str());
        let result = match DeskCommand::parse(&request.line, self.settings.region) {
            Err(e) => Err(e.to_string()),
            Ok(DeskCommand::Status) => {
                // Finished off the loop: the modem may take a while to answer.
                let status = self.status_without_modem().await;
                let driver = self.driver.clone();
                let xmpp = self.xmpp.clone();
                let task = async move {
                    let modem = match tokio::time::timeout(STATUS_WAIT, driver.status()).await {
                        Ok(Ok(status)) => modem_lines(&status),
                        Ok(Err(e)) => format!("Phone line: not answering ({e}).\n"),
                        Err(_) => format!(
                            "Phone line: did not answer within {} s; replies wait and are \
                             retried.\n",
                            STATUS_WAIT.as_secs()
                        ),
                    };
                    answer(&xmpp, request, Ok(format!("{status}{modem}"))).await;
                };
                tokio::spawn(task.instrument(span));
                return;
            }
            Ok(command) => {
                tracing::info!(command = %request.line, "desk command");
                let resuming = command == DeskCommand::Resume;
                let result = self
                    .run_desk_command(&request, command)
                    .instrument(span.clone())
                    .await;
                answer(&self.xmpp, request.clone(), result)
                    .instrument(span.clone())
                    .await;
                if resuming {
                    // After the answer, so the librarian reads "Resumed" before the texts
                    // that waited for her.
                    if let Some(outcome) = self.resumed.take() {
                        self.flush(outcome).instrument(span).await;
                    }
                }
                return;
            }
        };
        answer(&self.xmpp, request, result).instrument(span).await;
    }

    async fn run_desk_command(
        &mut self,
        request: &DeskRequest,
        mut command: DeskCommand,
    ) -> Answer {
        if let (Some(handles), Some(patron)) = (self.xmpp.handles(), command.patron_mut()) {
            *patron = handles
                .named(patron)
                .await
                .map_err(|e| format!("Not done: {e}."))?;
        }
        let me = &request.operator;
        let name = self.settings.name.clone();
        if !self.router.is_home(me) {
            // Another desk's librarian: an operator here only for what is handed to them.
            match command.guest_access() {
                GuestAccess::Allowed => {}
                GuestAccess::IfHanded(patron) if self.router.may_answer(me, patron) => {}
                GuestAccess::IfHanded(patron) => {
                    return Err(format!(
                        "Not done: the conversation with {} belongs to the {name} desk. You \
                         can act on it once one of its librarians hands it to your desk.",
                        patron.formatted()
                    ))
                }
                GuestAccess::Refused => {
                    return Err(format!(
                        "Not done: \"{}\" is for the {name} desk's own librarians. You answer \
                         its conversations only when they are handed to your desk.",
                        command.word()
                    ))
                }
            }
        }
        let store_failed = |e: textgate_store::StoreError| {
            tracing::error!(error = %e, "a desk command could not reach the store");
            "The gateway could not reach its database; please try again.".to_owned()
        };
        match command {
            DeskCommand::Help => Ok(DeskCommand::help_text().to_owned()),
            DeskCommand::Status => Ok(self.status_without_modem().await),
            DeskCommand::Waiting => Ok(self.waiting()),
            DeskCommand::Pause => Ok(if self.router.pause(me) {
                self.claims.publish(&self.router);
                "Paused: you get no new conversations until you send \"resume\". Patrons \
                 you are answering still reach you."
                    .to_owned()
            } else {
                "You had paused already; send \"resume\" to take new conversations.".to_owned()
            }),
            DeskCommand::Resume => match self.router.resume(me) {
                Some(outcome) => {
                    self.claims.publish(&self.router);
                    let released = outcome.flush.len();
                    self.resumed = Some(outcome);
                    Ok(match released {
                        0 => "Resumed: new conversations reach you again.".to_owned(),
                        n => format!(
                            "Resumed: new conversations reach you again; {n} waiting text(s) \
                             are on their way."
                        ),
                    })
                }
                None => Ok("You were not paused.".to_owned()),
            },
            DeskCommand::Transfer { patron, to } => {
                self.router
                    .transfer(&patron, &to)
                    .map_err(|e| format!("Not transferred: {e}."))?;
                self.store_claim(&patron, Some(&to)).await;
                self.claims.publish(&self.router);
                let number = patron.formatted();
                if &to != me {
                    let body = format!(
                        "{} handed the conversation with {number} to you: their next texts \
                         come to you.",
                        me.as_str()
                    );
                    self.notices.desk(&body, vec![to.clone()]).await;
                }
                Ok(format!(
                    "{number} is now {}'s: their next texts go to them.",
                    to.as_str()
                ))
            }
            DeskCommand::TransferToDesk { patron, desk } => {
                self.hand_to_desk(me, &patron, &desk).await
            }
            DeskCommand::Release { patron } => {
                self.router
                    .release(&patron, me)
                    .map_err(|e| format!("Nothing released: {e}."))?;
                self.store_claim(&patron, None).await;
                self.claims.publish(&self.router);
                Ok(format!(
                    "Released {}: their next text goes to everyone available.",
                    patron.formatted()
                ))
            }
            DeskCommand::CannedList => {
                let replies = self
                    .store
                    .canned_replies(&name)
                    .await
                    .map_err(store_failed)?;
                if replies.is_empty() {
                    return Ok(
                        "No canned replies yet. Add one with: canned add <name> <text>".to_owned(),
                    );
                }
                let mut text = format!(
                    "{} canned replies (send one in a conversation as /name, or with \
                     \"canned send <name> <number>\"):",
                    replies.len()
                );
                for reply in replies {
                    let parts = self.segmenter.countdown(&reply.body).parts;
                    let _ = write!(text, "\n/{} ({parts} SMS): {}", reply.name, reply.body);
                }
                Ok(text)
            }
            DeskCommand::CannedAdd { name: reply, text } => {
                let countdown = self.segmenter.countdown(&text);
                if !countdown.within_limit() {
                    return Err(format!(
                        "Not saved: this text needs {} SMS, and this gateway sends at most {}. \
                         Please shorten it.",
                        countdown.parts, self.settings.max_parts
                    ));
                }
                let saved = self
                    .store
                    .save_canned_reply(&name, reply.as_str(), &text, me.as_str())
                    .await
                    .map_err(store_failed)?;
                let verb = match saved {
                    Saved::Created => "Saved",
                    Saved::Replaced => "Replaced",
                };
                Ok(format!(
                    "{verb} /{} ({} SMS). Send it in a conversation as /{}.",
                    reply.as_str(),
                    countdown.parts,
                    reply.as_str()
                ))
            }
            DeskCommand::CannedRemove { name: reply } => {
                if self
                    .store
                    .remove_canned_reply(&name, reply.as_str())
                    .await
                    .map_err(store_failed)?
                {
                    Ok(format!("Removed /{}.", reply.as_str()))
                } else {
                    Err(format!("There is no canned reply /{}.", reply.as_str()))
                }
            }
            DeskCommand::CannedSend {
                name: reply,
                patron,
            } => {
                let Some(canned) = self
                    .store
                    .canned_reply(&name, reply.as_str())
                    .await
                    .map_err(store_failed)?
                else {
                    return Err(format!(
                        "There is no canned reply /{}; send \"canned\" for the list.",
                        reply.as_str()
                    ));
                };
                self.send_canned(request, &patron, &canned.body).await
            }
            DeskCommand::Block { patron } => {
                if self
                    .store
                    .block_number(&name, patron.as_str(), me.as_str())
                    .await
                    .map_err(store_failed)?
                {
                    Ok(format!(
                        "Blocked {}: their texts are kept but reach nobody, and they get no \
                         answer. Send \"unblock {}\" to undo.",
                        patron.formatted(),
                        patron.as_str()
                    ))
                } else {
                    Ok(format!("{} was blocked already.", patron.formatted()))
                }
            }
            DeskCommand::Unblock { patron } => {
                if self
                    .store
                    .unblock_number(&name, patron.as_str())
                    .await
                    .map_err(store_failed)?
                {
                    Ok(format!(
                        "Unblocked {}: their next texts reach the desk.",
                        patron.formatted()
                    ))
                } else {
                    Err(format!("{} was not blocked.", patron.formatted()))
                }
            }
            DeskCommand::BlockedList => {
                let blocked = self
                    .store
                    .blocked_numbers(&name)
                    .await
                    .map_err(store_failed)?;
                if blocked.is_empty() {
                    return Ok("No number is blocked.".to_owned());
                }
                let mut text = format!("{} blocked number(s):", blocked.len());
                for entry in blocked {
                    let number = PatronAddress::from_sender(&entry.number, self.settings.region);
                    let _ = write!(
                        text,
                        "\n{} (by {}, {})",
                        number.formatted(),
                        entry.blocked_by,
                        entry.blocked_at.format("%Y-%m-%d %H:%M UTC")
                    );
                }
                Ok(text)
            }
        }
    }

    /// Queues a canned reply to `patron` as if the operator had typed it: it claims the
    /// conversation, and its receipt, errors and part count reach them as for any reply.
    async fn send_canned(
        &mut self,
        request: &DeskRequest,
        patron: &PatronAddress,
        body: &str,
    ) -> Answer {
        if !patron.is_reachable() {
            return Err(format!(
                "{patron} is a name, not a number: it cannot receive texts."
            ));
        }
        let parts = self.segmenter.countdown(body).parts;
        let text = NewOutbound {
            gateway: self.settings.name.clone(),
            recipient: patron.as_str().to_owned(),
            origin: OutboundOrigin::Chat {
                sender_jid: request.from.clone(),
                xmpp_id: format!("canned-{:016x}", rand::random::<u64>()),
                receipt: DeliveryReceipt::NotRequested,
            },
            body: body.to_owned(),
            priority: Priority::CHAT,
            not_before: None,
        };
        match self.store.enqueue_outbound(&text).await {
            Ok(insertion) => {
                tracing::info!(outbound = insertion.id(), "canned reply queued");
                self.activity.insert(patron.clone(), chrono::Utc::now());
                let _ = self.router.operator_replied(&request.operator, patron);
                self.store_claim_if_claimed(patron).await;
                self.claims.publish(&self.router);
                Ok(format!(
                    "Sending to {} ({parts} SMS): {body}",
                    patron.formatted()
                ))
            }
            Err(e) => {
                tracing::error!(error = %e, "could not queue a canned reply");
                Err("Not sent: the gateway could not queue it. Please try again.".to_owned())
            }
        }
    }

    /// Records the router's claim on `patron` in the store, if there is one.
    /// `transfer <number> <desk>`: the conversation goes to another gateway's desk, and
    /// stays on this number. Its librarians who are there hear of it at once.
    async fn hand_to_desk(&mut self, me: &BareJid, patron: &PatronAddress, desk: &str) -> Answer {
        let Some(place) = self
            .settings
            .transfer_desks
            .iter()
            .find(|d| d.name == desk)
            .cloned()
        else {
            let desks: Vec<&str> = self
                .settings
                .transfer_desks
                .iter()
                .map(|d| d.name.as_str())
                .collect();
            return Err(if desks.is_empty() {
                format!(
                    "Not transferred: this gateway hands conversations to no other desk (a \
                     sysadmin can allow it with transfer_to), and {desk} is not a colleague's \
                     address."
                )
            } else {
                format!(
                    "Not transferred: there is no desk called {desk}. Desks you can hand \
                     conversations to: {}.",
                    desks.join(", ")
                )
            });
        };
        let handed = self
            .router
            .hand_off(patron, desk)
            .map_err(|e| format!("Not transferred: {e}."))?;
        let there = handed.there;
        self.store_claim(patron, None).await;
        self.claims.publish(&self.router);
        let number = patron.formatted();
        // To those of the desk who are there; when nobody is, to all of them, which their
        // server keeps as an offline message: whoever comes first finds who handed it over
        // and what was said, not only the patron's next text.
        let told = if there.is_empty() {
            self.router
                .queues()
                .find(|(name, _)| *name == desk)
                .map(|(_, librarians)| librarians.iter().cloned().collect())
                .unwrap_or_default()
        } else {
            there.clone()
        };
        if !told.is_empty() {
            let so_far = self.conversation_so_far(patron).await;
            let note = HandoffNote {
                by: me.as_str(),
                patron: &number,
                desk: &place.display_name,
                gateway: &self.settings.domain,
                so_far: &so_far,
            }
            .render(chrono::Utc::now());
            self.notices.desk(&note, told).await;
        }
        // Texts the patron sent before, still waiting for a librarian here, go there.
        self.flush(handed.released).await;
        Ok(match there.len() {
            0 => format!(
                "{number} is now with the {} desk ({desk}). Nobody there is available: their \
                 next texts wait for one of its librarians, and so does a note of the handoff.",
                place.display_name
            ),
            n => format!(
                "{number} is now with the {} desk ({desk}); {n} of its librarians are there \
                 and were told. Replies still leave from this number.",
                place.display_name
            ),
        })
    }

    /// The last texts of the conversation with `patron`, for the desk it is handed to;
    /// none when the store cannot say (the handoff goes on without them).
    async fn conversation_so_far(&self, patron: &PatronAddress) -> Vec<ExchangedText> {
        let found = self
            .store
            .find_conversation(&self.settings.name, patron.as_str())
            .await;
        let result = match found {
            Ok(Some(conversation)) => {
                self.store
                    .recent_texts(conversation.id, handoff::TEXTS_SHOWN)
                    .await
            }
            Ok(None) => Ok(Vec::new()),
            Err(e) => Err(e),
        };
        result.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not read the conversation so far for the desk it is handed to");
            Vec::new()
        })
    }

    async fn store_claim_if_claimed(&self, patron: &PatronAddress) {
        let claimer = self.router.claimer(patron).cloned();
        if let Some(claimer) = claimer {
            self.store_claim(patron, Some(&claimer)).await;
        }
    }

    /// The part of `status` the loop knows without asking the modem.
    async fn status_without_modem(&self) -> String {
        let name = &self.settings.name;
        let mut text = format!("{} ({}):\n", name, self.settings.domain);
        let available = self.router.available();
        let paused: Vec<&str> = self
            .router
            .operators()
            .filter(|(jid, _)| self.router.is_paused(jid))
            .map(|(jid, _)| jid.as_str())
            .collect();
        let _ = writeln!(
            text,
            "Librarians taking new texts: {}{}",
            if available.is_empty() {
                "nobody".to_owned()
            } else {
                available
                    .iter()
                    .map(BareJid::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            if paused.is_empty() {
                String::new()
            } else {
                format!(" (paused: {})", paused.join(", "))
            }
        );
        let waiting = self.router.held().count() + self.stranded.len();
        let _ = writeln!(text, "Texts waiting for a librarian: {waiting}");
        match self.store.outbox_depth(name).await {
            Ok(depth) => {
                let _ = writeln!(text, "Replies waiting to be sent: {depth}");
            }
            Err(e) => {
                tracing::warn!(error = %e, "no outbox depth for the status");
                let _ = writeln!(text, "Replies waiting to be sent: unknown (database error)");
            }
        }
        if let Ok((last_in, last_out)) = self.store.last_traffic(name).await {
            let when = |at: Option<chrono::DateTime<chrono::Utc>>| match at {
                Some(at) => {
                    let minutes = (chrono::Utc::now() - at).num_minutes().max(0);
                    format!("{} ({minutes} min ago)", at.format("%Y-%m-%d %H:%M UTC"))
                }
                None => "never".to_owned(),
            };
            let _ = writeln!(
                text,
                "Last text in: {}; last reply out: {}",
                when(last_in),
                when(last_out)
            );
        }
        if let Ok(blocked) = self.store.blocked_inbound_count(name).await {
            if blocked > 0 {
                let _ = writeln!(text, "Texts from blocked numbers held back: {blocked}");
            }
        }
        let readiness = self.hooks.readiness.snapshot();
        if let Some(state) = readiness.get(name) {
            let _ = writeln!(
                text,
                "XMPP link: {:?}; phone line: {:?}",
                state.component, state.modem
            );
        }
        text
    }

    /// The `waiting` list: texts nobody has been shown yet, by patron, oldest first.
    fn waiting(&self) -> String {
        let mut by_patron: Vec<(&PatronAddress, usize)> = Vec::new();
        let held = self.router.held().map(|(_, patron)| patron);
        let stranded = self.stranded.iter().map(|(_, patron)| patron);
        for patron in held.chain(stranded) {
            match by_patron.iter_mut().find(|(p, _)| *p == patron) {
                Some((_, count)) => *count += 1,
                None => by_patron.push((patron, 1)),
            }
        }
        let flooding = self.flood.holding();
        if by_patron.is_empty() && flooding.is_empty() {
            return "No text is waiting: every text has reached a librarian.".to_owned();
        }
        let total: usize = by_patron.iter().map(|(_, n)| n).sum();
        let mut text = format!("{total} text(s) waiting for a librarian:");
        for (patron, count) in by_patron {
            let _ = write!(text, "\n{} ({count})", patron.formatted());
        }
        for (patron, count) in flooding {
            let _ = write!(
                text,
                "\n{} ({count} held back: they are sending too many texts)",
                patron.formatted()
            );
        }
        text
    }
}

/// Sends the answer to a request (best effort: a librarian whose client went away asks
/// again).
async fn answer(xmpp: &crate::handles::Component, request: DeskRequest, answer: Answer) {
    let (text, failed) = match answer {
        Ok(text) => (text, false),
        Err(text) => (text, true),
    };
    let answer = DeskAnswer {
        to: request.from,
        via: request.via,
        text: text.trim_end().to_owned(),
        failed,
    };
    if let Err(e) = xmpp.send(Outgoing::Answer(answer)).await {
        tracing::warn!(error = %e, "answer to a desk command not sent");
    }
}

/// The modem's side of `status`, in words.
fn modem_lines(status: &textgate_modem::ModemStatus) -> String {
    let mut text = String::new();
    if let Some(sim) = &status.sim {
        let _ = writeln!(text, "SIM: {sim}");
    }
    match status.signal.as_ref().and_then(|s| s.dbm()) {
        Some(dbm) => {
            let _ = writeln!(text, "Signal: {dbm} dBm");
        }
        None => {
            let _ = writeln!(text, "Signal: unknown");
        }
    }
    if let Some(registration) = &status.registration {
        let _ = writeln!(text, "Network: {}", registration.status);
    }
    if let Some(operator) = &status.operator {
        let _ = writeln!(text, "Operator: {operator}");
    }
    text
}
