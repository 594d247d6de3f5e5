//! What no single `[[gateway]]` can show: desks named in `transfer_to`, and names,
//! domains and modem ports that two gateways must not share. Kept apart from
//! `gateway.rs` because it needs every section at once; a clash is reported at the later
//! gateway, naming the first, so the message points at the one to change.

use std::collections::HashMap;

use super::Checker;
use crate::config::env::environment_name;
use crate::config::load::gateway_label;
use crate::config::{DriverConfig, GatewayConfig};

impl Checker<'_> {
    /// Checks that must look at all gateways at once.
    pub(super) fn across_gateways(&mut self, gateways: &[(usize, GatewayConfig)]) {
        for (index, gateway) in gateways {
            let at = gateway_label(*index, Some(&gateway.name));
            for (i, desk) in gateway.transfer_to.iter().enumerate() {
                let key = format!("{at}.transfer_to[{i}]");
                if desk == &gateway.name {
                    self.error(key, "is this gateway itself; name another gateway's desk");
                } else if !gateways.iter().any(|(_, g)| &g.name == desk) {
                    let names: Vec<&str> = gateways
                        .iter()
                        .filter(|(_, g)| g.name != gateway.name)
                        .map(|(_, g)| g.name.as_str())
                        .collect();
                    self.error(
                        key,
                        if names.is_empty() {
                            format!("{desk:?} is not a gateway here, and there is no other")
                        } else {
                            format!(
                                "{desk:?} is not a gateway here; the others are: {}",
                                names.join(", ")
                            )
                        },
                    );
                } else if gateway.transfer_to[..i].contains(desk) {
                    self.error(key, format!("{desk:?} is named twice"));
                }
            }
        }
        let mut names: HashMap<String, String> = HashMap::new();
        let mut domains: HashMap<String, String> = HashMap::new();
        let mut ports: HashMap<String, String> = HashMap::new();
        for (index, gateway) in gateways {
            let at = gateway_label(*index, Some(&gateway.name));
            let variable_name = environment_name(&gateway.name);
            if let Some(first) = names.get(&variable_name) {
                self.error(
                    format!("{at}.name"),
                    format!(
                        "{first} has the same name (or the same variable name \
                         TEXTGATE_GATEWAY_{variable_name}_…)"
                    ),
                );
            } else {
                names.insert(variable_name, at.clone());
            }
            // Domains compare case-insensitively, as the XMPP server compares them.
            let domain = gateway.domain.to_ascii_lowercase();
            if let Some(first) = domains.get(&domain) {
                self.error(
                    format!("{at}.domain"),
                    format!("{:?} is already the domain of {first}", gateway.domain),
                );
            } else {
                domains.insert(domain, at.clone());
            }
            // Two drivers on one port would steal each other's replies.
            let port = match &gateway.driver {
                DriverConfig::At(modem) => match (&modem.device, &modem.address) {
                    (Some(device), _) => Some(("device", device.display().to_string())),
                    (None, Some(address)) => Some(("address", address.clone())),
                    (None, None) => None,
                },
                DriverConfig::Simulator(simulator) => {
                    simulator.address.clone().map(|a| ("address", a))
                }
                DriverConfig::Smtp(_) | DriverConfig::Smpp(_) | DriverConfig::Android(_) => None,
            };
            if let Some((field, port)) = port {
                if let Some(first) = ports.get(&port) {
                    self.error(
                        format!("{at}.driver.{field}"),
                        format!("{port} is already used by {first}"),
                    );
                } else {
                    ports.insert(port, at.clone());
                }
            }
        }
    }
}
