//! Helpers shared by the library's integration tests: recorded fixtures and literal values.
#![allow(dead_code)] // each test binary uses its own subset

use chrono::{DateTime, Utc};
use omnilake::Money;

fn read(rel: &str) -> Vec<u8> {
    let full = format!("{}/../fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("cannot read {full}: {e}"))
}

/// A recorded platform payload under `fixtures/platforms/`.
pub fn platform_fixture(path: &str) -> Vec<u8> {
    read(&format!("platforms/{path}"))
}

/// A feed file under `fixtures/feeds/`.
pub fn feed_fixture(name: &str) -> Vec<u8> {
    read(&format!("feeds/{name}"))
}

/// A money literal.
pub fn m(text: &str) -> Money {
    text.parse().expect("test literal is a decimal amount")
}

/// An instant written with the offset the fixture uses (chrono, not the adapters, reads it).
pub fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("test literal is RFC 3339").with_timezone(&Utc)
}
