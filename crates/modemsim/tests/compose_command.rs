//! The simulator as docker/compose.yaml starts it: the service's entrypoint and command are
//! accepted and serve AT over TCP. Addresses are moved to loopback with a free port, the
//! only change from what the container runs.

mod common;

use std::path::Path;
use std::process::Stdio;

use common::{Host, ANSWER};
use textgate_testkit::docker::ComposeFile;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;

#[tokio::test]
async fn the_compose_command_line_starts_a_working_simulator() {
    let compose_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docker/compose.yaml");
    let compose = ComposeFile::load(&compose_file).expect("docker/compose.yaml");
    let command = compose
        .command_line("modemsim")
        .expect("the modemsim service");
    let (program, args) = command.split_first().expect("an entrypoint");
    assert_eq!(program, "textgate-modemsim");
    let args: Vec<String> = args
        .iter()
        .map(|a| match a.strip_prefix("0.0.0.0:") {
            Some(_) => "127.0.0.1:0".to_owned(),
            None => a.clone(),
        })
        .collect();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_textgate-modemsim"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start textgate-modemsim");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let (mut tcp, mut control) = (None, None);
    while tcp.is_none() || control.is_none() {
        let line = tokio::time::timeout(ANSWER, lines.next_line())
            .await
            .expect("endpoint lines in time")
            .expect("read stdout");
        let Some(line) = line else {
            let output = child
                .wait_with_output()
                .await
                .expect("the simulator's output");
            panic!(
                "textgate-modemsim {args:?} exited: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        match line.split_once(' ') {
            Some(("tcp", addr)) => tcp = Some(addr.to_owned()),
            Some(("control", url)) => control = Some(url.to_owned()),
            _ => panic!("unexpected line {line:?}"),
        }
    }
    let addr = tcp.unwrap_or_default();
    let stream = tokio::time::timeout(ANSWER, TcpStream::connect(&addr))
        .await
        .expect("connect in time")
        .expect("connect");
    let mut modem = Host::new(stream);
    assert_eq!(modem.command("ATE0").await, "ATE0\r\r\nOK\r\n");
    assert_eq!(modem.command("AT").await, "\r\nOK\r\n");
    child.kill().await.expect("stop the simulator");
}
