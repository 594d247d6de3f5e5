//! TP-ST, the status of a status report (TS 23.040 §9.2.3.15), with what it means for the
//! message: delivered, the service centre still trying, or failed for good.

use serde::{Serialize, Serializer};

/// What a status means for the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusClass {
    /// 0x00..=0x1F: the transaction completed (delivered, or as good as).
    Delivered,
    /// 0x20..=0x3F: temporary error, the service centre is still trying.
    StillTrying,
    /// 0x40..=0x5F: permanent error, the service centre gave up.
    PermanentFailure,
    /// 0x60..=0x7F: temporary error, but the service centre makes no more attempts.
    TemporaryFailure,
}

/// A TP-ST value. Values 0x80..=0xFF are reserved; textgate classes them as permanent
/// failures, because nothing says the message will still arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Status(pub u8);

impl Status {
    pub fn code(self) -> u8 {
        self.0
    }

    pub fn class(self) -> StatusClass {
        match self.0 {
            0x00..=0x1F => StatusClass::Delivered,
            0x20..=0x3F => StatusClass::StillTrying,
            0x40..=0x5F => StatusClass::PermanentFailure,
            0x60..=0x7F => StatusClass::TemporaryFailure,
            _ => StatusClass::PermanentFailure,
        }
    }

    /// A readable meaning (TS 23.040 wording where the specification defines the value).
    pub fn meaning(self) -> &'static str {
        match self.0 {
            0x00 => "short message received by the SME",
            0x01 => "forwarded by the SC to the SME, delivery unconfirmed",
            0x02 => "short message replaced by the SC",
            0x20 | 0x60 => "congestion",
            0x21 | 0x61 => "SME busy",
            0x22 | 0x62 => "no response from SME",
            0x23 | 0x63 => "service rejected",
            0x24 | 0x44 | 0x64 => "quality of service not available",
            0x25 | 0x65 => "error in SME",
            0x40 => "remote procedure error",
            0x41 => "incompatible destination",
            0x42 => "connection rejected by SME",
            0x43 => "not obtainable",
            0x45 => "no interworking available",
            0x46 => "validity period expired",
            0x47 => "deleted by originating SME",
            0x48 => "deleted by SC administration",
            0x49 => "short message does not exist",
            0x10..=0x1F | 0x30..=0x3F | 0x50..=0x5F | 0x70..=0x7F => {
                "service centre specific value"
            }
            _ => "reserved value",
        }
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Status", 3)?;
        st.serialize_field("code", &self.0)?;
        st.serialize_field("class", &self.class())?;
        st.serialize_field("meaning", self.meaning())?;
        st.end()
    }
}
