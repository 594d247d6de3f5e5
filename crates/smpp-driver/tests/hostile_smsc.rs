//! A message centre that sends what no SMSC should: a command nobody knows, an answer to a
//! request never made, then a length no PDU can have. The driver answers the first with
//! `generic_nack`, ignores the second, drops the connection on the third and binds again;
//! nothing panics and a send afterwards works. The SMSC is the test's own listener (it
//! holds its port for the whole test), speaking through `textgate-smpp`'s codec.

use std::time::Duration;

use textgate_gsm::pdu::Address as GsmAddress;
use textgate_gsm::segment::{Segmenter, SegmenterConfig, SubmitOptions};
use textgate_modem::{HealthChange, ModemEvent, OutgoingSms, SmsDriver};
use textgate_smpp::{Body, CommandId, CommandStatus, Framer, Pdu};
use textgate_smpp_driver::{SmppConfig, SmppDriver};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(20);

/// Reads PDUs from the driver.
struct Peer {
    stream: TcpStream,
    framer: Framer,
}

impl Peer {
    async fn accept(listener: &TcpListener) -> Peer {
        let (stream, _) = timeout(WAIT, listener.accept())
            .await
            .expect("the driver connects")
            .expect("accepts");
        Peer {
            stream,
            framer: Framer::new(70_000),
        }
    }

    async fn read(&mut self) -> Pdu {
        loop {
            if let Some(frame) = self.framer.next_frame().expect("the driver frames well") {
                return Pdu::decode(&frame).expect("the driver's PDUs decode");
            }
            let mut buffer = [0u8; 4096];
            let n = timeout(WAIT, self.stream.read(&mut buffer))
                .await
                .expect("the driver writes")
                .expect("reads");
            assert!(n > 0, "the driver closed the connection");
            self.framer.push(&buffer[..n]);
        }
    }

    async fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("writes");
    }

    /// Reads the bind and accepts it.
    async fn bind(&mut self) {
        let bind = self.read().await;
        let Body::Bind(request) = &bind.body else {
            panic!("expected a bind, got {bind:?}");
        };
        let answer = Pdu::new(
            bind.sequence,
            Body::BindResp {
                kind: request.kind,
                system_id: b"hostile".to_vec(),
                tlvs: Vec::new(),
            },
        );
        self.write(&answer.encode()).await;
    }
}

fn message(text: &str) -> OutgoingSms {
    let pdus = Segmenter::new(SegmenterConfig::default())
        .segment(text, 1)
        .expect("segments")
        .submit_pdus(
            &GsmAddress::from_number("+15551234567").expect("number"),
            &SubmitOptions::default(),
        );
    OutgoingSms::from_pdus("+15551234567", text, &pdus).expect("encodes")
}

async fn health(events: &mut textgate_modem::ModemEvents, wanted: fn(&HealthChange) -> bool) {
    loop {
        let event = timeout(WAIT, events.recv())
            .await
            .expect("health in time")
            .expect("the driver runs");
        if let ModemEvent::Health(change) = event {
            if wanted(&change) {
                return;
            }
        }
    }
}

#[tokio::test]
async fn nonsense_from_the_smsc_is_refused_or_reconnected_never_fatal() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("an address");
    let mut config = SmppConfig::new(address.to_string(), "textgate", "secret");
    config.reconnect_initial = Duration::from_millis(50);
    let (driver, mut events) = SmppDriver::spawn(config).expect("starts");
    let mut peer = Peer::accept(&listener).await;
    peer.bind().await;
    health(&mut events, |h| matches!(h, HealthChange::Ready { .. })).await;

    // A command SMPP 3.4 does not have: generic_nack with its sequence number.
    let unknown = Pdu::new(
        77,
        Body::Other {
            command_id: CommandId(0x0000_0999),
            body: vec![1, 2, 3],
        },
    );
    peer.write(&unknown.encode()).await;
    let nack = peer.read().await;
    assert_eq!(nack.body, Body::GenericNack);
    assert_eq!(nack.sequence, 77);
    assert_eq!(nack.status, CommandStatus::INVALID_COMMAND_ID);

    // An answer to nothing: ignored, the link goes on (an enquire_link still works).
    peer.write(
        &Pdu::new(
            4242,
            Body::SubmitSmResp {
                message_id: b"X".to_vec(),
            },
        )
        .encode(),
    )
    .await;

    // A length no PDU can have: the stream cannot be trusted; the driver reconnects.
    peer.write(&[0, 0, 0, 3, 0, 0, 0, 1]).await;
    health(&mut events, |h| {
        matches!(h, HealthChange::Disconnected { .. })
    })
    .await;
    let mut again = Peer::accept(&listener).await;
    again.bind().await;
    health(&mut events, |h| matches!(h, HealthChange::Ready { .. })).await;

    // And it still sends.
    let sending = tokio::spawn({
        let driver = driver.clone();
        async move { driver.send(message("still here")).await }
    });
    let submit = again.read().await;
    assert!(matches!(submit.body, Body::SubmitSm(_)), "{submit:?}");
    again
        .write(
            &Pdu::new(
                submit.sequence,
                Body::SubmitSmResp {
                    message_id: b"OK-1".to_vec(),
                },
            )
            .encode(),
        )
        .await;
    let references = timeout(WAIT, sending)
        .await
        .expect("answered")
        .expect("joins")
        .expect("sent");
    assert_eq!(references[0].as_str(), "OK-1");
}
