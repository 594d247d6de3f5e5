use std::time::Duration;

use expect_test::expect;

use super::*;
use crate::plan::Fault;

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn text(tag: &str, kind: TextKind, patron: &str, body: &str) -> PlannedText {
    PlannedText {
        tag: tag.to_owned(),
        kind,
        body: body.to_owned(),
        patron: patron.to_owned(),
        at: Duration::ZERO,
    }
}

fn part(recipient: &str, text: &str, concatenation: Option<(u16, u8, u8)>, at: u64) -> NetworkPart {
    NetworkPart {
        recipient: recipient.to_owned(),
        text: Some(text.to_owned()),
        concatenation,
        at: s(at),
    }
}

fn kill(started: u64, ended: u64) -> FaultRecord {
    FaultRecord {
        fault: Fault::DaemonKill { down: s(0) },
        started: s(started),
        ended: s(ended),
        note: None,
    }
}

/// Three replies: one multipart that arrived whole, one whose second part went out twice,
/// one that never got its second part out.
fn replies() -> (Vec<PlannedText>, Vec<NetworkPart>) {
    let replies = vec![
        text(
            "cx-o0000",
            TextKind::Multipart,
            "+15552000000",
            "cx-o0000 first half second half",
        ),
        text(
            "cx-o0001",
            TextKind::Multipart,
            "+15552000001",
            "cx-o0001 one two",
        ),
        text(
            "cx-o0002",
            TextKind::Ucs2Multipart,
            "+15552000002",
            "cx-o0002 ж📚 д",
        ),
    ];
    let parts = vec![
        part("+15552000000", "cx-o0000 first half", Some((7, 1, 2)), 10),
        part("+15552000000", " second half", Some((7, 2, 2)), 11),
        part("15552000001", "cx-o0001 one", Some((8, 1, 2)), 12),
        part("15552000001", " two", Some((8, 2, 2)), 13),
        part("15552000001", " two", Some((8, 2, 2)), 20),
        part("+15552000002", "cx-o0002 ж📚", Some((9, 1, 2)), 14),
    ];
    (replies, parts)
}

#[test]
fn multipart_replies_arrive_when_every_part_reassembles_to_the_body() {
    let (replies, parts) = replies();
    let verdicts = judge_out(&replies, |_| Some(s(5)), &parts, &[], &[]);
    let summary: Vec<(bool, usize)> = verdicts.iter().map(|v| (v.arrived(), v.times)).collect();
    assert_eq!(summary, [(true, 1), (true, 2), (false, 1)]);
    // The whole reply counts as there when its last part first arrived.
    assert_eq!(verdicts[1].arrivals, [s(13)]);
}

#[test]
fn a_missing_reply_is_stuck_when_the_store_still_has_it_and_lost_when_not() {
    let (replies, parts) = replies();
    let verdicts = judge_out(&replies, |_| Some(s(5)), &parts, &[], &[]);
    let waiting = BTreeMap::from([(
        "cx-o0002".to_owned(),
        Whereabouts {
            waiting: true,
            in_store: true,
            failed: false,
            unreached: false,
            store_rows: vec!["outbound: id=3 state=sending".to_owned()],
            log_lines: Vec::new(),
        },
    )]);
    let stuck = tally(&verdicts, &waiting);
    let lost = tally(&verdicts, &BTreeMap::new());
    assert_eq!(
        [
            (stuck.arrived, stuck.stuck, stuck.lost, stuck.duplicated),
            (lost.arrived, lost.stuck, lost.lost, lost.duplicated)
        ],
        [(2, 1, 0, 1), (2, 0, 1, 1)]
    );
    assert!(stuck.inconsistencies("replies").is_empty());
    assert!(lost.inconsistencies("replies").is_empty());
}

#[test]
fn an_error_about_a_reply_that_never_arrived_is_a_refusal_not_a_loss() {
    let (replies, parts) = replies();
    let bounce = Bounce {
        id: "cx-o0002".to_owned(),
        at: s(30),
        stanza: "<message type='error'/>".to_owned(),
    };
    let verdicts = judge_out(&replies, |_| Some(s(5)), &parts, &[bounce], &[]);
    let report = tally(&verdicts, &BTreeMap::new());
    assert_eq!((report.refused, report.lost), (1, 0));
}

#[test]
fn a_reply_the_daemon_never_saw_while_its_connection_died_is_unreached_not_lost() {
    let (replies, parts) = replies();
    let verdicts = judge_out(&replies, |_| Some(s(5)), &parts, &[], &[]);
    let unreached = BTreeMap::from([(
        "cx-o0002".to_owned(),
        Whereabouts {
            unreached: true,
            ..Whereabouts::default()
        },
    )]);
    let report = tally(&verdicts, &unreached);
    assert_eq!((report.unreached, report.lost), (1, 0));
    assert!(report.inconsistencies("replies").is_empty());
}

#[test]
fn lateness_counts_only_the_time_in_transit_while_no_fault_was_in_progress() {
    let texts = vec![
        text("cx-i0000", TextKind::Single, "+15551000000", "cx-i0000 a"),
        text("cx-i0001", TextKind::Single, "+15551000001", "cx-i0001 b"),
        text("cx-i0002", TextKind::Single, "+15551000002", "cx-i0002 c"),
    ];
    let arrival = |patron: &str, body: &str, at: u64| Arrival {
        patron: patron.to_owned(),
        body: body.to_owned(),
        at: s(at),
        delayed: false,
    };
    // All sent at 10; the daemon down from 12 to 30 (18 s).
    let arrivals = [
        // 55 s in transit, 37 s of it outside the fault.
        arrival("+15551000000", "cx-i0000 a", 65),
        // 40 s in transit, 22 s outside: on time.
        arrival("+15551000001", "cx-i0001 b", 50),
        // 190 s in transit, 172 s outside the first fault, 72 s outside both.
        arrival("+15551000002", "cx-i0002 c", 200),
    ];
    let faults = [kill(12, 30), kill(100, 300), kill(20, 25)];
    let late: Vec<Option<Duration>> = judge_in(&texts, |_| Some(s(10)), &arrivals, &faults[..1])
        .iter()
        .map(|v| v.late_by)
        .collect();
    assert_eq!(late, [Some(s(37)), None, Some(s(172))]);
    // Overlapping faults count once; a fault ending after the arrival counts up to it.
    let late: Vec<Option<Duration>> = judge_in(&texts, |_| Some(s(10)), &arrivals, &faults)
        .iter()
        .map(|v| v.late_by)
        .collect();
    assert_eq!(late, [Some(s(37)), None, Some(s(72))]);
}

#[test]
fn the_report_prints_its_figures_and_each_case_with_its_evidence() {
    let texts = vec![
        text("cx-i0000", TextKind::Single, "+15551000000", "cx-i0000 a"),
        text("cx-i0001", TextKind::Ucs2, "+15551000001", "cx-i0001 ж"),
    ];
    let arrivals = [
        Arrival {
            patron: "+15551000000".to_owned(),
            body: "cx-i0000 a".to_owned(),
            at: s(12),
            delayed: false,
        },
        Arrival {
            patron: "+15551000000".to_owned(),
            body: "cx-i0000 a".to_owned(),
            at: s(14),
            delayed: true,
        },
    ];
    let faults = vec![kill(11, 13)];
    let text_verdicts = judge_in(&texts, |_| Some(s(10)), &arrivals, &faults);
    let (replies, parts) = replies();
    let reply_verdicts = judge_out(&replies, |_| Some(s(5)), &parts, &[], &faults);
    let whereabouts = BTreeMap::from([
        (
            "cx-i0001".to_owned(),
            Whereabouts {
                waiting: false,
                in_store: true,
                failed: false,
                unreached: false,
                store_rows: vec!["inbound: id=2 state=delivered".to_owned()],
                log_lines: vec![
                    r#"[life 2 11.5s] {"inbound":2,"message":"text sent to an operator"}"#
                        .to_owned(),
                ],
            },
        ),
        (
            "cx-o0001".to_owned(),
            Whereabouts {
                in_store: true,
                store_rows: vec!["outbound: id=2 state=sent".to_owned()],
                log_lines: vec![format!(
                    r#"[life 2 19.0s] {{"outbound":2,"part":2,"message":"{RESENT_UNSURE}: no status report"}}"#
                )],
                ..Whereabouts::default()
            },
        ),
        (
            "cx-o0002".to_owned(),
            Whereabouts {
                waiting: true,
                in_store: true,
                failed: false,
                unreached: false,
                store_rows: vec!["outbound: id=3 state=sending lease_until=later".to_owned()],
                log_lines: Vec::new(),
            },
        ),
    ]);
    let report = Report {
        seed: 7,
        store: StoreKind::Postgres,
        faults,
        texts: tally(&text_verdicts, &whereabouts),
        replies: tally(&reply_verdicts, &whereabouts),
        strays: Vec::new(),
        quiescence: Quiescence {
            complete: false,
            waited: s(20),
            ended_by: "2 still missing and nothing arrived for 20.0s".to_owned(),
        },
        elapsed: s(60),
        daemon_lives: 2,
        librarian_logins: 1,
        librarian_resends: 0,
        lost_answers: LostAnswers {
            reported: 2,
            resent: 1,
        },
    };
    assert_eq!(
        (report.replies.duplicated, report.replies.duplicated_resent),
        (1, 1)
    );
    assert_eq!(
        (report.texts.duplicated, report.texts.duplicated_resent),
        (1, 0)
    );
    assert_eq!(report.inconsistencies(1), Vec::<String>::new());
    expect![[r#"
        chaos run: seed 7 store postgres faults 1 elapsed 60.0s (daemon lives 2, librarian logins 1, replies resent after a refusal 0)
        faults: daemon-kill 1
        parts whose answer was lost: 2 shown sent by a status report, 1 sent again
        quiescence: incomplete after 20.0s (2 still missing and nothing arrived for 20.0s)
                  plan  sent arrived  lost  stuck refused unreached unsent duplicated  late altered
        texts        2     2       1     1      0       0         0      0          1     0       0
        replies      3     3       2     0      1       0         0      0          1     0       0
        texts duplicated: 0 after the daemon sent again a part whose answer was lost, 1 otherwise
        replies duplicated: 1 after the daemon sent again a part whose answer was lost, 0 otherwise

        DUPLICATED (2 times) text cx-i0000 (single, patron +15551000000) sent at 10.0s, arrived at 12.0s, 14.0s
          faults on its way: daemon-kill (down 0.0s) 11.0s..13.0s
          reached the librarian at 12.0s
          reached the librarian at 14.0s (delay-stamped)

        LOST text cx-i0001 (ucs2, patron +15551000001) sent at 10.0s
          faults on its way: daemon-kill (down 0.0s) 11.0s..13.0s
          store inbound: id=2 state=delivered
          log [life 2 11.5s] {"inbound":2,"message":"text sent to an operator"}

        DUPLICATED (2 times) reply cx-o0001 (multipart, patron +15552000001) sent at 5.0s, arrived at 13.0s
          faults on its way: daemon-kill (down 0.0s) 11.0s..13.0s
          ref 8: parts 2 of 2 sent (1@12.0s, 2@13.0s+20.0s)
          store outbound: id=2 state=sent
          log [life 2 19.0s] {"outbound":2,"part":2,"message":"sending again a part whose answer was lost: no status report"}

        STUCK reply cx-o0002 (ucs2-multipart, patron +15552000002) sent at 5.0s
          faults on its way: daemon-kill (down 0.0s) 11.0s..13.0s
          ref 9: parts 1 of 2 sent (1@14.0s)
          store outbound: id=3 state=sending lease_until=later
    "#]]
    .assert_eq(&report.to_string());
}
