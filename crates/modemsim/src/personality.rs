//! Personalities: the identity strings and the few visible quirks of the modem families
//! textgate meets in the field, as small data tables. The AT behaviour is shared; only what
//! a host could use to tell the families apart (or must cope with) differs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which modem family the simulator pretends to be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Personality {
    #[default]
    Generic,
    Huawei,
    Quectel,
    Simcom,
    Sierra,
    Android,
}

/// The data that makes up a personality.
#[derive(Clone, Copy, Debug)]
pub struct Profile {
    /// `AT+CGMI`.
    pub manufacturer: &'static str,
    /// `AT+CGMM`.
    pub model: &'static str,
    /// `AT+CGMR`.
    pub revision: &'static str,
    /// `ATI`: the information lines before `OK`; `{imei}` is replaced by the IMEI.
    pub identification: &'static [&'static str],
    /// Sent when an incoming message finds the SIM full (Huawei: `^SMMEMFULL`), if any.
    pub memory_full_urc: Option<&'static str>,
    /// SIMCom announces MMS notifications with extra fields on `+CMTI`.
    pub mms_cmti_fields: Option<&'static str>,
    /// `AT+CMEE` after power-on.
    pub default_cmee: u8,
    /// Android phones limit an app to this many sends per 60 s (AOSP SmsUsageMonitor); the
    /// send past the limit fails with `+CMS ERROR: 500`.
    pub sends_per_minute: Option<usize>,
    /// A periodic unsolicited report the modem sends until told to stop (Huawei's `^RSSI`,
    /// silenced by `AT^CURC=0`); `{signal}` is replaced by the signal quality.
    pub periodic_report: Option<&'static str>,
    /// Whether `AT+CMMS` exists (phones' AT ports lack it).
    pub more_messages_command: bool,
    /// Whether status reports can be routed to the host (`AT+CNMI` `<ds>` other than 0).
    pub status_report_routing: bool,
    /// The `<index>` of the SIM's first message slot. 27.005 leaves the range to the
    /// manufacturer: most modems count from 1, Huawei's from 0 (Gammu 1.42 marks every
    /// Huawei E-series model `F_SMS_LOCATION_0` in libgammu/gsmphones.c, and converts its
    /// locations by one in libgammu/phone/at/at-sms.c, `ATGEN_GetSMSLocation`).
    pub first_storage_index: usize,
    /// Whether the Huawei `AT^PORTSEL` command exists (which port gets unsolicited reports).
    pub port_select: bool,
    /// What `AT+CBC` says about the power supply.
    pub battery: Battery,
    /// Which ports get unsolicited reports (`+CMTI`, `RING`...), and the command that
    /// chooses them, if any.
    pub urc_routing: UrcRouting,
}

/// How a family chooses the port that gets unsolicited reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrcRouting {
    /// Every port the host may be on hears them; no command changes that.
    AllPorts,
    /// Quectel's `AT+QURCCFG="urcport"`: one port only, "usbat" from the factory, kept in
    /// non-volatile memory, so a host on the modem port hears of no text (EC25/EC21 AT
    /// Commands Manual, `AT+QURCCFG`; seen in the field in zabsalahid/serialport-gsm
    /// issue #12).
    QuectelUrcPort,
    /// SIMCom's `AT+CATR=<port>`: all ports (0) or one, back to all ports at every
    /// power-up (SIMCom A76XX Series AT Command Manual V1.09, §10.2.9 `AT+CATR`,
    /// "Parameter Saving Mode: NO_SAVE").
    SimcomCatr,
}

/// The power supply as `AT+CBC` reports it (3GPP TS 27.007 §8.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Battery {
    /// Powered by the host (a USB stick, an M.2 card): `+CBC: 2,0`, `<bcs>` 2 being
    /// "no battery connected" in 27.007.
    External,
    /// A phone on its battery: `+CBC: 0,<bcl>` with the charge in percent.
    Cell { percent: u8 },
    /// SIMCom's form: `+CBC: <bcs>,<bcl>,<voltage>`, where `<bcs>` 0 means "not charging"
    /// and the third field is the supply voltage in mV (SIM800 Series AT Command Manual
    /// V1.09, §3.2.52 AT+CBC).
    WithVoltage { percent: u8, millivolts: u16 },
}

impl Personality {
    pub const ALL: [Personality; 6] = [
        Personality::Generic,
        Personality::Huawei,
        Personality::Quectel,
        Personality::Simcom,
        Personality::Sierra,
        Personality::Android,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Personality::Generic => "generic",
            Personality::Huawei => "huawei",
            Personality::Quectel => "quectel",
            Personality::Simcom => "simcom",
            Personality::Sierra => "sierra",
            Personality::Android => "android",
        }
    }

    pub fn profile(self) -> Profile {
        match self {
            Personality::Generic => Profile {
                manufacturer: "textgate",
                model: "Simulated GSM modem",
                revision: "modemsim 1.0",
                identification: &["textgate Simulated GSM modem", "Revision: modemsim 1.0"],
                memory_full_urc: None,
                mms_cmti_fields: None,
                default_cmee: 0,
                sends_per_minute: None,
                periodic_report: None,
                more_messages_command: true,
                status_report_routing: true,
                first_storage_index: 1,
                port_select: false,
                battery: Battery::External,
                urc_routing: UrcRouting::AllPorts,
            },
            Personality::Huawei => Profile {
                manufacturer: "huawei",
                model: "E3372",
                revision: "22.200.15.00.00",
                identification: &[
                    "Manufacturer: huawei",
                    "Model: E3372",
                    "Revision: 22.200.15.00.00",
                    "IMEI: {imei}",
                    "+GCAP: +CGSM,+DS,+ES",
                ],
                memory_full_urc: Some("^SMMEMFULL: \"SM\""),
                mms_cmti_fields: None,
                default_cmee: 0,
                sends_per_minute: None,
                periodic_report: Some("^RSSI: {signal}"),
                more_messages_command: true,
                status_report_routing: true,
                first_storage_index: 0,
                // Gammu 1.42 sends `AT^PORTSEL=1` at connect to every model it marks
                // `F_HUAWEI_INIT` (libgammu/phone/at/atgen.c, `ATGEN_PostConnect`) and
                // gives up on `ERROR`; ModemManager's Huawei plugin sends `^PORTSEL=0`
                // (src/plugins/huawei/mm-broadband-modem-huawei.c,
                // `unsolicited_enable_sequence`).
                port_select: true,
                battery: Battery::External,
                urc_routing: UrcRouting::AllPorts,
            },
            Personality::Quectel => Profile {
                manufacturer: "Quectel",
                model: "EC25",
                revision: "EC25EFAR06A06M4G",
                identification: &["Quectel", "EC25", "Revision: EC25EFAR06A06M4G"],
                memory_full_urc: None,
                mms_cmti_fields: None,
                default_cmee: 1,
                sends_per_minute: None,
                periodic_report: None,
                more_messages_command: true,
                status_report_routing: true,
                first_storage_index: 1,
                port_select: false,
                battery: Battery::External,
                urc_routing: UrcRouting::QuectelUrcPort,
            },
            Personality::Simcom => Profile {
                manufacturer: "SIMCOM_Ltd",
                model: "SIMCOM_SIM800L",
                revision: "Revision:1418B04SIM800L24",
                identification: &["SIM800 R14.18"],
                memory_full_urc: None,
                mms_cmti_fields: Some("\"MMS PUSH\",2,1"),
                default_cmee: 0,
                sends_per_minute: None,
                periodic_report: None,
                more_messages_command: true,
                status_report_routing: true,
                first_storage_index: 1,
                port_select: false,
                battery: Battery::WithVoltage {
                    percent: 93,
                    millivolts: 4120,
                },
                // `AT+CATR` exists on SIMCom's multi-port USB modules (SIM7600, A76xx),
                // not on the SIM800 series this personality names itself after, which has
                // one UART and no such command. The personality answers it anyway, so one
                // SIMCom stands for both: a host that never sends it sees a SIM800.
                urc_routing: UrcRouting::SimcomCatr,
            },
            Personality::Sierra => Profile {
                manufacturer: "Sierra Wireless, Incorporated",
                model: "MC7455",
                revision: "SWI9X30C_02.24.05.06",
                identification: &[
                    "Manufacturer: Sierra Wireless, Incorporated",
                    "Model: MC7455",
                    "Revision: SWI9X30C_02.24.05.06",
                    "IMEI: {imei}",
                    "+GCAP: +CGSM",
                ],
                memory_full_urc: None,
                mms_cmti_fields: None,
                default_cmee: 0,
                sends_per_minute: None,
                periodic_report: None,
                more_messages_command: true,
                status_report_routing: true,
                first_storage_index: 1,
                port_select: false,
                battery: Battery::External,
                urc_routing: UrcRouting::AllPorts,
            },
            Personality::Android => Profile {
                manufacturer: "samsung",
                model: "SM-A505FN",
                revision: "A505FNXXU5BTC2",
                identification: &["SAMSUNG SM-A505FN"],
                memory_full_urc: None,
                mms_cmti_fields: None,
                default_cmee: 1,
                sends_per_minute: Some(30),
                periodic_report: None,
                more_messages_command: false,
                status_report_routing: false,
                first_storage_index: 1,
                port_select: false,
                battery: Battery::Cell { percent: 81 },
                urc_routing: UrcRouting::AllPorts,
            },
        }
    }
}

impl fmt::Display for Personality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A personality name that is not one of [`Personality::ALL`].
#[derive(Debug, thiserror::Error)]
#[error("unknown personality {0:?}: expected generic, huawei, quectel, simcom, sierra or android")]
pub struct UnknownPersonality(pub String);

impl FromStr for Personality {
    type Err = UnknownPersonality;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Personality::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownPersonality(s.to_owned()))
    }
}
