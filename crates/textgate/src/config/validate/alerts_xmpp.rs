//! `[alerts.xmpp]`: the alerts' own component, its staff room and staff JIDs.

use std::collections::BTreeMap;
use std::path::Path;

use super::{host_port, Checker};
use crate::config::AlertXmppConfig;

impl Checker<'_> {
    pub(super) fn alerts_xmpp(
        &mut self,
        xmpp: &mut AlertXmppConfig,
        env: &BTreeMap<String, String>,
        base_dir: &Path,
    ) {
        const AT: &str = "alerts.xmpp";
        match jid::Jid::new(&xmpp.component) {
            Ok(jid) if jid.node().is_none() && jid.resource().is_none() => {}
            Ok(_) => self.error(
                format!("{AT}.component"),
                format!(
                    "{:?} is not a bare domain: a component's address has no `user@` or \
                     `/resource`, e.g. alerts.library.example",
                    xmpp.component
                ),
            ),
            Err(e) => self.error(
                format!("{AT}.component"),
                format!("{:?} is not a valid domain: {e}", xmpp.component),
            ),
        }
        self.secret(&format!("{AT}.secret"), &mut xmpp.secret, env, base_dir);
        if let Err(message) = host_port(&xmpp.server) {
            self.error(format!("{AT}.server"), message);
        }
        if let Some(room) = &xmpp.room {
            match jid::BareJid::new(room) {
                Ok(jid) if jid.node().is_some() => {}
                Ok(_) => self.error(
                    format!("{AT}.room"),
                    format!(
                        "{room:?} is a server, not a room: write the room's address, e.g. \
                         staff@conference.library.example"
                    ),
                ),
                Err(e) => self.error(
                    format!("{AT}.room"),
                    format!("{room:?} is not a room's address: {e}"),
                ),
            }
            if !textgate_xmpp::announcer::valid_nick(&xmpp.nick) {
                self.error(
                    format!("{AT}.nick"),
                    format!("{:?} cannot be a nickname in a room", xmpp.nick),
                );
            }
        }
        for (i, staff) in xmpp.staff.iter().enumerate() {
            match jid::BareJid::new(staff) {
                Ok(jid) if jid.node().is_some() => {}
                Ok(_) => self.error(
                    format!("{AT}.staff[{i}]"),
                    format!("{staff:?} is a server, not a person: e.g. duty@library.example"),
                ),
                Err(e) => self.error(
                    format!("{AT}.staff[{i}]"),
                    format!("{staff:?} is not a valid JID: {e}"),
                ),
            }
        }
        if xmpp.room.is_none() && xmpp.staff.is_empty() {
            self.warning(
                AT,
                "has no room and no staff: only members who register a JID on their page \
                 get alerts over XMPP",
            );
        }
    }
}
