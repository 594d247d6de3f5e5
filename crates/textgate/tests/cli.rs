//! The `textgate` binary as a user runs it: `--help`, `--version`, `migrate` on SQLite and
//! on a real PostgreSQL, `send` into the outbox (read back through the store), and
//! `modem probe` against the in-process modem simulator on TCP and against devices that
//! do not answer. Exit statuses are checked for each: 0 success, 1 runtime failure, 2 bad
//! input or configuration.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use sqlx::{Connection, PgConnection, SqliteConnection};
use textgate_modemsim::{SimConfig, SimHandle};
use textgate_store::{OutboundState, Store};
use textgate_testkit::FreshPostgres;
use tokio::net::TcpListener;

/// Longest a test waits for the binary; only a hang would reach it.
const PROCESS_LIMIT: Duration = Duration::from_secs(120);

async fn textgate(args: &[&str]) -> Output {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_textgate"))
        .args(args)
        .env_remove("TEXTGATE_CONFIG")
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(PROCESS_LIMIT, child).await {
        Ok(output) => output.expect("run the textgate binary"),
        Err(_) => panic!("textgate {args:?} did not finish within {PROCESS_LIMIT:?}"),
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The exit status, with the output in the message when it is not the one expected.
fn assert_status(output: &Output, expected: i32) {
    assert_eq!(
        output.status.code(),
        Some(expected),
        "stdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}

/// A configuration with one gateway (`library`, region US, at most 2 parts) on `url`.
fn write_config(dir: &Path, url: &str) -> PathBuf {
    let path = dir.join("textgate.toml");
    let text = format!(
        r#"
[database]
url = "{url}"

[[gateway]]
name = "library"
domain = "sms.library.example"
secret = "component-secret"
operators = ["alice@library.example"]
default_region = "US"
max_parts = 2

[gateway.driver]
kind = "simulator"
address = "127.0.0.1:7001"
"#
    );
    std::fs::write(&path, text).expect("write the configuration");
    path
}

fn sqlite_url(dir: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        dir.join("textgate.sqlite3").display()
    )
}

/// How many migrations this build carries for a back end (`sqlite` or `postgres`).
fn migration_count(backend: &str) -> i64 {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(backend);
    let count = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "sql"))
        .count();
    i64::try_from(count).expect("a few migrations")
}

/// The tables the daemon cannot run without.
const CORE_TABLES: [&str; 4] = ["conversations", "inbound", "outbound", "outbound_parts"];

#[tokio::test]
async fn help_names_every_subcommand_and_the_exit_statuses() {
    let output = textgate(&["--help"]).await;
    assert_status(&output, 0);
    let help = stdout(&output);
    for subcommand in [
        "pdu",
        "check-config",
        "run",
        "demo",
        "migrate",
        "modem",
        "send",
    ] {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(&format!("{subcommand} "))),
            "--help does not list {subcommand}:\n{help}"
        );
    }
    for needle in [
        "Exit status:",
        "0  success",
        "1  runtime failure",
        "2  bad input or configuration",
        "TEXTGATE_CONFIG",
        "/etc/textgate/textgate.toml",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }

    let probe_help = textgate(&["modem", "probe", "--help"]).await;
    assert_status(&probe_help, 0);
    assert!(stdout(&probe_help).contains("DEVICE_OR_ADDRESS"));

    let unknown = textgate(&["no-such-command"]).await;
    assert_status(&unknown, 2);
}

#[tokio::test]
async fn version_prints_the_package_version() {
    let output = textgate(&["--version"]).await;
    assert_status(&output, 0);
    assert_eq!(
        stdout(&output),
        format!("textgate {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn migrate_creates_the_schema_in_a_fresh_sqlite_file() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = sqlite_url(dir.path());
    let config = write_config(dir.path(), &url);
    let config = config.to_str().expect("UTF-8 path");

    for _ in 0..2 {
        // The second run finds nothing to do and says the same.
        let output = textgate(&["migrate", "--config", config]).await;
        assert_status(&output, 0);
        assert_eq!(
            stdout(&output),
            format!("database: {url} (SQLite)\nmigrations applied: schema up to date\n")
        );
    }

    let mut db = SqliteConnection::connect(&url).await.expect("open SQLite");
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut db)
            .await
            .expect("list tables");
    for table in CORE_TABLES {
        assert!(
            tables.iter().any(|t| t == table),
            "no {table} in {tables:?}"
        );
    }
    let applied: i64 =
        sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success = 1")
            .fetch_one(&mut db)
            .await
            .expect("count migrations");
    assert_eq!(applied, migration_count("sqlite"));
}

#[tokio::test]
async fn migrate_creates_the_schema_in_a_fresh_postgresql_database() {
    let database = FreshPostgres::create("textgate_cli")
        .await
        .expect("a fresh PostgreSQL database");
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = write_config(dir.path(), database.url());
    let output = textgate(&["migrate", "--config", config.to_str().expect("UTF-8")]).await;

    // Read everything first, so the database is dropped before any assertion fails.
    let mut db = PgConnection::connect(database.url())
        .await
        .expect("connect to the test database");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_all(&mut db)
    .await
    .expect("list tables");
    let applied: Option<i64> =
        sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut db)
            .await
            .ok();
    db.close().await.expect("close");
    database.cleanup().await.expect("drop the test database");

    assert_status(&output, 0);
    assert!(
        stdout(&output).contains("(PostgreSQL)\nmigrations applied: schema up to date\n"),
        "{}",
        stdout(&output)
    );
    for table in CORE_TABLES {
        assert!(
            tables.iter().any(|t| t == table),
            "no {table} in {tables:?}"
        );
    }
    assert_eq!(applied, Some(migration_count("postgres")));
}

#[tokio::test]
async fn migrate_against_an_unreachable_database_is_a_runtime_failure() {
    let dir = tempfile::tempdir().expect("temporary directory");
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let config = write_config(
        dir.path(),
        "postgres://textgate:s3cret@127.0.0.1:1/textgate",
    );
    let output = textgate(&["migrate", "--config", config.to_str().expect("UTF-8")]).await;
    assert_status(&output, 1);
    let message = stderr(&output);
    assert!(
        message.contains("opening the database postgres://textgate:***@127.0.0.1:1/textgate"),
        "{message}"
    );
    assert!(
        !message.contains("s3cret"),
        "the password leaked: {message}"
    );

    let missing = textgate(&["migrate", "--config", "/nonexistent/textgate.toml"]).await;
    assert_status(&missing, 2);
    assert!(stderr(&missing).contains("/nonexistent/textgate.toml"));
}

#[tokio::test]
async fn send_puts_the_text_in_the_outbox() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = sqlite_url(dir.path());
    let config = write_config(dir.path(), &url);
    let config = config.to_str().expect("UTF-8 path");
    let send = |number: &'static str, text: String| {
        let config = config.to_owned();
        async move {
            textgate(&[
                "send",
                "--config",
                &config,
                "--gateway",
                "library",
                number,
                &text,
            ])
            .await
        }
    };

    let one = send("(415) 555-0123", "Your books are ready".to_owned()).await;
    assert_status(&one, 0);
    expect_test::expect![[r#"
        queued as outbox id 1 for +14155550123 on gateway library: 1 SMS part, GSM 7-bit
        the running daemon (textgate run) sends it; nothing is sent while it is stopped
    "#]]
    .assert_eq(&stdout(&one));

    // 161 GSM characters need two parts of 153; a non-GSM letter makes it UCS-2.
    let two = send("+1 415 555 0123", "x".repeat(161)).await;
    assert_status(&two, 0);
    assert!(
        stdout(&two)
            .contains("outbox id 2 for +14155550123 on gateway library: 2 SMS parts, GSM 7-bit"),
        "{}",
        stdout(&two)
    );
    let ucs2 = send("+1 415 555 0123", "Çok teşekkürler".to_owned()).await;
    assert_status(&ucs2, 0);
    assert!(
        stdout(&ucs2).contains("1 SMS part, UCS-2"),
        "{}",
        stdout(&ucs2)
    );

    let store = Store::connect(&url).await.expect("open the store");
    let queued = store
        .outbound(1)
        .await
        .expect("read the outbox")
        .expect("outbox id 1 exists");
    assert_eq!(
        (
            queued.gateway.as_str(),
            queued.recipient.as_str(),
            queued.body.as_deref(),
            queued.state,
        ),
        (
            "library",
            "+14155550123",
            Some("Your books are ready"),
            OutboundState::Queued
        )
    );
    let long = store
        .outbound(2)
        .await
        .expect("read the outbox")
        .expect("outbox id 2 exists");
    assert_eq!(long.body_chars, 161);
    store.close().await;

    // Three parts with max_parts = 2: refused, nothing queued.
    let too_long = send("+1 415 555 0123", "x".repeat(307)).await;
    assert_status(&too_long, 2);
    expect_test::expect![[r#"
        textgate: too long for gateway library (max_parts = 2): text needs 3 SMS parts, the limit is 2
    "#]]
    .assert_eq(&stderr(&too_long));

    let bad_number = send("call me", "hello".to_owned()).await;
    assert_status(&bad_number, 2);
    expect_test::expect![[r#"
        textgate: the recipient (read with region US): "call me" is not a phone number: it contains letters
    "#]]
    .assert_eq(&stderr(&bad_number));

    let no_gateway = textgate(&[
        "send",
        "--config",
        config,
        "--gateway",
        "campus",
        "+14155550123",
        "hi",
    ])
    .await;
    assert_status(&no_gateway, 2);
    expect_test::expect![[r#"
        textgate: no gateway named "campus" in the configuration (gateways: library)
    "#]]
    .assert_eq(&stderr(&no_gateway));

    let store = Store::connect(&url).await.expect("open the store");
    assert!(
        store.outbound(4).await.expect("read the outbox").is_none(),
        "a refused send was queued"
    );
    store.close().await;
}

#[tokio::test]
async fn probe_reports_the_simulated_modem_in_plain_words() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let sim = SimHandle::new(SimConfig::default());
    let server = tokio::spawn(textgate_modemsim::tcp::serve_tcp(sim, listener));

    let output = textgate(&["modem", "probe", &address, "--timeout", "30"]).await;
    server.abort();
    assert_status(&output, 0);
    let report = stdout(&output);
    let line = |label: &str| {
        report
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} line in:\n{report}"))
            .to_owned()
    };
    assert_eq!(line("Manufacturer:"), "Manufacturer:  textgate");
    let signal = line("Signal:");
    assert!(signal.contains(" dBm, "), "{signal}");
    assert!(line("SIM:").contains("ready"), "{report}");
}

#[tokio::test]
async fn probe_of_a_missing_device_fails_with_the_device_named() {
    let output = textgate(&["modem", "probe", "/dev/serial/by-id/no-such-modem"]).await;
    assert_status(&output, 1);
    let message = stderr(&output);
    assert!(
        message.starts_with("textgate: cannot open /dev/serial/by-id/no-such-modem: "),
        "{message}"
    );
}

#[tokio::test]
async fn probe_of_a_silent_device_gives_up_at_the_timeout() {
    // Accepts the connection and never says a word, like a modem's non-AT port.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let server = tokio::spawn(async move {
        let (connection, _) = listener.accept().await.expect("accept");
        // Held open until the test ends.
        std::future::pending::<()>().await;
        drop(connection);
    });

    let output = textgate(&["modem", "probe", &address, "--timeout", "1"]).await;
    server.abort();
    assert_status(&output, 1);
    let message = stderr(&output);
    assert!(message.contains("no modem answered"), "{message}");
    assert!(message.contains(&address), "{message}");
}

#[tokio::test]
async fn probe_rejects_a_bad_timeout_as_bad_input() {
    let output = textgate(&["modem", "probe", "127.0.0.1:7001", "--timeout", "0"]).await;
    assert_status(&output, 2);
}

/// `textgate` alone is `textgate run`: with a missing or broken configuration it fails as
/// `run` does (exit 2, the file named), not with a usage error.
#[tokio::test]
async fn bare_textgate_runs_the_daemon_and_a_bad_configuration_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let output = textgate(&["--config", missing.to_str().unwrap()]).await;
    assert_status(&output, 2);
    let message = stderr(&output);
    assert!(
        message.starts_with("textgate: cannot read configuration file ")
            && message.contains("missing.toml"),
        "{message}"
    );
    assert!(!message.contains("Usage:"), "{message}");

    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[database\n").unwrap();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_textgate"))
        .env("TEXTGATE_CONFIG", &broken)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(PROCESS_LIMIT, child)
        .await
        .expect("textgate finished")
        .expect("run the textgate binary");
    assert_status(&output, 2);
    let message = stderr(&output);
    assert!(
        message.starts_with("textgate: ") && message.contains("is not valid TOML"),
        "{message}"
    );
    assert!(!message.contains("Usage:"), "{message}");
}

/// One HTTP/1.1 request with `Connection: close`; the status line, headers and body.
async fn http(address: &str, request: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        String::from_utf8_lossy(&raw).into_owned()
    };
    let text = tokio::time::timeout(PROCESS_LIMIT, exchange)
        .await
        .expect("an HTTP answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("a header block");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    (status, head.to_owned(), body.to_owned())
}

/// The value of the `textgate_session` cookie a response sets.
fn session_cookie(head: &str) -> String {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, value)| value.trim().strip_prefix("textgate_session="))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie in:\n{head}"))
        .to_owned()
}

/// The attributes of the `textgate_session` cookie a response sets (after the value).
fn session_cookie_attributes(head: &str) -> String {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, value)| value.trim().strip_prefix("textgate_session="))
        .and_then(|v| v.split_once(';'))
        .map(|(_, attributes)| attributes.trim().to_owned())
        .unwrap_or_else(|| panic!("no session cookie in:\n{head}"))
}

/// `create-admin` makes an account (password from standard input), and the daemon,
/// started as bare `textgate`, serves the web console next to `/metrics` on one listener:
/// the new administrator signs in through `/signin`. By default the session cookie is
/// `Secure`.
#[tokio::test]
async fn create_admin_then_sign_in_through_the_running_daemon() {
    let signed_in = sign_in_through_a_running_daemon("").await;
    assert_eq!(
        signed_in,
        "Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure"
    );
}

/// With `[http] secure_cookies = false` the daemon's session cookie has no `Secure`, so a
/// browser keeps it on a plain-HTTP console.
#[tokio::test]
async fn plain_http_session_cookies_when_configured() {
    let signed_in = sign_in_through_a_running_daemon("secure_cookies = false\n").await;
    assert_eq!(
        signed_in,
        "Path=/; HttpOnly; SameSite=Strict; Max-Age=43200"
    );
}

/// `create-admin` takes the password from `TEXTGATE_ADMIN_PASSWORD`, as its help offers
/// first: the variable is not mistaken for a misspelt setting.
#[tokio::test]
async fn create_admin_takes_the_password_from_its_variable() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_alerts_config(dir.path(), "");
    let created = tokio::process::Command::new(env!("CARGO_BIN_EXE_textgate"))
        .args(["create-admin", "--config"])
        .arg(&config)
        .args(["--email", "head@library.example"])
        .env("TEXTGATE_ADMIN_PASSWORD", "correcthorsebattery")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let created = tokio::time::timeout(PROCESS_LIMIT, created)
        .await
        .expect("create-admin finished")
        .expect("create-admin ran");
    assert_status(&created, 0);
    assert!(
        stdout(&created).starts_with("created account "),
        "{}",
        stdout(&created)
    );
}

/// A configuration in `dir` with an SQLite store, `[alerts]` keys and `http_keys` added to
/// `[http]`: what the console and `create-admin` need.
fn write_alerts_config(dir: &Path, http_keys: &str) -> PathBuf {
    let config = write_config(dir, &sqlite_url(dir));
    // 32 distinct bytes in hex (identical bytes are refused as placeholders).
    let key = |seed: u8| {
        (0u8..32)
            .map(|i| format!("{:02x}", i.wrapping_mul(7).wrapping_add(seed)))
            .collect::<String>()
    };
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        r#"
[http]
listen = "127.0.0.1:0"
{http_keys}
[alerts]
blind_index_key = "{}"
confirmation_key = "{}"

[alerts.encryption_key]
id = "2026-01"
key = "{}"
"#,
        key(2),
        key(3),
        key(1)
    ));
    std::fs::write(&config, text).unwrap();
    config
}

/// Creates an administrator, starts the daemon with `http_keys` added to `[http]`, signs
/// in through `/signin` and stops the daemon; the attributes of the signed-in session
/// cookie.
async fn sign_in_through_a_running_daemon(http_keys: &str) -> String {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let config = write_alerts_config(dir.path(), http_keys);
    let config = config.to_str().unwrap();

    let mut create = tokio::process::Command::new(env!("CARGO_BIN_EXE_textgate"))
        .args([
            "create-admin",
            "--config",
            config,
            "--email",
            "Head@Library.example",
        ])
        .env_remove("TEXTGATE_ADMIN_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start create-admin");
    let mut stdin = create.stdin.take().expect("piped stdin");
    stdin.write_all(b"correcthorsebattery\n").await.unwrap();
    drop(stdin);
    let created = tokio::time::timeout(PROCESS_LIMIT, create.wait_with_output())
        .await
        .expect("create-admin finished")
        .expect("create-admin ran");
    assert_status(&created, 0);
    assert!(
        stdout(&created).starts_with("created account ")
            && stdout(&created).contains(" for head@library.example with roles member,"),
        "{}",
        stdout(&created)
    );

    let mut daemon = tokio::process::Command::new(env!("CARGO_BIN_EXE_textgate"))
        .args(["--config", config])
        .env_remove("TEXTGATE_CONFIG")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the daemon");
    let mut lines = tokio::io::BufReader::new(daemon.stderr.take().expect("piped")).lines();
    let address = tokio::time::timeout(PROCESS_LIMIT, async {
        while let Some(line) = lines.next_line().await.expect("read the log") {
            if let Some((_, rest)) = line.split_once("http listening address=") {
                return rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
            }
        }
        panic!("the daemon exited before listening");
    })
    .await
    .expect("the daemon listens");
    // Keep reading the log so the daemon never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let (status, _, metrics) = http(
        &address,
        &format!("GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(metrics.contains("textgate_texts_in_total"), "{metrics}");

    let (status, head, page) = http(
        &address,
        &format!("GET /signin HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(status, 200, "{head}");
    let anonymous = session_cookie(&head);
    let csrf = page
        .split_once(r#"name="csrf" value=""#)
        .and_then(|(_, rest)| rest.split('"').next())
        .expect("a CSRF token in the sign-in form")
        .to_owned();
    let form = format!("csrf={csrf}&email=head%40library.example&password=correcthorsebattery");
    let (status, head, _) = http(
        &address,
        &format!(
            "POST /signin HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
             Cookie: textgate_session={anonymous}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\n\r\n{form}",
            form.len()
        ),
    )
    .await;
    assert_eq!(status, 303, "{head}");
    let signed_in = session_cookie(&head);
    assert_ne!(signed_in, anonymous, "signing in issues a new session");
    let attributes = session_cookie_attributes(&head);

    let wrong = form.replace("correcthorsebattery", "wrongpassword1");
    let (status, _, _) = http(
        &address,
        &format!(
            "POST /signin HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
             Cookie: textgate_session={anonymous}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\n\r\n{wrong}",
            wrong.len()
        ),
    )
    .await;
    assert_ne!(status, 303, "a wrong password does not sign in");

    let pid = daemon.id().expect("running").to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let exit = tokio::time::timeout(PROCESS_LIMIT, daemon.wait())
        .await
        .expect("the daemon stops after SIGTERM")
        .unwrap();
    assert_eq!(exit.code(), Some(0));
    attributes
}
