//! What a rollup run reads and writes, decided without touching storage: which days to compute
//! (catching up missing history first), which input objects belong to a day, the input
//! fingerprint, the object keys and the manifest.

use std::collections::BTreeSet;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::facts::InputKind;
use super::table::table_prefix;
use super::time::{date_of, day_of, Day, LocalClock};
use super::RollupError;

/// One listed input object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectInfo {
    pub key: String,
    pub etag: String,
    /// µs since the epoch.
    pub last_modified: i64,
    pub size: u64,
}

/// Rows per Parquet part: a day of a table is one object up to this many rows.
pub const ROWS_PER_PART: usize = 1_000_000;

/// The `dt=YYYY-MM-DD` partition of a key, if it has one.
pub fn partition_day(key: &str) -> Option<Day> {
    let start = key.find("/dt=")? + 4;
    let date = key.get(start..start + 10)?;
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok().map(day_of)
}

pub fn dt(day: Day) -> String {
    date_of(day).format("%Y-%m-%d").to_string()
}

/// The objects day `d` reads. Orders and their member links: the day's own partition, plus
/// objects of earlier partitions written since the day began (later versions of older orders
/// carry the refunds and deliveries dated `d`; a day of slack covers clock skew). Movements: the
/// day's partition only (a movement's partition is its date). Products and merges: all.
pub fn select_inputs(listing: &[ObjectInfo], d: Day, business_tz: Tz) -> Vec<ObjectInfo> {
    let since = LocalClock::new(business_tz).start_of(d) - 86_400_000_000;
    let mut out: Vec<ObjectInfo> = listing
        .iter()
        .filter(|o| match (InputKind::of_key(&o.key), partition_day(&o.key)) {
            (Some(InputKind::Orders | InputKind::OrderMembers), Some(p)) => {
                p == d || (p < d && o.last_modified >= since)
            }
            (Some(InputKind::Inventory), Some(p)) => p == d,
            (Some(InputKind::Products | InputKind::MemberMerges), _) => true,
            _ => false,
        })
        .cloned()
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// SHA-256 over the sorted keys and ETags of the inputs: equal fingerprints, equal inputs.
pub fn input_fingerprint(inputs: &[ObjectInfo]) -> String {
    let mut sorted: Vec<&ObjectInfo> = inputs.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut h = Sha256::new();
    for o in sorted {
        h.update(o.key.as_bytes());
        h.update([0]);
        h.update(o.etag.trim_matches('"').as_bytes());
        h.update([b'\n']);
    }
    hex::encode(h.finalize())
}

/// The days a request for `from..=to` must compute, in order: when the day before `from` has no
/// carried state, the missing history first — from the day after the latest earlier state, or
/// from the first day with input when there is none.
pub fn plan_days(
    from: Day,
    to: Day,
    states: &BTreeSet<Day>,
    earliest_input: Option<Day>,
) -> Result<Vec<Day>, RollupError> {
    if from > to {
        return Err(RollupError::MissingHistory(format!("--from {} is after --to {}", dt(from), dt(to))));
    }
    let start = if states.contains(&(from - 1)) || earliest_input.is_none_or(|e| from <= e) {
        from
    } else {
        match states.range(..from).next_back() {
            Some(s) => s + 1,
            None => earliest_input.unwrap_or(from).min(from),
        }
    };
    Ok((start..=to).collect())
}

pub fn state_key(d: Day) -> String {
    format!("rollups/_state/dt={}/state.json.gz", dt(d))
}

pub const STATE_PREFIX: &str = "rollups/_state/";

pub fn part_key(table: &str, d: Day, part: usize) -> String {
    format!("{}/dt={}/part-{part:05}.parquet", table_prefix(table), dt(d))
}

pub fn manifest_key(table: &str, d: Day) -> String {
    format!("{}/dt={}/_manifest.json", table_prefix(table), dt(d))
}

/// `_manifest.json` beside each partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub table: String,
    pub dt: String,
    pub rows: u64,
    pub files: Vec<String>,
    pub input_fingerprint: String,
    pub code_version: String,
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
}

/// The code version recorded in manifests.
pub fn code_version() -> String {
    format!("omnilake {}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(key: &str, modified: &str) -> ObjectInfo {
        ObjectInfo {
            key: key.into(),
            etag: format!("\"{key}\""),
            last_modified: super::super::time::parse_instant(modified).expect("time"),
            size: 1,
        }
    }

    fn day(s: &str) -> Day {
        partition_day(&format!("x/dt={s}/")).expect("date")
    }

    #[test]
    fn selection_takes_the_day_recent_updates_and_all_reference_data() {
        let tz = chrono_tz::Asia::Shanghai;
        let listing = vec![
            obj("canonical/orders/dt=2026-10-05/a.jsonl.gz", "2026-10-05T03:00:00Z"),
            obj("canonical/orders/dt=2026-10-01/old.jsonl.gz", "2026-10-01T03:00:00Z"),
            obj("canonical/orders/dt=2026-10-01/refund.jsonl.gz", "2026-10-05T01:00:00Z"),
            obj("canonical/orders/dt=2026-10-06/next.jsonl.gz", "2026-10-06T01:00:00Z"),
            obj("canonical/inventory/dt=2026-10-05/m.jsonl.gz", "2026-10-05T01:00:00Z"),
            obj("canonical/inventory/dt=2026-10-04/m.jsonl.gz", "2026-10-05T01:00:00Z"),
            obj("canonical/products/p.jsonl.gz", "2025-01-01T00:00:00Z"),
            obj("canonical/member_merges/dt=2025-01-01/g.jsonl.gz", "2025-01-01T00:00:00Z"),
            obj("canonical/order_members/dt=2026-10-05/x.jsonl.gz", "2026-10-05T01:00:00Z"),
            obj("rollups/sales_daily/dt=2026-10-05/part-00000.parquet", "2026-10-05T01:00:00Z"),
        ];
        let keys: Vec<String> = select_inputs(&listing, day("2026-10-05"), tz).into_iter().map(|o| o.key).collect();
        assert_eq!(
            keys,
            vec![
                "canonical/inventory/dt=2026-10-05/m.jsonl.gz",
                "canonical/member_merges/dt=2025-01-01/g.jsonl.gz",
                "canonical/order_members/dt=2026-10-05/x.jsonl.gz",
                "canonical/orders/dt=2026-10-01/refund.jsonl.gz",
                "canonical/orders/dt=2026-10-05/a.jsonl.gz",
                "canonical/products/p.jsonl.gz",
            ]
        );
    }

    #[test]
    fn fingerprint_changes_with_any_etag_and_not_with_order() {
        let a = vec![obj("k1", "2026-10-05T00:00:00Z"), obj("k2", "2026-10-05T00:00:00Z")];
        let mut b = a.clone();
        b.reverse();
        assert_eq!(input_fingerprint(&a), input_fingerprint(&b));
        b[0].etag = "\"other\"".into();
        assert_ne!(input_fingerprint(&a), input_fingerprint(&b));
    }

    #[test]
    fn missing_history_is_computed_first() {
        let (d1, d5, d9) = (day("2026-10-01"), day("2026-10-05"), day("2026-10-09"));
        let none = BTreeSet::new();
        assert_eq!(plan_days(d9, d9, &none, Some(d1)).expect("plan"), (d1..=d9).collect::<Vec<_>>());
        assert_eq!(plan_days(d1, d5, &none, Some(d1)).expect("plan"), (d1..=d5).collect::<Vec<_>>());
        let states: BTreeSet<Day> = (d1..d5).collect();
        assert_eq!(plan_days(d9, d9, &states, Some(d1)).expect("plan"), (d5..=d9).collect::<Vec<_>>());
        assert_eq!(plan_days(d5, d5, &states, Some(d1)).expect("plan"), vec![d5]);
        assert_eq!(plan_days(d5, d5, &none, None).expect("plan"), vec![d5]);
        assert!(plan_days(d9, d5, &none, None).is_err());
    }
}
