//! Any octets as one PDU: decoding never panics, and what decodes encodes and decodes to
//! the same PDU. The length field is set to the input's length half the time, so most
//! inputs get past the header to the body decoders.
#![no_main]

use libfuzzer_sys::fuzz_target;
use textgate_smpp::{Pdu, Receipt};

fuzz_target!(|data: &[u8]| {
    let mut frame = data.to_vec();
    if frame.len() >= 16 && frame[0] & 1 == 0 {
        let length = frame.len() as u32;
        frame[..4].copy_from_slice(&length.to_be_bytes());
    }
    if let Ok(pdu) = Pdu::decode(&frame) {
        let again = Pdu::decode(&pdu.encode()).expect("an encoded PDU decodes");
        assert_eq!(again, pdu);
        if let textgate_smpp::Body::DeliverSm(sm) = &pdu.body {
            if let Some(receipt) = Receipt::from_deliver_sm(sm) {
                let _ = receipt.is_for(&receipt.message_id);
            }
        }
    }
});
