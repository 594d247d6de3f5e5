//! The members' carriers for the legacy e-mail-to-SMS driver: the service is the driver's
//! [`CarrierDirectory`].

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

#[async_trait::async_trait]
impl CarrierDirectory for AlertService {
    async fn carrier_of(&self, number: &str) -> Result<Option<String>, DirectoryError> {
        self.members()
            .carrier_of(number)
            .await
            .map_err(|e| DirectoryError(e.to_string()))
    }
}
