//! `command_status` (SMPP 3.4 §5.1.3): what a response says about its request, and whether
//! it is worth trying again. SMSCs use the reserved and vendor ranges too; an unknown value
//! is kept and counted as final unless it is in a range known to be temporary.

/// A `command_status` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommandStatus(pub u32);

/// What a sender does with a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// Accepted.
    Ok,
    /// The SMSC asks to slow down (`ESME_RTHROTTLED`): back off, then send again.
    Throttled,
    /// A temporary failure (queue full, system error …): send again later.
    Retry,
    /// The request can never succeed as it is (invalid destination, bad parameters …).
    Final,
}

impl CommandStatus {
    pub const OK: CommandStatus = CommandStatus(0x00);
    pub const INVALID_MESSAGE_LENGTH: CommandStatus = CommandStatus(0x01);
    pub const INVALID_COMMAND_LENGTH: CommandStatus = CommandStatus(0x02);
    pub const INVALID_COMMAND_ID: CommandStatus = CommandStatus(0x03);
    pub const INCORRECT_BIND_STATUS: CommandStatus = CommandStatus(0x04);
    pub const ALREADY_BOUND: CommandStatus = CommandStatus(0x05);
    pub const SYSTEM_ERROR: CommandStatus = CommandStatus(0x08);
    pub const INVALID_SOURCE_ADDRESS: CommandStatus = CommandStatus(0x0A);
    pub const INVALID_DESTINATION_ADDRESS: CommandStatus = CommandStatus(0x0B);
    pub const INVALID_MESSAGE_ID: CommandStatus = CommandStatus(0x0C);
    pub const BIND_FAILED: CommandStatus = CommandStatus(0x0D);
    pub const INVALID_PASSWORD: CommandStatus = CommandStatus(0x0E);
    pub const INVALID_SYSTEM_ID: CommandStatus = CommandStatus(0x0F);
    pub const MESSAGE_QUEUE_FULL: CommandStatus = CommandStatus(0x14);
    pub const INVALID_ESM_CLASS: CommandStatus = CommandStatus(0x43);
    pub const SUBMIT_FAILED: CommandStatus = CommandStatus(0x45);
    pub const THROTTLED: CommandStatus = CommandStatus(0x58);
    pub const INVALID_OPTIONAL_PARAMETER_STREAM: CommandStatus = CommandStatus(0xC0);
    pub const INVALID_PARAMETER_LENGTH: CommandStatus = CommandStatus(0xC2);
    pub const DELIVERY_FAILURE: CommandStatus = CommandStatus(0xFE);
    pub const UNKNOWN_ERROR: CommandStatus = CommandStatus(0xFF);

    /// The specification's name (`ESME_R…`) of a status it defines.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x00 => "ESME_ROK",
            0x01 => "ESME_RINVMSGLEN",
            0x02 => "ESME_RINVCMDLEN",
            0x03 => "ESME_RINVCMDID",
            0x04 => "ESME_RINVBNDSTS",
            0x05 => "ESME_RALYBND",
            0x06 => "ESME_RINVPRTFLG",
            0x07 => "ESME_RINVREGDLVFLG",
            0x08 => "ESME_RSYSERR",
            0x0A => "ESME_RINVSRCADR",
            0x0B => "ESME_RINVDSTADR",
            0x0C => "ESME_RINVMSGID",
            0x0D => "ESME_RBINDFAIL",
            0x0E => "ESME_RINVPASWD",
            0x0F => "ESME_RINVSYSID",
            0x11 => "ESME_RCANCELFAIL",
            0x13 => "ESME_RREPLACEFAIL",
            0x14 => "ESME_RMSGQFUL",
            0x15 => "ESME_RINVSERTYP",
            0x33 => "ESME_RINVNUMDESTS",
            0x34 => "ESME_RINVDLNAME",
            0x40 => "ESME_RINVDESTFLAG",
            0x42 => "ESME_RINVSUBREP",
            0x43 => "ESME_RINVESMCLASS",
            0x44 => "ESME_RCNTSUBDL",
            0x45 => "ESME_RSUBMITFAIL",
            0x48 => "ESME_RINVSRCTON",
            0x49 => "ESME_RINVSRCNPI",
            0x50 => "ESME_RINVDSTTON",
            0x51 => "ESME_RINVDSTNPI",
            0x53 => "ESME_RINVSYSTYP",
            0x54 => "ESME_RINVREPFLAG",
            0x55 => "ESME_RINVNUMMSGS",
            0x58 => "ESME_RTHROTTLED",
            0x61 => "ESME_RINVSCHED",
            0x62 => "ESME_RINVEXPIRY",
            0x63 => "ESME_RINVDFTMSGID",
            0x64 => "ESME_RX_T_APPN",
            0x65 => "ESME_RX_P_APPN",
            0x66 => "ESME_RX_R_APPN",
            0x67 => "ESME_RQUERYFAIL",
            0xC0 => "ESME_RINVOPTPARSTREAM",
            0xC1 => "ESME_ROPTPARNOTALLWD",
            0xC2 => "ESME_RINVPARLEN",
            0xC3 => "ESME_RMISSINGOPTPARAM",
            0xC4 => "ESME_RINVOPTPARAMVAL",
            0xFE => "ESME_RDELIVERYFAILURE",
            0xFF => "ESME_RUNKNOWNERR",
            _ => return None,
        })
    }

    /// Whether sending the same request again may succeed.
    ///
    /// Temporary by the specification's own words: `ESME_RTHROTTLED` ("exceeded allowed
    /// message limits"), `ESME_RMSGQFUL` (message queue full), `ESME_RSYSERR` (system
    /// error), `ESME_RX_T_APPN` (temporary application error) and `ESME_RUNKNOWNERR`; SMSC
    /// vendors also use `ESME_RSUBMITFAIL` and `ESME_RDELIVERYFAILURE` for passing
    /// failures (Kannel and Jasmin retry both). Everything else, the vendor range
    /// (0x400–0x4FF) included, is final: a destination the SMSC refuses once it refuses
    /// again.
    pub fn class(self) -> StatusClass {
        match self.0 {
            0x00 => StatusClass::Ok,
            0x58 => StatusClass::Throttled,
            0x08 | 0x14 | 0x45 | 0x64 | 0xFE | 0xFF => StatusClass::Retry,
            _ => StatusClass::Final,
        }
    }
}

impl std::fmt::Display for CommandStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} (0x{:08X})", self.0),
            None => write!(f, "0x{:08X}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_named_and_classed() {
        assert_eq!(
            CommandStatus::THROTTLED.to_string(),
            "ESME_RTHROTTLED (0x00000058)"
        );
        assert_eq!(CommandStatus(0x0400).to_string(), "0x00000400");
        assert_eq!(CommandStatus::OK.class(), StatusClass::Ok);
        assert_eq!(CommandStatus::THROTTLED.class(), StatusClass::Throttled);
        assert_eq!(
            CommandStatus::MESSAGE_QUEUE_FULL.class(),
            StatusClass::Retry
        );
        assert_eq!(CommandStatus::SYSTEM_ERROR.class(), StatusClass::Retry);
        assert_eq!(
            CommandStatus::INVALID_DESTINATION_ADDRESS.class(),
            StatusClass::Final
        );
        assert_eq!(CommandStatus(0x0400).class(), StatusClass::Final);
    }
}
