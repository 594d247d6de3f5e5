//! Campaigns against a real PostgreSQL and SQLite: the legacy e-mail gateways get only the
//! members whose carrier still runs a gateway, and with no modem the others are reported
//! as unreachable on the confirm and progress pages; a campaign left half-enqueued is
//! finished by the alert service's `resume_enqueueing` with exactly one delivery per
//! member.

mod support;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use axum::Router;
use textgate_alert_service::campaigns::Audience;
use textgate_alert_service::sends::{NewSend, SendKind};
use textgate_alert_service::{AlertSettings, CampaignModem};
use textgate_alerts::campaign::describe_duration;
use textgate_alerts::{CampaignPlan, Carrier, CarrierTable, GatewayStatus, ModemRate, Role};
use textgate_store::{NewOutbound, OutboundOrigin, Priority, SentPart};
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
                    thread: None,
                    kind: SendKind::Real,
                    account_id: Some(admin),
                    account_email: "chief@example.org",
                    body,
                    recipients: 4,
                    estimated_seconds: 12,
                    confirmed_at: app.state.now(),
                    yearly_test: None,
                    group: None,
                    poll: None,
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

/// Records a campaign of `recipients` sent by `admin` now.
async fn record(app: &support::App, admin: i64, body: &str, recipients: i64) -> i64 {
    app.state
        .alerts
        .campaigns()
        .record(
            &NewSend {
                thread: None,
                kind: SendKind::Real,
                account_id: Some(admin),
                account_email: "chief@example.org",
                body,
                recipients,
                estimated_seconds: 12,
                confirmed_at: app.state.now(),
                yearly_test: None,
                group: None,
                poll: None,
            },
            0,
        )
        .await
        .expect("record the campaign")
}

/// Puts one delivery of campaign `id` to `to` in the outbox.
async fn deliver(app: &support::App, id: i64, to: &str, body: &str) {
    app.state
        .store
        .enqueue_outbound(&NewOutbound {
            gateway: support::GATEWAY.into(),
            recipient: to.to_owned(),
            origin: OutboundOrigin::Campaign { campaign_id: id },
            body: body.to_owned(),
            priority: Priority::ALERT,
            not_before: None,
        })
        .await
        .expect("enqueue");
}

/// Sends the next due delivery as a modem would: one part, accepted now.
async fn send_one(app: &support::App, reference: usize) {
    let store = &app.state.store;
    let mut leased = store
        .lease_due(support::GATEWAY, "modem", 1, chrono::Duration::minutes(1))
        .await
        .expect("lease");
    let one = leased.pop().expect("a delivery is due");
    store
        .mark_sent(
            &one.lease,
            &[SentPart {
                seq: 1,
                message_ref: reference.to_string(),
            }],
        )
        .await
        .expect("sent");
}

/// The gateway is configured for 40 SMS a minute (two modems), but its last campaign went
/// out at 4 a minute (a weak signal, say): the confirm page estimates the next one at 4. While a
/// campaign runs, its progress shows what each path sent in the last minute, a stalled
/// path as stalled, and the time left at the lower of the two rates.
#[tokio::test]
async fn the_estimates_use_what_the_paths_really_sent() {
    support::both(|app: support::App| async move {
        let numbers = ["+12015550101", "+12015550102", "+12015550103"];
        for (i, number) in numbers.iter().enumerate() {
            member(&app, &format!("m{i}@example.org"), number, None).await;
        }
        let admin = app
            .account("chief@example.org", &[Role::EmergencyAdministrator])
            .await;
        let campaigns = app.state.alerts.campaigns();
        // The console's two modems on gateway "main", 20 a minute each; measured at 4 a
        // minute together, each is estimated at 2.
        let configured = |per_minute| {
            vec![
                ModemRate::new("main/modem0", per_minute),
                ModemRate::new("main/modem1", per_minute),
            ]
        };
        let at_20 = CampaignPlan::new(3, &configured(20), 1).expect("a plan");
        let at_4 = CampaignPlan::new(3, &configured(2), 1).expect("a plan");
        assert_ne!(at_20.estimated_duration(), at_4.estimated_duration());
        let preview = campaigns
            .preview(Audience::Everyone, 1)
            .await
            .expect("a preview");
        assert!(preview.measured.is_empty(), "nothing measured yet");
        assert_eq!(
            preview.plan.estimated_duration(),
            at_20.estimated_duration()
        );

        // The members' confirmation codes went out before any campaign.
        let codes = app
            .state
            .store
            .lease_due(support::GATEWAY, "modem", 100, chrono::Duration::minutes(1))
            .await
            .expect("lease");
        assert_eq!(codes.len(), numbers.len());
        for (i, code) in codes.iter().enumerate() {
            let part = SentPart {
                seq: 1,
                message_ref: format!("code-{i}"),
            };
            app.state
                .store
                .mark_sent(&code.lease, &[part])
                .await
                .expect("sent");
        }
        let body = "Campus alert: drill at noon.";
        let earlier = record(&app, admin, body, 41).await;
        for i in 0..41 {
            deliver(&app, earlier, &format!("+1201555{:04}", 1000 + i), body).await;
        }
        for i in 0..41 {
            send_one(&app, i).await;
            app.clock.advance(chrono::Duration::seconds(15));
        }
        let preview = campaigns
            .preview(Audience::Everyone, 1)
            .await
            .expect("a preview");
        let measured: Vec<(&str, u32, i64)> = preview
            .measured
            .iter()
            .map(|m| (m.gateway.as_str(), m.per_minute, m.campaign_id))
            .collect();
        assert_eq!(measured, [("main", 4, earlier)]);
        let mut desk = app
            .signed_in("deputy@example.org", &[Role::EmergencyAdministrator])
            .await;
        let r = desk
            .post("/admin/alert/confirm", &[("text", "Campus alert: drill.")])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body.contains("id=\"measured\"")
                && r.body.contains("<strong>main</strong> 4 SMS a minute")
                && r.body.contains("configured 40"),
            "the confirm page says which rate it used: {}",
            r.body
        );
        assert_eq!(preview.plan.estimated_duration(), at_4.estimated_duration());

        // A campaign whose path sends nothing for a minute has stalled.
        let running = record(&app, admin, body, 3).await;
        for number in numbers {
            deliver(&app, running, number, body).await;
        }
        app.clock.advance(chrono::Duration::seconds(61));
        let send = campaigns
            .send(running)
            .await
            .expect("read")
            .expect("exists");
        let p = campaigns.progress(&send).await.expect("progress");
        assert_eq!(p.eta, "unknown: main sent nothing in the last minute");
        assert_eq!(
            (
                p.paths[0].measured_per_minute,
                p.paths[0].time_left.as_str()
            ),
            (Some(0), "stalled: nothing sent in the last minute")
        );
        // One part in the last minute: two left at one a minute.
        send_one(&app, 100).await;
        let p = campaigns.progress(&send).await.expect("progress");
        let two_minutes = describe_duration(chrono::TimeDelta::minutes(2));
        assert_eq!(p.paths[0].measured_per_minute, Some(1), "{p:?}");
        assert_eq!(
            (p.paths[0].time_left.as_str(), p.eta.as_str()),
            (two_minutes.as_str(), two_minutes.as_str())
        );
    })
    .await;
}
