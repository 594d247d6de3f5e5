//! A one-time check that the textgate component is not Prosody-specific: the core scenario
//! of `tests/prosody.rs`, run against a throw-away ejabberd.
//!
//! Needs the `ejabberd` package (Debian 12 ships 23.01; scripts/test installs it). The node
//! is testkit's throw-away ejabberd (`textgate_testkit::ejabberd`), as in the end-to-end
//! tests of stream management (tests/tests/delivered_ejabberd.rs), which CI runs; this
//! broader check is run by hand. docs/ejabberd.md says how and what a run printed.
//!
//! ```text
//! cargo run -p textgate-xmpp --example ejabberd_check
//! ```
//!
//! Every step prints `passed` or `failed`; the process exits non-zero if any step failed.
//! ejabberd is stopped and its directory removed at the end, also after a failure.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::TimeZone as _;
use futures::FutureExt as _;
use textgate_core::{BareJid, PatronAddress, Region, ResourcePresence, Show};
use textgate_testkit::ejabberd::{Ejabberd, EjabberdSetup};
use textgate_testkit::xmpp::{to_xml, Librarian, WAIT};
use textgate_xmpp::{
    BackoffConfig, ComponentConfig, ComponentHandle, GatewayEvent, Outgoing, ReceiptRequest,
    TextToOperator,
};
use tokio::sync::mpsc;
use tokio::time::timeout;

const HOST: &str = "library.test";
const GW: &str = "sms.library.test";
const PATRON: &str = "+15551234567@sms.library.test";
const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
/// How long ejabberd may take to open its ports and create the accounts.
const START_TIMEOUT: Duration = Duration::from_secs(120);
const SECRET: &str = "ejabberd-check-secret";

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut report = Report::default();
    runtime.block_on(scenario(&mut report));
    drop(runtime);
    println!();
    if report.failed == 0 {
        println!("ejabberd check: all {} steps passed", report.passed);
        ExitCode::SUCCESS
    } else {
        println!(
            "ejabberd check: {} passed, {} FAILED",
            report.passed, report.failed
        );
        ExitCode::FAILURE
    }
}

/// Counts and prints the steps.
#[derive(Default)]
struct Report {
    passed: usize,
    failed: usize,
}

impl Report {
    /// Runs one step, bounded by `limit`. A panic inside (the librarian client panics when the
    /// server misbehaves) counts as a failure of this step, not of the whole program.
    async fn step<T>(
        &mut self,
        name: &str,
        limit: Duration,
        work: impl Future<Output = Result<T, String>>,
    ) -> Option<T> {
        let outcome = timeout(limit, AssertUnwindSafe(work).catch_unwind()).await;
        let result = match outcome {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => Err(panic_message(panic.as_ref())),
            Err(_) => Err(format!("not done within {limit:?}")),
        };
        match result {
            Ok(value) => {
                self.passed += 1;
                println!("passed  {name}");
                Some(value)
            }
            Err(why) => {
                self.failed += 1;
                println!("FAILED  {name}: {why}");
                None
            }
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else {
        "panicked".to_owned()
    }
}

/// The scenario. Stops at the first failed step: later steps build on earlier ones. The
/// `Ejabberd` guard stops the server when this returns, whichever way.
async fn scenario(report: &mut Report) {
    let Some(ejabberd) = report
        .step(
            "ejabberd starts with a c2s and a component listener, accounts alice and mallory",
            START_TIMEOUT,
            async {
                EjabberdSetup::new()
                    .component(GW, SECRET)
                    .account("alice", "pw")
                    .account("mallory", "pw")
                    .start()
                    .await
                    .map_err(|e| e.to_string())
            },
        )
        .await
    else {
        return;
    };
    if let Some(line) = ejabberd
        .log()
        .lines()
        .find(|l| l.contains(" is started in the node"))
    {
        println!("        {}", line.trim());
    }

    let Some((handle, mut events)) = report
        .step("component handshake (XEP-0114)", WAIT, async {
            let session = textgate_xmpp::spawn(component_config(&ejabberd, &[&alice()]))
                .map_err(|e| e.to_string())?;
            let (handle, mut events) = session;
            wait_for(&mut events, |e| *e == GatewayEvent::Connected).await?;
            Ok((handle, events))
        })
        .await
    else {
        return;
    };
    let c2s = ejabberd.c2s_addr();

    if report
        .step("disco#info shows identity gateway/sms", WAIT, async {
            let mut alice = Librarian::login(&c2s, HOST, "alice", "pw", "disco")
                .await
                .map_err(|e| e.to_string())?;
            alice
                .send(&format!(
                    "<iq xmlns='jabber:client' type='get' id='disco-1' to='{GW}'><query xmlns='{DISCO_INFO}'/></iq>"
                ))
                .await;
            let answer = alice
                .expect("disco#info result", |e| e.attr("id") == Some("disco-1"))
                .await;
            let identity = answer
                .get_child("query", DISCO_INFO)
                .and_then(|q| q.get_child("identity", DISCO_INFO))
                .ok_or_else(|| format!("no identity in {}", to_xml(&answer)))?;
            let found = (identity.attr("category"), identity.attr("type"));
            alice.logout().await;
            if found == (Some("gateway"), Some("sms")) {
                Ok(())
            } else {
                Err(format!("identity {found:?} in {}", to_xml(&answer)))
            }
        })
        .await
        .is_none()
    {
        return;
    }

    let Some(mut alice) = report
        .step(
            "operator approves the subscription, her presence is tracked (online)",
            WAIT,
            async {
                let mut alice = Librarian::login(&c2s, HOST, "alice", "pw", "desk")
                    .await
                    .map_err(|e| e.to_string())?;
                alice.come_online().await.map_err(|e| e.to_string())?;
                alice
                    .approve_subscription(GW)
                    .await
                    .map_err(|e| e.to_string())?;
                wait_for(
                    &mut events,
                    is_alice("desk", ResourcePresence::Available(Show::Online)),
                )
                .await?;
                Ok(alice)
            },
        )
        .await
    else {
        return;
    };

    let patron = PatronAddress::E164("+15551234567".to_owned());
    if report
        .step(
            "a patron's text reaches the operator with its delay stamp",
            WAIT,
            async {
                let smsc_time = chrono::Utc
                    .with_ymd_and_hms(2026, 11, 21, 23, 59, 58)
                    .single()
                    .ok_or("bad test time")?;
                handle
                    .send(Outgoing::Text(TextToOperator {
                        patron: patron.clone(),
                        operator: alice_jid(),
                        body: "Is the library open on Sunday?".to_owned(),
                        id: "in-1".to_owned(),
                        delayed_since: Some(smsc_time),
                        receipt: ReceiptRequest::NotRequested,
                    }))
                    .await
                    .map_err(|e| e.to_string())?;
                let text = alice
                    .expect("the patron's text", |e| {
                        e.name() == "message" && e.attr("id") == Some("in-1")
                    })
                    .await;
                let body = text.get_child("body", "jabber:client").map(|b| b.text());
                let stamp = text
                    .get_child("delay", "urn:xmpp:delay")
                    .and_then(|d| d.attr("stamp"));
                let got = (text.attr("from"), body.as_deref(), stamp);
                let want = (
                    Some(PATRON),
                    Some("Is the library open on Sunday?"),
                    Some("2026-11-21T23:59:58+00:00"),
                );
                if got == want {
                    Ok(())
                } else {
                    Err(format!("got {got:?}, want {want:?}: {}", to_xml(&text)))
                }
            },
        )
        .await
        .is_none()
    {
        return;
    }

    if report
        .step(
            "the operator's reply arrives as an OperatorReply",
            WAIT,
            async {
                alice
                    .send(&format!(
                        "<message xmlns='jabber:client' type='chat' id='r-1' to='{PATRON}'>\
                       <body>Yes, 12 to 5.</body><request xmlns='urn:xmpp:receipts'/></message>"
                    ))
                    .await;
                let event =
                    wait_for(&mut events, |e| matches!(e, GatewayEvent::OperatorReply(_))).await?;
                let GatewayEvent::OperatorReply(reply) = event else {
                    return Err(format!("not a reply: {event:?}"));
                };
                let got = (
                    &reply.operator,
                    reply.from.as_str(),
                    &reply.patron,
                    reply.body.as_str(),
                    reply.id.as_deref(),
                    reply.receipt_requested,
                );
                let want = (
                    &alice_jid(),
                    alice.jid.as_str(),
                    &patron,
                    "Yes, 12 to 5.",
                    Some("r-1"),
                    ReceiptRequest::Requested,
                );
                if got == want {
                    Ok(())
                } else {
                    Err(format!("got {got:?}, want {want:?}"))
                }
            },
        )
        .await
        .is_none()
    {
        return;
    }

    if report
        .step("a stranger (mallory) is refused with forbidden", WAIT, async {
            let mut mallory = Librarian::login(&c2s, HOST, "mallory", "pw", "bot")
                .await
                .map_err(|e| e.to_string())?;
            mallory
                .send(&format!(
                    "<message xmlns='jabber:client' type='chat' id='spam-1' to='{PATRON}'><body>free money</body></message>"
                ))
                .await;
            let error = mallory
                .expect("an error", |e| e.attr("id") == Some("spam-1"))
                .await;
            mallory.logout().await;
            let forbidden = error.attr("type") == Some("error")
                && error
                    .get_child("error", "jabber:client")
                    .is_some_and(|e| e.has_child("forbidden", STANZAS));
            if forbidden {
                Ok(())
            } else {
                Err(format!("not a forbidden error: {}", to_xml(&error)))
            }
        })
        .await
        .is_none()
    {
        return;
    }

    if report
        .step(
            "the operator logging out is reported (unavailable)",
            WAIT,
            async {
                alice.logout().await;
                wait_for(&mut events, is_alice("desk", ResourcePresence::Unavailable)).await?;
                Ok(())
            },
        )
        .await
        .is_none()
    {
        return;
    }

    let Some(second) = report
        .step(
            "a second connection for the same domain is accepted (ejabberd load-balances; Prosody refuses it)",
            WAIT,
            second_connection(&ejabberd),
        )
        .await
    else {
        return;
    };
    // Not part of the core scenario: why two daemons must not share a gateway domain.
    let observed = AssertUnwindSafe(spread_of_replies(&c2s, &mut events))
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| format!("could not check: {}", panic_message(panic.as_ref())));
    println!("note    replies with two connections: {observed}");
    second.shutdown().await;

    if report
        .step("the component shuts down", WAIT, async {
            handle.shutdown().await;
            Ok(())
        })
        .await
        .is_none()
    {
        return;
    }

    // Not part of the core scenario: what a librarian sees when replying while the gateway
    // is down. Prosody answers at once with remote-server-timeout (wait). ejabberd forgets
    // the domain when its last component connection goes, treats it as a remote server and
    // tries s2s, so the answer depends on DNS; printed, never a failure.
    let observed = AssertUnwindSafe(bounce_while_away(&c2s))
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| format!("could not check: {}", panic_message(panic.as_ref())));
    println!("note    a reply while the component is away: {observed}");
}

/// Sends a reply to a patron while no component is connected and describes the answer.
async fn bounce_while_away(c2s: &str) -> String {
    let mut alice = match Librarian::login(c2s, HOST, "alice", "pw", "late").await {
        Ok(alice) => alice,
        Err(e) => return format!("alice could not log in: {e}"),
    };
    alice
        .send(&format!(
            "<message xmlns='jabber:client' type='chat' id='late-1' to='{PATRON}'><body>Still there?</body></message>"
        ))
        .await;
    // Shorter than the client's own limit, so no answer is an observation, not a panic.
    let limit = WAIT - Duration::from_secs(1);
    let started = Instant::now();
    let answer = timeout(
        limit,
        alice.expect("a bounce", |e| e.attr("id") == Some("late-1")),
    )
    .await;
    alice.logout().await;
    let Ok(error) = answer else {
        return format!("no answer within {limit:?}");
    };
    let elapsed = started.elapsed();
    let Some(condition) = error
        .get_child("error", "jabber:client")
        .filter(|_| error.attr("type") == Some("error"))
    else {
        return format!("not an error: {}", to_xml(&error));
    };
    let name = condition
        .children()
        .find(|c| c.ns() == STANZAS)
        .map_or("?", |c| c.name());
    let text = condition
        .get_child("text", STANZAS)
        .map(|t| t.text())
        .unwrap_or_default();
    format!(
        "error {name} (type {}) \"{text}\" after {elapsed:.1?}",
        condition.attr("type").unwrap_or("?")
    )
}

/// A second textgate session for the same gateway domain, with no operators so it does not
/// send presence of its own. Left connected for [`spread_of_replies`].
async fn second_connection(ejabberd: &Ejabberd) -> Result<ComponentHandle, String> {
    let (second, mut second_events) =
        textgate_xmpp::spawn(component_config(ejabberd, &[])).map_err(|e| e.to_string())?;
    let event = wait_for(&mut second_events, |e| {
        matches!(
            e,
            GatewayEvent::Connected | GatewayEvent::Disconnected { .. }
        )
    })
    .await;
    match event {
        Ok(GatewayEvent::Connected) => Ok(second),
        other => {
            second.shutdown().await;
            Err(format!("not connected: {other:?}"))
        }
    }
}

/// With two connections for the gateway, sends replies from two resources of alice and
/// counts where they land: the first session (alice is its operator) reports each as an
/// `OperatorReply`; the second (no operators) refuses each with `forbidden`.
async fn spread_of_replies(c2s: &str, events: &mut mpsc::Receiver<GatewayEvent>) -> String {
    const PER_RESOURCE: usize = 6;
    let mut lines = Vec::new();
    for resource in ["lb-a", "lb-b"] {
        let mut alice = match Librarian::login(c2s, HOST, "alice", "pw", resource).await {
            Ok(alice) => alice,
            Err(e) => return format!("alice could not log in as {resource}: {e}"),
        };
        for n in 0..PER_RESOURCE {
            alice
                .send(&format!(
                    "<message xmlns='jabber:client' type='chat' id='{resource}-{n}' to='{PATRON}'><body>n{n}</body></message>"
                ))
                .await;
        }
        let (mut first, mut second) = (0, 0);
        // Shorter than the client's own limit, so a missing answer ends the count cleanly.
        let counted = timeout(WAIT - Duration::from_secs(1), async {
            while first + second < PER_RESOURCE {
                tokio::select! {
                    event = events.recv() => match event {
                        Some(GatewayEvent::OperatorReply(reply))
                            if reply.id.as_deref().is_some_and(|id| id.starts_with(resource)) =>
                        {
                            first += 1;
                        }
                        Some(_) => {}
                        None => return,
                    },
                    _ = alice.expect("a refusal", |e| {
                        e.attr("type") == Some("error")
                            && e.attr("id").is_some_and(|id| id.starts_with(resource))
                    }) => second += 1,
                }
            }
        })
        .await;
        alice.logout().await;
        let missing = if counted.is_ok() {
            ""
        } else {
            " (some unanswered)"
        };
        lines.push(format!(
            "from /{resource}: {first} to the first connection, {second} to the second (refused){missing}"
        ));
    }
    lines.join("; ")
}

fn alice() -> String {
    format!("alice@{HOST}")
}

fn alice_jid() -> BareJid {
    BareJid::new(&alice()).unwrap_or_else(|e| panic!("{e}"))
}

fn is_alice(resource: &'static str, presence: ResourcePresence) -> impl Fn(&GatewayEvent) -> bool {
    move |e| {
        *e == GatewayEvent::OperatorPresence {
            operator: alice_jid(),
            resource: resource.to_owned(),
            presence,
        }
    }
}

fn component_config(ejabberd: &Ejabberd, operators: &[&str]) -> ComponentConfig {
    let operators = operators
        .iter()
        .map(|o| BareJid::new(o).unwrap_or_else(|e| panic!("operator {o}: {e}")))
        .collect();
    let region: Region = "US".parse().unwrap_or_else(|e| panic!("region: {e:?}"));
    let mut config = ComponentConfig::new(
        GW,
        SECRET.to_owned(),
        ejabberd.component_addr(),
        operators,
        region,
    );
    config.backoff = BackoffConfig {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(500),
    };
    config
}

/// Waits (bounded by [`WAIT`]) for the first event `accept` returns true for.
async fn wait_for(
    events: &mut mpsc::Receiver<GatewayEvent>,
    accept: impl Fn(&GatewayEvent) -> bool,
) -> Result<GatewayEvent, String> {
    let mut before = Vec::new();
    let found = timeout(WAIT, async {
        while let Some(event) = events.recv().await {
            if accept(&event) {
                return Some(event);
            }
            before.push(event);
        }
        None
    })
    .await;
    match found {
        Ok(Some(event)) => Ok(event),
        Ok(None) => Err(format!("the session ended; events before: {before:?}")),
        Err(_) => Err(format!("no such event within {WAIT:?}; events: {before:?}")),
    }
}
