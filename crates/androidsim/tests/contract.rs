//! The simulated phone's contract, driven over real HTTP on loopback: the app's local
//! server API (basic auth, send, state, webhooks), the message life, the signed webhooks
//! with their retries, and every fault a test can switch on.
//!
//! The webhook receiver here is a small axum server on a listener the test keeps for its
//! whole life. Signatures are checked with code written here from the app's scheme, not
//! with the simulator's: SMSGate's `PayloadSingingPlugin` (v1.68.0) signs the body text
//! followed by the `X-Timestamp` value (Unix seconds) with HMAC-SHA256 and the signing key,
//! and sends it as lower-case hex in `X-Signature` (payload signing section of
//! <https://docs.sms-gate.app/features/webhooks/>). Every wait has a timeout; nothing
//! sleeps to wait for something to happen.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::routing::post;
use axum::Router;
use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, FixedOffset, Utc};
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use sha2::Sha256;
use textgate_androidsim::{parts_count, AttemptOutcome, Phone, PhoneConfig};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Long enough for anything the simulator does with the short delays below, on a busy
/// machine.
const WAIT: Duration = Duration::from_secs(10);

/// Short delays, so a message is sent and delivered within a few tens of milliseconds and
/// a failed webhook is retried quickly.
fn fast() -> PhoneConfig {
    PhoneConfig {
        send_delay: Duration::from_millis(40),
        delivery_delay: Duration::from_millis(40),
        webhook_retry_base: Duration::from_millis(20),
        webhook_timeout: Duration::from_secs(3),
        ..PhoneConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// A client for the phone's API.

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} answered a body that is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

enum Auth<'a> {
    None,
    Basic(&'a str, &'a str),
    Raw(&'a str),
}

struct Api {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    username: String,
    password: String,
}

impl Api {
    fn new(phone: &Phone) -> Api {
        Api {
            // A fresh connection per request, so the offline fault meets each one.
            client: Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build_http(),
            base: phone.base_url(),
            username: phone.config().username.clone(),
            password: phone.config().password.clone(),
        }
    }

    /// One request; `Err` when no HTTP answer came (connection closed, refused).
    async fn try_call(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<&Value>,
    ) -> Result<Answer, String> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        let authorization = match auth {
            Auth::None => None,
            Auth::Basic(user, password) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
            Auth::Raw(raw) => Some(raw.to_owned()),
        };
        if let Some(authorization) = authorization {
            request = request.header("Authorization", authorization);
        }
        let body = match body {
            Some(value) => {
                request = request.header("Content-Type", "application/json");
                Bytes::from(value.to_string())
            }
            None => Bytes::new(),
        };
        let request = request.body(Full::new(body)).expect("request");
        let response = tokio::time::timeout(WAIT, self.client.request(request))
            .await
            .map_err(|_| format!("no answer within {WAIT:?}"))?
            .map_err(|e| format!("request failed: {e:?}"))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("reading body: {e}"))?
            .to_bytes();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        let auth = Auth::Basic(&self.username, &self.password);
        self.try_call(method.clone(), path, auth, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    async fn send(&self, body: &Value) -> Answer {
        self.call(Method::POST, "/messages", Some(body)).await
    }

    async fn state(&self, id: &str) -> Value {
        let answer = self
            .call(Method::GET, &format!("/messages/{id}"), None)
            .await;
        assert_eq!(answer.status, StatusCode::OK, "GET /messages/{id}");
        answer.json()
    }

    /// Registers `url` for `event`; returns the registration's id.
    async fn register(&self, url: &str, event: &str) -> String {
        let answer = self
            .call(
                Method::POST,
                "/webhooks",
                Some(&json!({ "url": url, "event": event })),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "register {event}");
        let body = answer.json();
        assert_eq!(body["url"], url);
        assert_eq!(body["event"], event);
        body["id"].as_str().expect("registration id").to_owned()
    }
}

fn text_message(id: &str, text: &str, numbers: &[&str]) -> Value {
    json!({ "id": id, "textMessage": { "text": text }, "phoneNumbers": numbers })
}

// ---------------------------------------------------------------------------------------
// A webhook receiver.

#[derive(Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("webhook without {name}: {:?}", self.headers))
    }
}

#[derive(Clone)]
struct ReceiverState {
    posts: mpsc::UnboundedSender<Received>,
    /// Statuses to answer, in order; 200 once they run out.
    script: Arc<Mutex<VecDeque<u16>>>,
}

struct Receiver {
    url: String,
    posts: mpsc::UnboundedReceiver<Received>,
    script: Arc<Mutex<VecDeque<u16>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn hook(State(state): State<ReceiverState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let status = state
        .script
        .lock()
        .expect("script lock")
        .pop_front()
        .unwrap_or(200);
    // The test may have finished listening; that is not the receiver's failure.
    let _ = state.posts.send(Received { headers, body });
    StatusCode::from_u16(status).expect("scripted status")
}

impl Receiver {
    /// Serves `POST /hook` on `127.0.0.1` on a port the system picks; the listener stays
    /// open as long as the receiver lives.
    async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let address = listener.local_addr().expect("receiver address");
        let (tx, posts) = mpsc::unbounded_channel();
        let script = Arc::new(Mutex::new(VecDeque::new()));
        let router = Router::new()
            .route("/hook", post(hook))
            .with_state(ReceiverState {
                posts: tx,
                script: script.clone(),
            });
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("receiver serves");
        });
        Receiver {
            url: format!("http://{address}/hook"),
            posts,
            script,
            server,
        }
    }

    /// The next statuses to answer (then 200 again).
    fn answer(&self, statuses: &[u16]) {
        self.script
            .lock()
            .expect("script lock")
            .extend(statuses.iter().copied());
    }

    async fn next(&mut self) -> Received {
        tokio::time::timeout(WAIT, self.posts.recv())
            .await
            .unwrap_or_else(|_| panic!("no webhook at {} within {WAIT:?}", self.url))
            .expect("receiver running")
    }
}

/// Whether `X-Signature` is HMAC-SHA256(key, body ‖ X-Timestamp), hex.
fn signature_valid(key: &str, post: &Received) -> bool {
    let timestamp = post.header("X-Timestamp");
    let Ok(signature) = hex::decode(post.header("X-Signature")) else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(&post.body);
    mac.update(timestamp.as_bytes());
    mac.verify_slice(&signature).is_ok()
}

fn received_at() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2025-05-01T10:20:30.456+02:00").expect("valid time")
}

// ---------------------------------------------------------------------------------------
// The API.

#[tokio::test]
async fn health_is_open_and_everything_else_needs_basic_auth() {
    let phone = Phone::start(fast()).await.expect("phone");
    let api = Api::new(&phone);

    let health = api
        .try_call(Method::GET, "/health", Auth::None, None)
        .await
        .expect("answer");
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json()["version"], "1.68.0");
    assert_eq!(health.json()["status"], "pass");

    let body = text_message("unauthorized-1", "hi", &["+15550001"]);
    let attempts = [
        ("no Authorization", Auth::None),
        ("wrong password", Auth::Basic("sms", "wrong")),
        ("wrong user", Auth::Basic("other", "password")),
        ("not Basic", Auth::Raw("Bearer c21zOnBhc3N3b3Jk")),
        ("not base64", Auth::Raw("Basic %%%")),
    ];
    for (what, auth) in attempts {
        let answer = api
            .try_call(Method::POST, "/messages", auth, Some(&body))
            .await
            .expect("answer");
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{what}");
        let challenge = answer
            .headers
            .get("WWW-Authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(challenge.starts_with("Basic"), "{what}: {challenge:?}");
    }
    for path in ["/webhooks", "/messages/unauthorized-1"] {
        let answer = api
            .try_call(Method::GET, path, Auth::Basic("sms", "wrong"), None)
            .await
            .expect("answer");
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "GET {path}");
    }

    // Nothing was accepted by the refused sends.
    let state = api
        .call(Method::GET, "/messages/unauthorized-1", None)
        .await;
    assert_eq!(state.status, StatusCode::NOT_FOUND);
    let list = api.call(Method::GET, "/webhooks", None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json(), json!([]));
}

#[tokio::test]
async fn send_is_accepted_then_goes_pending_sent_delivered() {
    // Slow enough that the first GET still sees Pending and Sent is seen before Delivered.
    let phone = Phone::start(PhoneConfig {
        send_delay: Duration::from_secs(1),
        delivery_delay: Duration::from_millis(600),
        ..fast()
    })
    .await
    .expect("phone");
    let api = Api::new(&phone);

    let answer = api
        .send(&text_message("life-1", "hello", &["+1 555 000 0001"]))
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let body = answer.json();
    assert_eq!(body["id"], "life-1");
    assert_eq!(body["deviceId"], phone.config().device_id.as_str());
    assert_eq!(body["state"], "Pending");
    assert_eq!(body["isEncrypted"], false);
    assert_eq!(body["recipients"][0]["phoneNumber"], "+1 555 000 0001");
    assert_eq!(body["recipients"][0]["state"], "Pending");

    assert_eq!(api.state("life-1").await["state"], "Pending");

    phone
        .wait_message_state("life-1", "Sent", WAIT)
        .await
        .expect("sent");
    let sent = api.state("life-1").await;
    assert_eq!(sent["state"], "Sent");
    assert_eq!(sent["recipients"][0]["state"], "Sent");
    for state in ["Pending", "Processed", "Sent"] {
        assert!(sent["states"].get(state).is_some(), "{state} in {sent}");
    }
    assert!(sent["states"].get("Delivered").is_none(), "{sent}");

    phone
        .wait_message_state("life-1", "Delivered", WAIT)
        .await
        .expect("delivered");
    // The singular path is the same route.
    let delivered = api.call(Method::GET, "/message/life-1", None).await;
    assert_eq!(delivered.status, StatusCode::OK);
    let delivered = delivered.json();
    assert_eq!(delivered["state"], "Delivered");
    assert!(
        delivered["states"].get("Delivered").is_some(),
        "{delivered}"
    );

    let network = phone.sent();
    assert_eq!(network.len(), 1);
    assert_eq!(network[0].id, "life-1");
    assert_eq!(network[0].phone_number, "+15550000001");
    assert_eq!(network[0].text, "hello");
    assert_eq!(network[0].parts, 1);
    assert!(network[0].with_delivery_report);

    let unknown = api.call(Method::GET, "/messages/no-such-id", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_same_id_twice_is_409() {
    let phone = Phone::start(fast()).await.expect("phone");
    let api = Api::new(&phone);

    let first = api
        .send(&text_message("twice", "one", &["+15550001"]))
        .await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    // Mirrors v1.68.0: `ConflictException` from the unique id, answered 409.
    let second = api
        .send(&text_message("twice", "two", &["+15550002"]))
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert_eq!(
        second.json()["message"],
        "Message with the same ID already exists"
    );

    phone
        .wait_message_state("twice", "Delivered", WAIT)
        .await
        .expect("delivered");
    let state = api.state("twice").await;
    assert_eq!(state["recipients"][0]["phoneNumber"], "+15550001");
    let sent = phone.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].text, "one");
}

#[tokio::test]
async fn bad_send_requests_are_answered_in_the_apps_words() {
    let phone = Phone::start(fast()).await.expect("phone");
    let api = Api::new(&phone);

    let empty = api
        .send(&json!({ "textMessage": { "text": "hi" }, "phoneNumbers": [] }))
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert_eq!(empty.json()["message"], "Empty phone numbers list");

    let neither = api.send(&json!({ "phoneNumbers": ["+15550001"] })).await;
    assert_eq!(neither.status, StatusCode::BAD_REQUEST);

    let webhook = api
        .call(
            Method::POST,
            "/webhooks",
            Some(&json!({ "url": "http://localhost:9/hook", "event": "sms:received" })),
        )
        .await;
    assert_eq!(webhook.status, StatusCode::BAD_REQUEST);
    assert!(phone.registered_webhooks().is_empty());
}

// ---------------------------------------------------------------------------------------
// Webhooks.

#[tokio::test]
async fn received_text_is_posted_signed_as_sms_received() {
    let phone = Phone::start(fast()).await.expect("phone");
    let api = Api::new(&phone);
    let mut receiver = Receiver::start().await;

    let webhook_id = api.register(&receiver.url, "sms:received").await;
    let list = api.call(Method::GET, "/webhooks", None).await.json();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["id"], webhook_id.as_str());
    assert_eq!(list[0]["url"], receiver.url.as_str());
    assert_eq!(list[0]["event"], "sms:received");

    let message_id = phone.receive("+15550002", "hi there", received_at(), 1);
    let post = receiver.next().await;

    let key = &phone.config().signing_key;
    assert!(signature_valid(key, &post), "signature: {:?}", post.headers);
    assert!(
        !signature_valid("another key", &post),
        "a signature any key verifies is no signature"
    );
    let timestamp: i64 = post.header("X-Timestamp").parse().expect("Unix seconds");
    assert!(
        (Utc::now().timestamp() - timestamp).abs() < 300,
        "{timestamp}"
    );
    assert!(post.header("Content-Type").starts_with("application/json"));

    let envelope = post.json();
    assert_eq!(envelope["event"], "sms:received");
    assert_eq!(envelope["webhookId"], webhook_id.as_str());
    assert_eq!(envelope["deviceId"], phone.config().device_id.as_str());
    assert!(envelope["id"].as_str().is_some_and(|id| !id.is_empty()));
    let payload = &envelope["payload"];
    assert_eq!(payload["messageId"], message_id.as_str());
    assert_eq!(payload["message"], "hi there");
    assert_eq!(payload["sender"], "+15550002");
    assert_eq!(payload["simNumber"], 1);
    assert_eq!(payload["receivedAt"], "2025-05-01T08:20:30.456Z");

    let attempt = phone
        .wait_webhook(|a| a.event == "sms:received", WAIT)
        .await
        .expect("logged");
    assert_eq!(attempt.attempt, 1);
    assert_eq!(attempt.outcome, AttemptOutcome::Status(200));
    assert_eq!(attempt.body.as_bytes(), &post.body[..]);
    assert_eq!(
        attempt.envelope_id,
        envelope["id"].as_str().unwrap_or_default()
    );
}

#[tokio::test]
async fn deleted_webhook_gets_nothing() {
    let phone = Phone::start(fast()).await.expect("phone");
    let api = Api::new(&phone);
    let mut kept = Receiver::start().await;
    let deleted = Receiver::start().await;

    api.register(&kept.url, "sms:received").await;
    let gone = api.register(&deleted.url, "sms:received").await;
    let answer = api
        .call(Method::DELETE, &format!("/webhooks/{gone}"), None)
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let list = api.call(Method::GET, "/webhooks", None).await.json();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");

    // Envelopes go out one at a time, in order: once the second text's envelope reached
    // the kept receiver, anything the first one caused has gone out too.
    phone.receive("+15550003", "one", received_at(), 1);
    phone.receive("+15550003", "two", received_at(), 1);
    assert_eq!(kept.next().await.json()["payload"]["message"], "one");
    assert_eq!(kept.next().await.json()["payload"]["message"], "two");
    // The log is written once the answer is read, a moment after the receiver saw it.
    phone
        .wait_webhook(|a| a.body.contains(r#""message":"two""#), WAIT)
        .await
        .expect("logged");
    let urls: Vec<String> = phone.webhook_log().into_iter().map(|a| a.url).collect();
    assert!(urls.iter().all(|u| *u == kept.url), "{urls:?}");
    assert_eq!(urls.len(), 2);
}

#[tokio::test]
async fn failed_webhook_is_retried_until_it_succeeds() {
    let phone = Phone::start(fast()).await.expect("phone");
    let api = Api::new(&phone);
    let mut receiver = Receiver::start().await;
    receiver.answer(&[500, 500]);
    api.register(&receiver.url, "sms:received").await;

    phone.receive("+15550004", "retry me", received_at(), 1);
    let posts = [
        receiver.next().await,
        receiver.next().await,
        receiver.next().await,
    ];
    for post in &posts {
        assert!(signature_valid(&phone.config().signing_key, post));
        assert_eq!(post.body, posts[0].body, "the same envelope each time");
    }

    let last = phone
        .wait_webhook(|a| a.attempt == 3, WAIT)
        .await
        .expect("third attempt logged");
    assert!(last.outcome.is_success());
    let log = phone.webhook_log();
    let attempts: Vec<(u32, AttemptOutcome)> =
        log.iter().map(|a| (a.attempt, a.outcome.clone())).collect();
    assert_eq!(
        attempts,
        [
            (1, AttemptOutcome::Status(500)),
            (2, AttemptOutcome::Status(500)),
            (3, AttemptOutcome::Status(200)),
        ]
    );
    assert!(log.iter().all(|a| a.envelope_id == log[0].envelope_id));
}

#[tokio::test]
async fn webhook_is_given_up_after_its_last_retry() {
    let phone = Phone::start(PhoneConfig {
        webhook_retries: 2,
        ..fast()
    })
    .await
    .expect("phone");
    let api = Api::new(&phone);
    let mut receiver = Receiver::start().await;
    receiver.answer(&[503, 503, 503]);
    api.register(&receiver.url, "sms:received").await;

    phone.receive("+15550005", "doomed", received_at(), 1);
    for _ in 0..3 {
        assert_eq!(receiver.next().await.json()["payload"]["message"], "doomed");
    }
    // A later text is posted (with 200); the given-up one must not come back, even after
    // the wait a fourth attempt would have had (4 × the base).
    phone.receive("+15550005", "later", received_at(), 1);
    assert_eq!(receiver.next().await.json()["payload"]["message"], "later");
    phone
        .wait_webhook(|a| a.body.contains("later"), WAIT)
        .await
        .expect("logged");
    assert!(
        phone
            .wait_webhook(|a| a.attempt == 4, Duration::from_millis(300))
            .await
            .is_err(),
        "{:?}",
        phone.webhook_log()
    );
    assert_eq!(phone.webhook_log().len(), 4);
}

#[tokio::test]
async fn duplicate_webhooks_post_the_same_envelope_twice() {
    let phone = Phone::start(fast()).await.expect("phone");
    let api = Api::new(&phone);
    let mut receiver = Receiver::start().await;
    api.register(&receiver.url, "sms:received").await;

    phone.duplicate_webhooks(true);
    phone.receive("+15550006", "twice", received_at(), 1);
    let first = receiver.next().await;
    let second = receiver.next().await;
    let id = first.json()["id"].clone();
    assert!(id.is_string());
    assert_eq!(second.json()["id"], id, "same envelope id");
    assert_eq!(first.body, second.body);
    assert!(signature_valid(&phone.config().signing_key, &second));

    // Off again: one post per envelope. The next two posts are two different texts.
    phone.duplicate_webhooks(false);
    phone.receive("+15550006", "b", received_at(), 1);
    phone.receive("+15550006", "c", received_at(), 1);
    assert_eq!(receiver.next().await.json()["payload"]["message"], "b");
    assert_eq!(receiver.next().await.json()["payload"]["message"], "c");
    phone
        .wait_webhook(|a| a.body.contains(r#""message":"c""#), WAIT)
        .await
        .expect("logged");

    let log = phone.webhook_log();
    assert_eq!(log.len(), 4, "{log:?}");
    assert_eq!(log[0].envelope_id, log[1].envelope_id);
    assert_eq!((log[0].attempt, log[1].attempt), (1, 2));
    assert_ne!(log[2].envelope_id, log[3].envelope_id);
}

#[tokio::test]
async fn held_status_webhooks_come_late_while_the_api_shows_the_state() {
    let phone = Phone::start(fast()).await.expect("phone");
    let api = Api::new(&phone);
    let mut receiver = Receiver::start().await;
    for event in ["sms:sent", "sms:delivered", "sms:received"] {
        api.register(&receiver.url, event).await;
    }

    phone.hold_status_webhooks(true);
    let answer = api
        .send(&text_message("held-1", "hi", &["+15550007"]))
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    phone
        .wait_message_state("held-1", "Delivered", WAIT)
        .await
        .expect("delivered");
    assert_eq!(api.state("held-1").await["state"], "Delivered");

    // Not held: a received text. Envelopes go out earliest first, so had the status
    // events (emitted earlier) not been held, they would have come before it.
    phone.receive("+15550008", "meanwhile", received_at(), 1);
    let first = receiver.next().await.json();
    assert_eq!(first["event"], "sms:received", "{first}");
    assert!(
        phone
            .webhook_log()
            .iter()
            .all(|a| a.event == "sms:received"),
        "{:?}",
        phone.webhook_log()
    );

    phone.hold_status_webhooks(false);
    let sent = receiver.next().await.json();
    let delivered = receiver.next().await.json();
    assert_eq!(sent["event"], "sms:sent");
    assert_eq!(sent["payload"]["messageId"], "held-1");
    assert_eq!(sent["payload"]["recipient"], "+15550007");
    assert_eq!(sent["payload"]["partsCount"], 1);
    assert_eq!(delivered["event"], "sms:delivered");
    assert_eq!(delivered["payload"]["messageId"], "held-1");
    assert!(delivered["payload"]["deliveredAt"].is_string());
}

#[tokio::test]
async fn ping_posts_system_ping_with_the_health_document() {
    let phone = Phone::start(PhoneConfig {
        ping_interval: Some(Duration::from_millis(100)),
        ..fast()
    })
    .await
    .expect("phone");
    let api = Api::new(&phone);
    let mut receiver = Receiver::start().await;
    api.register(&receiver.url, "system:ping").await;

    let ping = receiver.next().await;
    assert!(signature_valid(&phone.config().signing_key, &ping));
    let ping = ping.json();
    assert_eq!(ping["event"], "system:ping");
    assert_eq!(ping["payload"]["health"]["version"], "1.68.0");
    assert_eq!(ping["payload"]["health"]["status"], "pass");
}

// ---------------------------------------------------------------------------------------
// Faults.

#[tokio::test]
async fn offline_phone_answers_nothing_and_its_queue_goes_when_back() {
    // The hand-off is due 1 s after acceptance: time to go offline before it.
    let phone = Phone::start(PhoneConfig {
        send_delay: Duration::from_secs(2),
        ..fast()
    })
    .await
    .expect("phone");
    let api = Api::new(&phone);
    let mut receiver = Receiver::start().await;
    api.register(&receiver.url, "sms:received").await;

    let answer = api
        .send(&text_message("queued-1", "later", &["+15550009"]))
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    phone.set_offline(true);

    for (method, path) in [
        (Method::GET, "/messages/queued-1"),
        (Method::GET, "/health"),
        (Method::POST, "/messages"),
    ] {
        let body = (method == Method::POST).then(|| text_message("x", "x", &["+15550009"]));
        let outcome = api
            .try_call(
                method.clone(),
                path,
                Auth::Basic("sms", "password"),
                body.as_ref(),
            )
            .await;
        match outcome {
            Err(e) => assert!(e.starts_with("request failed"), "{method} {path}: {e}"),
            Ok(answer) => panic!("{method} {path} answered {} while offline", answer.status),
        }
    }

    // Nothing goes out while offline: not past the hand-off's due time, no webhook.
    phone.receive("+15550010", "while away", received_at(), 1);
    assert!(phone
        .wait_sent(1, Duration::from_millis(1500))
        .await
        .is_err());
    assert!(phone.webhook_log().is_empty(), "{:?}", phone.webhook_log());

    phone.set_offline(false);
    let sent = phone.wait_sent(1, WAIT).await.expect("sent once back");
    assert_eq!(sent[0].id, "queued-1");
    let post = receiver.next().await.json();
    assert_eq!(post["payload"]["message"], "while away");
    let health = api
        .try_call(Method::GET, "/health", Auth::None, None)
        .await
        .expect("answers again");
    assert_eq!(health.status, StatusCode::OK);
    // The request refused while offline queued nothing.
    let x = api.call(Method::GET, "/messages/x", None).await;
    assert_eq!(x.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn failing_sends_answer_429_with_retry_after_and_queue_nothing() {
    let phone = Phone::start(fast()).await.expect("phone");
    let api = Api::new(&phone);
    let body = text_message("after-429", "hi", &["+15550011"]);

    phone.fail_next_sends(2, 429);
    for _ in 0..2 {
        let answer = api.send(&body).await;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        let retry_after = answer
            .headers
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        assert_eq!(retry_after, Some(1));
        assert!(answer.json()["message"].is_string());
    }
    // The same id is taken now: the failed attempts stored nothing.
    let answer = api.send(&body).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let sent = phone.wait_sent(1, WAIT).await.expect("sent");
    assert_eq!(sent[0].id, "after-429");

    phone.fail_next_sends(1, 503);
    let answer = api
        .send(&text_message("after-503", "hi", &["+15550011"]))
        .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(answer.headers.get("Retry-After").is_none());
}

#[tokio::test]
async fn refused_send_fails_with_sms_failed() {
    let phone = Phone::start(fast()).await.expect("phone");
    let api = Api::new(&phone);
    let mut receiver = Receiver::start().await;
    api.register(&receiver.url, "sms:failed").await;
    api.register(&receiver.url, "sms:sent").await;

    let reason = "Send result: RESULT_ERROR_GENERIC_FAILURE (Generic failure cause)";
    phone.refuse_next_sends(1, reason);
    let answer = api
        .send(&text_message("refused-1", "no", &["+15550012"]))
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);

    let failed = receiver.next().await;
    assert!(signature_valid(&phone.config().signing_key, &failed));
    let failed = failed.json();
    assert_eq!(failed["event"], "sms:failed");
    assert_eq!(failed["payload"]["messageId"], "refused-1");
    assert_eq!(failed["payload"]["reason"], reason);
    assert!(failed["payload"]["failedAt"].is_string());

    let state = api.state("refused-1").await;
    assert_eq!(state["state"], "Failed");
    assert_eq!(state["recipients"][0]["state"], "Failed");
    assert_eq!(state["recipients"][0]["error"], reason);

    // One refusal only: the next goes out.
    api.send(&text_message("refused-2", "yes", &["+15550012"]))
        .await;
    let sent = receiver.next().await.json();
    assert_eq!(sent["event"], "sms:sent");
    assert_eq!(sent["payload"]["messageId"], "refused-2");
    let network: Vec<String> = phone.sent().into_iter().map(|s| s.id).collect();
    assert_eq!(network, ["refused-2"]);
}

#[tokio::test]
async fn rate_violations_count_parts_beyond_thirty_a_minute() {
    let phone = Phone::start(fast()).await.expect("phone");
    let api = Api::new(&phone);

    // 15 parts to each of two recipients: 30 parts, Android's limit, not beyond it.
    let long = "a".repeat(153 * 15);
    assert_eq!(parts_count(&long), 15);
    let answer = api
        .send(&text_message("bulk", &long, &["+15550013", "+15550014"]))
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    let sent = phone.wait_sent(2, WAIT).await.expect("sent");
    assert!(sent.iter().all(|s| s.parts == 15), "{sent:?}");
    assert_eq!(phone.rate_violations(), 0);

    // The 31st part within the minute is one violation.
    api.send(&text_message("one-more", "hi", &["+15550015"]))
        .await;
    phone.wait_sent(3, WAIT).await.expect("sent");
    assert_eq!(phone.rate_violations(), 1);

    // A two-part text is two more: parts count, not messages.
    let two_parts = "b".repeat(200);
    assert_eq!(parts_count(&two_parts), 2);
    api.send(&text_message("two-more", &two_parts, &["+15550016"]))
        .await;
    phone.wait_sent(4, WAIT).await.expect("sent");
    assert_eq!(phone.rate_violations(), 3);
}
