//! `textgate send`: puts one text in a gateway's outbox, checked the way the daemon checks
//! an operator's reply (the number read with the gateway's default region, at most its
//! `max_parts` SMS). The running daemon sends it; this command talks to no modem.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use textgate::config::{process_environment, Config, GatewayConfig, DEFAULT_CONFIG_PATH};
use textgate::exit::{mark, ExitStatusExt, Status};
use textgate_core::{PatronAddress, Region};
use textgate_gsm::segment::TextEncoding;
use textgate_store::{DeliveryReceipt, Insertion, NewOutbound, OutboundOrigin, Priority, Store};

use crate::migrate_cmd::{said_once, without_password};

/// The sender recorded for texts queued from the command line. It is not a JID with a
/// user, so the daemon tells no operator about the text's fate.
const SENDER: &str = "textgate-send";

/// Arguments of `textgate send`.
#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// The configuration file; its `[database] url` names the outbox.
    #[arg(long, short, value_name = "PATH", env = "TEXTGATE_CONFIG", default_value = DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
    /// The `[[gateway]]` whose modem sends the text (its `name`).
    #[arg(long, value_name = "NAME")]
    pub gateway: String,
    /// The recipient: international (+44 7700 900123), or national in the gateway's
    /// default_region, or a short code.
    #[arg(value_name = "NUMBER", allow_hyphen_values = true)]
    pub number: String,
    /// The text to send.
    #[arg(value_name = "TEXT")]
    pub text: String,
}

pub fn run(args: &SendArgs) -> anyhow::Result<()> {
    let loaded = Config::load(&args.config, &process_environment()).or_exit(Status::BadInput)?;
    let gateway = find_gateway(&loaded.config, &args.gateway)?;
    let region: Region = gateway
        .default_region
        .parse()
        .with_context(|| format!("gateway {}: default_region", gateway.name))
        .or_exit(Status::BadInput)?;
    let recipient = PatronAddress::from_dialled(&args.number, region)
        .with_context(|| format!("the recipient (read with region {region})"))
        .or_exit(Status::BadInput)?;
    // The same segmentation as the daemon's, so the count printed is the count sent.
    let segmented = gateway
        .segmenter()
        .segment(&args.text, 0)
        .with_context(|| {
            format!(
                "too long for gateway {} (max_parts = {})",
                gateway.name, gateway.max_parts
            )
        })
        .or_exit(Status::BadInput)?;
    let text = NewOutbound {
        gateway: gateway.name.clone(),
        recipient: recipient.as_str().to_owned(),
        origin: OutboundOrigin::Chat {
            sender_jid: SENDER.to_owned(),
            xmpp_id: generated_id(),
            receipt: DeliveryReceipt::NotRequested,
        },
        body: args.text.clone(),
        priority: Priority::CHAT,
        not_before: None,
    };
    let url = loaded.config.database.url.expose().to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .or_exit(Status::Failure)?;
    let insertion = runtime.block_on(async {
        let store = Store::open(&url)
            .await
            .map_err(said_once)
            .with_context(|| format!("opening the database {}", without_password(&url)))
            .or_exit(Status::Failure)?;
        let insertion = store
            .enqueue_outbound(&text)
            .await
            .map_err(said_once)
            .context("putting the text in the outbox")
            .or_exit(Status::Failure)?;
        store.close().await;
        anyhow::Ok(insertion)
    })?;
    let id = match insertion {
        Insertion::New(id) | Insertion::Duplicate(id) => id,
    };
    let parts = segmented.parts.len();
    println!(
        "queued as outbox id {id} for {recipient} on gateway {}: {parts} SMS {}, {}",
        gateway.name,
        if parts == 1 { "part" } else { "parts" },
        encoding_words(segmented.encoding),
    );
    println!("the running daemon (textgate run) sends it; nothing is sent while it is stopped");
    Ok(())
}

fn find_gateway<'c>(config: &'c Config, name: &str) -> anyhow::Result<&'c GatewayConfig> {
    config
        .gateways
        .iter()
        .find(|g| g.name == name)
        .ok_or_else(|| {
            let known: Vec<&str> = config.gateways.iter().map(|g| g.name.as_str()).collect();
            mark(
                Status::BadInput,
                anyhow::anyhow!(
                    "no gateway named {name:?} in the configuration (gateways: {})",
                    known.join(", ")
                ),
            )
        })
}

fn encoding_words(encoding: TextEncoding) -> &'static str {
    match encoding {
        TextEncoding::Gsm7(_) => "GSM 7-bit",
        TextEncoding::Ucs2 => "UCS-2",
    }
}

/// A fresh id for the text's idempotency key: every invocation is a new text, and a
/// clock in nanoseconds with the process id does not repeat between invocations.
fn generated_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("cli-{nanos}-{}", std::process::id())
}
