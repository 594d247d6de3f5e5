//! `textgate pdu` as a user runs it: the built binary on the fact-sheet vectors and on bad
//! input, checking what it prints and its exit status (2 for bad input).

use std::process::{Command, Output};

use textgate_gsm::pdu::{Pdu, SmscField, Tpdu};
use textgate_gsm::udh::{Concatenation, ReferenceWidth};

fn textgate(args: &[&str]) -> Output {
    match Command::new(env!("CARGO_BIN_EXE_textgate"))
        .args(args)
        .output()
    {
        Ok(output) => output,
        Err(e) => panic!("cannot run textgate: {e}"),
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "stderr: {}", stderr(output));
    match serde_json::from_slice(&output.stdout) {
        Ok(v) => v,
        Err(e) => panic!("not JSON ({e}): {}", stdout(output)),
    }
}

/// Runs a command that must fail as bad input and returns its stderr.
fn bad_input(args: &[&str]) -> String {
    let output = textgate(args);
    assert_eq!(output.status.code(), Some(2), "stdout: {}", stdout(&output));
    assert!(output.stdout.is_empty(), "stdout: {}", stdout(&output));
    stderr(&output)
}

#[test]
fn decodes_a_deliver() {
    let v = json(&textgate(&[
        "pdu",
        "decode",
        "06917228195339040B917228214365F700003130805120618005D4F29C2E03",
    ]));
    assert_eq!(v["type"], "deliver");
    assert_eq!(v["smsc"]["number"], "+2782913593");
    assert_eq!(v["sender"]["number"], "+27821234567");
    assert_eq!(v["sender"]["type_of_number"], "international");
    assert_eq!(v["service_centre_timestamp"], "2013-03-08T15:02:16+02:00");
    assert_eq!(v["protocol_identifier"], 0);
    assert_eq!(v["data_coding"]["alphabet"], "gsm7");
    assert_eq!(v["user_data"]["text"], "Test2");
}

#[test]
fn decodes_lower_case_hex_with_spaces() {
    let v = json(&textgate(&[
        "pdu",
        "decode",
        "07919730071111f1 0414d04937bd2c7797e9d3e614 00 08 11309291024061 08 0442043504410442",
    ]));
    assert_eq!(v["sender"]["number"], "InternetSMS");
    assert_eq!(v["sender"]["type_of_number"], "alphanumeric");
    assert_eq!(v["data_coding"]["alphabet"], "ucs2");
    assert_eq!(v["user_data"]["text"], "тест");
}

#[test]
fn decodes_a_status_report() {
    let v = json(&textgate(&[
        "pdu",
        "decode",
        "0006D60B911326880736F4111011719551401110117195714000",
    ]));
    assert_eq!(v["type"], "status_report");
    assert_eq!(v["message_reference"], 214);
    assert_eq!(v["recipient"]["number"], "+31628870634");
    assert_eq!(v["status"]["code"], 0);
    assert_eq!(v["status"]["class"], "delivered");
    assert_eq!(v["status"]["meaning"], "short message received by the SME");
}

#[test]
fn decodes_without_smsc_field() {
    let v = json(&textgate(&[
        "pdu",
        "decode",
        "--no-smsc",
        "01000B917228001011F100000CC8329BFD065DDF72363904",
    ]));
    assert_eq!(v["type"], "submit");
    assert_eq!(v["smsc"], serde_json::Value::Null);
    assert_eq!(v["recipient"]["number"], "+27820001111");
    assert_eq!(v["user_data"]["text"], "Hello World!");
}

#[test]
fn decodes_8bit_data_as_hex_with_its_header() {
    // An SMS-DELIVER with 8-bit data to port 2948 (WAP push): UDH 06 05 04 0B84 23F0.
    let v = json(&textgate(&[
        "pdu",
        "decode",
        "00440B917228214365F7000431308051206180090605040B8423F0CAFE",
    ]));
    assert_eq!(v["data_coding"]["alphabet"], "eight_bit");
    assert_eq!(v["user_data"]["data"], "CAFE");
    assert_eq!(v["user_data"]["header"][0]["type"], "ports16");
    assert_eq!(v["user_data"]["header"][0]["destination"], 2948);
}

#[test]
fn encodes_vector_4() {
    let output = textgate(&["pdu", "encode", "--to", "+27820001111", "Hello World!"]);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "24 0001000B917228001011F100000CC8329BFD065DDF72363904\n"
    );
}

#[test]
fn encodes_with_smsc_and_status_report() {
    // A single part has no concatenation element, so --reference changes nothing.
    let output = textgate(&[
        "pdu",
        "encode",
        "--to",
        "+123456789",
        "--smsc",
        "+44000000000",
        "--status-report",
        "--reference",
        "7",
        "世界您好！",
    ]);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "22 07914400000000F02100099121436587F900080A4E16754C60A8597DFF01\n"
    );
}

/// Decodes the `<tpdu-length> <HEX>` lines of `pdu encode` and checks each length.
fn parts(output: &Output) -> Vec<(Concatenation, String)> {
    assert!(output.status.success(), "stderr: {}", stderr(output));
    stdout(output)
        .lines()
        .map(|line| {
            let Some((length, hex)) = line.split_once(' ') else {
                panic!("not '<length> <hex>': {line}");
            };
            let pdu =
                Pdu::decode_hex(hex, SmscField::Present).unwrap_or_else(|e| panic!("{line}: {e}"));
            // No --smsc: the SMSC field is the single octet 00.
            assert_eq!(
                length.parse::<usize>().ok(),
                Some(hex.len() / 2 - 1),
                "{line}"
            );
            let Tpdu::Submit(submit) = pdu.tpdu else {
                panic!("not a SUBMIT: {line}");
            };
            let concatenation = submit
                .user_data
                .header
                .as_ref()
                .and_then(|h| h.concatenation())
                .unwrap_or_else(|| panic!("no concatenation element: {line}"));
            let text = submit.user_data.as_text().unwrap_or_default().to_owned();
            (concatenation, text)
        })
        .collect()
}

#[test]
fn encodes_a_multipart_text() {
    let text = "The library opens at nine. ".repeat(8);
    let parts = parts(&textgate(&[
        "pdu",
        "encode",
        "--to",
        "+15556661234",
        "--reference",
        "7",
        &text,
    ]));
    assert_eq!(parts.len(), 2);
    for (i, (concatenation, _)) in parts.iter().enumerate() {
        assert_eq!(concatenation.reference, 7);
        assert_eq!(concatenation.width, ReferenceWidth::Bits8);
        assert_eq!(concatenation.total, 2);
        assert_eq!(usize::from(concatenation.sequence), i + 1);
    }
    let joined: String = parts.into_iter().map(|(_, t)| t).collect();
    assert_eq!(joined, text);
}

#[test]
fn a_reference_above_255_uses_16_bit_concatenation() {
    let text = "Bücher sind zurück! 📚 ".repeat(4);
    let parts = parts(&textgate(&[
        "pdu",
        "encode",
        "--to",
        "5551234",
        "--reference",
        "300",
        &text,
    ]));
    assert_eq!(parts.len(), 2);
    assert!(parts
        .iter()
        .all(|(c, _)| c.reference == 300 && c.width == ReferenceWidth::Bits16));
    let joined: String = parts.into_iter().map(|(_, t)| t).collect();
    assert_eq!(joined, text);
}

#[test]
fn bad_inputs_exit_with_status_2() {
    let err = bad_input(&["pdu", "decode", "0011zz"]);
    assert!(err.starts_with("textgate: "), "{err}");
    assert!(
        err.contains("'z' at position 4 is not a hex digit"),
        "{err}"
    );

    let err = bad_input(&["pdu", "decode", "06917228195339040B9172"]);
    assert!(err.contains("PDU too short: originator address"), "{err}");

    let err = bad_input(&["pdu", "decode", "07"]);
    assert!(err.contains("PDU too short: SMSC address"), "{err}");

    let err = bad_input(&["pdu", "encode", "--to", "+12ab", "hi"]);
    assert!(err.contains("invalid address"), "{err}");

    bad_input(&["pdu", "encode", "hi"]);
    bad_input(&["pdu", "decode"]);
}
