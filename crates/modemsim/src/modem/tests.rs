//! Transcript tests of the modem core: what a host types, what the modem answers, with the
//! timed jobs run on demand (no clock, no I/O).

use std::collections::VecDeque;
use std::fmt::Write;

use chrono::{DateTime, TimeZone, Utc};
use expect_test::{expect, Expect};

use super::*;
use crate::faults::{ReportOutcome, SendErrorFault};
use crate::personality::Personality;

/// Vector 1 of the SMS fact sheet: an SMS-DELIVER "Test2" from +27821234567.
const DELIVER_TEST2: &str = "06917228195339040B917228214365F700003130805120618005D4F29C2E03";
/// Vector 4: SMS-SUBMIT "Hello World!" to +27820001111, 24 TPDU octets.
const SUBMIT_HELLO: &str = "0001000B917228001011F100000CC8329BFD065DDF72363904";
/// The same with TP-SRR set.
const SUBMIT_HELLO_SRR: &str = "0021000B917228001011F100000CC8329BFD065DDF72363904";

struct Session {
    modem: ModemState,
    line: Line,
    now: DateTime<Utc>,
    jobs: VecDeque<Job>,
    log: String,
}

impl Session {
    fn new(config: SimConfig) -> Session {
        Session {
            modem: ModemState::new(config),
            line: Line::default(),
            now: Utc
                .with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
                .single()
                .unwrap_or_default(),
            jobs: VecDeque::new(),
            log: String::new(),
        }
    }

    fn instant() -> Session {
        Session::new(SimConfig::instant())
    }

    fn record(&mut self, steps: Vec<Step>) {
        for step in steps {
            match step {
                Step::Reply(bytes) => {
                    let _ = writeln!(self.log, "  modem: {:?}", String::from_utf8_lossy(&bytes));
                }
                Step::Unsolicited(bytes) => {
                    let _ = writeln!(self.log, "  urc:   {:?}", String::from_utf8_lossy(&bytes));
                }
                Step::Radio(d) => {
                    let _ = writeln!(self.log, "  on the air for {d:?}");
                    let answer = self.modem.radio_done(&mut self.line, self.now);
                    self.record(answer);
                }
                Step::Schedule { after, job } => {
                    let _ = writeln!(self.log, "  later ({after:?}): {}", job_name(&job));
                    self.jobs.push_back(job);
                }
                Step::LinkDown(d) => {
                    let _ = writeln!(self.log, "  link down for {d:?}");
                }
            }
        }
    }

    /// The host writes `input`.
    fn host(&mut self, input: &str) -> &mut Self {
        let _ = writeln!(self.log, "host: {input:?}");
        let steps = self.modem.input(&mut self.line, input.as_bytes(), self.now);
        self.record(steps);
        self
    }

    /// Runs the oldest scheduled job.
    fn next_job(&mut self) -> &mut Self {
        if let Some(job) = self.jobs.pop_front() {
            let _ = writeln!(self.log, "run: {}", job_name(&job));
            let steps = self.modem.run_job(job, self.now);
            self.record(steps);
        }
        self
    }

    fn receive(&mut self, kind: IncomingKind, hex: &str) -> &mut Self {
        let _ = writeln!(self.log, "network: {kind:?}");
        let bytes = textgate_gsm::pdu::from_hex(hex).unwrap_or_default();
        match self.modem.receive(kind, vec![bytes], self.now) {
            Ok(steps) => self.record(steps),
            Err(e) => {
                let _ = writeln!(self.log, "  refused: {e}");
            }
        }
        self
    }

    fn faults(&mut self, patch: FaultPatch) -> &mut Self {
        let _ = writeln!(self.log, "faults: {patch:?}");
        let steps = self.modem.set_faults(patch, self.now);
        self.record(steps);
        self
    }

    fn check(&mut self, expected: Expect) {
        expected.assert_eq(&std::mem::take(&mut self.log));
    }
}

fn job_name(job: &Job) -> String {
    match job {
        Job::StatusReport {
            reference,
            recipient,
            ..
        } => {
            format!("status report for {reference} to {recipient}")
        }
        Job::AckTimeout { sequence } => format!("ack timeout #{sequence}"),
        Job::NetworkRetry => "network retry".to_owned(),
        Job::Ring { remaining, .. } => format!("ring ({remaining} left)"),
        Job::PeriodicReport => "periodic report".to_owned(),
    }
}

#[test]
fn start_up_sequence() {
    Session::instant()
        .host("AT\r")
        .host("ATE0\r")
        .host("AT+CMEE=1\r")
        .host("AT+CPIN?\r")
        .host("AT+CMGF=0\r")
        .host("AT+CSMS=1\r")
        .host("AT+CPMS=\"SM\",\"SM\",\"SM\"\r")
        .host("AT+CNMI=2,1,0,2,0\r")
        .host("AT+CSCA?\r")
        .host("AT+CGMI;+CGMM;+CGMR;+CGSN\r\n")
        .host("AT+CSQ;+CREG?;+COPS?\r")
        .host("AT+CMGF=1\r")
        .host("AT+NOPE\r")
        .host("hello\r")
        .check(expect![[r#"
            host: "AT\r"
              modem: "AT\r\r\nOK\r\n"
            host: "ATE0\r"
              modem: "ATE0\r\r\nOK\r\n"
            host: "AT+CMEE=1\r"
              modem: "\r\nOK\r\n"
            host: "AT+CPIN?\r"
              modem: "\r\n+CPIN: READY\r\n\r\nOK\r\n"
            host: "AT+CMGF=0\r"
              modem: "\r\nOK\r\n"
            host: "AT+CSMS=1\r"
              modem: "\r\n+CSMS: 1,1,1\r\n\r\nOK\r\n"
            host: "AT+CPMS=\"SM\",\"SM\",\"SM\"\r"
              modem: "\r\n+CPMS: 0,30,0,30,0,30\r\n\r\nOK\r\n"
            host: "AT+CNMI=2,1,0,2,0\r"
              modem: "\r\nOK\r\n"
            host: "AT+CSCA?\r"
              modem: "\r\n+CSCA: \"+447700900001\",145\r\n\r\nOK\r\n"
            host: "AT+CGMI;+CGMM;+CGMR;+CGSN\r\n"
              modem: "\r\ntextgate\r\nSimulated GSM modem\r\nmodemsim 1.0\r\n490154203237518\r\n\r\nOK\r\n"
            host: "AT+CSQ;+CREG?;+COPS?\r"
              modem: "\r\n+CSQ: 21,99\r\n+CREG: 0,1\r\n+COPS: 0,0,\"textgate sim\",0\r\n\r\nOK\r\n"
            host: "AT+CMGF=1\r"
              modem: "\r\n+CMS ERROR: 303\r\n"
            host: "AT+NOPE\r"
              modem: "\r\nERROR\r\n"
            host: "hello\r"
        "#]]);
}

#[test]
fn sending_checks_the_pdu_and_counts_references() {
    let mut s = Session::new(SimConfig {
        send_latency: Duration::from_millis(2500),
        ..SimConfig::instant()
    });
    s.host("ATE0\r")
        .host("AT+CMGS=25\r")
        .host(&format!("{SUBMIT_HELLO}\x1a"))
        .host("AT+CMGS=24\r")
        .host(&format!("{SUBMIT_HELLO}\x1a"))
        .host("AT+CMGS=24\r")
        .host("00\x1b")
        .host("AT+CMGS=24\r")
        .host(&format!("{}\x1a", &SUBMIT_HELLO[..20]))
        .host("AT+CMGS=200\r")
        .host(&format!("AT+CMGS=24\r{SUBMIT_HELLO}\x1a"))
        .check(expect![[r#"
            host: "ATE0\r"
              modem: "ATE0\r\r\nOK\r\n"
            host: "AT+CMGS=25\r"
              modem: "\r\n> "
            host: "0001000B917228001011F100000CC8329BFD065DDF72363904\u{1a}"
              modem: "\r\n+CMS ERROR: 304\r\n"
            host: "AT+CMGS=24\r"
              modem: "\r\n> "
            host: "0001000B917228001011F100000CC8329BFD065DDF72363904\u{1a}"
              on the air for 2.5s
              modem: "\r\n+CMGS: 0\r\n\r\nOK\r\n"
            host: "AT+CMGS=24\r"
              modem: "\r\n> "
            host: "00\u{1b}"
              modem: "\r\nOK\r\n"
            host: "AT+CMGS=24\r"
              modem: "\r\n> "
            host: "0001000B917228001011\u{1a}"
              modem: "\r\n+CMS ERROR: 304\r\n"
            host: "AT+CMGS=200\r"
              modem: "\r\n+CMS ERROR: 304\r\n"
            host: "AT+CMGS=24\r0001000B917228001011F100000CC8329BFD065DDF72363904\u{1a}"
              modem: "\r\n> "
              on the air for 2.5s
              modem: "\r\n+CMGS: 1\r\n\r\nOK\r\n"
        "#]]);
    let sent = s.modem.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent.first().map(|p| p.text.as_deref()),
        Some(Some("Hello World!"))
    );
    assert_eq!(
        sent.first().map(|p| p.recipient.as_str()),
        Some("+27820001111")
    );
    assert_eq!(s.modem.counters().invalid_pdus, 2);
}

#[test]
fn references_wrap_at_256() {
    let mut s = Session::instant();
    s.host("ATE0\r");
    for _ in 0..257 {
        s.host(&format!("AT+CMGS=24\r{SUBMIT_HELLO}\x1a"));
    }
    let references: Vec<u8> = s.modem.sent().iter().map(|p| p.reference).collect();
    assert_eq!(references.get(255), Some(&255));
    assert_eq!(references.get(256), Some(&0));
}

#[test]
fn status_reports_direct_and_stored() {
    let mut s = Session::instant();
    s.host("ATE0;+CSMS=1;+CNMI=2,1,0,1,0\r")
        .host(&format!("AT+CMGS=24\r{SUBMIT_HELLO_SRR}\x1a"))
        .next_job()
        .host("AT+CNMA\r")
        .host("AT+CNMA\r")
        .host("AT+CNMI=2,1,0,2,0\r")
        .faults(FaultPatch {
            status_report: Some(ReportOutcome::Failed),
            ..FaultPatch::default()
        })
        .host(&format!("AT+CMGS=24\r{SUBMIT_HELLO_SRR}\x1a"))
        // The first acknowledgement timer runs out harmlessly, then the report arrives.
        .next_job()
        .next_job()
        .host("AT+CMGR=1\r")
        .check(expect![[r#"
            host: "ATE0;+CSMS=1;+CNMI=2,1,0,1,0\r"
              modem: "ATE0;+CSMS=1;+CNMI=2,1,0,1,0\r\r\n+CSMS: 1,1,1\r\n\r\nOK\r\n"
            host: "AT+CMGS=24\r0021000B917228001011F100000CC8329BFD065DDF72363904\u{1a}"
              modem: "\r\n> "
              on the air for 0ns
              modem: "\r\n+CMGS: 0\r\n\r\nOK\r\n"
              later (0ns): status report for 0 to +27820001111
            run: status report for 0 to +27820001111
              urc:   "\r\n+CDS: 25\r\n079144770009001006000B917228001011F1623010210000006230102100000000\r\n"
              later (15s): ack timeout #1
            host: "AT+CNMA\r"
              modem: "\r\nOK\r\n"
            host: "AT+CNMA\r"
              modem: "\r\n+CMS ERROR: 340\r\n"
            host: "AT+CNMI=2,1,0,2,0\r"
              modem: "\r\nOK\r\n"
            faults: FaultPatch { hang: None, double_echo: None, sim_full: None, smsc_lost: None, send_error: None, status_report: Some(Failed) }
            host: "AT+CMGS=24\r0021000B917228001011F100000CC8329BFD065DDF72363904\u{1a}"
              modem: "\r\n> "
              on the air for 0ns
              modem: "\r\n+CMGS: 1\r\n\r\nOK\r\n"
              later (0ns): status report for 1 to +27820001111
            run: ack timeout #1
            run: status report for 1 to +27820001111
              urc:   "\r\n+CDSI: \"SM\",1\r\n"
            host: "AT+CMGR=1\r"
              modem: "\r\n+CMGR: 0,,25\r\n079144770009001006010B917228001011F1623010210000006230102100000041\r\n\r\nOK\r\n"
        "#]]);
}

#[test]
fn stored_messages_are_read_listed_and_deleted() {
    let mut s = Session::instant();
    s.host("ATE0;+CNMI=2,1,0,0,0\r")
        .receive(IncomingKind::Deliver, DELIVER_TEST2)
        .receive(IncomingKind::Deliver, DELIVER_TEST2)
        .host("AT+CPMS?\r")
        .host("AT+CMGR=1\r")
        .host("AT+CMGL=0\r")
        .host("AT+CMGL=4\r")
        .host("AT+CMGD=1\r")
        .host("AT+CMGD=?\r")
        .host("AT+CMGR=1\r")
        .host("AT+CMGR=31\r")
        .host("AT+CMGD=0,4\r")
        .host("AT+CMGL=4\r")
        .check(expect![[r#"
            host: "ATE0;+CNMI=2,1,0,0,0\r"
              modem: "ATE0;+CNMI=2,1,0,0,0\r\r\nOK\r\n"
            network: Deliver
              urc:   "\r\n+CMTI: \"SM\",1\r\n"
            network: Deliver
              urc:   "\r\n+CMTI: \"SM\",2\r\n"
            host: "AT+CPMS?\r"
              modem: "\r\n+CPMS: \"SM\",2,30,\"SM\",2,30,\"SM\",2,30\r\n\r\nOK\r\n"
            host: "AT+CMGR=1\r"
              modem: "\r\n+CMGR: 0,,24\r\n06917228195339040B917228214365F700003130805120618005D4F29C2E03\r\n\r\nOK\r\n"
            host: "AT+CMGL=0\r"
              modem: "\r\n+CMGL: 2,0,,24\r\n06917228195339040B917228214365F700003130805120618005D4F29C2E03\r\n\r\nOK\r\n"
            host: "AT+CMGL=4\r"
              modem: "\r\n+CMGL: 1,1,,24\r\n06917228195339040B917228214365F700003130805120618005D4F29C2E03\r\n+CMGL: 2,1,,24\r\n06917228195339040B917228214365F700003130805120618005D4F29C2E03\r\n\r\nOK\r\n"
            host: "AT+CMGD=1\r"
              modem: "\r\nOK\r\n"
            host: "AT+CMGD=?\r"
              modem: "\r\n+CMGD: (2),(0-4)\r\n\r\nOK\r\n"
            host: "AT+CMGR=1\r"
              modem: "\r\nOK\r\n"
            host: "AT+CMGR=31\r"
              modem: "\r\n+CMS ERROR: 321\r\n"
            host: "AT+CMGD=0,4\r"
              modem: "\r\nOK\r\n"
            host: "AT+CMGL=4\r"
              modem: "\r\nOK\r\n"
        "#]]);
}

#[test]
fn direct_delivery_waits_for_acknowledgement() {
    let mut s = Session::instant();
    s.host("ATE0;+CSMS=1;+CNMI=2,2,0,0,0\r")
        .receive(IncomingKind::Deliver, DELIVER_TEST2)
        .receive(IncomingKind::Deliver, DELIVER_TEST2)
        .host("AT+CNMA\r")
        // The second is never acknowledged: direct routing is switched off and the network
        // retries into the SIM, silently.
        .next_job()
        .next_job()
        .next_job()
        .host("AT+CNMI?\r")
        .host("AT+CPMS?\r")
        .check(expect![[r#"
            host: "ATE0;+CSMS=1;+CNMI=2,2,0,0,0\r"
              modem: "ATE0;+CSMS=1;+CNMI=2,2,0,0,0\r\r\n+CSMS: 1,1,1\r\n\r\nOK\r\n"
            network: Deliver
              urc:   "\r\n+CMT: ,24\r\n06917228195339040B917228214365F700003130805120618005D4F29C2E03\r\n"
              later (15s): ack timeout #1
            network: Deliver
            host: "AT+CNMA\r"
              modem: "\r\nOK\r\n"
              urc:   "\r\n+CMT: ,24\r\n06917228195339040B917228214365F700003130805120618005D4F29C2E03\r\n"
              later (15s): ack timeout #2
            run: ack timeout #1
            run: ack timeout #2
              later (30s): network retry
            run: network retry
            host: "AT+CNMI?\r"
              modem: "\r\n+CNMI: 2,0,0,0,0\r\n\r\nOK\r\n"
            host: "AT+CPMS?\r"
              modem: "\r\n+CPMS: \"SM\",1,30,\"SM\",1,30,\"SM\",1,30\r\n\r\nOK\r\n"
        "#]]);
    assert_eq!(s.modem.counters().ack_timeouts, 1);
}

#[test]
fn full_sim_holds_messages_in_the_network() {
    let mut s = Session::new(SimConfig {
        personality: Personality::Huawei,
        capacity: 1,
        ..SimConfig::instant()
    });
    // A Huawei counts its slots from 0, so the one slot is 0.
    s.host("ATE0;+CNMI=2,1,0,0,0\r")
        .receive(IncomingKind::Deliver, DELIVER_TEST2)
        .receive(IncomingKind::Deliver, DELIVER_TEST2)
        .receive(IncomingKind::Deliver, DELIVER_TEST2)
        .host("AT+CMGD=0\r")
        .host("AT+CMGD=0\r")
        .host("AT+CMGD=0\r")
        .check(expect![[r#"
            host: "ATE0;+CNMI=2,1,0,0,0\r"
              modem: "ATE0;+CNMI=2,1,0,0,0\r\r\nOK\r\n"
            network: Deliver
              urc:   "\r\n+CMTI: \"SM\",0\r\n"
            network: Deliver
              urc:   "\r\n^SMMEMFULL: \"SM\"\r\n"
            network: Deliver
            host: "AT+CMGD=0\r"
              modem: "\r\nOK\r\n"
              urc:   "\r\n+CMTI: \"SM\",0\r\n"
            host: "AT+CMGD=0\r"
              modem: "\r\nOK\r\n"
              urc:   "\r\n+CMTI: \"SM\",0\r\n"
            host: "AT+CMGD=0\r"
              modem: "\r\nOK\r\n"
        "#]]);
    assert_eq!(s.modem.waiting_in_network(), 0);
}

#[test]
fn pin_and_puk() {
    let mut s = Session::new(SimConfig {
        pin: Some("1234".to_owned()),
        reboot_outage: Some(Duration::from_secs(3)),
        ..SimConfig::instant()
    });
    s.host("ATE0;+CMEE=2\r")
        .host("AT+CPIN?\r")
        .host("AT+CMGL=4\r")
        .host("AT+CPIN=\"0000\"\r")
        .host("AT+CPIN=\"0000\"\r")
        .host("AT+CPIN=\"1234\"\r")
        .host("AT+CPIN?\r")
        .host("AT+CFUN=1,1\r")
        .host("AT+CMEE=1;+CPIN=\"9999\"\r")
        .host("AT+CPIN=\"9999\"\r")
        .host("AT+CPIN=\"9999\"\r")
        .host("AT+CPIN?\r")
        .host("AT+CPIN=\"12345678\",\"4321\"\r")
        .host("AT+CPIN?;+CREG?\r")
        .check(expect![[r#"
            host: "ATE0;+CMEE=2\r"
              modem: "ATE0;+CMEE=2\r\r\nOK\r\n"
            host: "AT+CPIN?\r"
              modem: "\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n"
            host: "AT+CMGL=4\r"
              modem: "\r\n+CMS ERROR: SIM PIN required\r\n"
            host: "AT+CPIN=\"0000\"\r"
              modem: "\r\n+CME ERROR: incorrect password\r\n"
            host: "AT+CPIN=\"0000\"\r"
              modem: "\r\n+CME ERROR: incorrect password\r\n"
            host: "AT+CPIN=\"1234\"\r"
              modem: "\r\nOK\r\n"
            host: "AT+CPIN?\r"
              modem: "\r\n+CPIN: READY\r\n\r\nOK\r\n"
            host: "AT+CFUN=1,1\r"
              modem: "\r\nOK\r\n"
              link down for 3s
            host: "AT+CMEE=1;+CPIN=\"9999\"\r"
              modem: "AT+CMEE=1;+CPIN=\"9999\"\r\r\n+CME ERROR: 16\r\n"
            host: "AT+CPIN=\"9999\"\r"
              modem: "AT+CPIN=\"9999\"\r\r\n+CME ERROR: 16\r\n"
            host: "AT+CPIN=\"9999\"\r"
              modem: "AT+CPIN=\"9999\"\r\r\n+CME ERROR: 16\r\n"
            host: "AT+CPIN?\r"
              modem: "AT+CPIN?\r\r\n+CPIN: SIM PUK\r\n\r\nOK\r\n"
            host: "AT+CPIN=\"12345678\",\"4321\"\r"
              modem: "AT+CPIN=\"12345678\",\"4321\"\r\r\nOK\r\n"
            host: "AT+CPIN?;+CREG?\r"
              modem: "AT+CPIN?;+CREG?\r\r\n+CPIN: READY\r\n+CREG: 0,1\r\n\r\nOK\r\n"
        "#]]);
}

#[test]
fn faults_hang_double_echo_and_send_errors() {
    let mut s = Session::instant();
    s.faults(FaultPatch {
        double_echo: Some(true),
        ..FaultPatch::default()
    })
    .host("ATE0\r")
    .host("AT\r")
    .faults(FaultPatch {
        double_echo: Some(false),
        hang: Some(true),
        ..FaultPatch::default()
    })
    .host("AT\r")
    .receive(IncomingKind::Deliver, DELIVER_TEST2)
    .faults(FaultPatch {
        hang: Some(false),
        send_error: Some(Some(SendErrorFault {
            code: 38,
            next: Some(1),
            probability: None,
        })),
        ..FaultPatch::default()
    })
    .host(&format!("AT+CMGS=24\r{SUBMIT_HELLO}\x1a"))
    .host(&format!("AT+CMGS=24\r{SUBMIT_HELLO}\x1a"))
    .faults(FaultPatch {
        smsc_lost: Some(true),
        ..FaultPatch::default()
    })
    .host("AT+CSCA?\r")
    .host(&format!("AT+CMGS=24\r{SUBMIT_HELLO}\x1a"))
    .check(expect![[r#"
        faults: FaultPatch { hang: None, double_echo: Some(true), sim_full: None, smsc_lost: None, send_error: None, status_report: None }
        host: "ATE0\r"
          modem: "ATE0\rATE0\r\r\nOK\r\n"
        host: "AT\r"
          modem: "AT\r\r\nOK\r\n"
        faults: FaultPatch { hang: Some(true), double_echo: Some(false), sim_full: None, smsc_lost: None, send_error: None, status_report: None }
        host: "AT\r"
        network: Deliver
        faults: FaultPatch { hang: Some(false), double_echo: None, sim_full: None, smsc_lost: None, send_error: Some(Some(SendErrorFault { code: 38, next: Some(1), probability: None })), status_report: None }
        host: "AT+CMGS=24\r0001000B917228001011F100000CC8329BFD065DDF72363904\u{1a}"
          modem: "\r\n> "
          on the air for 0ns
          modem: "\r\n+CMS ERROR: 38\r\n"
        host: "AT+CMGS=24\r0001000B917228001011F100000CC8329BFD065DDF72363904\u{1a}"
          modem: "\r\n> "
          on the air for 0ns
          modem: "\r\n+CMGS: 0\r\n\r\nOK\r\n"
        faults: FaultPatch { hang: None, double_echo: None, sim_full: None, smsc_lost: Some(true), send_error: None, status_report: None }
        host: "AT+CSCA?\r"
          modem: "\r\n+CSCA: \"\",129\r\n\r\nOK\r\n"
        host: "AT+CMGS=24\r0001000B917228001011F100000CC8329BFD065DDF72363904\u{1a}"
          modem: "\r\n> \r\n+CMS ERROR: 330\r\n"
    "#]]);
    assert_eq!(s.modem.counters().swallowed_bytes, 3);
    // The text that arrived during the hang was stored silently (CNMI was never set).
    assert_eq!(s.modem.sim().used(), 1);
}

#[test]
fn incoming_call_rings_until_hung_up() {
    let mut s = Session::instant();
    s.host("ATE0;+CLIP=1\r");
    let steps = s.modem.incoming_call("+15551234567", 3, s.now);
    s.record(steps);
    s.next_job().host("ATH\r").next_job().check(expect![[r#"
        host: "ATE0;+CLIP=1\r"
          modem: "ATE0;+CLIP=1\r\r\nOK\r\n"
          urc:   "\r\nRING\r\n"
          urc:   "\r\n+CLIP: \"+15551234567\",145,,,,0\r\n"
          later (50ms): ring (2 left)
        run: ring (2 left)
          urc:   "\r\nRING\r\n"
          urc:   "\r\n+CLIP: \"+15551234567\",145,,,,0\r\n"
          later (50ms): ring (1 left)
        host: "ATH\r"
          modem: "\r\nOK\r\n"
        run: ring (1 left)
    "#]]);
}

#[test]
fn personalities_identify_themselves() {
    let mut log = String::new();
    for personality in Personality::ALL {
        let mut modem = ModemState::new(SimConfig {
            personality,
            ..SimConfig::instant()
        });
        let steps = modem.input(
            &mut Line::default(),
            b"ATE0;I;+CGMI;+CGMM;+CMEE?\r",
            Utc::now(),
        );
        for step in steps {
            if let Step::Reply(bytes) = step {
                let _ = writeln!(log, "{personality}: {:?}", String::from_utf8_lossy(&bytes));
            }
        }
    }
    expect![[r#"
        generic: "ATE0;I;+CGMI;+CGMM;+CMEE?\r\r\ntextgate Simulated GSM modem\r\nRevision: modemsim 1.0\r\ntextgate\r\nSimulated GSM modem\r\n+CMEE: 0\r\n\r\nOK\r\n"
        huawei: "ATE0;I;+CGMI;+CGMM;+CMEE?\r\r\nManufacturer: huawei\r\nModel: E3372\r\nRevision: 22.200.15.00.00\r\nIMEI: 490154203237518\r\n+GCAP: +CGSM,+DS,+ES\r\nhuawei\r\nE3372\r\n+CMEE: 0\r\n\r\nOK\r\n"
        quectel: "ATE0;I;+CGMI;+CGMM;+CMEE?\r\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\nQuectel\r\nEC25\r\n+CMEE: 1\r\n\r\nOK\r\n"
        simcom: "ATE0;I;+CGMI;+CGMM;+CMEE?\r\r\nSIM800 R14.18\r\nSIMCOM_Ltd\r\nSIMCOM_SIM800L\r\n+CMEE: 0\r\n\r\nOK\r\n"
        sierra: "ATE0;I;+CGMI;+CGMM;+CMEE?\r\r\nManufacturer: Sierra Wireless, Incorporated\r\nModel: MC7455\r\nRevision: SWI9X30C_02.24.05.06\r\nIMEI: 490154203237518\r\n+GCAP: +CGSM\r\nSierra Wireless, Incorporated\r\nMC7455\r\n+CMEE: 0\r\n\r\nOK\r\n"
        android: "ATE0;I;+CGMI;+CGMM;+CMEE?\r\r\nSAMSUNG SM-A505FN\r\nsamsung\r\nSM-A505FN\r\n+CMEE: 1\r\n\r\nOK\r\n"
    "#]]
    .assert_eq(&log);
}

#[test]
fn simcom_flags_mms_notifications() {
    let mut s = Session::new(SimConfig {
        personality: Personality::Simcom,
        ..SimConfig::instant()
    });
    s.host("ATE0;+CNMI=2,1,0,0,0\r")
        .receive(IncomingKind::MmsNotification, DELIVER_TEST2)
        .check(expect![[r#"
            host: "ATE0;+CNMI=2,1,0,0,0\r"
              modem: "ATE0;+CNMI=2,1,0,0,0\r\r\nOK\r\n"
            network: MmsNotification
              urc:   "\r\n+CMTI: \"SM\",1,\"MMS PUSH\",2,1\r\n"
        "#]]);
}

#[test]
fn android_limits_sends_per_minute() {
    let mut s = Session::new(SimConfig {
        personality: Personality::Android,
        ..SimConfig::instant()
    });
    s.host("ATE0\r");
    for _ in 0..31 {
        s.host(&format!("AT+CMGS=24\r{SUBMIT_HELLO}\x1a"));
    }
    assert_eq!(s.modem.counters().sends, 30);
    assert_eq!(s.modem.counters().send_failures, 1);
    s.now += chrono::TimeDelta::seconds(61);
    s.host(&format!("AT+CMGS=24\r{SUBMIT_HELLO}\x1a"));
    assert_eq!(s.modem.counters().sends, 31);
}

/// Replies and unsolicited codes for `input` fed in the given chunks, with every job run.
fn run_script(chunks: &[&[u8]]) -> (Vec<u8>, Vec<u8>) {
    let mut modem = ModemState::new(SimConfig::instant());
    let mut line = Line::default();
    let now = Utc
        .with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .single()
        .unwrap_or_default();
    let (mut replies, mut urcs) = (Vec::new(), Vec::new());
    let mut jobs = VecDeque::new();
    let received = modem.receive(
        IncomingKind::Deliver,
        vec![textgate_gsm::pdu::from_hex(DELIVER_TEST2).unwrap_or_default()],
        now,
    );
    let mut steps: VecDeque<Step> = received.unwrap_or_default().into();
    let mut chunks = chunks.iter();
    loop {
        while let Some(step) = steps.pop_front() {
            match step {
                Step::Reply(b) => replies.extend(b),
                Step::Unsolicited(b) => urcs.extend(b),
                Step::Schedule { job, .. } => jobs.push_back(job),
                Step::LinkDown(_) => {}
                Step::Radio(_) => {
                    for step in modem.radio_done(&mut line, now).into_iter().rev() {
                        steps.push_front(step);
                    }
                }
            }
        }
        if let Some(chunk) = chunks.next() {
            steps.extend(modem.input(&mut line, chunk, now));
            continue;
        }
        // Then the network's status reports.
        match jobs.pop_front() {
            Some(job @ Job::StatusReport { .. }) => steps.extend(modem.run_job(job, now)),
            Some(_) => {}
            None => break,
        }
    }
    (replies, urcs)
}

proptest::proptest! {
    /// However the host's bytes are split into writes, the modem answers the same bytes.
    #[test]
    fn any_split_of_the_input_gives_the_same_answers(cuts in proptest::collection::vec(0usize..400, 0..12)) {
        let script = format!(
            "ATE1\rAT+CMEE=2;+CNMI=2,1,0,1,0\r\nAT+CMGL=4\rAT+CMGS=24\r{SUBMIT_HELLO_SRR}\x1a\
             AT+CMGS=24\r00\x1bAT+CPIN?\rgarbage\rAT+CMGD=1\rAT+CMGS=23\r{SUBMIT_HELLO}\x1a"
        );
        let bytes = script.as_bytes();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
        cuts.sort_unstable();
        let mut chunks: Vec<&[u8]> = Vec::new();
        let mut start = 0;
        for cut in cuts {
            chunks.push(bytes.get(start..cut).unwrap_or(&[]));
            start = cut;
        }
        chunks.push(bytes.get(start..).unwrap_or(&[]));
        let whole = run_script(&[bytes]);
        proptest::prop_assert_eq!(run_script(&chunks), whole);
    }
}

#[test]
fn the_scripted_session_answers_as_expected() {
    // The reference run of the property above, so a change in the answers shows up here.
    let script = format!(
        "ATE0;+CNMI=2,1,0,1,0\rAT+CMGS=23\r{SUBMIT_HELLO}\x1aAT+CMGS=24\r{SUBMIT_HELLO_SRR}\x1a"
    );
    let (replies, urcs) = run_script(&[script.as_bytes()]);
    expect![[r#"
        "ATE0;+CNMI=2,1,0,1,0\r\r\nOK\r\n\r\n> \r\n+CMS ERROR: 304\r\n\r\n> \r\n+CMGS: 0\r\n\r\nOK\r\n"
        "\r\n+CDS: 25\r\n079144770009001006000B917228001011F1623010210000006230102100000000\r\n""#]].assert_eq(&format!(
        "{:?}\n{:?}",
        String::from_utf8_lossy(&replies),
        String::from_utf8_lossy(&urcs)
    ));
}

#[test]
fn stored_writes_verbose_errors_and_radio_off() {
    let mut s = Session::new(SimConfig {
        capacity: 1,
        ..SimConfig::instant()
    });
    s.host("ATE0;+CMEE=2\r")
        .host(&format!("AT+CMGW=24\r{SUBMIT_HELLO}\x1a"))
        .host(&format!("AT+CMGW=24\r{SUBMIT_HELLO}\x1a"))
        .host("AT+CMGL=2\r")
        .host("AT+CFUN=4\r")
        .host("AT+CREG?;+CSQ\r")
        .host(&format!("AT+CMGS=24\r{SUBMIT_HELLO}\x1a"))
        .host("AT+CMEE=0;+CFUN=7\r")
        .check(expect![[r#"
            host: "ATE0;+CMEE=2\r"
              modem: "ATE0;+CMEE=2\r\r\nOK\r\n"
            host: "AT+CMGW=24\r0001000B917228001011F100000CC8329BFD065DDF72363904\u{1a}"
              modem: "\r\n> \r\n+CMGW: 1\r\n\r\nOK\r\n"
            host: "AT+CMGW=24\r0001000B917228001011F100000CC8329BFD065DDF72363904\u{1a}"
              modem: "\r\n> \r\n+CMS ERROR: memory full\r\n"
            host: "AT+CMGL=2\r"
              modem: "\r\n+CMGL: 1,2,,24\r\n0001000B917228001011F100000CC8329BFD065DDF72363904\r\n\r\nOK\r\n"
            host: "AT+CFUN=4\r"
              modem: "\r\nOK\r\n"
            host: "AT+CREG?;+CSQ\r"
              modem: "\r\n+CREG: 0,0\r\n+CSQ: 99,99\r\n\r\nOK\r\n"
            host: "AT+CMGS=24\r0001000B917228001011F100000CC8329BFD065DDF72363904\u{1a}"
              modem: "\r\n> \r\n+CMS ERROR: no network service\r\n"
            host: "AT+CMEE=0;+CFUN=7\r"
              modem: "\r\nERROR\r\n"
        "#]]);
}

#[test]
fn huawei_reports_signal_until_curc_0() {
    let mut s = Session::new(SimConfig {
        personality: Personality::Huawei,
        periodic_report_interval: Some(Duration::from_secs(10)),
        ..SimConfig::instant()
    });
    let steps = s.modem.power_on_jobs();
    s.record(steps);
    s.next_job()
        .host("ATE0;^CURC=0\r")
        .next_job()
        .host("AT^CURC?\r")
        .check(expect![[r#"
              later (10s): periodic report
            run: periodic report
              urc:   "\r\n^RSSI: 21\r\n"
              later (10s): periodic report
            host: "ATE0;^CURC=0\r"
              modem: "ATE0;^CURC=0\r\r\nOK\r\n"
            run: periodic report
              later (10s): periodic report
            host: "AT^CURC?\r"
              modem: "\r\n^CURC: 0\r\n\r\nOK\r\n"
        "#]]);
}

#[test]
fn huawei_selects_the_report_port_and_others_lack_the_command() {
    // Gammu 1.42 connects to a Huawei with these three and gives up on any ERROR.
    Session::new(SimConfig {
        personality: Personality::Huawei,
        ..SimConfig::instant()
    })
    .host("ATE0;^CURC=0;+CFUN=1;^PORTSEL=1\r")
    .host("AT^PORTSEL?;^PORTSEL=?\r")
    .host("AT^PORTSEL=2\r")
    .check(expect![[r#"
        host: "ATE0;^CURC=0;+CFUN=1;^PORTSEL=1\r"
          modem: "ATE0;^CURC=0;+CFUN=1;^PORTSEL=1\r\r\nOK\r\n"
        host: "AT^PORTSEL?;^PORTSEL=?\r"
          modem: "\r\n^PORTSEL: 1\r\n^PORTSEL: (0,1)\r\n\r\nOK\r\n"
        host: "AT^PORTSEL=2\r"
          modem: "\r\nERROR\r\n"
    "#]]);
    Session::instant()
        .host("ATE0;^PORTSEL=1\r")
        .check(expect![[r#"
            host: "ATE0;^PORTSEL=1\r"
              modem: "ATE0;^PORTSEL=1\r\r\nERROR\r\n"
        "#]]);
}

/// Quectel's `AT+QURCCFG="urcport"`: a new text is announced on the host's port only while
/// the reports go there; the setting survives `ATZ` (it is kept in non-volatile memory);
/// other families answer `ERROR`.
#[test]
fn quectel_sends_unsolicited_reports_to_the_chosen_port_only() {
    Session::new(SimConfig {
        personality: Personality::Quectel,
        ..SimConfig::instant()
    })
    .host("ATE0;+CNMI=2,1,0,0,0;+QURCCFG=?;+QURCCFG=\"urcport\"\r")
    .host("AT+QURCCFG=\"urcport\",\"usbmodem\";Z\r")
    .host("ATE0;+QURCCFG=\"urcport\";+CNMI=2,1,0,0,0\r")
    .receive(IncomingKind::Deliver, DELIVER_TEST2)
    .host("AT+QURCCFG=\"urcport\",\"usbat\"\r")
    .receive(IncomingKind::Deliver, DELIVER_TEST2)
    .host("AT+QURCCFG=\"urcport\",\"usb3\"\r")
    .check(expect![[r#"
        host: "ATE0;+CNMI=2,1,0,0,0;+QURCCFG=?;+QURCCFG=\"urcport\"\r"
          modem: "ATE0;+CNMI=2,1,0,0,0;+QURCCFG=?;+QURCCFG=\"urcport\"\r\r\n+QURCCFG: \"urcport\",(\"usbat\",\"usbmodem\",\"uart1\")\r\n+QURCCFG: \"urcport\",\"usbat\"\r\n\r\nOK\r\n"
        host: "AT+QURCCFG=\"urcport\",\"usbmodem\";Z\r"
          modem: "\r\nOK\r\n"
        host: "ATE0;+QURCCFG=\"urcport\";+CNMI=2,1,0,0,0\r"
          modem: "ATE0;+QURCCFG=\"urcport\";+CNMI=2,1,0,0,0\r\r\n+QURCCFG: \"urcport\",\"usbmodem\"\r\n\r\nOK\r\n"
        network: Deliver
          urc:   ""
        host: "AT+QURCCFG=\"urcport\",\"usbat\"\r"
          modem: "\r\nOK\r\n"
        network: Deliver
          urc:   "\r\n+CMTI: \"SM\",2\r\n"
        host: "AT+QURCCFG=\"urcport\",\"usb3\"\r"
          modem: "\r\nERROR\r\n"
    "#]]);
    Session::instant()
        .host("ATE0;+QURCCFG=\"urcport\"\r")
        .check(expect![[r#"
            host: "ATE0;+QURCCFG=\"urcport\"\r"
              modem: "ATE0;+QURCCFG=\"urcport\"\r\r\nERROR\r\n"
        "#]]);
}

/// A Quectel's `urcport` is kept in non-volatile memory: after a restart (`AT+CFUN=1,1`)
/// the reports still go to the modem port, and the host on the AT port hears no text.
#[test]
fn quectel_keeps_the_report_port_across_a_restart() {
    Session::new(SimConfig {
        personality: Personality::Quectel,
        ..SimConfig::instant()
    })
    .host("ATE0;+QURCCFG=\"urcport\",\"usbmodem\"\r")
    .host("AT+CFUN=1,1\r")
    .host("ATE0;+QURCCFG=\"urcport\";+CNMI=2,1,0,0,0\r")
    .receive(IncomingKind::Deliver, DELIVER_TEST2)
    .check(expect![[r#"
        host: "ATE0;+QURCCFG=\"urcport\",\"usbmodem\"\r"
          modem: "ATE0;+QURCCFG=\"urcport\",\"usbmodem\"\r\r\nOK\r\n"
        host: "AT+CFUN=1,1\r"
          modem: "\r\nOK\r\n"
        host: "ATE0;+QURCCFG=\"urcport\";+CNMI=2,1,0,0,0\r"
          modem: "ATE0;+QURCCFG=\"urcport\";+CNMI=2,1,0,0,0\r\r\n+QURCCFG: \"urcport\",\"usbmodem\"\r\n\r\nOK\r\n"
        network: Deliver
          urc:   ""
    "#]]);
}

/// SIMCom's `AT+CATR` (A76XX AT Command Manual V1.09, §10.2.9): while it names the modem
/// port (2), the host on the AT port hears no `+CMTI`; `ATZ` leaves it so; a restart puts
/// it back to all ports (0, not saved), and the host hears texts again. Out-of-range
/// ports are refused like other parameters.
#[test]
fn simcom_sends_unsolicited_reports_to_the_chosen_port_until_a_restart() {
    Session::new(SimConfig {
        personality: Personality::Simcom,
        ..SimConfig::instant()
    })
    .host("ATE0;+CNMI=2,1,0,0,0;+CATR=?;+CATR?\r")
    .host("AT+CATR=2;+CATR?\r")
    .receive(IncomingKind::Deliver, DELIVER_TEST2)
    .host("ATZ\r")
    .host("ATE0;+CATR?;+CNMI=2,1,0,0,0\r")
    .receive(IncomingKind::Deliver, DELIVER_TEST2)
    .host("AT+CFUN=1,1\r")
    .host("ATE0;+CATR?;+CNMI=2,1,0,0,0\r")
    .receive(IncomingKind::Deliver, DELIVER_TEST2)
    .host("AT+CATR=3\r")
    .receive(IncomingKind::Deliver, DELIVER_TEST2)
    .host("AT+CATR=8\r")
    .host("AT+CMEE=1;+CATR=\r")
    .check(expect![[r#"
        host: "ATE0;+CNMI=2,1,0,0,0;+CATR=?;+CATR?\r"
          modem: "ATE0;+CNMI=2,1,0,0,0;+CATR=?;+CATR?\r\r\n+CATR: (0-7)\r\n+CATR: 0\r\n\r\nOK\r\n"
        host: "AT+CATR=2;+CATR?\r"
          modem: "\r\n+CATR: 2\r\n\r\nOK\r\n"
        network: Deliver
          urc:   ""
        host: "ATZ\r"
          modem: "\r\nOK\r\n"
        host: "ATE0;+CATR?;+CNMI=2,1,0,0,0\r"
          modem: "ATE0;+CATR?;+CNMI=2,1,0,0,0\r\r\n+CATR: 2\r\n\r\nOK\r\n"
        network: Deliver
          urc:   ""
        host: "AT+CFUN=1,1\r"
          modem: "\r\nOK\r\n"
        host: "ATE0;+CATR?;+CNMI=2,1,0,0,0\r"
          modem: "ATE0;+CATR?;+CNMI=2,1,0,0,0\r\r\n+CATR: 0\r\n\r\nOK\r\n"
        network: Deliver
          urc:   "\r\n+CMTI: \"SM\",3\r\n"
        host: "AT+CATR=3\r"
          modem: "\r\nOK\r\n"
        network: Deliver
          urc:   "\r\n+CMTI: \"SM\",4\r\n"
        host: "AT+CATR=8\r"
          modem: "\r\nERROR\r\n"
        host: "AT+CMEE=1;+CATR=\r"
          modem: "\r\n+CME ERROR: 50\r\n"
    "#]]);
    // A host on the modem port hears what `AT+CATR=2` sends there.
    Session::new(SimConfig {
        personality: Personality::Simcom,
        port: UsbPort::Modem,
        ..SimConfig::instant()
    })
    .host("ATE0;+CNMI=2,1,0,0,0;+CATR=2\r")
    .receive(IncomingKind::Deliver, DELIVER_TEST2)
    .check(expect![[r#"
        host: "ATE0;+CNMI=2,1,0,0,0;+CATR=2\r"
          modem: "ATE0;+CNMI=2,1,0,0,0;+CATR=2\r\r\nOK\r\n"
        network: Deliver
          urc:   "\r\n+CMTI: \"SM\",1\r\n"
    "#]]);
}

/// Only the SIMCom personality has `AT+CATR`; the others answer `ERROR`, as for any
/// command they lack.
#[test]
fn other_families_lack_catr() {
    let answers: Vec<String> = Personality::ALL
        .into_iter()
        .filter(|p| *p != Personality::Simcom)
        .map(|personality| {
            let mut s = Session::new(SimConfig {
                personality,
                ..SimConfig::instant()
            });
            s.host("ATE0;+CMEE=0\r");
            s.log.clear();
            s.host("AT+CATR=0\r").host("AT+CATR?\r").host("AT+CATR=?\r");
            format!("{personality}:\n{}", std::mem::take(&mut s.log).trim_end())
        })
        .collect();
    expect![[r#"
        generic:
        host: "AT+CATR=0\r"
          modem: "\r\nERROR\r\n"
        host: "AT+CATR?\r"
          modem: "\r\nERROR\r\n"
        host: "AT+CATR=?\r"
          modem: "\r\nERROR\r\n"
        huawei:
        host: "AT+CATR=0\r"
          modem: "\r\nERROR\r\n"
        host: "AT+CATR?\r"
          modem: "\r\nERROR\r\n"
        host: "AT+CATR=?\r"
          modem: "\r\nERROR\r\n"
        quectel:
        host: "AT+CATR=0\r"
          modem: "\r\nERROR\r\n"
        host: "AT+CATR?\r"
          modem: "\r\nERROR\r\n"
        host: "AT+CATR=?\r"
          modem: "\r\nERROR\r\n"
        sierra:
        host: "AT+CATR=0\r"
          modem: "\r\nERROR\r\n"
        host: "AT+CATR?\r"
          modem: "\r\nERROR\r\n"
        host: "AT+CATR=?\r"
          modem: "\r\nERROR\r\n"
        android:
        host: "AT+CATR=0\r"
          modem: "\r\nERROR\r\n"
        host: "AT+CATR?\r"
          modem: "\r\nERROR\r\n"
        host: "AT+CATR=?\r"
          modem: "\r\nERROR\r\n""#]]
    .assert_eq(&answers.join("\n"));
}

#[test]
fn huawei_counts_message_slots_from_0() {
    let mut s = Session::new(SimConfig {
        personality: Personality::Huawei,
        capacity: 2,
        ..SimConfig::instant()
    });
    s.host("ATE0;+CNMI=2,1,0,0,0\r")
        .receive(IncomingKind::Deliver, DELIVER_TEST2)
        .receive(IncomingKind::Deliver, DELIVER_TEST2)
        .host("AT+CMGL=4\r")
        .host("AT+CMGR=2\r")
        .host("AT+CMGD=0;+CMGD=?\r")
        .check(expect![[r#"
            host: "ATE0;+CNMI=2,1,0,0,0\r"
              modem: "ATE0;+CNMI=2,1,0,0,0\r\r\nOK\r\n"
            network: Deliver
              urc:   "\r\n+CMTI: \"SM\",0\r\n"
            network: Deliver
              urc:   "\r\n+CMTI: \"SM\",1\r\n"
            host: "AT+CMGL=4\r"
              modem: "\r\n+CMGL: 0,0,,24\r\n06917228195339040B917228214365F700003130805120618005D4F29C2E03\r\n+CMGL: 1,0,,24\r\n06917228195339040B917228214365F700003130805120618005D4F29C2E03\r\n\r\nOK\r\n"
            host: "AT+CMGR=2\r"
              modem: "\r\n+CMS ERROR: 321\r\n"
            host: "AT+CMGD=0;+CMGD=?\r"
              modem: "\r\n+CMGD: (1),(0-4)\r\n\r\nOK\r\n"
        "#]]);
}

#[test]
fn character_sets_are_listed_chosen_and_used_for_strings() {
    Session::instant()
        .host("ATE0;+CSCS=?;+CSCS?\r")
        .host("AT+CSCS=\"UCS2\";+CSCS?;+CSCA?;+COPS?\r")
        .host("AT+CSCA=\"002B003\"\r")
        .host("AT+CSCA=\"002B003400340037003700300030003900300030003000300032\";+CSCA?\r")
        .host("AT+CSCS=\"GSM\"\r")
        .host("AT+CSCS=\"00470053004D\";+CSCS?;+CSCA?\r")
        .host("AT+CMEE=1;+CSCS=\"KOI8-R\"\r")
        .check(expect![[r#"
            host: "ATE0;+CSCS=?;+CSCS?\r"
              modem: "ATE0;+CSCS=?;+CSCS?\r\r\n+CSCS: (\"GSM\",\"IRA\",\"UCS2\")\r\n+CSCS: \"GSM\"\r\n\r\nOK\r\n"
            host: "AT+CSCS=\"UCS2\";+CSCS?;+CSCA?;+COPS?\r"
              modem: "\r\n+CSCS: \"0055004300530032\"\r\n+CSCA: \"002B003400340037003700300030003900300030003000300031\",145\r\n+COPS: 0,0,\"00740065007800740067006100740065002000730069006D\",0\r\n\r\nOK\r\n"
            host: "AT+CSCA=\"002B003\"\r"
              modem: "\r\n+CMS ERROR: 304\r\n"
            host: "AT+CSCA=\"002B003400340037003700300030003900300030003000300032\";+CSCA?\r"
              modem: "\r\n+CSCA: \"002B003400340037003700300030003900300030003000300032\",145\r\n\r\nOK\r\n"
            host: "AT+CSCS=\"GSM\"\r"
              modem: "\r\nERROR\r\n"
            host: "AT+CSCS=\"00470053004D\";+CSCS?;+CSCA?\r"
              modem: "\r\n+CSCS: \"GSM\"\r\n+CSCA: \"+447700900002\",145\r\n\r\nOK\r\n"
            host: "AT+CMEE=1;+CSCS=\"KOI8-R\"\r"
              modem: "\r\n+CME ERROR: 4\r\n"
        "#]]);
}

#[test]
fn hang_up_test_and_packet_registration_answer_as_in_27_007() {
    Session::instant()
        .host("ATE0;+CHUP=?\r")
        .host("AT+CGREG=?;+CGREG?\r")
        .host("AT+CGREG=2;+CGREG?\r")
        .host("AT+CFUN=4;+CGREG?\r")
        .check(expect![[r#"
            host: "ATE0;+CHUP=?\r"
              modem: "ATE0;+CHUP=?\r\r\nOK\r\n"
            host: "AT+CGREG=?;+CGREG?\r"
              modem: "\r\n+CGREG: (0-2)\r\n+CGREG: 0,1\r\n\r\nOK\r\n"
            host: "AT+CGREG=2;+CGREG?\r"
              modem: "\r\n+CGREG: 2,1\r\n\r\nOK\r\n"
            host: "AT+CFUN=4;+CGREG?\r"
              modem: "\r\n+CGREG: 2,0\r\n\r\nOK\r\n"
        "#]]);
}

#[test]
fn battery_charge_as_each_family_reports_it() {
    let answers: Vec<String> = Personality::ALL
        .into_iter()
        .map(|personality| {
            let mut s = Session::new(SimConfig {
                personality,
                ..SimConfig::instant()
            });
            s.host("ATE0\r");
            s.log.clear();
            s.host("AT+CBC;+CBC=?\r");
            format!("{personality}: {}", std::mem::take(&mut s.log).trim_end())
        })
        .collect();
    expect![[r#"
        generic: host: "AT+CBC;+CBC=?\r"
          modem: "\r\n+CBC: 2,0\r\n+CBC: (0-3),(0-100)\r\n\r\nOK\r\n"
        huawei: host: "AT+CBC;+CBC=?\r"
          modem: "\r\n+CBC: 2,0\r\n+CBC: (0-3),(0-100)\r\n\r\nOK\r\n"
        quectel: host: "AT+CBC;+CBC=?\r"
          modem: "\r\n+CBC: 2,0\r\n+CBC: (0-3),(0-100)\r\n\r\nOK\r\n"
        simcom: host: "AT+CBC;+CBC=?\r"
          modem: "\r\n+CBC: 0,93,4120\r\n+CBC: (0-2),(1-100),(voltage)\r\n\r\nOK\r\n"
        sierra: host: "AT+CBC;+CBC=?\r"
          modem: "\r\n+CBC: 2,0\r\n+CBC: (0-3),(0-100)\r\n\r\nOK\r\n"
        android: host: "AT+CBC;+CBC=?\r"
          modem: "\r\n+CBC: 0,81\r\n+CBC: (0-3),(0-100)\r\n\r\nOK\r\n""#]]
    .assert_eq(&answers.join("\n"));
}

#[test]
fn android_lacks_cmms_and_status_report_routing() {
    Session::new(SimConfig {
        personality: Personality::Android,
        ..SimConfig::instant()
    })
    .host("ATE0\r")
    .host("AT+CMMS=2\r")
    .host("AT+CNMI=2,1,0,1,0\r")
    .host("AT+CNMI=2,1,0,0,0\r")
    .check(expect![[r#"
        host: "ATE0\r"
          modem: "ATE0\r\r\nOK\r\n"
        host: "AT+CMMS=2\r"
          modem: "\r\nERROR\r\n"
        host: "AT+CNMI=2,1,0,1,0\r"
          modem: "\r\n+CMS ERROR: 303\r\n"
        host: "AT+CNMI=2,1,0,0,0\r"
          modem: "\r\nOK\r\n"
    "#]]);
}

proptest::proptest! {
    /// Whatever a host writes (line noise, half commands, binary), the modem answers
    /// without panicking and keeps answering `AT` afterwards.
    #[test]
    fn arbitrary_input_never_breaks_the_modem(
        noise in proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..600),
    ) {
        let mut modem = ModemState::new(SimConfig::instant());
        let mut line = Line::default();
        let now = Utc::now();
        let mut steps: VecDeque<Step> = modem.input(&mut line, &noise, now).into();
        while let Some(step) = steps.pop_front() {
            if let Step::Radio(_) = step {
                steps.extend(modem.radio_done(&mut line, now));
            }
        }
        // Leave whatever state the noise left: cancel a prompt, end the line, try again.
        let _ = modem.input(&mut line, b"\x1b\r", now);
        let answer: Vec<u8> = modem
            .input(&mut line, b"ATE0\r", now)
            .into_iter()
            .flat_map(|s| match s {
                Step::Reply(b) => b,
                _ => Vec::new(),
            })
            .collect();
        let answer = String::from_utf8_lossy(&answer);
        proptest::prop_assert!(answer.ends_with("\r\nOK\r\n"), "{:?}", answer);
    }
}
