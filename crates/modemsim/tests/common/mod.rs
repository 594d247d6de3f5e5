//! What the integration tests share: a host that speaks raw AT bytes over any stream and
//! waits for answers with a deadline (never a sleep).

#![allow(dead_code)]

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How long any single answer may take before a test fails.
pub const ANSWER: Duration = Duration::from_secs(10);

/// SMS-SUBMIT "Hello World!" to +27820001111 (sms-facts vector 4): 24 TPDU octets.
pub const SUBMIT_HELLO: &str = "0001000B917228001011F100000CC8329BFD065DDF72363904";
/// The same with TP-SRR (status report requested).
pub const SUBMIT_HELLO_SRR: &str = "0021000B917228001011F100000CC8329BFD065DDF72363904";

pub struct Host<S> {
    stream: S,
    pending: Vec<u8>,
}

/// Where `needle` starts in `haystack` (bytes, so line noise cannot shift positions).
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The end of the first final result code (or `> ` prompt) in `text`, if any.
fn final_result_end(text: &[u8]) -> Option<usize> {
    let mut best: Option<usize> = None;
    let mut consider = |end: usize| best = Some(best.map_or(end, |b: usize| b.min(end)));
    for needle in ["\r\nOK\r\n", "\r\nERROR\r\n", "\r\n> "] {
        if let Some(at) = find(text, needle.as_bytes()) {
            consider(at + needle.len());
        }
    }
    for prefix in ["+CMS ERROR: ", "+CME ERROR: "] {
        if let Some(at) = find(text, prefix.as_bytes()) {
            if let Some(eol) = text.get(at..).and_then(|rest| find(rest, b"\r\n")) {
                consider(at + eol + 2);
            }
        }
    }
    best
}

impl<S: AsyncRead + AsyncWrite + Unpin> Host<S> {
    pub fn new(stream: S) -> Host<S> {
        Host {
            stream,
            pending: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &str) {
        self.stream
            .write_all(bytes.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("cannot write to the modem: {e}"));
        let _ = self.stream.flush().await;
    }

    /// Reads until `found` says where what we wait for ends; returns the text up to there.
    pub async fn read_until(
        &mut self,
        what: &str,
        found: impl Fn(&[u8]) -> Option<usize>,
    ) -> String {
        let deadline = tokio::time::Instant::now() + ANSWER;
        loop {
            let text = String::from_utf8_lossy(&self.pending).into_owned();
            if let Some(end) = found(&self.pending) {
                let taken: Vec<u8> = self.pending.drain(..end.min(self.pending.len())).collect();
                return String::from_utf8_lossy(&taken).into_owned();
            }
            let mut buf = [0u8; 4096];
            let read = tokio::time::timeout_at(deadline, self.stream.read(&mut buf)).await;
            match read {
                Ok(Ok(0)) => {
                    panic!("the modem closed the line while we waited for {what}; got {text:?}")
                }
                Ok(Ok(n)) => self.pending.extend_from_slice(buf.get(..n).unwrap_or(&[])),
                Ok(Err(e)) => panic!("read failed while we waited for {what}: {e}; got {text:?}"),
                Err(_) => panic!("no {what} within {ANSWER:?}; got {text:?}"),
            }
        }
    }

    /// Waits for `needle` and returns everything up to and including it.
    pub async fn expect(&mut self, needle: &str) -> String {
        let n = needle.as_bytes().to_vec();
        self.read_until(needle, move |text| find(text, &n).map(|at| at + n.len()))
            .await
    }

    /// Reads up to and including the next final result code (or the `> ` prompt).
    pub async fn response(&mut self) -> String {
        self.read_until("a final result code", final_result_end)
            .await
    }

    /// Sends a command line and returns the answer up to its final result code.
    pub async fn command(&mut self, line: &str) -> String {
        self.send(&format!("{line}\r")).await;
        self.response().await
    }

    /// Sends a PDU with `AT+CMGS` and returns the answer after Ctrl-Z.
    pub async fn send_pdu(&mut self, length: usize, hex: &str) -> String {
        let prompt = self.command(&format!("AT+CMGS={length}")).await;
        assert!(
            prompt.ends_with("> "),
            "expected the > prompt, got {prompt:?}"
        );
        self.send(&format!("{hex}\x1a")).await;
        self.response().await
    }

    /// Asserts that nothing arrives for `quiet` (the read is cut off by the timeout).
    pub async fn expect_silence(&mut self, quiet: Duration) {
        assert!(
            self.pending.is_empty(),
            "unexpected bytes: {:?}",
            String::from_utf8_lossy(&self.pending)
        );
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(quiet, self.stream.read(&mut buf)).await;
        match read {
            Err(_elapsed) => {}
            Ok(Ok(n)) => panic!(
                "expected silence, got {:?}",
                String::from_utf8_lossy(buf.get(..n).unwrap_or(&[]))
            ),
            Ok(Err(e)) => panic!("expected silence, the read failed: {e}"),
        }
    }

    /// Reads until the line ends (EOF or an error such as EIO on a vanished pty); returns
    /// what arrived before.
    pub async fn expect_hang_up(&mut self) -> String {
        let mut said = std::mem::take(&mut self.pending);
        let mut buf = [0u8; 256];
        let deadline = tokio::time::Instant::now() + ANSWER;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return String::from_utf8_lossy(&said).into_owned(),
                Ok(Ok(n)) => said.extend_from_slice(buf.get(..n).unwrap_or(&[])),
                Err(_) => panic!("the line did not drop within {ANSWER:?}"),
            }
        }
    }

    pub fn into_inner(self) -> S {
        self.stream
    }
}
