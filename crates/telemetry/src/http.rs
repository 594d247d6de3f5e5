//! The health and metrics endpoints, as an axum router to serve on its own or merge into
//! the web console's router.
//!
//! - `GET /metrics`: every series, OpenMetrics text format.
//! - `GET /healthz`: `200 ok` while the process can answer at all (liveness: restart the
//!   daemon if this fails).
//! - `GET /readyz`: `200` when every gateway's component is connected and its modem is
//!   ready, `503` otherwise; the body has one line per gateway saying which side is down
//!   (readiness: alert or route traffic away, but don't restart for it: a modem without
//!   signal is not cured by a restart).

use std::net::SocketAddr;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::metrics::CONTENT_TYPE;
use crate::{Metrics, Readiness};

#[derive(Clone)]
struct Endpoints {
    metrics: Metrics,
    readiness: Readiness,
}

/// `/metrics`, `/healthz` and `/readyz` over the given handles.
pub fn router(metrics: Metrics, readiness: Readiness) -> Router {
    Router::new()
        .route("/metrics", get(serve_metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(serve_readiness))
        .with_state(Endpoints { metrics, readiness })
}

async fn serve_metrics(State(endpoints): State<Endpoints>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        endpoints.metrics.encode(),
    )
}

async fn serve_readiness(State(endpoints): State<Endpoints>) -> impl IntoResponse {
    let gateways = endpoints.readiness.snapshot();
    let ready = endpoints.readiness.is_ready();
    let mut body = String::from(if ready { "ready\n" } else { "not ready\n" });
    if gateways.is_empty() {
        body.push_str("no gateway has started\n");
    }
    for (name, state) in &gateways {
        body.push_str(&format!("{name}: {state}\n"));
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
}

/// Why the HTTP listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address is taken, not local, or needs privileges.
    #[error("cannot listen on {address} (http.listen): {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// A running HTTP listener. Dropping it stops serving.
#[derive(Debug)]
pub struct Serving {
    /// The address it listens on (the port the kernel chose, for `:0`).
    pub address: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `listen` and serves `router` on it in a background task (on the current tokio
/// runtime). Binding happens before this returns, so a taken port is an error here, at
/// start-up, rather than a log line later.
pub async fn serve(listen: SocketAddr, router: Router) -> Result<Serving, ServeError> {
    let bind_error = |source| ServeError::Bind {
        address: listen,
        source,
    };
    let listener = TcpListener::bind(listen).await.map_err(bind_error)?;
    let address = listener.local_addr().map_err(bind_error)?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(%address, error = %e, "the HTTP listener stopped");
        }
    });
    Ok(Serving { address, task })
}
