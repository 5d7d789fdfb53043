//! The points columns of `shop_daily` and `member_value` (docs/tables.md), from the points
//! ledger: what each shop's orders earned on the day (net of clawbacks), what members redeemed
//! and what expired, the liability at the end of the run, and each member's balance.

use std::collections::HashMap;

use chrono_tz::Tz;

use super::time::{Day, LocalClock};
use crate::points::{LedgerEntry, LedgerKind};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PointsDay {
    /// `(platform, shop_id)` → net points of order entries dated the day.
    pub issued: HashMap<(String, String), i64>,
    /// Points redeemed on the day (positive).
    pub redeemed: i64,
    /// Points expired on the day (positive).
    pub expired: i64,
    /// Σ balances of live members.
    pub liability: i64,
    /// Live member → `available + pending − debt`.
    pub balances: HashMap<String, i64>,
}

/// The day's figures from every ledger entry (dated in the business zone) and live balances.
pub fn points_day(
    entries: &[(String, LedgerEntry)],
    balances: &[(String, i64)],
    day: Day,
    business_tz: Tz,
) -> PointsDay {
    let mut clock = LocalClock::new(business_tz);
    let mut out = PointsDay::default();
    for (_, e) in entries {
        let micros = e.at.timestamp() * 1_000_000 + i64::from(e.at.timestamp_subsec_micros());
        if clock.day(micros) != day {
            continue;
        }
        match (&e.kind, &e.order) {
            (LedgerKind::Order, Some(order)) => {
                *out.issued.entry((order.platform.clone(), order.shop_id.clone())).or_default() += e.points;
            }
            (LedgerKind::Redeem, _) => out.redeemed -= e.points,
            (LedgerKind::Expire, _) => out.expired -= e.points,
            _ => {}
        }
    }
    out.liability = balances.iter().map(|(_, b)| b).sum();
    out.balances = balances.iter().cloned().collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::points::OrderRef;
    use chrono::{DateTime, Utc};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
    }

    fn order_entry(points: i64, when: &str, shop: &str) -> LedgerEntry {
        let mut e = LedgerEntry::new(LedgerKind::Order, points, at(when));
        e.order = Some(OrderRef { platform: "shopify".into(), shop_id: shop.into(), order_id: "o".into(), version: 1 });
        e
    }

    #[test]
    fn entries_of_the_business_day_only_net_per_shop() {
        let d = super::super::time::day_of(chrono::NaiveDate::from_ymd_opt(2026, 10, 5).expect("date"));
        let entries = vec![
            ("m1".to_string(), order_entry(120, "2026-10-05T01:00:00Z", "s1")),
            ("m1".to_string(), order_entry(-20, "2026-10-05T15:59:59Z", "s1")),
            // 16:00 UTC is the 6th in Shanghai.
            ("m1".to_string(), order_entry(500, "2026-10-05T16:00:00Z", "s1")),
            ("m2".to_string(), order_entry(7, "2026-10-05T03:00:00Z", "s2")),
            ("m2".to_string(), LedgerEntry::new(LedgerKind::Redeem, -50, at("2026-10-05T04:00:00Z"))),
            ("m2".to_string(), LedgerEntry::new(LedgerKind::Expire, -9, at("2026-10-04T17:00:00Z"))),
            ("m2".to_string(), LedgerEntry::new(LedgerKind::MergedIn, 300, at("2026-10-05T04:00:00Z"))),
        ];
        let p = points_day(&entries, &[("m1".into(), 600), ("m2".into(), -3)], d, chrono_tz::Asia::Shanghai);
        assert_eq!(p.issued.get(&("shopify".to_string(), "s1".to_string())), Some(&100));
        assert_eq!(p.issued.get(&("shopify".to_string(), "s2".to_string())), Some(&7));
        assert_eq!((p.redeemed, p.expired, p.liability), (50, 9, 597));
        assert_eq!(p.balances.get("m2"), Some(&-3));
    }
}
