//! Test harness for the console: a fresh database per test on either back end (made by
//! `textgate-testkit`: PostgreSQL from `DATABASE_URL`, default the local server as user
//! postgres; SQLite in a temporary directory), the alert service and the console on it
//! with a manual clock, and a small cookie-keeping client that drives the router in
//! process.

#![allow(dead_code)] // Each test binary uses a different part of the harness.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, TimeZone, Utc};
use futures::FutureExt;
use textgate_alert_service::{AlertService, AlertSettings, CampaignModem, PasswordCost};
use textgate_alerts::campaign::ModemRate;
use textgate_alerts::cipher::{FieldKey, KeyId, KeyRing};
use textgate_alerts::confirmation::ConfirmationKey;
use textgate_alerts::{BlindIndex, BlindIndexKey, FieldCipher, Role, Roles};
use textgate_store::{BackendKind, Database as Pool, ManualClock, Store};
use textgate_testkit::{FreshPostgres, FreshSqlite};
use textgate_web::{router, CookieSecurity, WebSettings, WebState};
use tower::ServiceExt;

pub const GATEWAY: &str = "main";
pub const PASSWORD: &str = "a long enough password";

pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0)
        .single()
        .expect("valid time")
}

/// A database that exists for one test.
pub struct Database {
    pub url: String,
    backing: Backing,
}

enum Backing {
    Postgres(FreshPostgres),
    Sqlite(FreshSqlite),
}

impl Database {
    pub async fn create(kind: BackendKind) -> Database {
        let backing = match kind {
            BackendKind::Postgres => Backing::Postgres(
                FreshPostgres::create("textgate_web_test")
                    .await
                    .expect("create test database"),
            ),
            BackendKind::Sqlite => {
                Backing::Sqlite(FreshSqlite::create("web.db").expect("temporary directory"))
            }
        };
        let url = match &backing {
            Backing::Postgres(db) => db.url().to_string(),
            Backing::Sqlite(db) => db.url().to_string(),
        };
        Database { url, backing }
    }

    pub async fn drop_database(self) {
        if let Backing::Postgres(db) = self.backing {
            db.cleanup().await.expect("drop test database");
        }
    }
}

/// Settings with fixed test keys, cheap password hashing and two modems on one gateway.
pub fn settings() -> AlertSettings {
    let key = |seed: u8| {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = seed.wrapping_mul(31).wrapping_add(i as u8);
        }
        bytes
    };
    let ring = KeyRing::new(
        KeyId::new("test-1").expect("key id"),
        FieldKey::from_bytes(key(1)),
    );
    let mut s = AlertSettings::new(
        FieldCipher::new(ring),
        BlindIndex::new(BlindIndexKey::from_bytes(key(2))),
        ConfirmationKey::from_bytes(key(3)),
        "US".parse().expect("region"),
        vec![
            CampaignModem {
                gateway: GATEWAY.into(),
                rate: ModemRate::new("main/modem0", 20),
            },
            CampaignModem {
                gateway: GATEWAY.into(),
                rate: ModemRate::new("main/modem1", 20),
            },
        ],
    );
    s.password_cost = PasswordCost {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };
    s
}

/// A console on a fresh database.
#[derive(Clone)]
pub struct App {
    pub state: WebState,
    pub router: Router,
    pub clock: ManualClock,
    pub url: String,
}

/// The console's settings for tests: cookies over plain HTTP.
pub fn web_settings() -> WebSettings {
    WebSettings {
        cookie: CookieSecurity::AllowPlainHttp,
        ..WebSettings::default()
    }
}

impl App {
    /// The same database and clock, with the alert settings changed by `change`.
    pub fn with_settings(&self, change: impl FnOnce(&mut AlertSettings)) -> App {
        let mut s = settings();
        change(&mut s);
        let state = console(self.state.store.clone(), s, &self.clock);
        App {
            router: router(state.clone()),
            state,
            clock: self.clock.clone(),
            url: self.url.clone(),
        }
    }

    /// A member whose `number` is confirmed, through the member page.
    pub async fn confirmed_member(&self, email: &str, number: &str) {
        let mut m = self.signed_in(email, &[Role::Member]).await;
        m.post("/alerts", &[("action", "save"), ("number", number)])
            .await;
        let code = self.last_code().await;
        let r = m.post("/alerts/confirm", &[("code", &code)]).await;
        assert!(r.body.contains("Your number is confirmed"), "{}", r.body);
    }

    /// Confirms a real alert as `admin` through the send form, following campaign `id` as
    /// an `update` or `cancel` when `follows` says so; the campaign's id.
    pub async fn send_real(
        &self,
        admin: &mut Client,
        text: &str,
        follows: Option<(i64, &str)>,
    ) -> i64 {
        let follows_id = follows.map(|(id, _)| id.to_string()).unwrap_or_default();
        let mut form = vec![("action", "send"), ("text", text)];
        if let Some((_, kind)) = follows {
            form.push(("follows", &follows_id));
            form.push(("as", kind));
        }
        let r = admin.post("/admin/alert/send", &form).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let id = self.last_send("real").await;
        assert_eq!(r.location(), format!("/admin/campaigns/{id}"));
        id
    }

    /// An account with `roles`, created as from the command line.
    pub async fn account(&self, email: &str, roles: &[Role]) -> i64 {
        self.state
            .alerts
            .accounts()
            .create_admin(email, PASSWORD, Roles::new(roles.iter().copied()))
            .await
            .expect("create account")
    }

    pub fn client(&self) -> Client {
        Client {
            router: self.router.clone(),
            cookie: None,
            ip: "192.0.2.10:50000".parse().expect("addr"),
            last_body: String::new(),
        }
    }

    /// A client signed in as a new account with `roles`.
    pub async fn signed_in(&self, email: &str, roles: &[Role]) -> Client {
        self.account(email, roles).await;
        let mut c = self.client();
        let r = c.sign_in(email, PASSWORD).await;
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "sign-in of {email}: {}",
            r.body
        );
        c
    }

    /// Bodies of the outbox texts of a send, oldest first.
    /// Campaign `id`'s deliveries (recipient, body) once its enqueuer has finished.
    pub async fn outbox_once_enqueued(&self, id: i64) -> Vec<(String, String)> {
        use textgate_alert_service::sends::CampaignState;
        let campaigns = self.state.alerts.campaigns();
        let mut signal = campaigns.enqueued_signal();
        loop {
            let send = campaigns.send(id).await.expect("read").expect("the send");
            if send.campaign_state == Some(CampaignState::Enqueued) {
                break;
            }
            // The enqueuer runs in the background and signals each campaign it finishes.
            tokio::time::timeout(std::time::Duration::from_secs(30), signal.changed())
                .await
                .expect("enqueued in time")
                .expect("signal");
        }
        self.outbox_bodies(id).await
    }

    pub async fn outbox_bodies(&self, campaign_id: i64) -> Vec<(String, String)> {
        let q = "SELECT recipient, body FROM outbound WHERE campaign_id = $1 ORDER BY id";
        match self.state.store.database() {
            Pool::Postgres(p) => sqlx::query_as(q)
                .bind(campaign_id)
                .fetch_all(p)
                .await
                .expect("outbox"),
            Pool::Sqlite(p) => sqlx::query_as(q)
                .bind(campaign_id)
                .fetch_all(p)
                .await
                .expect("outbox"),
        }
    }

    /// The id of the account signed in as `email`.
    pub async fn account_id(&self, email: &str) -> i64 {
        self.count(&format!(
            "SELECT id FROM web_accounts WHERE email = '{email}'"
        ))
        .await
    }

    /// One scalar from the console's database.
    pub async fn count(&self, sql: &str) -> i64 {
        match self.state.store.database() {
            Pool::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.expect(sql),
            Pool::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.expect(sql),
        }
    }

    /// The newest send of `kind` ('confirmation', 'member-test', 'test', 'real').
    pub async fn last_send(&self, kind: &str) -> i64 {
        let sql = format!("SELECT COALESCE(MAX(id), 0) FROM alert_sends WHERE kind = '{kind}'");
        self.count(&sql).await
    }

    /// The confirmation code in the newest confirmation text.
    pub async fn last_code(&self) -> String {
        let id = self.last_send("confirmation").await;
        let bodies = self.outbox_bodies(id).await;
        let body = &bodies.first().expect("a confirmation text").1;
        body.split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .unwrap_or_else(|| panic!("no code in {body:?}"))
            .to_string()
    }
}

pub async fn open_app(url: &str) -> App {
    let clock = ManualClock::new(start_time());
    let store = Store::open(url)
        .await
        .expect("open store")
        .with_clock(clock.clone());
    let state = console(store, settings(), &clock);
    App {
        router: router(state.clone()),
        state,
        clock,
        url: url.to_string(),
    }
}

/// The alert service with `settings` and the console over `store`, on `clock`.
pub fn console(store: Store, settings: AlertSettings, clock: &ManualClock) -> WebState {
    let alerts = AlertService::new(store, settings)
        .expect("alert service")
        .with_clock(clock.clone());
    WebState::new(alerts, web_settings()).expect("state")
}

/// Runs `test` on a fresh database of `kind` and drops it afterwards (also on panic).
pub async fn run<F, Fut>(kind: BackendKind, test: F)
where
    F: FnOnce(App) -> Fut,
    Fut: Future<Output = ()>,
{
    let database = Database::create(kind).await;
    let app = open_app(&database.url).await;
    let result = AssertUnwindSafe(test(app.clone())).catch_unwind().await;
    app.state.store.close().await;
    database.drop_database().await;
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// Runs `test` on PostgreSQL and then on SQLite.
pub async fn both<F, Fut>(test: F)
where
    F: Fn(App) -> Fut,
    Fut: Future<Output = ()>,
{
    run(BackendKind::Postgres, &test).await;
    run(BackendKind::Sqlite, &test).await;
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A browser-like client: keeps the session cookie, finds the CSRF token in pages.
pub struct Client {
    router: Router,
    pub cookie: Option<String>,
    pub ip: SocketAddr,
    pub last_body: String,
}

/// The value of the first `name="csrf" value="…"` in a page.
pub fn csrf_in(body: &str) -> Option<String> {
    let at = body.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let end = body[at..].find('"')?;
    Some(body[at..at + end].to_string())
}

impl Client {
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(c) = &self.cookie {
            req = req.header(header::COOKIE, format!("textgate_session={c}"));
        }
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let mut req = req.body(Body::from(body)).expect("request");
        req.extensions_mut().insert(ConnectInfo(self.ip));
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("infallible router");
        let status = resp.status();
        let headers = resp.headers().clone();
        for v in headers.get_all(header::SET_COOKIE) {
            let v = v.to_str().expect("ascii cookie");
            if let Some(rest) = v.strip_prefix("textgate_session=") {
                let value = rest.split(';').next().unwrap_or("");
                self.cookie = if value.is_empty() {
                    None
                } else {
                    Some(value.to_string())
                };
            }
        }
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body")
            .to_vec();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        if body.contains("name=\"csrf\"") {
            self.last_body = body.clone();
        }
        Reply {
            status,
            headers,
            body,
            bytes,
        }
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.send(Method::GET, path, None, Vec::new(), &[]).await
    }

    /// Posts a form as it is, without adding a CSRF token.
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = serde_urlencoded::to_string(fields).expect("form");
        self.send(
            Method::POST,
            path,
            Some("application/x-www-form-urlencoded"),
            body.into_bytes(),
            &[],
        )
        .await
    }

    /// The CSRF token of the last page with a form (fetching `/alerts` if none yet).
    pub async fn csrf(&mut self) -> String {
        if let Some(t) = csrf_in(&self.last_body) {
            return t;
        }
        let page = if self.cookie.is_some() {
            "/alerts"
        } else {
            "/signin"
        };
        let r = self.get(page).await;
        csrf_in(&r.body).unwrap_or_else(|| panic!("no CSRF token in {page}: {}", r.body))
    }

    /// Posts a form with this session's CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let token = self.csrf().await;
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Reply {
        let page = self.get("/signin").await;
        let token = csrf_in(&page.body).expect("sign-in form has a CSRF token");
        let r = self
            .post_raw(
                "/signin",
                &[("csrf", &token), ("email", email), ("password", password)],
            )
            .await;
        self.last_body.clear();
        r
    }

    /// A JSON request with the session's CSRF token in the header.
    pub async fn json(&mut self, method: Method, path: &str, body: serde_json::Value) -> Reply {
        let token = self.csrf().await;
        self.send(
            method,
            path,
            Some("application/json"),
            body.to_string().into_bytes(),
            &[("x-csrf-token", &token)],
        )
        .await
    }
}
