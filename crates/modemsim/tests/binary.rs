//! The `textgate-modemsim` binary: it prints where it listens, one machine-readable line
//! per endpoint, and serves AT on all of them.

mod common;

use std::process::Stdio;

use common::{Host, ANSWER};
use textgate_modemsim::pty::TtyStream;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;

#[tokio::test]
async fn binary_prints_its_endpoints_and_serves_them() {
    let dir = std::env::temp_dir().join(format!("modemsim-bin-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let link = dir.join("modem");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_textgate-modemsim"))
        .args([
            "--tcp",
            "127.0.0.1:0",
            "--control",
            "127.0.0.1:0",
            "--latency-ms",
            "0",
        ])
        .args(["--personality", "quectel", "--capacity", "10", "--link"])
        .arg(&link)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start textgate-modemsim");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let (mut pty, mut tcp, mut control) = (None, None, None);
    while pty.is_none() || tcp.is_none() || control.is_none() {
        let line = tokio::time::timeout(ANSWER, lines.next_line())
            .await
            .expect("endpoint lines in time")
            .expect("read stdout")
            .expect("the simulator exited early");
        match line.split_once(' ') {
            Some(("pty", path)) => pty = Some(path.to_owned()),
            Some(("tcp", addr)) => tcp = Some(addr.to_owned()),
            Some(("control", url)) => control = Some(url.to_owned()),
            Some(("link", _)) => {}
            _ => panic!("unexpected line {line:?}"),
        }
    }
    let pty = pty.unwrap_or_default();
    assert!(pty.starts_with("/dev/pts/"), "{pty}");
    assert!(control.unwrap_or_default().starts_with("http://127.0.0.1:"));
    assert_eq!(
        std::fs::read_link(&link).expect("link").to_string_lossy(),
        pty
    );

    let mut serial = Host::new(TtyStream::open(&link).expect("open the pty through the link"));
    assert_eq!(
        serial.command("AT+CGMI").await,
        "AT+CGMI\r\r\nQuectel\r\n\r\nOK\r\n"
    );
    assert_eq!(
        serial.command("ATE0;+CPMS?").await,
        "ATE0;+CPMS?\r\r\n+CPMS: \"SM\",0,10,\"SM\",0,10,\"SM\",0,10\r\n\r\nOK\r\n"
    );

    let addr = tcp.unwrap_or_default();
    let stream = tokio::time::timeout(ANSWER, TcpStream::connect(&addr))
        .await
        .expect("connect in time")
        .expect("connect");
    let mut network = Host::new(stream);
    // Both transports reach the same modem: echo is already off.
    assert_eq!(network.command("AT").await, "\r\nOK\r\n");

    child.kill().await.expect("stop the simulator");
    let _ = std::fs::remove_dir_all(&dir);
}
