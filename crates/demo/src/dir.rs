//! The demo's temporary directory, and the random secrets and free ports the demo's servers
//! are given.

use std::path::PathBuf;

use anyhow::Context;

/// The demo's temporary directory: Prosody's files, the modem's link, the daemon's
/// configuration, database and log. Its name is one nobody else can have chosen (the pid and
/// random bytes); the pid in it is how a test finds any process the demo left behind.
pub struct DemoDir {
    pub path: PathBuf,
}

impl DemoDir {
    pub fn create() -> anyhow::Result<DemoDir> {
        let name = format!("textgate-demo-{}-{}", std::process::id(), random_token()?);
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir(&path)
            .with_context(|| format!("creating the demo's directory {}", path.display()))?;
        Ok(DemoDir { path })
    }

    pub fn remove(self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            eprintln!(
                "textgate-demo: could not remove {}: {e}",
                self.path.display()
            );
        }
    }
}

/// 16 hexadecimal digits from the kernel's random source, for passwords and secrets.
pub fn random_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 8];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").context("opening /dev/urandom")?,
        &mut bytes,
    )
    .context("reading /dev/urandom")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
