//! What the alert service needs from the configuration, as plain values: the binary builds
//! an [`AlertSettings`] from its `[alerts]` and gateway sections (the web console's own
//! settings, such as the cookie's `Secure` attribute, are the web crate's).

use chrono::TimeDelta;
use textgate_alerts::campaign::ModemRate;
use textgate_alerts::confirmation::{ConfirmationKey, ConfirmationPolicy};
use textgate_alerts::{
    BlindIndex, CarrierTable, ComposeLimits, FieldCipher, KeywordReplies, KeywordTable, Region,
    ReviewPolicy, TestRatePolicy,
};
use textgate_gsm::segment::Segmenter;

use crate::webhooks::{Webhook, WebhookPolicy};

/// Argon2id cost parameters for password hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for PasswordCost {
    /// The OWASP recommendation for argon2id: 19 MiB, 2 iterations, 1 lane.
    fn default() -> Self {
        PasswordCost {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// How many failed sign-ins are tolerated before sign-in is refused for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigninLimit {
    pub per_account: i64,
    pub per_address: i64,
    pub window: TimeDelta,
}

impl Default for SigninLimit {
    /// 5 failures per account and 20 per address in 15 minutes.
    fn default() -> Self {
        SigninLimit {
            per_account: 5,
            per_address: 20,
            window: TimeDelta::minutes(15),
        }
    }
}

/// One modem that campaign deliveries are spread over, and the gateway it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignModem {
    pub gateway: String,
    pub rate: ModemRate,
}

/// A gateway the send API may send texts through, with how it reads numbers and how
/// long a text it sends (as `textgate send` and the librarians' replies do).
#[derive(Debug, Clone)]
pub struct TextGateway {
    pub name: String,
    /// Region for numbers given without a country code (the gateway's `default_region`).
    pub region: Region,
    /// The gateway's segmenter (its `max_parts`).
    pub segmenter: Segmenter,
}

/// Everything the alert service needs besides the store.
#[derive(Clone)]
pub struct AlertSettings {
    pub cipher: FieldCipher,
    pub blind_index: BlindIndex,
    pub confirmation_key: ConfirmationKey,
    pub confirmation_policy: ConfirmationPolicy,
    pub compose_limits: ComposeLimits,
    pub segmenter: Segmenter,
    /// Region for numbers typed without a country code.
    pub region: Region,
    /// Modems for campaigns (and legacy e-mail gateways, `SendPath::CarrierEmail`); the
    /// first real modem's gateway also sends members' tests, codes and keyword replies.
    pub modems: Vec<CampaignModem>,
    pub password_cost: PasswordCost,
    pub signin_limit: SigninLimit,
    /// How long a session lasts (the web console's cookie lasts as long).
    pub session_lifetime: TimeDelta,
    pub keywords: KeywordTable,
    pub replies: KeywordReplies,
    pub review: ReviewPolicy,
    pub test_rate: TestRatePolicy,
    /// Carriers offered on the member page, and those the e-mail gateways can reach (the
    /// daemon uses the first e-mail gateway's carrier file when it has one).
    pub carriers: CarrierTable,
    /// The scheduled "please review your details" text.
    pub review_reminder: String,
    /// Gateways the send API may use, the first being the default: those that reach any
    /// number (modems, message centres), never the legacy e-mail path.
    pub text_gateways: Vec<TextGateway>,
    /// Outbound webhooks (`[[webhook]]`), and how their deliveries are posted and retried.
    pub webhooks: Vec<Webhook>,
    pub webhook_policy: WebhookPolicy,
    /// Who must agree before a real alert goes out.
    pub approval: Approval,
    /// The public CAP 1.2 messages and feeds (`[alerts.feed]`); `None`: none.
    pub feed: Option<crate::feeds::FeedSettings>,
    /// Ready texts per scenario for the compose pages (`[[alerts.template]]`).
    pub templates: Vec<textgate_alerts::Template>,
    /// Optional groups members choose besides emergency alerts (`[[alerts.group]]`).
    pub groups: Vec<AlertGroup>,
    /// The SMTP relay for alerts' e-mail copies (`[alerts.email]`); `None`: no e-mail.
    pub email: Option<textgate_modem::SmtpConfig>,
    /// The alerts' XMPP component, its staff JIDs and room (`[alerts.xmpp]`); `None`: no
    /// alerts over XMPP.
    pub xmpp: Option<crate::xmpp::XmppChannel>,
}

/// An optional group of members (`[[alerts.group]]`): closures, weather ... Emergency
/// alerts reach every confirmed member whatever they chose; a group's messages reach those
/// who joined it, on their page or by texting `JOIN <name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertGroup {
    /// Lower-case letters, digits and `-`: the word members text (`JOIN closures`).
    pub name: String,
    /// What the pages show ("Library closures").
    pub title: String,
}

/// Who must agree before a real alert goes out (`[alerts] approval`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    /// The emergency administrator who confirms it sends it.
    OnePerson,
    /// A second emergency administrator approves it within `expires_after`, or it never
    /// goes out.
    TwoPerson { expires_after: TimeDelta },
}

impl std::fmt::Debug for AlertSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertSettings")
            .field("region", &self.region)
            .field("modems", &self.modems)
            .field("webhooks", &self.webhooks)
            .finish_non_exhaustive()
    }
}

impl AlertSettings {
    /// A gateway's configured campaign rate in SMS parts a minute: its modems' together
    /// (a gateway may have several in the plan).
    pub fn gateway_rate(&self, gateway: &str) -> u32 {
        self.modems
            .iter()
            .filter(|m| m.gateway == gateway)
            .map(|m| m.rate.per_minute)
            .fold(0, u32::saturating_add)
    }

    /// Settings with the defaults of the alerts crate around the three secrets.
    pub fn new(
        cipher: FieldCipher,
        blind_index: BlindIndex,
        confirmation_key: ConfirmationKey,
        region: Region,
        modems: Vec<CampaignModem>,
    ) -> AlertSettings {
        let mut text_gateways: Vec<TextGateway> = Vec::new();
        for modem in modems.iter().filter(|m| m.rate.path.reaches_any_number()) {
            if !text_gateways.iter().any(|g| g.name == modem.gateway) {
                text_gateways.push(TextGateway {
                    name: modem.gateway.clone(),
                    region,
                    segmenter: Segmenter::default(),
                });
            }
        }
        AlertSettings {
            cipher,
            blind_index,
            confirmation_key,
            confirmation_policy: ConfirmationPolicy::default(),
            compose_limits: ComposeLimits::default(),
            segmenter: Segmenter::default(),
            region,
            modems,
            password_cost: PasswordCost::default(),
            signin_limit: SigninLimit::default(),
            session_lifetime: TimeDelta::hours(12),
            keywords: KeywordTable::default(),
            replies: KeywordReplies::defaults("textgate alerts", "the library"),
            review: ReviewPolicy::default(),
            test_rate: TestRatePolicy::default(),
            carriers: CarrierTable::builtin(),
            review_reminder: "Your emergency alert details are over 6 months old. Please sign in to the alert page and press Save to confirm them. Reply STOP to opt out.".to_string(),
            text_gateways,
            webhooks: Vec::new(),
            webhook_policy: WebhookPolicy::default(),
            approval: Approval::OnePerson,
            feed: None,
            templates: Vec::new(),
            groups: Vec::new(),
            email: None,
            xmpp: None,
        }
    }

    /// The gateway that sends single texts (tests, codes, keyword replies): the first with
    /// a modem or a message centre, since the legacy e-mail path reaches only members with
    /// a carrier.
    pub fn primary_gateway(&self) -> Option<&str> {
        self.modems
            .iter()
            .find(|m| m.rate.path.reaches_any_number())
            .or(self.modems.first())
            .map(|m| m.gateway.as_str())
    }

    /// The gateways campaign modems belong to, each once, in configuration order.
    pub fn gateways(&self) -> Vec<String> {
        let mut names: Vec<String> = self.modems.iter().map(|m| m.gateway.clone()).collect();
        names.dedup();
        names
    }
}
