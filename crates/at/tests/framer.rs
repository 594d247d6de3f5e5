//! Framer behaviour over realistic modem transcripts, checked as snapshots, and property
//! tests: no input panics, and any split of the byte stream gives the same events.

use expect_test::{expect, Expect};
use proptest::prelude::*;
use textgate_at::command::{Command, ListFilter};
use textgate_at::framer::{Event, Framer, MAX_LINE};

/// Feeds `bytes` while `command` runs (if any) and renders one event per line.
fn check(command: Option<Command>, bytes: &[u8], expected: Expect) {
    let mut framer = Framer::new();
    if let Some(command) = command {
        framer.expect(command.expectation());
    }
    let events = framer.feed(bytes);
    let rendered: Vec<String> = events.iter().map(ToString::to_string).collect();
    expected.assert_eq(&rendered.join("\n"));
}

#[test]
fn plain_ok_and_errors() {
    check(
        Some(Command::Attention),
        b"\r\nOK\r\n",
        expect![[r#"final OK"#]],
    );
    check(
        Some(Command::Attention),
        b"\r\nERROR\r\n",
        expect![[r#"final ERROR"#]],
    );
    check(
        Some(Command::PduMode),
        b"\r\n+CME ERROR: 14\r\n",
        expect![[r#"final +CME ERROR 14 (SIM busy)"#]],
    );
    check(
        Some(Command::PduMode),
        b"\r\n+CME ERROR: SIM PIN required\r\n",
        expect![[r#"final +CME ERROR 11 (SIM PIN required)"#]],
    );
    check(
        Some(Command::SendPdu { tpdu_length: 23 }),
        b"\r\n+CMS ERROR: 500\r\n",
        expect![[r#"final +CMS ERROR 500 (unknown error)"#]],
    );
    // Call progress codes end only a dial command; otherwise a call ended on its own.
    check(
        Some(Command::Raw("ATD+15551234567;".into())),
        b"\r\nNO CARRIER\r\n",
        expect![[r#"final NO CARRIER"#]],
    );
    check(
        Some(Command::HangUp),
        b"\r\nNO CARRIER\r\n\r\nOK\r\n",
        expect![[r#"
            urc CallEnded("NO CARRIER")
            final OK"#]],
    );
}

#[test]
fn echo_and_doubled_echo() {
    check(
        Some(Command::EchoOff),
        b"ATE0\r\r\nOK\r\n",
        expect![[r#"
            echo "ATE0"
            final OK"#]],
    );
    // Some modems echo every command twice, even after ATE0.
    check(
        Some(Command::SignalQuality),
        b"AT+CSQ\rAT+CSQ\r\r\n+CSQ: 17,99\r\n\r\nOK\r\n",
        expect![[r#"
            echo "AT+CSQ"
            echo "AT+CSQ"
            response "+CSQ: 17,99"
            final OK"#]],
    );
    // A late echo after the final result is still an echo, not an unsolicited code.
    check(
        Some(Command::Attention),
        b"\r\nOK\r\nAT\r",
        expect![[r#"
            final OK
            echo "AT""#]],
    );
}

#[test]
fn read_message_with_pdu_line() {
    check(
        Some(Command::ReadMessage(3)),
        b"\r\n+CMGR: 0,,24\r\n06917228195339040B917228214365F700003130805120618005D4F29C2E03\r\n\r\nOK\r\n",
        expect![[r#"
            response "+CMGR: 0,,24" pdu 06917228195339040B917228214365F700003130805120618005D4F29C2E03
            final OK"#]],
    );
    // An empty slot: some modems answer OK alone, others a header with length 0 and no PDU.
    check(
        Some(Command::ReadMessage(9)),
        b"\r\n+CMGR: 0,,0\r\n\r\nOK\r\n",
        expect![[r#"
            response "+CMGR: 0,,0"
            final OK"#]],
    );
}

#[test]
fn list_with_urcs_interleaved() {
    check(
        Some(Command::ListMessages(ListFilter::All)),
        concat!(
            "\r\n+CMGL: 1,1,,24\r\n06917228195339040B917228214365F700003130805120618005D4F29C2E03\r\n",
            "+CMTI: \"SM\",5\r\n",
            "+CMGL: 2,0,,24\r\n06917228195339040B917228214365F700003130805120618005D4F29C2E03\r\n",
            "\r\nRING\r\n\r\n+CLIP: \"+15551234567\",145,,,,0\r\n",
            "\r\nOK\r\n",
        )
        .as_bytes(),
        expect![[r#"
            response "+CMGL: 1,1,,24" pdu 06917228195339040B917228214365F700003130805120618005D4F29C2E03
            urc MessageStored { storage: "SM", index: 5, kind: None }
            response "+CMGL: 2,0,,24" pdu 06917228195339040B917228214365F700003130805120618005D4F29C2E03
            urc Ring
            urc CallerId { number: "+15551234567", type_of_address: Some(145) }
            final OK"#]],
    );
}

#[test]
fn unsolicited_codes_while_idle() {
    check(
        None,
        concat!(
            "\r\n+CMTI: \"SM\",3\r\n",
            "\r\n+CMTI: \"SM\",1,\"MMS PUSH\",2,1\r\n",
            "\r\n+CMT: ,24\r\n06917228195339040B917228214365F700003130805120618005D4F29C2E03\r\n",
            "\r\n+CDS: 25\r\n0006D60B911326880736F4111011719551401110117195714000\r\n",
            "\r\n+CDSI: \"SM\",7\r\n",
            "\r\n^SMMEMFULL: \"SM\"\r\n",
            "\r\n+CRING: VOICE\r\n",
            "\r\n^RSSI: 17\r\n",
            "\r\n+CMTI: SM\r\n",
            "\r\n+CREG: 1\r\n",
        )
        .as_bytes(),
        expect![[r#"
            urc MessageStored { storage: "SM", index: 3, kind: None }
            urc MessageStored { storage: "SM", index: 1, kind: Some("MMS PUSH") }
            urc Deliver { length: Some(24), pdu: Some("06917228195339040B917228214365F700003130805120618005D4F29C2E03") }
            urc StatusReport { length: Some(25), pdu: Some("0006D60B911326880736F4111011719551401110117195714000") }
            urc StatusReportStored { storage: "SM", index: 7 }
            urc MemoryFull { storage: Some("SM") }
            urc Ring
            urc Other("^RSSI: 17")
            urc Malformed { line: "+CMTI: SM", reason: "expected a storage name and an index" }
            urc Other("+CREG: 1")"#]],
    );
}

#[test]
fn foreign_prefixed_lines_during_a_command_are_unsolicited() {
    check(
        Some(Command::SignalQuality),
        b"\r\n^BOOT:1234,0,0,0,72\r\n+CREG: 1\r\n+CSQ: 20,99\r\n\r\nOK\r\n",
        expect![[r#"
            urc Other("^BOOT:1234,0,0,0,72")
            urc Other("+CREG: 1")
            response "+CSQ: 20,99"
            final OK"#]],
    );
    // Free-text answers keep their lines, prefixed or not.
    check(
        Some(Command::Identify),
        b"\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A03M4G\r\n\r\nOK\r\n",
        expect![[r#"
            response "Quectel"
            response "EC25"
            response "Revision: EC25EFAR06A03M4G"
            final OK"#]],
    );
}

#[test]
fn send_with_prompt() {
    let command = Command::SendPdu { tpdu_length: 23 };
    // The prompt has no line terminator; the echo of the PDU (echo on) ends with Ctrl-Z.
    check(
        Some(command.clone()),
        b"AT+CMGS=23\r\r\n> 0001000B917228001011F100000CC8329BFD065DDF72363904\x1a\r\n+CMGS: 214\r\n\r\nOK\r\n",
        expect![[r#"
            echo "AT+CMGS=23"
            prompt
            echo "0001000B917228001011F100000CC8329BFD065DDF72363904\u{1a}"
            response "+CMGS: 214"
            final OK"#]],
    );
    check(
        Some(command),
        b"\r\n> \r\n+CMS ERROR: 304\r\n",
        expect![[r#"
            prompt
            final +CMS ERROR 304 (invalid PDU mode parameter)"#]],
    );
    // A `>` at the start of a line means nothing when no prompt is awaited.
    check(
        Some(Command::Attention),
        b"> what\r\nOK\r\n",
        expect![[r#"
        response "> what"
        final OK"#]],
    );
}

#[test]
fn noise_and_odd_line_ends() {
    check(
        Some(Command::Attention),
        b"\xff\xfe\x00OK\r\r\n",
        expect![[r#"
            noise 3 bytes "\xff\xfe\x00"
            final OK"#]],
    );
    check(
        None,
        b"\r\n+CMTI: \"SM\",\xc3\x28\r\n\n\n\r\r+CMTI: \"SM\",4\n",
        expect![[r#"
            noise 14 bytes "+CMTI: \"SM\",\xc3("
            urc MessageStored { storage: "SM", index: 4, kind: None }"#]],
    );
}

#[test]
fn lost_pdu_line_does_not_swallow_the_next_code() {
    check(
        None,
        b"\r\n+CMT: ,24\r\n+CMTI: \"SM\",2\r\n",
        expect![[r#"
            urc Deliver { length: Some(24), pdu: None }
            urc MessageStored { storage: "SM", index: 2, kind: None }"#]],
    );
}

#[test]
fn spewing_modem_is_bounded() {
    let mut framer = Framer::new();
    let spew = vec![b'x'; MAX_LINE * 10 + 5];
    let events = framer.feed(&spew);
    assert_eq!(
        events.len(),
        1,
        "one noise event, the rest discarded until a line end"
    );
    assert!(matches!(&events[0], Event::Noise(bytes) if bytes.len() == MAX_LINE));
    let events = framer.feed(b"\r\nOK\r\n");
    assert_eq!(
        events.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["final OK"]
    );
}

/// A transcript exercising every kind of event, for the split property.
fn transcript() -> Vec<u8> {
    [
        &b"AT+CMGL=4\r\r\n+CMGL: 1,1,,24\r\n06917228195339040B917228214365F700003130805120618005D4F29C2E03\r\n"[..],
        b"+CMTI: \"SM\",5\r\n\xff\xfe",
        b"+CMT: ,24\r\n06917228195339040B917228214365F700003130805120618005D4F29C2E03\r\n",
        b"+CMGL: 2,0,,24\r\n06917228195339040B917228214365F700003130805120618005D4F29C2E03\r\n\r\r\n",
        b"OK\r\nAT+CMGL=4\r\n^SMMEMFULL: \"SM\"\r\nRING\r\n",
    ]
    .concat()
}

fn events_in_chunks(command: &Command, bytes: &[u8], cuts: &[usize]) -> Vec<Event> {
    let mut framer = Framer::new();
    framer.expect(command.expectation());
    let mut events = Vec::new();
    let mut start = 0;
    for &cut in cuts {
        let cut = cut.clamp(start, bytes.len());
        events.extend(framer.feed(&bytes[start..cut]));
        start = cut;
    }
    events.extend(framer.feed(&bytes[start..]));
    events
}

#[test]
fn every_single_split_gives_the_same_events() {
    let command = Command::ListMessages(ListFilter::All);
    let transcript = transcript();
    let whole = events_in_chunks(&command, &transcript, &[]);
    assert_eq!(whole.len(), 10, "{whole:#?}");
    for cut in 0..=transcript.len() {
        assert_eq!(
            events_in_chunks(&command, &transcript, &[cut]),
            whole,
            "split at {cut}"
        );
    }
}

proptest! {
    #[test]
    fn any_chunking_gives_the_same_events(mut cuts in proptest::collection::vec(0..400usize, 0..20)) {
        cuts.sort_unstable();
        let transcript = transcript();
        let command = Command::ListMessages(ListFilter::All);
        let whole = events_in_chunks(&command, &transcript, &[]);
        prop_assert_eq!(events_in_chunks(&command, &transcript, &cuts), whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096), prompt in any::<bool>()) {
        let mut framer = Framer::new();
        let command = if prompt { Command::SendPdu { tpdu_length: 10 } } else { Command::ReadMessage(1) };
        framer.expect(command.expectation());
        let events = framer.feed(&bytes);
        // Nothing is invented: every event accounts for at least one input byte.
        prop_assert!(events.len() <= bytes.len());
    }

    #[test]
    fn line_shaped_garbage_never_panics(lines in proptest::collection::vec("[+^A-Z]{0,6}:? ?[\"0-9A-F,]{0,40}", 0..30)) {
        let mut framer = Framer::new();
        framer.expect(Command::ListMessages(ListFilter::All).expectation());
        let text = lines.join("\r\n");
        let events = framer.feed(text.as_bytes());
        prop_assert!(events.len() <= text.len());
    }
}

proptest! {
    /// No line panics a parser, and every refusal names the line it refused.
    #[test]
    fn response_parsers_never_panic(line in "[+A-Z]{0,5}:? ?[\"0-9A-Za-z, ]{0,40}") {
        use textgate_at::response::*;
        let errors = [
            parse_cpin(&line).err(),
            parse_csq(&line).err(),
            parse_creg(&line).err(),
            parse_cops(&line).err(),
            parse_csca(&line).err(),
            parse_cpms(&line).err(),
            parse_cmgs(&line).err(),
            parse_cmgl(&line).err(),
            parse_cmgr(&line).err(),
            parse_csms(&line).err(),
        ];
        for error in errors.into_iter().flatten() {
            prop_assert_eq!(&error.line, &line);
        }
        prop_assert!(!textgate_at::CmsError::parse(&line).reason().is_empty());
    }
}
