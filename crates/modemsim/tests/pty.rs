//! The simulator on a real pseudo-terminal: a host opens the slave path and speaks raw AT
//! bytes, exactly as textgate's driver does with `/dev/ttyUSB2`.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{Host, ANSWER, SUBMIT_HELLO, SUBMIT_HELLO_SRR};
use textgate_modemsim::pty::{serve_pty, TtyStream};
use textgate_modemsim::{FaultPatch, IncomingText, Personality, SimConfig, SimHandle};

/// Starts a simulator on a fresh pty and returns it with the slave path.
async fn start(config: SimConfig, link: Option<PathBuf>) -> (SimHandle, PathBuf) {
    let sim = SimHandle::new(config);
    let mut paths = sim.pty_path();
    tokio::spawn(serve_pty(sim.clone(), link));
    let path = tokio::time::timeout(ANSWER, paths.wait_for(Option::is_some))
        .await
        .expect("the pty did not appear in time")
        .expect("the simulator stopped")
        .clone()
        .expect("a path");
    (sim, path)
}

fn open(path: &std::path::Path) -> Host<TtyStream> {
    Host::new(TtyStream::open(path).unwrap_or_else(|e| panic!("{e}")))
}

#[tokio::test]
async fn start_up_then_send() {
    let (sim, path) = start(SimConfig::instant(), None).await;
    assert!(path.starts_with("/dev/pts"), "{path:?}");
    let mut host = open(&path);
    // Echo is on until ATE0, and only the simulated modem echoes (the pty is raw).
    assert_eq!(host.command("AT").await, "AT\r\r\nOK\r\n");
    assert_eq!(host.command("ATE0").await, "ATE0\r\r\nOK\r\n");
    assert_eq!(host.command("AT+CMEE=1").await, "\r\nOK\r\n");
    assert_eq!(
        host.command("AT+CPIN?").await,
        "\r\n+CPIN: READY\r\n\r\nOK\r\n"
    );
    assert_eq!(host.command("AT+CMGF=0").await, "\r\nOK\r\n");
    assert_eq!(host.command("AT+CGMI").await, "\r\ntextgate\r\n\r\nOK\r\n");
    // A length that does not match the PDU is refused like a real modem does.
    assert_eq!(
        host.send_pdu(23, SUBMIT_HELLO).await,
        "\r\n+CMS ERROR: 304\r\n"
    );
    assert_eq!(
        host.send_pdu(24, SUBMIT_HELLO).await,
        "\r\n+CMGS: 0\r\n\r\nOK\r\n"
    );
    assert_eq!(
        host.send_pdu(24, SUBMIT_HELLO).await,
        "\r\n+CMGS: 1\r\n\r\nOK\r\n"
    );
    let sent = sim.sent_messages();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent.first().map(|m| m.text.as_str()), Some("Hello World!"));
    assert_eq!(sim.counters().invalid_pdus, 1);
}

#[tokio::test]
async fn stored_text_is_read_and_deleted() {
    let (sim, path) = start(SimConfig::instant(), None).await;
    let mut host = open(&path);
    host.command("ATE0").await;
    host.command("AT+CNMI=2,1,0,2,0").await;
    sim.inject_text(&IncomingText::new(
        "+15551234567",
        "Is the library open on Sunday?",
    ))
    .expect("inject");
    assert_eq!(
        host.expect("+CMTI: \"SM\",1\r\n").await,
        "\r\n+CMTI: \"SM\",1\r\n"
    );
    let read = host.command("AT+CMGR=1").await;
    assert!(read.starts_with("\r\n+CMGR: 0,,"), "{read:?}");
    let pdu = read.lines().nth(2).unwrap_or_default().to_owned();
    let decoded = textgate_gsm::pdu::Pdu::decode_hex(&pdu, textgate_gsm::pdu::SmscField::Present)
        .expect("a valid DELIVER");
    match decoded.tpdu {
        textgate_gsm::pdu::Tpdu::Deliver(d) => {
            assert_eq!(d.sender.number, "+15551234567");
            assert_eq!(
                d.user_data.as_text(),
                Some("Is the library open on Sunday?")
            );
        }
        other => panic!("expected a DELIVER, got {other:?}"),
    }
    assert_eq!(host.command("AT+CMGD=1").await, "\r\nOK\r\n");
    assert_eq!(host.command("AT+CMGL=4").await, "\r\nOK\r\n");
    assert_eq!(sim.counters().deletes, 1);
}

#[tokio::test]
async fn direct_delivery_is_acknowledged() {
    let (sim, path) = start(SimConfig::instant(), None).await;
    let mut host = open(&path);
    host.command("ATE0;+CSMS=1;+CNMI=2,2,0,0,0").await;
    sim.inject_text(&IncomingText::new("+15551234567", "first"))
        .expect("inject");
    sim.inject_text(&IncomingText::new("+15551234567", "second"))
        .expect("inject");
    let first = host.expect("+CMT: ,").await;
    assert_eq!(first, "\r\n+CMT: ,");
    host.expect("\r\n").await;
    host.expect("\r\n").await;
    // The second waits for the acknowledgement of the first.
    host.expect_silence(Duration::from_millis(200)).await;
    assert_eq!(host.command("AT+CNMA").await, "\r\nOK\r\n");
    host.expect("+CMT: ,").await;
    host.expect("\r\n").await;
    host.expect("\r\n").await;
    assert_eq!(host.command("AT+CNMA").await, "\r\nOK\r\n");
    assert_eq!(host.command("AT+CNMA").await, "\r\n+CMS ERROR: 340\r\n");
    assert_eq!(sim.counters().acknowledgements, 2);
}

#[tokio::test]
async fn status_report_follows_a_send_that_asked_for_it() {
    let (_sim, path) = start(SimConfig::instant(), None).await;
    let mut host = open(&path);
    host.command("ATE0;+CNMI=2,1,0,1,0").await;
    assert_eq!(
        host.send_pdu(24, SUBMIT_HELLO_SRR).await,
        "\r\n+CMGS: 0\r\n\r\nOK\r\n"
    );
    host.expect("\r\n+CDS: 25\r\n").await;
    let report = host.expect("\r\n").await;
    let decoded =
        textgate_gsm::pdu::Pdu::decode_hex(report.trim(), textgate_gsm::pdu::SmscField::Present)
            .expect("a valid STATUS-REPORT");
    match decoded.tpdu {
        textgate_gsm::pdu::Tpdu::StatusReport(r) => {
            assert_eq!(r.message_reference, 0);
            assert_eq!(r.recipient.number, "+27820001111");
            assert_eq!(r.status.code(), 0);
        }
        other => panic!("expected a STATUS-REPORT, got {other:?}"),
    }
}

#[tokio::test]
async fn full_sim_holds_texts_until_space_frees() {
    let (sim, path) = start(
        SimConfig {
            personality: Personality::Huawei,
            capacity: 2,
            ..SimConfig::instant()
        },
        None,
    )
    .await;
    let mut host = open(&path);
    host.command("ATE0;+CNMI=2,1,0,2,0").await;
    for n in 1..=3 {
        sim.inject_text(&IncomingText::new("+15551234567", format!("text {n}")))
            .expect("inject");
    }
    // A Huawei counts its slots from 0.
    host.expect("+CMTI: \"SM\",0\r\n").await;
    host.expect("+CMTI: \"SM\",1\r\n").await;
    host.expect("^SMMEMFULL: \"SM\"\r\n").await;
    assert_eq!(
        host.command("AT+CPMS?").await,
        "\r\n+CPMS: \"SM\",2,2,\"SM\",2,2,\"SM\",2,2\r\n\r\nOK\r\n"
    );
    assert_eq!(sim.inspect(|m| m.waiting_in_network()), 1);
    assert_eq!(host.command("AT+CMGD=0").await, "\r\nOK\r\n");
    host.expect("+CMTI: \"SM\",0\r\n").await;
    assert_eq!(sim.inspect(|m| m.waiting_in_network()), 0);
}

#[tokio::test]
async fn a_hung_modem_answers_nothing_until_cleared() {
    let (sim, path) = start(SimConfig::instant(), None).await;
    let mut host = open(&path);
    host.command("ATE0").await;
    sim.set_faults(FaultPatch {
        hang: Some(true),
        ..FaultPatch::default()
    });
    host.send("AT\r").await;
    host.expect_silence(Duration::from_millis(300)).await;
    sim.set_faults(FaultPatch {
        hang: Some(false),
        ..FaultPatch::default()
    });
    assert_eq!(host.command("AT").await, "\r\nOK\r\n");
    assert_eq!(sim.counters().swallowed_bytes, 3);
}

#[tokio::test]
async fn garbage_on_the_line_then_business_as_usual() {
    let (sim, path) = start(SimConfig::instant(), None).await;
    let mut host = open(&path);
    host.command("ATE0").await;
    sim.inject_garbage(vec![0xFF, 0x00, b'~', 0x80, b'\r', b'\n']);
    let noise = host.expect("~").await;
    assert!(noise.ends_with('~'), "{noise:?}");
    host.expect("\r\n").await;
    assert_eq!(host.command("AT").await, "\r\nOK\r\n");
}

#[tokio::test]
async fn incoming_call_rings() {
    let (sim, path) = start(SimConfig::instant(), None).await;
    let mut host = open(&path);
    host.command("ATE0;+CLIP=1").await;
    sim.inject_call("+15557654321", 2);
    host.expect("\r\nRING\r\n").await;
    host.expect("+CLIP: \"+15557654321\",145,,,,0\r\n").await;
    assert_eq!(host.command("AT+CHUP").await, "\r\nOK\r\n");
    sim.wait_until(ANSWER, |m| !m.ringing())
        .await
        .expect("the call ended");
}

#[tokio::test]
async fn disconnect_makes_the_device_vanish_and_come_back() {
    let dir = std::env::temp_dir().join(format!("modemsim-pty-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let link = dir.join("modem");
    let (sim, path) = start(SimConfig::instant(), Some(link.clone())).await;
    assert_eq!(std::fs::read_link(&link).expect("the link exists"), path);
    let mut host = open(&link);
    host.command("ATE0").await;

    let mut paths = sim.pty_path();
    paths.mark_unchanged();
    // A long outage, ended by hand below, so the test sees every stage without racing
    // the clock.
    sim.disconnect(Duration::from_secs(3600));
    host.expect_hang_up().await;
    let gone = tokio::time::timeout(ANSWER, paths.wait_for(Option::is_none))
        .await
        .map(|r| r.is_ok());
    assert_eq!(gone, Ok(true), "the path did not vanish");
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "the link should be gone during the outage"
    );

    sim.restore_link();
    let back = tokio::time::timeout(ANSWER, paths.wait_for(Option::is_some))
        .await
        .expect("the pty came back in time")
        .expect("the simulator runs")
        .clone()
        .expect("a path");
    assert_eq!(std::fs::read_link(&link).expect("the link is back"), back);
    let mut host = open(&link);
    // Settings survive, as in a modem that only lost its USB link: echo is still off.
    assert_eq!(host.command("AT").await, "\r\nOK\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A process started after the simulator opened its pseudo-terminal (the daemon under
/// test, Prosody) must not inherit the terminal's descriptors: a child holding a copy of
/// the master would keep the line up through an outage, so the host would never see it
/// drop.
#[tokio::test]
async fn a_child_process_does_not_keep_the_line_up_through_an_outage() {
    /// Ends the child however the test ends.
    struct Child(std::process::Child);
    impl Drop for Child {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let (sim, path) = start(SimConfig::instant(), None).await;
    let _child = Child(
        std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("starting sleep"),
    );
    let mut host = open(&path);
    host.command("ATE0").await;
    sim.disconnect(Duration::from_secs(3600));
    host.expect_hang_up().await;
}

#[tokio::test]
async fn a_reboot_drops_the_usb_link() {
    let (sim, path) = start(
        SimConfig {
            reboot_outage: Some(Duration::from_secs(3600)),
            ..SimConfig::instant()
        },
        None,
    )
    .await;
    let mut host = open(&path);
    host.command("ATE0").await;
    let mut paths = sim.pty_path();
    paths.mark_unchanged();
    host.send("AT+CFUN=1,1\r").await;
    // The modem answers OK and drops the link 100 ms later; a host that was slower than
    // that loses the OK, as with a real modem, so only the hang-up is certain.
    let said = host.expect_hang_up().await;
    assert!("\r\nOK\r\n".starts_with(said.as_str()), "{said:?}");
    let gone = tokio::time::timeout(ANSWER, paths.wait_for(Option::is_none))
        .await
        .map(|r| r.is_ok());
    assert_eq!(gone, Ok(true), "the device did not vanish");
    sim.restore_link();
    let back = tokio::time::timeout(ANSWER, async {
        paths
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|p| p.clone())
    })
    .await
    .expect("the device came back in time")
    .expect("a path");
    let mut host = open(&back);
    // Power-on settings again: echo is back on.
    assert_eq!(host.command("AT").await, "AT\r\r\nOK\r\n");
}
