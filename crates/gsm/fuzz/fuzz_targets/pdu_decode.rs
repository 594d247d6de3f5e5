//! Any octets, read as a PDU with and without the SMSC field, must decode or fail with an
//! error — never panic. What decodes must also encode without panicking, and a PDU that
//! re-encodes must decode to the same structure again.

#![no_main]

use libfuzzer_sys::fuzz_target;
use textgate_gsm::pdu::{Pdu, SmscField};

fuzz_target!(|data: &[u8]| {
    for smsc in [SmscField::Present, SmscField::Absent] {
        let Ok(pdu) = Pdu::decode(data, smsc) else {
            continue;
        };
        let Ok(bytes) = pdu.encode(smsc) else {
            continue;
        };
        let again = Pdu::decode(&bytes, smsc);
        assert!(again.is_ok(), "re-encoded PDU does not decode: {again:?}");
    }
});
