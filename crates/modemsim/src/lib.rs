//! A modem simulator that speaks AT on a pseudo-terminal or TCP port, for the demo and tests.

#![forbid(unsafe_code)]
