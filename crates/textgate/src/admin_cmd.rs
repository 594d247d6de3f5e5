//! `textgate create-admin`: creates the first administrator of the web console (or another
//! one) from the command line, where no one can sign in yet to create it from the pages.
//! The alert service does it (and records it in its audit log), on a store opened from the
//! configuration.
//! The password comes from `TEXTGATE_ADMIN_PASSWORD` or the first line of standard input,
//! never from the command line, where other users of the machine could read it in the
//! process list.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{bail, Context};
use textgate_alert_service::{accounts, AlertService};
use textgate_alerts::{Role, Roles};
use textgate_store::Store;

use crate::config::{process_environment, Config, DEFAULT_CONFIG_PATH};
use crate::exit::{ExitStatusExt, Status};
use crate::run_cmd::alert_settings;

/// The environment variable the password may come from.
pub use crate::config::ADMIN_PASSWORD_VARIABLE as PASSWORD_VARIABLE;

/// Arguments of `textgate create-admin`.
#[derive(Debug, clap::Args)]
pub struct CreateAdminArgs {
    /// The configuration file; it needs `[alerts]` (the console's keys).
    #[arg(long, short, value_name = "PATH", env = "TEXTGATE_CONFIG", default_value = DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
    /// The administrator's e-mail address, which is also their sign-in name.
    #[arg(long, value_name = "EMAIL")]
    pub email: String,
    /// Comma-separated roles (member, technical-administrator, emergency-administrator,
    /// transcript-administrator, text-sender); every role when absent.
    #[arg(long, value_name = "ROLES", value_delimiter = ',')]
    pub roles: Vec<String>,
}

/// Creates the account and prints its id.
pub fn run(args: &CreateAdminArgs) -> anyhow::Result<()> {
    let loaded = Config::load(&args.config, &process_environment()).or_exit(Status::BadInput)?;
    let roles = roles(&args.roles).or_exit(Status::BadInput)?;
    let settings = alert_settings(&loaded.config)
        .or_exit(Status::BadInput)?
        .context("the web console needs [alerts] in the configuration")
        .or_exit(Status::BadInput)?;
    let password = password().or_exit(Status::BadInput)?;
    let url = loaded.config.database.url.expose().to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .or_exit(Status::Failure)?;
    runtime.block_on(async {
        let store = Store::open(&url)
            .await
            .context("opening the database")
            .or_exit(Status::Failure)?;
        let alerts = AlertService::new(store.clone(), settings)
            .context("starting the alert service")
            .or_exit(Status::Failure)?;
        let created = alerts
            .accounts()
            .create_admin(&args.email, &password, roles.clone())
            .await;
        store.close().await;
        let id = created.map_err(|e| {
            // The service's refusals (a taken address, a short password) are the caller's
            // to fix; anything else is the database.
            let status = if e.is_refusal() {
                Status::BadInput
            } else {
                Status::Failure
            };
            crate::exit::mark(status, e)
        })?;
        let names: Vec<String> = roles.iter().map(role_name).collect();
        println!(
            "created account {id} for {} with roles {}",
            args.email.trim().to_lowercase(),
            names.join(",")
        );
        Ok(())
    })
}

/// A role's name on the command line: its name in words, hyphenated (as the console
/// stores it).
fn role_name(role: Role) -> String {
    role.to_string().replace(' ', "-")
}

fn parse_role(name: &str) -> Option<Role> {
    Role::ALL.into_iter().find(|r| role_name(*r) == name)
}

fn roles(names: &[String]) -> anyhow::Result<Roles> {
    if names.is_empty() {
        return Ok(accounts::all_roles());
    }
    let mut roles = Vec::new();
    for name in names {
        match parse_role(name.trim()) {
            Some(role) => roles.push(role),
            None => bail!(
                "--roles: unknown role {name:?}; the roles are member, technical-administrator, \
                 emergency-administrator, transcript-administrator and text-sender"
            ),
        }
    }
    Ok(Roles::new(roles))
}

/// The password from the environment, or else the first line of standard input.
fn password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var(PASSWORD_VARIABLE) {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password: set {PASSWORD_VARIABLE} or write it on standard input");
    }
    Ok(password)
}
