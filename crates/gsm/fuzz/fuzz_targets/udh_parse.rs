//! Any octets as a user data header: parse or fail, never panic; what parses is written
//! back byte for byte.

#![no_main]

use libfuzzer_sys::fuzz_target;
use textgate_gsm::udh::UserDataHeader;

fuzz_target!(|data: &[u8]| {
    if let Ok((header, used)) = UserDataHeader::parse(data) {
        let bytes = header.to_bytes().ok();
        assert_eq!(bytes.as_deref(), data.get(..used));
    }
});
