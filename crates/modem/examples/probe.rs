//! Asks a modem what it is: `cargo run -p textgate-modem --example probe -- DEVICE`, where
//! DEVICE is a serial path (prefer `/dev/serial/by-id/...`) or `host:port` for a network
//! modem or the simulator. The same report as `textgate modem probe`.

use textgate_modem::{probe_device, Timeouts};

#[tokio::main]
async fn main() {
    let Some(device) = std::env::args().nth(1) else {
        eprintln!("usage: probe DEVICE   (a serial path or host:port)");
        std::process::exit(2);
    };
    match probe_device(&device, 115_200, Timeouts::default()).await {
        Ok(status) => println!("{status}"),
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(1);
        }
    }
}
