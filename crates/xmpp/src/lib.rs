//! The XEP-0114 component session per gateway (reconnect, keepalive) and stanza mapping.

#![forbid(unsafe_code)]
