//! The carrier table of the legacy e-mail-to-SMS path.
//!
//! The 2007 design sent every alert as an e-mail to `<number>@<carrier gateway>`. Most of
//! those gateways have since been shut down (see docs/alerts.md and the sources there), so
//! textgate sends through its own modems and keeps this path only for carriers that still
//! run a gateway. The table records each gateway's status with its date so the web page can
//! stop offering dead carriers, and so the sender never e-mails a domain that is gone.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::number::MemberNumber;

/// Whether a carrier's e-mail-to-SMS gateway can still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum GatewayStatus {
    /// Works, as far as we know.
    Active,
    /// Still accepts mail but the carrier has announced the date it stops; unreliable
    /// meanwhile.
    ShutdownAnnounced {
        /// The announced shutdown day; from this day on the gateway counts as gone.
        on: NaiveDate,
    },
    /// Gone. `since` is the day (or the first day of the month) it stopped, when known.
    ShutDown {
        /// When it stopped, if published.
        since: Option<NaiveDate>,
    },
}

impl GatewayStatus {
    /// Whether mail may be sent through the gateway on `today`. An announced shutdown takes
    /// effect on its date without anybody editing the table; a shutdown with a known date
    /// only counts from that date (so old test-log entries can be judged fairly).
    pub fn usable_on(self, today: NaiveDate) -> bool {
        match self {
            Self::Active => true,
            Self::ShutdownAnnounced { on } => today < on,
            Self::ShutDown { since: Some(since) } => today < since,
            Self::ShutDown { since: None } => false,
        }
    }
}

/// One carrier of the legacy path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carrier {
    /// Stable id stored in the member's row (`verizon`).
    pub id: String,
    /// Name shown in the select box.
    pub name: String,
    /// Country calling code of the numbers it serves (1 for the US).
    pub country_code: u16,
    /// The e-mail-to-SMS domain (`vtext.com`).
    pub sms_domain: String,
    /// Whether the gateway still works.
    #[serde(flatten)]
    pub status: GatewayStatus,
    /// Where the status comes from, for administrators.
    pub note: String,
}

/// Why no e-mail address can be made for a member's number and carrier. The texts are what
/// an administrator reads as a delivery's failure reason on the e-mail path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CarrierError {
    /// The carrier id is not in the table.
    #[error("unknown carrier {id:?}: it is not in the carrier table")]
    Unknown {
        /// The id asked for.
        id: String,
    },
    /// The gateway no longer works; `since` is the day it stopped, when published.
    #[error("{}", gateway_closed(name, *since))]
    GatewayClosed {
        /// The carrier's name.
        name: String,
        /// The shutdown day (announced or past), when known.
        since: Option<NaiveDate>,
    },
    /// The number belongs to another country than the carrier serves.
    #[error("{name} serves numbers with country code +{expected}, this number has +{found}")]
    WrongCountry {
        /// The carrier's name.
        name: String,
        /// Its country code.
        expected: u16,
        /// The number's country code.
        found: u16,
    },
}

fn gateway_closed(name: &str, since: Option<NaiveDate>) -> String {
    match since {
        Some(since) => format!(
            "{name}'s e-mail-to-SMS gateway shut down on {since}; send to this number through a modem instead"
        ),
        None => format!(
            "{name}'s e-mail-to-SMS gateway has shut down (date not published); send to this number through a modem instead"
        ),
    }
}

/// The carriers offered for the legacy path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarrierTable {
    carriers: Vec<Carrier>,
}

/// A date literal of the built-in table. Every literal below is a real date; the fallback
/// only exists because chrono's constructor is fallible.
fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(NaiveDate::MIN)
}

impl CarrierTable {
    /// A table from configuration.
    pub fn new(carriers: Vec<Carrier>) -> Self {
        Self { carriers }
    }

    /// Reads a table from the text of a carrier file (TOML, one `[[carriers]]` table per
    /// carrier, dates as quoted `"YYYY-MM-DD"` strings; the format is in docs/smtp-legacy.md).
    /// The error is the parser's message, for the caller to name the file.
    pub fn from_toml(text: &str) -> Result<CarrierTable, String> {
        toml::from_str(text).map_err(|error| error.message().to_owned())
    }

    /// The carriers known at the time of writing (November 2026), with their status.
    /// Deployments are expected to replace this with their own table in configuration.
    pub fn builtin() -> Self {
        let carrier = |id: &str, name: &str, domain: &str, status, note: &str| Carrier {
            id: id.to_owned(),
            name: name.to_owned(),
            country_code: 1,
            sms_domain: domain.to_owned(),
            status,
            note: note.to_owned(),
        };
        Self::new(vec![
            carrier(
                "att",
                "AT&T",
                "txt.att.net",
                GatewayStatus::ShutDown {
                    since: Some(date(2025, 6, 17)),
                },
                "AT&T ended its e-mail-to-text gateway on 17 June 2025 (AT&T notice KM1061254)",
            ),
            carrier(
                "tmobile",
                "T-Mobile",
                "tmomail.net",
                GatewayStatus::ShutDown {
                    since: Some(date(2024, 12, 1)),
                },
                "reported retired in December 2024, heavily filtered since 2023",
            ),
            carrier(
                "verizon",
                "Verizon",
                "vtext.com",
                GatewayStatus::ShutdownAnnounced {
                    on: date(2027, 3, 31),
                },
                "unreliable; full shutdown announced for 31 March 2027",
            ),
            carrier(
                "sprint",
                "Sprint",
                "messaging.sprintpcs.com",
                GatewayStatus::ShutDown { since: None },
                "domain gone after the merger into T-Mobile",
            ),
            carrier(
                "nextel",
                "Nextel",
                "messaging.nextel.com",
                GatewayStatus::ShutDown { since: None },
                "domain gone",
            ),
            carrier(
                "alltel",
                "Alltel",
                "message.alltel.com",
                GatewayStatus::ShutDown { since: None },
                "domain gone",
            ),
            carrier(
                "rogers",
                "Rogers (Canada)",
                "pcs.rogers.com",
                GatewayStatus::ShutDown {
                    since: Some(date(2023, 7, 1)),
                },
                "ended July 2023",
            ),
        ])
    }

    /// Every carrier, in table order.
    pub fn all(&self) -> &[Carrier] {
        &self.carriers
    }

    /// The carriers to offer in the select box on `today`.
    pub fn offered_on(&self, today: NaiveDate) -> impl Iterator<Item = &Carrier> {
        self.carriers
            .iter()
            .filter(move |c| c.status.usable_on(today))
    }

    /// Look a carrier up by id.
    pub fn get(&self, id: &str) -> Option<&Carrier> {
        self.carriers.iter().find(|c| c.id == id)
    }

    /// The e-mail address that reaches `number` as a text through `carrier_id` on `today`.
    pub fn email_address(
        &self,
        carrier_id: &str,
        number: &MemberNumber,
        today: NaiveDate,
    ) -> Result<String, CarrierError> {
        let carrier = self.get(carrier_id).ok_or_else(|| CarrierError::Unknown {
            id: carrier_id.to_owned(),
        })?;
        if !carrier.status.usable_on(today) {
            let since = match carrier.status {
                GatewayStatus::ShutdownAnnounced { on } => Some(on),
                GatewayStatus::ShutDown { since } => since,
                GatewayStatus::Active => None,
            };
            return Err(CarrierError::GatewayClosed {
                name: carrier.name.clone(),
                since,
            });
        }
        if number.country_code() != carrier.country_code {
            return Err(CarrierError::WrongCountry {
                name: carrier.name.clone(),
                expected: carrier.country_code,
                found: number.country_code(),
            });
        }
        Ok(format!(
            "{}@{}",
            number.national_digits(),
            carrier.sms_domain
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::number::Region;
    use expect_test::expect;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn builtin_table_status_by_date() {
        let table = CarrierTable::builtin();
        let offered = |d: &str| {
            table
                .offered_on(day(d))
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        expect!["att,tmobile,verizon,rogers"].assert_eq(&offered("2023-06-30"));
        expect!["att,verizon"].assert_eq(&offered("2025-06-16"));
        expect!["verizon"].assert_eq(&offered("2027-03-30"));
        expect![[""]].assert_eq(&offered("2027-03-31"));
    }

    #[test]
    fn email_addresses() {
        let table = CarrierTable::builtin();
        let us = MemberNumber::parse("201 555 0123", "US".parse::<Region>().unwrap()).unwrap();
        let uk = MemberNumber::parse("+44 7911 123456", "US".parse::<Region>().unwrap()).unwrap();
        let today = day("2026-11-22");
        assert_eq!(
            table.email_address("verizon", &us, today).as_deref(),
            Ok("2015550123@vtext.com")
        );
        let show = |r: Result<String, CarrierError>| match r {
            Ok(a) => a,
            Err(e) => e.to_string(),
        };
        expect!["AT&T's e-mail-to-SMS gateway shut down on 2025-06-17; send to this number through a modem instead"].assert_eq(&show(table.email_address("att", &us, today)));
        expect!["Verizon serves numbers with country code +1, this number has +44"]
            .assert_eq(&show(table.email_address("verizon", &uk, today)));
        expect![[r#"unknown carrier "vodafone": it is not in the carrier table"#]]
            .assert_eq(&show(table.email_address("vodafone", &us, today)));
        expect!["Verizon's e-mail-to-SMS gateway shut down on 2027-03-31; send to this number through a modem instead"].assert_eq(&show(table.email_address("verizon", &us, day("2027-04-01"))));
    }

    #[test]
    fn table_round_trips_through_serde() {
        let table = CarrierTable::builtin();
        let json = serde_json::to_string(&table).unwrap();
        assert_eq!(serde_json::from_str::<CarrierTable>(&json).unwrap(), table);
        let verizon = serde_json::to_value(table.get("verizon").unwrap()).unwrap();
        assert_eq!(verizon["status"], "shutdown-announced");
        assert_eq!(verizon["on"], "2027-03-31");
    }

    fn listed(table: Result<CarrierTable, String>) -> String {
        match table {
            Ok(table) => table
                .all()
                .iter()
                .map(|c| format!("{} {} {:?}", c.id, c.sms_domain, c.status))
                .collect::<Vec<_>>()
                .join("\n"),
            Err(reason) => reason,
        }
    }

    /// The carrier file example in docs/smtp-legacy.md must stay loadable.
    #[test]
    fn documented_carrier_file_parses() {
        let doc = include_str!("../../../docs/smtp-legacy.md");
        let example = doc
            .split("```toml")
            .filter_map(|block| block.split("```").next())
            .find(|block| block.contains("[[carriers]]"))
            .unwrap_or_default();
        expect![[r#"
            verizon vtext.com ShutdownAnnounced { on: 2027-03-31 }
            att txt.att.net ShutDown { since: Some(2025-06-17) }
            campus sms.campus.example Active"#]]
        .assert_eq(&listed(CarrierTable::from_toml(example)));
    }

    #[test]
    fn carrier_file_parses() {
        let table = CarrierTable::from_toml(
            r#"
[[carriers]]
id = "campus"
name = "Campus Mobile"
country_code = 1
sms_domain = "sms.campus.example"
status = "active"
note = "our own gateway"

[[carriers]]
id = "verizon"
name = "Verizon"
country_code = 1
sms_domain = "vtext.com"
status = "shutdown-announced"
on = "2027-03-31"
note = "full shutdown announced for 31 March 2027"
"#,
        );
        expect![[r#"
            campus sms.campus.example Active
            verizon vtext.com ShutdownAnnounced { on: 2027-03-31 }"#]]
        .assert_eq(&listed(table));
        let broken = CarrierTable::from_toml("[[carriers]]\nid = \"x\"\n");
        expect![[r#"Err("missing field `name`")"#]].assert_eq(&format!("{broken:?}"));
    }

    /// A gateway gone without a published date says so instead of naming a day.
    #[test]
    fn a_shutdown_without_a_date_says_so() {
        let table = CarrierTable::builtin();
        let us = MemberNumber::parse("201 555 0123", "US".parse::<Region>().unwrap()).unwrap();
        expect!["Sprint's e-mail-to-SMS gateway has shut down (date not published); send to this number through a modem instead"]
            .assert_eq(&table.email_address("sprint", &us, day("2026-11-22")).unwrap_err().to_string());
    }
}
