//! Converse.js, the browser XMPP client, served for a Prosody with
//! [`ProsodySetup::websocket`](crate::prosody::ProsodySetup::websocket): the browser desk of
//! the demo and of the client tests.
//!
//! The files are the ones `npm ci` in `clients/converse` installs (the version its
//! `package.json` and lock file pin; `scripts/lib/env.sh` `ensure_converse` runs it), and
//! the page is `clients/converse/index.html` with its placeholders filled in. A
//! [`ConverseSite`] serves them on 127.0.0.1 the way a library's web server would in
//! production (docs/operations.md, "A browser desk"): the page at `/`, Converse.js under
//! `/dist/`, and `/xmpp-websocket` handed over, connection and all, to Prosody's
//! mod_websocket. The browser thus sees one origin, and the page names its own address.
//!
//! The server is small on purpose: `GET` of files only, one request per connection
//! (`Connection: close`), nothing outside `dist/`. It listens on a port the OS picked when it
//! bound the listener it keeps, so no other server can hold the port the page names.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::prosody::WEBSOCKET_PATH;

/// The page: `clients/converse/index.html`, with `@WEBSOCKET_URL@` and `@DOMAIN@` to fill.
pub const TEMPLATE: &str = include_str!("../../../clients/converse/index.html");

/// How long a browser may take to send a request's head.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest request head served; browsers send well under 2 KiB.
const MAX_HEAD: usize = 16 * 1024;

/// What went wrong setting up the browser desk.
#[derive(Debug, thiserror::Error)]
pub enum ConverseError {
    #[error(
        "Converse.js is not installed at {}: run `npm ci --prefix clients/converse` \
         (scripts/lib/env.sh ensure_converse does)",
        dist.display()
    )]
    NotInstalled { dist: PathBuf },
    #[error("{what} {value:?} cannot go into the page: it may not contain quotes, backslashes, `<` or line breaks")]
    Unquotable { what: &'static str, value: String },
    #[error("cannot listen for the browser desk on 127.0.0.1: {source}")]
    Listen { source: std::io::Error },
}

/// Where `npm ci` in `clients/converse` puts Converse.js's `dist/` in this checkout.
pub fn pinned_dist() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../clients/converse/node_modules/converse.js/dist")
}

/// The page for the XMPP server at `websocket_url` whose librarians' accounts are at
/// `domain`.
pub fn page(websocket_url: &str, domain: &str) -> Result<String, ConverseError> {
    for (what, value) in [("the WebSocket URL", websocket_url), ("the domain", domain)] {
        // Both go into single-quoted JavaScript strings in a <script> element.
        if value.contains(['\'', '"', '\\', '<', '\n', '\r']) {
            return Err(ConverseError::Unquotable {
                what,
                value: value.to_owned(),
            });
        }
    }
    Ok(TEMPLATE
        .replace("@WEBSOCKET_URL@", websocket_url)
        .replace("@DOMAIN@", domain))
}

/// Converse.js served on 127.0.0.1 for one Prosody; stops serving when dropped.
pub struct ConverseSite {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl ConverseSite {
    /// Serves Converse.js's `dist` and the page for accounts at `domain`, forwarding
    /// `/xmpp-websocket` to the HTTP listener `prosody_http` (Prosody's mod_websocket).
    pub async fn serve(
        dist: &Path,
        domain: &str,
        prosody_http: SocketAddr,
    ) -> Result<ConverseSite, ConverseError> {
        if !dist.join("converse.min.js").is_file() {
            return Err(ConverseError::NotInstalled {
                dist: dist.to_owned(),
            });
        }
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|source| ConverseError::Listen { source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ConverseError::Listen { source })?;
        let site = Site {
            page: page(&format!("ws://{addr}{WEBSOCKET_PATH}"), domain)?,
            dist: dist.to_owned(),
            prosody_http,
        };
        let task = tokio::spawn(site.run(listener));
        Ok(ConverseSite { addr, task })
    }

    /// The page's address, `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for ConverseSite {
    fn drop(&mut self) {
        // The connections' tasks live in the accept loop's JoinSet and end with it.
        self.task.abort();
    }
}

/// What the server serves.
struct Site {
    page: String,
    dist: PathBuf,
    prosody_http: SocketAddr,
}

impl Site {
    async fn run(self, listener: TcpListener) {
        let site = std::sync::Arc::new(self);
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let site = site.clone();
                        connections.spawn(async move { site.answer(stream).await });
                    }
                    // Out of descriptors, or a connection reset before it was accepted:
                    // the next one may work.
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                },
                // Reap finished connections so the set does not grow with every request.
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    }

    /// Answers one request; a browser that goes away mid-way is nobody's failure.
    async fn answer(&self, mut stream: TcpStream) {
        let Ok(Ok(Some(head))) =
            tokio::time::timeout(REQUEST_TIMEOUT, read_head(&mut stream)).await
        else {
            return;
        };
        let request = String::from_utf8_lossy(&head);
        let mut words = request.lines().next().unwrap_or_default().split(' ');
        let (method, target) = (words.next().unwrap_or_default(), words.next());
        let path = target
            .unwrap_or_default()
            .split(['?', '#'])
            .next()
            .unwrap_or_default();
        if path == WEBSOCKET_PATH {
            self.forward(stream, &head).await;
            return;
        }
        if method != "GET" && method != "HEAD" {
            let _ = respond(
                &mut stream,
                "405 Method Not Allowed",
                "text/plain",
                b"GET only\n",
                true,
            )
            .await;
            return;
        }
        let with_body = method == "GET";
        let (status, kind, body) = match path {
            "/" | "/index.html" => (
                "200 OK",
                "text/html; charset=utf-8",
                self.page.clone().into_bytes(),
            ),
            _ => match self.file(path).await {
                Some((kind, body)) => ("200 OK", kind, body),
                None => ("404 Not Found", "text/plain", b"not found\n".to_vec()),
            },
        };
        let _ = respond(&mut stream, status, kind, &body, with_body).await;
    }

    /// The file under `dist/` that `path` (`/dist/...`) names, with its media type; `None`
    /// for anything else, a path that climbs out included.
    async fn file(&self, path: &str) -> Option<(&'static str, Vec<u8>)> {
        let relative = Path::new(path.strip_prefix("/dist/")?);
        if !relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        {
            return None;
        }
        let body = tokio::fs::read(self.dist.join(relative)).await.ok()?;
        Some((media_type(relative), body))
    }

    /// Hands the connection to Prosody's HTTP listener as it came (the request head already
    /// read first), then copies both ways until either side closes: the WebSocket upgrade
    /// and every frame after it are Prosody's business.
    async fn forward(&self, mut browser: TcpStream, head: &[u8]) {
        let Ok(mut prosody) = TcpStream::connect(self.prosody_http).await else {
            let _ = respond(
                &mut browser,
                "502 Bad Gateway",
                "text/plain",
                b"Prosody does not answer\n",
                true,
            )
            .await;
            return;
        };
        if prosody.write_all(head).await.is_err() {
            return;
        }
        let _ = tokio::io::copy_bidirectional(&mut browser, &mut prosody).await;
    }
}

/// The request's head, up to and including the blank line; `None` when the browser closed
/// the connection first or the head is longer than [`MAX_HEAD`]. A `GET` has no body, and a
/// WebSocket client sends nothing more before the server's answer, so nothing read belongs
/// to what follows.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return Ok(None);
        }
        head.extend_from_slice(&buf[..n]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") {
            return Ok(Some(head));
        }
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    kind: &str,
    body: &[u8],
    with_body: bool,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    if with_body {
        stream.write_all(body).await?;
    }
    stream.shutdown().await
}

/// The media type of a file in Converse.js's `dist/`, by its extension. JavaScript must be
/// served as such: browsers refuse to run a module of any other type.
fn media_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("wasm") => "application/wasm",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("ttf") => "font/ttf",
        Some("woff2") => "font/woff2",
        Some("mp3") => "audio/mpeg",
        Some("ogg") => "audio/ogg",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prosody::{ProsodySetup, HOST};

    #[test]
    fn the_page_names_the_server_and_the_domain() {
        let page = page("wss://library.example/xmpp-websocket", "library.example").expect("page");
        assert!(page.contains("websocket_url: 'wss://library.example/xmpp-websocket',"));
        assert!(page.contains("default_domain: 'library.example',"));
        assert!(!page.contains("@WEBSOCKET_URL@") && !page.contains("@DOMAIN@"));
        let error = super::page("ws://x/'); alert(1); ('", "library.example").expect_err("quote");
        assert!(
            error.to_string().contains("may not contain quotes"),
            "{error}"
        );
    }

    #[test]
    fn javascript_is_served_as_javascript() {
        assert_eq!(
            media_type(Path::new("converse.min.js")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(media_type(Path::new("chunkjs/x.wasm")), "application/wasm");
    }

    /// A file inside `dist/`, one outside it, and `..` between them.
    #[tokio::test]
    async fn nothing_outside_dist_is_served() {
        let root = tempfile::tempdir().expect("tempdir");
        let dist = root.path().join("dist");
        std::fs::create_dir(&dist).expect("dist");
        std::fs::write(dist.join("converse.min.js"), "export default {};").expect("write");
        std::fs::write(root.path().join("secret.txt"), "keep out").expect("write");
        // No Prosody behind it: only files are asked for.
        let unused: SocketAddr = "127.0.0.1:9".parse().expect("addr");
        let site = ConverseSite::serve(&dist, HOST, unused)
            .await
            .expect("serve");

        let (status, body) = get(site.addr(), "/dist/converse.min.js").await;
        assert!(
            status.contains("200") && status.contains("text/javascript"),
            "{status}"
        );
        assert_eq!(body, "export default {};");
        let (status, body) = get(site.addr(), "/").await;
        assert!(status.contains("200"), "{status}");
        assert!(
            body.contains(&format!("ws://{}/xmpp-websocket", site.addr())),
            "{body}"
        );
        for path in [
            "/dist/../secret.txt",
            "/dist/%2e%2e/secret.txt",
            "/secret.txt",
            "/dist/missing.js",
        ] {
            let (status, body) = get(site.addr(), path).await;
            assert!(status.starts_with("HTTP/1.1 404"), "{path}: {status}");
            assert!(!body.contains("keep out"), "{path}");
        }
    }

    /// The WebSocket path reaches Prosody's mod_websocket, which answers the upgrade.
    #[tokio::test]
    async fn the_websocket_path_reaches_prosody() {
        let prosody = ProsodySetup::new()
            .websocket()
            .start()
            .await
            .expect("Prosody starts");
        let http = prosody.http_port.expect("an HTTP port");
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::write(root.path().join("converse.min.js"), "").expect("write");
        let site = ConverseSite::serve(root.path(), HOST, ([127, 0, 0, 1], http).into())
            .await
            .expect("serve");

        let mut stream = TcpStream::connect(site.addr()).await.expect("connect");
        let upgrade = format!(
            "GET {WEBSOCKET_PATH} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n",
            site.addr()
        );
        stream.write_all(upgrade.as_bytes()).await.expect("write");
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, read_head(&mut stream))
            .await
            .expect("Prosody answers in time")
            .expect("read")
            .expect("a whole head");
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 101"),
            "{answer}\n{}",
            prosody.log()
        );
        // RFC 6455's example key and its accept value.
        assert!(answer.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{answer}");
    }

    /// The status line (with the headers) and the body of `GET path`.
    async fn get(addr: SocketAddr, path: &str) -> (String, String) {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
            .await
            .expect("write");
        let mut response = String::new();
        tokio::time::timeout(REQUEST_TIMEOUT, stream.read_to_string(&mut response))
            .await
            .expect("an answer in time")
            .expect("read");
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        (head.to_owned(), body.to_owned())
    }
}
