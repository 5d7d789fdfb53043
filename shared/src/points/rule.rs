//! The earning rule: `points = floor(max(0, net_sales) × rate × multiplier)` (docs/points.md).

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::canonical::time::business_date;
use crate::canonical::{CanonicalOrder, OrderStatus};

/// A non-negative decimal with up to six places (`1`, `1.5`, `0.01`), kept exact as millionths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Factor(i64);

const FACTOR_SCALE: i64 = 1_000_000;

impl Factor {
    pub const ONE: Factor = Factor(FACTOR_SCALE);

    pub fn from_millionths(millionths: i64) -> Factor {
        Factor(millionths)
    }
}

/// A rate or multiplier that is not a plain non-negative decimal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a non-negative decimal with at most 6 places")]
pub struct FactorError(String);

impl FromStr for Factor {
    type Err = FactorError;

    fn from_str(text: &str) -> Result<Factor, FactorError> {
        let bad = || FactorError(text.to_string());
        let (whole, frac) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
        if whole.is_empty() || frac.len() > 6 || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let frac_value: i64 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| bad())? };
        let frac_scaled = frac_value * 10_i64.pow(6 - frac.len() as u32);
        whole.checked_mul(FACTOR_SCALE).and_then(|w| w.checked_add(frac_scaled)).map(Factor).ok_or_else(bad)
    }
}

impl fmt::Display for Factor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / FACTOR_SCALE, self.0 % FACTOR_SCALE);
        if frac == 0 {
            write!(f, "{whole}")
        } else {
            let digits = format!("{frac:06}");
            write!(f, "{whole}.{}", digits.trim_end_matches('0'))
        }
    }
}

impl Serialize for Factor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Factor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Factor, D::Error> {
        // Accept `"1.5"` and `1.5`: shop settings are edited by hand.
        let value = serde_json::Value::deserialize(d)?;
        let text = match &value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            other => return Err(serde::de::Error::custom(format!("expected a decimal, got {other}"))),
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A promotion: orders matching every set condition earn `factor` times the points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Multiplier {
    pub factor: Factor,
    /// The order's canonical platform (`shopify`, `pos`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// First business date (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    /// Last business date (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
}

impl Multiplier {
    fn matches(&self, order: &CanonicalOrder, date: NaiveDate) -> bool {
        self.platform.as_deref().is_none_or(|p| p == order.platform)
            && self.store_id.as_deref().is_none_or(|s| order.store_id.as_deref() == Some(s))
            && self.from.is_none_or(|from| date >= from)
            && self.to.is_none_or(|to| date <= to)
    }
}

/// A shop's points settings (the `points_rule` of its item in the shops table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsRule {
    /// Points per whole currency unit of net sales.
    #[serde(default = "default_rate")]
    pub rate: Factor,
    #[serde(default)]
    pub multipliers: Vec<Multiplier>,
    /// Points for a member's first membership-card sign-up.
    #[serde(default = "default_signup_bonus")]
    pub signup_bonus: i64,
    /// Days after payment before an order's points become redeemable (0: at once).
    #[serde(default = "default_return_window_days")]
    pub return_window_days: u32,
}

fn default_rate() -> Factor {
    Factor::ONE
}
fn default_signup_bonus() -> i64 {
    100
}
fn default_return_window_days() -> u32 {
    7
}

impl Default for PointsRule {
    fn default() -> Self {
        PointsRule {
            rate: default_rate(),
            multipliers: Vec::new(),
            signup_bonus: default_signup_bonus(),
            return_window_days: default_return_window_days(),
        }
    }
}

impl PointsRule {
    /// The points one order version is worth under this rule; `time_zone` is the shop's,
    /// which dates the order for date-range multipliers.
    pub fn points_for_order(&self, order: &CanonicalOrder, time_zone: Tz) -> i64 {
        if !earns_points(order.status) {
            return 0;
        }
        let net_minor = order.totals().net_sales.minor().max(0);
        let date = business_date(order.placed_at, time_zone);
        let multiplier =
            self.multipliers.iter().filter(|m| m.matches(order, date)).map(|m| m.factor).max().unwrap_or(Factor::ONE);
        let scale = 100_i128 * i128::from(FACTOR_SCALE) * i128::from(FACTOR_SCALE);
        let points = i128::from(net_minor) * i128::from(self.rate.0) * i128::from(multiplier.0) / scale;
        i64::try_from(points).unwrap_or(i64::MAX)
    }
}

/// Statuses whose orders earn; pending, cancelled and fully refunded orders are worth 0.
pub fn earns_points(status: OrderStatus) -> bool {
    matches!(status, OrderStatus::Paid | OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::PartiallyRefunded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::time::DEFAULT_TIME_ZONE;
    use crate::points::test_support::order;

    #[test]
    fn factors_parse_exactly() {
        assert_eq!("1".parse::<Factor>(), Ok(Factor::ONE));
        assert_eq!("1.5".parse::<Factor>(), Ok(Factor(1_500_000)));
        assert_eq!("0.000001".parse::<Factor>(), Ok(Factor(1)));
        assert_eq!("2.50".parse::<Factor>().map(|f| f.to_string()), Ok("2.5".to_string()));
        for bad in ["", "-1", "1.0000001", "1e3", "1.2.3", ".5", "abc"] {
            assert!(bad.parse::<Factor>().is_err(), "{bad}");
        }
    }

    #[test]
    fn points_floor_net_sales_times_rate() {
        // 2 × 59.90 − 10.00 discount − 20.00 refunded = 89.80 → 89 points
        let o = order("partially_refunded", &[(2, 5990, 1000, 2000)], "2026-11-20T10:00:00+08:00");
        assert_eq!(PointsRule::default().points_for_order(&o, DEFAULT_TIME_ZONE), 89);
        let rule = PointsRule { rate: "1.5".parse().unwrap_or(Factor::ONE), ..PointsRule::default() };
        assert_eq!(rule.points_for_order(&o, DEFAULT_TIME_ZONE), 134); // 134.7
    }

    #[test]
    fn only_paid_states_earn() {
        for (status, expected) in [
            ("pending", 0),
            ("paid", 100),
            ("shipped", 100),
            ("delivered", 100),
            ("partially_refunded", 100),
            ("cancelled", 0),
            ("refunded", 0),
        ] {
            let o = order(status, &[(1, 10_000, 0, 0)], "2026-11-20T10:00:00+08:00");
            assert_eq!(PointsRule::default().points_for_order(&o, DEFAULT_TIME_ZONE), expected, "{status}");
        }
    }

    #[test]
    fn negative_net_sales_earn_nothing() {
        let o = order("partially_refunded", &[(1, 1000, 0, 1500)], "2026-11-20T10:00:00+08:00");
        assert_eq!(PointsRule::default().points_for_order(&o, DEFAULT_TIME_ZONE), 0);
    }

    #[test]
    fn the_largest_matching_multiplier_applies_on_the_shop_business_date() {
        let m = |factor: &str, platform: Option<&str>, from: &str, to: &str| Multiplier {
            factor: factor.parse().unwrap_or(Factor::ONE),
            platform: platform.map(str::to_string),
            store_id: None,
            from: from.parse().ok(),
            to: to.parse().ok(),
        };
        let rule = PointsRule {
            multipliers: vec![
                m("2", None, "2026-11-11", "2026-11-11"),
                m("3", Some("pos"), "2026-11-11", "2026-11-11"),
            ],
            ..PointsRule::default()
        };
        // 2026-11-10T16:30Z is 00:30 on 11-11 in Shanghai: the double-points day.
        let o = order("paid", &[(1, 10_000, 0, 0)], "2026-11-10T16:30:00Z");
        assert_eq!(rule.points_for_order(&o, DEFAULT_TIME_ZONE), 200);
        assert_eq!(rule.points_for_order(&o, chrono_tz::UTC), 100);
        let mut pos = o.clone();
        pos.platform = "pos".into();
        assert_eq!(rule.points_for_order(&pos, DEFAULT_TIME_ZONE), 300);
    }

    #[test]
    fn rules_read_from_hand_written_json() {
        let rule: PointsRule =
            serde_json::from_str(r#"{"rate": 2, "multipliers": [{"factor": "1.5", "store_id": "sz-01"}]}"#)
                .unwrap_or_default();
        assert_eq!(rule.rate, Factor(2_000_000));
        assert_eq!(rule.signup_bonus, 100);
        assert_eq!(rule.return_window_days, 7);
        assert_eq!(rule.multipliers[0].store_id.as_deref(), Some("sz-01"));
    }
}
