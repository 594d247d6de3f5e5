//! Answering IQs addressed to the gateway or to a patron's JID: service discovery (XEP-0030),
//! software version (XEP-0092), ping (XEP-0199) and the XEP-0100 prompt that turns a typed
//! phone number into a patron's JID. Every other request gets `service-unavailable`.

use textgate_core::PatronAddress;
use xmpp_parsers::disco::{DiscoInfoQuery, DiscoInfoResult, DiscoItemsResult, Identity};
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::Element;
use xmpp_parsers::ns;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType, StanzaError};
use xmpp_parsers::version::VersionResult;

use super::{
    adhoc, bad_request, identity, service_unavailable, Action, ComponentProtocol, NS_RECEIPTS,
};

const NS_GATEWAY: &str = "jabber:iq:gateway";
/// XEP-0100's prompt, as JMP.chat words it; clients show it in their "add contact" dialog.
const GATEWAY_PROMPT: &str = "Phone Number";
const GATEWAY_DESC: &str =
    "Enter the phone number of the person you want to text, national or international.";

impl ComponentProtocol {
    pub(super) fn handle_iq(&mut self, iq: Iq) -> Vec<Action> {
        let (from, to, id, payload, is_get) = match iq {
            Iq::Get {
                from,
                to,
                id,
                payload,
            } => (from, to, id, payload, true),
            Iq::Set {
                from,
                to,
                id,
                payload,
            } => (from, to, id, payload, false),
            Iq::Result { id, .. } | Iq::Error { id, .. } => {
                return vec![Action::IqAnswered(id)];
            }
        };
        let Some(from) = from else {
            // The server always stamps `from`; without it there is nobody to answer.
            return Vec::new();
        };
        let to = to.unwrap_or_else(|| self.gateway.clone());
        if !is_get && adhoc::is_command(&payload) && self.is_gateway(Some(&to)) {
            return self.execute_command(from, to, id, &payload);
        }
        let answer = if is_get {
            self.answer_get(&from, &to, &payload)
        } else {
            self.answer_set(&to, &payload)
        };
        let reply = match answer {
            Ok(payload) => Iq::Result {
                from: Some(to),
                to: Some(from),
                id,
                payload,
            },
            Err(error) => Iq::Error {
                from: Some(to),
                to: Some(from),
                id,
                error: *error,
                payload: None,
            },
        };
        vec![Action::Send(reply.into())]
    }

    fn answer_get(
        &self,
        from: &Jid,
        to: &Jid,
        payload: &Element,
    ) -> Result<Option<Element>, Box<StanzaError>> {
        let to_gateway = self.is_gateway(Some(to));
        let no_such_node = || {
            Box::new(StanzaError::new(
                ErrorType::Cancel,
                DefinedCondition::ItemNotFound,
                "en",
                "no such node",
            ))
        };
        if payload.is("query", ns::DISCO_INFO) {
            let query = DiscoInfoQuery::try_from(payload.clone())
                .map_err(|_| bad_request("malformed disco#info query"))?;
            if let Some(node) = query.node {
                return match self.command_info(&node).filter(|_| to_gateway) {
                    Some(info) => Ok(Some(info.into())),
                    None => Err(no_such_node()),
                };
            }
            return Ok(Some(self.disco_info(to_gateway).into()));
        }
        if payload.is("query", ns::DISCO_ITEMS) {
            match payload.attr("node") {
                None => {}
                Some(adhoc::NS_COMMANDS) if to_gateway => {
                    return Ok(Some(self.command_items(from).into()));
                }
                Some(_) => return Err(no_such_node()),
            }
            return Ok(Some(
                DiscoItemsResult {
                    node: None,
                    items: Vec::new(),
                    rsm: None,
                }
                .into(),
            ));
        }
        if payload.is("query", ns::VERSION) {
            return Ok(Some(
                VersionResult {
                    name: "textgate".to_owned(),
                    version: env!("CARGO_PKG_VERSION").to_owned(),
                    os: None,
                }
                .into(),
            ));
        }
        if payload.is("ping", ns::PING) {
            return Ok(None);
        }
        if payload.is("vCard", identity::NS_VCARD) {
            if to_gateway {
                return Ok(Some(identity::gateway_vcard(
                    &self.display_name,
                    &self.domain,
                )));
            }
            let patron = self.patron_at(to).map_err(|why| {
                Box::new(StanzaError::new(
                    ErrorType::Cancel,
                    DefinedCondition::ItemNotFound,
                    "en",
                    why,
                ))
            })?;
            return Ok(Some(identity::patron_vcard(&patron)));
        }
        if to_gateway && payload.is("query", NS_GATEWAY) {
            let query = Element::builder("query", NS_GATEWAY)
                .append(Element::builder("desc", NS_GATEWAY).append(GATEWAY_DESC))
                .append(Element::builder("prompt", NS_GATEWAY).append(GATEWAY_PROMPT))
                .build();
            return Ok(Some(query));
        }
        Err(service_unavailable())
    }

    fn answer_set(&self, to: &Jid, payload: &Element) -> Result<Option<Element>, Box<StanzaError>> {
        if self.is_gateway(Some(to)) && payload.is("query", NS_GATEWAY) {
            let typed = payload
                .get_child("prompt", NS_GATEWAY)
                .map(Element::text)
                .ok_or_else(|| bad_request("expected <prompt> with a phone number"))?;
            let patron = PatronAddress::from_dialled(&typed, self.region).map_err(|e| {
                Box::new(StanzaError::new(
                    ErrorType::Modify,
                    DefinedCondition::NotAcceptable,
                    "en",
                    e.to_string(),
                ))
            })?;
            let jid = patron
                .to_jid(&self.domain)
                .map_err(|e| bad_request(&e.to_string()))?;
            // XEP-0100 answers with <jid/>; old clients read <prompt/>, so send both.
            let query = Element::builder("query", NS_GATEWAY)
                .append(Element::builder("jid", NS_GATEWAY).append(jid.as_str()))
                .append(Element::builder("prompt", NS_GATEWAY).append(jid.as_str()))
                .build();
            return Ok(Some(query));
        }
        Err(service_unavailable())
    }

    fn disco_info(&self, to_gateway: bool) -> DiscoInfoResult {
        let (identity, features): (Identity, &[&str]) = if to_gateway {
            (
                Identity::new("gateway", "sms", "en", &self.display_name),
                &[
                    ns::DISCO_INFO,
                    ns::DISCO_ITEMS,
                    NS_GATEWAY,
                    ns::VERSION,
                    ns::PING,
                    NS_RECEIPTS,
                    identity::NS_VCARD,
                    adhoc::FEATURES[0],
                    adhoc::FEATURES[1],
                ],
            )
        } else {
            // A patron JID: a phone that takes texts and confirms their delivery.
            (
                Identity::new("client", "sms", "en", "SMS"),
                &[ns::DISCO_INFO, NS_RECEIPTS, identity::NS_VCARD],
            )
        };
        DiscoInfoResult {
            node: None,
            identities: vec![identity],
            features: features.iter().map(|f| (*f).to_owned()).collect(),
            extensions: Vec::new(),
        }
    }
}
