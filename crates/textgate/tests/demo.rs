//! `textgate demo` hands over to the `textgate-demo` program beside `textgate` (the demo
//! itself is tested in crates/demo). Here `textgate` runs from a directory of its own, with a
//! stand-in `textgate-demo` or none, so what it finds beside itself is known.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A directory with `textgate` in it, and the path of that `textgate`.
fn textgate_alone() -> (tempfile::TempDir, PathBuf) {
    // Under the target directory, so a hard link to the binary works (same file system) and
    // nothing is copied; the link's own path is what `textgate` finds itself at.
    let dir = tempfile::Builder::new()
        .prefix("demo-exec-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temporary directory");
    let textgate = dir.path().join("textgate");
    let binary = env!("CARGO_BIN_EXE_textgate");
    if std::fs::hard_link(binary, &textgate).is_err() {
        std::fs::copy(binary, &textgate).expect("copying textgate");
    }
    (dir, textgate)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(textgate: &Path, args: &[&str]) -> (Output, u32) {
    let child = Command::new(textgate)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting textgate");
    let pid = child.id();
    (child.wait_with_output().expect("waiting for textgate"), pid)
}

#[test]
fn without_textgate_demo_beside_it_says_how_to_build_it() {
    let (_dir, textgate) = textgate_alone();
    let (output, _) = run(&textgate, &["demo", "--self-test"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("textgate-demo is missing")
            && stderr.contains("cargo build --release -p textgate -p textgate-demo"),
        "{stderr}"
    );
}

#[test]
fn it_becomes_textgate_demo_with_every_argument() {
    use std::os::unix::fs::PermissionsExt as _;

    let (dir, textgate) = textgate_alone();
    let stand_in = dir.path().join("textgate-demo");
    std::fs::write(&stand_in, "#!/bin/sh\necho \"pid $$: $*\"\nexit 7\n").expect("stand-in");
    std::fs::set_permissions(&stand_in, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let (output, pid) = run(&textgate, &["demo", "--self-test", "--help"]);
    let stdout = text(&output.stdout);
    // The demo's own exit status, and the process `textgate` was started as: replaced (exec),
    // not a child left waiting for the demo.
    assert_eq!(
        output.status.code(),
        Some(7),
        "{stdout}{}",
        text(&output.stderr)
    );
    assert_eq!(stdout, format!("pid {pid}: --self-test --help\n"));
}
