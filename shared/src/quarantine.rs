//! The quarantine zone: `quarantine/{stage}/dt={YYYY-MM-DD}/{event_key}.json` holds what a stage
//! could not process, with the reason, so nothing authentic is lost and it can be replayed.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::canonical::time::rfc3339;

/// One quarantined item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineEntry {
    /// `normalize` or `feed`.
    pub stage: String,
    pub reason: String,
    /// The object the item came from (`raw/…` or `incoming/…`).
    pub source_key: String,
    /// 1-based line in the source file (feeds), header being line 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The offending row's text (feeds); raw events are not copied, `source_key` points at them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<String>,
    #[serde(with = "rfc3339")]
    pub quarantined_at: DateTime<Utc>,
}

/// The key of a quarantined item.
pub fn quarantine_key(stage: &str, date: NaiveDate, item_key: &str) -> String {
    format!("quarantine/{stage}/dt={}/{item_key}.json", date.format("%Y-%m-%d"))
}

/// Reads the stage and item key back from a quarantine key.
pub fn parse_quarantine_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("quarantine/")?;
    let (stage, rest) = rest.split_once('/')?;
    let (_dt, file) = rest.split_once('/')?;
    Some((stage, file.strip_suffix(".json")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let key = quarantine_key("normalize", "2026-11-20".parse().expect("date"), "shopify-w1");
        assert_eq!(key, "quarantine/normalize/dt=2026-11-20/shopify-w1.json");
        assert_eq!(parse_quarantine_key(&key), Some(("normalize", "shopify-w1")));
        assert_eq!(parse_quarantine_key("raw/x.json"), None);
    }
}
