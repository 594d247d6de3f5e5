//! The session state machine, driven with PDUs built by the codec and a clock the test
//! moves: binding, the window, responses paired by sequence number, deliveries answered
//! only when acknowledged, keep-alive and dead links, and bad input from the SMSC.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use textgate_smpp::pdu::INTERFACE_VERSION_34;
use textgate_smpp::{
    Address, Bind, BindKind, Body, CommandId, CommandStatus, Event, Pdu, Session, SessionConfig,
    ShortMessage, State, SubmitError,
};

fn config(window: usize) -> SessionConfig {
    SessionConfig {
        bind: Bind {
            kind: BindKind::Transceiver,
            system_id: b"textgate".to_vec(),
            password: b"secret".to_vec(),
            system_type: Vec::new(),
            interface_version: INTERFACE_VERSION_34,
            address_range: Address::default(),
        },
        window,
        enquire_link_interval: Duration::from_secs(30),
        response_timeout: Duration::from_secs(10),
        max_pdu: 4096,
    }
}

fn decode(bytes: &[u8]) -> Pdu {
    Pdu::decode(bytes).unwrap_or_else(|e| panic!("the session wrote {bytes:02x?}: {e}"))
}

fn answer(sequence: u32, status: CommandStatus, body: Body) -> Vec<u8> {
    Pdu {
        status,
        sequence,
        body,
    }
    .encode()
}

fn text(to: &str) -> ShortMessage {
    ShortMessage {
        destination: Address::new(1, 1, to.as_bytes().to_vec()),
        short_message: b"Your hold is in".to_vec(),
        ..ShortMessage::default()
    }
}

/// A session bound at `now`.
fn bound(window: usize, now: Instant) -> Session {
    let (mut session, bind) = Session::connect(config(window), now);
    let bind = decode(&bind);
    assert_eq!(bind.command_id(), CommandId::BIND_TRANSCEIVER);
    let resp = answer(
        bind.sequence,
        CommandStatus::OK,
        Body::BindResp {
            kind: BindKind::Transceiver,
            system_id: b"smsc".to_vec(),
            tlvs: Vec::new(),
        },
    );
    let (out, events) = session.received(&resp, now);
    assert!(out.is_empty());
    assert_eq!(
        events,
        [Event::Bound {
            system_id: b"smsc".to_vec()
        }]
    );
    assert_eq!(session.state(), State::Bound);
    session
}

#[test]
fn nothing_is_submitted_before_the_bind_is_accepted() {
    let now = Instant::now();
    let (mut session, _) = Session::connect(config(2), now);
    assert_eq!(
        session.submit(1, text("1555"), now),
        Err(SubmitError::NotBound)
    );
}

#[test]
fn a_refused_bind_ends_the_session() {
    let now = Instant::now();
    let (mut session, bind) = Session::connect(config(2), now);
    let resp = answer(
        decode(&bind).sequence,
        CommandStatus::INVALID_PASSWORD,
        Body::BindResp {
            kind: BindKind::Transceiver,
            system_id: Vec::new(),
            tlvs: Vec::new(),
        },
    );
    let (_, events) = session.received(&resp, now);
    assert!(
        matches!(&events[..], [Event::BindRefused { status }, Event::Disconnect { reason }]
            if *status == CommandStatus::INVALID_PASSWORD && reason.contains("ESME_RINVPASWD")),
        "{events:?}"
    );
    assert_eq!(session.state(), State::Closed);
}

#[test]
fn the_window_holds_and_responses_find_their_submits() {
    let now = Instant::now();
    let mut session = bound(2, now);
    let first = decode(&session.submit(10, text("1555"), now).expect("room"));
    let second = decode(&session.submit(11, text("1556"), now).expect("room"));
    assert_ne!(first.sequence, second.sequence);
    assert_eq!(
        session.submit(12, text("1557"), now),
        Err(SubmitError::WindowFull)
    );
    assert!(!session.can_submit());

    // Answered out of order: each answer settles its own submit.
    let (_, events) = session.received(
        &answer(
            second.sequence,
            CommandStatus::THROTTLED,
            Body::SubmitSmResp {
                message_id: Vec::new(),
            },
        ),
        now,
    );
    assert_eq!(
        events,
        [Event::Refused {
            tag: 11,
            status: CommandStatus::THROTTLED
        }]
    );
    assert!(session.can_submit());
    let (_, events) = session.received(
        &answer(
            first.sequence,
            CommandStatus::OK,
            Body::SubmitSmResp {
                message_id: b"abc".to_vec(),
            },
        ),
        now,
    );
    assert_eq!(
        events,
        [Event::Accepted {
            tag: 10,
            message_id: b"abc".to_vec()
        }]
    );
    assert_eq!(session.submits_outstanding(), 0);
}

#[test]
fn a_delivery_is_answered_only_when_acknowledged() {
    let now = Instant::now();
    let mut session = bound(2, now);
    let mo = Pdu::new(77, Body::DeliverSm(text("12345"))).encode();
    let (out, events) = session.received(&mo, now);
    assert!(out.is_empty(), "no answer before the text is stored");
    assert_eq!(
        events,
        [Event::Deliver {
            sequence: 77,
            message: text("12345")
        }]
    );
    let ack = decode(&session.acknowledge(77));
    assert_eq!(
        (ack.command_id(), ack.sequence, ack.status),
        (CommandId::DELIVER_SM_RESP, 77, CommandStatus::OK)
    );
    let refusal = decode(&session.refuse_for_now(77));
    assert_eq!(refusal.status.0, 0x64);
}

#[test]
fn a_lost_connection_leaves_outstanding_submits_unknown() {
    let now = Instant::now();
    let mut session = bound(3, now);
    session.submit(1, text("1555"), now).expect("room");
    session.submit(2, text("1556"), now).expect("room");
    let events = session.connection_lost("read: connection reset");
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(events.contains(&Event::Unknown { tag: 1 }));
    assert!(events.contains(&Event::Unknown { tag: 2 }));
    assert_eq!(session.state(), State::Closed);
    assert_eq!(
        session.submit(3, text("1557"), now),
        Err(SubmitError::NotBound)
    );
}

#[test]
fn a_quiet_link_is_probed_and_a_dead_one_dropped() {
    let start = Instant::now();
    let mut session = bound(2, start);
    let (out, _) = session.tick(start + Duration::from_secs(29));
    assert!(out.is_empty());
    assert_eq!(
        session.next_deadline(),
        Some(start + Duration::from_secs(30))
    );
    let (out, _) = session.tick(start + Duration::from_secs(30));
    let probe = decode(&out[0]);
    assert_eq!(probe.command_id(), CommandId::ENQUIRE_LINK);
    // One probe at a time.
    assert!(session.tick(start + Duration::from_secs(35)).0.is_empty());
    // Answered: alive.
    let (_, events) = session.received(
        &Pdu::new(probe.sequence, Body::EnquireLinkResp).encode(),
        start + Duration::from_secs(36),
    );
    assert!(events.is_empty());

    // A submit whose answer never comes: the link is dead and the submit unknown.
    let sent = start + Duration::from_secs(40);
    session.submit(5, text("1555"), sent).expect("room");
    let (_, events) = session.tick(sent + Duration::from_secs(10));
    assert_eq!(events[0], Event::Unknown { tag: 5 });
    assert!(matches!(&events[1], Event::Disconnect { reason } if reason.contains("no answer")));
}

#[test]
fn bad_input_is_answered_and_the_session_goes_on() {
    let now = Instant::now();
    let mut session = bound(2, now);

    // A command nobody knows: generic_nack, invalid command id.
    let unknown = Pdu::new(
        5,
        Body::Other {
            command_id: CommandId(0x77),
            body: vec![1],
        },
    )
    .encode();
    let (out, events) = session.received(&unknown, now);
    let nack = decode(&out[0]);
    assert_eq!(
        (nack.command_id(), nack.sequence, nack.status),
        (
            CommandId::GENERIC_NACK,
            5,
            CommandStatus::INVALID_COMMAND_ID
        )
    );
    assert!(matches!(&events[0], Event::Rejected { .. }));

    // A deliver_sm cut short inside its fields: generic_nack with its sequence number.
    let mut broken = Pdu::new(6, Body::DeliverSm(text("12345"))).encode();
    broken.truncate(30);
    broken[..4].copy_from_slice(&30u32.to_be_bytes());
    let (out, _) = session.received(&broken, now);
    let nack = decode(&out[0]);
    assert_eq!(
        (nack.command_id(), nack.sequence),
        (CommandId::GENERIC_NACK, 6)
    );

    // A response to nothing we asked: noted, nothing else.
    let (out, events) = session.received(
        &answer(
            999,
            CommandStatus::OK,
            Body::SubmitSmResp {
                message_id: b"x".to_vec(),
            },
        ),
        now,
    );
    assert!(out.is_empty());
    assert!(matches!(&events[0], Event::Rejected { what } if what.contains("999")));
    assert_eq!(session.state(), State::Bound);

    // The SMSC's own keep-alive is answered.
    let (out, _) = session.received(&Pdu::new(8, Body::EnquireLink).encode(), now);
    assert_eq!(decode(&out[0]).command_id(), CommandId::ENQUIRE_LINK_RESP);

    // A length no PDU can have: the stream is lost.
    let (_, events) = session.received(&[0, 0, 0, 3], now);
    assert!(
        matches!(&events[..], [Event::Disconnect { reason }] if reason.contains("16-octet")),
        "{events:?}"
    );
}

#[test]
fn unbinding_either_way_ends_the_session() {
    let now = Instant::now();
    let mut session = bound(2, now);
    let (out, events) = session.received(&Pdu::new(9, Body::Unbind).encode(), now);
    assert_eq!(decode(&out[0]).command_id(), CommandId::UNBIND_RESP);
    assert!(matches!(&events[..], [Event::Disconnect { .. }]));

    let mut session = bound(2, now);
    let unbind = decode(&session.unbind(now).expect("an unbind"));
    assert_eq!(session.unbind(now), None, "once");
    assert_eq!(
        session.submit(1, text("1555"), now),
        Err(SubmitError::NotBound)
    );
    let (_, events) = session.received(&Pdu::new(unbind.sequence, Body::UnbindResp).encode(), now);
    assert!(matches!(&events[..], [Event::Disconnect { reason }] if reason == "unbound"));
}

#[test]
fn sequence_numbers_stay_in_range_and_wrap() {
    let now = Instant::now();
    let mut session = bound(1, now);
    let mut last = 0;
    for tag in 0..5u64 {
        let sent = decode(&session.submit(tag, text("1555"), now).expect("room"));
        assert!(sent.sequence >= 1 && sent.sequence <= 0x7FFF_FFFF);
        assert_ne!(sent.sequence, last);
        last = sent.sequence;
        session.received(
            &answer(
                sent.sequence,
                CommandStatus::OK,
                Body::SubmitSmResp {
                    message_id: b"m".to_vec(),
                },
            ),
            now,
        );
    }
}

proptest! {
    /// Whatever the SMSC sends, in whatever pieces: no panic, and everything the session
    /// writes back is a PDU.
    #[test]
    fn no_stream_from_the_smsc_makes_the_session_panic(
        pieces in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..12),
        requests in proptest::collection::vec(
            (1u32..20, prop_oneof![Just(0x15u32), Just(0x05), Just(0x06), Just(0x80000004), Just(0x77)]),
            0..4,
        ),
    ) {
        let now = Instant::now();
        let mut session = bound(4, now);
        let _ = session.submit(1, text("1555"), now);
        let mut stream = Vec::new();
        for (sequence, command) in requests {
            let mut header = Vec::new();
            for v in [16u32, command, 0, sequence] {
                header.extend_from_slice(&v.to_be_bytes());
            }
            stream.push(header);
        }
        stream.extend(pieces);
        for piece in stream {
            let (out, _) = session.received(&piece, now);
            for frame in out {
                prop_assert!(Pdu::decode(&frame).is_ok());
            }
        }
        let _ = session.tick(now + Duration::from_secs(60));
    }
}
