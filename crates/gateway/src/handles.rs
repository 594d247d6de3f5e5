//! Privacy handles (`privacy_handles = true`): the librarians of a gateway that hides phone
//! numbers see every patron with a number as a stable random handle, `p-7kq2m9xd`, in the
//! patron's JID, in every notice and answer, in transcripts and in exports; replies and desk
//! commands that name a handle reach the number behind it.
//!
//! The translation happens at the one border between the gateway and its librarians, so
//! the rest of the gateway (routing, claims, the outbox, the store's texts) keeps working
//! with numbers and cannot forget to hide one:
//! - outward, [`Component::send`] rewrites what goes to the XMPP component: the patron of
//!   a text, notice, receipt or error becomes their handle, and every number the gateway
//!   wrote into a notice or an answer (as `+15551239999` or `+1 555-123-9999`, the two ways
//!   it writes numbers) is replaced by its handle. A patron's own words are not touched.
//! - inward, [`PatronHandles::named`] turns a handle a librarian wrote to (or named in a
//!   command) back into the number; the reply intake and the desk call it.
//!
//! Short codes and senders' names (`LIBRARY`, `72654`) are organisations, not people: they
//! are shown as they are. A librarian may still write to a number she knows; the gateway
//! sends it, and the conversation goes on under the number's handle.
//!
//! The store keeps the mapping ([`Store::give_patron_handle`]): a number keeps its handle
//! across restarts and a handle never names another number. Handles are cached here for
//! the life of the gateway (one entry per patron seen, both ways).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use textgate_core::{PatronAddress, PatronHandle};
use textgate_store::{Store, StoreError};
use textgate_xmpp::{ComponentHandle, NoticeSender, Outgoing, SendError};

/// How many made-up handles may turn out taken before giving up (each is taken with a
/// chance of patrons / 2^40).
const TRIES: u32 = 16;

/// Why a patron could not be shown or found by handle.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error(
        "nobody goes by {0} on this gateway: check the handle, or copy it from the patron's \
         conversation"
    )]
    Unknown(PatronHandle),
    #[error("the gateway could not read its privacy handles: {0}")]
    Store(#[from] StoreError),
    #[error("no free privacy handle was found in {TRIES} tries")]
    NoneFree,
}

/// One gateway's handles: made up on first sight, kept in the store, cached here.
#[derive(Clone)]
pub struct PatronHandles {
    gateway: String,
    store: Store,
    book: Arc<Mutex<Book>>,
}

#[derive(Default)]
struct Book {
    by_number: HashMap<String, PatronHandle>,
    by_handle: HashMap<PatronHandle, PatronAddress>,
}

impl Book {
    fn learn(&mut self, number: &PatronAddress, handle: &PatronHandle) {
        self.by_number
            .insert(number.as_str().to_owned(), handle.clone());
        self.by_handle.insert(handle.clone(), number.clone());
    }
}

impl std::fmt::Debug for PatronHandles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatronHandles")
            .field("gateway", &self.gateway)
            .finish_non_exhaustive()
    }
}

impl PatronHandles {
    pub fn new(gateway: &str, store: Store) -> PatronHandles {
        PatronHandles {
            gateway: gateway.to_owned(),
            store,
            book: Arc::default(),
        }
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        // The book is only a cache of the store: whatever a panicking holder left is
        // still true.
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The handle of a patron with a number, made up and kept on first sight.
    pub async fn handle_of(&self, number: &PatronAddress) -> Result<PatronHandle, HandleError> {
        if let Some(handle) = self.book().by_number.get(number.as_str()) {
            return Ok(handle.clone());
        }
        let kept = self
            .store
            .patron_handle(&self.gateway, number.as_str())
            .await?;
        let handle = match kept.as_deref().and_then(PatronHandle::parse) {
            Some(handle) => handle,
            None => self.give(number).await?,
        };
        self.book().learn(number, &handle);
        Ok(handle)
    }

    async fn give(&self, number: &PatronAddress) -> Result<PatronHandle, HandleError> {
        for _ in 0..TRIES {
            let candidate = PatronHandle::from_bits(rand::random::<u64>());
            let given = self
                .store
                .give_patron_handle(&self.gateway, number.as_str(), candidate.as_str())
                .await?;
            // `None`: the candidate names someone else; another task may also have given
            // this number a handle a moment ago, which then is the one.
            if let Some(handle) = given.as_deref().and_then(PatronHandle::parse) {
                return Ok(handle);
            }
        }
        Err(HandleError::NoneFree)
    }

    /// How librarians see `patron`: a number as its handle (standing as a sender's name),
    /// anything else as it is.
    pub async fn shown(&self, patron: &PatronAddress) -> Result<PatronAddress, HandleError> {
        match patron {
            PatronAddress::E164(_) => Ok(PatronAddress::Alphanumeric(
                self.handle_of(patron).await?.as_str().to_owned(),
            )),
            other => Ok(other.clone()),
        }
    }

    /// The patron a librarian means: a handle is looked up, anything else is meant as
    /// written.
    pub async fn named(&self, patron: &PatronAddress) -> Result<PatronAddress, HandleError> {
        let handle = match patron {
            PatronAddress::Alphanumeric(name) => match PatronHandle::parse(name) {
                Some(handle) => handle,
                None => return Ok(patron.clone()),
            },
            _ => return Ok(patron.clone()),
        };
        if let Some(number) = self.book().by_handle.get(&handle) {
            return Ok(number.clone());
        }
        let number = self
            .store
            .patron_of_handle(&self.gateway, handle.as_str())
            .await?
            .and_then(|stored| PatronAddress::from_localpart(&stored).ok())
            .ok_or_else(|| HandleError::Unknown(handle.clone()))?;
        self.book().learn(&number, &handle);
        Ok(number)
    }

    /// `text` with every number the gateway wrote in it replaced by its handle.
    pub async fn mask(&self, text: &str) -> Result<String, HandleError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find('+') {
            out.push_str(&rest[..start]);
            let candidate = &rest[start..];
            match number_at(candidate) {
                Some((number, len)) => {
                    out.push_str(self.handle_of(&number).await?.as_str());
                    rest = &candidate[len..];
                }
                None => {
                    out.push('+');
                    rest = &candidate[1..];
                }
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    /// `outgoing` as the librarians may see it.
    pub async fn outward(&self, outgoing: Outgoing) -> Result<Outgoing, HandleError> {
        Ok(match outgoing {
            Outgoing::Text(mut text) => {
                text.patron = self.shown(&text.patron).await?;
                Outgoing::Text(text)
            }
            Outgoing::Notice(mut notice) => {
                if let NoticeSender::Patron(patron) = &notice.from {
                    notice.from = NoticeSender::Patron(self.shown(patron).await?);
                }
                notice.body = self.mask(&notice.body).await?;
                Outgoing::Notice(notice)
            }
            Outgoing::Error(mut error) => {
                error.patron = self.shown(&error.patron).await?;
                error.text = self.mask(&error.text).await?;
                Outgoing::Error(error)
            }
            Outgoing::Receipt { to, patron, id } => Outgoing::Receipt {
                to,
                patron: self.shown(&patron).await?,
                id,
            },
            Outgoing::Answer(mut answer) => {
                answer.text = self.mask(&answer.text).await?;
                Outgoing::Answer(answer)
            }
        })
    }
}

/// The number at the start of `text` (which starts with `+`) as the gateway writes numbers,
/// `+15551239999` or grouped as `+1 555-123-9999`, and how many bytes it takes. The longest
/// reading wins, and a grouped one must be exactly how the number is grouped, so the
/// digits of whatever follows a number are never taken for part of it.
fn number_at(text: &str) -> Option<(PatronAddress, usize)> {
    let span = text[1..]
        .find(|c: char| !(c.is_ascii_digit() || c == ' ' || c == '-'))
        .map_or(text.len(), |end| end + 1);
    let mut ends: Vec<usize> = text[..span]
        .char_indices()
        .filter(|(_, c)| c.is_ascii_digit())
        .map(|(i, _)| i + 1)
        .collect();
    ends.reverse();
    for end in ends {
        let written = &text[..end];
        let digits: String = written.chars().filter(char::is_ascii_digit).collect();
        let Ok(number) = PatronAddress::from_localpart(&format!("+{digits}")) else {
            continue;
        };
        if !matches!(number, PatronAddress::E164(_)) {
            continue;
        }
        if written == number.as_str() || written == number.formatted() {
            return Some((number, end));
        }
    }
    None
}

/// The gateway's side of the XMPP component: what it sends to its librarians goes through
/// the privacy handles when the gateway hides numbers.
#[derive(Debug, Clone)]
pub struct Component {
    link: ComponentHandle,
    handles: Option<PatronHandles>,
}

impl From<ComponentHandle> for Component {
    fn from(link: ComponentHandle) -> Component {
        Component::showing_numbers(link)
    }
}

impl Component {
    /// Librarians see numbers.
    pub fn showing_numbers(link: ComponentHandle) -> Component {
        Component {
            link,
            handles: None,
        }
    }

    /// Librarians see handles.
    pub fn with_handles(link: ComponentHandle, handles: PatronHandles) -> Component {
        Component {
            link,
            handles: Some(handles),
        }
    }

    pub fn handles(&self) -> Option<&PatronHandles> {
        self.handles.as_ref()
    }

    /// Like [`ComponentHandle::send`]. A message whose handles cannot be read is not sent
    /// at all (it would show a number): the caller keeps it as for any failed send.
    pub async fn send(&self, outgoing: Outgoing) -> Result<(), SendError> {
        let outgoing = match &self.handles {
            None => outgoing,
            Some(handles) => handles.outward(outgoing).await.map_err(|e| {
                tracing::error!(error = %e, "a message to the librarians was held back");
                SendError::Unprepared(e.to_string())
            })?,
        };
        self.link.send(outgoing).await
    }

    pub async fn shutdown(&self) {
        self.link.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Option<(String, usize)> {
        number_at(text).map(|(number, len)| (number.as_str().to_owned(), len))
    }

    #[test]
    fn numbers_are_found_as_the_gateway_writes_them() {
        assert_eq!(read("+15551239999"), Some(("+15551239999".into(), 12)));
        assert_eq!(
            read("+15551239999: hello"),
            Some(("+15551239999".into(), 12))
        );
        assert_eq!(
            read("+1 555-123-9999 is now answered"),
            Some(("+15551239999".into(), 15))
        );
        assert_eq!(
            read("+44 20 7946 0018 2 texts"),
            Some(("+442079460018".into(), 16))
        );
        // Digits after a number are not part of it.
        assert_eq!(
            read("+15551239999 3 texts"),
            Some(("+15551239999".into(), 12))
        );
    }

    #[test]
    fn other_plus_signs_are_left_alone() {
        assert_eq!(read("+"), None);
        assert_eq!(read("+ 1"), None);
        assert_eq!(read("+12"), None);
        assert_eq!(read("+1 5"), None);
    }
}
