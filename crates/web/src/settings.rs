//! What the console needs from the configuration, as plain values: the binary builds a
//! [`WebSettings`] from its `[alerts]`, `[http]` and gateway sections.

use chrono::TimeDelta;
use textgate_alerts::campaign::{ModemRate, SendPath};
use textgate_alerts::confirmation::{ConfirmationKey, ConfirmationPolicy};
use textgate_alerts::{
    BlindIndex, CarrierTable, ComposeLimits, FieldCipher, KeywordReplies, KeywordTable, Region,
    ReviewPolicy, TestRatePolicy,
};
use textgate_gsm::segment::Segmenter;

/// Whether session cookies carry the `Secure` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieSecurity {
    /// `Secure`: the browser sends the cookie over HTTPS only. Use it whenever users reach
    /// the console over TLS, including through a TLS-terminating proxy.
    HttpsOnly,
    /// No `Secure` attribute: plain HTTP on a trusted network or in tests.
    AllowPlainHttp,
}

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

/// Everything the console needs besides the database.
#[derive(Clone)]
pub struct WebSettings {
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
    pub cookie: CookieSecurity,
    pub password_cost: PasswordCost,
    pub signin_limit: SigninLimit,
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
}

impl std::fmt::Debug for WebSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSettings")
            .field("region", &self.region)
            .field("modems", &self.modems)
            .field("cookie", &self.cookie)
            .finish_non_exhaustive()
    }
}

impl WebSettings {
    /// Settings with the defaults of the alerts crate around the three secrets.
    pub fn new(
        cipher: FieldCipher,
        blind_index: BlindIndex,
        confirmation_key: ConfirmationKey,
        region: Region,
        modems: Vec<CampaignModem>,
    ) -> WebSettings {
        WebSettings {
            cipher,
            blind_index,
            confirmation_key,
            confirmation_policy: ConfirmationPolicy::default(),
            compose_limits: ComposeLimits::default(),
            segmenter: Segmenter::default(),
            region,
            modems,
            cookie: CookieSecurity::HttpsOnly,
            password_cost: PasswordCost::default(),
            signin_limit: SigninLimit::default(),
            session_lifetime: TimeDelta::hours(12),
            keywords: KeywordTable::default(),
            replies: KeywordReplies::defaults("textgate alerts", "the library"),
            review: ReviewPolicy::default(),
            test_rate: TestRatePolicy::default(),
            carriers: CarrierTable::builtin(),
            review_reminder: "Your emergency alert details are over 6 months old. Please sign in to the alert page and press Save to confirm them. Reply STOP to opt out.".to_string(),
        }
    }

    /// The gateway that sends single texts (tests, codes, keyword replies): the first with
    /// a real modem, since the legacy e-mail path reaches only members with a carrier.
    pub fn primary_gateway(&self) -> Option<&str> {
        self.modems
            .iter()
            .find(|m| m.rate.path == SendPath::Radio)
            .or(self.modems.first())
            .map(|m| m.gateway.as_str())
    }
}
