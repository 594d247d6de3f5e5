//! The TCP transport, for network-attached modems and for tests: one host at a time, like
//! a serial port; the next connection is served when the current one closes.

use tokio::net::TcpListener;

use crate::sim::SimHandle;

/// Accepts and serves connections for ever. During an outage
/// ([`SimHandle::disconnect`]) new connections are accepted and closed at once.
pub async fn serve_tcp(handle: SimHandle, listener: TcpListener) -> std::io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        if handle.in_outage() {
            tracing::debug!(%peer, "connection refused during an outage");
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        tracing::info!(%peer, "host connected");
        match handle.serve(stream).await {
            Ok(()) => tracing::info!(%peer, "host disconnected"),
            Err(e) => tracing::info!(%peer, error = %e, "connection failed"),
        }
    }
}
