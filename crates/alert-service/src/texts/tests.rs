//! The send API's rules, on both back ends: what is queued, what a retried key finds,
//! what is refused, and who reads a text's status.

use textgate_alerts::{Role, Roles};

use super::*;
use crate::test_support::on_both_backends;
use crate::{AlertService, Credential};

async fn account(service: &AlertService, email: &str, role: Role) -> Account {
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

fn actor(account: &Account) -> Actor<'_> {
    Actor {
        account,
        ip: "192.0.2.7",
        credential: Credential::ApiToken,
    }
}

fn request<'a>(to: &'a str, text: &'a str, key: Option<&'a str>) -> TextRequest<'a> {
    TextRequest {
        to,
        text,
        gateway: None,
        key,
    }
}

async fn outbox_rows(service: &AlertService) -> i64 {
    textgate_store::with_database!(service.database(), pool => {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM outbound")
            .fetch_one(pool)
            .await
            .expect("count")
    })
}

#[tokio::test]
async fn a_text_is_queued_once_per_key_and_a_reused_key_for_another_text_is_refused() {
    on_both_backends(|service| async move {
        let ils = account(&service, "ils@library.test", Role::TextSender).await;
        let texts = service.texts();
        let first = texts
            .send(
                &actor(&ils),
                &request("(201) 555-0143", "Your hold is ready.", Some("hold-81")),
            )
            .await
            .expect("queued");
        assert_eq!(first.to, "+12015550143", "read with the gateway's region");
        assert_eq!((first.gateway.as_str(), first.parts), ("main", 1));
        assert!(!first.replayed);

        let again = texts
            .send(
                &actor(&ils),
                &request("+1 201 555 0143", "Your hold is ready.", Some("hold-81")),
            )
            .await
            .expect("the retry is answered");
        assert_eq!(again.id, first.id, "the same text, not a second one");
        assert!(again.replayed);
        assert_eq!(outbox_rows(&service).await, 1);

        let other = texts
            .send(
                &actor(&ils),
                &request("+12015550143", "Your book is overdue.", Some("hold-81")),
            )
            .await
            .expect_err("a different text under a used key");
        assert!(
            other.to_string().contains("used for a different text"),
            "{other}"
        );
        assert_eq!(outbox_rows(&service).await, 1);

        // Without a key every call is a new text.
        let a = texts
            .send(&actor(&ils), &request("+12015550143", "One", None))
            .await
            .expect("queued");
        let b = texts
            .send(&actor(&ils), &request("+12015550143", "One", None))
            .await
            .expect("queued");
        assert_ne!(a.id, b.id);

        let log = service.logs().audit_log(50).await.expect("the audit log");
        let sends = log.iter().filter(|e| e.action == "send-text").count();
        assert_eq!(sends, 4, "every accepted call is audited: {log:?}");
    })
    .await;
}

#[tokio::test]
async fn a_bad_request_is_refused_with_a_reason_and_queues_nothing() {
    on_both_backends(|service| async move {
        let ils = account(&service, "ils@library.test", Role::TextSender).await;
        let texts = service.texts();
        let long = "x".repeat(160 * 12);
        let cases = [
            (request("not a number", "Hi", None), "cannot be texted"),
            (request("+12015550143", "   ", None), "empty"),
            (
                request("+12015550143", &long, None),
                "cannot go through main",
            ),
            (
                request("+12015550143", "Hi", Some("has space")),
                "idempotency key",
            ),
            (
                TextRequest {
                    gateway: Some("elsewhere"),
                    ..request("+12015550143", "Hi", None)
                },
                "No gateway named \"elsewhere\"",
            ),
        ];
        for (req, says) in cases {
            let refused = texts.send(&actor(&ils), &req).await.expect_err("refused");
            assert!(
                matches!(refused, AlertError::Refused(_)) && refused.to_string().contains(says),
                "{req:?}: {refused}"
            );
        }
        assert_eq!(outbox_rows(&service).await, 0);
        let log = service.logs().audit_log(50).await.expect("the audit log");
        let refusals: Vec<&str> = log
            .iter()
            .filter(|e| e.action == "send-text-refused")
            .map(|e| e.detail.as_str())
            .collect();
        assert_eq!(refusals.len(), 5, "every refusal is audited: {log:?}");
        assert!(
            refusals.iter().all(|d| !d.contains("+12015550143")),
            "numbers are masked: {refusals:?}"
        );

        let member = account(&service, "member@library.test", Role::Member).await;
        let forbidden = texts
            .send(&actor(&member), &request("+12015550143", "Hi", None))
            .await
            .expect_err("a member may not send texts");
        assert!(matches!(forbidden, AlertError::Forbidden(_)), "{forbidden}");
        assert_eq!(outbox_rows(&service).await, 0);
    })
    .await;
}

#[tokio::test]
async fn only_the_sender_reads_a_texts_status() {
    on_both_backends(|service| async move {
        let ils = account(&service, "ils@library.test", Role::TextSender).await;
        let other = account(&service, "other@library.test", Role::TextSender).await;
        let queued = service
            .texts()
            .send(&actor(&ils), &request("+12015550143", "Hi", Some("k1")))
            .await
            .expect("queued");
        let status = service
            .texts()
            .status(&ils, queued.id)
            .await
            .expect("its status");
        assert_eq!(
            (status.state, status.parts, status.parts_sent),
            ("queued", 1, 0)
        );
        assert_eq!(status.to, "+12015550143");
        let hidden = service.texts().status(&other, queued.id).await;
        assert!(matches!(hidden, Err(AlertError::NotFound)), "{hidden:?}");
        let missing = service.texts().status(&ils, queued.id + 1000).await;
        assert!(matches!(missing, Err(AlertError::NotFound)), "{missing:?}");
    })
    .await;
}
