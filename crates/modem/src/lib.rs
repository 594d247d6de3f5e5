//! Modem drivers (AT over serial or TCP, SMTP e-mail-to-SMS) and their supervision:
//! timeouts, hang detection, reopen and backoff.

#![forbid(unsafe_code)]
