//! The store's behaviour, each test run on PostgreSQL and on SQLite.

mod support;

use std::io::Read;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use expect_test::{expect, Expect};
use support::Ctx;
use textgate_store::{
    Concatenation, Deletion, DeliveryReceipt, InboundState, Insertion, NewInbound, NewOutbound,
    OutboundOrigin, OutboundState, PartOutcome, PendingInsertion, PendingPart, Priority, Selection,
    SentPart, StoreError, TranscriptPolicy,
};

const GW: &str = "library";
const ALICE: &str = "alice@library.example";
const BOB: &str = "bob@library.example";

fn sms(ctx: &Ctx, sender: &str, body: &str) -> NewInbound {
    let offset = FixedOffset::east_opt(3600).expect("valid offset");
    NewInbound {
        gateway: GW.to_string(),
        sender: sender.to_string(),
        smsc_time: ctx.clock_now().with_timezone(&offset),
        received_at: ctx.clock_now(),
        body: body.to_string(),
        concatenation: None,
        parts_hex: vec![format!("PDU-{body}")],
        incomplete: false,
        consumed_pending_parts: Vec::new(),
    }
}

fn reply(to: &str, xmpp_id: &str, body: &str) -> NewOutbound {
    NewOutbound {
        gateway: GW.to_string(),
        recipient: to.to_string(),
        origin: OutboundOrigin::Chat {
            sender_jid: ALICE.to_string(),
            xmpp_id: xmpp_id.to_string(),
            receipt: DeliveryReceipt::NotRequested,
        },
        body: body.to_string(),
        priority: Priority::CHAT,
        not_before: None,
    }
}

fn alert(campaign_id: i64, to: &str, body: &str) -> NewOutbound {
    NewOutbound {
        gateway: GW.to_string(),
        recipient: to.to_string(),
        origin: OutboundOrigin::Campaign { campaign_id },
        body: body.to_string(),
        priority: Priority::ALERT,
        not_before: None,
    }
}

trait ClockNow {
    fn clock_now(&self) -> DateTime<Utc>;
}

impl ClockNow for Ctx {
    fn clock_now(&self) -> DateTime<Utc> {
        use textgate_store::Clock;
        self.clock.now()
    }
}

const LEASE: Duration = Duration::seconds(30);

on_both_backends!(
    inbound_read_twice_is_stored_once,
    inbound_lifecycle_erases_body_on_delivery,
    transcripts_on_keeps_bodies,
    backlog_is_in_arrival_order,
    pending_parts_survive_until_the_text_is_stored,
    reply_is_enqueued_once_and_sent,
    status_reports_are_matched_to_recent_parts,
    status_reports_may_arrive_before_the_last_part_is_sent,
    a_receipt_request_travels_with_the_reply_to_its_status_report,
    a_receipt_matches_a_part_by_its_message_centre_id,
    an_interrupted_text_keeps_its_sent_parts_for_the_retry,
    a_report_for_a_part_sent_before_the_retry_still_matches,
    reports_racing_mark_sent_never_deadlock,
    expired_lease_returns_work_and_stale_completion_is_refused,
    a_renewed_lease_keeps_the_text_from_other_workers,
    reclaimed_leases_are_due_at_once,
    a_lost_answer_makes_the_next_attempt_unsure_until_settled,
    alerts_go_ahead_of_chat_and_retries_wait,
    two_pools_never_take_the_same_row,
    claims_are_recorded,
    delete_transcripts_by_conversation,
    delete_records_by_date_range,
    export_is_a_readable_zip,
    daily_statistics,
    enqueue_wakes_a_waiting_worker,
    outbox_depth_counts_queued_and_sending,
    a_campaign_is_enqueued_in_batches_once,
    texts_finished_together_are_recorded_in_one_go,
    one_receipt_for_a_text_sent_as_one_message_delivers_every_part,
    one_receipt_that_overtook_the_later_parts_delivers_them_too,
);

async fn inbound_read_twice_is_stored_once(ctx: Ctx) {
    let text = sms(&ctx, "+15551234567", "Is the library open today?");
    let first = ctx.store.insert_inbound(&text).await.unwrap();
    let second = ctx.store.insert_inbound(&text).await.unwrap();
    assert!(first.is_new());
    assert_eq!(second, Insertion::Duplicate(first.id()));

    // The same words from the same sender at another SMSC time are another text.
    let mut again_later = text.clone();
    again_later.smsc_time += Duration::minutes(5);
    assert!(ctx
        .store
        .insert_inbound(&again_later)
        .await
        .unwrap()
        .is_new());

    let conversation = ctx
        .store
        .find_conversation(GW, "+15551234567")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((conversation.texts_in, conversation.texts_out), (2, 0));
    let stored = ctx.store.inbound(first.id()).await.unwrap().unwrap();
    assert_eq!(stored.smsc_time, text.smsc_time);
    assert_eq!(stored.smsc_time.offset().local_minus_utc(), 3600);
    assert_eq!(stored.state, InboundState::Stored);
    assert_eq!(
        ctx.store.inbound_parts(first.id()).await.unwrap(),
        vec!["PDU-Is the library open today?"]
    );
}

async fn inbound_lifecycle_erases_body_on_delivery(ctx: Ctx) {
    let id = ctx
        .store
        .insert_inbound(&sms(&ctx, "+15551234567", "hello"))
        .await
        .unwrap()
        .id();
    assert_eq!(ctx.store.mark_inbound_offered(&[id]).await.unwrap(), 1);
    assert_eq!(
        ctx.store.inbound(id).await.unwrap().unwrap().state,
        InboundState::Offered
    );
    ctx.clock.advance(Duration::seconds(2));
    assert_eq!(
        ctx.store
            .mark_inbound_delivered(&[id], ALICE)
            .await
            .unwrap(),
        1
    );
    // Delivering again changes nothing.
    assert_eq!(
        ctx.store.mark_inbound_delivered(&[id], BOB).await.unwrap(),
        0
    );

    let text = ctx.store.inbound(id).await.unwrap().unwrap();
    assert_eq!(text.state, InboundState::Delivered);
    assert_eq!(text.delivered_to.as_deref(), Some(ALICE));
    assert_eq!(text.delivered_at, Some(ctx.clock_now()));
    assert_eq!(text.body, None, "transcripts are off by default");
    assert_eq!(text.body_chars, 5, "the record keeps the length");
    assert!(
        ctx.store.inbound_parts(id).await.unwrap().is_empty(),
        "PDUs hold the text too"
    );
    assert!(ctx
        .store
        .undelivered_inbound(GW, 10)
        .await
        .unwrap()
        .is_empty());
    let conversation = ctx
        .store
        .conversation(text.conversation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conversation.texts_in, 1);
}

async fn transcripts_on_keeps_bodies(ctx: Ctx) {
    assert_eq!(
        ctx.store.transcript_policy(GW).await.unwrap(),
        TranscriptPolicy::EraseOnDelivery
    );
    ctx.store
        .set_transcript_policy(GW, TranscriptPolicy::Keep)
        .await
        .unwrap();
    assert_eq!(
        ctx.store.transcript_policy(GW).await.unwrap(),
        TranscriptPolicy::Keep
    );
    let id = ctx
        .store
        .insert_inbound(&sms(&ctx, "+15551234567", "hello"))
        .await
        .unwrap()
        .id();
    ctx.store
        .mark_inbound_delivered(&[id], ALICE)
        .await
        .unwrap();
    assert_eq!(
        ctx.store
            .inbound(id)
            .await
            .unwrap()
            .unwrap()
            .body
            .as_deref(),
        Some("hello")
    );
    assert_eq!(ctx.store.inbound_parts(id).await.unwrap().len(), 1);

    let out = ctx
        .store
        .enqueue_outbound(&reply("+15551234567", "m1", "hi"))
        .await
        .unwrap()
        .id();
    let leased = ctx.store.lease_due(GW, "w", 1, LEASE).await.unwrap();
    ctx.store
        .mark_sent(
            &leased[0].lease,
            &[SentPart {
                seq: 1,
                message_ref: "7".to_owned(),
            }],
        )
        .await
        .unwrap();
    assert_eq!(
        ctx.store
            .outbound(out)
            .await
            .unwrap()
            .unwrap()
            .body
            .as_deref(),
        Some("hi")
    );

    // Another gateway still erases.
    let mut other = sms(&ctx, "+15551234567", "elsewhere");
    other.gateway = "annex".to_string();
    let other = ctx.store.insert_inbound(&other).await.unwrap().id();
    ctx.store
        .mark_inbound_delivered(&[other], ALICE)
        .await
        .unwrap();
    assert_eq!(ctx.store.inbound(other).await.unwrap().unwrap().body, None);
}

async fn backlog_is_in_arrival_order(ctx: Ctx) {
    let mut ids = Vec::new();
    for n in 0..5 {
        let sender = if n % 2 == 0 {
            "+15550000001"
        } else {
            "SHORTCODE"
        };
        ids.push(
            ctx.store
                .insert_inbound(&sms(&ctx, sender, &format!("text {n}")))
                .await
                .unwrap()
                .id(),
        );
        ctx.clock.advance(Duration::seconds(1));
    }
    ctx.store
        .mark_inbound_delivered(&ids[1..2], ALICE)
        .await
        .unwrap();
    let backlog = ctx.store.undelivered_inbound(GW, 3).await.unwrap();
    let bodies: Vec<_> = backlog.iter().map(|t| t.body.clone().unwrap()).collect();
    assert_eq!(bodies, ["text 0", "text 2", "text 3"]);
    assert!(ctx
        .store
        .undelivered_inbound("annex", 10)
        .await
        .unwrap()
        .is_empty());
}

async fn pending_parts_survive_until_the_text_is_stored(ctx: Ctx) {
    let concatenation = Concatenation {
        reference: 300,
        reference_bits: 16,
        total: 2,
    };
    let part = |seq: u8| PendingPart {
        gateway: GW.to_string(),
        sender: "+15551234567".to_string(),
        concatenation,
        seq,
        pdu_hex: format!("PART{seq}"),
        received_at: start_time_plus(seq),
    };
    let PendingInsertion::New(first) = ctx.store.store_pending_part(&part(2)).await.unwrap() else {
        panic!("a new part is stored")
    };
    assert_eq!(
        ctx.store.store_pending_part(&part(2)).await.unwrap(),
        PendingInsertion::Duplicate(first)
    );
    let PendingInsertion::New(second) = ctx.store.store_pending_part(&part(1)).await.unwrap()
    else {
        panic!("a new part is stored")
    };

    // A restarted daemon gets the parts back, in order.
    let pending = ctx.store.pending_parts(GW).await.unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|p| (p.id, p.part.seq))
            .collect::<Vec<_>>(),
        [(second, 1), (first, 2)]
    );
    assert_eq!(pending[1].part, part(2));

    let mut text = sms(&ctx, "+15551234567", "one two");
    text.concatenation = Some(concatenation);
    text.parts_hex = vec!["PART1".into(), "PART2".into()];
    text.consumed_pending_parts = pending.iter().map(|p| p.id).collect();
    let id = ctx.store.insert_inbound(&text).await.unwrap().id();
    assert!(ctx.store.pending_parts(GW).await.unwrap().is_empty());
    assert_eq!(
        ctx.store.inbound_parts(id).await.unwrap(),
        ["PART1", "PART2"]
    );
    assert_eq!(ctx.store.inbound(id).await.unwrap().unwrap().part_count, 2);

    // Part 2 read again from the SIM after the text was committed (the daemon died before
    // deleting it): recognised, not a new pending text.
    assert_eq!(
        ctx.store.store_pending_part(&part(2)).await.unwrap(),
        PendingInsertion::Committed(id)
    );
    assert!(ctx.store.pending_parts(GW).await.unwrap().is_empty());
    // A later text of the same patron reusing the reference has other PDUs: it is new.
    let mut later = part(2);
    later.pdu_hex = "LATER-PART2".to_string();
    assert!(matches!(
        ctx.store.store_pending_part(&later).await.unwrap(),
        PendingInsertion::New(_)
    ));
}

fn start_time_plus(seconds: u8) -> DateTime<Utc> {
    support::start_time() + Duration::seconds(i64::from(seconds))
}

async fn reply_is_enqueued_once_and_sent(ctx: Ctx) {
    let first = ctx
        .store
        .enqueue_outbound(&reply("+15551234567", "m1", "We open at 9."))
        .await
        .unwrap();
    let again = ctx
        .store
        .enqueue_outbound(&reply("+15551234567", "m1", "We open at 9."))
        .await
        .unwrap();
    assert_eq!(again, Insertion::Duplicate(first.id()));
    let queued = ctx.store.outbound(first.id()).await.unwrap().unwrap();
    assert_eq!((queued.state, queued.attempts), (OutboundState::Queued, 0));
    assert_eq!(queued.sender_jid.as_deref(), Some(ALICE));
    assert_eq!(queued.xmpp_id.as_deref(), Some("m1"));
    let conversation = ctx
        .store
        .conversation(queued.conversation_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((conversation.texts_in, conversation.texts_out), (0, 1));

    let leased = ctx
        .store
        .lease_due(GW, "worker-a", 10, LEASE)
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(
        (leased[0].text.state, leased[0].text.attempts),
        (OutboundState::Sending, 1)
    );
    assert!(ctx
        .store
        .lease_due(GW, "worker-b", 10, LEASE)
        .await
        .unwrap()
        .is_empty());

    let parts = [
        SentPart {
            seq: 1,
            message_ref: "41".to_owned(),
        },
        SentPart {
            seq: 2,
            message_ref: "42".to_owned(),
        },
    ];
    let state = ctx.store.mark_sent(&leased[0].lease, &parts).await.unwrap();
    assert_eq!(state, OutboundState::Sent);
    let sent = ctx.store.outbound(first.id()).await.unwrap().unwrap();
    assert_eq!(sent.state, OutboundState::Sent);
    assert_eq!(sent.sent_at, Some(ctx.clock_now()));
    assert_eq!(sent.body, None, "transcripts are off by default");
    assert_eq!(sent.body_chars, 13);
    // Completing twice is refused: the lease ended with the first completion.
    let again = ctx.store.mark_sent(&leased[0].lease, &parts).await;
    assert!(
        matches!(again, Err(StoreError::LeaseLost { .. })),
        "{again:?}"
    );
}

async fn status_reports_are_matched_to_recent_parts(ctx: Ctx) {
    let window = Duration::hours(1);
    // An old text that used reference 42 long ago, outside the window.
    let old = ctx
        .store
        .enqueue_outbound(&reply("+15550000001", "old", "old"))
        .await
        .unwrap()
        .id();
    let lease = ctx
        .store
        .lease_due(GW, "w", 1, LEASE)
        .await
        .unwrap()
        .remove(0)
        .lease;
    ctx.store
        .mark_sent(
            &lease,
            &[SentPart {
                seq: 1,
                message_ref: "42".to_owned(),
            }],
        )
        .await
        .unwrap();
    ctx.clock.advance(Duration::hours(2));

    let two = ctx
        .store
        .enqueue_outbound(&reply("+15551234567", "m2", "two parts"))
        .await
        .unwrap()
        .id();
    let lease = ctx
        .store
        .lease_due(GW, "w", 1, LEASE)
        .await
        .unwrap()
        .remove(0)
        .lease;
    let parts = [
        SentPart {
            seq: 1,
            message_ref: "42".to_owned(),
        },
        SentPart {
            seq: 2,
            message_ref: "43".to_owned(),
        },
    ];
    ctx.store.mark_sent(&lease, &parts).await.unwrap();

    let first = ctx
        .store
        .record_status_report(GW, "42", &PartOutcome::Delivered, window)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (first.outbound_id, first.seq, first.state),
        (two, 1, OutboundState::Sent)
    );
    // The same reference again: the recent part already has its report, the old one is
    // outside the window.
    assert_eq!(
        ctx.store
            .record_status_report(GW, "42", &PartOutcome::Delivered, window)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        ctx.store
            .record_status_report("annex", "43", &PartOutcome::Delivered, window)
            .await
            .unwrap(),
        None
    );
    let last = ctx
        .store
        .record_status_report(GW, "43", &PartOutcome::Delivered, window)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (last.outbound_id, last.state),
        (two, OutboundState::Delivered)
    );
    assert_eq!(
        (last.sender_jid.as_deref(), last.xmpp_id.as_deref()),
        (Some(ALICE), Some("m2"))
    );
    assert_eq!(
        ctx.store.outbound(old).await.unwrap().unwrap().state,
        OutboundState::Sent
    );

    let failing = ctx
        .store
        .enqueue_outbound(&reply("+15551234567", "m3", "no"))
        .await
        .unwrap()
        .id();
    let lease = ctx
        .store
        .lease_due(GW, "w", 1, LEASE)
        .await
        .unwrap()
        .remove(0)
        .lease;
    ctx.store
        .mark_sent(
            &lease,
            &[SentPart {
                seq: 1,
                message_ref: "44".to_owned(),
            }],
        )
        .await
        .unwrap();
    let failed = PartOutcome::Failed {
        reason: "recipient unknown".to_string(),
    };
    let report = ctx
        .store
        .record_status_report(GW, "44", &failed, window)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.state, OutboundState::Failed);
    let text = ctx.store.outbound(failing).await.unwrap().unwrap();
    assert_eq!(text.last_error.as_deref(), Some("recipient unknown"));
    assert_eq!(text.finished_at, Some(ctx.clock_now()));
}

/// A message centre names each part it takes by an id of its own (SMPP's `message_id`,
/// up to 64 characters) rather than a modem's TP-MR: the part is recorded under that id,
/// read back with it, and its receipt matches it by the whole id, exactly. A receipt that
/// matched nothing yet is kept with its id too.
async fn a_receipt_matches_a_part_by_its_message_centre_id(ctx: Ctx) {
    let window = Duration::hours(1);
    let id = ctx
        .store
        .enqueue_outbound(&reply("+15551234567", "smsc-1", "hello"))
        .await
        .unwrap()
        .id();
    let lease = lease_one(&ctx, "w").await.lease;
    let sent = SentPart {
        seq: 1,
        message_ref: "4f1c0a9e-77".to_owned(),
    };
    ctx.store
        .record_sent_part(&lease, sent.clone())
        .await
        .unwrap();
    assert_eq!(
        ctx.store
            .mark_sent(&lease, std::slice::from_ref(&sent))
            .await
            .unwrap(),
        OutboundState::Sent
    );
    assert_eq!(ctx.store.sent_parts(id).await.unwrap(), [sent]);

    // Nothing but the whole id, as given, names the part.
    for other in ["4f1c0a9e", "4F1C0A9E-77", "77", "4f1c0a9e-77 "] {
        let matched = ctx
            .store
            .record_status_report(GW, other, &PartOutcome::Delivered, window)
            .await
            .unwrap();
        assert_eq!(matched, None, "{other:?}");
    }
    let matched = ctx
        .store
        .record_status_report(GW, "4f1c0a9e-77", &PartOutcome::Delivered, window)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (matched.outbound_id, matched.seq, matched.state),
        (id, 1, OutboundState::Delivered)
    );

    let longest = "0123456789abcdef".repeat(4);
    let kept = ctx
        .store
        .keep_unmatched_report(GW, &longest, &PartOutcome::Delivered, None)
        .await
        .unwrap();
    let unmatched = ctx.store.unmatched_reports(GW).await.unwrap();
    let unmatched: Vec<(i64, &str)> = unmatched
        .iter()
        .map(|r| (r.id, r.message_ref.as_str()))
        .collect();
    assert_eq!(unmatched, [(kept, longest.as_str())]);
}

/// Whether the librarian asked for a receipt is stored with the reply, not only in the
/// daemon that queued it: the worker that leases it and whoever matches its last status
/// report (after a restart, or another daemon) read it back with everything the receipt
/// needs.
async fn a_receipt_request_travels_with_the_reply_to_its_status_report(ctx: Ctx) {
    let window = Duration::hours(1);
    let asked = NewOutbound {
        origin: OutboundOrigin::Chat {
            sender_jid: format!("{ALICE}/desk"),
            xmpp_id: "asked".to_string(),
            receipt: DeliveryReceipt::Requested,
        },
        ..reply("+15551234567", "asked", "On hold for you.")
    };
    let asked = ctx.store.enqueue_outbound(&asked).await.unwrap().id();
    let silent = ctx
        .store
        .enqueue_outbound(&reply("+15557654321", "silent", "Open till 8."))
        .await
        .unwrap()
        .id();
    let leased = ctx.store.lease_due(GW, "w", 2, LEASE).await.unwrap();
    let leased_receipts: Vec<(i64, DeliveryReceipt)> =
        leased.iter().map(|l| (l.text.id, l.text.receipt)).collect();
    assert_eq!(
        leased_receipts,
        [
            (asked, DeliveryReceipt::Requested),
            (silent, DeliveryReceipt::NotRequested)
        ]
    );
    for (leased, message_ref) in leased.iter().zip(["21", "22"]) {
        ctx.store
            .mark_sent(
                &leased.lease,
                &[SentPart {
                    seq: 1,
                    message_ref: message_ref.to_owned(),
                }],
            )
            .await
            .unwrap();
    }

    let matched = |message_ref: &'static str| {
        let store = ctx.store.clone();
        async move {
            store
                .record_status_report(GW, message_ref, &PartOutcome::Delivered, window)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let asked_report = matched("21").await;
    assert_eq!(
        (
            asked_report.outbound_id,
            asked_report.state,
            asked_report.receipt,
            asked_report.recipient.as_str(),
            asked_report.sender_jid.as_deref(),
            asked_report.xmpp_id.as_deref(),
        ),
        (
            asked,
            OutboundState::Delivered,
            DeliveryReceipt::Requested,
            "+15551234567",
            Some("alice@library.example/desk"),
            Some("asked"),
        )
    );
    let silent_report = matched("22").await;
    assert_eq!(
        (
            silent_report.outbound_id,
            silent_report.receipt,
            silent_report.recipient.as_str()
        ),
        (silent, DeliveryReceipt::NotRequested, "+15557654321")
    );
    // A fresh read of the row says the same.
    let stored = ctx.store.outbound(asked).await.unwrap().unwrap();
    assert_eq!(stored.receipt, DeliveryReceipt::Requested);
}

async fn status_reports_may_arrive_before_the_last_part_is_sent(ctx: Ctx) {
    let window = Duration::hours(1);
    let id = ctx
        .store
        .enqueue_outbound(&reply("+15551234567", "m1", "long"))
        .await
        .unwrap()
        .id();
    let lease = ctx
        .store
        .lease_due(GW, "w", 1, LEASE)
        .await
        .unwrap()
        .remove(0)
        .lease;
    let parts = [
        SentPart {
            seq: 1,
            message_ref: "10".to_owned(),
        },
        SentPart {
            seq: 2,
            message_ref: "11".to_owned(),
        },
    ];
    ctx.store
        .record_sent_part(&lease, parts[0].clone())
        .await
        .unwrap();
    let early = ctx
        .store
        .record_status_report(GW, "10", &PartOutcome::Delivered, window)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (early.outbound_id, early.state),
        (id, OutboundState::Sending)
    );
    ctx.store
        .record_sent_part(&lease, parts[1].clone())
        .await
        .unwrap();
    let last = ctx
        .store
        .record_status_report(GW, "11", &PartOutcome::Delivered, window)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.state, OutboundState::Sending);
    // Every part already reached the phone: the text is delivered as it is recorded sent.
    assert_eq!(
        ctx.store.mark_sent(&lease, &parts).await.unwrap(),
        OutboundState::Delivered
    );

    // A part that failed while the rest was being sent fails the text at mark_sent.
    let id = ctx
        .store
        .enqueue_outbound(&reply("+15551234567", "m2", "long"))
        .await
        .unwrap()
        .id();
    let lease = ctx
        .store
        .lease_due(GW, "w", 1, LEASE)
        .await
        .unwrap()
        .remove(0)
        .lease;
    ctx.store
        .record_sent_part(
            &lease,
            SentPart {
                seq: 1,
                message_ref: "12".to_owned(),
            },
        )
        .await
        .unwrap();
    let failed = PartOutcome::Failed {
        reason: "SMSC rejected".to_string(),
    };
    let report = ctx
        .store
        .record_status_report(GW, "12", &failed, window)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.state, OutboundState::Sending);
    let parts = [
        SentPart {
            seq: 1,
            message_ref: "12".to_owned(),
        },
        SentPart {
            seq: 2,
            message_ref: "13".to_owned(),
        },
    ];
    assert_eq!(
        ctx.store.mark_sent(&lease, &parts).await.unwrap(),
        OutboundState::Failed
    );
    let text = ctx.store.outbound(id).await.unwrap().unwrap();
    assert_eq!(text.last_error.as_deref(), Some("SMSC rejected"));

    // Recording a part needs the lease.
    let id = ctx
        .store
        .enqueue_outbound(&reply("+15551234567", "m3", "x"))
        .await
        .unwrap()
        .id();
    let stale = ctx
        .store
        .lease_due(GW, "a", 1, LEASE)
        .await
        .unwrap()
        .remove(0)
        .lease;
    ctx.clock.advance(LEASE);
    let fresh = ctx
        .store
        .lease_due(GW, "b", 1, LEASE)
        .await
        .unwrap()
        .remove(0)
        .lease;
    assert_eq!(fresh.outbound_id, id);
    let refused = ctx
        .store
        .record_sent_part(
            &stale,
            SentPart {
                seq: 1,
                message_ref: "14".to_owned(),
            },
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::LeaseLost { .. })),
        "{refused:?}"
    );
}

/// Part `seq` sent with TP-MR `message_ref`, as the store records it.
fn part(seq: u8, message_ref: u8) -> SentPart {
    SentPart {
        seq,
        message_ref: message_ref.to_string(),
    }
}

/// Leases the only due text of the gateway.
async fn lease_one(ctx: &Ctx, worker: &str) -> textgate_store::LeasedOutbound {
    let mut leased = ctx.store.lease_due(GW, worker, 1, LEASE).await.unwrap();
    assert_eq!(leased.len(), 1, "one text is due");
    leased.remove(0)
}

/// A three-part text whose sending stopped after two parts (the daemon stopped, or part 3
/// failed): the retry finds the two recorded parts and sends only the third; completing it
/// with every part keeps the report that arrived for part 1 before the retry.
async fn an_interrupted_text_keeps_its_sent_parts_for_the_retry(ctx: Ctx) {
    let window = Duration::hours(1);
    let id = ctx
        .store
        .enqueue_outbound(&reply("+15551234567", "m1", "three parts"))
        .await
        .unwrap()
        .id();
    assert_eq!(ctx.store.sent_parts(id).await.unwrap(), []);
    let first = lease_one(&ctx, "worker-a").await;
    // Recorded out of order, read back by part number.
    ctx.store
        .record_sent_part(&first.lease, part(2, 31))
        .await
        .unwrap();
    ctx.store
        .record_sent_part(&first.lease, part(1, 30))
        .await
        .unwrap();
    let early = ctx
        .store
        .record_status_report(GW, "30", &PartOutcome::Delivered, window)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((early.outbound_id, early.seq), (id, 1));
    ctx.store
        .mark_retry(&first.lease, "the daemon stopped", ctx.clock_now())
        .await
        .unwrap();

    let retry = lease_one(&ctx, "worker-b").await;
    assert_eq!((retry.text.id, retry.text.attempts), (id, 2));
    assert_eq!(
        ctx.store.sent_parts(id).await.unwrap(),
        [part(1, 30), part(2, 31)]
    );
    ctx.store
        .record_sent_part(&retry.lease, part(3, 32))
        .await
        .unwrap();
    assert_eq!(
        ctx.store
            .mark_sent(&retry.lease, &[part(1, 30), part(2, 31), part(3, 32)])
            .await
            .unwrap(),
        OutboundState::Sent
    );
    for reference in ["31", "32"] {
        ctx.store
            .record_status_report(GW, reference, &PartOutcome::Delivered, window)
            .await
            .unwrap()
            .unwrap();
    }
    // Had mark_sent reset part 1 to pending, the text would still wait for its report.
    assert_eq!(
        ctx.store.outbound(id).await.unwrap().unwrap().state,
        OutboundState::Delivered
    );
}

/// A message centre that took a long text as one message (`message_payload`) gave every
/// part one id and sends one receipt: it delivers the whole text.
async fn one_receipt_for_a_text_sent_as_one_message_delivers_every_part(ctx: Ctx) {
    let id = ctx
        .store
        .enqueue_outbound(&reply("+15551234567", "p1", "three parts as one message"))
        .await
        .unwrap()
        .id();
    let leased = lease_one(&ctx, "worker-a").await;
    let one_id = |seq| SentPart {
        seq,
        message_ref: "5A00F".to_owned(),
    };
    ctx.store
        .mark_sent(&leased.lease, &[one_id(1), one_id(2), one_id(3)])
        .await
        .unwrap();
    let matched = ctx
        .store
        .record_status_report(GW, "5A00F", &PartOutcome::Delivered, Duration::hours(1))
        .await
        .unwrap()
        .expect("the receipt matches");
    assert_eq!(matched.outbound_id, id);
    assert_eq!(matched.state, OutboundState::Delivered);
}

/// The one receipt for a text sent as one message (an Android phone's, a message centre's
/// `message_payload`) can arrive while only its first part is recorded; the parts recorded
/// after it under the same id are delivered by it too, or the text never completes.
async fn one_receipt_that_overtook_the_later_parts_delivers_them_too(ctx: Ctx) {
    let window = Duration::hours(1);
    let one_id = |seq| SentPart {
        seq,
        message_ref: "tg1-77".to_owned(),
    };
    for (n, outcome) in [
        (1, PartOutcome::Delivered),
        (
            2,
            PartOutcome::Failed {
                reason: "the phone refused it".to_owned(),
            },
        ),
    ] {
        let id = ctx
            .store
            .enqueue_outbound(&reply("+15551234567", &format!("q{n}"), "two parts"))
            .await
            .unwrap()
            .id();
        let leased = lease_one(&ctx, "worker-a").await;
        ctx.store
            .record_sent_part(&leased.lease, one_id(1))
            .await
            .unwrap();
        let early = ctx
            .store
            .record_status_report(GW, "tg1-77", &outcome, window)
            .await
            .unwrap()
            .expect("the receipt matches the recorded part");
        assert_eq!((early.outbound_id, early.seq), (id, 1));
        // The second part is recorded once alone, and once more by the completion.
        ctx.store
            .record_sent_part(&leased.lease, one_id(2))
            .await
            .unwrap();
        let state = ctx
            .store
            .mark_sent(&leased.lease, &[one_id(1), one_id(2), one_id(3)])
            .await
            .unwrap();
        let expected = match outcome {
            PartOutcome::Delivered => OutboundState::Delivered,
            PartOutcome::Failed { .. } => OutboundState::Failed,
        };
        assert_eq!(state, expected, "text {n}");
        assert_eq!(
            ctx.store.outbound(id).await.unwrap().unwrap().state,
            expected
        );
    }
}

/// Several texts marked sent in one transaction: each gets its own answer, a text whose
/// lease was taken over is refused without spoiling the others, and a report that came
/// early still finishes its text as delivered.
async fn texts_finished_together_are_recorded_in_one_go(ctx: Ctx) {
    let window = Duration::hours(1);
    for n in 0..3 {
        ctx.store
            .enqueue_outbound(&alert(7, &format!("+1555123456{n}"), "storm"))
            .await
            .unwrap();
    }
    let leased = ctx.store.lease_due(GW, "worker-a", 3, LEASE).await.unwrap();
    assert_eq!(leased.len(), 3);
    // The first text's part reached the phone before its completion was recorded.
    ctx.store
        .record_sent_part(&leased[0].lease, part(1, 40))
        .await
        .unwrap();
    ctx.store
        .record_status_report(GW, "40", &PartOutcome::Delivered, window)
        .await
        .unwrap()
        .unwrap();
    // The second one's lease was given back and taken by another worker meanwhile.
    ctx.store
        .mark_retry(&leased[1].lease, "given back", ctx.clock_now())
        .await
        .unwrap();
    let taken = lease_one(&ctx, "worker-b").await;
    assert_eq!(taken.text.id, leased[1].text.id);
    let texts: Vec<(textgate_store::Lease, Vec<SentPart>)> = leased
        .iter()
        .zip([40, 41, 42])
        .map(|(l, mr)| (l.lease.clone(), vec![part(1, mr)]))
        .collect();
    let results = ctx.store.mark_sent_many(&texts).await.unwrap();
    assert!(
        matches!(results[0], Ok(OutboundState::Delivered)),
        "{results:?}"
    );
    assert!(
        matches!(results[1], Err(StoreError::LeaseLost { .. })),
        "{results:?}"
    );
    assert!(matches!(results[2], Ok(OutboundState::Sent)), "{results:?}");
    assert_eq!(
        ctx.store
            .outbound(leased[1].text.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        OutboundState::Sending,
        "the other worker still holds it"
    );
    assert_eq!(
        ctx.store.sent_parts(leased[2].text.id).await.unwrap(),
        [part(1, 42)]
    );
    assert!(ctx.store.mark_sent_many(&[]).await.unwrap().is_empty());
}

/// A part recorded before the daemon stopped keeps its send time and reference through
/// the retry, so its report, arriving after the retry completed the text, still matches.
async fn a_report_for_a_part_sent_before_the_retry_still_matches(ctx: Ctx) {
    let window = Duration::hours(1);
    let id = ctx
        .store
        .enqueue_outbound(&reply("+15551234567", "m1", "two parts"))
        .await
        .unwrap()
        .id();
    let first = lease_one(&ctx, "worker-a").await;
    ctx.store
        .record_sent_part(&first.lease, part(1, 50))
        .await
        .unwrap();
    ctx.store
        .mark_retry(&first.lease, "the daemon stopped", ctx.clock_now())
        .await
        .unwrap();
    ctx.clock.advance(Duration::minutes(5));

    let retry = lease_one(&ctx, "worker-b").await;
    let recorded = ctx.store.sent_parts(id).await.unwrap();
    let mut parts = recorded.clone();
    parts.push(part(2, 51));
    assert_eq!(
        ctx.store.mark_sent(&retry.lease, &parts).await.unwrap(),
        OutboundState::Sent
    );
    let report = ctx
        .store
        .record_status_report(GW, "50", &PartOutcome::Delivered, window)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (report.outbound_id, report.seq, report.state),
        (id, 1, OutboundState::Sent)
    );
    let report = ctx
        .store
        .record_status_report(GW, "51", &PartOutcome::Delivered, window)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (report.outbound_id, report.seq, report.state),
        (id, 2, OutboundState::Delivered)
    );
}

/// Status reports that arrive while the worker records the same text as sent: both
/// transactions touch the text's row and its parts' rows, and took them in opposite orders
/// (PostgreSQL detected a deadlock and aborted one; the reply stayed `sending`). Every
/// report and every mark_sent must succeed and every text end delivered.
async fn reports_racing_mark_sent_never_deadlock(ctx: Ctx) {
    let window = Duration::hours(1);
    for round in 0..40u8 {
        let id = ctx
            .store
            .enqueue_outbound(&reply(
                "+15551234567",
                &format!("race-{round}"),
                "two parts",
            ))
            .await
            .unwrap()
            .id();
        let lease = lease_one(&ctx, "w").await.lease;
        let parts = [part(1, round * 2), part(2, round * 2 + 1)];
        let (first_ref, second_ref) = (parts[0].message_ref.clone(), parts[1].message_ref.clone());
        for p in &parts {
            ctx.store.record_sent_part(&lease, p.clone()).await.unwrap();
        }
        let (sent, first, second) = tokio::join!(
            ctx.store.mark_sent(&lease, &parts),
            ctx.store
                .record_status_report(GW, &first_ref, &PartOutcome::Delivered, window),
            ctx.store
                .record_status_report(GW, &second_ref, &PartOutcome::Delivered, window),
        );
        sent.unwrap_or_else(|e| panic!("round {round}: mark_sent: {e}"));
        for report in [first, second] {
            let matched = report.unwrap_or_else(|e| panic!("round {round}: report: {e}"));
            assert_eq!(matched.map(|m| m.outbound_id), Some(id), "round {round}");
        }
        let text = ctx.store.outbound(id).await.unwrap().unwrap();
        assert_eq!(text.state, OutboundState::Delivered, "round {round}");
    }
}

/// A worker in a slow send renews its lease: another worker cannot take the text while
/// the renewals go on, and can as soon as they stop for one lease. Renewing a lease that
/// was taken over is refused.
async fn a_renewed_lease_keeps_the_text_from_other_workers(ctx: Ctx) {
    let id = ctx
        .store
        .enqueue_outbound(&reply("+15551234567", "m1", "hi"))
        .await
        .unwrap()
        .id();
    let a = lease_one(&ctx, "worker-a").await;
    for _ in 0..5 {
        ctx.clock.advance(LEASE - Duration::seconds(1));
        ctx.store.renew_lease(&a.lease, LEASE).await.unwrap();
        assert!(
            ctx.store
                .lease_due(GW, "worker-b", 5, LEASE)
                .await
                .unwrap()
                .is_empty(),
            "a renewed lease is still held"
        );
    }
    assert_eq!(
        ctx.store.next_outbound_due(GW).await.unwrap(),
        Some(ctx.clock_now() + LEASE),
        "a worker waiting for the lease wakes when the renewed lease ends"
    );
    // The renewals stop (worker a died): one lease later the text is worker b's.
    ctx.clock.advance(LEASE);
    let b = lease_one(&ctx, "worker-b").await;
    assert_eq!(b.text.id, id);
    let stale = ctx.store.renew_lease(&a.lease, LEASE).await;
    assert!(
        matches!(stale, Err(StoreError::LeaseLost { id: lost }) if lost == id),
        "{stale:?}"
    );
}

/// A daemon that owns its database (SQLite) ends the leases its predecessor left at start:
/// the texts are due at once, not when the dead worker's leases would have run out, and
/// only that gateway's texts are touched.
async fn reclaimed_leases_are_due_at_once(ctx: Ctx) {
    let id = ctx
        .store
        .enqueue_outbound(&reply("+15551234567", "m1", "hi"))
        .await
        .unwrap()
        .id();
    let mut other = reply("+15551234567", "m2", "elsewhere");
    other.gateway = "other".to_string();
    ctx.store.enqueue_outbound(&other).await.unwrap();
    let dead = lease_one(&ctx, "dead-worker").await;
    let elsewhere = ctx
        .store
        .lease_due("other", "dead-worker", 1, LEASE)
        .await
        .unwrap();
    assert_eq!(elsewhere.len(), 1);
    assert!(ctx
        .store
        .lease_due(GW, "successor", 5, LEASE)
        .await
        .unwrap()
        .is_empty());

    assert_eq!(ctx.store.reclaim_leases(GW, "successor").await.unwrap(), 1);
    let taken = lease_one(&ctx, "successor").await;
    assert_eq!((taken.text.id, taken.text.attempts), (id, 2));
    assert!(matches!(
        ctx.store.mark_sent(&dead.lease, &[part(1, 1)]).await,
        Err(StoreError::LeaseLost { .. })
    ));
    assert_eq!(
        ctx.store.reclaim_leases(GW, "successor").await.unwrap(),
        0,
        "the reclaiming worker's own lease stays"
    );
    assert!(
        ctx.store
            .lease_due("other", "successor", 1, LEASE)
            .await
            .unwrap()
            .is_empty(),
        "another gateway's leases are left alone"
    );
}

/// A text taken from a dead worker's lease, or given back with a part's answer lost, comes
/// back unsure since the start of that attempt; the candidates for the lost part are the
/// kept reports about its recipient (by digits) since then whose reference names no part
/// recorded meanwhile; settling ends the doubt.
async fn a_lost_answer_makes_the_next_attempt_unsure_until_settled(ctx: Ctx) {
    let id = ctx
        .store
        .enqueue_outbound(&reply("+15551234567", "m1", "hi"))
        .await
        .unwrap()
        .id();
    ctx.clock.advance(Duration::seconds(1));
    let first = lease_one(&ctx, "first").await;
    assert_eq!(first.text.unsure_since, None, "a first attempt is sure");
    let started = ctx.clock_now();
    // A plain retry stays sure.
    ctx.store
        .mark_retry(&first.lease, "busy", started)
        .await
        .unwrap();
    let second = lease_one(&ctx, "second").await;
    assert_eq!(second.text.unsure_since, None);
    // A report older than the attempt, one about another phone and one naming a part
    // recorded since: none is the lost part's.
    let kept = |r: &'static str, to: &'static str| {
        let store = ctx.store.clone();
        async move {
            store
                .keep_unmatched_report(GW, r, &PartOutcome::Delivered, Some(to))
                .await
                .unwrap()
        }
    };
    kept("5", "+15551234567").await;
    ctx.clock.advance(Duration::seconds(1));
    let attempt = ctx.clock_now();
    ctx.store
        .mark_retry_unsure(&second.lease, "link lost", attempt)
        .await
        .unwrap();
    let third = lease_one(&ctx, "third").await;
    // The attempt that lost the answer started when "second" leased it.
    assert_eq!(third.text.unsure_since, Some(started));

    ctx.clock.advance(Duration::seconds(1));
    kept("6", "+15559999999").await;
    ctx.store
        .record_sent_part(&third.lease, part(1, 7))
        .await
        .unwrap();
    kept("7", "+15551234567").await;
    let about = |since| {
        let store = ctx.store.clone();
        async move {
            store
                .unmatched_reports_about(GW, "+15551234567", since)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.message_ref)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(about(attempt).await, Vec::<String>::new());
    let lost = kept("8", "15551234567").await;
    assert_eq!(about(attempt).await, ["8"]);
    assert_eq!(about(started - Duration::seconds(5)).await, ["5", "8"]);

    ctx.store
        .record_sent_part(&third.lease, part(2, 8))
        .await
        .unwrap();
    ctx.store.settle_unsure(&third.lease).await.unwrap();
    assert_eq!(
        ctx.store.sent_parts(id).await.unwrap(),
        [part(1, 7), part(2, 8)]
    );
    assert_eq!(
        ctx.store.outbound(id).await.unwrap().unwrap().unsure_since,
        None
    );
    assert!(lost > 0);

    // A dead worker's lease taken over: unsure since that worker's attempt began.
    ctx.clock.advance(Duration::seconds(1));
    let dead_started = ctx.clock_now();
    ctx.store
        .mark_retry(&third.lease, "again", dead_started)
        .await
        .unwrap();
    let dead = lease_one(&ctx, "dead").await;
    assert_eq!(dead.text.unsure_since, None);
    ctx.clock.advance(Duration::seconds(1));
    assert_eq!(ctx.store.reclaim_leases(GW, "successor").await.unwrap(), 1);
    let successor = lease_one(&ctx, "successor").await;
    assert_eq!(successor.text.unsure_since, Some(dead_started));
    assert!(matches!(
        ctx.store.settle_unsure(&dead.lease).await,
        Err(StoreError::LeaseLost { .. })
    ));
    ctx.store.settle_unsure(&successor.lease).await.unwrap();
    assert_eq!(
        ctx.store.outbound(id).await.unwrap().unwrap().unsure_since,
        None
    );
}

async fn expired_lease_returns_work_and_stale_completion_is_refused(ctx: Ctx) {
    let id = ctx
        .store
        .enqueue_outbound(&reply("+15551234567", "m1", "hi"))
        .await
        .unwrap()
        .id();
    let a = ctx
        .store
        .lease_due(GW, "worker-a", 5, LEASE)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        ctx.store.next_outbound_due(GW).await.unwrap(),
        Some(a.lease.until)
    );
    ctx.clock.advance(LEASE - Duration::seconds(1));
    assert!(ctx
        .store
        .lease_due(GW, "worker-b", 5, LEASE)
        .await
        .unwrap()
        .is_empty());

    // Worker a died; its lease runs out and worker b takes the text over.
    ctx.clock.advance(Duration::seconds(1));
    let b = ctx
        .store
        .lease_due(GW, "worker-b", 5, LEASE)
        .await
        .unwrap()
        .remove(0);
    assert_eq!((b.text.id, b.text.attempts), (id, 2));
    let stale = ctx
        .store
        .mark_sent(
            &a.lease,
            &[SentPart {
                seq: 1,
                message_ref: "1".to_owned(),
            }],
        )
        .await;
    assert!(
        matches!(stale, Err(StoreError::LeaseLost { id: lost }) if lost == id),
        "{stale:?}"
    );
    let stale = ctx.store.mark_failed(&a.lease, "late").await;
    assert!(
        matches!(stale, Err(StoreError::LeaseLost { .. })),
        "{stale:?}"
    );
    let stale = ctx
        .store
        .mark_retry(&a.lease, "late", ctx.clock_now())
        .await;
    assert!(
        matches!(stale, Err(StoreError::LeaseLost { .. })),
        "{stale:?}"
    );

    // A lease that expired but was not taken over may still complete.
    ctx.clock.advance(LEASE * 2);
    ctx.store
        .mark_sent(
            &b.lease,
            &[SentPart {
                seq: 1,
                message_ref: "2".to_owned(),
            }],
        )
        .await
        .unwrap();
    assert_eq!(
        ctx.store.outbound(id).await.unwrap().unwrap().state,
        OutboundState::Sent
    );
    assert_eq!(ctx.store.next_outbound_due(GW).await.unwrap(), None);
}

async fn alerts_go_ahead_of_chat_and_retries_wait(ctx: Ctx) {
    let chat = ctx
        .store
        .enqueue_outbound(&reply("+15550000001", "m1", "reply"))
        .await
        .unwrap()
        .id();
    ctx.clock.advance(Duration::seconds(1));
    let alert_a = ctx
        .store
        .enqueue_outbound(&alert(7, "+15550000002", "Campus closed"))
        .await
        .unwrap()
        .id();
    let alert_b = ctx
        .store
        .enqueue_outbound(&alert(7, "+15550000003", "Campus closed"))
        .await
        .unwrap()
        .id();
    assert!(!ctx
        .store
        .enqueue_outbound(&alert(7, "+15550000003", "Campus closed"))
        .await
        .unwrap()
        .is_new());
    let mut later = reply("+15550000001", "m2", "later");
    later.not_before = Some(ctx.clock_now() + Duration::minutes(5));
    let later = ctx.store.enqueue_outbound(&later).await.unwrap().id();

    let leased = ctx.store.lease_due(GW, "w", 10, LEASE).await.unwrap();
    let order: Vec<i64> = leased.iter().map(|l| l.text.id).collect();
    assert_eq!(
        order,
        [alert_a, alert_b, chat],
        "alerts first, then by due time; future work waits"
    );
    let alert_text = ctx.store.outbound(alert_a).await.unwrap().unwrap();
    assert_eq!(
        (alert_text.conversation_id, alert_text.campaign_id),
        (None, Some(7))
    );

    for leased in &leased[..2] {
        ctx.store
            .mark_sent(
                &leased.lease,
                &[SentPart {
                    seq: 1,
                    message_ref: "9".to_owned(),
                }],
            )
            .await
            .unwrap();
    }
    // A transient failure puts the reply back in the queue for later.
    let retry_at = ctx.clock_now() + Duration::minutes(1);
    ctx.store
        .mark_retry(&leased[2].lease, "modem busy", retry_at)
        .await
        .unwrap();
    let queued = ctx.store.outbound(chat).await.unwrap().unwrap();
    assert_eq!(
        (queued.state, queued.next_attempt_at),
        (OutboundState::Queued, retry_at)
    );
    assert_eq!(queued.last_error.as_deref(), Some("modem busy"));
    assert_eq!(
        ctx.store.next_outbound_due(GW).await.unwrap(),
        Some(retry_at)
    );
    assert!(ctx
        .store
        .lease_due(GW, "w", 10, LEASE)
        .await
        .unwrap()
        .is_empty());

    ctx.clock.advance(Duration::minutes(5));
    let leased = ctx.store.lease_due(GW, "w", 10, LEASE).await.unwrap();
    let order: Vec<i64> = leased.iter().map(|l| l.text.id).collect();
    assert_eq!(order, [chat, later]);
    assert_eq!(leased[0].text.attempts, 2);

    // Giving up erases the body (transcripts off) and keeps the reason.
    ctx.store
        .mark_failed(&leased[0].lease, "too many attempts")
        .await
        .unwrap();
    let failed = ctx.store.outbound(chat).await.unwrap().unwrap();
    assert_eq!((failed.state, failed.body), (OutboundState::Failed, None));
    assert_eq!(failed.last_error.as_deref(), Some("too many attempts"));
}

async fn two_pools_never_take_the_same_row(ctx: Ctx) {
    const TEXTS: usize = 300;
    for n in 0..TEXTS {
        ctx.store
            .enqueue_outbound(&alert(1, &format!("+1555{n:07}"), "drill"))
            .await
            .unwrap();
    }
    let other = ctx.another_store().await;
    let drain = |store: textgate_store::Store, worker: &'static str| {
        tokio::spawn(async move {
            let mut taken = Vec::new();
            loop {
                let batch = store.lease_due(GW, worker, 7, LEASE).await.unwrap();
                if batch.is_empty() {
                    return taken;
                }
                for leased in batch {
                    store
                        .mark_sent(
                            &leased.lease,
                            &[SentPart {
                                seq: 1,
                                message_ref: "0".to_owned(),
                            }],
                        )
                        .await
                        .unwrap();
                    taken.push(leased.text.id);
                }
            }
        })
    };
    let a = drain(ctx.store.clone(), "a");
    let b = drain(other.clone(), "b");
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    other.close().await;
    let mut all: Vec<i64> = a.iter().chain(&b).copied().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(
        all.len(),
        a.len() + b.len(),
        "a text was taken by both workers"
    );
    assert_eq!(all.len(), TEXTS);
}

async fn claims_are_recorded(ctx: Ctx) {
    let id = ctx
        .store
        .insert_inbound(&sms(&ctx, "+15551234567", "hi"))
        .await
        .unwrap()
        .id();
    let conversation = ctx
        .store
        .inbound(id)
        .await
        .unwrap()
        .unwrap()
        .conversation_id;
    ctx.store.set_claim(conversation, Some(BOB)).await.unwrap();
    let claimed = ctx.store.conversation(conversation).await.unwrap().unwrap();
    assert_eq!(claimed.claimed_by.as_deref(), Some(BOB));
    ctx.store.set_claim(conversation, None).await.unwrap();
    assert_eq!(
        ctx.store
            .conversation(conversation)
            .await
            .unwrap()
            .unwrap()
            .claimed_by,
        None
    );
    let missing = ctx.store.set_claim(conversation + 1000, Some(BOB)).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
}

/// Two conversations with a delivered text and a sent reply each, plus one undelivered
/// text in the first; transcripts on. Returns the two conversation ids.
async fn two_finished_conversations(ctx: &Ctx) -> (i64, i64) {
    ctx.store
        .set_transcript_policy(GW, TranscriptPolicy::Keep)
        .await
        .unwrap();
    let mut conversations = Vec::new();
    for (patron, question, answer) in [
        ("+15550000001", "Do you have atlases?", "Yes, 2nd floor."),
        ("+15550000002", "Open Sunday?", "No, sorry."),
    ] {
        let id = ctx
            .store
            .insert_inbound(&sms(ctx, patron, question))
            .await
            .unwrap()
            .id();
        ctx.store
            .mark_inbound_delivered(&[id], ALICE)
            .await
            .unwrap();
        ctx.clock.advance(Duration::minutes(1));
        ctx.store
            .enqueue_outbound(&reply(patron, &format!("re-{patron}"), answer))
            .await
            .unwrap();
        let lease = ctx
            .store
            .lease_due(GW, "w", 1, LEASE)
            .await
            .unwrap()
            .remove(0)
            .lease;
        ctx.store
            .mark_sent(
                &lease,
                &[SentPart {
                    seq: 1,
                    message_ref: "1".to_owned(),
                }],
            )
            .await
            .unwrap();
        ctx.clock.advance(Duration::minutes(1));
        conversations.push(
            ctx.store
                .inbound(id)
                .await
                .unwrap()
                .unwrap()
                .conversation_id,
        );
    }
    ctx.store
        .insert_inbound(&sms(ctx, "+15550000001", "Still there?"))
        .await
        .unwrap();
    (conversations[0], conversations[1])
}

async fn bodies(ctx: &Ctx, conversation: i64) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let zip = ctx
        .store
        .export_transcripts(&Selection::Conversations {
            gateway: GW.to_string(),
            ids: vec![conversation],
        })
        .await
        .unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        for line in text.lines().filter(|l| l.starts_with("    ")) {
            let line = line.trim();
            out.push((line != "(text not kept)").then(|| line.to_string()));
        }
    }
    out
}

async fn delete_transcripts_by_conversation(ctx: Ctx) {
    let (first, second) = two_finished_conversations(&ctx).await;
    let selection = Selection::Conversations {
        gateway: GW.to_string(),
        ids: vec![first],
    };
    let report = ctx
        .store
        .delete(&selection, Deletion::Transcripts)
        .await
        .unwrap();
    assert_eq!((report.texts, report.conversations), (2, 0));
    // The undelivered text keeps its body: it has not reached an operator yet.
    assert_eq!(
        bodies(&ctx, first).await,
        [None, None, Some("Still there?".to_string())]
    );
    assert_eq!(
        bodies(&ctx, second).await,
        [
            Some("Open Sunday?".to_string()),
            Some("No, sorry.".to_string())
        ]
    );
    let record = ctx.store.conversation(first).await.unwrap().unwrap();
    assert_eq!((record.texts_in, record.texts_out), (2, 1), "records stay");

    // Another gateway cannot reach these conversations.
    let foreign = Selection::Conversations {
        gateway: "annex".to_string(),
        ids: vec![second],
    };
    assert_eq!(
        ctx.store
            .delete(&foreign, Deletion::Records)
            .await
            .unwrap()
            .texts,
        0
    );
    assert!(ctx.store.conversation(second).await.unwrap().is_some());
}

async fn delete_records_by_date_range(ctx: Ctx) {
    let (first, second) = two_finished_conversations(&ctx).await;
    // A day later, the second patron writes again.
    ctx.clock.advance(Duration::days(1));
    let next_day = ctx
        .store
        .insert_inbound(&sms(&ctx, "+15550000002", "Thanks!"))
        .await
        .unwrap()
        .id();
    ctx.store
        .mark_inbound_delivered(&[next_day], BOB)
        .await
        .unwrap();

    let day_one = Selection::Period {
        gateway: GW.to_string(),
        from: support::start_time(),
        until: support::start_time() + Duration::days(1),
    };
    let report = ctx.store.delete(&day_one, Deletion::Records).await.unwrap();
    // Four finished texts on day one; the undelivered text of the first conversation stays
    // and keeps that conversation alive.
    assert_eq!((report.texts, report.conversations), (4, 0));
    let first_record = ctx.store.conversation(first).await.unwrap().unwrap();
    assert_eq!((first_record.texts_in, first_record.texts_out), (1, 0));
    let second_record = ctx.store.conversation(second).await.unwrap().unwrap();
    assert_eq!((second_record.texts_in, second_record.texts_out), (1, 0));
    assert_eq!(
        second_record.first_activity,
        ctx.store
            .inbound(next_day)
            .await
            .unwrap()
            .unwrap()
            .received_at
    );

    let everything = Selection::Period {
        gateway: GW.to_string(),
        from: support::start_time(),
        until: support::start_time() + Duration::days(7),
    };
    let report = ctx
        .store
        .delete(&everything, Deletion::Records)
        .await
        .unwrap();
    assert_eq!((report.texts, report.conversations), (1, 1));
    assert!(ctx.store.conversation(second).await.unwrap().is_none());
    assert_eq!(
        ctx.store.undelivered_inbound(GW, 10).await.unwrap().len(),
        1
    );
}

fn check_zip(zip: Vec<u8>, expect: Expect) {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut out = String::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        out.push_str(&format!(
            "=== {}
{text}",
            file.name()
        ));
    }
    expect.assert_eq(&out);
}

async fn export_is_a_readable_zip(ctx: Ctx) {
    two_finished_conversations(&ctx).await;
    let everything = Selection::Period {
        gateway: GW.to_string(),
        from: support::start_time(),
        until: support::start_time() + Duration::days(1),
    };
    check_zip(
        ctx.store.export_transcripts(&everything).await.unwrap(),
        expect![[r#"
            === 000001 +15550000001.txt
            Conversation 1 on gateway library with +15550000001
            Exported 2026-11-22 08:04:00 UTC

            2026-11-22 08:00:00 UTC  +15550000001 to alice@library.example
                Do you have atlases?

            2026-11-22 08:01:00 UTC  alice@library.example to +15550000001
                Yes, 2nd floor.

            2026-11-22 08:04:00 UTC  +15550000001 (not yet delivered)
                Still there?
            === 000003 +15550000002.txt
            Conversation 3 on gateway library with +15550000002
            Exported 2026-11-22 08:04:00 UTC

            2026-11-22 08:02:00 UTC  +15550000002 to alice@library.example
                Open Sunday?

            2026-11-22 08:03:00 UTC  alice@library.example to +15550000002
                No, sorry.
        "#]],
    );
    let nothing = Selection::Period {
        gateway: "annex".to_string(),
        from: support::start_time(),
        until: support::start_time() + Duration::days(1),
    };
    check_zip(
        ctx.store.export_transcripts(&nothing).await.unwrap(),
        expect![[""]],
    );
}

async fn daily_statistics(ctx: Ctx) {
    let (first, second) = two_finished_conversations(&ctx).await;
    ctx.clock.advance(Duration::days(1));
    ctx.store
        .insert_inbound(&sms(&ctx, "+15550000002", "Thanks!"))
        .await
        .unwrap();
    ctx.store
        .enqueue_outbound(&alert(3, "+15550000009", "Drill at noon"))
        .await
        .unwrap();
    // Erasing transcripts does not change the statistics.
    let all = Selection::Conversations {
        gateway: GW.to_string(),
        ids: vec![first, second],
    };
    ctx.store.delete(&all, Deletion::Transcripts).await.unwrap();

    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let stats = ctx.store.daily_stats(GW, day(21), day(30)).await.unwrap();
    let rendered: String = stats
        .iter()
        .map(|s| {
            format!(
                "{} conversations={} in={} out={}\n",
                s.day, s.conversations, s.texts_in, s.texts_out
            )
        })
        .collect();
    expect![[r#"
        2026-11-22 conversations=2 in=3 out=2
        2026-11-23 conversations=1 in=1 out=1
    "#]]
    .assert_eq(&rendered);
    assert!(ctx
        .store
        .daily_stats(GW, day(24), day(30))
        .await
        .unwrap()
        .is_empty());
}

async fn enqueue_wakes_a_waiting_worker(ctx: Ctx) {
    let mut signal = ctx.store.outbound_signal(GW).await.unwrap();
    assert!(ctx
        .store
        .lease_due(GW, "w", 1, LEASE)
        .await
        .unwrap()
        .is_empty());
    // Work enqueued between the empty look and the wait is not missed.
    let store = ctx.store.clone();
    let producer = tokio::spawn(async move {
        store
            .enqueue_outbound(&reply("+15551234567", "m1", "hi"))
            .await
    });
    tokio::time::timeout(StdDuration::from_secs(10), signal.notified())
        .await
        .expect("woken within 10 s")
        .unwrap();
    producer.await.unwrap().unwrap();
    assert_eq!(
        ctx.store.lease_due(GW, "w", 1, LEASE).await.unwrap().len(),
        1
    );

    // Another store on the same database wakes the worker too: another daemon on
    // PostgreSQL (NOTIFY), `textgate send` beside the daemon on SQLite (the store's
    // watcher for other connections' commits).
    let producer_store = ctx.another_store().await;
    let waiter = tokio::spawn(async move {
        signal.notified().await.unwrap();
    });
    producer_store
        .enqueue_outbound(&reply("+15551234567", "m2", "again"))
        .await
        .unwrap();
    tokio::time::timeout(StdDuration::from_secs(10), waiter)
        .await
        .expect("woken within 10 s")
        .unwrap();
    producer_store.close().await;
}

async fn outbox_depth_counts_queued_and_sending(ctx: Ctx) {
    assert_eq!(ctx.store.outbox_depth(GW).await.unwrap(), 0);
    let first = ctx
        .store
        .enqueue_outbound(&reply("+15551234567", "d1", "One."))
        .await
        .unwrap();
    // A duplicate enqueue adds nothing.
    ctx.store
        .enqueue_outbound(&reply("+15551234567", "d1", "One."))
        .await
        .unwrap();
    ctx.store
        .enqueue_outbound(&reply("+15551234567", "d2", "Two."))
        .await
        .unwrap();
    assert_eq!(ctx.store.outbox_depth(GW).await.unwrap(), 2);
    assert_eq!(ctx.store.outbox_depth("another-gateway").await.unwrap(), 0);

    let leased = ctx.store.lease_due(GW, "worker-a", 1, LEASE).await.unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(
        ctx.store.outbox_depth(GW).await.unwrap(),
        2,
        "a text being sent still counts"
    );
    let state = ctx
        .store
        .mark_sent(
            &leased[0].lease,
            &[SentPart {
                seq: 1,
                message_ref: "7".to_owned(),
            }],
        )
        .await
        .unwrap();
    assert_eq!(state, OutboundState::Sent);
    assert_eq!(ctx.store.outbox_depth(GW).await.unwrap(), 1);

    let leased = ctx.store.lease_due(GW, "worker-a", 1, LEASE).await.unwrap();
    assert_eq!(leased.len(), 1);
    assert_ne!(leased[0].text.id, first.id());
    ctx.store
        .mark_failed(&leased[0].lease, "+CMS ERROR: 38")
        .await
        .unwrap();
    assert_eq!(ctx.store.outbox_depth(GW).await.unwrap(), 0);
}

async fn a_campaign_is_enqueued_in_batches_once(ctx: Ctx) {
    // One delivery is in the outbox already (an interrupted enqueue).
    assert!(ctx
        .store
        .enqueue_outbound(&alert(9, "+15550000007", "Drill at noon"))
        .await
        .unwrap()
        .is_new());
    let mut texts: Vec<NewOutbound> = (0..2_500)
        .map(|n| alert(9, &format!("+1555{n:07}"), "Drill at noon"))
        .collect();
    let later = ctx.clock_now() + Duration::minutes(3);
    texts[1_234].not_before = Some(later);
    // More than one statement's worth: 2,500 deliveries, one of them already there.
    let new = ctx.store.enqueue_campaign_outbound(&texts).await.unwrap();
    assert_eq!(new, 2_499);
    assert_eq!(ctx.store.outbox_depth(GW).await.unwrap(), 2_500);
    // Again: nothing new.
    assert_eq!(
        ctx.store.enqueue_campaign_outbound(&texts).await.unwrap(),
        0
    );
    assert_eq!(ctx.store.outbox_depth(GW).await.unwrap(), 2_500);

    // What a worker leases is what a single enqueue would have stored.
    let leased = ctx.store.lease_due(GW, "w", 3_000, LEASE).await.unwrap();
    assert_eq!(leased.len(), 2_499, "the one due later waits");
    let first = &leased[0].text;
    assert_eq!(
        (
            first.campaign_id,
            first.conversation_id,
            first.body.as_deref()
        ),
        (Some(9), None, Some("Drill at noon"))
    );
    assert!(
        leased.iter().all(|l| l.text.recipient != "+15550001234"),
        "the delivery planned for later is not due yet"
    );
}
