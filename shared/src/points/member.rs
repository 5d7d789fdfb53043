//! A member's points: lots by earning month, pending awards, debt — and the moves between them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::ledger::{LedgerEntry, LedgerKind};
use crate::canonical::time::{rfc3339, DEFAULT_TIME_ZONE};

/// Deployment-wide points settings (lots are per member, across shops).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointsPolicy {
    /// A lot of month M expires at the end of month M + this.
    pub expiry_months: u32,
    /// Where month ends are midnight.
    pub business_tz: Tz,
}

impl Default for PointsPolicy {
    fn default() -> Self {
        PointsPolicy { expiry_months: 12, business_tz: DEFAULT_TIME_ZONE }
    }
}

impl PointsPolicy {
    /// When the lot of `month` (`YYYY-MM`) expires: the first instant of month
    /// `month + expiry_months + 1` in the business time zone.
    pub fn lot_expires_at(&self, month: &str) -> Option<DateTime<Utc>> {
        let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
        let end = first.checked_add_months(Months::new(self.expiry_months + 1))?;
        let midnight = end.and_hms_opt(0, 0, 0)?;
        self.business_tz.from_local_datetime(&midnight).earliest().map(|t| t.with_timezone(&Utc))
    }
}

/// `YYYY-MM` of an instant in a time zone.
pub fn month_of(at: DateTime<Utc>, tz: Tz) -> String {
    let local = at.with_timezone(&tz);
    format!("{:04}-{:02}", local.year(), local.month())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    pub points: i64,
    #[serde(with = "rfc3339")]
    pub expires_at: DateTime<Utc>,
}

/// An order's points inside its return window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAward {
    pub points: i64,
    pub earn_month: String,
    #[serde(with = "rfc3339")]
    pub matures_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PlatformShop {
    pub platform: String,
    pub shop_id: String,
}

/// The whole points state of one member: one DynamoDB item, written under optimistic locking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberState {
    pub member_id: String,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// Lots by earning month (`YYYY-MM`); empty lots are removed.
    #[serde(default)]
    pub lots: BTreeMap<String, Lot>,
    /// Pending awards by order key (`{platform}#{shop}#{order}`).
    #[serde(default)]
    pub pending: BTreeMap<String, PendingAward>,
    #[serde(default)]
    pub debt: i64,
    #[serde(default)]
    pub platforms: BTreeSet<PlatformShop>,
    /// The sign-up bonus this member received, if any (once per member, ever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signup_bonus: Option<i64>,
    /// Set when this member was merged into another: an alias that still resolves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
}

impl MemberState {
    pub fn new(member_id: String, created_at: DateTime<Utc>) -> MemberState {
        MemberState {
            member_id,
            created_at,
            lots: BTreeMap::new(),
            pending: BTreeMap::new(),
            debt: 0,
            platforms: BTreeSet::new(),
            signup_bonus: None,
            merged_into: None,
            merged_from: Vec::new(),
        }
    }

    /// Redeemable points.
    pub fn available(&self) -> i64 {
        self.lots.values().map(|l| l.points).sum()
    }

    pub fn pending_points(&self) -> i64 {
        self.pending.values().map(|p| p.points).sum()
    }

    /// What the ledger must add up to: `available + pending − debt`.
    pub fn balance(&self) -> i64 {
        self.available() + self.pending_points() - self.debt
    }

    /// Adds earned points: debt is paid first, the rest goes into the lot of `month`.
    pub fn credit(&mut self, points: i64, month: &str, policy: &PointsPolicy) {
        if points <= 0 {
            return;
        }
        let to_debt = points.min(self.debt);
        self.debt -= to_debt;
        let rest = points - to_debt;
        if rest > 0 {
            let expires_at = policy.lot_expires_at(month).unwrap_or(DateTime::<Utc>::MAX_UTC);
            self.lots.entry(month.to_string()).or_insert(Lot { points: 0, expires_at }).points += rest;
        }
    }

    /// Takes points from the oldest lots first; what the lots cannot cover becomes debt.
    pub fn debit(&mut self, points: i64) {
        let mut left = points.max(0);
        while left > 0 {
            let Some(mut oldest) = self.lots.first_entry() else { break };
            let take = left.min(oldest.get().points);
            oldest.get_mut().points -= take;
            left -= take;
            if oldest.get().points <= 0 {
                oldest.remove();
            }
        }
        self.debt += left;
    }

    /// Pays debt out of lots, oldest first (after a merge brought both together).
    pub fn net_debt_against_lots(&mut self) {
        let payable = self.debt.min(self.available());
        if payable > 0 {
            self.debt -= payable;
            self.debit(payable);
        }
    }

    /// Brings the member to `now`: matured pending awards become lots (paying debt first),
    /// expired lots go, in time order. Returns the ledger entries (expiries).
    pub fn settle(&mut self, now: DateTime<Utc>, policy: &PointsPolicy) -> Vec<LedgerEntry> {
        let mut entries = Vec::new();
        loop {
            let maturing = self
                .pending
                .iter()
                .filter(|(_, p)| p.matures_at <= now)
                .min_by_key(|(key, p)| (p.matures_at, (*key).clone()))
                .map(|(key, p)| (p.matures_at, key.clone()));
            let expiring = self
                .lots
                .iter()
                .filter(|(_, l)| l.expires_at <= now)
                .min_by_key(|(month, l)| (l.expires_at, (*month).clone()))
                .map(|(month, l)| (l.expires_at, month.clone()));
            match (maturing, expiring) {
                (Some((at, key)), Some((exp_at, _))) if at <= exp_at => self.mature(&key, policy),
                (Some((_, key)), None) => self.mature(&key, policy),
                (_, Some((at, month))) => {
                    if let Some(lot) = self.lots.remove(&month) {
                        let mut entry = LedgerEntry::new(LedgerKind::Expire, -lot.points, at);
                        entry.month = Some(month);
                        entries.push(entry);
                    }
                }
                (None, None) => return entries,
            }
        }
    }

    fn mature(&mut self, order_key: &str, policy: &PointsPolicy) {
        if let Some(p) = self.pending.remove(order_key) {
            self.credit(p.points, &p.earn_month, policy);
        }
    }

    /// Whether settling at `now` would change anything (the nightly job skips the rest).
    pub fn needs_settling(&self, now: DateTime<Utc>) -> bool {
        self.pending.values().any(|p| p.matures_at <= now) || self.lots.values().any(|l| l.expires_at <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    fn member() -> MemberState {
        MemberState::new("mem_a".into(), at("2026-01-01T00:00:00Z"))
    }

    fn lots(m: &MemberState) -> Vec<(String, i64)> {
        m.lots.iter().map(|(k, l)| (k.clone(), l.points)).collect()
    }

    #[test]
    fn lots_expire_at_the_end_of_the_twelfth_month_after_in_business_time() {
        let p = PointsPolicy::default();
        assert_eq!(p.lot_expires_at("2026-11"), Some(at("2027-12-01T00:00:00+08:00")));
        assert_eq!(p.lot_expires_at("2026-12"), Some(at("2028-01-01T00:00:00+08:00")));
        let p3 = PointsPolicy { expiry_months: 3, business_tz: chrono_tz::UTC };
        assert_eq!(p3.lot_expires_at("2026-11"), Some(at("2027-03-01T00:00:00Z")));
        assert_eq!(p.lot_expires_at("2026-13"), None);
    }

    #[test]
    fn debits_take_oldest_lots_first_and_overflow_into_debt() {
        let p = PointsPolicy::default();
        let mut m = member();
        m.credit(50, "2026-12", &p);
        m.credit(30, "2026-11", &p);
        m.debit(40);
        assert_eq!(lots(&m), vec![("2026-12".into(), 40)]);
        m.debit(70);
        assert!(m.lots.is_empty());
        assert_eq!(m.debt, 30);
        assert_eq!(m.balance(), -30);
    }

    #[test]
    fn credits_pay_debt_first() {
        let p = PointsPolicy::default();
        let mut m = member();
        m.debt = 30;
        m.credit(20, "2026-11", &p);
        assert_eq!((m.debt, m.available()), (10, 0));
        m.credit(25, "2026-11", &p);
        assert_eq!((m.debt, lots(&m)), (0, vec![("2026-11".into(), 15)]));
    }

    #[test]
    fn settling_matures_then_expires_in_time_order_and_is_idempotent() {
        let p = PointsPolicy::default();
        let mut m = member();
        m.credit(100, "2026-11", &p);
        m.debt = 0;
        m.pending.insert(
            "shopify#s#1".into(),
            PendingAward { points: 40, earn_month: "2027-01".into(), matures_at: at("2027-01-08T00:00:00Z") },
        );
        m.debit(30); // 70 left in 2026-11
        let before = m.balance();
        let entries = m.settle(at("2027-12-15T00:00:00Z"), &p);
        assert_eq!(entries.len(), 1);
        assert_eq!((entries[0].points, entries[0].month.as_deref()), (-70, Some("2026-11")));
        assert_eq!(entries[0].at, at("2027-12-01T00:00:00+08:00"));
        assert_eq!(lots(&m), vec![("2027-01".into(), 40)]);
        assert_eq!(m.balance(), before - 70);
        let again = m.clone();
        assert!(m.settle(at("2027-12-15T00:00:00Z"), &p).is_empty());
        assert_eq!(m, again);
        assert!(!m.needs_settling(at("2027-12-15T00:00:00Z")));
    }

    #[test]
    fn maturing_points_pay_debt_without_changing_the_balance() {
        let p = PointsPolicy::default();
        let mut m = member();
        m.debt = 25;
        m.pending.insert(
            "pos#p#9".into(),
            PendingAward { points: 40, earn_month: "2026-11".into(), matures_at: at("2026-11-27T00:00:00Z") },
        );
        let before = m.balance();
        assert!(m.settle(at("2026-11-28T00:00:00Z"), &p).is_empty());
        assert_eq!((m.debt, m.available(), m.balance()), (0, 15, before));
    }

    #[test]
    fn netting_debt_leaves_newest_lots() {
        let p = PointsPolicy::default();
        let mut m = member();
        m.credit(10, "2026-10", &p);
        m.credit(10, "2026-11", &p);
        m.debt = 15;
        m.net_debt_against_lots();
        assert_eq!((m.debt, lots(&m)), (0, vec![("2026-11".into(), 5)]));
    }
}
