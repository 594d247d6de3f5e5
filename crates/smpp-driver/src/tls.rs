//! TLS towards the SMSC (SMPP over TLS, as aggregators offer it on a port of its own):
//! rustls with the public web roots, plus the certificate authorities of a configured PEM
//! file for an aggregator with a private CA. The certificate must name the SMSC's host (or
//! the configured server name); there is no way to turn verification off.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use crate::config::{SmppConfig, TlsSettings};

/// The client configuration for `tls`; fails when the CA file cannot be read.
pub fn client_config(tls: &TlsSettings) -> Result<ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &tls.ca_file {
        let certificates = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
        let mut added = 0;
        for certificate in certificates {
            let certificate = certificate
                .map_err(|e| format!("the CA file {} is not PEM: {e}", path.display()))?;
            roots
                .add(certificate)
                .map_err(|e| format!("a certificate in {} is unusable: {e}", path.display()))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!(
                "the CA file {} holds no certificate",
                path.display()
            ));
        }
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Wraps a connected socket in TLS, checking the SMSC's certificate.
pub async fn wrap(
    tcp: TcpStream,
    config: &SmppConfig,
    tls: &TlsSettings,
    limit: Duration,
) -> Result<TlsStream<TcpStream>, String> {
    let client = client_config(tls)?;
    let name = tls
        .server_name
        .clone()
        .unwrap_or_else(|| config.host().to_owned());
    let server_name = ServerName::try_from(name.clone())
        .map_err(|e| format!("{name:?} cannot name a TLS server: {e}"))?;
    timeout(
        limit,
        TlsConnector::from(Arc::new(client)).connect(server_name, tcp),
    )
    .await
    .map_err(|_| {
        format!(
            "the TLS handshake with {} took longer than {limit:?}",
            config.address
        )
    })?
    .map_err(|e| format!("TLS with {} failed: {e}", config.address))
}
