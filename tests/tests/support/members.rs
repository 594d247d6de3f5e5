//! Members of the alert service, straight into the daemon's database for the campaign
//! tests: accounts and confirmed registrations whose numbers are encrypted under the
//! daemon's own keys (the service is built from the daemon's configuration file),
//! a thousand rows per statement as in the campaign benchmark, so that tens of thousands
//! of members take seconds. The single-member path (save, code by SMS, confirm) has its
//! own tests; these tests are about what a campaign does with many.

use std::path::Path;

use rand::rngs::OsRng;
use textgate_alert_service::tokens::TokenScope;
use textgate_alert_service::{Actor, AlertService, Credential};
use textgate_alerts::cipher::{FieldContext, FieldPurpose};
use textgate_store::{Database, Store};

/// One member: an E.164 number and the carrier chosen for the legacy e-mail path.
pub struct Member {
    pub number: String,
    pub carrier: Option<String>,
}

impl Member {
    pub fn new(number: impl Into<String>, carrier: Option<&str>) -> Member {
        Member {
            number: number.into(),
            carrier: carrier.map(str::to_owned),
        }
    }
}

/// The alert service on the daemon's database (a store of the test's own), from the same
/// configuration file the daemon reads (so the same keys).
pub async fn console(config_text: &str) -> AlertService {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config: &Path = &dir.path().join("textgate.toml");
    std::fs::write(config, config_text).expect("write the configuration");
    let loaded =
        textgate::config::Config::load(config, &Default::default()).expect("configuration");
    let settings = textgate::run_cmd::alert_settings(&loaded.config)
        .expect("alert settings")
        .expect("[alerts] is configured");
    let store = Store::open(loaded.config.database.url.expose())
        .await
        .expect("open the daemon's database");
    AlertService::new(store, settings).expect("the alert service")
}

/// Registers every member as confirmed (`active`), with accounts `member<n>@library.test`.
pub async fn seed(state: &AlertService, members: &[Member]) {
    let Database::Postgres(pool) = state.store().database() else {
        panic!("the campaign tests run on PostgreSQL")
    };
    let now = state.now();
    for (batch_no, batch) in members.chunks(1000).enumerate() {
        let mut accounts = sqlx::QueryBuilder::new(
            "INSERT INTO web_accounts (email, password_hash, roles, tester, created_at) ",
        );
        accounts.push_values(batch.iter().enumerate(), |mut row, (i, _)| {
            row.push_bind(format!("member{}@library.test", batch_no * 1000 + i))
                .push_bind("x")
                .push_bind("member")
                .push_bind(false)
                .push_bind(now);
        });
        accounts.push(" RETURNING id");
        let ids: Vec<i64> = accounts
            .build_query_scalar()
            .fetch_all(pool)
            .await
            .expect("insert accounts");
        assert_eq!(ids.len(), batch.len());
        let mut registrations = sqlx::QueryBuilder::new(
            "INSERT INTO alert_registrations (account_id, number_enc, number_index, carrier, \
             state, confirmation, last_updated, last_tested) ",
        );
        registrations.push_values(ids.iter().zip(batch), |mut row, (id, member)| {
            let context = FieldContext::new(FieldPurpose::MemberNumber, id.to_string());
            let encrypted = state
                .settings()
                .cipher
                .encrypt(&member.number, &context, &mut OsRng)
                .expect("encrypt a number");
            let index = state
                .settings()
                .blind_index
                .index_sender(&member.number)
                .expect("an E.164 number");
            row.push_bind(*id)
                .push_bind(encrypted.to_string())
                .push_bind(index.to_string())
                .push_bind(member.carrier.clone())
                .push_bind("active")
                .push_bind(None::<String>)
                .push_bind(now)
                .push_bind(None::<chrono::DateTime<chrono::Utc>>);
        });
        registrations
            .build()
            .execute(pool)
            .await
            .expect("insert registrations");
    }
}

/// An emergency administrator (chief@library.test) and an API token of theirs, for the
/// tests that send alerts through the JSON API.
pub async fn emergency_admin_token(state: &AlertService) -> String {
    let admin = state
        .accounts()
        .create_admin(
            "chief@library.test",
            "correct horse battery staple",
            textgate_alerts::Roles::new([
                textgate_alerts::Role::EmergencyAdministrator,
                textgate_alerts::Role::Member,
            ]),
        )
        .await
        .expect("create the emergency administrator");
    api_token(state, admin).await
}

/// An API token for `account` (the emergency administrator), to call the JSON API.
pub async fn api_token(state: &AlertService, account: i64) -> String {
    token(state, account, TokenScope::Console).await
}

/// A token with `scope` for `account`, made as its signed-in owner would.
pub async fn token(state: &AlertService, account: i64, scope: TokenScope) -> String {
    let owner = state
        .accounts()
        .get(account)
        .await
        .expect("read the account")
        .expect("the account exists");
    let actor = Actor {
        account: &owner,
        ip: "127.0.0.1",
        credential: Credential::Session,
    };
    state
        .tokens()
        .create(&actor, "e2e", scope)
        .await
        .expect("create the API token")
        .secret
}
