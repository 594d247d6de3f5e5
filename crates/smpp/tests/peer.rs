//! textgate's SMPP codec against an SMSC nobody on the team wrote: node-smpp's server (npm
//! `smpp` 0.5.1, pinned in `tests/peer/package.json`; scripts/test installs it with
//! `npm ci`), driven by `tests/peer/smsc.js`. The test binds, keeps the link alive, submits
//! texts (UCS-2 with a receipt, GSM default alphabet with a user data header, one the SMSC
//! throttles), reads a mobile-originated text and a delivery receipt, sends a command the
//! SMSC does not know and unbinds; the SMSC prints what it decoded, and both sides must
//! agree on every field.
//!
//! Plain blocking sockets with read timeouts: this crate does no I/O of its own and has no
//! runtime; the test is the I/O.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use textgate_smpp::pdu::INTERFACE_VERSION_34;
use textgate_smpp::tlv::{self, Tlv};
use textgate_smpp::{
    Address, Bind, BindKind, Body, CommandId, CommandStatus, Framer, MessageState, Pdu, Receipt,
    ShortMessage, StatusClass,
};

/// How long any one answer may take.
const WAIT: Duration = Duration::from_secs(15);

fn peer_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peer")
}

/// The node-smpp SMSC, killed when dropped; its JSON lines arrive on `events`.
struct Smsc {
    child: Child,
    port: u16,
    events: mpsc::Receiver<serde_like::Event>,
}

impl Drop for Smsc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Just enough JSON for the SMSC's flat event lines: string and number values by key.
mod serde_like {
    #[derive(Debug, Clone)]
    pub struct Event(pub String);

    impl Event {
        pub fn name(&self) -> Option<String> {
            self.get("event")
        }

        /// The value of `key`, strings without their quotes; `null` as `None`.
        pub fn get(&self, key: &str) -> Option<String> {
            let pattern = format!("\"{key}\":");
            let start = self.0.find(&pattern)? + pattern.len();
            let rest = &self.0[start..];
            if let Some(string) = rest.strip_prefix('"') {
                return string.split('"').next().map(str::to_owned);
            }
            let value: String = rest
                .chars()
                .take_while(|c| *c != ',' && *c != '}')
                .collect();
            (value != "null").then_some(value)
        }
    }
}

impl Smsc {
    fn start() -> Smsc {
        let dir = peer_dir();
        assert!(
            dir.join("node_modules/smpp").is_dir(),
            "node-smpp is not installed: run scripts/test, or `npm ci --prefix {}`",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg(dir.join("smsc.js"))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts (apt-get install nodejs npm)");
        let stdout = child.stdout.take().expect("the SMSC's stdout");
        let (lines_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines
            .recv_timeout(WAIT)
            .expect("the SMSC says where it listens");
        let port = first
            .strip_prefix("listening ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("the SMSC printed {first:?}"));
        let (events_tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            while let Ok(line) = lines.recv() {
                if events_tx.send(serde_like::Event(line)).is_err() {
                    break;
                }
            }
        });
        Smsc {
            child,
            port,
            events,
        }
    }

    /// The next event named `name`, skipping others.
    fn event(&self, name: &str) -> serde_like::Event {
        let mut skipped = Vec::new();
        loop {
            match self.events.recv_timeout(WAIT) {
                Ok(event) if event.name().as_deref() == Some(name) => return event,
                Ok(other) => skipped.push(other.0),
                Err(_) => {
                    panic!("the SMSC reported no {name} within {WAIT:?}; it reported {skipped:?}")
                }
            }
        }
    }
}

/// One connection to the SMSC, read through the framer.
struct Link {
    stream: TcpStream,
    framer: Framer,
    sequence: u32,
}

impl Link {
    fn open(smsc: &Smsc) -> Link {
        let stream = TcpStream::connect(("127.0.0.1", smsc.port)).expect("connect to the SMSC");
        stream.set_read_timeout(Some(WAIT)).expect("read timeout");
        Link {
            stream,
            framer: Framer::default(),
            sequence: 0,
        }
    }

    /// Sends a request with the next sequence number and returns that number.
    fn request(&mut self, body: Body) -> u32 {
        self.sequence += 1;
        let pdu = Pdu::new(self.sequence, body);
        pdu.check().expect("a PDU that fits its fields");
        self.stream.write_all(&pdu.encode()).expect("write");
        self.sequence
    }

    fn answer(&mut self, sequence: u32, body: Body) {
        self.stream
            .write_all(&Pdu::new(sequence, body).encode())
            .expect("write");
    }

    /// The next PDU from the SMSC.
    fn next(&mut self) -> Pdu {
        loop {
            if let Some(frame) = self.framer.next_frame().expect("the SMSC frames its PDUs") {
                return Pdu::decode(&frame)
                    .unwrap_or_else(|e| panic!("the SMSC sent {frame:02x?}, which is {e}"));
            }
            let mut buffer = [0u8; 4096];
            let n = self
                .stream
                .read(&mut buffer)
                .unwrap_or_else(|e| panic!("no PDU from the SMSC within {WAIT:?}: {e}"));
            assert!(n > 0, "the SMSC closed the connection");
            self.framer.push(&buffer[..n]);
        }
    }
}

fn bind(password: &str) -> Body {
    Body::Bind(Bind {
        kind: BindKind::Transceiver,
        system_id: b"textgate".to_vec(),
        password: password.as_bytes().to_vec(),
        system_type: Vec::new(),
        interface_version: INTERFACE_VERSION_34,
        address_range: Address::default(),
    })
}

fn submit(destination: &str, data_coding: u8, esm_class: u8, text: &[u8], receipt: bool) -> Body {
    Body::SubmitSm(ShortMessage {
        source: Address::new(3, 0, b"12345".to_vec()),
        destination: Address::new(1, 1, destination.as_bytes().to_vec()),
        esm_class,
        data_coding,
        registered_delivery: u8::from(receipt),
        short_message: text.to_vec(),
        tlvs: vec![Tlv::u16(tlv::USER_MESSAGE_REFERENCE, 0x0102)],
        ..ShortMessage::default()
    })
}

#[test]
fn a_wrong_password_is_refused() {
    let smsc = Smsc::start();
    let mut link = Link::open(&smsc);
    let sequence = link.request(bind("wrong"));
    let answer = link.next();
    assert_eq!(answer.sequence, sequence);
    assert_eq!(answer.command_id(), CommandId::BIND_TRANSCEIVER_RESP);
    assert_eq!(answer.status, CommandStatus::BIND_FAILED, "{answer:?}");
    assert_eq!(
        smsc.event("bind_transceiver").get("ok").as_deref(),
        Some("false")
    );
}

#[test]
fn a_session_with_node_smpp_agrees_on_every_field() {
    let smsc = Smsc::start();
    let mut link = Link::open(&smsc);

    // Bind.
    let sequence = link.request(bind("secret"));
    let answer = link.next();
    assert_eq!(
        (answer.sequence, answer.status),
        (sequence, CommandStatus::OK)
    );
    let Body::BindResp {
        kind, system_id, ..
    } = &answer.body
    else {
        panic!("not a bind response: {answer:?}");
    };
    assert_eq!(
        (*kind, system_id.as_slice()),
        (BindKind::Transceiver, &b"node-smsc"[..])
    );
    let bound = smsc.event("bind_transceiver");
    assert_eq!(bound.get("interface_version").as_deref(), Some("52")); // 0x34

    // The SMSC's mobile-originated text: UCS-2 with a concatenation header.
    let mo = link.next();
    let Body::DeliverSm(sm) = &mo.body else {
        panic!("not a deliver_sm: {mo:?}");
    };
    assert_eq!(sm.source, Address::new(1, 1, b"15551234567".to_vec()));
    assert_eq!(sm.destination.address, b"12345");
    assert_eq!(sm.esm_class & ShortMessage::UDHI, ShortMessage::UDHI);
    assert_eq!(sm.data_coding, 8);
    assert_eq!(
        sm.short_message,
        [5, 0, 3, 0x2A, 2, 1, 0x00, 0x48, 0x00, 0xE9, 0x00, 0x20, 0x20, 0xAC]
    );
    assert_eq!(Receipt::from_deliver_sm(sm), None, "a text, not a receipt");
    link.answer(mo.sequence, Body::DeliverSmResp);
    let answered = smsc.event("deliver_sm_resp");
    assert_eq!(answered.get("command_status").as_deref(), Some("0"));
    assert_eq!(
        answered.get("sequence_number"),
        Some(mo.sequence.to_string())
    );

    // Keep-alive.
    let sequence = link.request(Body::EnquireLink);
    let answer = link.next();
    assert_eq!(
        (answer.command_id(), answer.sequence),
        (CommandId::ENQUIRE_LINK_RESP, sequence)
    );

    // A UCS-2 text with a receipt asked for: "Hé €".
    let ucs2 = [0x00, 0x48, 0x00, 0xE9, 0x00, 0x20, 0x20, 0xAC];
    let sequence = link.request(submit("15557654321", 8, 0, &ucs2, true));
    let answer = link.next();
    assert_eq!(
        (answer.sequence, answer.status),
        (sequence, CommandStatus::OK)
    );
    let Body::SubmitSmResp { message_id } = &answer.body else {
        panic!("not a submit_sm_resp: {answer:?}");
    };
    let message_id = String::from_utf8(message_id.clone()).expect("an ASCII id");
    let seen = smsc.event("submit_sm");
    assert_eq!(seen.get("destination_addr").as_deref(), Some("15557654321"));
    assert_eq!(seen.get("dest_addr_ton").as_deref(), Some("1"));
    assert_eq!(seen.get("source_addr").as_deref(), Some("12345"));
    assert_eq!(seen.get("source_addr_ton").as_deref(), Some("3"));
    assert_eq!(seen.get("data_coding").as_deref(), Some("8"));
    assert_eq!(seen.get("registered_delivery").as_deref(), Some("1"));
    assert_eq!(seen.get("message").as_deref(), Some("Hé €"));
    assert_eq!(seen.get("user_message_reference").as_deref(), Some("258"));

    // Its delivery receipt: the SMSC writes the id in decimal into the text and in
    // hexadecimal into receipted_message_id.
    let report = link.next();
    let Body::DeliverSm(sm) = &report.body else {
        panic!("not a deliver_sm: {report:?}");
    };
    let receipt = Receipt::from_deliver_sm(sm).expect("a delivery receipt");
    assert_eq!(receipt.state, MessageState::Delivered);
    assert!(
        receipt.is_for(&message_id),
        "{receipt:?} is not for {message_id}"
    );
    link.answer(report.sequence, Body::DeliverSmResp);
    assert_eq!(
        smsc.event("receipt_resp").get("command_status").as_deref(),
        Some("0")
    );
    // The text form alone says the same.
    let text_only = ShortMessage {
        tlvs: Vec::new(),
        ..sm.clone()
    };
    let from_text = Receipt::from_deliver_sm(&text_only).expect("the text form is read");
    assert!(
        from_text.is_for(&message_id),
        "{from_text:?} is not for {message_id}"
    );
    assert_eq!(from_text.state, MessageState::Delivered);

    // The GSM default alphabet, one septet an octet, with a concatenation header.
    let mut udh_text = vec![5, 0, 3, 0x07, 2, 2];
    udh_text.extend_from_slice(b"Hello, library");
    link.request(submit(
        "15557654321",
        0,
        ShortMessage::UDHI,
        &udh_text,
        false,
    ));
    assert_eq!(link.next().status, CommandStatus::OK);
    let seen = smsc.event("submit_sm");
    assert_eq!(seen.get("esm_class").as_deref(), Some("64"));
    // node-smpp lists the header's elements without its length octet.
    assert_eq!(seen.get("udh").as_deref(), Some("0003070202"));
    assert_eq!(seen.get("message").as_deref(), Some("Hello, library"));

    // Throttled: a status worth retrying later.
    let sequence = link.request(submit("15550000058", 0, 0, b"slow down", false));
    let answer = link.next();
    assert_eq!(
        (answer.sequence, answer.status),
        (sequence, CommandStatus::THROTTLED)
    );
    assert_eq!(answer.status.class(), StatusClass::Throttled);

    // A command the SMSC does not know: generic_nack, the connection kept.
    let sequence = link.request(Body::Other {
        command_id: CommandId(0x0000_0077),
        body: Vec::new(),
    });
    let answer = link.next();
    assert_eq!(
        (answer.command_id(), answer.sequence, answer.status),
        (
            CommandId::GENERIC_NACK,
            sequence,
            CommandStatus::INVALID_COMMAND_ID
        )
    );

    // Unbind.
    let sequence = link.request(Body::Unbind);
    let answer = link.next();
    assert_eq!(
        (answer.command_id(), answer.sequence),
        (CommandId::UNBIND_RESP, sequence)
    );
    smsc.event("unbind");
}

/// The session state machine drives the same SMSC: it binds, submits within its window,
/// answers deliveries only when told to, and unbinds.
#[test]
fn the_session_state_machine_runs_a_session_with_node_smpp() {
    use std::time::Instant;
    use textgate_smpp::{Event, Session, SessionConfig, State};

    let smsc = Smsc::start();
    let mut link = Link::open(&smsc);
    let Body::Bind(bind) = bind("secret") else {
        unreachable!("bind() builds a bind")
    };
    let config = SessionConfig {
        bind,
        window: 2,
        enquire_link_interval: Duration::from_secs(30),
        response_timeout: WAIT,
        max_pdu: 4096,
    };
    let (mut session, first) = Session::connect(config, Instant::now());
    link.stream.write_all(&first).expect("write");

    // Reads until `want` has seen what it waits for, answering deliveries as a driver
    // would once they are stored; returns every event seen.
    fn run(
        stream: &mut TcpStream,
        session: &mut Session,
        want: impl Fn(&[Event]) -> bool,
    ) -> Vec<Event> {
        let mut seen = Vec::new();
        while !want(&seen) {
            let mut buffer = [0u8; 4096];
            let n = stream
                .read(&mut buffer)
                .unwrap_or_else(|e| panic!("no PDU within {WAIT:?} (seen {seen:?}): {e}"));
            assert!(n > 0, "the SMSC closed the connection; seen {seen:?}");
            let (out, events) = session.received(&buffer[..n], Instant::now());
            for bytes in out {
                stream.write_all(&bytes).expect("write");
            }
            for event in events {
                if let Event::Deliver { sequence, .. } = &event {
                    stream
                        .write_all(&session.acknowledge(*sequence))
                        .expect("write");
                }
                seen.push(event);
            }
        }
        seen
    }

    let seen = run(&mut link.stream, &mut session, |seen| {
        seen.iter().any(|e| matches!(e, Event::Deliver { .. }))
    });
    assert!(
        matches!(&seen[0], Event::Bound { system_id } if system_id == b"node-smsc"),
        "{seen:?}"
    );
    assert_eq!(session.state(), State::Bound);
    assert_eq!(
        smsc.event("deliver_sm_resp")
            .get("command_status")
            .as_deref(),
        Some("0")
    );

    let Body::SubmitSm(text) = submit("15557654321", 0, 0, b"Your hold is in", true) else {
        unreachable!("submit() builds a submit_sm")
    };
    let bytes = session
        .submit(7, text, Instant::now())
        .expect("room in the window");
    link.stream.write_all(&bytes).expect("write");
    let seen = run(&mut link.stream, &mut session, |seen| {
        seen.iter().any(|e| matches!(e, Event::Deliver { .. }))
    });
    let Some(Event::Accepted { tag: 7, message_id }) = seen.first() else {
        panic!("the submit was not accepted first: {seen:?}");
    };
    let message_id = String::from_utf8_lossy(message_id).into_owned();
    let Some(Event::Deliver { message, .. }) = seen.last() else {
        panic!("no receipt: {seen:?}");
    };
    let receipt = Receipt::from_deliver_sm(message).expect("a receipt");
    assert!(receipt.is_for(&message_id));
    assert_eq!(
        smsc.event("receipt_resp").get("command_status").as_deref(),
        Some("0")
    );

    let bytes = session.unbind(Instant::now()).expect("an unbind");
    link.stream.write_all(&bytes).expect("write");
    let seen = run(&mut link.stream, &mut session, |seen| {
        seen.iter().any(|e| matches!(e, Event::Disconnect { .. }))
    });
    assert!(
        matches!(seen.last(), Some(Event::Disconnect { reason }) if reason == "unbound"),
        "{seen:?}"
    );
}
