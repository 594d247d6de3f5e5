//! The notifier against a real notification socket, as systemd provides it. One test in
//! its own process, because it sets `NOTIFY_SOCKET` and `WATCHDOG_USEC` for the process.

use std::time::Duration;

use textgate_telemetry::{ComponentState, Metrics, ModemState, Readiness, SystemdNotifier};
use tokio::net::UnixDatagram;

async fn next_datagram(socket: &UnixDatagram) -> String {
    let mut buffer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), socket.recv(&mut buffer))
        .await
        .expect("a notification within 10 s")
        .unwrap();
    String::from_utf8_lossy(&buffer[..n]).into_owned()
}

#[tokio::test]
async fn ready_after_every_gateway_is_up_then_watchdog_pings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&path).unwrap();
    std::env::set_var("NOTIFY_SOCKET", &path);
    std::env::set_var("WATCHDOG_USEC", "400000");
    std::env::remove_var("WATCHDOG_PID");

    let readiness = Readiness::new(Metrics::new());
    readiness.register_gateway("library");
    // The grace period is long, so READY=1 can only come from the gateway becoming ready.
    let notifier = SystemdNotifier::spawn(readiness.clone(), Duration::from_secs(3600));

    let mut seen = Vec::new();
    loop {
        let message = next_datagram(&socket).await;
        if message.starts_with("STATUS=waiting") {
            seen.push(message);
            break;
        }
    }
    assert!(!seen.iter().any(|m| m.contains("READY=1")));
    readiness.set_component("library", ComponentState::Connected);
    readiness.set_modem("library", ModemState::Ready);
    let mut ready = None;
    let mut pinged = false;
    while ready.is_none() || !pinged {
        let message = next_datagram(&socket).await;
        if message.contains("READY=1") {
            ready = Some(message);
        } else if message == "WATCHDOG=1\n" {
            pinged = true;
        }
    }
    assert_eq!(
        ready.as_deref(),
        Some("READY=1\nSTATUS=ready: 1 gateway(s) serving\n")
    );
    notifier.stop();
    let mut last = next_datagram(&socket).await;
    while last == "WATCHDOG=1\n" {
        last = next_datagram(&socket).await;
    }
    assert_eq!(last, "STOPPING=1\nSTATUS=stopping\n");
}
