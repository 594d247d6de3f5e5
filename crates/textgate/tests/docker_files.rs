//! What can be checked of `docker/` on a machine without a Docker engine: the daemon accepts
//! the configuration the compose file gives it (with the environment the image and the
//! compose file set, every `${VAR:-default}` at its default); the services agree on each
//! other's names, ports and domain; Prosody accepts its configuration; and the build
//! stage's command names packages and binaries that exist, with a `Cargo.lock` that
//! `--locked` accepts, and strips every binary the image copies. Building and starting the
//! images themselves needs Docker.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use textgate::config::{Config, DriverConfig};
use textgate_testkit::docker::{ComposeFile, RuntimeStage};

fn docker_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docker")
}

fn compose() -> ComposeFile {
    ComposeFile::load(&docker_dir().join("compose.yaml")).expect("docker/compose.yaml")
}

/// The environment the `textgate` container starts with: the image's `ENV`, then the
/// compose file's `environment` on top (as Docker merges them).
fn daemon_environment(compose: &ComposeFile) -> BTreeMap<String, String> {
    let image = compose
        .dockerfile("textgate")
        .expect("textgate service")
        .expect("the textgate service is built from a Dockerfile");
    let mut env = RuntimeStage::load(&image)
        .expect("the textgate Dockerfile")
        .env()
        .expect("ENV instructions");
    env.extend(compose.environment("textgate").expect("its environment"));
    env
}

/// The configuration file the container reads: `TEXTGATE_CONFIG` from its environment,
/// followed through the compose file's bind mount to the file in `docker/`.
fn daemon_config_file(compose: &ComposeFile, env: &BTreeMap<String, String>) -> PathBuf {
    let in_container = env
        .get("TEXTGATE_CONFIG")
        .expect("the image names its configuration file in TEXTGATE_CONFIG");
    compose
        .mounted_from("textgate", in_container)
        .unwrap_or_else(|| panic!("nothing in docker/ is mounted at {in_container}"))
}

fn host_and_port(address: &str) -> (&str, u16) {
    let (host, port) = address
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("{address:?} has no port"));
    (
        host,
        port.parse()
            .unwrap_or_else(|_| panic!("{address:?}: bad port")),
    )
}

#[test]
fn the_daemon_accepts_the_configuration_compose_gives_it() {
    let compose = compose();
    let env = daemon_environment(&compose);
    let file = daemon_config_file(&compose, &env);
    let output = Command::new(env!("CARGO_BIN_EXE_textgate"))
        .arg("check-config")
        .env_clear()
        .envs(&env)
        // The container's path to the file is the host's file here.
        .env("TEXTGATE_CONFIG", &file)
        .output()
        .expect("run textgate check-config");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "check-config refused the compose configuration:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("library"), "{stdout}");
}

#[test]
fn the_services_agree_on_names_ports_and_domain() {
    let compose = compose();
    let services = compose.service_names();
    let env = daemon_environment(&compose);
    let config = Config::load(&daemon_config_file(&compose, &env), &env)
        .expect("the compose configuration loads")
        .config;
    let prosody_cfg = std::fs::read_to_string(docker_dir().join("prosody.cfg.lua"))
        .expect("docker/prosody.cfg.lua");

    // The daemon's HTTP port is the one the image exposes, health-checks and compose
    // publishes.
    let http_port = config.http.listen.port();
    let image = RuntimeStage::load(&docker_dir().join("Dockerfile")).expect("Dockerfile");
    assert!(image.exposed_ports().contains(&http_port), "EXPOSE");
    let healthcheck = image.all("HEALTHCHECK").join(" ");
    assert!(
        healthcheck.contains(&format!("/dev/tcp/127.0.0.1/{http_port}")),
        "HEALTHCHECK probes another port than {http_port}: {healthcheck}"
    );
    assert!(compose
        .published_container_ports("textgate")
        .expect("ports")
        .contains(&http_port));

    // The database URL names the postgres service, its user and its database.
    let postgres = compose.environment("postgres").expect("postgres service");
    let url = config.database.url.expose();
    let expected = format!(
        "postgres://{}:{}@postgres:5432/{}",
        postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"]
    );
    assert_eq!(url, expected);

    for gateway in &config.gateways {
        // The component connects to the prosody service's component port, for a
        // component Prosody declares, with the same secret (compose gives both
        // containers the same variable; Prosody's default must equal compose's).
        let (host, port) = host_and_port(&gateway.server);
        assert!(services.iter().any(|s| s == host), "no service {host}");
        assert!(
            prosody_cfg.contains(&format!("component_ports = {{ {port} }}")),
            "Prosody does not listen for components on {port}"
        );
        assert!(
            prosody_cfg.contains(&format!("Component \"{}\"", gateway.domain)),
            "Prosody declares no component {}",
            gateway.domain
        );
        let secret = compose.environment(host).expect("prosody environment")
            ["TEXTGATE_COMPONENT_SECRET"]
            .clone();
        assert_eq!(gateway.secret.expose(), secret);
        assert!(prosody_cfg.contains(&format!("or \"{secret}\"")));

        // The simulator driver reaches the modemsim service on the port it listens on.
        let DriverConfig::Simulator(sim) = &gateway.driver else {
            panic!("the compose example uses the simulator");
        };
        let address = sim.address.as_deref().expect("a simulator address");
        let (host, port) = host_and_port(address);
        let command = compose.command_line(host).expect("modemsim command");
        let tcp = command
            .iter()
            .position(|a| a == "--tcp")
            .and_then(|i| command.get(i + 1))
            .expect("modemsim --tcp");
        assert_eq!(host_and_port(tcp).1, port, "modemsim listens on {tcp}");
    }
}

#[test]
fn prosody_accepts_its_configuration() {
    // prosodyctl reads the file as the prosody user: give it a copy it can read.
    let dir = tempfile::tempdir().expect("temporary directory");
    let copy = dir.path().join("prosody.cfg.lua");
    std::fs::copy(docker_dir().join("prosody.cfg.lua"), &copy).expect("copy");
    make_world_readable(dir.path(), &copy);
    let secret = compose().environment("prosody").expect("prosody service")
        ["TEXTGATE_COMPONENT_SECRET"]
        .clone();
    let output = Command::new("prosodyctl")
        .arg("--config")
        .arg(&copy)
        .args(["check", "config"])
        .env("TEXTGATE_COMPONENT_SECRET", secret)
        .output()
        .expect("run prosodyctl (scripts/test installs Debian's prosody package)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("All checks passed"),
        "prosodyctl check config:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn make_world_readable(dir: &Path, file: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).expect("chmod file");
}

#[test]
fn the_build_stage_names_what_the_workspace_builds() {
    let text = std::fs::read_to_string(docker_dir().join("Dockerfile")).expect("Dockerfile");
    let run = text
        .split("RUN ")
        .find(|r| r.starts_with("cargo build"))
        .expect("a RUN cargo build instruction");
    let words: Vec<&str> = run.split_whitespace().collect();
    assert!(
        words.contains(&"--locked"),
        "the image builds exactly as locked"
    );
    let packages: Vec<&str> = words
        .windows(2)
        .filter(|w| w[0] == "-p")
        .map(|w| w[1])
        .collect();
    let binaries: Vec<&str> = words
        .iter()
        .filter_map(|w| w.strip_prefix("target/release/"))
        .collect();
    assert!(!packages.is_empty() && !binaries.is_empty(), "{run}");

    // `cargo tree --locked` fails when Cargo.lock would have to change, which is what
    // would break `cargo build --locked` in the image. (Offline: the test build already
    // fetched every dependency of this platform.)
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut tree = Command::new(&cargo);
    tree.args([
        "tree",
        "--locked",
        "--offline",
        "-e",
        "normal",
        "--depth",
        "0",
    ]);
    for package in &packages {
        tree.args(["-p", package]);
    }
    let output = tree
        .current_dir(&workspace)
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "cargo build --locked would fail: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = Command::new(&cargo)
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .current_dir(&workspace)
        .output()
        .expect("run cargo metadata");
    assert!(output.status.success(), "cargo metadata failed");
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata JSON");
    let built_binaries: Vec<(String, String)> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .flat_map(|p| {
            let package = p["name"].as_str().unwrap_or_default().to_owned();
            p["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| {
                    t["kind"]
                        .as_array()
                        .is_some_and(|k| k.iter().any(|k| k == "bin"))
                })
                .map(move |t| {
                    (
                        package.clone(),
                        t["name"].as_str().unwrap_or_default().to_owned(),
                    )
                })
        })
        .collect();
    for binary in binaries {
        assert!(
            built_binaries
                .iter()
                .any(|(p, b)| b == binary && packages.contains(&p.as_str())),
            "the build copies {binary}, which none of {packages:?} builds"
        );
    }
}

/// The build stage's commands: its `RUN` instructions with continuation lines joined and
/// comments dropped (as Docker does), each split at `&&` into words.
fn build_stage_commands() -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(docker_dir().join("Dockerfile")).expect("Dockerfile");
    let mut instructions = Vec::new();
    let mut pending = String::new();
    let mut stages = 0;
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || (line.is_empty() && pending.is_empty()) {
            continue;
        }
        if let Some(part) = line.strip_suffix('\\') {
            pending.push_str(part);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let instruction = std::mem::take(&mut pending);
        if instruction.to_ascii_uppercase().starts_with("FROM ") {
            stages += 1;
            if stages > 1 {
                break;
            }
        }
        instructions.push(instruction);
    }
    instructions
        .iter()
        .filter_map(|i| i.strip_prefix("RUN "))
        .flat_map(|run| run.split("&&"))
        .map(|command| command.split_whitespace().map(str::to_owned).collect())
        .filter(|words: &Vec<String>| !words.is_empty())
        .collect()
}

/// The section names `readelf -S` lists for an ELF file.
fn elf_sections(file: &Path) -> Vec<String> {
    let output = Command::new("readelf")
        .args(["-S", "-W"])
        .arg(file)
        .output()
        .expect("run readelf (binutils)");
    assert!(output.status.success(), "readelf -S {}", file.display());
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once("] ")?;
            rest.split_whitespace().next().map(str::to_owned)
        })
        .collect()
}

/// Each binary the image copies from the build stage is stripped there after it is written:
/// the release profile keeps line tables for developers' backtraces, and with the symbols
/// they made the image's `textgate` 181 MB instead of 32 MB. The Dockerfile's own
/// `strip` options are then run on this build's `textgate` (line tables too), to see that
/// they leave no symbol table and no debug information.
#[test]
fn the_image_copies_stripped_binaries() {
    let image = RuntimeStage::load(&docker_dir().join("Dockerfile")).expect("Dockerfile");
    let copied: Vec<&str> = image
        .all("COPY")
        .into_iter()
        .filter(|args| args.starts_with("--from=build "))
        .flat_map(|args| {
            let mut paths: Vec<&str> = args
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            paths.pop(); // the destination
            paths
        })
        .collect();
    assert!(
        !copied.is_empty(),
        "the image copies nothing from the build stage"
    );

    let commands = build_stage_commands();
    let strips: Vec<&Vec<String>> = commands.iter().filter(|c| c[0] == "strip").collect();
    for binary in &copied {
        let written = commands
            .iter()
            .position(|c| c.last().is_some_and(|last| last == binary))
            .unwrap_or_else(|| panic!("no build stage command writes {binary}"));
        let stripped = commands
            .iter()
            .rposition(|c| c[0] == "strip" && c[1..].iter().any(|a| a == binary))
            .unwrap_or_else(|| {
                panic!("the image gets {binary} unstripped: no `strip` in the build stage names it")
            });
        assert!(
            written < stripped,
            "{binary} is stripped before it is written: {:?}",
            commands[written]
        );
    }

    let dir = tempfile::tempdir().expect("temporary directory");
    let copy = dir.path().join("textgate");
    std::fs::copy(env!("CARGO_BIN_EXE_textgate"), &copy).expect("copy textgate");
    // `.debug_gdb_scripts` is not debug information but a few bytes loaded with the program
    // (rustc's pointer to its gdb pretty-printers), which strip rightly keeps.
    let debug_information = |sections: &[String]| {
        sections
            .iter()
            .filter(|s| *s == ".symtab" || s.starts_with(".debug_"))
            .filter(|s| *s != ".debug_gdb_scripts")
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(
        !debug_information(&elf_sections(&copy)).is_empty(),
        "this build's textgate has no symbols or line tables to strip"
    );
    for strip in strips {
        let options = strip[1..].iter().filter(|a| a.starts_with('-'));
        let status = Command::new("strip")
            .args(options)
            .arg(&copy)
            .status()
            .expect("run strip (binutils)");
        assert!(status.success(), "{}", strip.join(" "));
    }
    let left = debug_information(&elf_sections(&copy));
    assert!(left.is_empty(), "the build stage's strip leaves {left:?}");
}
