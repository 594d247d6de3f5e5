//! Alerts over XMPP on a real Prosody (with its multi-user chat) and a real PostgreSQL and
//! SQLite: a member who registered a JID on their page gets the campaign as a chat message
//! from the alerts' component, a staff JID gets it, the staff room gets it as a groupchat
//! message once the component is in; a JID the server cannot reach is bounced and counted
//! failed with the server's reason; a resumed enqueue queues nothing twice; the progress
//! page and the API count the channel; without a server, messages wait.

mod support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use support::{both, App, PASSWORD};
use textgate_alert_service::xmpp::XmppChannel;
use textgate_alerts::Role;
use textgate_core::BareJid;
use textgate_testkit::prosody::{ProsodySetup, HOST};
use textgate_testkit::xmpp::{Librarian, WAIT};
use textgate_xmpp::announcer::{spawn_announcer, AnnouncerConfig, AnnouncerEvent, StaffRoom};

const ALERTS: &str = "alerts.library.test";
const CONFERENCE: &str = "conference.library.test";

fn body_of(element: &textgate_testkit::xmpp::Element) -> String {
    element
        .get_child("body", "jabber:client")
        .map(|b| b.text())
        .unwrap_or_default()
}

#[tokio::test]
async fn members_staff_and_the_staff_room_get_alerts_over_xmpp() {
    both(|app: App| async move {
        let prosody = ProsodySetup::new()
            .component(ALERTS, "alerts-secret")
            .muc(CONFERENCE)
            .start()
            .await
            .expect("prosody starts");
        for user in ["ann", "chief", "duty"] {
            prosody.register(user, "pw").await.expect("registered");
        }
        let room = BareJid::new(&format!("staff@{CONFERENCE}")).expect("room JID");
        let announcer = AnnouncerConfig::new(
            ALERTS,
            "alerts-secret",
            prosody.component_addr(),
            Some(StaffRoom {
                room: room.clone(),
                nick: "Alerts".to_owned(),
            }),
        );
        let app = app.with_settings(|s| {
            s.xmpp = Some(XmppChannel {
                announcer: announcer.clone(),
                staff: vec![BareJid::new(&format!("duty@{HOST}")).expect("staff JID")],
            });
        });

        // The people on XMPP: a member, a staff member with her JID, and the chief in the
        // staff room before the component joins (so the room exists either way).
        let addr = prosody.c2s_addr();
        let mut ann = Librarian::login(&addr, HOST, "ann", "pw", "phone")
            .await
            .expect("ann logs in");
        ann.come_online().await.expect("ann online");
        let mut duty = Librarian::login(&addr, HOST, "duty", "pw", "desk")
            .await
            .expect("duty logs in");
        duty.come_online().await.expect("duty online");
        let mut chief = Librarian::login(&addr, HOST, "chief", "pw", "laptop")
            .await
            .expect("chief logs in");
        chief
            .send(&format!(
                "<presence xmlns='jabber:client' to='{}/chief'><x xmlns='http://jabber.org/protocol/muc'/></presence>",
                room.as_str()
            ))
            .await;
        chief
            .expect("chief in the room", |e| {
                e.name() == "presence"
                    && e.attr("from") == Some(&format!("{}/chief", room.as_str()))
            })
            .await;
        // A new room stays locked to others until its owner configures it (XEP-0045
        // §10.1.2): the chief accepts the defaults, as a sysadmin setting it up would.
        chief
            .send(&format!(
                "<iq xmlns='jabber:client' type='set' id='instant' to='{}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>",
                room.as_str()
            ))
            .await;
        chief
            .expect("the room unlocked", |e| {
                e.name() == "iq" && e.attr("id") == Some("instant") && e.attr("type") == Some("result")
            })
            .await;

        // Members: ann registers her JID on her page; bob does not; cat registers one on a
        // server nobody can reach.
        app.confirmed_member("ann@example.org", "+12025550101").await;
        app.confirmed_member("bob@example.org", "+12025550102").await;
        app.confirmed_member("cat@example.org", "+12025550103").await;
        let mut member = app.client();
        member.sign_in("ann@example.org", PASSWORD).await;
        let page = member.get("/alerts").await;
        assert!(page.body.contains("id=\"xmpp-form\""), "{}", page.body);
        assert!(page.body.contains(ALERTS), "the page names the sender");
        let r = member.post("/alerts/xmpp", &[("jid", "not a jid@@")]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert!(r.body.contains("is not an XMPP address"), "{}", r.body);
        let r = member
            .post("/alerts/xmpp", &[("jid", &format!("Ann@{HOST}"))])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("alerts also come over XMPP"), "{}", r.body);
        assert!(
            r.body.contains(&format!("value=\"ann@{HOST}\"")),
            "the saved JID is shown, lower-cased: {}",
            r.body
        );
        let mut cat = app.client();
        cat.sign_in("cat@example.org", PASSWORD).await;
        let r = cat.post("/alerts/xmpp", &[("jid", "cat@nowhere.invalid")]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);

        let mut admin = app
            .signed_in(
                "admin@example.org",
                &[Role::EmergencyAdministrator, Role::Member],
            )
            .await;
        let id = app
            .send_real(&mut admin, "Gas leak in Hall B: leave the building now.", None)
            .await;
        app.outbox_once_enqueued(id).await;
        let queued = "SELECT COUNT(*) FROM alert_xmpp_deliveries";
        assert_eq!(
            app.count(queued).await,
            4,
            "ann, cat, the staff JID and the room"
        );

        // The component: it joins the room, then sends what is due.
        let (handle, mut events) = spawn_announcer(announcer).expect("announcer");
        let joined = tokio::time::timeout(WAIT, events.recv())
            .await
            .expect("the room answers in time");
        assert_eq!(joined, Some(AnnouncerEvent::RoomJoined));
        let xmpp = app.state.alerts.xmpp();
        assert_eq!(xmpp.send_due(&handle).await.expect("sent"), 4);

        let text = "Emergency alert: Gas leak in Hall B: leave the building now.";
        let got = ann
            .expect("the alert as a chat message", |e| {
                e.name() == "message" && e.attr("from") == Some(ALERTS)
            })
            .await;
        assert_eq!(body_of(&got), text);
        assert_eq!(got.attr("type"), Some("chat"));
        let got = duty
            .expect("the alert to the staff JID", |e| {
                e.name() == "message" && e.attr("from") == Some(ALERTS)
            })
            .await;
        assert_eq!(body_of(&got), text);
        let got = chief
            .expect("the alert in the staff room", |e| {
                e.name() == "message" && e.attr("type") == Some("groupchat")
            })
            .await;
        assert_eq!(got.attr("from"), Some(&*format!("{}/Alerts", room.as_str())));
        assert_eq!(body_of(&got), text);

        // cat's server does not exist: the bounce comes back and is recorded.
        let bounce = tokio::time::timeout(WAIT, events.recv())
            .await
            .expect("the bounce in time")
            .expect("an event");
        let AnnouncerEvent::Bounced { id: stanza, reason } = bounce else {
            panic!("expected a bounce, got {bounce:?}");
        };
        assert!(xmpp.bounced(&stanza, &reason).await.expect("recorded"));
        let counts = xmpp.counts(id).await.expect("counts").expect("a channel");
        assert_eq!((counts.waiting, counts.sent, counts.failed), (0, 3, 1));
        let failures = xmpp.failures(id).await.expect("failures");
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].0, "cat@nowhere.invalid");
        assert!(failures[0].1.contains("refused"), "{failures:?}");

        // The page and the API count the channel.
        let r = admin.get(&format!("/admin/campaigns/{id}")).await;
        assert!(r.body.contains("id=\"channel-xmpp\""), "{}", r.body);
        assert!(r.body.contains("cat@nowhere.invalid"), "{}", r.body);
        let r = admin
            .json(Method::GET, &format!("/api/v1/campaigns/{id}"), serde_json::Value::Null)
            .await;
        let progress: serde_json::Value = serde_json::from_str(&r.body).expect("JSON");
        let channel = &progress["channels"][0];
        assert_eq!(channel["id"], "xmpp", "{progress}");
        assert_eq!(channel["counts"]["sent"], 3, "{progress}");

        // Running the enqueuer again queues nothing twice.
        app.state
            .alerts
            .campaigns()
            .enqueue(id, textgate_alert_service::campaigns::Audience::Everyone, "x")
            .await
            .expect("enqueue again");
        assert_eq!(app.count(queued).await, 4);

        // A member who removes the address gets no more.
        let r = member.post("/alerts/xmpp", &[("jid", "")]).await;
        assert!(r.body.contains("no longer come over XMPP"), "{}", r.body);
        let left = "SELECT COUNT(*) FROM alert_xmpp_addresses";
        assert_eq!(app.count(left).await, 1, "only cat's remains");
        drop(handle);
        tokio::time::timeout(Duration::from_secs(5), async {
            while events.recv().await.is_some() {}
        })
        .await
        .expect("the announcer stops with its last handle");
    })
    .await;
}

#[tokio::test]
async fn without_a_server_messages_wait_and_are_not_lost() {
    both(|app: App| async move {
        // A component port nobody listens on.
        let announcer = AnnouncerConfig::new(ALERTS, "secret", "127.0.0.1:9", None);
        let app = app.with_settings(|s| {
            s.xmpp = Some(XmppChannel {
                announcer: announcer.clone(),
                staff: vec![BareJid::new("duty@example.org").expect("JID")],
            });
        });
        let mut admin = app
            .signed_in(
                "admin@example.org",
                &[Role::EmergencyAdministrator, Role::Member],
            )
            .await;
        app.confirmed_member("ann@example.org", "+12025550101")
            .await;
        let id = app.send_real(&mut admin, "Storm: stay inside.", None).await;
        app.outbox_once_enqueued(id).await;
        let (handle, _events) = spawn_announcer(announcer).expect("announcer");
        let xmpp = app.state.alerts.xmpp();
        assert_eq!(xmpp.send_due(&handle).await.expect("tried"), 1);
        let counts = xmpp.counts(id).await.expect("counts").expect("a channel");
        assert_eq!((counts.waiting, counts.sent, counts.failed), (1, 0, 0));
        let why = "SELECT COUNT(*) FROM alert_xmpp_deliveries
                   WHERE state = 'pending' AND attempts = 1 AND last_error LIKE '%not connected%'";
        assert_eq!(app.count(why).await, 1, "kept, with the reason");
        // Not tried again at once.
        assert_eq!(xmpp.send_due(&handle).await.expect("nothing due"), 0);
        app.clock.advance(chrono::TimeDelta::seconds(11));
        assert_eq!(xmpp.send_due(&handle).await.expect("tried again"), 1);
    })
    .await;
}
