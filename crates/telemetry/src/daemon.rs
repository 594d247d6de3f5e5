//! [`Telemetry`]: everything above started in one call, for `textgate run`.

use std::net::SocketAddr;
use std::time::Duration;

use crate::http::{serve, ServeError, Serving};
use crate::{router, Metrics, Readiness, SystemdNotifier};

/// The daemon's metrics, readiness, HTTP endpoints and systemd notifier, started together.
#[derive(Debug)]
pub struct Telemetry {
    /// Clone into each gateway's runtime.
    pub metrics: Metrics,
    /// Clone into each gateway's runtime.
    pub readiness: Readiness,
    http: Serving,
    systemd: SystemdNotifier,
}

impl Telemetry {
    /// Registers every configured gateway (so one that fails to start still shows as not
    /// ready), serves `/metrics`, `/healthz` and `/readyz` on `listen`, and starts the
    /// systemd notifier with the given grace period ([`crate::DEFAULT_READY_GRACE`]).
    pub async fn start<'a>(
        listen: SocketAddr,
        gateways: impl IntoIterator<Item = &'a str>,
        ready_grace: Duration,
    ) -> Result<Telemetry, ServeError> {
        let metrics = Metrics::new();
        let readiness = Readiness::new(metrics.clone());
        for gateway in gateways {
            metrics.register_gateway(gateway);
            readiness.register_gateway(gateway);
        }
        let http = serve(listen, router(metrics.clone(), readiness.clone())).await?;
        let systemd = SystemdNotifier::spawn(readiness.clone(), ready_grace);
        Ok(Telemetry {
            metrics,
            readiness,
            http,
            systemd,
        })
    }

    /// Where the endpoints are served (the real port when `listen` asked for port 0).
    pub fn http_address(&self) -> SocketAddr {
        self.http.address
    }

    /// Shutdown has begun: tell systemd (`STOPPING=1`). The endpoints keep answering until
    /// this value is dropped, so `/readyz` can report the gateways going down.
    pub fn stopping(&mut self) {
        self.systemd.stopping();
    }
}
