//! Transcript tests: recorded AT sessions in `tests/transcripts/` replayed by a scripted
//! fake modem over an in-memory pipe. The script checks every byte the driver writes, in
//! order; the snapshot checks what the driver reported. Time is paused, so timeouts and
//! backoff run instantly and deterministically.

mod support;

use std::time::Duration;

use expect_test::{expect, Expect};
use support::{test_config, Receiver, Session, PATIENCE};
use textgate_at::command::NewMessageIndication;
use textgate_gsm::pdu::from_hex;
use textgate_modem::{ModemConfig, OutgoingSms, SmsDriver, SubmitPart};

const HELLO: &str = "0001000B917228001011F100000CC8329BFD065DDF72363904";
const COOL: &str = "0011000B915155661632F40000001954747A0E4ACF41F27298CDCE83C6EF371B0481402010";

fn part(hex: &str, tpdu_length: usize) -> SubmitPart {
    SubmitPart {
        pdu: from_hex(hex).expect("test PDU"),
        tpdu_length,
    }
}

/// A message of recorded parts; the recipient and text beside them are not what the AT
/// driver sends (it sends the PDUs), so any will do.
fn message(parts: Vec<SubmitPart>) -> OutgoingSms {
    OutgoingSms {
        recipient: "+358401234567".to_owned(),
        text: "hellohello".to_owned(),
        parts,
        key: None,
    }
}

fn hello() -> OutgoingSms {
    message(vec![part(HELLO, 24)])
}

/// Plays a transcript with the receiver acknowledging at once and checks the log.
async fn check(name: &str, config: ModemConfig, expected: Expect) {
    let session = Session::start(name, config, Receiver::AcknowledgeAtOnce);
    expected.assert_eq(&session.finish().await);
}

#[tokio::test(start_paused = true)]
async fn startup() {
    check(
        "startup",
        test_config(),
        expect![[r#"
            health: connecting (attempt 1)
            health: ready (quectel profile)"#]],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn startup_hands_over_stored_messages_and_deletes_after_ack() {
    check(
        "startup-stored",
        test_config(),
        expect![[r#"
            health: connecting (attempt 1)
            incoming part (stored 1) from +27821234567 "Test2"
            incoming part (stored 4) from +18005551212 "hellohello"
            health: ready (quectel profile)"#]],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn receive_via_cmti() {
    check(
        "receive-cmti",
        test_config(),
        expect![[r#"
            health: connecting (attempt 1)
            health: ready (quectel profile)
            incoming part (stored 3) from +27821234567 "Test2"
            incoming part (stored 1) from +18005551212 "hellohello""#]],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn receive_via_cmt_and_cds_acknowledged_with_cnma() {
    let config = ModemConfig {
        indication: Some(NewMessageIndication::ROUTE_DIRECTLY),
        ..test_config()
    };
    check(
        "receive-cmt",
        config,
        expect![[r#"
            health: connecting (attempt 1)
            health: ready (quectel profile)
            incoming part (routed) from +27821234567 "Test2"
            status report (routed) reference 214 to +31628870634 status 0x00"#]],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn stored_status_report() {
    check(
        "status-report-stored",
        test_config(),
        expect![[r#"
            health: connecting (attempt 1)
            health: ready (quectel profile)
            status report (stored 7) reference 214 to +31628870634 status 0x00"#]],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn send_single() {
    let session = Session::start("send-single", test_config(), Receiver::AcknowledgeAtOnce);
    let result = session.modem.send(hello()).await;
    session.record_send(&result);
    expect![[r#"
        health: connecting (attempt 1)
        health: ready (quectel profile)
        send ok, references [MessageReference("214")]"#]]
    .assert_eq(&session.finish().await);
}

#[tokio::test(start_paused = true)]
async fn send_multipart_keeps_the_link_open() {
    let session = Session::start("send-multipart", test_config(), Receiver::AcknowledgeAtOnce);
    let message = message(vec![part(HELLO, 24), part(COOL, 36)]);
    let result = session.modem.send(message).await;
    session.record_send(&result);
    expect![[r#"
        health: connecting (attempt 1)
        health: ready (quectel profile)
        send ok, references [MessageReference("12"), MessageReference("13")]"#]]
    .assert_eq(&session.finish().await);
}

#[tokio::test(start_paused = true)]
async fn send_errors_are_classified_and_a_bare_error_does_not_block_the_queue() {
    let session = Session::start("send-errors", test_config(), Receiver::AcknowledgeAtOnce);
    // Queue all four at once: each waits its turn behind the one before.
    let (a, b, c, d) = tokio::join!(
        session.modem.send(hello()),
        session.modem.send(hello()),
        session.modem.send(hello()),
        session.modem.send(hello()),
    );
    for result in [&a, &b, &c, &d] {
        session.record_send(result);
    }
    expect![[r#"
        health: connecting (attempt 1)
        health: ready (quectel profile)
        send failed (retryable): part 1 of 1 was refused: +CMS ERROR 500 (unknown error)
        send failed (final): part 1 of 1 was refused: +CMS ERROR 304 (invalid PDU mode parameter)
        send failed (retryable): part 1 of 1 was refused with a bare ERROR (no reason given)
        send ok, references [MessageReference("7")]"#]]
    .assert_eq(&session.finish().await);
}

#[tokio::test(start_paused = true)]
async fn a_wrong_tpdu_length_is_refused_before_the_modem_sees_it() {
    let session = Session::start("startup", test_config(), Receiver::AcknowledgeAtOnce);
    let result = session.modem.send(message(vec![part(HELLO, 23)])).await;
    session.record_send(&result);
    let result = session.modem.send(message(vec![])).await;
    session.record_send(&result);
    expect![[r#"
        health: connecting (attempt 1)
        health: ready (quectel profile)
        send failed (final): part 1 of 1 is not a valid submission: TPDU length 23 announced, but the PDU has 24 octets after its 1-octet SMSC field
        send failed (final): the message has no parts"#]]
    .assert_eq(&session.finish().await);
}

#[tokio::test(start_paused = true)]
async fn hang_then_soft_reset_then_reopen_with_backoff() {
    let config = ModemConfig {
        keepalive: Duration::from_secs(60),
        ..test_config()
    };
    check(
        "hang-reopen",
        config,
        expect![[r#"
            health: connecting (attempt 1)
            health: ready (quectel profile)
            health: unresponsive: no answer to AT within 5s
            health: disconnected: no answer to AT within 5s; reopening in 1s
            health: connecting (attempt 2)
            health: disconnected: cannot open scripted modem: no such device (scripted); reopening in 2s
            health: connecting (attempt 3)
            health: ready (quectel profile)"#]],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn sim_storage_full_is_drained() {
    check(
        "sim-full",
        test_config(),
        expect![[r#"
            health: connecting (attempt 1)
            health: ready (quectel profile)
            health: message storage full (1 of 1)
            incoming part (stored 2) from +27821234567 "Test2"
            health: message storage has room (0 of 1)"#]],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn pin_from_config() {
    let config = ModemConfig {
        pin: Some("1234".into()),
        ..test_config()
    };
    check(
        "pin-required",
        config,
        expect![[r#"
            health: connecting (attempt 1)
            health: ready (quectel profile)"#]],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn wrong_pin_stops_the_driver_without_retrying() {
    let config = ModemConfig {
        pin: Some("1234".into()),
        ..test_config()
    };
    let session = Session::start("pin-wrong", config, Receiver::AcknowledgeAtOnce);
    session.wait_for_log("health: needs an operator").await;
    let result = session.modem.send(hello()).await;
    session.record_send(&result);
    expect![[r#"
        health: connecting (attempt 1)
        health: needs an operator: the SIM refused the configured PIN (+CME ERROR 16 (incorrect password)); not trying again, as three wrong PINs lock the SIM
        send failed (retryable): the modem is not available: stopped until a person acts: the SIM refused the configured PIN (+CME ERROR 16 (incorrect password)); not trying again, as three wrong PINs lock the SIM"#]]
    .assert_eq(&session.finish().await);
}

#[tokio::test(start_paused = true)]
async fn missing_pin_and_puk_need_an_operator() {
    check(
        "pin-missing",
        test_config(),
        expect![[r#"
            health: connecting (attempt 1)
            health: needs an operator: the SIM asks for its PIN and none is configured"#]],
    )
    .await;
    check(
        "puk-required",
        ModemConfig { pin: Some("1234".into()), ..test_config() },
        expect![[r#"
            health: connecting (attempt 1)
            health: needs an operator: the SIM cannot be used: AT+CPIN? failed: +CME ERROR 12 (SIM PUK required)"#]],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn doubled_echo_and_line_noise() {
    check(
        "echo-and-noise",
        test_config(),
        expect![[r#"
            health: connecting (attempt 1)
            health: ready (huawei profile)"#]],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn calls_are_rejected_and_reported() {
    check(
        "call",
        test_config(),
        expect![[r#"
            health: connecting (attempt 1)
            health: ready (quectel profile)
            call from +15551234567 rejected
            call from a hidden number rejected"#]],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_message_is_deleted_only_after_the_receiver_acknowledged_it() {
    let mut session = Session::start("ack-order", test_config(), Receiver::HandOver);
    let ack = tokio::time::timeout(PATIENCE, session.held.recv())
        .await
        .expect("a message")
        .expect("an ack handle");
    let before = session.steps_done();
    // However long the receiver takes to store the message, the modem is not told to
    // delete it: the script stays at its `AT+CMGD=3` step.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(
        session.steps_done(),
        before,
        "nothing happens before the acknowledgement"
    );
    session.note("receiver acknowledges");
    ack.acknowledge().expect("driver running");
    expect![[r#"
        health: connecting (attempt 1)
        health: ready (quectel profile)
        incoming part (stored 3) from +27821234567 "Test2"
        receiver acknowledges"#]]
    .assert_eq(&session.finish().await);
}

#[tokio::test(start_paused = true)]
async fn probe_reads_in_plain_words() {
    let script = support::Script::load("probe");
    let port = textgate_modem::PortOpener::open(&script.opener)
        .await
        .expect("scripted port");
    let status = textgate_modem::probe(port, "scripted modem", textgate_modem::Timeouts::default())
        .await
        .expect("probe");
    expect![[r#"
        Manufacturer:  Quectel
        Model:         EC25
        Firmware:      EC25EFAR06A03M4G
        IMEI:          867698041234567
        SIM:           ready
        Signal:        -79 dBm, good (CSQ 17)
        Network:       registered on the home network
        Operator:      Vodafone UK
        SMS centre:    not set (sending will fail until it is configured)
        SMS storage:   3 of 10 used (SM)
        Quirk profile: quectel"#]]
    .assert_eq(&status.to_string());
}

#[tokio::test(start_paused = true)]
async fn send_timeout_is_retryable_and_resets_the_modem() {
    let session = Session::start("send-timeout", test_config(), Receiver::AcknowledgeAtOnce);
    let result = session.modem.send(hello()).await;
    session.record_send(&result);
    expect![[r#"
        health: connecting (attempt 1)
        health: ready (quectel profile)
        health: unresponsive: no answer to AT+CMGS within 35s
        send failed (retryable): part 1 of 1: no answer within 35s; it may or may not have been sent
        health: ready (quectel profile)"#]]
    .assert_eq(&session.finish().await);
}

#[tokio::test(start_paused = true)]
async fn link_lost_mid_send_is_retryable_and_the_device_is_reopened() {
    let session = Session::start("send-link-lost", test_config(), Receiver::AcknowledgeAtOnce);
    let result = session.modem.send(hello()).await;
    session.record_send(&result);
    expect![[r#"
        health: connecting (attempt 1)
        health: ready (quectel profile)
        health: disconnected: reading or writing the device failed: broken pipe; reopening in 1s
        send failed (retryable): part 1 of 1: the link to the modem ended before its answer (reading or writing the device failed: broken pipe); it may or may not have been sent
        health: connecting (attempt 2)
        health: ready (quectel profile)"#]].assert_eq(&session.finish().await);
}

#[test]
fn outgoing_parts_carry_the_tpdu_length() {
    use textgate_gsm::pdu::{Pdu, SmscField};
    let pdu = Pdu::decode_hex(HELLO, SmscField::Present).expect("test vector 4");
    let message = OutgoingSms::from_pdus("+358401234567", "hellohello", &[pdu]).expect("encodes");
    assert_eq!(message.parts, [part(HELLO, 24)]);
}

#[tokio::test(start_paused = true)]
async fn empty_smsc_is_set_from_config_or_reported() {
    let config = ModemConfig {
        smsc: Some("+447785016005".into()),
        ..test_config()
    };
    check(
        "smsc-empty",
        config,
        expect![[r#"
        health: connecting (attempt 1)
        health: ready (quectel profile)"#]],
    )
    .await;
    check(
        "smsc-missing",
        test_config(),
        expect![[r#"
        health: connecting (attempt 1)
        health: no SMS service centre address; sending will fail
        health: ready (quectel profile)"#]],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn storage_check_collects_messages_whose_notification_was_lost() {
    let config = ModemConfig {
        storage_check: Duration::from_secs(600),
        ..test_config()
    };
    check(
        "lost-notification",
        config,
        expect![[r#"
        health: connecting (attempt 1)
        health: ready (quectel profile)
        incoming part (stored 5) from +27821234567 "Test2""#]],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn android_profile_changes_indications_multipart_and_call_rejection() {
    let session = Session::start("android", test_config(), Receiver::AcknowledgeAtOnce);
    let message = message(vec![part(HELLO, 24), part(COOL, 36)]);
    let result = session.modem.send(message).await;
    session.record_send(&result);
    expect![[r#"
        health: connecting (attempt 1)
        health: ready (android profile)
        call from +15551234567 rejected
        send ok, references [MessageReference("30"), MessageReference("31")]"#]]
    .assert_eq(&session.finish().await);
}

#[tokio::test(start_paused = true)]
async fn a_refused_deletion_is_retried_without_handing_the_message_over_again() {
    let config = ModemConfig {
        storage_check: Duration::from_secs(600),
        ..test_config()
    };
    check(
        "delete-refused",
        config,
        expect![[r#"
        health: connecting (attempt 1)
        health: ready (quectel profile)
        incoming part (stored 3) from +27821234567 "Test2""#]],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_deletion_lost_with_the_link_is_done_after_reopening() {
    check(
        "delete-link-lost",
        test_config(),
        expect![[r#"
        health: connecting (attempt 1)
        health: ready (quectel profile)
        incoming part (stored 3) from +27821234567 "Test2"
        health: disconnected: the device closed the connection; reopening in 1s
        health: connecting (attempt 2)
        health: ready (quectel profile)"#]],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_late_answer_does_not_shift_later_answers() {
    let config = ModemConfig {
        keepalive: Duration::from_secs(60),
        ..test_config()
    };
    check(
        "late-answer",
        config,
        expect![[r#"
        health: connecting (attempt 1)
        health: ready (quectel profile)
        health: unresponsive: no answer to AT within 5s
        health: ready (quectel profile)"#]],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_slot_reused_after_a_deletion_lost_with_the_link_is_handed_over_not_deleted() {
    let mut session = Session::start("delete-slot-reused", test_config(), Receiver::HandOver);
    let first = tokio::time::timeout(PATIENCE, session.held.recv())
        .await
        .expect("the first message")
        .expect("an ack handle");
    session.note("receiver acknowledges the first message");
    first.acknowledge().expect("driver running");
    let second = tokio::time::timeout(PATIENCE, session.held.recv())
        .await
        .expect("the message stored in the freed slot")
        .expect("an ack handle");
    // The new message stays on the modem however long the receiver takes: once the
    // driver has settled, the script stays at its last `AT+CMGD=3` step until the
    // acknowledgement.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let before = session.steps_done();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(
        session.steps_done(),
        before,
        "nothing is deleted before the acknowledgement"
    );
    session.note("receiver acknowledges the second message");
    second.acknowledge().expect("driver running");
    expect![[r#"
        health: connecting (attempt 1)
        health: ready (quectel profile)
        incoming part (stored 3) from +27821234567 "Test2"
        receiver acknowledges the first message
        health: disconnected: the device closed the connection; reopening in 1s
        health: connecting (attempt 2)
        incoming part (stored 3) from +18005551212 "hellohello"
        health: ready (quectel profile)
        receiver acknowledges the second message"#]]
    .assert_eq(&session.finish().await);
}
