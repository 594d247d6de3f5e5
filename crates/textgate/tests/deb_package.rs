//! The Debian package as dpkg installs it (docs/packaging.md). `scripts/package-deb`
//! packages the textgate binary cargo built for this test; real dpkg then installs,
//! upgrades, removes and purges it in a throw-away root (`dpkg --root` with the maintainer
//! scripts run outside a chroot and `$DPKG_ROOT` set), never touching the real `/`.
//!
//! What the maintainer scripts ask of the machine is played by stubs on the `PATH`:
//! `getent` and `adduser` (a user table of their own), `chown` (the groups do not exist
//! here), `runuser` (runs the command as the test's user) and `systemctl` (unit-file
//! operations on the root go to the real systemctl, the rest is only recorded). Each test
//! reads back what was asked, in order, so "never starts the daemon without a
//! configuration" and "`textgate migrate` before the restart" are facts checked here. The
//! migrations themselves are real: the installed binary creates the SQLite database in the
//! root. `systemd-analyze verify` checks the installed unit inside the root.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use expect_test::{expect, Expect};
use tempfile::TempDir;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const CONFIG: &str = "etc/textgate/textgate.toml";
/// Where systemctl and systemd-analyze come from, for the message when they are missing.
const SYSTEMD: &str = "scripts/test installs it (Debian package systemd)";

/// A configuration the daemon accepts; its database is the default relative SQLite file,
/// which lands in the daemon's working directory, /var/lib/textgate.
const CONFIGURATION: &str = r#"
[[gateway]]
name = "library"
domain = "sms.library.example"
secret = "component-secret"
operators = ["alice@library.example"]
default_region = "US"

[gateway.driver]
kind = "simulator"
address = "127.0.0.1:7001"
"#;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn both(output: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    )
}

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

fn succeed(command: &mut Command) -> String {
    let output = run(command);
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}",
        output.status,
        both(&output)
    );
    text(&output.stdout)
}

/// `name` on the `PATH`, for the real programs behind the stubs.
fn program(name: &str, installed_by: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed; {installed_by}"))
}

fn architecture() -> String {
    succeed(Command::new("dpkg").arg("--print-architecture"))
        .trim()
        .to_owned()
}

/// The package, built once for all tests from the binary cargo built for them. It lives
/// under cargo's target directory and is replaced on the next run. `none` compression,
/// because xz over a debug binary takes longer than every test here together.
fn package() -> &'static Path {
    static DEB: OnceLock<PathBuf> = OnceLock::new();
    DEB.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("deb-package");
        if out.exists() {
            fs::remove_dir_all(&out).expect("remove the previous run's package");
        }
        let printed = succeed(
            Command::new(repo().join("scripts/package-deb"))
                .arg("--binary")
                .arg(env!("CARGO_BIN_EXE_textgate"))
                .arg("--out-dir")
                .arg(&out)
                .args(["--compression", "none"])
                .env("CARGO", env!("CARGO")),
        );
        let deb = PathBuf::from(printed.trim());
        assert_eq!(
            deb,
            out.join(format!("textgate_{VERSION}_{}.deb", architecture())),
            "scripts/package-deb printed {printed:?}"
        );
        deb
    })
}

/// A throw-away root with an empty dpkg database, the stubs beside it and their record.
struct Root {
    dir: TempDir,
}

impl Root {
    fn new() -> Root {
        let dir = tempfile::Builder::new()
            .prefix("deb-package-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("temporary directory");
        let root = Root { dir };
        for sub in ["var/lib/dpkg/info", "var/lib/dpkg/updates"] {
            fs::create_dir_all(root.path().join(sub)).expect("dpkg's directories");
        }
        fs::write(root.path().join("var/lib/dpkg/status"), "").expect("dpkg's status file");
        root.write_stubs();
        root
    }

    /// The root dpkg installs into.
    fn path(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn stubs(&self) -> PathBuf {
        self.dir.path().join("stubs")
    }

    fn calls_file(&self) -> PathBuf {
        self.dir.path().join("calls")
    }

    fn write_stubs(&self) {
        let stubs = self.stubs();
        fs::create_dir_all(&stubs).expect("stubs directory");
        let calls = self.calls_file();
        let calls = calls.display();
        let users = self.dir.path().join("users");
        let users = users.display();
        let systemctl = program("systemctl", SYSTEMD);
        let systemctl = systemctl.display();
        let scripts = [
            // Users and groups live in two files beside the root, so a second configure
            // finds the user the first one made, as on a real machine.
            (
                "getent",
                format!(
                    "echo \"getent $*\" >>'{calls}'\n\
                     grep -qx \"$2\" '{users}.'\"$1\" 2>/dev/null\n"
                ),
            ),
            (
                "adduser",
                format!(
                    "echo \"adduser $*\" >>'{calls}'\n\
                     if [ \"$1\" = --system ]; then\n\
                     \x20   for name; do :; done\n\
                     \x20   echo \"$name\" >>'{users}.passwd'\n\
                     \x20   case \" $* \" in *' --group '*) echo \"$name\" >>'{users}.group' ;; esac\n\
                     fi\n"
                ),
            ),
            ("chown", format!("echo \"chown $*\" >>'{calls}'\n")),
            (
                "runuser",
                format!(
                    "echo \"runuser $*\" >>'{calls}'\n\
                     while [ \"$1\" != -- ]; do shift; done\n\
                     shift\n\
                     exec \"$@\"\n"
                ),
            ),
            (
                "systemctl",
                format!(
                    "echo \"systemctl $*\" >>'{calls}'\n\
                     case \"$1\" in --root=*) exec '{systemctl}' \"$@\" ;; esac\n"
                ),
            ),
        ];
        for (name, body) in scripts {
            let path = stubs.join(name);
            fs::write(&path, format!("#!/bin/sh\n{body}")).expect("write a stub");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod a stub");
        }
    }

    /// What the maintainer scripts asked of the stubs since the last call, with the
    /// root's path written `$ROOT`.
    fn calls(&self) -> String {
        let calls = fs::read_to_string(self.calls_file()).unwrap_or_default();
        fs::write(self.calls_file(), "").expect("clear the calls");
        calls.replace(&self.path().display().to_string(), "$ROOT")
    }

    fn dpkg_command(&self, args: &[&str]) -> Command {
        let mut path = self.stubs().into_os_string();
        path.push(":");
        path.push(std::env::var_os("PATH").unwrap_or_default());
        // dpkg looks for ldconfig and start-stop-daemon, which a user's PATH may lack.
        path.push(":/usr/sbin:/sbin");
        let mut command = Command::new("dpkg");
        command
            .arg(format!("--root={}", self.path().display()))
            // The maintainer scripts run here rather than chrooted into a root without a
            // shell, with $DPKG_ROOT naming the root; the test may be unprivileged; the
            // root has no libc6 or adduser to satisfy Depends; the host's path-exclude
            // settings (slim images drop /usr/share/doc) must not thin the package out.
            .args([
                "--force-script-chrootless",
                "--force-not-root",
                "--force-depends",
                "--force-unsafe-io",
                "--path-include=/*",
                "--log=/dev/null",
            ])
            .args(args)
            .env("PATH", path);
        // The postinst hands its environment to `textgate migrate`, which refuses unknown
        // TEXTGATE_ variables.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("TEXTGATE_") {
                command.env_remove(name);
            }
        }
        command
    }

    /// Runs dpkg in the root and returns its output, which must say it succeeded.
    fn dpkg(&self, args: &[&str]) -> String {
        let output = run(&mut self.dpkg_command(args));
        assert!(
            output.status.success(),
            "dpkg {args:?} failed ({}):\n{}\nthe scripts asked:\n{}",
            output.status,
            both(&output),
            self.calls()
        );
        format!("{}{}", text(&output.stdout), text(&output.stderr))
    }

    fn install(&self) -> String {
        let deb = package().display().to_string();
        self.dpkg(&["--install", &deb])
    }

    /// dpkg's status of the package, e.g. `install ok installed`.
    fn status(&self) -> String {
        self.query("${Status}")
    }

    fn query(&self, format: &str) -> String {
        succeed(
            Command::new("dpkg-query")
                .arg(format!("--admindir={}/var/lib/dpkg", self.path().display()))
                .args(["--show", &format!("--showformat={format}"), "textgate"]),
        )
    }

    fn write_config(&self, text: &str) {
        fs::write(self.path().join(CONFIG), text).expect("write the configuration");
    }

    /// Makes the root look managed by a running systemd, as the scripts test it.
    fn boot_systemd(&self) {
        fs::create_dir_all(self.path().join("run/systemd/system")).expect("run/systemd/system");
    }

    /// Enables the unit as an administrator would, with the real systemctl.
    fn enable_unit(&self) {
        succeed(
            Command::new(program("systemctl", SYSTEMD))
                .arg(format!("--root={}", self.path().display()))
                .args(["enable", "textgate.service"]),
        );
    }

    fn enablement_link(&self) -> PathBuf {
        self.path()
            .join("etc/systemd/system/multi-user.target.wants/textgate.service")
    }
}

fn check(actual: &str, expect: Expect) {
    expect.assert_eq(actual);
}

/// Mode and path of everything dpkg installed (its own database aside), one a line.
fn tree(root: &Path) -> String {
    fn walk(root: &Path, dir: &Path, lines: &mut Vec<String>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .expect("read a directory")
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let relative = path.strip_prefix(root).expect("inside the root");
            if relative.starts_with("var/lib/dpkg") {
                continue;
            }
            let metadata = fs::symlink_metadata(&path).expect("metadata");
            lines.push(format!(
                "{:o} /{}",
                metadata.mode() & 0o7777,
                relative.display()
            ));
            if metadata.is_dir() {
                walk(root, &path, lines);
            }
        }
    }
    let mut lines = Vec::new();
    walk(root, root, &mut lines);
    lines.join("\n") + "\n"
}

#[test]
fn the_package_names_itself_and_its_files() {
    let deb = package();
    let fields = succeed(Command::new("dpkg-deb").arg("--field").arg(deb).args([
        "Package",
        "Version",
        "Architecture",
        "Depends",
    ]));
    let field = |name: &str| {
        fields
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in\n{fields}"))
            .to_owned()
    };
    assert_eq!(field("Package"), "textgate");
    assert_eq!(field("Version"), VERSION);
    assert_eq!(field("Architecture"), architecture());
    // The glibc version is the newest symbol version this build uses, so it varies.
    let depends = field("Depends");
    assert!(
        depends.starts_with("adduser, libc6 (>= 2.") && depends.ends_with("), libgcc-s1"),
        "Depends: {depends}"
    );

    // Owners and modes as the archive holds them: root's, whoever built it.
    let contents = succeed(Command::new("dpkg-deb").arg("--contents").arg(deb));
    let listing: String = contents
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            format!("{} {} {}\n", fields[0], fields[1], fields[5])
        })
        .collect();
    check(
        &listing,
        expect![[r#"
            drwxr-xr-x root/root ./
            drwxr-xr-x root/root ./etc/
            drwxr-xr-x root/root ./etc/textgate/
            -rw-r--r-- root/root ./etc/textgate/textgate.example.toml
            drwxr-xr-x root/root ./usr/
            drwxr-xr-x root/root ./usr/bin/
            -rwxr-xr-x root/root ./usr/bin/textgate
            drwxr-xr-x root/root ./usr/lib/
            drwxr-xr-x root/root ./usr/lib/systemd/
            drwxr-xr-x root/root ./usr/lib/systemd/system/
            -rw-r--r-- root/root ./usr/lib/systemd/system/textgate.service
            drwxr-xr-x root/root ./usr/lib/udev/
            drwxr-xr-x root/root ./usr/lib/udev/rules.d/
            -rw-r--r-- root/root ./usr/lib/udev/rules.d/99-textgate-modem.rules
            drwxr-xr-x root/root ./usr/share/
            drwxr-xr-x root/root ./usr/share/doc/
            drwxr-xr-x root/root ./usr/share/doc/textgate/
            -rw-r--r-- root/root ./usr/share/doc/textgate/README.md
            -rw-r--r-- root/root ./usr/share/doc/textgate/cli.md
            -rw-r--r-- root/root ./usr/share/doc/textgate/configuration.md
            -rw-r--r-- root/root ./usr/share/doc/textgate/copyright
            -rw-r--r-- root/root ./usr/share/doc/textgate/operations.md
            -rw-r--r-- root/root ./usr/share/doc/textgate/packaging.md
        "#]],
    );

    // The daemon's own configuration is the administrator's, never the package's.
    let control = TempDir::new().expect("temporary directory");
    succeed(
        Command::new("dpkg-deb")
            .arg("--control")
            .arg(deb)
            .arg(control.path()),
    );
    check(
        &fs::read_to_string(control.path().join("conffiles")).expect("conffiles"),
        expect![[r#"
            /etc/textgate/textgate.example.toml
        "#]],
    );
    for script in ["postinst", "prerm", "postrm"] {
        let path = control.path().join(script);
        let mode = fs::metadata(&path).expect(script).mode() & 0o777;
        assert_eq!(mode, 0o755, "{script} is not executable");
    }
}

#[test]
fn the_maintainer_scripts_are_posix_shell() {
    for script in ["postinst", "prerm", "postrm"] {
        let path = repo().join("packaging/debian").join(script);
        let first = fs::read_to_string(&path)
            .expect("read a maintainer script")
            .lines()
            .next()
            .map(str::to_owned);
        assert_eq!(first.as_deref(), Some("#!/bin/sh"), "{script}");
        // dash is Debian's /bin/sh; `-n` reads without running.
        for shell in ["sh", "dash"] {
            let output = run(Command::new(shell).arg("-n").arg(&path));
            assert!(
                output.status.success(),
                "{shell} -n {script}:\n{}",
                both(&output)
            );
        }
    }
}

#[test]
fn a_first_install_without_a_configuration_installs_the_files_and_starts_nothing() {
    let root = Root::new();
    // Even where systemd runs: the missing configuration alone must keep the daemon off.
    root.boot_systemd();
    let said = root.install();
    assert!(
        said.contains("the daemon is neither enabled nor started"),
        "the postinst did not say why nothing started:\n{said}"
    );
    assert_eq!(root.status(), "install ok installed");
    // The user and its groups, the owners of the two directories; no migration, and
    // nothing enabled, started or restarted.
    check(
        &root.calls(),
        expect![[r#"
            getent passwd textgate
            getent group textgate
            adduser --system --group --home /var/lib/textgate --no-create-home --shell /usr/sbin/nologin textgate
            adduser --quiet textgate dialout
            chown root:textgate $ROOT/etc/textgate
            chown textgate:textgate $ROOT/var/lib/textgate
            systemctl daemon-reload
        "#]],
    );
    assert!(!root.enablement_link().exists());
    check(
        &tree(&root.path()),
        expect![[r#"
            755 /etc
            750 /etc/textgate
            644 /etc/textgate/textgate.example.toml
            755 /run
            755 /run/systemd
            755 /run/systemd/system
            755 /usr
            755 /usr/bin
            755 /usr/bin/textgate
            755 /usr/lib
            755 /usr/lib/systemd
            755 /usr/lib/systemd/system
            644 /usr/lib/systemd/system/textgate.service
            755 /usr/lib/udev
            755 /usr/lib/udev/rules.d
            644 /usr/lib/udev/rules.d/99-textgate-modem.rules
            755 /usr/share
            755 /usr/share/doc
            755 /usr/share/doc/textgate
            644 /usr/share/doc/textgate/README.md
            644 /usr/share/doc/textgate/cli.md
            644 /usr/share/doc/textgate/configuration.md
            644 /usr/share/doc/textgate/copyright
            644 /usr/share/doc/textgate/operations.md
            644 /usr/share/doc/textgate/packaging.md
            755 /var
            755 /var/lib
            750 /var/lib/textgate
        "#]],
    );
    // dpkg registered the example as a conffile, and every other file matches md5sums.
    let conffiles = root.query("${Conffiles}");
    assert!(
        conffiles
            .trim_start()
            .starts_with("/etc/textgate/textgate.example.toml "),
        "{conffiles}"
    );
    let verify = root.dpkg(&["--verify", "textgate"]);
    assert_eq!(verify, "", "dpkg --verify found changed files");

    // The installed files are the repository's.
    for (installed, source) in [
        (
            "etc/textgate/textgate.example.toml",
            "config/textgate.example.toml",
        ),
        (
            "usr/lib/udev/rules.d/99-textgate-modem.rules",
            "config/99-textgate-modem.rules",
        ),
        ("usr/share/doc/textgate/operations.md", "docs/operations.md"),
        ("usr/share/doc/textgate/packaging.md", "docs/packaging.md"),
    ] {
        assert_eq!(
            fs::read(root.path().join(installed)).expect(installed),
            fs::read(repo().join(source)).expect(source),
            "/{installed} differs from {source}"
        );
    }
}

#[test]
fn the_installed_binary_is_stripped_and_names_the_version() {
    let root = Root::new();
    root.install();
    let binary = root.path().join("usr/bin/textgate");
    let version = succeed(Command::new(&binary).arg("--version"));
    assert_eq!(version, format!("textgate {VERSION}\n"));

    let sections = succeed(
        Command::new("readelf")
            .args(["--section-headers", "--wide"])
            .arg(&binary),
    );
    assert!(sections.contains(" .text "), "readelf said:\n{sections}");
    // Rust's .debug_gdb_scripts is loaded with the program and stays; the
    // debug information proper and the symbol table go.
    for unwanted in [
        ".symtab",
        ".strtab",
        ".debug_info",
        ".debug_line",
        ".debug_str",
        ".comment",
    ] {
        assert!(
            !sections.contains(unwanted),
            "the installed binary keeps {unwanted}:\n{sections}"
        );
    }
}

#[test]
fn the_installed_unit_passes_systemd_analyze_verify() {
    let root = Root::new();
    root.install();
    let unit_dir = root.path().join("usr/lib/systemd/system");
    let unit = fs::read_to_string(unit_dir.join("textgate.service")).expect("the installed unit");

    // The unit from config/, running the package's /usr/bin/textgate instead of the
    // /usr/local/bin/textgate of a build from source, and nothing else changed.
    let source = fs::read_to_string(repo().join("config/textgate.service")).expect("config/");
    let (header, rest) = unit.split_at(
        unit.find(&source[..source.find('\n').expect("a line")])
            .expect("the source unit's first line in the installed unit"),
    );
    assert_eq!(
        rest,
        source.replace("=/usr/local/bin/textgate ", "=/usr/bin/textgate ")
    );
    assert!(header.lines().all(|line| line.starts_with('#')), "{header}");
    let execs: String = unit
        .lines()
        .filter(|line| line.starts_with("Exec"))
        .map(|line| format!("{line}\n"))
        .collect();
    check(
        &execs,
        expect![[r#"
            ExecStartPre=/usr/bin/textgate check-config --config /etc/textgate/textgate.toml
            ExecStart=/usr/bin/textgate run --config /etc/textgate/textgate.toml
        "#]],
    );
    // Its Documentation= is in the package.
    for line in unit.lines().filter(|l| l.starts_with("Documentation=")) {
        let path = line
            .trim_start_matches("Documentation=file://")
            .trim_start_matches('/');
        assert!(root.path().join(path).is_file(), "{line}: not installed");
    }

    // The root stands for a machine with systemd, whose targets the unit's dependencies
    // name (multi-user.target, network-online.target, sysinit.target behind them).
    let host_units = ["/usr/lib/systemd/system", "/lib/systemd/system"]
        .into_iter()
        .map(Path::new)
        .find(|dir| dir.join("multi-user.target").exists())
        .expect("systemd's units on this machine (Debian package systemd)");
    for entry in fs::read_dir(host_units).expect("systemd's units") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "target") {
            let target = unit_dir.join(path.file_name().expect("a name"));
            fs::copy(&path, target).expect("copy a target unit");
        }
    }
    let systemd_analyze = program("systemd-analyze", SYSTEMD);
    let verify = |name: &str| {
        run(Command::new(&systemd_analyze)
            .arg(format!("--root={}", root.path().display()))
            .args(["verify", name]))
    };
    let output = verify("textgate.service");
    assert!(
        output.status.success(),
        "systemd-analyze verify refused the installed unit:\n{}",
        both(&output)
    );

    // The check bites: the unit as written for a build from source names a program the
    // package does not install.
    fs::write(unit_dir.join("textgate-from-source.service"), &source).expect("write a unit");
    let output = verify("textgate-from-source.service");
    assert!(
        !output.status.success() && text(&output.stderr).contains("/usr/local/bin/textgate"),
        "systemd-analyze verify accepted a unit whose program is missing:\n{}",
        both(&output)
    );
}

#[test]
fn a_first_install_with_a_configuration_migrates_enables_and_starts() {
    let root = Root::new();
    fs::create_dir_all(root.path().join("etc/textgate")).expect("etc/textgate");
    root.write_config(CONFIGURATION);
    root.boot_systemd();
    let said = root.install();
    assert!(said.contains("migrations applied"), "{said}");
    check(
        &root.calls(),
        expect![[r#"
            getent passwd textgate
            getent group textgate
            adduser --system --group --home /var/lib/textgate --no-create-home --shell /usr/sbin/nologin textgate
            adduser --quiet textgate dialout
            chown root:textgate $ROOT/etc/textgate
            chown textgate:textgate $ROOT/var/lib/textgate
            systemctl daemon-reload
            runuser -u textgate -- $ROOT/usr/bin/textgate migrate --config $ROOT/etc/textgate/textgate.toml
            systemctl --root=$ROOT enable textgate.service
            systemctl --root=$ROOT is-enabled --quiet textgate.service
            systemctl restart textgate.service
        "#]],
    );
    assert!(root.enablement_link().is_symlink());
    // The migration ran in the daemon's working directory, as the unit's would.
    let database = root.path().join("var/lib/textgate/textgate.sqlite3");
    assert!(database.is_file(), "no database at {}", database.display());
}

#[test]
fn an_upgrade_migrates_before_it_restarts_the_daemon() {
    let root = Root::new();
    root.install();
    // The administrator wrote the configuration and started the daemon.
    root.write_config(CONFIGURATION);
    root.enable_unit();
    root.boot_systemd();
    root.calls();

    // Installing the package again is an upgrade to dpkg: prerm upgrade, then postinst
    // configure with the version before.
    let said = root.install();
    assert!(said.contains("migrations applied"), "{said}");
    assert_eq!(root.status(), "install ok installed");
    // The user exists now; the prerm stopped nothing, the migration came before the
    // restart.
    check(
        &root.calls(),
        expect![[r#"
            getent passwd textgate
            adduser --quiet textgate dialout
            chown root:textgate $ROOT/etc/textgate
            chown textgate:textgate $ROOT/var/lib/textgate
            systemctl daemon-reload
            runuser -u textgate -- $ROOT/usr/bin/textgate migrate --config $ROOT/etc/textgate/textgate.toml
            systemctl --root=$ROOT is-enabled --quiet textgate.service
            systemctl restart textgate.service
        "#]],
    );
    assert!(root
        .path()
        .join("var/lib/textgate/textgate.sqlite3")
        .is_file());
}

#[test]
fn an_upgrade_whose_migration_fails_leaves_the_daemon_alone() {
    let root = Root::new();
    root.install();
    root.enable_unit();
    root.boot_systemd();
    // A database the migration cannot open: its directory does not exist.
    let missing = root.path().join("missing/textgate.sqlite3");
    let broken = format!(
        "[database]\nurl = \"sqlite://{}?mode=rwc\"\n{CONFIGURATION}",
        missing.display()
    );
    root.write_config(&broken);
    root.calls();

    let deb = package().display().to_string();
    let output = run(&mut root.dpkg_command(&["--install", &deb]));
    assert!(
        !output.status.success(),
        "dpkg succeeded:\n{}",
        both(&output)
    );
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cannot open the SQLite database")
            && stderr.contains("daemon was not restarted")
            && stderr.contains("dpkg --configure textgate"),
        "{}",
        both(&output)
    );
    assert_eq!(root.status(), "install ok half-configured");
    // No restart, no stop: the daemon that ran before goes on.
    check(
        &root.calls(),
        expect![[r#"
            getent passwd textgate
            adduser --quiet textgate dialout
            chown root:textgate $ROOT/etc/textgate
            chown textgate:textgate $ROOT/var/lib/textgate
            systemctl daemon-reload
            runuser -u textgate -- $ROOT/usr/bin/textgate migrate --config $ROOT/etc/textgate/textgate.toml
        "#]],
    );

    // Once the cause is fixed, finishing the configuration completes the upgrade.
    root.write_config(CONFIGURATION);
    root.dpkg(&["--configure", "textgate"]);
    assert_eq!(root.status(), "install ok installed");
    let calls = root.calls();
    assert!(
        calls.ends_with(
            "runuser -u textgate -- $ROOT/usr/bin/textgate migrate --config $ROOT/etc/textgate/textgate.toml\n\
             systemctl --root=$ROOT is-enabled --quiet textgate.service\n\
             systemctl restart textgate.service\n"
        ),
        "{calls}"
    );
}

#[test]
fn remove_stops_the_daemon_and_purge_keeps_the_library_s_data() {
    let root = Root::new();
    fs::create_dir_all(root.path().join("etc/textgate")).expect("etc/textgate");
    root.write_config(CONFIGURATION);
    root.boot_systemd();
    root.install();
    root.calls();

    root.dpkg(&["--remove", "textgate"]);
    check(
        &root.calls(),
        expect![[r#"
            systemctl stop textgate.service
            systemctl daemon-reload
        "#]],
    );
    assert_eq!(root.status(), "deinstall ok config-files");
    assert!(!root.path().join("usr/bin/textgate").exists());
    assert!(!root
        .path()
        .join("usr/lib/systemd/system/textgate.service")
        .exists());
    // Removing keeps configuration, as Debian does, and the administrator's enablement.
    assert!(root
        .path()
        .join("etc/textgate/textgate.example.toml")
        .exists());
    assert!(root.enablement_link().is_symlink());

    let said = root.dpkg(&["--purge", "textgate"]);
    check(
        &root.calls(),
        expect![[r#"
            systemctl daemon-reload
        "#]],
    );
    assert!(said.contains("kept the library's data"), "{said}");
    assert!(!root
        .path()
        .join("etc/textgate/textgate.example.toml")
        .exists());
    assert!(!root.enablement_link().is_symlink());
    assert!(root.path().join(CONFIG).is_file());
    assert!(root
        .path()
        .join("var/lib/textgate/textgate.sqlite3")
        .is_file());
    // dpkg forgets a purged package altogether.
    let status = fs::read_to_string(root.path().join("var/lib/dpkg/status")).expect("status");
    assert!(
        !status.contains("Package: textgate\n"),
        "textgate is still in dpkg's database:\n{status}"
    );
}
