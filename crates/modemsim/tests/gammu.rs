//! Third-party software against the simulator: Gammu 1.42 (Debian's `gammu`), which knows
//! real modem families by their identity and treats each as it treats the real thing
//! (Huawei's `AT^CURC`/`AT^PORTSEL` at connect, its message locations counted from 0).
//! Every personality must pass Gammu's identify, send, list and delete over a real
//! pseudo-terminal, and what Gammu says must match what the simulator recorded. A
//! simulator that only our own driver accepts could share our misreadings of the modems.
//!
//! Needs the `gammu` package; `scripts/test` installs it (`ensure_gammu` in
//! `scripts/lib/env.sh`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::ANSWER;
use textgate_modemsim::pty::serve_pty;
use textgate_modemsim::{IncomingText, Personality, SimConfig, SimHandle};

/// How long one Gammu command may take: it probes a dozen commands at connect, each
/// answered at once.
const GAMMU_RUN: Duration = Duration::from_secs(60);

const RECIPIENT: &str = "+15551234567";
const OUTGOING: &str = "The library opens at 9 tomorrow";
/// What the test puts on the SIM: (sender, text).
const STORED: [(&str, &str); 2] = [
    ("+15557654321", "Is the library open on Sunday?"),
    ("+15550001111", "Can I renew my books by text?"),
];

/// A simulator on a fresh pty, and a gammurc pointing Gammu at it.
struct Bench {
    sim: SimHandle,
    dir: PathBuf,
    gammurc: PathBuf,
}

impl Bench {
    async fn start(personality: Personality) -> Bench {
        let sim = SimHandle::new(SimConfig {
            personality,
            ..SimConfig::instant()
        });
        let mut paths = sim.pty_path();
        tokio::spawn(serve_pty(sim.clone(), None));
        let pty = tokio::time::timeout(ANSWER, paths.wait_for(Option::is_some))
            .await
            .expect("the pty did not appear in time")
            .expect("the simulator stopped")
            .clone()
            .expect("a path");
        let dir = std::env::temp_dir().join(format!(
            "modemsim-gammu-{}-{personality}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let gammurc = dir.join("gammurc");
        // Gammu's debug log goes beside the config, for reading when a test fails.
        std::fs::write(
            &gammurc,
            format!(
                "[gammu]\ndevice = {}\nconnection = at\nlogformat = textall\nlogfile = {}\n",
                pty.display(),
                dir.join("gammu.log").display()
            ),
        )
        .expect("write gammurc");
        Bench { sim, dir, gammurc }
    }

    /// Runs `gammu -c gammurc <args>` and returns what it printed; fails the test when
    /// Gammu fails, with its output and where its log is.
    async fn gammu(&self, personality: Personality, args: &[&str]) -> String {
        let output = run_gammu(&self.gammurc, args).await;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{personality}: gammu {args:?} failed ({}):\n{stdout}{}\nGammu's log: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            self.dir.join("gammu.log").display()
        );
        stdout
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

async fn run_gammu(gammurc: &Path, args: &[&str]) -> Output {
    let child = tokio::process::Command::new("gammu")
        .arg("-c")
        .arg(gammurc)
        .args(args)
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(GAMMU_RUN, child).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "gammu is not installed: run scripts/test, which installs it (ensure_gammu in \
             scripts/lib/env.sh), or apt-get install gammu"
        ),
        Ok(Err(e)) => panic!("cannot run gammu: {e}"),
        Err(_) => panic!("gammu {args:?} did not finish within {GAMMU_RUN:?}"),
    }
}

/// The value Gammu prints after `label` (`Manufacturer         : Huawei`).
fn field<'a>(printed: &'a str, label: &str) -> Option<&'a str> {
    printed.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name.trim() == label).then(|| value.trim())
    })
}

async fn exercise(personality: Personality) {
    let bench = Bench::start(personality).await;
    let profile = personality.profile();

    // identify: the identity the personality claims, read as Gammu reads it.
    let printed = bench.gammu(personality, &["identify"]).await;
    assert_eq!(
        field(&printed, "Manufacturer").map(str::to_ascii_lowercase),
        Some(profile.manufacturer.to_ascii_lowercase()),
        "{personality}: {printed}"
    );
    assert!(
        field(&printed, "Model").is_some_and(|m| m.contains(profile.model)),
        "{personality}: {printed}"
    );
    assert_eq!(
        field(&printed, "Firmware"),
        Some(profile.revision),
        "{personality}"
    );
    assert_eq!(
        field(&printed, "IMEI"),
        Some(SimConfig::default().imei.as_str()),
        "{personality}"
    );
    assert_eq!(
        field(&printed, "SIM IMSI"),
        Some("001010123456789"),
        "{personality}"
    );

    // sendsms: the text reaches the simulated network, once.
    let printed = bench
        .gammu(
            personality,
            &["sendsms", "TEXT", RECIPIENT, "-text", OUTGOING],
        )
        .await;
    assert!(
        printed.contains("OK, message reference=0"),
        "{personality}: {printed}"
    );
    let sent = bench.sim.sent_messages();
    assert_eq!(sent.len(), 1, "{personality}: {sent:?}");
    assert_eq!(
        sent.first()
            .map(|m| (m.recipient.as_str(), m.text.as_str())),
        Some((RECIPIENT, OUTGOING)),
        "{personality}"
    );

    // getallsms: what the network stored on the SIM, at Gammu's locations 1 and 2
    // whatever the modem's first index (Gammu converts for the families it knows).
    for (from, text) in STORED {
        bench
            .sim
            .inject_text(&IncomingText::new(from, text))
            .expect("inject");
    }
    let indices: Vec<usize> = bench.sim.sim_messages().iter().map(|m| m.index).collect();
    let first = profile.first_storage_index;
    assert_eq!(indices, [first, first + 1], "{personality}");
    let printed = bench.gammu(personality, &["getallsms"]).await;
    for (from, text) in STORED {
        assert!(
            printed.contains(text) && printed.contains(from),
            "{personality}: {from} {text:?} missing from\n{printed}"
        );
    }
    assert!(
        printed.contains("Location 1, folder \"Inbox\"")
            && printed.contains("Location 2, folder \"Inbox\""),
        "{personality}: {printed}"
    );
    assert!(
        printed.contains("2 SMS parts in 2 SMS sequences"),
        "{personality}: {printed}"
    );

    // deleteallsms 1 (the inbox): the SIM is empty afterwards, and Gammu sees it so.
    bench.gammu(personality, &["deleteallsms", "1"]).await;
    let left = bench.sim.sim_messages();
    assert!(left.is_empty(), "{personality}: still stored: {left:?}");
    assert_eq!(
        bench.sim.counters().deletes,
        2,
        "{personality}: each message deleted once"
    );
    let printed = bench.gammu(personality, &["getallsms"]).await;
    assert!(
        printed.contains("0 SMS parts in 0 SMS sequences"),
        "{personality}: {printed}"
    );
}

#[tokio::test]
async fn gammu_identifies_sends_lists_and_deletes_on_every_personality() {
    // Gammu pauses about a second at each connect (waking the modem, escaping SMS mode),
    // so the personalities run side by side, each on its own pty.
    let mut runs = tokio::task::JoinSet::new();
    for personality in Personality::ALL {
        runs.spawn(exercise(personality));
    }
    while let Some(done) = runs.join_next().await {
        match done {
            Ok(()) => {}
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("a Gammu run did not finish: {e}"),
        }
    }
}
