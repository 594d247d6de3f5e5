//! The byte streams a driver talks over, and how they are (re)opened.
//!
//! A USB modem can vanish and come back (after a USB reset its `/dev/ttyUSB2` may become
//! `/dev/ttyUSB5`), so the driver never holds a device path's file handle for good: it
//! asks its [`PortOpener`] for a fresh stream each time. Configure serial modems by their
//! stable `/dev/serial/by-id/usb-...-if02-port0` path, which follows the device.

use std::io;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWrite};

/// Any bidirectional byte stream: a serial device, a TCP socket, a test's in-memory pipe.
pub trait Port: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Port for T {}

pub type BoxPort = Box<dyn Port>;

/// Opens the device, again and again.
#[async_trait]
pub trait PortOpener: Send + Sync + 'static {
    async fn open(&self) -> io::Result<BoxPort>;

    /// The device in words, for logs (`/dev/serial/by-id/...`, `modem.lan:2000`).
    fn describe(&self) -> String;
}

/// A serial device (USB modem, phone AT port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialDevice {
    /// Prefer `/dev/serial/by-id/...`: ttyUSB numbers change after a USB reset.
    pub path: String,
    /// Ignored by USB CDC-ACM devices, used by real UARTs. 115200 is the common default.
    pub baud_rate: u32,
}

#[async_trait]
impl PortOpener for SerialDevice {
    async fn open(&self) -> io::Result<BoxPort> {
        use tokio_serial::SerialPortBuilderExt;
        let stream = tokio_serial::new(&self.path, self.baud_rate)
            .open_native_async()
            .map_err(|e| {
                io::Error::other(format!("cannot open serial device {}: {e}", self.path))
            })?;
        Ok(Box::new(stream))
    }

    fn describe(&self) -> String {
        self.path.clone()
    }
}

/// A modem (or the simulator) reachable over TCP, `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpAddress(pub String);

#[async_trait]
impl PortOpener for TcpAddress {
    async fn open(&self) -> io::Result<BoxPort> {
        let stream = tokio::net::TcpStream::connect(&self.0).await?;
        stream.set_nodelay(true)?;
        Ok(Box::new(stream))
    }

    fn describe(&self) -> String {
        format!("tcp://{}", self.0)
    }
}

/// An opener from a closure, for devices found some other way (a pseudo-terminal path
/// read from a simulator, a device looked up by serial number after each USB reset).
pub struct OpenWith<F> {
    description: String,
    open: F,
}

impl<F, Fut> OpenWith<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = io::Result<BoxPort>> + Send + 'static,
{
    pub fn new(description: impl Into<String>, open: F) -> OpenWith<F> {
        OpenWith {
            description: description.into(),
            open,
        }
    }
}

#[async_trait]
impl<F, Fut> PortOpener for OpenWith<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = io::Result<BoxPort>> + Send + 'static,
{
    async fn open(&self) -> io::Result<BoxPort> {
        (self.open)().await
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

/// Chooses TCP for `tcp://host:port` or `host:port`, a serial device otherwise.
pub fn opener_for(device: &str, baud_rate: u32) -> Box<dyn PortOpener> {
    if let Some(address) = device.strip_prefix("tcp://") {
        return Box::new(TcpAddress(address.to_owned()));
    }
    let looks_like_address = !device.starts_with('/')
        && device
            .rsplit_once(':')
            .is_some_and(|(_, port)| port.parse::<u16>().is_ok());
    if looks_like_address {
        Box::new(TcpAddress(device.to_owned()))
    } else {
        Box::new(SerialDevice {
            path: device.to_owned(),
            baud_rate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closure_opens_a_fresh_port_each_time() {
        use std::sync::atomic::{AtomicU32, Ordering};
        use std::sync::Arc;
        let opened = Arc::new(AtomicU32::new(0));
        let counter = opened.clone();
        let opener = OpenWith::new("pipe", move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let (ours, _theirs) = tokio::io::duplex(64);
                Ok::<BoxPort, io::Error>(Box::new(ours))
            }
        });
        assert!(opener.open().await.is_ok());
        assert!(opener.open().await.is_ok());
        assert_eq!(
            (opened.load(Ordering::SeqCst), opener.describe()),
            (2, "pipe".to_owned())
        );
    }

    #[test]
    fn device_strings_choose_the_transport() {
        let described: Vec<String> = [
            "/dev/serial/by-id/usb-Quectel-if02-port0",
            "tcp://127.0.0.1:7001",
            "modem.lan:2000",
            "COM3",
        ]
        .into_iter()
        .map(|d| opener_for(d, 115_200).describe())
        .collect();
        assert_eq!(
            described,
            [
                "/dev/serial/by-id/usb-Quectel-if02-port0",
                "tcp://127.0.0.1:7001",
                "tcp://modem.lan:2000",
                "COM3"
            ]
        );
    }
}
