//! Quirk profiles: what differs between modem families, as small data tables the one AT
//! driver reads. Chosen by configuration or detected from `AT+CGMI`/`AT+CGMM`.
//!
//! Things every modem gets regardless of profile, so they need no table entry: doubled
//! echo and line noise are tolerated by the framer; a call reject command that fails is
//! retried with the other one (`AT+CHUP` then `ATH`); extra init commands that fail are
//! logged and skipped.

use textgate_at::command::NewMessageIndication;

/// How to reject an incoming voice call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallReject {
    /// `AT+CHUP` (3GPP TS 27.007).
    HangUp,
    /// `ATH`, for AT ports without `+CHUP`.
    LegacyHangUp,
}

/// Whether `AT+CMMS=2` (keep the relay link open between parts) is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoreMessagesSupport {
    Use,
    /// Firmware that rejects or mishandles it.
    Avoid,
}

/// One modem family's differences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuirkProfile {
    pub name: &'static str,
    /// `AT+CNMI` settings: how new messages and status reports are announced.
    pub indication: NewMessageIndication,
    pub call_reject: CallReject,
    pub more_messages: MoreMessagesSupport,
    /// Preferred message storage for `AT+CPMS` (all three memories).
    pub storage: &'static str,
    /// Extra commands sent at the end of start-up, best effort.
    pub init_extras: &'static [&'static str],
}

pub const GENERIC: QuirkProfile = QuirkProfile {
    name: "generic",
    indication: NewMessageIndication::STORE_AND_NOTIFY,
    call_reject: CallReject::HangUp,
    more_messages: MoreMessagesSupport::Use,
    storage: "SM",
    init_extras: &[],
};

/// Huawei USB sticks (E173, E3372 in stick mode, ...): periodic `^RSSI`/`^MODE`/`^BOOT`
/// reports flood the port unless `AT^CURC=0` turns them off (Gammu 1.42 sends it at
/// connect, libgammu/phone/at/atgen.c `ATGEN_PostConnect`; ModemManager's Huawei plugin
/// too, src/plugins/huawei/mm-plugin-huawei.c); storage-full is announced with
/// `^SMMEMFULL` (handled for every profile).
///
/// Differences that need no entry here, written down so nobody adds one:
/// - Message slots are numbered from 0 (`+CMTI: "SM",0`; Gammu marks every Huawei
///   E-series model `F_SMS_LOCATION_0` in libgammu/gsmphones.c). The driver only ever
///   uses the indices the modem itself reported in `+CMTI`/`+CMGL`, so it never assumes
///   a first index.
/// - `AT^PORTSEL` picks which port gets unsolicited reports (Gammu sends `^PORTSEL=1`,
///   ModemManager `^PORTSEL=0`, src/plugins/huawei/mm-broadband-modem-huawei.c). The
///   driver leaves it as it is and is configured with the port that gets them (the PCUI
///   port).
pub const HUAWEI: QuirkProfile = QuirkProfile {
    name: "huawei",
    init_extras: &["AT^CURC=0"],
    ..GENERIC
};

/// Quectel modules (EC25, EG25, BG96, ...): unsolicited reports (`+CMTI`, `RING`) go to
/// one port only, chosen with `AT+QURCCFG="urcport"` and kept across restarts ("usbat",
/// the AT port, from the factory; EC25/EC21 AT Commands Manual, `AT+QURCCFG`). Software
/// that used the modem before may have moved them to the modem port, and a host then
/// hears of no text (zabsalahid/serialport-gsm issue #12). textgate runs on the AT port
/// (interface 2, `…-if02-port0` under /dev/serial/by-id) and points the reports back at it
/// at start; a host on the modem port still collects texts at each storage check.
pub const QUECTEL: QuirkProfile = QuirkProfile {
    name: "quectel",
    init_extras: &["AT+QURCCFG=\"urcport\",\"usbat\""],
    ..GENERIC
};

/// SIMCom modules (SIM800, SIM7600, A76xx, ...): report MMS notifications as
/// `+CMTI: "SM",1,"MMS PUSH",2,1`, which the framer reads for every profile.
///
/// Differences that need no entry here:
/// - On the USB modules the port that gets unsolicited reports is chosen with
///   `AT+CATR=<port>` (0 all ports, 1 UART, 2 modem, 3 the AT port, 4-7 CMUX channels),
///   and the choice is not saved: every power-up starts at 0, all ports (SIMCom A76XX
///   Series AT Command Manual V1.09, §10.2.9 `AT+CATR`, "Parameter Saving Mode:
///   NO_SAVE", example `+CATR: 0`). Unlike Quectel's `urcport`, software that used the
///   modem before cannot leave texts unannounced past a restart, so textgate does not
///   send it (the simulator's simcom personality models this; see
///   tests/against_simulator.rs). SIM800-series modules have a single UART and no such
///   command.
/// - `AT+CNMI` defaults to `0,0,0,0,0` (store, announce nothing) like every 27.005
///   modem; the driver sets it at start for every profile.
pub const SIMCOM: QuirkProfile = QuirkProfile {
    name: "simcom",
    ..GENERIC
};

/// Sierra Wireless modules (MC73xx, MC74xx, EM75xx). No difference in the SMS commands
/// from the generic table is known to us; the profile exists so configuration can name it
/// and a difference found in the field lands here.
///
/// What differs is the USB side: which serial ports exist depends on the composition set
/// with `AT!USBCOMP` (needs `AT!ENTERCND` first). The factory composition of the
/// MC7455/EM7455 is diag, NMEA, modem and two network interfaces (bitmask `0000050D`,
/// `AT!USBCOMP?`), so the only AT port is the modem port, and an MBIM-only composition (`0000100D`) has no AT port at all;
/// ModemManager then drives the modem over MBIM/QMI and textgate cannot share it. The
/// compositions are from Sierra's AirPrime EM/MC74xx AT Command Reference (`!USBCOMP`);
/// docs/operations.md says which port to configure.
pub const SIERRA: QuirkProfile = QuirkProfile {
    name: "sierra",
    ..GENERIC
};

/// An Android phone exposing an AT port: a reduced command set; no status report routing,
/// no `+CMMS`, calls hung up with `ATH`.
pub const ANDROID: QuirkProfile = QuirkProfile {
    name: "android",
    indication: NewMessageIndication {
        mode: 2,
        mt: 1,
        bm: 0,
        ds: 0,
        bfr: 0,
    },
    call_reject: CallReject::LegacyHangUp,
    more_messages: MoreMessagesSupport::Avoid,
    storage: "SM",
    init_extras: &[],
};

pub const ALL: [&QuirkProfile; 6] = [&GENERIC, &HUAWEI, &QUECTEL, &SIMCOM, &SIERRA, &ANDROID];

/// The profile with this name (as written in the configuration).
pub fn by_name(name: &str) -> Option<&'static QuirkProfile> {
    ALL.into_iter()
        .find(|profile| profile.name.eq_ignore_ascii_case(name))
}

/// Picks a profile from what `AT+CGMI` and `AT+CGMM` answered.
pub fn detect(manufacturer: Option<&str>, model: Option<&str>) -> &'static QuirkProfile {
    let text =
        format!("{} {}", manufacturer.unwrap_or(""), model.unwrap_or("")).to_ascii_lowercase();
    let has = |word: &str| text.contains(word);
    if has("huawei") {
        &HUAWEI
    } else if has("quectel") {
        &QUECTEL
    } else if has("simcom") || has("sim7") || has("sim8") {
        &SIMCOM
    } else if has("sierra") {
        &SIERRA
    } else if has("android") || has("samsung") || has("google") || has("xiaomi") {
        &ANDROID
    } else {
        &GENERIC
    }
}

/// Which profile to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileChoice {
    /// Detect from the manufacturer and model.
    Detect,
    Fixed(&'static QuirkProfile),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_from_identity() {
        let cases = [
            (Some("huawei"), Some("E173")),
            (Some("Quectel"), Some("EC25")),
            (Some("SIMCOM INCORPORATED"), Some("SIMCOM_SIM7600E-H")),
            (Some("Sierra Wireless, Incorporated"), Some("MC7455")),
            (Some("samsung"), Some("SM-G960F")),
            (Some("Telit"), Some("LE910")),
            (None, None),
        ];
        let names: Vec<&str> = cases.iter().map(|(m, n)| detect(*m, *n).name).collect();
        assert_eq!(
            names,
            ["huawei", "quectel", "simcom", "sierra", "android", "generic", "generic"]
        );
        assert_eq!(by_name("Quectel").map(|p| p.name), Some("quectel"));
        assert_eq!(by_name("nokia"), None);
    }
}
