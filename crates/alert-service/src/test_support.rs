//! The unit tests' service: a fresh database on each back end (PostgreSQL from
//! `DATABASE_URL`, SQLite in a temporary directory, made by `textgate-testkit`), the store
//! opened on it with its migrations, and the service over that store with fixed test keys
//! and cheap password hashing.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use textgate_alerts::campaign::ModemRate;
use textgate_alerts::cipher::{FieldKey, KeyId, KeyRing};
use textgate_alerts::confirmation::ConfirmationKey;
use textgate_alerts::{BlindIndex, BlindIndexKey, FieldCipher};
use textgate_store::{BackendKind, Store};
use textgate_testkit::{FreshPostgres, FreshSqlite};

use crate::{AlertService, AlertSettings, CampaignModem, PasswordCost};

/// Settings with fixed keys, one modem and cheap password hashing.
pub(crate) fn settings() -> AlertSettings {
    let key = |seed: u8| {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = seed.wrapping_mul(29).wrapping_add(i as u8);
        }
        bytes
    };
    let ring = KeyRing::new(
        KeyId::new("unit-1").expect("key id"),
        FieldKey::from_bytes(key(1)),
    );
    let mut settings = AlertSettings::new(
        FieldCipher::new(ring),
        BlindIndex::new(BlindIndexKey::from_bytes(key(2))),
        ConfirmationKey::from_bytes(key(3)),
        "US".parse().expect("region"),
        vec![CampaignModem {
            gateway: "main".into(),
            rate: ModemRate::new("main/modem0", 20),
        }],
    );
    settings.password_cost = PasswordCost {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };
    settings
}

/// Runs `test` with a service on a fresh PostgreSQL database and then on a fresh SQLite
/// one; each database is dropped afterwards, also when the test panics.
pub(crate) async fn on_both_backends<F, Fut>(test: F)
where
    F: Fn(AlertService) -> Fut,
    Fut: Future<Output = ()>,
{
    for kind in [BackendKind::Postgres, BackendKind::Sqlite] {
        let (url, postgres, _sqlite) = match kind {
            BackendKind::Postgres => {
                let db = FreshPostgres::create("textgate_alert_unit")
                    .await
                    .expect("create a test database");
                (db.url().to_string(), Some(db), None)
            }
            BackendKind::Sqlite => {
                let db = FreshSqlite::create("alerts.db").expect("a temporary directory");
                (db.url().to_string(), None, Some(db))
            }
        };
        let store = Store::open(&url).await.expect("open the store");
        let service = AlertService::new(store.clone(), settings()).expect("the service");
        let outcome = AssertUnwindSafe(test(service)).catch_unwind().await;
        store.close().await;
        if let Some(db) = postgres {
            db.cleanup().await.expect("drop the test database");
        }
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}
