//! End-to-end tests of textgate live in `tests/`; this library is empty. The package also
//! builds `textgate-e2e-daemon`, the daemon the tests start (see `src/bin`).

#![forbid(unsafe_code)]
