//! A headless Chromium driven over WebDriver, for the tests that look at the console's pages
//! in a real browser: the web crate's page tests and the end-to-end campaign test.
//!
//! [`Browser::start`] finds `chromium` and `chromedriver` on `PATH` (Debian's `chromium` and
//! `chromium-driver` packages; without them the tests fail rather than skip), starts
//! chromedriver on a port it picks itself (`--port=0`; it prints which, so no other server
//! can be mistaken for it), waits for it to say it is ready (no fixed sleep), and opens
//! one session with its own throw-away profile. Screenshots go to
//! `target/test-artifacts/<suite>/`, numbered in the order they were taken.
//!
//! Starting returns an error that says which step failed. The page helpers ([`Browser::fill`],
//! [`Browser::click`], [`Browser::text`], [`Browser::wait_for`]) panic instead: a missing
//! element is the test's failure, and the panic message carries the page's source so the
//! failure can be read without rerunning.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// What chromedriver prints once it accepts sessions, followed by its port:
/// "ChromeDriver was started successfully on port 41685."
const DRIVER_READY: &str = "started successfully on port ";

/// A phone-sized window: the console is meant to be usable on a phone, so the pictures show
/// it that way.
const WINDOW_SIZE: &str = "--window-size=412,915";

/// Why the browser could not be started.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("{program} is not installed: apt-get install chromium chromium-driver")]
    NotInstalled { program: &'static str },
    #[error("cannot start chromedriver: {source}")]
    SpawnDriver { source: std::io::Error },
    #[error("cannot read chromedriver's output: {source}")]
    ReadDriver { source: std::io::Error },
    #[error("chromedriver exited before it was ready")]
    DriverExited,
    #[error("chromedriver was not ready within {0:?}")]
    DriverTimeout(Duration),
    #[error("chromedriver said it was ready but named no port: {line:?}")]
    DriverPort { line: String },
    #[error("cannot create a browser profile directory: {source}")]
    Profile { source: std::io::Error },
    #[error("chromedriver refused a session: {source}")]
    Session {
        source: fantoccini::error::NewSessionError,
    },
}

/// Where one suite's screenshots go and how their file names start.
#[derive(Debug, Clone)]
pub struct Screenshots {
    dir: PathBuf,
    prefix: String,
    taken: u32,
}

impl Screenshots {
    /// Screenshots in `target/test-artifacts/<suite>/`, named `NN-<what>.png`.
    pub fn for_suite(suite: &str) -> Screenshots {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/test-artifacts")
            .join(suite);
        Screenshots {
            dir,
            prefix: String::new(),
            taken: 0,
        }
    }

    /// The same, named `<test>-NN-<what>.png`, for a suite whose tests share the directory.
    pub fn named(self, test: &str) -> Screenshots {
        Screenshots {
            prefix: format!("{test}-"),
            ..self
        }
    }

    /// The file for the next picture of `what`.
    fn next(&mut self, what: &str) -> PathBuf {
        self.taken += 1;
        self.dir
            .join(format!("{}{:02}-{what}.png", self.prefix, self.taken))
    }
}

/// chromedriver and one headless Chromium session on it, looking at the site at `base`.
pub struct Browser {
    /// The WebDriver session, for what the helpers do not cover (scripts, attributes, several
    /// elements).
    pub client: Client,
    driver: Child,
    base: String,
    wait: Duration,
    screenshots: Screenshots,
    // Removed when the browser is dropped, after the session is closed.
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a session for the site at `base` (`http://host:port`). `wait`
    /// bounds chromedriver's start and every awaited page state.
    pub async fn start(
        base: impl Into<String>,
        screenshots: Screenshots,
        wait: Duration,
    ) -> Result<Browser, BrowserError> {
        let chromedriver = on_path("chromedriver")?;
        let chromium = on_path("chromium")?;
        let mut driver = Command::new(chromedriver)
            // The driver binds a port of its own choosing and names it: a port chosen here
            // and released could be taken by another server before the driver binds it.
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| BrowserError::SpawnDriver { source })?;
        let stdout = driver.stdout.take().ok_or(BrowserError::DriverExited)?;
        let mut lines = BufReader::new(stdout).lines();
        let port = tokio::time::timeout(wait, driver_ready(&mut lines))
            .await
            .map_err(|_| BrowserError::DriverTimeout(wait))??;
        // chromedriver keeps writing; a full pipe would stall it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let profile = tempfile::tempdir().map_err(|source| BrowserError::Profile { source })?;
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    WINDOW_SIZE,
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .map_err(|source| BrowserError::Session { source })?;
        Ok(Browser {
            client,
            driver,
            base: base.into(),
            wait,
            screenshots,
            _profile: profile,
        })
    }

    /// Opens `path` on the site.
    pub async fn goto(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        if let Err(e) = self.client.goto(&url).await {
            panic!("cannot open {url}: {e}");
        }
    }

    /// Saves a picture of the window as the suite's next screenshot.
    pub async fn shot(&mut self, what: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let file = self.screenshots.next(what);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)
                .unwrap_or_else(|e| panic!("artifact directory {}: {e}", dir.display()));
        }
        std::fs::write(&file, png)
            .unwrap_or_else(|e| panic!("write screenshot {}: {e}", file.display()));
    }

    /// Waits for an element; on a timeout the panic names `what` and shows the page.
    pub async fn wait_for(&self, locator: Locator<'_>, what: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(self.wait)
            .for_element(locator)
            .await
        {
            Ok(e) => e,
            Err(e) => panic!(
                "{what} ({e}); page: {}",
                self.client.source().await.unwrap_or_default()
            ),
        }
    }

    /// The text of the element at `css`, once there is one.
    pub async fn text(&self, css: &str) -> String {
        self.wait_for(Locator::Css(css), css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }

    /// Replaces the value of the field at `css`, once there is one, with `value`.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.wait_for(Locator::Css(css), css).await;
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        field
            .send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Clicks the element at `css`, once there is one.
    pub async fn click(&self, css: &str) {
        self.wait_for(Locator::Css(css), css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Closes the session (Chromium exits) and stops chromedriver.
    pub async fn finish(mut self) {
        self.client.clone().close().await.expect("close browser");
        // Killing a driver that already exited is not a failure of the test.
        let _ = self.driver.kill().await;
    }
}

/// Reads chromedriver's output until it says it is ready, and returns the port it names.
async fn driver_ready(lines: &mut Lines<BufReader<ChildStdout>>) -> Result<u16, BrowserError> {
    while let Some(line) = lines
        .next_line()
        .await
        .map_err(|source| BrowserError::ReadDriver { source })?
    {
        if line.contains(DRIVER_READY) {
            return ready_port(&line).ok_or(BrowserError::DriverPort { line });
        }
    }
    Err(BrowserError::DriverExited)
}

/// The port in chromedriver's ready line.
fn ready_port(line: &str) -> Option<u16> {
    let (_, rest) = line.split_once(DRIVER_READY)?;
    rest.trim().trim_end_matches('.').parse().ok()
}

/// The first `program` on `PATH`.
fn on_path(program: &'static str) -> Result<PathBuf, BrowserError> {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(program))
                .find(|candidate| candidate.is_file())
        })
        .ok_or(BrowserError::NotInstalled { program })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_name(path: &std::path::Path) -> String {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    #[test]
    fn screenshots_are_numbered_in_order_under_the_suite() {
        let mut plain = Screenshots::for_suite("campaign");
        let first = plain.next("compose");
        assert!(first.ends_with("target/test-artifacts/campaign/01-compose.png"));
        assert_eq!(file_name(&plain.next("confirm")), "02-confirm.png");

        let mut named = Screenshots::for_suite("browser").named("member");
        assert_eq!(file_name(&named.next("signin")), "member-01-signin.png");
        assert_eq!(file_name(&named.next("empty")), "member-02-empty.png");
    }

    #[test]
    fn a_missing_program_is_named_with_how_to_install_it() {
        let error = on_path("textgate-no-such-browser").expect_err("not on PATH");
        assert_eq!(
            error.to_string(),
            "textgate-no-such-browser is not installed: apt-get install chromium chromium-driver"
        );
    }

    #[test]
    fn the_port_is_read_from_the_ready_line() {
        assert_eq!(
            ready_port("ChromeDriver was started successfully on port 41685."),
            Some(41685)
        );
        assert_eq!(
            ready_port("ChromeDriver was started successfully on port ."),
            None
        );
        assert_eq!(ready_port("Starting ChromeDriver 156.0 on port 0"), None);
    }
}
