//! Campaigns against a real PostgreSQL and SQLite: the legacy e-mail gateways get only the
//! members whose carrier still runs a gateway, and with no modem the others are reported
//! as unreachable on the confirm and progress pages; a campaign left half-enqueued is
//! finished by the alert service's `resume_enqueueing` with exactly one delivery per
//! member.

mod support;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use axum::Router;
use textgate_alert_service::sends::{NewSend, SendKind};
use textgate_alert_service::{AlertSettings, CampaignModem};
use textgate_alerts::{Carrier, CarrierTable, GatewayStatus, ModemRate, Role};
use textgate_store::{NewOutbound, OutboundOrigin, Priority};
use textgate_web::router;

/// A carrier with a working gateway, and AT&T, whose gateway is gone.
fn carriers() -> CarrierTable {
    let carrier = |id: &str, domain: &str, status| Carrier {
        id: id.into(),
        name: id.to_uppercase(),
        country_code: 1,
        sms_domain: domain.into(),
        status,
        note: String::new(),
    };
    CarrierTable::new(vec![
        carrier("campus", "sms.campus.test", GatewayStatus::Active),
        carrier(
            "att",
            "txt.att.net",
            GatewayStatus::ShutDown {
                since: "2025-06-17".parse().ok(),
            },
        ),
    ])
}

/// The console over `app`'s store with other settings (same keys and clock).
async fn reopened(app: &support::App, settings: AlertSettings) -> support::App {
    let state = support::console(app.state.store.clone(), settings, &app.clock);
    let router: Router = router(state.clone());
    support::App {
        state,
        router,
        clock: app.clock.clone(),
        url: app.url.clone(),
    }
}

/// Registers `number` (with `carrier`, if any) for a new member and confirms it.
async fn member(app: &support::App, email: &str, number: &str, carrier: Option<&str>) {
    let mut c = app.signed_in(email, &[Role::Member]).await;
    let mut fields = vec![("action", "save"), ("number", number)];
    if let Some(carrier) = carrier {
        fields.push(("carrier", carrier));
    }
    let r = c.post("/alerts", &fields).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let code = app.last_code().await;
    let r = c.post("/alerts/confirm", &[("code", &code)]).await;
    assert!(r.body.contains("Your number is confirmed"), "{}", r.body);
}

#[tokio::test]
async fn with_only_email_gateways_members_without_a_carrier_are_reported_not_sent() {
    support::both(|base: support::App| async move {
        let mut settings = support::settings();
        settings.modems = vec![CampaignModem {
            gateway: "mail".into(),
            rate: ModemRate::carrier_email("mail", 600),
        }];
        settings.carriers = carriers();
        let app = reopened(&base, settings).await;
        member(&app, "a@example.org", "+12015550101", Some("campus")).await;
        member(&app, "b@example.org", "+12015550102", Some("campus")).await;
        member(&app, "c@example.org", "+12015550103", None).await;
        // AT&T's gateway is gone: no path reaches this member either.
        member(&app, "d@example.org", "+12015550104", Some("att")).await;

        let mut admin = app
            .signed_in("chief@example.org", &[Role::EmergencyAdministrator])
            .await;
        let text = "Library closed today: burst pipe.";
        let r = admin.post("/admin/alert/confirm", &[("text", text)]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body.contains("id=\"recipient-count\">2<"),
            "two members can be reached: {}",
            r.body
        );
        assert!(
            r.body.contains("id=\"unreachable\"><strong>2</strong>"),
            "two cannot, and the page says so: {}",
            r.body
        );

        let mut enqueued = app.state.alerts.campaigns().enqueued_signal();
        let r = admin
            .post("/admin/alert/send", &[("action", "send"), ("text", text)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let id = app.last_send("real").await;
        tokio::time::timeout(std::time::Duration::from_secs(30), enqueued.changed())
            .await
            .expect("enqueued in time")
            .expect("signal");
        let to: BTreeSet<String> = app
            .outbox_bodies(id)
            .await
            .into_iter()
            .map(|(recipient, _)| recipient)
            .collect();
        assert_eq!(
            to,
            BTreeSet::from(["+12015550101".to_owned(), "+12015550102".to_owned()]),
            "only members with a working carrier go to the e-mail gateway"
        );
        let page = admin.get(&format!("/admin/campaigns/{id}")).await;
        assert!(
            page.body
                .contains("id=\"unreachable\">2 member(s) could not be reached"),
            "{}",
            page.body
        );
    })
    .await;
}

#[tokio::test]
async fn a_half_enqueued_campaign_is_resumed_once_per_member() {
    support::both(|app: support::App| async move {
        let numbers = [
            "+12015550101",
            "+12015550102",
            "+12015550103",
            "+12015550104",
        ];
        for (i, number) in numbers.iter().enumerate() {
            member(&app, &format!("m{i}@example.org"), number, None).await;
        }
        let admin = app
            .account("chief@example.org", &[Role::EmergencyAdministrator])
            .await;
        let body = "Campus alert: the library is closed today.";
        let campaigns = app.state.alerts.campaigns();
        let id = campaigns
            .record(
                &NewSend {
                    kind: SendKind::Real,
                    account_id: Some(admin),
                    account_email: "chief@example.org",
                    body,
                    recipients: 4,
                    estimated_seconds: 12,
                    confirmed_at: app.state.now(),
                    yearly_test: None,
                },
                0,
            )
            .await
            .expect("record the campaign");
        // A daemon stopped after two deliveries: the rows it committed.
        for number in &numbers[..2] {
            app.state
                .store
                .enqueue_outbound(&NewOutbound {
                    gateway: support::GATEWAY.into(),
                    recipient: (*number).to_owned(),
                    origin: OutboundOrigin::Campaign { campaign_id: id },
                    body: body.to_owned(),
                    priority: Priority::ALERT,
                    not_before: None,
                })
                .await
                .expect("enqueue");
        }
        let send = campaigns.send(id).await.expect("read").expect("exists");
        let p = campaigns.progress(&send).await.expect("progress");
        assert_eq!(
            (p.state, p.in_outbox, p.total, p.enqueued),
            ("enqueueing", 2, 4, false)
        );

        let mut enqueued = campaigns.enqueued_signal();
        let resumed = campaigns.resume_enqueueing().await.expect("resume");
        assert_eq!(resumed, 1);
        tokio::time::timeout(std::time::Duration::from_secs(30), enqueued.changed())
            .await
            .expect("enqueued in time")
            .expect("signal");
        let mut to: Vec<String> = app
            .outbox_bodies(id)
            .await
            .into_iter()
            .map(|(recipient, _)| recipient)
            .collect();
        to.sort();
        assert_eq!(to, numbers, "every member exactly once");
        let send = campaigns.send(id).await.expect("read").expect("exists");
        let p = campaigns.progress(&send).await.expect("progress");
        assert_eq!(
            (p.state, p.in_outbox, p.total, p.enqueued),
            ("enqueued", 4, 4, true)
        );
        // Nothing is left to resume, and running the enqueuer again changes nothing.
        assert_eq!(campaigns.resume_enqueueing().await.expect("resume"), 0);
        assert_eq!(campaigns.enqueue_campaign(id).await.expect("enqueue"), None);
        assert_eq!(app.outbox_bodies(id).await.len(), numbers.len());
    })
    .await;
}
