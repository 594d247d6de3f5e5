//! The tracing subscriber for the daemon's logs.
//!
//! Logs go to standard error, where systemd's journal and Docker's log driver collect them.
//! `text` is for people: coloured when standard error is a terminal, plain otherwise (the
//! journal adds its own timestamps but keeping ours costs nothing and helps with files).
//! `json` writes one JSON object per line ([`JsonLines`]) with the event's fields and the
//! fields of the spans it happened in as top-level keys, so `jq 'select(.inbound == 7)'`
//! follows one text through its whole path. The text format shows the same span fields
//! before each message (`received{slot=3 inbound=7}: ...`).

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::json_lines::JsonLines;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event, with span fields, for log collectors.
    Json,
}

/// Why the subscriber could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// The level is not a valid `tracing` filter directive.
    #[error("log level {level:?} is not a valid filter (try \"info\" or \"textgate=debug,info\"): {reason}")]
    BadLevel { level: String, reason: String },
    /// Another subscriber was installed first (a test calling this twice, say).
    #[error("a log subscriber is already installed in this process")]
    AlreadyInstalled,
}

/// Installs the global subscriber: events at `level` and above (a filter directive such as
/// `info` or `textgate_gateway=debug,info`; `RUST_LOG` is not consulted, the
/// configuration's `[log] level` and its `TEXTGATE_LOG_LEVEL` override are the one knob).
pub fn init_logging(format: LogFormat, level: &str) -> Result<(), LoggingError> {
    let filter = EnvFilter::try_new(level).map_err(|e| LoggingError::BadLevel {
        level: level.to_owned(),
        reason: e.to_string(),
    })?;
    let installed = match format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
            .is_ok(),
        LogFormat::Json => tracing_subscriber::registry()
            .with(filter)
            .with(JsonLines::new(std::io::stderr))
            .try_init()
            .is_ok(),
    };
    if installed {
        Ok(())
    } else {
        Err(LoggingError::AlreadyInstalled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_level_names_itself() {
        let err = init_logging(LogFormat::Text, "info,=[").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("log level \"info,=[\" is not a valid filter"),
            "{err}"
        );
    }
}
