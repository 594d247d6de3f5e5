//! Recording that texts were sent, several to one transaction: when many sends finish
//! together (a message centre answers a window of them in milliseconds), each
//! `mark_sent` of its own would cost a durable commit per text, and the disk, not the
//! network, would set the pace. The workers of a gateway hand their completions to one
//! task, which records whatever has gathered since its last commit in one
//! [`Store::mark_sent_many`]; a lone completion is recorded at once, so a modem's reply
//! waits for nothing.

use textgate_store::{Lease, OutboundState, SentPart, Store, StoreError};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

/// The most completions one transaction records.
const MOST_AT_ONCE: usize = 256;

type Answer = oneshot::Sender<Result<OutboundState, StoreError>>;

/// Where a worker records a finished send.
#[derive(Clone)]
pub struct Completions {
    store: Store,
    gathered: Option<mpsc::UnboundedSender<(Lease, Vec<SentPart>, Answer)>>,
}

impl Completions {
    /// Each completion its own transaction: for a worker that sends one text at a time.
    pub fn direct(store: Store) -> Completions {
        Completions {
            store,
            gathered: None,
        }
    }

    /// Completions gathered by a task of their own (it ends when the last clone is gone).
    pub fn gathered(store: Store) -> Completions {
        let (gathered, mut requests) = mpsc::unbounded_channel();
        let recorder = store.clone();
        // In the caller's span (the gateway's), so its lines name the gateway.
        tokio::spawn(
            async move {
                while let Some(first) = requests.recv().await {
                    let mut batch = vec![first];
                    while batch.len() < MOST_AT_ONCE {
                        match requests.try_recv() {
                            Ok(next) => batch.push(next),
                            Err(_) => break,
                        }
                    }
                    record(&recorder, batch).await;
                }
            }
            .instrument(tracing::Span::current()),
        );
        Completions {
            store,
            gathered: Some(gathered),
        }
    }

    /// [`Store::mark_sent`], perhaps in one transaction with other workers' completions.
    pub async fn mark_sent(
        &self,
        lease: &Lease,
        parts: Vec<SentPart>,
    ) -> Result<OutboundState, StoreError> {
        let Some(gathered) = &self.gathered else {
            return self.store.mark_sent(lease, &parts).await;
        };
        let (answer, answered) = oneshot::channel();
        if gathered
            .send((lease.clone(), parts.clone(), answer))
            .is_err()
        {
            // The recording task is gone (the gateway is stopping): record it here.
            return self.store.mark_sent(lease, &parts).await;
        }
        match answered.await {
            Ok(result) => result,
            Err(_) => self.store.mark_sent(lease, &parts).await,
        }
    }
}

async fn record(store: &Store, batch: Vec<(Lease, Vec<SentPart>, Answer)>) {
    let texts: Vec<(Lease, Vec<SentPart>)> = batch
        .iter()
        .map(|(lease, parts, _)| (lease.clone(), parts.clone()))
        .collect();
    match store.mark_sent_many(&texts).await {
        Ok(results) => {
            for ((_, _, answer), result) in batch.into_iter().zip(results) {
                // A worker that stopped waiting no longer needs the answer.
                let _ = answer.send(result);
            }
        }
        Err(error) => {
            // Nothing was recorded. Each text tries alone, so each gets its own answer
            // (the database may be back, or say exactly what is wrong with one of them).
            tracing::warn!(texts = batch.len(), %error, "recording sent texts together failed; one by one");
            for (lease, parts, answer) in batch {
                let result = store.mark_sent(&lease, &parts).await;
                let _ = answer.send(result);
            }
        }
    }
}
