//! The listener and its connections. Served with hyper directly rather than
//! `axum::serve`, because the offline fault must close a connection without any HTTP
//! answer: the service fails the request, and hyper then drops the connection unanswered,
//! which a client sees as a connection error, as with a phone that left the network.

use std::sync::Arc;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::config::ControlApi;
use crate::state::Shared;

/// The service's failure while offline; hyper closes the connection on it.
#[derive(Debug, thiserror::Error)]
#[error("the simulated phone is offline")]
struct Offline;

/// Accepts connections until shutdown.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    shared: Arc<Shared>,
    control: ControlApi,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shared.stopped() => return,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // Per-connection failures (e.g. the peer reset before accept); the
                // listener itself stays usable.
                tracing::debug!(error = %e, "accept failed");
                continue;
            }
        };
        let router = router.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = {
                let shared = shared.clone();
                service_fn(move |request: hyper::Request<Incoming>| {
                    let router = router.clone();
                    let shared = shared.clone();
                    async move {
                        let is_control = control == ControlApi::On
                            && request.uri().path().starts_with("/control/");
                        if shared.lock().faults.offline && !is_control {
                            return Err(Offline);
                        }
                        match router.oneshot(request.map(axum::body::Body::new)).await {
                            Ok(response) => Ok(response),
                            Err(never) => match never {},
                        }
                    }
                })
            };
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                result = connection => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended");
                    }
                }
                _ = shared.stopped() => {}
            }
        });
    }
}
