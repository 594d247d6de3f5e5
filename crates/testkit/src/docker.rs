//! Reading `docker/compose.yaml` and `docker/Dockerfile` the way Docker would, for tests that
//! check what can be checked of the Docker files on a machine without a Docker engine: the
//! environment a service gets, its command line, its mounts and ports, and the runtime
//! stage's `ENV`, `EXPOSE` and `HEALTHCHECK`.
//!
//! Only what textgate's own files use is supported; anything else is an error rather than a
//! guess, so a test never checks something other than what Docker would run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

/// Why a Docker file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DockerFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid YAML: {source}")]
    Yaml {
        path: PathBuf,
        source: serde_yaml::Error,
    },
    #[error("{0}")]
    Shape(String),
}

fn shape(message: impl Into<String>) -> DockerFileError {
    DockerFileError::Shape(message.into())
}

fn read(path: &Path) -> Result<String, DockerFileError> {
    std::fs::read_to_string(path).map_err(|source| DockerFileError::Read {
        path: path.to_owned(),
        source,
    })
}

/// A compose file with its merge keys (`<<: *anchor`) applied.
pub struct ComposeFile {
    dir: PathBuf,
    services: Mapping,
}

impl ComposeFile {
    pub fn load(path: &Path) -> Result<ComposeFile, DockerFileError> {
        let text = read(path)?;
        let mut root: Value =
            serde_yaml::from_str(&text).map_err(|source| DockerFileError::Yaml {
                path: path.to_owned(),
                source,
            })?;
        root.apply_merge().map_err(|source| DockerFileError::Yaml {
            path: path.to_owned(),
            source,
        })?;
        let services = root
            .get("services")
            .and_then(Value::as_mapping)
            .cloned()
            .ok_or_else(|| shape("the compose file has no services"))?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_owned();
        Ok(ComposeFile { dir, services })
    }

    /// The names of the services.
    pub fn service_names(&self) -> Vec<String> {
        self.services
            .keys()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    }

    fn service(&self, name: &str) -> Result<&Mapping, DockerFileError> {
        self.services
            .get(name)
            .and_then(Value::as_mapping)
            .ok_or_else(|| shape(format!("no service {name}")))
    }

    /// The service's environment as the container sees it when no variable is set on the
    /// host (every `${VAR:-default}` takes its default): what the file gives "as written".
    pub fn environment(&self, name: &str) -> Result<BTreeMap<String, String>, DockerFileError> {
        let mut out = BTreeMap::new();
        let Some(env) = self.service(name)?.get("environment") else {
            return Ok(out);
        };
        let env = env
            .as_mapping()
            .ok_or_else(|| shape(format!("{name}: environment is not a mapping")))?;
        for (key, value) in env {
            let key = key
                .as_str()
                .ok_or_else(|| shape(format!("{name}: an environment key is not text")))?;
            let value = scalar(value)
                .ok_or_else(|| shape(format!("{name}: {key} is not a plain value")))?;
            out.insert(key.to_owned(), interpolate(&value)?);
        }
        Ok(out)
    }

    /// `entrypoint` followed by `command`, interpolated (an absent one is empty: the image's
    /// own applies, which the caller reads from the Dockerfile).
    pub fn command_line(&self, name: &str) -> Result<Vec<String>, DockerFileError> {
        let service = self.service(name)?;
        let mut out = Vec::new();
        for key in ["entrypoint", "command"] {
            out.extend(self.string_list(name, service, key)?);
        }
        Ok(out)
    }

    /// The host file a container path is mounted from (`./file:/container/path[:ro]`),
    /// resolved against the compose file's directory. `None` when nothing is mounted there.
    pub fn mounted_from(&self, name: &str, container_path: &str) -> Option<PathBuf> {
        let volumes = self.service(name).ok()?.get("volumes")?.as_sequence()?;
        volumes.iter().filter_map(Value::as_str).find_map(|volume| {
            let mut fields = volume.split(':');
            let source = fields.next()?;
            let target = fields.next()?;
            (target == container_path && source.starts_with('.')).then(|| self.dir.join(source))
        })
    }

    /// The container ports the service publishes (`host_ip:host_port:container_port`).
    pub fn published_container_ports(&self, name: &str) -> Result<Vec<u16>, DockerFileError> {
        let service = self.service(name)?;
        self.string_list(name, service, "ports")?
            .iter()
            .map(|port| {
                port.rsplit(':')
                    .next()
                    .and_then(|p| p.split('/').next())
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| shape(format!("{name}: cannot read port {port:?}")))
            })
            .collect()
    }

    /// The Dockerfile the service is built from, if it is built.
    pub fn dockerfile(&self, name: &str) -> Result<Option<PathBuf>, DockerFileError> {
        let Some(build) = self.service(name)?.get("build") else {
            return Ok(None);
        };
        let context = build
            .get("context")
            .and_then(Value::as_str)
            .ok_or_else(|| shape(format!("{name}: build has no context")))?;
        let file = build
            .get("dockerfile")
            .and_then(Value::as_str)
            .unwrap_or("Dockerfile");
        Ok(Some(self.dir.join(context).join(file)))
    }

    fn string_list(
        &self,
        name: &str,
        service: &Mapping,
        key: &str,
    ) -> Result<Vec<String>, DockerFileError> {
        match service.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Sequence(items)) => items
                .iter()
                .map(|item| {
                    let text = scalar(item)
                        .ok_or_else(|| shape(format!("{name}: {key} holds a non-text item")))?;
                    interpolate(&text)
                })
                .collect(),
            Some(_) => Err(shape(format!(
                "{name}: {key} must be a list (the exec form), not a shell string"
            ))),
        }
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Compose's variable interpolation with an empty host environment: `${VAR:-default}` and
/// `${VAR-default}` give the default, `$$` a dollar sign; a variable without a default is an
/// error (Docker would substitute an empty string and warn, which is never what we mean).
pub fn interpolate(text: &str) -> Result<String, DockerFileError> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let inner_end = after
            .strip_prefix('{')
            .and_then(|a| a.find('}'))
            .ok_or_else(|| shape(format!("unsupported interpolation in {text:?}")))?;
        let inner = &after[1..=inner_end];
        let default = inner
            .split_once(":-")
            .or_else(|| inner.split_once('-'))
            .map(|(_, default)| default)
            .ok_or_else(|| shape(format!("{text:?}: ${{{inner}}} has no default")))?;
        out.push_str(default);
        rest = &after[inner_end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The instructions of a Dockerfile's last (runtime) stage, continuation lines joined.
pub struct RuntimeStage {
    instructions: Vec<(String, String)>,
}

impl RuntimeStage {
    pub fn load(path: &Path) -> Result<RuntimeStage, DockerFileError> {
        let text = read(path)?;
        let mut instructions: Vec<(String, String)> = Vec::new();
        let mut pending = String::new();
        for line in text.lines() {
            let trimmed = line.trim();
            // Comments inside a continued instruction are dropped by Docker too.
            if trimmed.starts_with('#') || (trimmed.is_empty() && pending.is_empty()) {
                continue;
            }
            match trimmed.strip_suffix('\\') {
                Some(part) => {
                    pending.push_str(part);
                    pending.push(' ');
                }
                None => {
                    pending.push_str(trimmed);
                    let full = std::mem::take(&mut pending);
                    let (word, args) = full.split_once(char::is_whitespace).unwrap_or((&full, ""));
                    let word = word.to_ascii_uppercase();
                    if word == "FROM" {
                        instructions.clear();
                    }
                    instructions.push((word, args.trim().to_owned()));
                }
            }
        }
        if instructions.is_empty() {
            return Err(shape(format!("{} has no instructions", path.display())));
        }
        Ok(RuntimeStage { instructions })
    }

    /// The arguments of every instruction named `word` (upper case), in order.
    pub fn all(&self, word: &str) -> Vec<&str> {
        self.instructions
            .iter()
            .filter(|(w, _)| w == word)
            .map(|(_, args)| args.as_str())
            .collect()
    }

    /// The stage's `ENV` variables (`ENV KEY=value …` form only).
    pub fn env(&self) -> Result<BTreeMap<String, String>, DockerFileError> {
        let mut out = BTreeMap::new();
        for args in self.all("ENV") {
            for pair in args.split_whitespace() {
                let (key, value) = pair
                    .split_once('=')
                    .ok_or_else(|| shape(format!("ENV {args:?}: use the KEY=value form")))?;
                out.insert(key.to_owned(), value.trim_matches('"').to_owned());
            }
        }
        Ok(out)
    }

    /// The ports named by `EXPOSE`.
    pub fn exposed_ports(&self) -> Vec<u16> {
        self.all("EXPOSE")
            .iter()
            .flat_map(|args| args.split_whitespace())
            .filter_map(|port| port.split('/').next()?.parse().ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_takes_defaults_and_refuses_bare_variables() {
        assert_eq!(
            interpolate("postgres://u:${PW:-secret}@db/x$$y").unwrap(),
            "postgres://u:secret@db/x$y"
        );
        assert_eq!(interpolate("${A-b}").unwrap(), "b");
        assert!(interpolate("${PW}").is_err());
        assert!(interpolate("$PW").is_err());
    }

    #[test]
    fn the_runtime_stage_is_the_last_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Dockerfile");
        std::fs::write(
            &path,
            "FROM a AS build\nENV X=1\nEXPOSE 1\nFROM b\n# note\nENV Y=2 \\\n    Z=3\nEXPOSE 8080/tcp\n",
        )
        .unwrap();
        let stage = RuntimeStage::load(&path).unwrap();
        let env: Vec<(String, String)> = stage.env().unwrap().into_iter().collect();
        assert_eq!(env, [("Y".into(), "2".into()), ("Z".into(), "3".into())]);
        assert_eq!(stage.exposed_ports(), [8080]);
    }
}
