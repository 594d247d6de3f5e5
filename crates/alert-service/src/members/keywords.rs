//! STOP / START / HELP from phones, and the service as the gateway's screen of received
//! texts ([`InboundScreen`]): a text that is only a keyword is answered by SMS from the
//! alert service and is not routed to the librarians, who get a one-line notice for a
//! STOP ([`STOP_NOTICE`]).

use textgate_alerts::{on_keyword, Keyword};
use textgate_gateway::{InboundScreen, Screened};

use super::{data, parse_state, state_name, Members};
use crate::{AlertError, AlertService};

/// The notice librarians get when a patron texts STOP.
///
/// Keyword texts (STOP, START, HELP) are answered by the alert service and are not shown
/// to librarians as messages: they are addressed to the alert service, and the automatic
/// reply has already answered. A STOP is the exception worth knowing about, so
/// librarians get this one-line notice from the patron: someone mid-conversation who
/// texts STOP may have meant the conversation, and a librarian should not keep texting
/// them unawares. START and HELP need nothing from a person.
pub const STOP_NOTICE: &str =
    "(texted STOP: opted out of emergency alerts; the automatic reply was sent)";

/// What a keyword text from a phone did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordHandled {
    pub keyword: Keyword,
    /// The reply put in the outbox.
    pub reply: String,
}

impl Members<'_> {
    /// Handles an incoming SMS from `sender` (E.164, as textgate-core normalised it) on
    /// `gateway`: if the whole text is STOP, START or HELP (or a synonym), updates the
    /// registration by blind index, remembers an opt-out of an unregistered number, and
    /// enqueues the reply on the same gateway. Returns `None` for any other text, which
    /// belongs to the operators.
    pub async fn handle_incoming_sms(
        &self,
        gateway: &str,
        sender: &str,
        body: &str,
    ) -> Result<Option<KeywordHandled>, AlertError> {
        let service = self.service;
        let settings = service.settings();
        let database = service.database();
        let Some(keyword) = settings.keywords.classify(body) else {
            return Ok(None);
        };
        let Some(index) = settings.blind_index.index_sender(sender) else {
            return Ok(None);
        };
        let index = index.to_string();
        let now = service.now();
        let reg = data::registration_by_index(database, &index).await?;
        let current = reg.as_ref().map(|r| parse_state(&r.state)).transpose()?;
        let effect = on_keyword(current, keyword);
        if let (Some(_), Some(new_state)) = (&reg, effect.state) {
            data::set_registration_state(database, &index, state_name(new_state)).await?;
        }
        if effect.remember_opt_out {
            data::remember_opt_out(database, &index, now).await?;
        }
        if keyword == Keyword::Start {
            data::forget_opt_out(database, &index).await?;
        }
        let reply = settings.replies.reply(effect.reply).to_string();
        service.answer_phone(gateway, sender, &reply).await?;
        Ok(Some(KeywordHandled { keyword, reply }))
    }
}

#[async_trait::async_trait]
impl InboundScreen for AlertService {
    async fn screen(&self, gateway: &str, sender: &str, body: &str) -> Screened {
        match self
            .members()
            .handle_poll_answer(gateway, sender, body)
            .await
        {
            Ok(Some(_)) => return Screened::Answered { notice: None },
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(gateway, error = %e, "poll answers not checked");
            }
        }
        match self.members().handle_group_sms(gateway, sender, body).await {
            Ok(Some(_)) => return Screened::Answered { notice: None },
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(gateway, error = %e, "group keywords not checked");
            }
        }
        match self
            .members()
            .handle_incoming_sms(gateway, sender, body)
            .await
        {
            Ok(Some(handled)) => Screened::Answered {
                notice: (handled.keyword == Keyword::Stop).then(|| STOP_NOTICE.to_owned()),
            },
            Ok(None) => Screened::ForOperators,
            Err(e) => {
                // The librarians see it rather than nobody.
                tracing::warn!(gateway, error = %e, "alert keywords not checked; the text goes to the operators");
                Screened::ForOperators
            }
        }
    }
}
