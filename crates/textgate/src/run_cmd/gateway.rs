//! A `[[gateway]]` section as the runtime and its XMPP component take it, and the start of
//! one gateway with the driver its `[gateway.driver]` names. Kept apart from the daemon's
//! start and stop so a section's translation reads in one place; the drivers' own
//! settings are in [`super::drivers`].

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use textgate_alert_service::AlertService;
use textgate_android_driver::AndroidDriver;
use textgate_core::{AvailabilityRule, BareJid, Region, RoutingPolicy};
use textgate_gateway::{Gateway, GatewaySettings, Hooks, OutboxPolicy};
use textgate_modem::{AtModem, ModemEvents, SmsDriver};
use textgate_store::{Store, TranscriptPolicy};
use textgate_xmpp::ComponentConfig;

use super::drivers::{modem_config, opener, smpp_config, smtp_driver};
use super::LOG_TARGET;
use crate::config::{DriverConfig, GatewayConfig, Routing, Show, Transcripts};

pub(super) async fn start_gateway(
    gateway: &GatewayConfig,
    all: &[GatewayConfig],
    store: &Store,
    hooks: Hooks,
    stop_grace: Duration,
    alerts: Option<&AlertService>,
    phone: Option<(AndroidDriver, ModemEvents)>,
) -> anyhow::Result<Gateway> {
    let mut settings = settings(gateway)?;
    settings.outbox.stop_grace = stop_grace;
    settings.transfer_desks = transfer_desks(gateway, all)?;
    let component = component(gateway, settings.region)?;
    let (driver, events) = match &gateway.driver {
        DriverConfig::Android(_) => {
            let (driver, events) = phone.context("the Android driver was not started")?;
            settings.health_device = "phone".to_owned();
            (Arc::new(driver) as Arc<dyn SmsDriver>, events)
        }
        DriverConfig::Smtp(smtp) => smtp_driver(gateway, smtp, alerts)?,
        DriverConfig::Smpp(smpp) => {
            let config =
                smpp_config(smpp).with_context(|| format!("gateway {}: driver", gateway.name))?;
            let (driver, events) = textgate_smpp_driver::SmppDriver::spawn(config)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("gateway {}: driver", gateway.name))?;
            tracing::info!(target: LOG_TARGET, gateway = %gateway.name, smsc = %smpp.address, "SMPP driver started");
            (Arc::new(driver) as Arc<dyn SmsDriver>, events)
        }
        DriverConfig::At(_) | DriverConfig::Simulator(_) => {
            let opener = opener(&gateway.driver)?;
            let modem = modem_config(gateway)?;
            let (driver, events) = AtModem::spawn(modem, opener);
            tracing::info!(target: LOG_TARGET, gateway = %gateway.name, device = driver.device(), "modem driver started");
            (Arc::new(driver) as Arc<dyn SmsDriver>, events)
        }
    };
    Gateway::start_with(settings, store.clone(), driver, events, component, hooks)
        .await
        .map_err(Into::into)
}

/// The desks `gateway`'s librarians may hand conversations to (`transfer_to`): the other
/// gateways' librarians, by gateway name.
fn transfer_desks(
    gateway: &GatewayConfig,
    all: &[GatewayConfig],
) -> anyhow::Result<Vec<textgate_gateway::settings::TransferDesk>> {
    gateway
        .transfer_to
        .iter()
        .map(|name| {
            let other = all.iter().find(|g| &g.name == name).with_context(|| {
                format!(
                    "gateway {}: transfer_to names no gateway {name}",
                    gateway.name
                )
            })?;
            let operators = other
                .operators
                .iter()
                .map(|jid| {
                    BareJid::new(jid).with_context(|| format!("gateway {}: operators", other.name))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(textgate_gateway::settings::TransferDesk {
                name: other.name.clone(),
                display_name: other.display_name.clone(),
                operators,
            })
        })
        .collect()
}

/// The runtime's settings from a `[[gateway]]` section.
pub fn settings(gateway: &GatewayConfig) -> anyhow::Result<GatewaySettings> {
    let region: Region = gateway
        .default_region
        .parse()
        .with_context(|| format!("gateway {}: default_region", gateway.name))?;
    let mut settings = GatewaySettings::new(&gateway.name, &gateway.domain, region);
    settings.availability =
        AvailabilityRule::new(gateway.available_shows.iter().map(|s| match s {
            Show::Chat => textgate_core::Show::Chat,
            Show::Available => textgate_core::Show::Online,
            Show::Away => textgate_core::Show::Away,
            Show::Xa => textgate_core::Show::Xa,
            Show::Dnd => textgate_core::Show::Dnd,
        }))
        .with_away_fallback(gateway.away_fallback);
    settings.claim_collisions = match gateway.claim_collisions {
        crate::config::ClaimCollisions::Allow => textgate_gateway::settings::ClaimCollisions::Allow,
        crate::config::ClaimCollisions::Warn => textgate_gateway::settings::ClaimCollisions::Warn,
        crate::config::ClaimCollisions::Refuse => {
            textgate_gateway::settings::ClaimCollisions::Refuse
        }
    };
    settings.privacy_handles = gateway.privacy_handles;
    settings.notice_placement = match gateway.notices {
        crate::config::NoticePlacement::Gateway => {
            textgate_gateway::settings::NoticePlacement::Gateway
        }
        crate::config::NoticePlacement::Conversation => {
            textgate_gateway::settings::NoticePlacement::Conversation
        }
    };
    settings.routing = match gateway.routing {
        Routing::Claim => RoutingPolicy::FirstReplyClaims,
        Routing::Broadcast => RoutingPolicy::Broadcast,
    };
    settings.max_parts = gateway.max_parts;
    settings.multipart_notice = match &gateway.notice_multipart {
        crate::config::MultipartNotice::Off => None,
        crate::config::MultipartNotice::Template(t) => Some(t.clone()),
    };
    settings.transcripts = match gateway.transcripts {
        Transcripts::Off => TranscriptPolicy::EraseOnDelivery,
        Transcripts::On => TranscriptPolicy::Keep,
    };
    settings.call_auto_reply = gateway.call_auto_reply.clone();
    settings.health_notices = gateway.health.notices;
    settings.health_notice_interval = gateway.health.every;
    settings.signal_below = gateway.health.signal_below_dbm;
    settings.backlog_above = gateway.health.backlog_above;
    settings.health_watchers = watchers(gateway)?;
    settings.health_device = match &gateway.driver {
        DriverConfig::Android(_) => "phone",
        DriverConfig::Smpp(_) => "link to the SMS provider",
        DriverConfig::Smtp(_) => "e-mail relay",
        _ => "modem",
    }
    .to_owned();
    settings.desk = textgate_gateway::settings::DeskSettings {
        hours: gateway
            .desk
            .hours()
            .map_err(|e| anyhow::anyhow!("gateway {}: desk: {e}", gateway.name))?,
        closed_reply: Some(gateway.desk.closed_reply.clone()).filter(|r| !r.is_empty()),
        unattended_reply: gateway.desk.unattended_reply.clone(),
        auto_reply_every: gateway.desk.auto_reply_every,
        keywords: gateway.desk.keywords.clone(),
        mms_reply: gateway.desk.mms_reply.clone(),
        conversation_ends_after: gateway.desk.conversation_ends_after,
        flood_limit: gateway.desk.flood_limit,
        flood_window: gateway.desk.flood_window,
    };
    settings.outbox = OutboxPolicy {
        max_attempts: gateway.outbox.max_attempts,
        initial_backoff: gateway.outbox.initial_backoff,
        max_backoff: gateway.outbox.max_backoff,
        lease: gateway.outbox.lease,
        report_wait: gateway.outbox.report_wait,
        ..OutboxPolicy::default()
    };
    Ok(settings)
}

/// Who hears the health notices besides the operators (`[gateway.health] notify`).
fn watchers(gateway: &GatewayConfig) -> anyhow::Result<Vec<BareJid>> {
    gateway
        .health
        .notify
        .iter()
        .map(|jid| {
            BareJid::new(jid)
                .with_context(|| format!("gateway {}: health.notify {jid:?}", gateway.name))
        })
        .collect()
}

/// The XMPP component's settings from a `[[gateway]]` section.
pub fn component(gateway: &GatewayConfig, region: Region) -> anyhow::Result<ComponentConfig> {
    let operators = gateway
        .operators
        .iter()
        .map(|o| {
            BareJid::new(o).with_context(|| format!("gateway {}: operator {o:?}", gateway.name))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut component = ComponentConfig::new(
        &gateway.domain,
        gateway.secret.expose(),
        &gateway.server,
        operators,
        region,
    );
    component.display_name.clone_from(&gateway.display_name);
    component.watchers = watchers(gateway)?;
    Ok(component)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::Path;
    use textgate_modem::quirks::ProfileChoice;

    use crate::config::Config;
    use crate::run_cmd::MODEM_GATEWAY;

    #[test]
    fn a_gateway_section_becomes_runtime_settings() {
        let loaded =
            Config::from_toml(MODEM_GATEWAY, &BTreeMap::new(), "test", Path::new(".")).unwrap();
        let gateway = &loaded.config.gateways[0];
        let settings = settings(gateway).unwrap();
        let component = component(gateway, settings.region).unwrap();
        let modem = modem_config(gateway).unwrap();
        let summary = format!(
            "{} {} {} routing={:?} max_parts={} notice={:?} transcripts={:?} auto_reply={:?}\n\
             outbox={:?}\navailable: online={} away={} chat={}\n\
             component: {} {} operators={:?}\nmodem: {:?} network timeout={:?} device={}",
            settings.name,
            settings.domain,
            settings.region,
            settings.routing,
            settings.max_parts,
            settings.multipart_notice(2),
            settings.transcripts,
            settings.call_auto_reply,
            (
                settings.outbox.max_attempts,
                settings.outbox.initial_backoff,
                settings.outbox.max_backoff
            ),
            settings
                .availability
                .counts_as_available(textgate_core::Show::Online),
            settings
                .availability
                .counts_as_available(textgate_core::Show::Away),
            settings
                .availability
                .counts_as_available(textgate_core::Show::Chat),
            component.domain,
            component.server,
            component
                .operators
                .iter()
                .map(|o| o.as_str())
                .collect::<Vec<_>>(),
            match modem.profile {
                ProfileChoice::Fixed(p) => p.name,
                ProfileChoice::Detect => "detect",
            },
            modem.timeouts.network,
            opener(&gateway.driver).unwrap().describe(),
        );
        expect_test::expect![[r#"
            library sms.library.test GB routing=Broadcast max_parts=3 notice=Some("(2 texts)") transcripts=Keep auto_reply=Some("Texts only, please.")
            outbox=(2, 1s, 4s)
            available: online=true away=true chat=false
            component: sms.library.test 127.0.0.1:5347 operators=["alice@library.test", "bob@library.test"]
            modem: "quectel" network timeout=30s device=tcp://127.0.0.1:7001"#]].assert_eq(&summary);
    }
}
