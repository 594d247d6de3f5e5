//! The simulator's configuration: what a real modem would have from its hardware, its SIM
//! and its network (identity, PIN, storage size, service centre, timings).

use std::time::Duration;

use crate::personality::Personality;

/// Everything that is fixed when a simulated modem powers on.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub personality: Personality,
    /// The SIM's PIN; `None` means the SIM has PIN checking disabled.
    pub pin: Option<String>,
    /// The SIM's PUK, to unblock after three wrong PINs.
    pub puk: String,
    /// How many messages the SIM store holds (real SIMs: 10 to 50 or so).
    pub capacity: usize,
    /// How long `AT+CMGS` takes to answer (about 2.5 s on real GSM networks).
    pub send_latency: Duration,
    /// How long after a send its status report arrives, if one was requested.
    pub status_report_delay: Duration,
    /// How long the modem waits for `AT+CNMA` after `+CMT`/`+CDS` (with `AT+CSMS=1`) before
    /// it gives up, turns off direct routing and lets the network retry.
    pub ack_timeout: Duration,
    /// How long the network waits before retrying a message that was not acknowledged.
    pub network_retry_delay: Duration,
    /// The time between `RING`s of an incoming call.
    pub ring_interval: Duration,
    /// How long the link is down after `AT+CFUN=1,1` (a USB modem reboots and re-enumerates,
    /// so its device vanishes); `None` keeps the link up.
    pub reboot_outage: Option<Duration>,
    /// How often a personality with a periodic report (Huawei's `^RSSI`) sends it; `None`
    /// turns such reports off.
    pub periodic_report_interval: Option<Duration>,
    /// The service centre address on the SIM.
    pub smsc: String,
    /// `AT+CGSN`.
    pub imei: String,
    /// `AT+COPS?`.
    pub operator: String,
    /// `AT+CSQ` (0..=31, 99 unknown).
    pub signal: u8,
    /// Seed for the random parts (random send errors), so a run can be repeated.
    pub seed: u64,
    /// Which of the modem's ports the host has opened. Only matters to a personality that
    /// chooses the port unsolicited reports go to (Quectel's `AT+QURCCFG="urcport"`,
    /// SIMCom's `AT+CATR`).
    pub port: UsbPort,
    /// Where unsolicited reports go at power-on, for Quectel: it keeps the setting in
    /// non-volatile memory, so whatever software set it last decides. (SIMCom's
    /// `AT+CATR` is not saved: every power-up starts at all ports, whatever this says.)
    pub urc_port: UsbPort,
}

/// A port of a multi-port USB modem, by Quectel's names for them (EC25/EC21 AT Commands
/// Manual, `AT+QURCCFG`: "usbat", "usbmodem", "uart1").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UsbPort {
    /// The AT command port (interface 2 of an EC25: `/dev/ttyUSB2`).
    #[default]
    At,
    /// The modem (PPP data) port, which also takes AT commands (interface 3).
    Modem,
    /// The main UART, on modules soldered onto a board.
    Uart,
}

impl UsbPort {
    pub const ALL: [UsbPort; 3] = [UsbPort::At, UsbPort::Modem, UsbPort::Uart];

    pub fn name(self) -> &'static str {
        match self {
            UsbPort::At => "usbat",
            UsbPort::Modem => "usbmodem",
            UsbPort::Uart => "uart1",
        }
    }

    /// The port's number in SIMCom's `AT+CATR=<port>` (1 UART, 2 modem port, 3 the AT
    /// port; 0 is all ports and 4-7 are CMUX channels, which no host here is on).
    pub fn catr_number(self) -> u8 {
        match self {
            UsbPort::Uart => 1,
            UsbPort::Modem => 2,
            UsbPort::At => 3,
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            personality: Personality::Generic,
            pin: None,
            puk: "12345678".to_owned(),
            capacity: 30,
            send_latency: Duration::from_millis(2500),
            status_report_delay: Duration::from_secs(3),
            ack_timeout: Duration::from_secs(15),
            network_retry_delay: Duration::from_secs(30),
            ring_interval: Duration::from_secs(3),
            periodic_report_interval: Some(Duration::from_secs(10)),
            reboot_outage: Some(Duration::from_secs(3)),
            smsc: "+447700900001".to_owned(),
            imei: "490154203237518".to_owned(),
            operator: "textgate sim".to_owned(),
            signal: 21,
            seed: 0x7465_7874_6761_7465,
            port: UsbPort::At,
            urc_port: UsbPort::At,
        }
    }
}

impl SimConfig {
    /// A configuration for tests: no latency, no delays, no periodic reports and no link
    /// drop on reboot, so nothing waits on a clock and nothing unasked-for happens.
    pub fn instant() -> SimConfig {
        SimConfig {
            send_latency: Duration::ZERO,
            status_report_delay: Duration::ZERO,
            ring_interval: Duration::from_millis(50),
            periodic_report_interval: None,
            reboot_outage: None,
            ..SimConfig::default()
        }
    }
}
