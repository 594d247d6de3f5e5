//! The members' carriers for the legacy e-mail-to-SMS driver: the service is the driver's
//! [`CarrierDirectory`], answering a number with the e-mail address of the carrier gateway
//! its member chose (the carrier rules are `textgate_alerts::CarrierTable`'s), or why there
//! is none.

use textgate_alerts::MemberNumber;
use textgate_modem::{CarrierDirectory, DirectoryError};

use super::{data, Members};
use crate::{AlertError, AlertService};

impl Members<'_> {
    /// The carrier the member registered with `e164` chose for the legacy e-mail path,
    /// found by the number's keyed blind index (never by decrypting or searching numbers).
    /// Any registration counts, confirmed or not: a confirmation code goes the same way.
    pub async fn carrier_of(&self, e164: &str) -> Result<Option<String>, AlertError> {
        let Some(index) = self.service.settings().blind_index.index_sender(e164) else {
            return Ok(None);
        };
        let registration =
            data::registration_by_index(self.service.database(), &index.to_string()).await?;
        Ok(registration.and_then(|r| r.carrier))
    }
}

/// Why no member's carrier reaches a number: the driver's final error, shown as the
/// delivery's failure reason.
const NO_CARRIER: &str =
    "no carrier is known for this number; the legacy e-mail path only reaches members who chose one";

#[async_trait::async_trait]
impl CarrierDirectory for AlertService {
    async fn email_address(&self, number: &str) -> Result<String, DirectoryError> {
        let member = MemberNumber::try_from(number.to_owned()).map_err(|error| {
            DirectoryError::NoAddress(format!(
                "{number} is not a mobile number in international form: {error}"
            ))
        })?;
        let carrier = self
            .members()
            .carrier_of(number)
            .await
            .map_err(|e| DirectoryError::Unavailable(e.to_string()))?
            .ok_or_else(|| DirectoryError::NoAddress(NO_CARRIER.to_owned()))?;
        let today = self.now().date_naive();
        self.settings()
            .carriers
            .email_address(&carrier, &member, today)
            .map_err(|e| DirectoryError::NoAddress(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use textgate_alerts::{Role, Roles};
    use textgate_store::ManualClock;

    use super::*;
    use crate::members::MemberAction;
    use crate::test_support::on_both_backends;
    use crate::{Actor, Credential};

    /// The directory answers with the address of the gateway the member chose, or with the
    /// carrier rules' reason (a closed gateway names its date; a gateway announced to close
    /// still works until its day), and names numbers nobody chose a carrier for.
    #[tokio::test]
    async fn members_carriers_become_gateway_addresses_or_reasons() {
        on_both_backends(|service| async move {
            let today = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
            let service = service.with_clock(ManualClock::new(today));
            let members = [
                ("a@example.org", "201 555 0101", Some("verizon")),
                ("b@example.org", "201 555 0102", Some("att")),
                ("c@example.org", "201 555 0103", None),
            ];
            for (email, number, carrier) in members {
                let id = service
                    .accounts()
                    .create_admin(email, "a long enough password", Roles::new([Role::Member]))
                    .await
                    .unwrap();
                let account = service.accounts().get(id).await.unwrap().unwrap();
                let actor = Actor {
                    account: &account,
                    ip: "127.0.0.1",
                    credential: Credential::Session,
                };
                service
                    .members()
                    .save(&actor, number, carrier, MemberAction::Save)
                    .await
                    .unwrap();
            }
            let mut answers = Vec::new();
            for number in [
                "+12015550101",
                "+12015550102",
                "+12015550103",
                "+12015550104",
                "InfoSMS",
            ] {
                answers.push(format!("{number}: {:?}", service.email_address(number).await));
            }
            expect_test::expect![[r#"
                +12015550101: Ok("2015550101@vtext.com")
                +12015550102: Err(NoAddress("AT&T's e-mail-to-SMS gateway shut down on 2025-06-17; send to this number through a modem instead"))
                +12015550103: Err(NoAddress("no carrier is known for this number; the legacy e-mail path only reaches members who chose one"))
                +12015550104: Err(NoAddress("no carrier is known for this number; the legacy e-mail path only reaches members who chose one"))
                InfoSMS: Err(NoAddress("InfoSMS is not a mobile number in international form: InfoSMS is not a valid phone number; check the digits and the area code"))"#]]
            .assert_eq(&answers.join("\n"));
        })
        .await;
    }
}
