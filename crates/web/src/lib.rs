//! The web pages, JSON API, metrics and sign-in, served by the daemon (axum).

#![forbid(unsafe_code)]
