//! The exit statuses of the `textgate` command, and how an error says which one it ends
//! the process with.
//!
//! Scripts and systemd tell "try again later" from "fix the input" by the status alone, so
//! every subcommand uses the same three: 0 success, 1 a runtime failure (a database,
//! modem or XMPP server that cannot be reached or refused), 2 bad input or configuration
//! (usage errors, an invalid PDU, number or configuration file). A command marks its
//! errors with [`ExitStatusExt::or_exit`]; `main` reads the mark with [`status_of`].

use std::process::ExitCode;

/// What the process tells its caller when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Exit status 0: the command did what it was asked.
    Success,
    /// Exit status 1: something outside the command failed (database, modem or XMPP server
    /// unreachable, a modem that did not answer). Trying again later may work.
    Failure,
    /// Exit status 2: the command line, the input or the configuration is wrong; trying
    /// again without changing it will fail the same way.
    BadInput,
}

impl Status {
    /// The numeric exit status.
    pub const fn code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::Failure => 1,
            Status::BadInput => 2,
        }
    }
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(status.code())
    }
}

/// An error marked with the exit status it should end the process with. It prints as the
/// error it wraps, so marking changes no message.
#[derive(Debug, thiserror::Error)]
#[error("{error:#}")]
pub struct Classified {
    pub status: Status,
    error: anyhow::Error,
}

/// Marks the error of a `Result` with an exit status.
pub trait ExitStatusExt<T> {
    fn or_exit(self, status: Status) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> ExitStatusExt<T> for Result<T, E> {
    fn or_exit(self, status: Status) -> anyhow::Result<T> {
        self.map_err(|error| mark(status, error))
    }
}

/// Marks one error with an exit status.
pub fn mark(status: Status, error: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(Classified {
        status,
        error: error.into(),
    })
}

/// The status an error ends the process with: the outermost mark in its chain (context
/// added on top keeps it). Unmarked errors are [`Status::BadInput`], which is what every
/// error meant before commands marked theirs.
pub fn status_of(error: &anyhow::Error) -> Status {
    error
        .chain()
        .find_map(|e| e.downcast_ref::<Classified>())
        .map_or(Status::BadInput, |c| c.status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn the_mark_survives_context_and_prints_as_the_wrapped_error() {
        let marked: anyhow::Result<()> = Err(std::io::Error::other("connection refused"))
            .or_exit(Status::Failure)
            .context("opening the database");
        let Err(error) = marked else {
            panic!("the error was lost");
        };
        assert_eq!(status_of(&error), Status::Failure);
        assert_eq!(
            format!("{error:#}"),
            "opening the database: connection refused"
        );
        assert_eq!(
            status_of(&anyhow::anyhow!("unmarked")),
            Status::BadInput,
            "unmarked errors keep the old status"
        );
        assert_eq!(
            [Status::Success, Status::Failure, Status::BadInput].map(Status::code),
            [0, 1, 2]
        );
    }
}
