//! The simulator through `SimHandle::connect_in_memory`, as other crates' tests use it:
//! unicode and long texts with a lost part, and a multipart send joined back together.

mod common;

use common::{Host, ANSWER};
use textgate_gsm::pdu::{Address, Pdu, SmscField, Tpdu};
use textgate_gsm::segment::{Segmenter, SegmenterConfig, SubmitOptions};
use textgate_gsm::udh::ReferenceWidth;
use textgate_modemsim::pdu::ReferenceBits;
use textgate_modemsim::{IncomingText, PartOrder, SimConfig, SimHandle};

#[tokio::test]
async fn unicode_text_with_a_lost_part_and_a_16_bit_reference() {
    let sim = SimHandle::new(SimConfig::instant());
    let mut host = Host::new(sim.connect_in_memory());
    host.command("ATE0;+CNMI=2,1,0,2,0").await;

    // 154 UTF-16 units of Cyrillic: UCS-2, three parts of at most 66 units. The emoji (a
    // surrogate pair) sits on units 131 and 132, across the end of part 2, so it must
    // start part 3 whole.
    let text = format!("{}x🙂{}", "тест ".repeat(26), "привет ".repeat(3));
    let report = sim
        .inject_text(&IncomingText {
            reference: Some(4660),
            reference_bits: ReferenceBits::Bits16,
            order: PartOrder::InOrder,
            drop_parts: vec![2],
            ..IncomingText::new("+79161234567", text.clone())
        })
        .expect("inject");
    assert_eq!(report.parts, 3);
    assert_eq!(report.delivered, vec![1, 3]);
    host.expect("+CMTI: \"SM\",1\r\n").await;
    host.expect("+CMTI: \"SM\",2\r\n").await;

    let listing = host.command("AT+CMGL=4").await;
    let pdus: Vec<&str> = listing
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with('+') && *l != "OK")
        .collect();
    let mut received = String::new();
    let mut sequences = Vec::new();
    for pdu in pdus {
        let Tpdu::Deliver(d) = Pdu::decode_hex(pdu, SmscField::Present)
            .expect("DELIVER")
            .tpdu
        else {
            panic!("expected a DELIVER");
        };
        let c = d
            .user_data
            .header
            .as_ref()
            .and_then(|h| h.concatenation())
            .expect("concatenated");
        assert_eq!(
            (c.reference, c.width, c.total),
            (4660, ReferenceWidth::Bits16, 3)
        );
        sequences.push(c.sequence);
        received.push_str(d.user_data.as_text().unwrap_or_default());
    }
    assert_eq!(sequences, vec![1, 3]);
    // What arrived is the text without its middle part, cut where the codec cuts it.
    let parts = Segmenter::new(SegmenterConfig {
        reference_width: ReferenceWidth::Bits16,
        ..SegmenterConfig::default()
    })
    .segment(&text, 4660)
    .expect("segment")
    .parts;
    let expected: String = [parts.first(), parts.get(2)]
        .into_iter()
        .flatten()
        .map(|p| p.text.as_str())
        .collect();
    assert_eq!(received, expected);
    assert!(parts.get(2).is_some_and(|p| p.text.starts_with('🙂')));
    assert!(received.contains('🙂'));
}

#[tokio::test]
async fn a_multipart_send_is_joined_back_into_one_message() {
    let sim = SimHandle::new(SimConfig::instant());
    let mut host = Host::new(sim.connect_in_memory());
    host.command("ATE0;+CMMS=2").await;

    let text =
        "Your reservation of 'The Left Hand of Darkness' is ready for pickup at the front desk. \
                It will be held for seven days; reply HELP for opening hours or STOP to opt out.";
    let recipient = Address::from_number("+15551234567").expect("address");
    let pdus = Segmenter::new(SegmenterConfig::default())
        .submit_pdus(text, 77, &recipient, &SubmitOptions::default())
        .expect("segment");
    assert_eq!(pdus.len(), 2);
    for pdu in &pdus {
        let length = pdu.tpdu_len().expect("length");
        let hex = textgate_gsm::pdu::to_hex(&pdu.encode(SmscField::Present).expect("encode"));
        let answer = host.send_pdu(length, &hex).await;
        assert!(answer.starts_with("\r\n+CMGS: "), "{answer:?}");
    }
    sim.wait_until(ANSWER, |m| m.sent().len() == 2)
        .await
        .expect("two parts sent");
    let messages = sim.sent_messages();
    assert_eq!(messages.len(), 1);
    let message = messages.first().expect("one message");
    assert_eq!(message.text, text);
    assert_eq!(message.recipient, "+15551234567");
    assert_eq!(message.references, vec![0, 1]);
    assert!(message.complete);
    assert!(sim.sent_parts().iter().all(|p| p.link_kept_open));
}
