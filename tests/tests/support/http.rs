//! A minimal HTTP/1.1 client for the daemon's own endpoints (`/metrics`, `/readyz`,
//! `/signin`): one request per connection, `Connection: close`, the whole answer read.
//! Enough for tests of a server we wrote; not a general client.

use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::daemon::{Daemon, WAIT};

/// A response: the status code, the raw header block and the body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

/// Sends one request; `extra` are header lines ending in `\r\n`.
pub async fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    extra: &str,
    body: &str,
) -> Response {
    let exchange = async {
        let mut stream = TcpStream::connect(address).await.expect("connecting");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
             Content-Length: {}\r\n{extra}\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.expect("writing");
        stream.write_all(body.as_bytes()).await.expect("writing");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("reading");
        raw
    };
    let raw = tokio::time::timeout(WAIT, exchange)
        .await
        .unwrap_or_else(|_| panic!("no answer to {method} {path} within {WAIT:?}"));
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (headers, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {text:?}"));
    let status = headers
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {headers:?}"));
    Response {
        status,
        headers: headers.to_owned(),
        body: dechunk(headers, body),
    }
}

pub async fn get(address: SocketAddr, path: &str) -> Response {
    request(address, "GET", path, "", "").await
}

/// Undoes `Transfer-Encoding: chunked`, which hyper uses for bodies of unknown length.
fn dechunk(headers: &str, body: &str) -> String {
    if !headers
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return body.to_owned();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// The address the daemon's HTTP listener is on, from its start-up log line.
pub async fn address(daemon: &mut Daemon) -> SocketAddr {
    let line = daemon.expect_log(&["http listening"]).await;
    let start = line
        .find("\"address\":\"")
        .map(|at| at + "\"address\":\"".len())
        .unwrap_or_else(|| panic!("no address in {line}"));
    line[start..]
        .split('"')
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line}"))
}

/// The value of one series in a `/metrics` answer, e.g.
/// `textgate_texts_in_total{gateway="library"}`; absent counts as 0.
pub fn series(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Waits until `/readyz` answers 200, asking again each time the daemon logs a line (the
/// runtime updates readiness before it logs the event that changed it), for at most
/// [`WAIT`].
pub async fn wait_ready(daemon: &Daemon, address: SocketAddr) -> Response {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut last;
    loop {
        let mut logged = daemon.next_line();
        last = get(address, "/readyz").await;
        if last.status == 200 {
            return last;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "/readyz still {} after {WAIT:?}: {}",
                last.status, last.body
            );
        }
        let _ = tokio::time::timeout_at(deadline, logged.changed()).await;
    }
}

/// One request to the JSON API with the administrator's token; the answer as JSON.
pub async fn api(
    address: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    body: &Value,
) -> Value {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let response = request(
        address,
        method,
        path,
        &format!("Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"),
        &body,
    )
    .await;
    assert!(
        (200..300).contains(&response.status),
        "{method} {path}: {} {}",
        response.status,
        response.body
    );
    serde_json::from_str(&response.body).expect("a JSON answer")
}
