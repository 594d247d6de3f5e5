//! HTTP requests to the phone (local mode) or to the SMSGate server (cloud or private):
//! basic auth, a timeout on every request, and answers read whole (they are small JSON).

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The largest answer read from the phone; its answers are a few hundred bytes.
const MAX_ANSWER: usize = 256 * 1024;

/// An HTTP answer: its status and body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestFailure {
    /// No connection could be made (the phone is off, asleep, or off the network): the
    /// request certainly did not arrive.
    #[error("cannot reach {0}")]
    Unreachable(String),
    /// The request may have arrived, but no answer came in time or the connection broke.
    #[error("no answer from {url} within {timeout:?}")]
    NoAnswer { url: String, timeout: Duration },
    #[error("the answer from {url} could not be read: {reason}")]
    Unreadable { url: String, reason: String },
    #[error("{0} is not a URL textgate can request")]
    BadUrl(String),
}

/// A client for one API base URL.
#[derive(Clone)]
pub struct PhoneClient {
    base: String,
    authorization: String,
    timeout: Duration,
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for PhoneClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The authorization header holds the password.
        f.debug_struct("PhoneClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl PhoneClient {
    pub fn new(base: &str, username: &str, password: &str, timeout: Duration) -> PhoneClient {
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        PhoneClient {
            base: base.trim_end_matches('/').to_owned(),
            authorization: format!("Basic {credentials}"),
            timeout,
            http: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    pub async fn get(&self, path: &str) -> Result<Answer, RequestFailure> {
        self.request("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: Vec<u8>) -> Result<Answer, RequestFailure> {
        self.request("POST", path, Some(body)).await
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, RequestFailure> {
        let url = format!("{}{path}", self.base);
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(&url)
            .header(hyper::header::AUTHORIZATION, &self.authorization)
            .header(hyper::header::ACCEPT, "application/json");
        if body.is_some() {
            builder = builder.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let request = builder
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|_| RequestFailure::BadUrl(url.clone()))?;
        let no_answer = || RequestFailure::NoAnswer {
            url: url.clone(),
            timeout: self.timeout,
        };
        let response = match tokio::time::timeout(self.timeout, self.http.request(request)).await {
            Err(_) => return Err(no_answer()),
            Ok(Err(e)) if e.is_connect() => return Err(RequestFailure::Unreachable(url)),
            Ok(Err(_)) => return Err(no_answer()),
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        let read = Limited::new(response.into_body(), MAX_ANSWER).collect();
        let body = match tokio::time::timeout(self.timeout, read).await {
            Err(_) => return Err(no_answer()),
            Ok(Err(e)) => {
                return Err(RequestFailure::Unreadable {
                    url,
                    reason: e.to_string(),
                })
            }
            Ok(Ok(collected)) => collected.to_bytes(),
        };
        Ok(Answer { status, body })
    }
}
