//! `textgate check-config --connect`: reaches what a valid configuration names (the
//! database, each gateway's XMPP server and each modem or relay) without changing any of
//! them, and reports every one that cannot be reached under the key that names it.
//!
//! Nothing here writes: the database is connected to but never migrated, a modem is only
//! probed (no PIN, no message mode), the XMPP handshake is closed as soon as it is accepted.
//! Every check has its own time limit, so one silent host cannot hang the command.

use std::path::{Path, PathBuf};
use std::time::Duration;

use textgate_store::Store;
use textgate_xmpp::link::ComponentLink;

use textgate_android_driver::AccessProblem;
use textgate_modem::smtp::{SmtpConfig, SmtpDriver, SmtpSendError};
use textgate_smpp_driver::BindProblem;

use super::{Config, DriverConfig, GatewayConfig};

/// How long one check (one connection, one handshake, one probe) may take.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// One thing that could not be reached, named by the configuration key that points at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    /// The key, e.g. `gateway[0] (library).server`.
    pub key: String,
    /// What went wrong, in the user's terms.
    pub message: String,
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Every check's failure, all checks run. `base` resolves relative SQLite paths the way
/// the daemon does: against its working directory.
pub async fn reach_everything(config: &Config, base: &Path) -> Vec<Unreachable> {
    let mut failures = Vec::new();
    if let Err(message) = reach_database(config.database.url.expose(), base).await {
        failures.push(Unreachable {
            key: "database.url".to_owned(),
            message,
        });
    }
    for (index, gateway) in config.gateways.iter().enumerate() {
        let prefix = format!("gateway[{index}] ({})", gateway.name);
        let component = (
            gateway.server.as_str(),
            gateway.domain.as_str(),
            gateway.secret.expose(),
        );
        if let Err((field, message)) = reach_xmpp_server(component).await {
            failures.push(Unreachable {
                key: format!("{prefix}.{field}"),
                message,
            });
        }
        let listen = config.http.listen;
        if let Err((field, message)) = reach_driver(gateway, listen).await {
            failures.push(Unreachable {
                key: format!("{prefix}.driver.{field}"),
                message,
            });
        }
    }
    if let Some(email) = config.alerts.as_ref().and_then(|a| a.email.as_ref()) {
        let settings = crate::run_cmd::relay_config(
            &email.relay,
            email.port,
            email.tls,
            &email.from,
            email.username.as_ref().zip(email.password.as_ref()),
        );
        if let Err((field, message)) = greet_relay(settings).await {
            failures.push(Unreachable {
                key: format!("alerts.email.{field}"),
                message,
            });
        }
    }
    if let Some(xmpp) = config.alerts.as_ref().and_then(|a| a.xmpp.as_ref()) {
        let component = (
            xmpp.server.as_str(),
            xmpp.component.as_str(),
            xmpp.secret.expose(),
        );
        if let Err((field, message)) = reach_xmpp_server(component).await {
            // The gateway's names for the fields, in the alerts' section.
            let field = if field == "domain" {
                "component"
            } else {
                field
            };
            failures.push(Unreachable {
                key: format!("alerts.xmpp.{field}"),
                message,
            });
        }
    }
    failures
}

/// `host:port` of an Android gateway's API URL (the scheme's port when it names none).
fn android_address(url: &str) -> String {
    let (rest, port) = match url.strip_prefix("https://") {
        Some(rest) => (rest, 443),
        None => (url.strip_prefix("http://").unwrap_or(url), 80),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:{port}")
    }
}

/// Reaches an SMTP relay, then greets it as the senders will (TLS as configured, the login
/// when there is one) and says NOOP, sending no mail: a port that is not SMTP, a TLS
/// mismatch and refused credentials show here. Returns the failing field's name.
async fn greet_relay(mut settings: SmtpConfig) -> Result<(), (&'static str, String)> {
    let relay = format!("{}:{}", settings.relay, settings.port);
    bounded(&format!("cannot reach {relay}"), async {
        tokio::net::TcpStream::connect(&relay)
            .await
            .map(drop)
            .map_err(|e| format!("cannot reach the relay at {relay}: {e}"))
    })
    .await
    .map_err(|message| ("relay", message))?;
    settings.timeout = CHECK_TIMEOUT;
    let driver = SmtpDriver::new(settings).map_err(|e| ("relay", e.to_string()))?;
    driver.check_relay().await.map_err(|error| match error {
        // Login required, too weak, refused, or needs TLS first.
        SmtpSendError::Refused {
            code: 530 | 534 | 535 | 538,
            ..
        } => ("password", error.to_string()),
        SmtpSendError::Tls { .. } | SmtpSendError::Mismatch { .. } => ("tls", error.to_string()),
        _ => ("relay", error.to_string()),
    })
}

/// Runs `work` under [`CHECK_TIMEOUT`], saying what timed out.
async fn bounded<T>(
    what: &str,
    work: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    match tokio::time::timeout(CHECK_TIMEOUT, work).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "{what}: no answer within {} s",
            CHECK_TIMEOUT.as_secs()
        )),
    }
}

/// Connects to the database without migrating it. A SQLite file that does not exist yet
/// is not opened (opening would create it); the daemon creates it on first start, so only
/// its directory has to exist.
async fn reach_database(url: &str, base: &Path) -> Result<(), String> {
    if let Some(path) = sqlite_path(url) {
        if path.as_os_str() == ":memory:" {
            return Ok(());
        }
        let path = base.join(path);
        if !path.exists() {
            let directory = match path.parent() {
                Some(parent) if parent.as_os_str().is_empty() => Path::new("."),
                Some(parent) => parent,
                None => Path::new("."),
            };
            return if directory.is_dir() {
                Ok(())
            } else {
                Err(format!(
                    "{} cannot be created: directory {} does not exist",
                    path.display(),
                    directory.display()
                ))
            };
        }
    }
    // The connection pool retries a refused connection until its own timeout; one plain
    // TCP connection first turns "nothing listens there" into an immediate, plain answer.
    if let Some(address) = postgres_address(url) {
        bounded(&format!("cannot reach {address}"), async {
            tokio::net::TcpStream::connect(&address)
                .await
                .map(drop)
                .map_err(|e| format!("cannot reach {address}: {e}"))
        })
        .await?;
    }
    let store = bounded("connecting to the database", async {
        Store::connect(url)
            .await
            .map_err(|e| format!("cannot connect: {e}"))
    })
    .await?;
    store.close().await;
    Ok(())
}

/// The file of a `sqlite:` URL, or `None` for any other URL.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let file = rest.split('?').next().unwrap_or(rest);
    Some(PathBuf::from(file))
}

/// `host:port` of a `postgres://` URL with a TCP host, or `None` (other schemes, Unix
/// sockets, several hosts), when only the real connection can tell.
fn postgres_address(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.is_empty() || host_port.contains(',') || host_port.starts_with('%') {
        return None;
    }
    let has_port = match host_port.rsplit_once(':') {
        // `[::1]` alone has colons but no port.
        Some((host, port)) => {
            !host.ends_with(':') && port.chars().all(|c| c.is_ascii_digit()) && !port.is_empty()
        }
        None => false,
    };
    Some(if has_port {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    })
}

/// Opens the component port and completes the XEP-0114 handshake, so a wrong secret shows
/// here and not at the daemon's first start. Returns the failing field's name.
/// `component` is the server's component port, the component's domain and its secret.
async fn reach_xmpp_server(
    (server, domain, secret): (&str, &str, &str),
) -> Result<(), (&'static str, String)> {
    // A separate TCP connection first: "nothing listens" and "refused the secret" are
    // different keys to fix, and the link reports both as text.
    bounded(&format!("cannot reach {server}"), async {
        tokio::net::TcpStream::connect(server)
            .await
            .map(drop)
            .map_err(|e| format!("cannot reach {server}: {e}"))
    })
    .await
    .map_err(|message| ("server", message))?;
    let link = bounded(&format!("handshake with {server}"), async {
        ComponentLink::connect(server, domain, secret, Default::default()).await
    })
    .await;
    match link {
        Ok(mut link) => {
            let _ = link.close().await;
            Ok(())
        }
        // Prosody accepts one connection per component: the daemon itself is likely
        // connected, which is not a configuration mistake but is worth saying plainly.
        Err(message) if message.contains("stream error conflict") => Err((
            "domain",
            format!(
                "{server} already has a component connected for {domain} (is textgate running?): {message}"
            ),
        )),
        // The server answered the handshake with an error: the secret (or the domain it
        // was computed for) does not match the server's component configuration.
        Err(message) if message.starts_with("handshake refused") => {
            Err(("secret", format!("not accepted by {server} ({message})")))
        }
        Err(message) => Err(("server", format!("{server}: {message}"))),
    }
}

/// Probes the modem, asks an Android phone's API with the gateway's credentials, binds to
/// an SMSC with its account (and unbinds), or opens a TCP connection to the relay. A simulator the daemon spawns itself has nothing to
/// reach yet. `listen` is the daemon's HTTP listener (an Android phone's default webhook
/// address).
async fn reach_driver(
    gateway: &GatewayConfig,
    listen: std::net::SocketAddr,
) -> Result<(), (&'static str, String)> {
    let driver = &gateway.driver;
    let timeouts = textgate_modem::Timeouts {
        quick: CHECK_TIMEOUT,
        slow: CHECK_TIMEOUT,
        network: CHECK_TIMEOUT,
    };
    let (field, target, baud) = match driver {
        DriverConfig::At(modem) => match (&modem.device, &modem.address) {
            (Some(device), _) => ("device", device.display().to_string(), modem.baud),
            (None, Some(address)) => ("address", address.clone(), modem.baud),
            (None, None) => return Ok(()),
        },
        DriverConfig::Simulator(simulator) => match &simulator.address {
            Some(address) => ("address", address.clone(), 115_200),
            None => return Ok(()),
        },
        DriverConfig::Smpp(smpp) => {
            let address = smpp.address.clone();
            bounded(&format!("cannot reach {address}"), async {
                tokio::net::TcpStream::connect(&address)
                    .await
                    .map(drop)
                    .map_err(|e| format!("cannot reach the SMSC at {address}: {e}"))
            })
            .await
            .map_err(|message| ("address", message))?;
            // Reached: now a bind with the account, and an unbind.
            let mut settings =
                crate::run_cmd::smpp_config(smpp).map_err(|e| ("address", e.to_string()))?;
            settings.response_timeout = CHECK_TIMEOUT;
            return textgate_smpp_driver::check_bind(&settings)
                .await
                .map(drop)
                .map_err(|problem| match problem {
                    BindProblem::Address(message) => ("address", message),
                    BindProblem::Credentials(message) => ("password", message),
                    BindProblem::Refused(message) => ("system_id", message),
                });
        }
        DriverConfig::Android(android) => {
            let address = android_address(&android.url);
            bounded(&format!("cannot reach {address}"), async {
                tokio::net::TcpStream::connect(&address)
                    .await
                    .map(drop)
                    .map_err(|e| format!("cannot reach the phone's API at {address}: {e}"))
            })
            .await
            .map_err(|message| ("url", message))?;
            // Reached: now the API itself, with the credentials.
            let mut phone = crate::run_cmd::android_config(gateway, android, listen);
            phone.request_timeout = CHECK_TIMEOUT;
            return textgate_android_driver::check_access(&phone)
                .await
                .map_err(|problem| match problem {
                    AccessProblem::Url(message) => ("url", message),
                    AccessProblem::Credentials(message) => ("password", message),
                });
        }
        DriverConfig::Smtp(smtp) => {
            let settings =
                crate::run_cmd::smtp_config(smtp, None).map_err(|e| ("relay", e.to_string()))?;
            return greet_relay(settings).await;
        }
    };
    bounded(&format!("probing {target}"), async {
        textgate_modem::probe_device(&target, baud, timeouts)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|message| (field, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{expect, Expect};

    fn check(url: &str, expect: Expect) {
        expect.assert_debug_eq(&sqlite_path(url));
    }

    fn check_postgres(url: &str, expect: Expect) {
        expect.assert_debug_eq(&postgres_address(url));
    }

    #[test]
    fn postgres_urls_name_their_server() {
        check_postgres(
            "postgres://user:p@ss@db.example:6543/textgate?sslmode=require",
            expect![[r#"
                Some(
                    "db.example:6543",
                )
            "#]],
        );
        check_postgres(
            "postgresql://db.example/textgate",
            expect![[r#"
            Some(
                "db.example:5432",
            )
        "#]],
        );
        check_postgres(
            "postgres://[::1]/textgate",
            expect![[r#"
            Some(
                "[::1]:5432",
            )
        "#]],
        );
        check_postgres(
            "postgres://[::1]:5433/textgate",
            expect![[r#"
            Some(
                "[::1]:5433",
            )
        "#]],
        );
        check_postgres(
            "postgres:///textgate?host=/run/postgresql",
            expect![[r#"
            None
        "#]],
        );
        check_postgres(
            "sqlite://textgate.sqlite3",
            expect![[r#"
            None
        "#]],
        );
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        check(
            "sqlite://textgate.sqlite3?mode=rwc",
            expect![[r#"
                Some(
                    "textgate.sqlite3",
                )
            "#]],
        );
        check(
            "sqlite:/var/lib/textgate/db",
            expect![[r#"
                Some(
                    "/var/lib/textgate/db",
                )
            "#]],
        );
        check(
            "postgres://postgres@127.0.0.1/postgres",
            expect![[r#"
                None
            "#]],
        );
    }
}
