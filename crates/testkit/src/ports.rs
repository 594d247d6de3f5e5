//! The test servers' ports (Prosody's, ejabberd's): choosing free ones, and telling whether
//! the server we launched is the process listening on them.
//!
//! A free port is only free when it is chosen; another server may bind it before ours
//! does. Prosody (and ejabberd) then logs the failure and runs on without the port, so
//! "something accepts connections on the port" does not mean "our server does". The kernel knows who listens:
//! `/proc/net/tcp` (and `tcp6`) lists each listening socket with its inode, and
//! `/proc/PID/fd` links to the sockets a process holds. Linux only, as the rest of
//! textgate's test set-up.

use std::collections::HashSet;
use std::io;

/// A port that was free a moment ago (the OS picks it; the listener is closed again).
pub(crate) fn free_port() -> io::Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
}

/// Who listens on a TCP port, as the kernel sees it in this network namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listener {
    Nobody,
    /// The process asked about.
    TheProcess,
    /// Another process (and not the one asked about).
    SomeoneElse,
}

/// Who listens on `port`, compared with process `pid`.
pub(crate) fn who_listens(port: u16, pid: u32) -> io::Result<Listener> {
    let mut inodes = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        match std::fs::read_to_string(table) {
            Ok(text) => inodes.extend(listening_inodes(&text, port)),
            // A kernel without IPv6 has no tcp6 table, and no IPv6 listener either.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    if inodes.is_empty() {
        return Ok(Listener::Nobody);
    }
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        // A descriptor closed while we look is not the listening socket we look for.
        let Ok(target) = std::fs::read_link(entry?.path()) else {
            continue;
        };
        let inode = target
            .to_str()
            .and_then(|t| t.strip_prefix("socket:["))
            .and_then(|t| t.strip_suffix(']'))
            .and_then(|t| t.parse::<u64>().ok());
        if inode.is_some_and(|inode| inodes.contains(&inode)) {
            return Ok(Listener::TheProcess);
        }
    }
    Ok(Listener::SomeoneElse)
}

/// The inodes of the sockets listening on `port` in a `/proc/net/tcp`-style table: a
/// header line, then one socket a line with `local_address` (`HEXADDR:HEXPORT`) second,
/// the state fourth (`0A` is LISTEN) and the inode tenth. Lines that do not parse are
/// skipped.
fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    const LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (_, local_port) = fields.get(1)?.rsplit_once(':')?;
            let local_port = u16::from_str_radix(local_port, 16).ok()?;
            let listening = *fields.get(3)? == LISTEN;
            let inode = fields.get(9)?.parse().ok()?;
            (listening && local_port == port).then_some(inode)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two listeners (one on port 0x1F90 = 8080), and a connection whose local port is also
    /// 8080 but is no listener.
    const TABLE: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 4444 1 0000000000000000 20 4 30 10 -1
   3: garbage
";

    #[test]
    fn only_listening_sockets_on_the_port_count() {
        assert_eq!(listening_inodes(TABLE, 8080), [4242]);
        assert_eq!(listening_inodes(TABLE, 8081), [4343]);
        assert!(listening_inodes(TABLE, 8082).is_empty());
    }

    #[test]
    fn a_listener_is_told_apart_from_other_processes() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
        let port = listener.local_addr().expect("address").port();
        let me = std::process::id();
        assert_eq!(who_listens(port, me).expect("proc"), Listener::TheProcess);
        // A child of ours holds no socket of this test's (the listener is not inherited:
        // Rust opens it close-on-exec).
        let mut other = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .expect("start sleep");
        let seen = who_listens(port, other.id());
        let _ = other.kill();
        let _ = other.wait();
        assert_eq!(seen.expect("proc"), Listener::SomeoneElse);
        drop(listener);
        assert_eq!(who_listens(port, me).expect("proc"), Listener::Nobody);
    }
}
