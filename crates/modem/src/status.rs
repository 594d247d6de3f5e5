//! What a modem says about itself, and how `textgate modem probe` prints it.

use std::fmt;

use textgate_at::response::{Registration, SignalQuality, SimState, StorageUsage};

/// The answer of the status query. Every field is optional: a modem that refuses one
/// question still answers the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModemStatus {
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub revision: Option<String>,
    pub imei: Option<String>,
    pub sim: Option<SimState>,
    pub signal: Option<SignalQuality>,
    pub registration: Option<Registration>,
    pub operator: Option<String>,
    pub smsc: Option<String>,
    /// Usage of the storage where received messages land.
    pub storage: Option<StorageUsage>,
    /// The quirk profile in use (or the one detection would choose).
    pub profile: Option<&'static str>,
}

fn or_unknown(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("unknown")
}

/// A reading of the signal strength for people (thresholds as phones draw their bars).
fn signal_words(dbm: i32) -> &'static str {
    match dbm {
        d if d >= -73 => "excellent",
        d if d >= -83 => "good",
        d if d >= -93 => "fair",
        d if d >= -105 => "poor",
        _ => "very poor",
    }
}

impl fmt::Display for ModemStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Manufacturer:  {}", or_unknown(&self.manufacturer))?;
        writeln!(f, "Model:         {}", or_unknown(&self.model))?;
        writeln!(f, "Firmware:      {}", or_unknown(&self.revision))?;
        writeln!(f, "IMEI:          {}", or_unknown(&self.imei))?;
        match &self.sim {
            Some(sim) => writeln!(f, "SIM:           {sim}")?,
            None => writeln!(f, "SIM:           did not answer")?,
        }
        match self
            .signal
            .as_ref()
            .and_then(|s| s.dbm().map(|dbm| (s, dbm)))
        {
            Some((signal, dbm)) => writeln!(
                f,
                "Signal:        {dbm} dBm, {} (CSQ {})",
                signal_words(dbm),
                signal.rssi.unwrap_or(99)
            )?,
            None if self.signal.is_some() => writeln!(f, "Signal:        not detectable")?,
            None => writeln!(f, "Signal:        unknown")?,
        }
        match &self.registration {
            Some(registration) => writeln!(f, "Network:       {}", registration.status)?,
            None => writeln!(f, "Network:       unknown")?,
        }
        writeln!(
            f,
            "Operator:      {}",
            self.operator.as_deref().unwrap_or("none")
        )?;
        match &self.smsc {
            Some(smsc) => writeln!(f, "SMS centre:    {smsc}")?,
            None => writeln!(
                f,
                "SMS centre:    not set (sending will fail until it is configured)"
            )?,
        }
        match &self.storage {
            Some(storage) => writeln!(
                f,
                "SMS storage:   {} of {} used{}{}",
                storage.used,
                storage.total,
                storage
                    .storage
                    .as_deref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default(),
                if storage.is_full() {
                    ", FULL: new texts cannot arrive"
                } else {
                    ""
                }
            )?,
            None => writeln!(f, "SMS storage:   unknown")?,
        }
        write!(f, "Quirk profile: {}", self.profile.unwrap_or("unknown"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;
    use textgate_at::response::RegistrationStatus;

    #[test]
    fn reads_in_plain_words() {
        let status = ModemStatus {
            manufacturer: Some("Quectel".into()),
            model: Some("EC25".into()),
            revision: Some("EC25EFAR06A03M4G".into()),
            imei: Some("867698041234567".into()),
            sim: Some(SimState::Ready),
            signal: Some(SignalQuality {
                rssi: Some(17),
                bit_error_rate: None,
            }),
            registration: Some(Registration {
                status: RegistrationStatus::Roaming,
                location_area: None,
                cell: None,
            }),
            operator: Some("Vodafone UK".into()),
            smsc: None,
            storage: Some(StorageUsage {
                storage: Some("SM".into()),
                used: 10,
                total: 10,
            }),
            profile: Some("quectel"),
        };
        expect![[r#"
            Manufacturer:  Quectel
            Model:         EC25
            Firmware:      EC25EFAR06A03M4G
            IMEI:          867698041234567
            SIM:           ready
            Signal:        -79 dBm, good (CSQ 17)
            Network:       registered, roaming
            Operator:      Vodafone UK
            SMS centre:    not set (sending will fail until it is configured)
            SMS storage:   10 of 10 used (SM), FULL: new texts cannot arrive
            Quirk profile: quectel"#]]
        .assert_eq(&status.to_string());
        expect![[r#"
            Manufacturer:  unknown
            Model:         unknown
            Firmware:      unknown
            IMEI:          unknown
            SIM:           did not answer
            Signal:        unknown
            Network:       unknown
            Operator:      none
            SMS centre:    not set (sending will fail until it is configured)
            SMS storage:   unknown
            Quirk profile: unknown"#]]
        .assert_eq(&ModemStatus::default().to_string());
    }
}
