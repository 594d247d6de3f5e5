//! [`Secret`]: a configuration value that must never reach a log line, and that may be
//! written inline, read from a file or taken from an environment variable.
//!
//! In TOML a secret is one of:
//!
//! ```toml
//! secret = "inline value"
//! secret = { file = "/run/secrets/library-component" }
//! secret = { env = "LIBRARY_COMPONENT_SECRET" }
//! ```
//!
//! Deserialisation only records the form; [`Config::load`](super::Config::load) resolves
//! file and environment forms afterwards, so the lookup can use an injected environment and
//! report a missing file under the key that names it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What `Debug` and `Display` print instead of a secret's value.
pub const REDACTED: &str = "<redacted>";

/// Where a secret's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Written in the configuration file (or in an override variable).
    Inline,
    /// Read from this file; one trailing line break is removed.
    File(PathBuf),
    /// Read from this environment variable.
    Env(String),
}

/// A secret configuration value. `Debug` and `Display` print `<redacted>`; only
/// [`Secret::expose`] gives the value, so every use is easy to find.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    source: SecretSource,
    /// `None` until a file or environment secret has been resolved.
    value: Option<String>,
}

impl Secret {
    /// A secret with its value given directly.
    pub fn inline(value: impl Into<String>) -> Self {
        Self {
            source: SecretSource::Inline,
            value: Some(value.into()),
        }
    }

    /// A secret to be read from `path` when the configuration is loaded.
    pub fn from_file(path: impl Into<PathBuf>) -> Self {
        Self {
            source: SecretSource::File(path.into()),
            value: None,
        }
    }

    /// A secret to be taken from the environment variable `variable` when the
    /// configuration is loaded.
    pub fn from_env(variable: impl Into<String>) -> Self {
        Self {
            source: SecretSource::Env(variable.into()),
            value: None,
        }
    }

    /// Where the value comes from.
    pub fn source(&self) -> &SecretSource {
        &self.source
    }

    /// Whether the value is known. Every secret in a configuration returned by
    /// [`Config::load`](super::Config::load) is.
    pub fn is_resolved(&self) -> bool {
        self.value.is_some()
    }

    /// The value. Empty for a file or environment secret that was never resolved, which
    /// cannot happen to a configuration returned by [`Config::load`](super::Config::load).
    pub fn expose(&self) -> &str {
        self.value.as_deref().unwrap_or("")
    }

    /// Reads the value of a file or environment secret. Relative file paths are taken
    /// relative to `base_dir` (the configuration file's directory). The error is a
    /// sentence for the user, to be prefixed with the key.
    pub(crate) fn resolve(
        &mut self,
        env: &BTreeMap<String, String>,
        base_dir: &Path,
    ) -> Result<(), String> {
        let value = match &self.source {
            SecretSource::Inline => self.value.clone().unwrap_or_default(),
            SecretSource::File(path) => {
                let path = base_dir.join(path);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read secret file {}: {e}", path.display()))?;
                // Files written with `echo` end in a line break that is not part of the secret.
                let text = text
                    .strip_suffix('\n')
                    .map(|t| t.strip_suffix('\r').unwrap_or(t))
                    .unwrap_or(&text);
                self.source = SecretSource::File(path.clone());
                text.to_owned()
            }
            SecretSource::Env(variable) => env
                .get(variable)
                .cloned()
                .ok_or_else(|| format!("environment variable {variable} is not set"))?,
        };
        if value.is_empty() {
            return Err(match &self.source {
                SecretSource::Inline => "is empty".to_owned(),
                SecretSource::File(path) => format!("secret file {} is empty", path.display()),
                SecretSource::Env(variable) => format!("environment variable {variable} is empty"),
            });
        }
        self.value = Some(value);
        Ok(())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Serialises the form, never the value: an inline secret becomes `"<redacted>"`.
impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match &self.source {
            SecretSource::Inline => serializer.serialize_str(REDACTED),
            SecretSource::File(path) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("file", path)?;
                map.end()
            }
            SecretSource::Env(variable) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("env", variable)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

struct SecretVisitor;

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"a secret: a quoted string, { file = "PATH" } or { env = "VARIABLE" }"#)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Secret, E> {
        Ok(Secret::inline(value))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Secret, A::Error> {
        const FORMS: &[&str] = &["file", "env"];
        let only_one = || de::Error::custom(r#"a secret takes exactly one of `file` or `env`"#);
        let Some(key) = map.next_key::<String>()? else {
            return Err(only_one());
        };
        let secret = match key.as_str() {
            "file" => Secret::from_file(map.next_value::<PathBuf>()?),
            "env" => Secret::from_env(map.next_value::<String>()?),
            other => return Err(de::Error::unknown_field(other, FORMS)),
        };
        if map.next_key::<String>()?.is_some() {
            return Err(only_one());
        }
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret = Secret::inline("hunter2");
        assert_eq!(format!("{secret:?} {secret}"), "<redacted> <redacted>");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn file_secret_loses_one_trailing_line_break_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s"), "two words \r\n").unwrap();
        let mut secret = Secret::from_file("s");
        secret.resolve(&BTreeMap::new(), dir.path()).unwrap();
        assert_eq!(secret.expose(), "two words ");
        assert_eq!(
            secret.source(),
            &SecretSource::File(dir.path().join("s")),
            "a relative path is resolved against the configuration's directory"
        );
    }

    #[test]
    fn unresolved_secret_exposes_nothing() {
        let secret = Secret::from_env("X");
        assert!(!secret.is_resolved());
        assert_eq!(secret.expose(), "");
    }
}
