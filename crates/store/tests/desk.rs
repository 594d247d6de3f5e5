//! The desk tools (canned replies, blocked numbers, texts held back from blocked numbers),
//! each test run on PostgreSQL and on SQLite.

mod support;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use support::Ctx;
use textgate_store::{
    with_database, BlockedNumber, CannedReply, Clock, InboundState, NewInbound, Saved, StoreError,
    TranscriptPolicy,
};

const GW: &str = "library";
const OTHER_GW: &str = "branch";
const ALICE: &str = "alice@library.example";
const BOB: &str = "bob@library.example";
const TROLL: &str = "+15550000666";
const PATRON: &str = "+15551234567";

fn sms(ctx: &Ctx, sender: &str, body: &str) -> NewInbound {
    let offset = FixedOffset::east_opt(3600).expect("valid offset");
    NewInbound {
        gateway: GW.to_string(),
        sender: sender.to_string(),
        smsc_time: ctx.clock.now().with_timezone(&offset),
        received_at: ctx.clock.now(),
        body: body.to_string(),
        concatenation: None,
        parts_hex: vec![format!("PDU-{body}")],
        incomplete: false,
        consumed_pending_parts: Vec::new(),
    }
}

/// The `blocked_at` column of an inbound text, which `InboundText` does not carry.
async fn blocked_at(ctx: &Ctx, id: i64) -> Option<DateTime<Utc>> {
    with_database!(ctx.store.database(), pool => {
        sqlx::query_scalar("SELECT blocked_at FROM inbound WHERE id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
    })
    .expect("the text is stored")
}

on_both_backends!(
    canned_replies_round_trip,
    saving_a_name_again_replaces_its_body,
    unknown_canned_replies,
    canned_replies_are_per_gateway,
    blocking_and_unblocking,
    a_blocked_text_is_held_back_and_erased,
    a_blocked_text_keeps_its_body_when_transcripts_are_kept,
    holding_back_is_idempotent_and_spares_delivered_texts,
    holding_back_an_unknown_text_is_an_error,
    one_automatic_reply_per_patron_per_window,
    the_last_text_in_and_out,
    a_number_keeps_one_handle_and_a_handle_names_one_number,
    transcripts_and_exports_show_the_handle,
    the_conversation_so_far_for_a_desk_it_is_handed_to,
);

async fn canned_replies_round_trip(ctx: Ctx) {
    let store = &ctx.store;
    assert!(store.canned_replies(GW).await.unwrap().is_empty());
    assert_eq!(
        store
            .save_canned_reply(GW, "hours", "We are open 9-5 Mon-Fri.", ALICE)
            .await
            .unwrap(),
        Saved::Created
    );
    ctx.clock.advance(Duration::seconds(1));
    assert_eq!(
        store
            .save_canned_reply(GW, "card", "Bring a photo ID to get a card.", BOB)
            .await
            .unwrap(),
        Saved::Created
    );

    let hours = CannedReply {
        gateway: GW.to_string(),
        name: "hours".to_string(),
        body: "We are open 9-5 Mon-Fri.".to_string(),
        created_by: ALICE.to_string(),
        created_at: support::start_time(),
        updated_by: ALICE.to_string(),
        updated_at: support::start_time(),
    };
    let card = CannedReply {
        gateway: GW.to_string(),
        name: "card".to_string(),
        body: "Bring a photo ID to get a card.".to_string(),
        created_by: BOB.to_string(),
        created_at: ctx.clock.now(),
        updated_by: BOB.to_string(),
        updated_at: ctx.clock.now(),
    };
    assert_eq!(
        store.canned_replies(GW).await.unwrap(),
        vec![card.clone(), hours.clone()],
        "ordered by name"
    );
    assert_eq!(store.canned_reply(GW, "hours").await.unwrap(), Some(hours));

    assert!(store.remove_canned_reply(GW, "hours").await.unwrap());
    assert_eq!(store.canned_reply(GW, "hours").await.unwrap(), None);
    assert_eq!(store.canned_replies(GW).await.unwrap(), vec![card]);
}

async fn saving_a_name_again_replaces_its_body(ctx: Ctx) {
    let store = &ctx.store;
    store
        .save_canned_reply(GW, "hours", "We are open 9-5.", ALICE)
        .await
        .unwrap();
    ctx.clock.advance(Duration::minutes(5));
    assert_eq!(
        store
            .save_canned_reply(GW, "hours", "We are open 10-6.", BOB)
            .await
            .unwrap(),
        Saved::Replaced
    );
    let hours = store.canned_reply(GW, "hours").await.unwrap().unwrap();
    assert_eq!(hours.body, "We are open 10-6.");
    assert_eq!(
        (hours.created_by.as_str(), hours.created_at),
        (ALICE, support::start_time()),
        "the reply keeps who created it and when"
    );
    assert_eq!(
        (hours.updated_by.as_str(), hours.updated_at),
        (BOB, ctx.clock.now())
    );
    assert_eq!(store.canned_replies(GW).await.unwrap().len(), 1);

    // Removed, the name is new again.
    assert!(store.remove_canned_reply(GW, "hours").await.unwrap());
    assert_eq!(
        store
            .save_canned_reply(GW, "hours", "Closed for renovation.", BOB)
            .await
            .unwrap(),
        Saved::Created
    );
}

async fn unknown_canned_replies(ctx: Ctx) {
    let store = &ctx.store;
    store
        .save_canned_reply(GW, "hours", "We are open 9-5.", ALICE)
        .await
        .unwrap();
    assert_eq!(store.canned_reply(GW, "fines").await.unwrap(), None);
    assert!(!store.remove_canned_reply(GW, "fines").await.unwrap());
    // Names are compared as stored: the gateway lower-cases them, the store does not.
    assert_eq!(store.canned_reply(GW, "Hours").await.unwrap(), None);
    assert!(!store.remove_canned_reply(GW, "Hours").await.unwrap());
    assert!(store.canned_reply(GW, "hours").await.unwrap().is_some());
}

async fn canned_replies_are_per_gateway(ctx: Ctx) {
    let store = &ctx.store;
    store
        .save_canned_reply(GW, "hours", "Main library: 9-5.", ALICE)
        .await
        .unwrap();
    assert_eq!(
        store
            .save_canned_reply(OTHER_GW, "hours", "Branch: 12-4.", ALICE)
            .await
            .unwrap(),
        Saved::Created
    );
    assert_eq!(
        store.canned_reply(GW, "hours").await.unwrap().unwrap().body,
        "Main library: 9-5."
    );
    assert!(store.remove_canned_reply(OTHER_GW, "hours").await.unwrap());
    assert!(store.canned_reply(GW, "hours").await.unwrap().is_some());
    assert!(store.canned_replies(OTHER_GW).await.unwrap().is_empty());
}

async fn blocking_and_unblocking(ctx: Ctx) {
    let store = &ctx.store;
    assert!(!store.is_blocked(GW, TROLL).await.unwrap());
    assert!(store.block_number(GW, TROLL, ALICE).await.unwrap());
    ctx.clock.advance(Duration::seconds(1));
    assert!(
        !store.block_number(GW, TROLL, BOB).await.unwrap(),
        "blocked already"
    );
    assert!(store.block_number(GW, "+15550000111", BOB).await.unwrap());
    assert!(store.is_blocked(GW, TROLL).await.unwrap());
    assert!(!store.is_blocked(GW, PATRON).await.unwrap());
    assert!(
        !store.is_blocked(OTHER_GW, TROLL).await.unwrap(),
        "blocks are per gateway"
    );
    assert_eq!(
        store.blocked_numbers(GW).await.unwrap(),
        vec![
            BlockedNumber {
                gateway: GW.to_string(),
                number: "+15550000111".to_string(),
                blocked_by: BOB.to_string(),
                blocked_at: ctx.clock.now(),
            },
            BlockedNumber {
                gateway: GW.to_string(),
                number: TROLL.to_string(),
                blocked_by: ALICE.to_string(),
                blocked_at: support::start_time(),
            },
        ],
        "ordered by number; blocking twice kept the first record"
    );

    assert!(store.unblock_number(GW, TROLL).await.unwrap());
    assert!(
        !store.unblock_number(GW, TROLL).await.unwrap(),
        "not blocked any more"
    );
    assert!(!store.unblock_number(GW, PATRON).await.unwrap());
    assert!(!store.is_blocked(GW, TROLL).await.unwrap());
    assert_eq!(store.blocked_numbers(GW).await.unwrap().len(), 1);
    assert!(store.blocked_numbers(OTHER_GW).await.unwrap().is_empty());
}

async fn a_blocked_text_is_held_back_and_erased(ctx: Ctx) {
    let store = &ctx.store;
    store.block_number(GW, TROLL, ALICE).await.unwrap();
    let held = store
        .insert_inbound(&sms(&ctx, TROLL, "abuse"))
        .await
        .unwrap()
        .id();
    let question = store
        .insert_inbound(&sms(&ctx, PATRON, "When do you open?"))
        .await
        .unwrap()
        .id();
    assert_eq!(store.blocked_inbound_count(GW).await.unwrap(), 0);
    ctx.clock.advance(Duration::seconds(1));
    store.mark_inbound_blocked(held).await.unwrap();

    let backlog: Vec<i64> = store
        .undelivered_inbound(GW, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|text| text.id)
        .collect();
    assert_eq!(backlog, vec![question]);
    let text = store.inbound(held).await.unwrap().unwrap();
    assert_eq!(text.state, InboundState::Delivered);
    assert_eq!(
        (text.delivered_at, text.delivered_to),
        (None, None),
        "no librarian received it"
    );
    assert_eq!(text.body, None, "transcripts are off by default");
    assert_eq!(text.body_chars, 5, "the record keeps the length");
    assert!(store.inbound_parts(held).await.unwrap().is_empty());
    assert_eq!(blocked_at(&ctx, held).await, Some(ctx.clock.now()));
    assert_eq!(blocked_at(&ctx, question).await, None);
    assert_eq!(store.blocked_inbound_count(GW).await.unwrap(), 1);
    assert_eq!(store.blocked_inbound_count(OTHER_GW).await.unwrap(), 0);

    // Delivering the backlog does not bring it back, nor does a restart.
    store.mark_inbound_delivered(&[held], BOB).await.unwrap();
    assert_eq!(
        store.inbound(held).await.unwrap().unwrap().delivered_to,
        None
    );
    let restarted = ctx.another_store().await;
    assert_eq!(
        restarted.undelivered_inbound(GW, 10).await.unwrap().len(),
        1
    );
    assert_eq!(restarted.blocked_inbound_count(GW).await.unwrap(), 1);
    restarted.close().await;

    // Unblocking does not release what was held back.
    store.unblock_number(GW, TROLL).await.unwrap();
    assert_eq!(store.blocked_inbound_count(GW).await.unwrap(), 1);
}

async fn a_blocked_text_keeps_its_body_when_transcripts_are_kept(ctx: Ctx) {
    let store = &ctx.store;
    store
        .set_transcript_policy(GW, TranscriptPolicy::Keep)
        .await
        .unwrap();
    let held = store
        .insert_inbound(&sms(&ctx, TROLL, "abuse"))
        .await
        .unwrap()
        .id();
    store.mark_inbound_blocked(held).await.unwrap();

    assert!(store.undelivered_inbound(GW, 10).await.unwrap().is_empty());
    let text = store.inbound(held).await.unwrap().unwrap();
    assert_eq!(text.state, InboundState::Delivered);
    assert_eq!(text.body.as_deref(), Some("abuse"));
    assert_eq!(store.inbound_parts(held).await.unwrap(), vec!["PDU-abuse"]);
    assert_eq!(blocked_at(&ctx, held).await, Some(ctx.clock.now()));
    assert_eq!(store.blocked_inbound_count(GW).await.unwrap(), 1);
}

async fn holding_back_is_idempotent_and_spares_delivered_texts(ctx: Ctx) {
    let store = &ctx.store;
    // Offered already (the number was blocked while the text was on its way): it is
    // still taken out of the backlog.
    let held = store
        .insert_inbound(&sms(&ctx, TROLL, "abuse"))
        .await
        .unwrap()
        .id();
    store.mark_inbound_offered(&[held]).await.unwrap();
    store.mark_inbound_blocked(held).await.unwrap();
    let first = blocked_at(&ctx, held).await;
    assert_eq!(first, Some(ctx.clock.now()));

    // The same SMS read again after a crash is held back again: nothing changes.
    ctx.clock.advance(Duration::seconds(5));
    store.mark_inbound_blocked(held).await.unwrap();
    assert_eq!(blocked_at(&ctx, held).await, first);
    assert_eq!(store.blocked_inbound_count(GW).await.unwrap(), 1);

    // A text a librarian received stays delivered to them.
    let delivered = store
        .insert_inbound(&sms(&ctx, PATRON, "thanks"))
        .await
        .unwrap()
        .id();
    store
        .mark_inbound_delivered(&[delivered], ALICE)
        .await
        .unwrap();
    store.mark_inbound_blocked(delivered).await.unwrap();
    assert_eq!(blocked_at(&ctx, delivered).await, None);
    assert_eq!(
        store
            .inbound(delivered)
            .await
            .unwrap()
            .unwrap()
            .delivered_to
            .as_deref(),
        Some(ALICE)
    );
    assert_eq!(store.blocked_inbound_count(GW).await.unwrap(), 1);
}

async fn holding_back_an_unknown_text_is_an_error(ctx: Ctx) {
    let error = ctx.store.mark_inbound_blocked(4242).await.unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::NotFound {
                what: "inbound text",
                id: 4242
            }
        ),
        "{error}"
    );
    assert_eq!(error.to_string(), "no inbound text with id 4242");
}

/// The gateway answers a patron by itself at most once per window: a second turn within
/// the window is refused, another patron has their own, and after the window it is
/// granted again. A second store on the same database (a restarted daemon) sees the
/// same record.
async fn one_automatic_reply_per_patron_per_window(ctx: Ctx) {
    let store = &ctx.store;
    let every = Duration::hours(12);
    for sender in [PATRON, TROLL] {
        store
            .insert_inbound(&sms(&ctx, sender, "hello"))
            .await
            .unwrap();
    }
    assert!(store.take_auto_reply_turn(GW, PATRON, every).await.unwrap());
    assert!(!store.take_auto_reply_turn(GW, PATRON, every).await.unwrap());
    assert!(store.take_auto_reply_turn(GW, TROLL, every).await.unwrap());
    assert!(
        !store
            .take_auto_reply_turn(OTHER_GW, PATRON, every)
            .await
            .unwrap(),
        "no conversation with this patron on the other gateway"
    );
    ctx.clock.advance(Duration::hours(11));
    let restarted = ctx.another_store().await;
    assert!(!restarted
        .take_auto_reply_turn(GW, PATRON, every)
        .await
        .unwrap());
    ctx.clock.advance(Duration::hours(1));
    assert!(restarted
        .take_auto_reply_turn(GW, PATRON, every)
        .await
        .unwrap());
}

/// `status` tells when the last text came in and the last reply went out.
async fn the_last_text_in_and_out(ctx: Ctx) {
    let store = &ctx.store;
    assert_eq!(store.last_traffic(GW).await.unwrap(), (None, None));
    store
        .insert_inbound(&sms(&ctx, PATRON, "first"))
        .await
        .unwrap();
    ctx.clock.advance(Duration::minutes(5));
    store
        .insert_inbound(&sms(&ctx, TROLL, "second"))
        .await
        .unwrap();
    let (last_in, last_out) = store.last_traffic(GW).await.unwrap();
    assert_eq!(last_in, Some(ctx.clock.now()));
    assert_eq!(last_out, None, "nothing was sent");
    assert_eq!(store.last_traffic(OTHER_GW).await.unwrap(), (None, None));

    let reply = textgate_store::NewOutbound {
        gateway: GW.to_owned(),
        recipient: PATRON.to_owned(),
        origin: textgate_store::OutboundOrigin::Chat {
            sender_jid: format!("{ALICE}/desk"),
            xmpp_id: "r-1".to_owned(),
            receipt: textgate_store::DeliveryReceipt::NotRequested,
        },
        body: "Yes".to_owned(),
        priority: textgate_store::Priority::CHAT,
        not_before: None,
    };
    store.enqueue_outbound(&reply).await.unwrap();
    ctx.clock.advance(Duration::minutes(1));
    let leased = store
        .lease_due(GW, "w", 1, Duration::seconds(60))
        .await
        .unwrap();
    let part = textgate_store::SentPart {
        seq: 1,
        message_ref: "7".to_owned(),
    };
    store.mark_sent(&leased[0].lease, &[part]).await.unwrap();
    let (_, last_out) = store.last_traffic(GW).await.unwrap();
    assert_eq!(last_out, Some(ctx.clock.now()));
}

async fn a_number_keeps_one_handle_and_a_handle_names_one_number(ctx: Ctx) {
    let store = &ctx.store;
    assert_eq!(store.patron_handle(GW, PATRON).await.unwrap(), None);
    let given = store
        .give_patron_handle(GW, PATRON, "p-aaaaaaaa")
        .await
        .unwrap();
    assert_eq!(given.as_deref(), Some("p-aaaaaaaa"));
    // Given again (another task, a restart): the first handle stays.
    let again = store
        .give_patron_handle(GW, PATRON, "p-bbbbbbbb")
        .await
        .unwrap();
    assert_eq!(again.as_deref(), Some("p-aaaaaaaa"));
    // A handle already taken is refused for another number.
    let taken = store
        .give_patron_handle(GW, TROLL, "p-aaaaaaaa")
        .await
        .unwrap();
    assert_eq!(taken, None);
    assert_eq!(store.patron_handle(GW, TROLL).await.unwrap(), None);
    assert_eq!(
        store
            .patron_of_handle(GW, "p-aaaaaaaa")
            .await
            .unwrap()
            .as_deref(),
        Some(PATRON)
    );
    // Handles are per gateway.
    assert_eq!(
        store
            .patron_of_handle(OTHER_GW, "p-aaaaaaaa")
            .await
            .unwrap(),
        None
    );
    let elsewhere = store
        .give_patron_handle(OTHER_GW, TROLL, "p-aaaaaaaa")
        .await
        .unwrap();
    assert_eq!(elsewhere.as_deref(), Some("p-aaaaaaaa"));
}

async fn transcripts_and_exports_show_the_handle(ctx: Ctx) {
    use std::io::Read as _;
    let store = &ctx.store;
    store
        .set_transcript_policy(GW, TranscriptPolicy::Keep)
        .await
        .unwrap();
    store
        .insert_inbound(&sms(&ctx, PATRON, "Is the library open?"))
        .await
        .unwrap();
    store.insert_inbound(&sms(&ctx, TROLL, "hi")).await.unwrap();
    store
        .give_patron_handle(GW, PATRON, "p-7kq2m9xd")
        .await
        .unwrap();

    let conversations = store.conversations(GW).await.unwrap();
    let shown: Vec<&str> = conversations.iter().map(|c| c.patron_as_shown()).collect();
    assert!(shown.contains(&"p-7kq2m9xd"), "{shown:?}");
    // A number without a handle (a gateway that shows numbers) is shown as it is.
    assert!(shown.contains(&TROLL), "{shown:?}");

    let ids = conversations.iter().map(|c| c.id).collect();
    let zip = store
        .export_transcripts(&textgate_store::Selection::Conversations {
            gateway: GW.to_string(),
            ids,
        })
        .await
        .unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut everything = String::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        everything.push_str(&format!("=== {}\n", file.name()));
        file.read_to_string(&mut everything).unwrap();
    }
    assert!(everything.contains("p-7kq2m9xd.txt"), "{everything}");
    assert!(everything.contains("with p-7kq2m9xd"), "{everything}");
    assert!(everything.contains("Is the library open?"), "{everything}");
    assert!(
        !everything.contains(PATRON),
        "the number leaked: {everything}"
    );
}

/// What a desk is shown of a conversation handed to it: the texts a librarian saw, in
/// order, the last ones only; not a text still waiting (it is delivered on its own); and
/// without bodies where the gateway keeps no transcripts.
async fn the_conversation_so_far_for_a_desk_it_is_handed_to(ctx: Ctx) {
    let store = &ctx.store;
    for (policy, kept) in [
        (TranscriptPolicy::Keep, true),
        (TranscriptPolicy::EraseOnDelivery, false),
    ] {
        store.set_transcript_policy(GW, policy).await.unwrap();
        let patron = if kept { PATRON } else { TROLL };
        let first = store
            .insert_inbound(&sms(&ctx, patron, "Do you have Middlemarch?"))
            .await
            .unwrap()
            .id();
        store.mark_inbound_delivered(&[first], ALICE).await.unwrap();
        ctx.clock.advance(Duration::minutes(2));
        let reply = textgate_store::NewOutbound {
            gateway: GW.to_owned(),
            recipient: patron.to_owned(),
            origin: textgate_store::OutboundOrigin::Chat {
                sender_jid: format!("{ALICE}/desk"),
                xmpp_id: format!("r-{kept}"),
                receipt: textgate_store::DeliveryReceipt::NotRequested,
            },
            body: "Let me look.".to_owned(),
            priority: textgate_store::Priority::CHAT,
            not_before: None,
        };
        store.enqueue_outbound(&reply).await.unwrap();
        ctx.clock.advance(Duration::minutes(1));
        let second = store
            .insert_inbound(&sms(&ctx, patron, "Any large print?"))
            .await
            .unwrap()
            .id();
        store
            .mark_inbound_delivered(&[second], ALICE)
            .await
            .unwrap();
        ctx.clock.advance(Duration::minutes(1));
        store
            .insert_inbound(&sms(&ctx, patron, "Still waiting"))
            .await
            .unwrap();

        let conversation = store.find_conversation(GW, patron).await.unwrap().unwrap();
        let all = store.recent_texts(conversation.id, 10).await.unwrap();
        let seen: Vec<(bool, Option<&str>)> = all
            .iter()
            .map(|t| (t.inbound, t.operator.as_deref()))
            .collect();
        let desk = format!("{ALICE}/desk");
        assert_eq!(
            seen,
            [
                (true, Some(ALICE)),
                (false, Some(desk.as_str())),
                (true, Some(ALICE))
            ],
            "the waiting text is left out"
        );
        assert!(all.windows(2).all(|w| w[0].at <= w[1].at), "{all:?}");
        let bodies: Vec<Option<&str>> = all.iter().map(|t| t.body.as_deref()).collect();
        if kept {
            assert_eq!(
                bodies,
                [
                    Some("Do you have Middlemarch?"),
                    Some("Let me look."),
                    Some("Any large print?")
                ]
            );
        } else {
            // The reply's body stays until it is sent; the delivered texts' are gone.
            assert_eq!(bodies, [None, Some("Let me look."), None]);
        }
        let last = store.recent_texts(conversation.id, 2).await.unwrap();
        assert_eq!(last, all[1..].to_vec(), "the last ones, oldest first");
    }
}
