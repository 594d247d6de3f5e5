//! How clients show the gateway and its patrons: vCards (XEP-0054, `vcard-temp`), the
//! gateway's avatar announced in its presence (XEP-0153) and its nickname (XEP-0172).
//!
//! Tried with profanity and Converse.js, a gateway without these showed as a bare domain
//! with a placeholder avatar, and every patron as a raw JID. Clients that support
//! `vcard-temp` (Converse.js, Gajim, Psi, profanity's `/vcard`) fetch the vCard of every
//! contact they show; the gateway answers with a name (the configured display name; the
//! patron's number grouped as people write it), the patron's telephone number and, for the
//! gateway, a small avatar, so the one JID that is not a person is recognisable at a glance.

use std::sync::OnceLock;

use base64::Engine;
use sha1::{Digest, Sha1};
use textgate_core::PatronAddress;
use xmpp_parsers::minidom::Element;

pub(super) const NS_VCARD: &str = "vcard-temp";
const NS_VCARD_UPDATE: &str = "vcard-temp:x:update";
const NS_NICK: &str = "http://jabber.org/protocol/nick";

/// The gateway's avatar: a white speech bubble on the project's teal, 96 × 96 PNG (clients
/// scale it; XEP-0153 recommends small images, since the vCard travels in one stanza).
const AVATAR_PNG: &[u8] = include_bytes!("../../assets/gateway-avatar.png");

/// The avatar's SHA-1 in hex, as XEP-0153 announces it in presence.
fn avatar_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        Sha1::digest(AVATAR_PNG)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

fn text_element(name: &str, text: &str) -> Element {
    Element::builder(name, NS_VCARD).append(text).build()
}

/// The gateway's vCard: its name, what it is for, and its avatar.
pub(super) fn gateway_vcard(display_name: &str, domain: &str) -> Element {
    let photo = Element::builder("PHOTO", NS_VCARD)
        .append(text_element("TYPE", "image/png"))
        .append(text_element(
            "BINVAL",
            &base64::engine::general_purpose::STANDARD.encode(AVATAR_PNG),
        ))
        .build();
    Element::builder("vCard", NS_VCARD)
        .append(text_element("FN", display_name))
        .append(text_element("NICKNAME", display_name))
        .append(text_element(
            "DESC",
            &format!(
                "Text messages to and from phones. Write to a number at this gateway \
                 (+15551234567@{domain}) to text it; send \"help\" here for the commands."
            ),
        ))
        .append(photo)
        .build()
}

/// A patron's vCard: the number as people write it, and as a telephone number.
pub(super) fn patron_vcard(patron: &PatronAddress) -> Element {
    let formatted = patron.formatted();
    let mut card = Element::builder("vCard", NS_VCARD)
        .append(text_element("FN", &formatted))
        .append(text_element("NICKNAME", &formatted));
    if patron.is_reachable() {
        card = card.append(
            Element::builder("TEL", NS_VCARD)
                .append(Element::builder("CELL", NS_VCARD))
                .append(text_element("NUMBER", patron.as_str()))
                .build(),
        );
    }
    card.build()
}

/// What the gateway's presence carries besides availability: the avatar's hash, so
/// clients fetch its vCard, and its nickname.
pub(super) fn gateway_presence_payloads(display_name: &str) -> Vec<Element> {
    vec![
        Element::builder("x", NS_VCARD_UPDATE)
            .append(Element::builder("photo", NS_VCARD_UPDATE).append(avatar_hash()))
            .build(),
        nickname(display_name),
    ]
}

/// A XEP-0172 nickname, which clients show in a subscription request.
pub(super) fn nickname(name: &str) -> Element {
    Element::builder("nick", NS_NICK).append(name).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_avatar_is_a_png_and_its_hash_is_sha1_hex() {
        assert!(AVATAR_PNG.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(avatar_hash().len(), 40);
        assert!(avatar_hash().bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
