//! The desk's commands as XEP-0050 ad-hoc commands on the gateway's JID, for clients with
//! a command menu (Gajim, Psi, Converse.js, Conversations' "commands" tab); clients without
//! one get the same commands by chatting with the gateway (see [`DeskRequest`]).
//!
//! The catalogue here is only the presentation: each command's node, name and the fields of
//! its one-page form. A submitted form becomes the same command line a librarian would type
//! in the chat (`transfer +15551234567 bob@library.example`), which the daemon reads and
//! answers; the answer comes back as the command's note. Forms are stateless: the session
//! id only ties the form's page to its submission, so a restart between the two loses
//! nothing but the page.
//!
//! Only operators see or run commands; anyone else gets an empty list and `forbidden`.

use xmpp_parsers::disco::{DiscoInfoResult, DiscoItemsResult, Identity, Item};
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::minidom::{Element, ElementBuilder, IntoAttributeValue};
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType, StanzaError};

use super::{Action, ComponentProtocol, GatewayEvent};

pub(super) const NS_COMMANDS: &str = "http://jabber.org/protocol/commands";
const NS_DATA: &str = "jabber:x:data";

/// One field of a command's form.
struct Field {
    var: &'static str,
    label: &'static str,
    multi_line: bool,
}

const NUMBER: Field = Field {
    var: "number",
    label: "Patron's number",
    multi_line: false,
};
const NAME: Field = Field {
    var: "name",
    label: "Name of the canned reply (letters, digits, - and _)",
    multi_line: false,
};

/// One command: its node, the name clients list, its form's fields and the command line a
/// submission becomes (`{var}` replaced by the field's value).
struct Command {
    node: &'static str,
    name: &'static str,
    fields: &'static [Field],
    line: &'static str,
}

const COMMANDS: &[Command] = &[
    Command {
        node: "status",
        name: "Gateway status",
        fields: &[],
        line: "status",
    },
    Command {
        node: "waiting",
        name: "Texts waiting for a librarian",
        fields: &[],
        line: "waiting",
    },
    Command {
        node: "transfer",
        name: "Transfer a conversation to a colleague or another desk",
        fields: &[
            NUMBER,
            Field {
                var: "to",
                label: "Colleague (their address, e.g. bob@library.example) or another gateway's desk (e.g. branch)",
                multi_line: false,
            },
        ],
        line: "transfer {number} {to}",
    },
    Command {
        node: "release",
        name: "Release a conversation",
        fields: &[NUMBER],
        line: "release {number}",
    },
    Command {
        node: "pause",
        name: "Pause: no new conversations for me",
        fields: &[],
        line: "pause",
    },
    Command {
        node: "resume",
        name: "Resume new conversations",
        fields: &[],
        line: "resume",
    },
    Command {
        node: "canned",
        name: "Canned replies: list",
        fields: &[],
        line: "canned",
    },
    Command {
        node: "canned-send",
        name: "Canned replies: send one to a patron",
        fields: &[NAME, NUMBER],
        line: "canned send {name} {number}",
    },
    Command {
        node: "canned-add",
        name: "Canned replies: add or change one",
        fields: &[
            NAME,
            Field {
                var: "text",
                label: "Text",
                multi_line: true,
            },
        ],
        line: "canned add {name} {text}",
    },
    Command {
        node: "canned-remove",
        name: "Canned replies: remove one",
        fields: &[NAME],
        line: "canned remove {name}",
    },
    Command {
        node: "block",
        name: "Block a number",
        fields: &[NUMBER],
        line: "block {number}",
    },
    Command {
        node: "unblock",
        name: "Unblock a number",
        fields: &[NUMBER],
        line: "unblock {number}",
    },
    Command {
        node: "blocked",
        name: "Blocked numbers",
        fields: &[],
        line: "blocked",
    },
    Command {
        node: "help",
        name: "Help: every command",
        fields: &[],
        line: "help",
    },
];

fn command(node: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.node == node)
}

/// How a request reached the gateway, and so how its answer goes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestVia {
    /// A chat message to the gateway's JID; answered with a chat message.
    Chat,
    /// An ad-hoc command; answered with the command's result on the request's iq.
    AdHoc {
        iq_id: String,
        node: String,
        session: String,
    },
}

/// A command line from an operator, typed in a chat with the gateway or submitted as an
/// ad-hoc command's form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskRequest {
    pub operator: textgate_core::BareJid,
    /// The full JID it came from, where the answer goes.
    pub from: String,
    pub line: String,
    pub via: RequestVia,
}

/// The daemon's answer to a [`DeskRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskAnswer {
    pub to: String,
    pub via: RequestVia,
    pub text: String,
    /// Whether the command failed (an ad-hoc note of type `error`).
    pub failed: bool,
}

impl ComponentProtocol {
    /// `disco#items` on the commands node: the list, for operators only.
    pub(super) fn command_items(&self, from: &Jid) -> DiscoItemsResult {
        let items = if self.operator_of(Some(from)).is_some() {
            COMMANDS
                .iter()
                .map(|c| Item {
                    jid: self.gateway.clone(),
                    node: Some(c.node.to_owned()),
                    name: Some(c.name.to_owned()),
                })
                .collect()
        } else {
            Vec::new()
        };
        DiscoItemsResult {
            node: Some(NS_COMMANDS.to_owned()),
            items,
            rsm: None,
        }
    }

    /// `disco#info` on a command's node, if `node` is one.
    pub(super) fn command_info(&self, node: &str) -> Option<DiscoInfoResult> {
        let command = command(node)?;
        Some(DiscoInfoResult {
            node: Some(command.node.to_owned()),
            identities: vec![Identity::new(
                "automation",
                "command-node",
                "en",
                command.name,
            )],
            features: [NS_COMMANDS.to_owned(), NS_DATA.to_owned()].into(),
            extensions: Vec::new(),
        })
    }

    /// An `<iq type='set'><command/></iq>`: a form to fill in, a cancellation, or a
    /// request for the daemon.
    pub(super) fn execute_command(
        &self,
        from: Jid,
        to: Jid,
        iq_id: String,
        payload: &Element,
    ) -> Vec<Action> {
        let error = |condition, text: &str| {
            vec![Action::Send(
                Iq::Error {
                    from: Some(to.clone()),
                    to: Some(from.clone()),
                    id: iq_id.clone(),
                    error: StanzaError::new(ErrorType::Cancel, condition, "en", text),
                    payload: None,
                }
                .into(),
            )]
        };
        let Some(operator) = self.operator_of(Some(&from)) else {
            return error(
                DefinedCondition::Forbidden,
                "Only this gateway's operators may run its commands.",
            );
        };
        let node = payload.attr("node").unwrap_or_default();
        let Some(command) = command(node) else {
            return error(DefinedCondition::ItemNotFound, "no such command");
        };
        let session = payload
            .attr("sessionid")
            .map_or_else(|| format!("{node}-{iq_id}"), str::to_owned);
        let result = |status: &str, children: Vec<Element>| {
            let answer = Element::builder("command", NS_COMMANDS);
            let answer = attr(answer, "node", command.node);
            let answer = attr(answer, "sessionid", session.as_str());
            let mut answer = attr(answer, "status", status);
            for child in children {
                answer = answer.append(child);
            }
            vec![Action::Send(
                Iq::Result {
                    from: Some(to.clone()),
                    to: Some(from.clone()),
                    id: iq_id.clone(),
                    payload: Some(answer.build()),
                }
                .into(),
            )]
        };
        if payload.attr("action") == Some("cancel") {
            return result("canceled", Vec::new());
        }
        let submitted = payload
            .children()
            .find(|c| c.is("x", NS_DATA) && c.attr("type") == Some("submit"));
        if !command.fields.is_empty() && submitted.is_none() {
            let actions = attr(
                Element::builder("actions", NS_COMMANDS),
                "execute",
                "complete",
            )
            .append(Element::builder("complete", NS_COMMANDS))
            .build();
            return result("executing", vec![actions, form(command)]);
        }
        let mut line = command.line.to_owned();
        for field in command.fields {
            let value = submitted
                .map(|x| field_value(x, field.var))
                .unwrap_or_default();
            line = line.replace(&format!("{{{}}}", field.var), value.trim());
        }
        vec![Action::Emit(GatewayEvent::Command(DeskRequest {
            operator,
            from: from.to_string(),
            line: line.trim().to_owned(),
            via: RequestVia::AdHoc {
                iq_id,
                node: command.node.to_owned(),
                session,
            },
        }))]
    }

    /// The stanza answering a request: a chat message from the gateway, or the ad-hoc
    /// command's completion with the text as its note.
    pub(super) fn answer(
        &self,
        answer: DeskAnswer,
    ) -> Result<xmpp_parsers::stanza::Stanza, super::OutgoingError> {
        let to = Jid::new(&answer.to).map_err(|e| super::OutgoingError::BadJid {
            jid: answer.to.clone(),
            reason: e.to_string(),
        })?;
        let text = crate::sanitize::xml_safe(&answer.text);
        Ok(match answer.via {
            RequestVia::Chat => {
                let mut message = xmpp_parsers::message::Message::chat(Some(to))
                    .with_body(xmpp_parsers::message::Lang::default(), text);
                message.from = Some(self.gateway.clone());
                message.into()
            }
            RequestVia::AdHoc {
                iq_id,
                node,
                session,
            } => {
                let kind = if answer.failed { "error" } else { "info" };
                let note = attr(Element::builder("note", NS_COMMANDS), "type", kind)
                    .append(text)
                    .build();
                let command = Element::builder("command", NS_COMMANDS);
                let command = attr(command, "node", node);
                let command = attr(command, "sessionid", session);
                let command = attr(command, "status", "completed").append(note).build();
                Iq::Result {
                    from: Some(self.gateway.clone()),
                    to: Some(to),
                    id: iq_id,
                    payload: Some(command),
                }
                .into()
            }
        })
    }
}

/// A command's one-page form.
fn form(command: &Command) -> Element {
    let mut x = attr(Element::builder("x", NS_DATA), "type", "form")
        .append(Element::builder("title", NS_DATA).append(command.name));
    for field in command.fields {
        let kind = if field.multi_line {
            "text-multi"
        } else {
            "text-single"
        };
        let element = attr(Element::builder("field", NS_DATA), "var", field.var);
        let element = attr(element, "type", kind);
        let element = attr(element, "label", field.label);
        x = x.append(element.append(Element::builder("required", NS_DATA)));
    }
    x.build()
}

/// Sets an attribute whose name is one of this module's constants (always a valid XML
/// name, so the conversion cannot fail; should it, the attribute is left out).
fn attr(
    builder: ElementBuilder,
    name: &'static str,
    value: impl IntoAttributeValue,
) -> ElementBuilder {
    match name.try_into() {
        Ok(name) => builder.attr(name, value),
        Err(_) => builder,
    }
}

/// The value submitted for `var` (the lines of a multi-line field joined by spaces).
fn field_value(x: &Element, var: &str) -> String {
    x.children()
        .filter(|f| f.is("field", NS_DATA) && f.attr("var") == Some(var))
        .flat_map(|f| f.children().filter(|v| v.is("value", NS_DATA)))
        .map(|v| v.text())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether an element is an ad-hoc command request.
pub(super) fn is_command(payload: &Element) -> bool {
    payload.is("command", NS_COMMANDS)
}

/// The features a gateway advertises for commands.
pub(super) const FEATURES: [&str; 2] = [NS_COMMANDS, NS_DATA];
