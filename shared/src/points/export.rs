//! The order → member export `unify-points` writes for the nightly rollup (docs/tables.md
//! "Inputs"): which member each order version's points went to, and which members merged.
//!
//! - `canonical/order_members/dt={placed date}/{name}.jsonl.gz`: one
//!   `{"platform","shop_id","order_id","version","member_id"}` line per order version applied,
//!   or skipped as stale when its award names the member (guest orders: none). The date is the
//!   business date of `placed_at` in the shop's time zone, the order's `canonical/orders/`
//!   partition.
//! - `canonical/member_merges/dt={merge date}/{name}.jsonl.gz`: one
//!   `{"member_id","merged_from":[…],"at"}` line per order or sign-up that merged members, dated
//!   on the business date of the merge in the deployment's time zone (`OMNILAKE_BUSINESS_TZ`,
//!   the zone of points months).
//!
//! A batch writes one object per prefix and date, named by a hash of its content
//! ([`content_named_file`]): a retry that writes the same lines rewrites the same object, and
//! different lines never overwrite each other. A line written twice is harmless (the rollup
//! takes the greatest version of an order; a merge is an edge, the same twice).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::canonical::time::{business_date, rfc3339};
use crate::canonical::CanonicalOrder;
use crate::normalize::{content_named_file, CanonicalFile};

pub const ORDER_MEMBERS_PREFIX: &str = "canonical/order_members";
pub const MEMBER_MERGES_PREFIX: &str = "canonical/member_merges";

/// The member an order version's points went to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OrderMemberLine {
    pub platform: String,
    pub shop_id: String,
    pub order_id: String,
    pub version: i64,
    pub member_id: String,
}

/// Members absorbed into `member_id` (each directly; what they had absorbed before has its
/// own line naming them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberMergeLine {
    pub member_id: String,
    pub merged_from: Vec<String>,
    #[serde(with = "rfc3339")]
    pub at: DateTime<Utc>,
}

/// What a batch learnt about members, each line with the date of its partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberExport {
    pub order_members: Vec<(NaiveDate, OrderMemberLine)>,
    pub merges: Vec<(NaiveDate, MemberMergeLine)>,
}

impl MemberExport {
    /// `order`'s points went to `member_id` (`None`: a guest order, which has no line).
    /// `shop_time_zone` is the shop's, as `normalize-orders` used for the order's partition.
    pub fn record_order(&mut self, order: &CanonicalOrder, member_id: Option<&str>, shop_time_zone: Tz) {
        let Some(member_id) = member_id else { return };
        self.order_members.push((
            business_date(order.placed_at, shop_time_zone),
            OrderMemberLine {
                platform: order.platform.clone(),
                shop_id: order.shop_id.clone(),
                order_id: order.order_id.clone(),
                version: order.version,
                member_id: member_id.to_string(),
            },
        ));
    }

    /// `survivor` absorbed `merged` at `at` (nothing when `merged` is empty), filed under the
    /// business date of `at` in `business_tz`.
    pub fn record_merge(&mut self, survivor: &str, merged: &[String], at: DateTime<Utc>, business_tz: Tz) {
        if merged.is_empty() {
            return;
        }
        let mut merged_from = merged.to_vec();
        merged_from.sort();
        merged_from.dedup();
        self.merges.push((
            business_date(at, business_tz),
            MemberMergeLine { member_id: survivor.to_string(), merged_from, at },
        ));
    }

    pub fn append(&mut self, mut other: MemberExport) {
        self.order_members.append(&mut other.order_members);
        self.merges.append(&mut other.merges);
    }

    pub fn is_empty(&self) -> bool {
        self.order_members.is_empty() && self.merges.is_empty()
    }
}

/// The objects to write for a batch's export: one gzipped JSON Lines object per prefix and
/// date, lines sorted and deduplicated, named by their content.
pub fn member_export_files(export: &MemberExport) -> Result<Vec<CanonicalFile>, serde_json::Error> {
    let mut groups: BTreeMap<(&str, NaiveDate), Vec<String>> = BTreeMap::new();
    for (date, line) in &export.order_members {
        groups.entry((ORDER_MEMBERS_PREFIX, *date)).or_default().push(serde_json::to_string(line)?);
    }
    for (date, line) in &export.merges {
        groups.entry((MEMBER_MERGES_PREFIX, *date)).or_default().push(serde_json::to_string(line)?);
    }
    Ok(groups.into_iter().map(|((prefix, date), lines)| content_named_file(prefix, date, lines)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::read_jsonl_gz;
    use crate::points::test_support::{self, at};

    /// Order `order_id` of `{platform}-shop`, version 1, placed at `placed_at`.
    fn order(platform: &str, order_id: &str, placed_at: &str) -> CanonicalOrder {
        let mut o = test_support::order("paid", &[(1, 10_000, 0, 0)], placed_at);
        o.platform = platform.into();
        o.shop_id = format!("{platform}-shop");
        o.order_id = order_id.into();
        o
    }

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;
    const NEW_YORK: Tz = chrono_tz::America::New_York;

    fn contents(files: &[CanonicalFile]) -> BTreeMap<String, Vec<serde_json::Value>> {
        files
            .iter()
            .map(|f| {
                let lines = read_jsonl_gz(&f.gzipped_jsonl).unwrap_or_else(|e| panic!("{}: {e}", f.key));
                assert_eq!(lines.len(), f.records, "{}", f.key);
                let values = lines.iter().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")));
                // The name is the content's hash: drop it so expectations name the partition.
                let partition = f.key.rsplit_once('/').map_or(f.key.clone(), |(dir, _)| dir.to_string());
                (partition, values.collect())
            })
            .collect()
    }

    #[test]
    fn order_lines_are_filed_under_the_placed_date_in_the_shops_zone_and_guests_have_none() {
        let mut export = MemberExport::default();
        // 2026-11-21 02:00 in Shanghai is still 2026-11-20 in New York.
        let mut late = order("shopify", "S1", "2026-11-21T02:00:00+08:00");
        late.version = 3;
        export.record_order(&late, Some("mem_a"), NEW_YORK);
        export.record_order(&late, Some("mem_a"), NEW_YORK);
        let pos = order("pos", "P1", "2026-11-21T02:00:00+08:00");
        export.record_order(&pos, Some("mem_b"), SHANGHAI);
        export.record_order(&order("pos", "P2", "2026-11-21T03:00:00+08:00"), None, SHANGHAI);
        assert!(export.merges.is_empty());

        let files = member_export_files(&export).unwrap_or_else(|e| panic!("{e}"));
        let by_partition = contents(&files);
        assert_eq!(
            by_partition,
            BTreeMap::from([
                (
                    "canonical/order_members/dt=2026-11-20".to_string(),
                    vec![serde_json::json!({"platform": "shopify", "shop_id": "shopify-shop", "order_id": "S1",
                                            "version": 3, "member_id": "mem_a"})],
                ),
                (
                    "canonical/order_members/dt=2026-11-21".to_string(),
                    vec![serde_json::json!({"platform": "pos", "shop_id": "pos-shop", "order_id": "P1",
                                            "version": 1, "member_id": "mem_b"})],
                ),
            ]),
            "one object per partition, the duplicate line once, no line for the guest"
        );
        for f in &files {
            let name = f.key.rsplit('/').next().unwrap_or_default();
            assert!(name.ends_with(".jsonl.gz") && name.len() == 24 + ".jsonl.gz".len(), "{}", f.key);
        }
    }

    #[test]
    fn merges_are_filed_under_the_business_date_of_the_merge() {
        let mut export = MemberExport::default();
        let when = at("2026-11-20T17:30:00Z"); // 2026-11-21 01:30 in Shanghai
        export.record_merge("mem_old", &["mem_z".into(), "mem_y".into()], when, SHANGHAI);
        export.record_merge("mem_old", &[], when, SHANGHAI);
        let files = member_export_files(&export).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            contents(&files),
            BTreeMap::from([(
                "canonical/member_merges/dt=2026-11-21".to_string(),
                vec![serde_json::json!({"member_id": "mem_old", "merged_from": ["mem_y", "mem_z"],
                                        "at": "2026-11-20T17:30:00+00:00"})],
            )]),
            "a merge of nobody writes nothing"
        );
        let line: MemberMergeLine =
            serde_json::from_str(&read_jsonl_gz(&files[0].gzipped_jsonl).unwrap_or_default()[0])
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(line.at, when);
    }

    #[test]
    fn the_same_lines_make_the_same_object_and_other_lines_another() {
        let mut export = MemberExport::default();
        export.record_order(&order("pos", "P1", "2026-11-20T10:00:00+08:00"), Some("mem_a"), SHANGHAI);
        export.record_order(&order("pos", "P2", "2026-11-20T11:00:00+08:00"), Some("mem_b"), SHANGHAI);
        let first = member_export_files(&export).unwrap_or_else(|e| panic!("{e}"));

        // A retried batch meeting the same events in another order rewrites the same object.
        let mut retried = MemberExport::default();
        let (a, b) = (export.order_members[0].clone(), export.order_members[1].clone());
        retried.order_members = vec![b, a.clone(), a];
        let again = member_export_files(&retried).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.len(), 1);
        assert_eq!(again.len(), 1);
        assert_eq!(first[0].key, again[0].key);
        assert_eq!(first[0].gzipped_jsonl, again[0].gzipped_jsonl);

        let mut other = export.clone();
        other.order_members[0].1.member_id = "mem_c".into();
        let other = member_export_files(&other).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(other[0].key, first[0].key, "different lines never overwrite each other");

        assert!(member_export_files(&MemberExport::default()).unwrap_or_default().is_empty());
        let mut appended = MemberExport::default();
        assert!(appended.is_empty());
        appended.append(export.clone());
        assert_eq!(appended, export);
    }
}
