//! The pseudo-terminal transport: the simulator holds the master side of a pty pair and a
//! host opens the slave (`/dev/pts/N`) exactly as it would open `/dev/ttyUSB2`. The slave is
//! put in raw mode so the kernel adds no echo and no line editing: every byte the host
//! sees comes from the simulated modem.
//!
//! The simulator keeps its own descriptor of the slave open. Without it the master reads
//! fail with EIO whenever no host has the slave open; with it the pty lives until the
//! simulator closes it. A disconnect ([`crate::SimHandle::disconnect`]) closes both sides:
//! a host holding the slave open gets EIO/hang-up, the path vanishes (and the `--link`
//! symlink with it), and after the outage a new pair appears, usually under another
//! `/dev/pts/N`, with the link pointed at it, as a USB modem that re-enumerates.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::sim::SimHandle;

/// Why the pseudo-terminal could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum PtyError {
    #[error("cannot open a pseudo-terminal pair: {0}")]
    Open(nix::Error),
    #[error("cannot put the pseudo-terminal in raw mode: {0}")]
    Raw(nix::Error),
    #[error("cannot find the pseudo-terminal's slave path: {0}")]
    Name(nix::Error),
    #[error("cannot keep the pseudo-terminal from child processes: {0}")]
    CloseOnExec(nix::Error),
    #[error("cannot make the pseudo-terminal non-blocking: {0}")]
    NonBlocking(nix::Error),
    #[error("cannot register the pseudo-terminal with the runtime: {0}")]
    Register(io::Error),
    #[error("cannot open {path}: {source}")]
    OpenDevice { path: PathBuf, source: io::Error },
    #[error("cannot create the link {link}: {source}")]
    Link { link: PathBuf, source: io::Error },
}

/// An open pty pair: the master as an async byte stream, and the slave's path.
pub struct Pty {
    master: TtyStream,
    /// Kept open so the master never sees EIO between hosts (see the module docs).
    slave: OwnedFd,
    path: PathBuf,
}

impl Pty {
    /// Opens a pair with a raw slave.
    pub fn open() -> Result<Pty, PtyError> {
        let pair = nix::pty::openpty(None, None).map_err(PtyError::Open)?;
        // openpty(3) opens both sides inheritable. A process the simulator's host program
        // starts afterwards (the daemon under test, Prosody) would hold copies, and a copy
        // of the master keeps the line up through an outage: the host would never see it
        // drop.
        for fd in [&pair.master, &pair.slave] {
            fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(PtyError::CloseOnExec)?;
        }
        let mut termios = tcgetattr(&pair.slave).map_err(PtyError::Raw)?;
        cfmakeraw(&mut termios);
        tcsetattr(&pair.slave, SetArg::TCSANOW, &termios).map_err(PtyError::Raw)?;
        let path = nix::unistd::ttyname(&pair.slave).map_err(PtyError::Name)?;
        let master = TtyStream::from_fd(pair.master)?;
        Ok(Pty {
            master,
            slave: pair.slave,
            path,
        })
    }

    /// The slave's path, e.g. `/dev/pts/7`.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A terminal device (the master side of a pty, or a slave a host opened) as an async
/// byte stream, without the blocking thread pool `tokio::fs` would use.
pub struct TtyStream {
    fd: AsyncFd<File>,
}

impl TtyStream {
    /// Wraps an open descriptor, making it non-blocking.
    pub fn from_fd(fd: OwnedFd) -> Result<TtyStream, PtyError> {
        let flags = fcntl(&fd, FcntlArg::F_GETFL).map_err(PtyError::NonBlocking)?;
        let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
        fcntl(&fd, FcntlArg::F_SETFL(flags)).map_err(PtyError::NonBlocking)?;
        // `AsyncFd::new` is deprecated because a caller could close the descriptor while it
        // is registered; here the `File` owns it and lives inside the `AsyncFd`, so it is
        // deregistered before it closes. The replacement, `register`, is `unsafe`, which
        // this crate forbids.
        #[allow(deprecated)]
        let fd = AsyncFd::new(File::from(fd)).map_err(PtyError::Register)?;
        Ok(TtyStream { fd })
    }

    /// Opens a terminal device as a host would (read-write, not as controlling terminal),
    /// e.g. the simulator's slave path.
    pub fn open(path: &Path) -> Result<TtyStream, PtyError> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(OFlag::O_NOCTTY.bits())
            .open(path)
            .map_err(|source| PtyError::OpenDevice {
                path: path.to_owned(),
                source,
            })?;
        TtyStream::from_fd(OwnedFd::from(file))
    }
}

impl AsyncRead for TtyStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|inner| inner.get_ref().read(unfilled)) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for TtyStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|inner| inner.get_ref().write(data)) {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Points `link` at `target`, replacing a symlink that was there (never a real file).
fn relink(link: &Path, target: &Path) -> Result<(), PtyError> {
    let failed = |source| PtyError::Link {
        link: link.to_owned(),
        source,
    };
    match std::fs::symlink_metadata(link) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::remove_file(link).map_err(failed)?,
        Ok(_) => {
            return Err(failed(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "it exists and is not a symlink; refusing to replace it",
            )))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => return Err(failed(source)),
    }
    std::os::unix::fs::symlink(target, link).map_err(|source| PtyError::Link {
        link: link.to_owned(),
        source,
    })
}

/// Serves the simulator on pseudo-terminals for ever: opens a pair, publishes its path
/// ([`SimHandle::pty_path`]) and the optional symlink, serves it, and after an outage
/// closes it, waits for the outage to end and opens a new one. Returns only on errors.
pub async fn serve_pty(handle: SimHandle, link: Option<PathBuf>) -> Result<(), PtyError> {
    let mut outage = handle.outage();
    loop {
        let pty = Pty::open()?;
        if let Some(link) = &link {
            relink(link, pty.path())?;
        }
        tracing::info!(path = %pty.path().display(), "pseudo-terminal ready");
        handle.publish_pty_path(Some(pty.path().to_owned()));
        let Pty {
            master,
            slave,
            path,
        } = pty;
        // `serve` returns when the outage begins; a host closing the slave is not visible on
        // the master (the simulator's own slave descriptor keeps it open), so the same
        // session goes on for the next host, as a real modem's port does.
        if let Err(e) = handle.serve(master).await {
            tracing::warn!(path = %path.display(), error = %e, "pseudo-terminal failed");
        }
        drop(slave);
        if let Some(link) = &link {
            let _ = std::fs::remove_file(link);
        }
        handle.publish_pty_path(None);
        tracing::info!(path = %path.display(), "pseudo-terminal closed for an outage");
        // Wait for the outage to end: its time passing, an early restore, or a new
        // disconnect moving the end further away (re-read each time).
        loop {
            let until = outage.borrow_and_update().until;
            let Some(until) = until else { break };
            if tokio::time::Instant::now() >= until {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(until) => break,
                changed = outage.changed() => if changed.is_err() { break },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_replaces_symlinks_but_never_files() {
        let dir = std::env::temp_dir().join(format!("modemsim-relink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let link = dir.join("modem");
        relink(&link, Path::new("/dev/null")).expect("a new link");
        relink(&link, Path::new("/dev/zero")).expect("a replaced link");
        assert_eq!(
            std::fs::read_link(&link).ok(),
            Some(PathBuf::from("/dev/zero"))
        );

        let file = dir.join("precious");
        std::fs::write(&file, b"data").expect("write");
        let refused = relink(&file, Path::new("/dev/null")).map_err(|e| e.to_string());
        assert!(refused.is_err_and(|e| e.contains("is not a symlink")));
        assert_eq!(std::fs::read(&file).ok(), Some(b"data".to_vec()));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
