//! Any octets as a connection's stream, read in chunks whose sizes come from the input:
//! the framer and decoder never panic, and the framer never hands out a frame whose length
//! field disagrees with its size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use textgate_smpp::{Framer, Pdu};

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut framer = Framer::new(4096);
    for piece in stream.chunks(chunk) {
        framer.push(piece);
        loop {
            match framer.next_frame() {
                Ok(Some(frame)) => {
                    let length = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
                    assert_eq!(length as usize, frame.len());
                    let _ = Pdu::decode(&frame);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
