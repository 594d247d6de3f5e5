//! The README's first command, `scripts/demo`, runs `textgate demo`, which runs
//! `textgate-demo`. Its self-test starts the same things (a real Prosody, the simulator on a
//! real pseudo-terminal, the daemon as a child process), sends a patron's text, answers it as
//! a librarian and checks the answer left the modem. Needs the `prosody` package
//! (scripts/test installs it).
//!
//! The daemon is this package's `textgate-demo-daemon` (`textgate run` built from the current
//! code), named with `--daemon`: the `textgate` beside `textgate-demo` in the target
//! directory could be an old build.

use std::process::{Command, Stdio};
use std::time::Duration;

/// `textgate-demo` with the current daemon and `args`.
fn demo(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_textgate-demo"));
    command
        .arg("--daemon")
        .arg(env!("CARGO_BIN_EXE_textgate-demo-daemon"))
        .args(args)
        .env_remove("TEXTGATE_CONFIG");
    command
}

#[test]
fn demo_self_test_passes_and_leaves_nothing_running() {
    let child = demo(&["--self-test"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting textgate-demo");
    let pid = child.id();
    // wait_with_output blocks; bound it from a watchdog thread that kills the demo, so a
    // hang fails the test instead of stalling the suite.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(Duration::from_secs(300)).is_err() {
            // SIGTERM: the demo stops what it started and fails the self-test.
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
    });
    let output = child.wait_with_output().expect("waiting for textgate-demo");
    let _ = done_tx.send(());
    let _ = watchdog.join();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("demo self-test passed"),
        "status {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    assert!(
        stderr.contains("the demo's directory is removed"),
        "stderr:\n{stderr}"
    );
    // Prosody and the daemon were started with configuration files in the demo's
    // directory, whose name carries the demo's pid; none of them may outlive the demo.
    let survivors = Command::new("pgrep")
        .args(["-a", "-f", &format!("textgate-demo-{pid}-")])
        .output()
        .expect("running pgrep");
    assert!(
        survivors.stdout.is_empty(),
        "processes left behind by the demo: {}",
        String::from_utf8_lossy(&survivors.stdout)
    );
}

/// The interactive demo: it prints its instructions, and Ctrl-C (SIGINT) stops Prosody and
/// the daemon and removes its directory.
#[test]
fn ctrl_c_stops_everything_the_demo_started() {
    use std::io::{BufRead, BufReader};

    let mut child = demo(&[])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting textgate-demo");
    let pid = child.id();
    let stdout = child.stdout.take().expect("piped stdout");
    // Read the instructions on a thread, so the wait for them can be bounded.
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut instructions = Vec::new();
    let dir = loop {
        match lines_rx.recv_timeout(Duration::from_secs(120)) {
            Ok(line) => {
                instructions.push(line.clone());
                if let Some(log) = line.strip_prefix("The daemon's log: ") {
                    break std::path::PathBuf::from(log)
                        .parent()
                        .expect("the log is in the demo's directory")
                        .to_owned();
                }
            }
            Err(_) => {
                let _ = child.kill();
                panic!("no instructions from the demo; it printed: {instructions:#?}");
            }
        }
    };
    assert!(
        instructions
            .iter()
            .any(|l| l.contains("alice@library.test   password ")),
        "{instructions:#?}"
    );
    assert!(
        dir.is_dir(),
        "{} should exist while the demo runs",
        dir.display()
    );
    let running = |dir: &std::path::Path| {
        Command::new("pgrep")
            .args(["-f", &dir.display().to_string()])
            .output()
            .expect("running pgrep")
            .stdout
    };
    assert!(!running(&dir).is_empty(), "Prosody and the daemon run");

    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("running kill");
    assert!(status.success());
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait());
    });
    let exit = done_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the demo stops within 60 s of Ctrl-C")
        .expect("waiting for the demo");
    assert!(exit.success(), "{exit}");
    assert!(!dir.exists(), "{} should be removed", dir.display());
    assert!(
        running(&dir).is_empty(),
        "left running: {}",
        String::from_utf8_lossy(&running(&dir))
    );
}
