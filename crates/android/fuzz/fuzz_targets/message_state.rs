//! Any octets as the phone's answer to a send or a state look-up: parsing never panics,
//! and the error text of any body is read without panicking either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use textgate_android::{error_message, MessageState};

fuzz_target!(|data: &[u8]| {
    let _ = MessageState::parse(data);
    let _ = error_message(data);
});
