//! Webhooks on both back ends, against a real HTTP receiver on 127.0.0.1: retries until
//! a 2xx with one delivery id and a signature the test checks with its own HMAC, one event
//! per API text however often the enqueuer runs, unattended texts reported and attended
//! ones not, no history for a webhook configured later, and giving up.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};
use textgate_alerts::{Role, Roles};
use textgate_store::{Clock, ManualClock, NewInbound, PartOutcome, SentPart};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::log::DeliveryRecord;
use super::*;
use crate::test_support::on_both_backends;
use crate::texts::TextRequest;
use crate::{Account, Actor, AlertError, AlertService, Credential};

const SECRET: &str = "webhook-test-secret";
const WAIT: Duration = Duration::from_secs(10);

fn start() -> DateTime<Utc> {
    "2026-03-02T09:00:00Z".parse().expect("a time")
}

/// One post as the receiver read it.
#[derive(Debug)]
struct Post {
    head: String,
    body: Vec<u8>,
}

impl Post {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// A receiver on 127.0.0.1 (kept bound for the whole test) answering each post with the
/// next of `statuses` (the last one repeated); every post read is sent to the channel.
async fn receiver(statuses: Vec<u16>) -> (String, mpsc::UnboundedReceiver<Post>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut served = 0;
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 4096];
            let head_end = loop {
                if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                    break end + 4;
                }
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                }
            };
            let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
            let post = Post {
                head,
                body: Vec::new(),
            };
            let length: usize = post
                .header("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            while buffer.len() < head_end + length {
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                }
            }
            let status = statuses[served.min(statuses.len() - 1)];
            served += 1;
            let answer =
                format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = socket.write_all(answer.as_bytes()).await;
            let _ = socket.shutdown().await;
            let body = buffer[head_end..head_end + length].to_vec();
            let _ = tx.send(Post { body, ..post });
        }
    });
    (url, rx)
}

async fn next_post(posts: &mut mpsc::UnboundedReceiver<Post>) -> Post {
    tokio::time::timeout(WAIT, posts.recv())
        .await
        .expect("a post in time")
        .expect("the receiver is running")
}

/// HMAC-SHA256 written out from RFC 2104, so the test does not check the code with
/// itself.
fn hmac_sha256(key: &[u8], message: &[u8]) -> String {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    hex::encode(outer)
}

fn webhook(name: &str, url: &str, events: &[WebhookEvent]) -> Webhook {
    Webhook {
        name: name.into(),
        url: url.into(),
        secret: SECRET.into(),
        events: events.to_vec(),
        gateways: None,
        received: ReceivedTexts::Unattended,
        unattended_after: TimeDelta::seconds(60),
    }
}

/// Who the CAP messages of `alert.published` say they are from.
fn feed_settings() -> crate::feeds::FeedSettings {
    crate::feeds::FeedSettings {
        url: "https://alerts.library.example".into(),
        sender: "alerts@library.example".into(),
        sender_name: "Library emergency alerts".into(),
        area: "Main library".into(),
        language: "en-US".into(),
        event: "Campus emergency".into(),
        active_for: TimeDelta::hours(24),
    }
}

/// `service`'s store and settings with `webhooks`, on a manual clock.
fn with_webhooks(
    service: &AlertService,
    webhooks: Vec<Webhook>,
    policy: WebhookPolicy,
) -> (AlertService, ManualClock) {
    let clock = ManualClock::new(start());
    let store = service.store().clone().with_clock(clock.clone());
    let mut settings = service.settings().clone();
    settings.webhooks = webhooks;
    settings.webhook_policy = policy;
    let service = AlertService::new(store, settings)
        .expect("the service")
        .with_clock(clock.clone());
    (service, clock)
}

async fn deliveries(service: &AlertService) -> Vec<DeliveryRecord> {
    let admin = account(service, "admin@library.test", Role::TechnicalAdministrator).await;
    service
        .webhooks()
        .deliveries(&admin, None, None, 100)
        .await
        .expect("the log")
}

async fn account(service: &AlertService, email: &str, role: Role) -> Account {
    let accounts = service.accounts().list().await.expect("read");
    if let Some(found) = accounts.into_iter().find(|a| a.email == email) {
        return found;
    }
    let id = service
        .accounts()
        .create_admin(email, "a long enough password", Roles::new([role]))
        .await
        .expect("an account");
    service
        .accounts()
        .get(id)
        .await
        .expect("read it")
        .expect("it exists")
}

async fn receive(service: &AlertService, body: &str, at: DateTime<Utc>) -> i64 {
    let text = NewInbound {
        gateway: "main".into(),
        sender: "+12015550143".into(),
        smsc_time: at.fixed_offset(),
        received_at: at,
        body: body.into(),
        concatenation: None,
        parts_hex: vec!["00".into()],
        incomplete: false,
        consumed_pending_parts: Vec::new(),
    };
    match service.store().insert_inbound(&text).await.expect("stored") {
        textgate_store::Insertion::New(id) | textgate_store::Insertion::Duplicate(id) => id,
    }
}

/// Sends a text through the API as a text sender; its id.
async fn send_text(service: &AlertService, key: &str) -> i64 {
    let ils = account(service, "ils@library.test", Role::TextSender).await;
    let actor = Actor {
        account: &ils,
        ip: "192.0.2.7",
        credential: Credential::ApiToken,
    };
    service
        .texts()
        .send(
            &actor,
            &TextRequest {
                to: "+12015550143",
                text: "Your hold is ready.",
                gateway: None,
                key: Some(key),
            },
        )
        .await
        .expect("queued")
        .id
}

#[tokio::test]
async fn a_delivery_is_retried_until_a_2xx_with_one_id_and_a_valid_signature() {
    on_both_backends(|base| async move {
        let (url, mut posts) = receiver(vec![500, 500, 200]).await;
        let hooks = vec![webhook("ils", &url, &[WebhookEvent::TextReceived])];
        let (service, clock) = with_webhooks(&base, hooks, WebhookPolicy::default());
        let webhooks = service.webhooks();
        assert_eq!(webhooks.enqueue().await.expect("marks"), 0, "no history");

        let id = receive(&service, "Is the library open on Sunday?", start()).await;
        assert_eq!(
            webhooks.enqueue().await.expect("pass"),
            0,
            "not unattended yet"
        );
        clock.advance(TimeDelta::seconds(60));
        assert_eq!(webhooks.enqueue().await.expect("pass"), 1);

        let mut seen = Vec::new();
        for attempt in 1..=3 {
            assert_eq!(
                webhooks.dispatch_due().await.expect("dispatch"),
                1,
                "attempt {attempt}"
            );
            seen.push(next_post(&mut posts).await);
            assert_eq!(
                webhooks.dispatch_due().await.expect("dispatch"),
                0,
                "not due yet"
            );
            // Past the longest backoff a jittered second or two can be.
            clock.advance(TimeDelta::seconds(5));
        }
        let ids: Vec<_> = seen
            .iter()
            .map(|p| p.header("x-textgate-delivery"))
            .collect();
        assert!(
            ids[0].is_some() && ids.iter().all(|i| *i == ids[0]),
            "{ids:?}"
        );
        for post in &seen {
            assert_eq!(post.header("content-type"), Some("application/json"));
            assert_eq!(post.header("x-textgate-event"), Some("text.received"));
            let timestamp = post.header("x-textgate-timestamp").expect("a timestamp");
            let mut signed = format!("{timestamp}.").into_bytes();
            signed.extend_from_slice(&post.body);
            let expected = format!("sha256={}", hmac_sha256(SECRET.as_bytes(), &signed));
            assert_eq!(post.header("x-textgate-signature"), Some(expected.as_str()));
        }
        let body = seen[2].json();
        assert_eq!(body["inbound_id"], id);
        assert_eq!(body["from"], "+12015550143");
        assert_eq!(body["text"], "Is the library open on Sunday?");
        assert_eq!(body["gateway"], "main");

        let log = deliveries(&service).await;
        assert_eq!(log.len(), 1, "{log:?}");
        let d = &log[0];
        assert_eq!(
            (d.state.as_str(), d.attempts, d.last_status),
            ("delivered", 3, Some(200))
        );
        assert_eq!(Some(d.id.to_string().as_str()), ids[0]);
        assert!(d.delivered_at.is_some());
    })
    .await;
}

#[tokio::test]
async fn an_api_text_gets_one_event_for_its_final_state() {
    on_both_backends(|base| async move {
        let (url, mut posts) = receiver(vec![204]).await;
        let events = [WebhookEvent::TextDelivered, WebhookEvent::TextFailed];
        let hooks = vec![webhook("ils", &url, &events)];
        let (service, clock) = with_webhooks(&base, hooks, WebhookPolicy::default());
        let webhooks = service.webhooks();
        webhooks.enqueue().await.expect("marks");

        let delivered = send_text(&service, "hold-1").await;
        let failed = send_text(&service, "hold-2").await;
        assert_eq!(
            webhooks.enqueue().await.expect("pass"),
            0,
            "queued is not final"
        );

        let store = service.store();
        let leased = store
            .lease_due("main", "test", 10, TimeDelta::seconds(60))
            .await
            .expect("leased");
        assert_eq!(leased.len(), 2);
        for text in &leased {
            if text.text.id == delivered {
                let part = SentPart {
                    seq: 1,
                    message_ref: "17".into(),
                };
                store.mark_sent(&text.lease, &[part]).await.expect("sent");
            } else {
                store
                    .mark_failed(&text.lease, "the number does not exist")
                    .await
                    .expect("failed");
            }
        }
        store
            .record_status_report("main", "17", &PartOutcome::Delivered, TimeDelta::days(3))
            .await
            .expect("report")
            .expect("matched");

        assert_eq!(webhooks.enqueue().await.expect("pass"), 2);
        assert_eq!(webhooks.enqueue().await.expect("again"), 0, "no doubles");
        clock.advance(TimeDelta::minutes(1));
        assert_eq!(webhooks.enqueue().await.expect("after the cursor moved"), 0);
        assert_eq!(webhooks.dispatch_due().await.expect("dispatch"), 2);

        let mut bodies = [
            next_post(&mut posts).await.json(),
            next_post(&mut posts).await.json(),
        ];
        bodies.sort_by_key(|b| b["id"].as_i64());
        assert_eq!(bodies[0]["event"], "text.delivered");
        assert_eq!(
            (bodies[0]["id"].as_i64(), bodies[0]["key"].as_str()),
            (Some(delivered), Some("hold-1"))
        );
        assert_eq!(bodies[0]["to"], "+12015550143");
        assert_eq!(
            (bodies[0]["state"].as_str(), bodies[0]["parts"].as_i64()),
            (Some("delivered"), Some(1))
        );
        assert_eq!(bodies[1]["event"], "text.failed");
        assert_eq!(bodies[1]["id"].as_i64(), Some(failed));
        assert_eq!(bodies[1]["error"], "the number does not exist");

        let log = deliveries(&service).await;
        let shown: Vec<_> = log
            .iter()
            .map(|d| (d.event.as_str(), d.subject_id, d.state.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("text.failed", failed, "delivered"),
                ("text.delivered", delivered, "delivered")
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn only_unattended_texts_are_reported_and_a_later_webhook_gets_no_history() {
    on_both_backends(|base| async move {
        let (url, _posts) = receiver(vec![200]).await;
        let first = webhook("first", &url, &[WebhookEvent::TextReceived]);
        let (service, clock) = with_webhooks(&base, vec![first.clone()], WebhookPolicy::default());
        service.webhooks().enqueue().await.expect("marks");

        let attended = receive(&service, "Thanks!", start()).await;
        let unattended = receive(&service, "Anyone there?", start() + TimeDelta::seconds(1)).await;
        clock.advance(TimeDelta::seconds(30));
        service
            .store()
            .mark_inbound_delivered(&[attended], "alice@library.test")
            .await
            .expect("delivered");
        clock.advance(TimeDelta::seconds(40));
        assert_eq!(service.webhooks().enqueue().await.expect("pass"), 1);
        assert_eq!(service.webhooks().enqueue().await.expect("again"), 0);

        // A webhook configured now, beside the first, starts from here.
        let later = webhook("later", &url, &[WebhookEvent::TextReceived]);
        let (service, clock2) =
            with_webhooks(&service, vec![first, later], WebhookPolicy::default());
        clock2.set(clock.now());
        assert_eq!(
            service.webhooks().enqueue().await.expect("pass"),
            0,
            "no history"
        );
        let newer = receive(&service, "Hello?", clock2.now()).await;
        clock2.advance(TimeDelta::seconds(61));
        assert_eq!(
            service.webhooks().enqueue().await.expect("pass"),
            2,
            "one each"
        );

        let log = deliveries(&service).await;
        let mut shown: Vec<_> = log
            .iter()
            .map(|d| (d.webhook.as_str(), d.subject_id))
            .collect();
        shown.sort();
        assert_eq!(
            shown,
            [("first", unattended), ("first", newer), ("later", newer)]
        );
    })
    .await;
}

#[tokio::test]
async fn a_delivery_that_never_gets_a_2xx_fails_with_the_last_error() {
    on_both_backends(|base| async move {
        let (url, mut posts) = receiver(vec![500]).await;
        let mut hook = webhook("ils", &url, &[WebhookEvent::TextReceived]);
        hook.received = ReceivedTexts::All;
        let policy = WebhookPolicy {
            max_attempts: 3,
            ..WebhookPolicy::default()
        };
        let (service, clock) = with_webhooks(&base, vec![hook], policy);
        service.webhooks().enqueue().await.expect("marks");
        receive(&service, "Hello", start()).await;
        assert_eq!(service.webhooks().enqueue().await.expect("pass"), 1);
        for _ in 0..3 {
            assert_eq!(
                service.webhooks().dispatch_due().await.expect("dispatch"),
                1
            );
            next_post(&mut posts).await;
            clock.advance(TimeDelta::seconds(5));
        }
        assert_eq!(
            service.webhooks().dispatch_due().await.expect("dispatch"),
            0,
            "given up"
        );
        let log = deliveries(&service).await;
        assert_eq!(
            (log[0].state.as_str(), log[0].attempts, log[0].last_status),
            ("failed", 3, Some(500))
        );
        assert!(
            log[0]
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("500")),
            "{:?}",
            log[0].last_error
        );

        let member = account(&service, "member@library.test", Role::Member).await;
        let refused = service.webhooks().deliveries(&member, None, None, 10).await;
        assert!(
            matches!(refused, Err(AlertError::Forbidden(_))),
            "{refused:?}"
        );
    })
    .await;
}

/// A text from a number the desk blocked reaches nobody, other systems included: it
/// never becomes a `text.received` event, however long it stays unattended.
#[tokio::test]
async fn a_blocked_text_is_never_reported() {
    on_both_backends(|base| async move {
        let (url, _posts) = receiver(vec![200]).await;
        let hook = webhook("ils", &url, &[WebhookEvent::TextReceived]);
        let (service, clock) = with_webhooks(&base, vec![hook], WebhookPolicy::default());
        service.webhooks().enqueue().await.expect("marks");
        let blocked = receive(&service, "spam spam spam", start()).await;
        let patron = receive(&service, "Anyone there?", start()).await;
        service
            .store()
            .mark_inbound_blocked(blocked)
            .await
            .expect("blocked");
        clock.advance(TimeDelta::seconds(70));
        assert_eq!(service.webhooks().enqueue().await.expect("pass"), 1);
        let log = deliveries(&service).await;
        let subjects: Vec<i64> = log.iter().map(|d| d.subject_id).collect();
        assert_eq!(subjects, [patron]);
    })
    .await;
}

#[tokio::test]
async fn each_real_alert_that_goes_out_is_posted_once_as_cap_and_nothing_else_is() {
    use crate::campaigns::Audience;
    use crate::sends::{MessageType, Thread};

    on_both_backends(|base| async move {
        let (url, mut posts) = receiver(vec![200]).await;
        let hooks = vec![webhook("signs", &url, &[WebhookEvent::AlertPublished])];
        let mut with_feed = base.settings().clone();
        with_feed.feed = Some(feed_settings());
        let base = AlertService::new(base.store().clone(), with_feed).expect("the service");
        let (service, clock) = with_webhooks(&base, hooks, WebhookPolicy::default());
        let webhooks = service.webhooks();
        assert_eq!(webhooks.enqueue().await.expect("marks"), 0, "no history");

        let chief = account(&service, "chief@library.test", Role::EmergencyAdministrator).await;
        let tech = account(&service, "tech@library.test", Role::TechnicalAdministrator).await;
        let as_actor = |account| Actor {
            account,
            ip: "192.0.2.7",
            credential: Credential::Session,
        };
        let campaigns = service.campaigns();
        let first = campaigns
            .start(
                &as_actor(&chief),
                Audience::Everyone,
                "Gas leak in Hall B: leave now.",
                None,
                None,
            )
            .await
            .expect("the alert goes out");
        // A test is never published.
        campaigns
            .start(
                &as_actor(&tech),
                Audience::Testers,
                "This is only a test.",
                None,
                None,
            )
            .await
            .expect("the test goes out");
        let clear = campaigns
            .start(
                &as_actor(&chief),
                Audience::Everyone,
                "ALL CLEAR: Hall B is safe.",
                None,
                Some(Thread {
                    msg_type: MessageType::Cancel,
                    refers_to: first,
                }),
            )
            .await
            .expect("the all clear goes out");

        assert_eq!(webhooks.enqueue().await.expect("pass"), 2);
        clock.advance(TimeDelta::minutes(1));
        assert_eq!(webhooks.enqueue().await.expect("pass"), 0, "never twice");
        assert_eq!(webhooks.dispatch_due().await.expect("dispatch"), 2);
        let mut bodies = Vec::new();
        for _ in 0..2 {
            let post = next_post(&mut posts).await;
            assert_eq!(post.header("content-type"), Some("application/cap+xml"));
            assert_eq!(post.header("x-textgate-event"), Some("alert.published"));
            let timestamp = post.header("x-textgate-timestamp").expect("a timestamp");
            let mut signed = format!("{timestamp}.").into_bytes();
            signed.extend_from_slice(&post.body);
            let expected = format!("sha256={}", hmac_sha256(SECRET.as_bytes(), &signed));
            assert_eq!(post.header("x-textgate-signature"), Some(expected.as_str()));
            bodies.push(String::from_utf8(post.body).expect("UTF-8"));
        }
        bodies.sort_by_key(|b| b.contains("<msgType>Cancel</msgType>"));
        let (alert, all_clear) = (&bodies[0], &bodies[1]);
        assert!(
            alert.contains("urn:oasis:names:tc:emergency:cap:1.2")
                && alert.contains(&format!("<identifier>textgate-alert-{first}</identifier>"))
                && alert.contains("<msgType>Alert</msgType>")
                && alert.contains("Gas leak in Hall B"),
            "{alert}"
        );
        assert!(
            all_clear.contains(&format!("<identifier>textgate-alert-{clear}</identifier>"))
                && all_clear.contains(&format!("alerts@library.example,textgate-alert-{first},")),
            "the all clear references the alert: {all_clear}"
        );
        assert!(
            !bodies.iter().any(|b| b.contains("only a test")),
            "{bodies:?}"
        );
    })
    .await;
}
