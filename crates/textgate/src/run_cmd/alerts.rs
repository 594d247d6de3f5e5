//! `[alerts]`, the `[[webhook]]` sections and `[http]`'s console keys as the alert service
//! and the web console take them. Apart from the gateways' settings because the alert
//! service reads every gateway at once (the campaign paths, the send API's gateways, the
//! e-mail gateway's carriers), and `textgate admin` and the end-to-end tests build the
//! same settings through [`alert_settings`].

use anyhow::{bail, Context};
use chrono::TimeDelta;
use textgate_alert_service::{
    AlertSettings, CampaignModem, ReceivedTexts, TextGateway, Webhook, WebhookEvent,
};
use textgate_alerts::{BlindIndex, BlindIndexKey, ConfirmationKey, FieldCipher, ModemRate};
use textgate_core::Region;
use textgate_web::{CookieSecurity, WebSettings};

use super::drivers::relay_config;
use crate::config::{Config, DriverConfig, WebhookReceived};

/// The alert service's settings from `[alerts]` and the gateways; `None` without
/// `[alerts]`.
pub fn alert_settings(config: &Config) -> anyhow::Result<Option<AlertSettings>> {
    let Some(alerts) = &config.alerts else {
        return Ok(None);
    };
    let ring = alerts.key_ring().context("alerts.encryption_key")?;
    let blind_index = BlindIndexKey::from_encoded(alerts.blind_index_key.expose())
        .context("alerts.blind_index_key")?;
    let confirmation = ConfirmationKey::from_encoded(alerts.confirmation_key.expose())
        .context("alerts.confirmation_key")?;
    let region: Region = match config.gateways.first() {
        Some(gateway) => gateway
            .default_region
            .parse()
            .with_context(|| format!("gateway {}: default_region", gateway.name))?,
        None => bail!("[alerts] needs at least one [[gateway]] to send through"),
    };
    let modems = config
        .gateways
        .iter()
        .map(|g| CampaignModem {
            gateway: g.name.clone(),
            rate: match &g.driver {
                DriverConfig::Smtp(_) => ModemRate::carrier_email(&g.name, g.rate_limit_per_minute),
                // The account's agreed rate, when the configuration gives one.
                DriverConfig::Smpp(smpp) => ModemRate::message_centre(
                    &g.name,
                    smpp.max_per_second
                        .map_or(g.rate_limit_per_minute, |rate| rate.saturating_mul(60)),
                ),
                DriverConfig::At(_) | DriverConfig::Simulator(_) => {
                    ModemRate::new(&g.name, g.rate_limit_per_minute)
                }
                // The phone sends no faster than its pace under Android's allowance.
                DriverConfig::Android(android) => {
                    ModemRate::new(&g.name, g.rate_limit_per_minute.min(android.per_minute))
                }
            },
        })
        .collect();
    // Members choose among the carriers the e-mail gateway knows (several e-mail gateways
    // should share one carrier file; the first one's is offered).
    let carriers = config.gateways.iter().find_map(|g| match &g.driver {
        DriverConfig::Smtp(smtp) => Some((g, smtp)),
        DriverConfig::At(_)
        | DriverConfig::Simulator(_)
        | DriverConfig::Smpp(_)
        | DriverConfig::Android(_) => None,
    });
    let mut settings = AlertSettings::new(
        FieldCipher::new(ring),
        BlindIndex::new(blind_index),
        confirmation,
        region,
        modems,
    );
    settings.compose_limits = alerts.compose_limits();
    settings.approval = match alerts.approval {
        crate::config::ApprovalConfig::OnePerson => textgate_alert_service::Approval::OnePerson,
        crate::config::ApprovalConfig::TwoPerson => textgate_alert_service::Approval::TwoPerson {
            expires_after: chrono::TimeDelta::from_std(alerts.approval_expires_after)
                .context("alerts.approval_expires_after is too long")?,
        },
    };
    settings.text_gateways = text_gateways(config)?;
    settings.webhooks = webhooks(config)?;
    settings.templates = alerts
        .templates
        .iter()
        .map(|t| textgate_alerts::Template {
            name: t.name.clone(),
            title: t.title.clone(),
            text: t.text.clone(),
        })
        .collect();
    settings.email = alerts.email.as_ref().map(|email| {
        relay_config(
            &email.relay,
            email.port,
            email.tls,
            &email.from,
            email.username.as_ref().zip(email.password.as_ref()),
        )
    });
    settings.xmpp = alerts.xmpp.as_ref().map(alerts_xmpp).transpose()?;
    settings.groups = alerts
        .groups
        .iter()
        .map(|g| textgate_alert_service::AlertGroup {
            name: g.name.clone(),
            title: g.title.clone(),
        })
        .collect();
    settings.feed = match &alerts.feed {
        None => None,
        Some(feed) => Some(textgate_alert_service::feeds::FeedSettings {
            url: feed.url.trim_end_matches('/').to_owned(),
            sender: feed.sender.clone(),
            sender_name: feed.sender_name.clone(),
            area: feed.area.clone(),
            language: feed.language.clone(),
            event: feed.event.clone(),
            active_for: chrono::TimeDelta::from_std(feed.active_for)
                .context("alerts.feed.active_for is too long")?,
        }),
    };
    if let Some((gateway, smtp)) = carriers {
        settings.carriers = crate::config::load_carrier_table(&smtp.carriers)
            .with_context(|| format!("gateway {}: driver.carriers", gateway.name))?;
    }
    Ok(Some(settings))
}

/// The `[[webhook]]` sections as the alert service takes them (validated already; a
/// value that still does not convert is reported under its key).
fn webhooks(config: &Config) -> anyhow::Result<Vec<Webhook>> {
    config
        .webhooks
        .iter()
        .map(|w| {
            let events = w
                .events
                .iter()
                .map(|e| {
                    WebhookEvent::parse(e).with_context(|| {
                        format!("webhook {}: events: {e:?} is not an event", w.name)
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let unattended_after = TimeDelta::from_std(w.unattended_after)
                .with_context(|| format!("webhook {}: unattended_after", w.name))?;
            Ok(Webhook {
                name: w.name.clone(),
                url: w.url.clone(),
                secret: w.secret.expose().to_owned(),
                events,
                gateways: w.gateways.clone(),
                received: match w.received {
                    WebhookReceived::Unattended => ReceivedTexts::Unattended,
                    WebhookReceived::All => ReceivedTexts::All,
                },
                unattended_after,
            })
        })
        .collect()
}

/// The gateways the send API may use, each reading numbers and splitting texts as its
/// own section says (as `textgate send` does); the e-mail path reaches only members with
/// a carrier, so it is not one of them.
fn text_gateways(config: &Config) -> anyhow::Result<Vec<TextGateway>> {
    let mut gateways = Vec::new();
    for g in &config.gateways {
        if matches!(g.driver, DriverConfig::Smtp(_)) {
            continue;
        }
        gateways.push(TextGateway {
            name: g.name.clone(),
            region: g
                .default_region
                .parse()
                .with_context(|| format!("gateway {}: default_region", g.name))?,
            segmenter: g.segmenter(),
        });
    }
    Ok(gateways)
}

/// The web console's own settings, from `[http]`.
pub fn web_settings(config: &Config) -> WebSettings {
    WebSettings {
        cookie: if config.http.secure_cookies {
            CookieSecurity::HttpsOnly
        } else {
            CookieSecurity::AllowPlainHttp
        },
        sends_per_minute: config.http.sends_per_minute,
    }
}

/// `[alerts.xmpp]` as the alert service takes it (checked already by the validation).
fn alerts_xmpp(
    xmpp: &crate::config::AlertXmppConfig,
) -> anyhow::Result<textgate_alert_service::xmpp::XmppChannel> {
    use textgate_core::BareJid;
    let room = match &xmpp.room {
        None => None,
        Some(room) => Some(textgate_xmpp::announcer::StaffRoom {
            room: BareJid::new(room).context("alerts.xmpp.room")?,
            nick: xmpp.nick.clone(),
        }),
    };
    let staff = xmpp
        .staff
        .iter()
        .map(|jid| BareJid::new(jid).context("alerts.xmpp.staff"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(textgate_alert_service::xmpp::XmppChannel {
        announcer: textgate_xmpp::announcer::AnnouncerConfig::new(
            &xmpp.component,
            xmpp.secret.expose(),
            &xmpp.server,
            room,
        ),
        staff,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use crate::run_cmd::{smtp_config, MODEM_GATEWAY};

    /// An e-mail gateway beside a modem: its driver settings from the section and the
    /// carrier file, and its place in campaign plans as the e-mail path.
    #[test]
    fn an_smtp_section_becomes_an_email_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("carriers.toml"),
            "[[carriers]]\nid = \"campus\"\nname = \"Campus Mobile\"\ncountry_code = 1\n\
             sms_domain = \"sms.campus.test\"\nstatus = \"active\"\nnote = \"\"\n",
        )
        .unwrap();
        let text = format!(
            "{MODEM_GATEWAY}
[[gateway]]
name = \"legacy\"
domain = \"mail.library.test\"
secret = \"s3cret\"
operators = [\"alice@library.test\"]
default_region = \"US\"
rate_limit_per_minute = 600

[gateway.driver]
kind = \"smtp\"
relay = \"relay.library.test\"
port = 465
tls = \"tls\"
from = \"alerts@library.test\"
username = \"alerts\"
password = \"pw\"
carriers = \"carriers.toml\"

[alerts]
blind_index_key = \"{a}\"
confirmation_key = \"{b}\"

[alerts.encryption_key]
id = \"2026-01\"
key = \"{c}\"
",
            a = "0123456789abcdef".repeat(4),
            b = "fedcba9876543210".repeat(4),
            c = "00112233445566778899aabbccddeeff".repeat(2),
        );
        let loaded = Config::from_toml(&text, &BTreeMap::new(), "test", dir.path()).unwrap();
        let DriverConfig::Smtp(smtp) = &loaded.config.gateways[1].driver else {
            panic!("an smtp driver")
        };
        let config = smtp_config(smtp, None).unwrap();
        let alerts = alert_settings(&loaded.config).unwrap().unwrap();
        let summary = format!(
            "{}:{} {:?} from {} credentials {:?} hard limit {}\n\
             paths: {:?}\noffered: {:?}\nsingle texts via {:?}",
            config.relay,
            config.port,
            config.security,
            config.from,
            config.credentials,
            config.hard_limit,
            alerts
                .modems
                .iter()
                .map(|m| (m.gateway.as_str(), m.rate.path, m.rate.per_minute))
                .collect::<Vec<_>>(),
            alerts
                .carriers
                .all()
                .iter()
                .map(|c| &c.id)
                .collect::<Vec<_>>(),
            alerts.primary_gateway(),
        );
        expect_test::expect![[r#"
            relay.library.test:465 Tls from alerts@library.test credentials Some(SmtpCredentials { username: "alerts", password: "<hidden>" }) hard limit 140
            paths: [("library", Radio, 20), ("legacy", CarrierEmail, 600)]
            offered: ["campus"]
            single texts via Some("library")"#]].assert_eq(&summary);
    }
}
