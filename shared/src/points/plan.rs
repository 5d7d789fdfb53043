//! What one event does to members: pure functions over [`MemberState`], returning the ledger
//! entries the adapter writes in the same transaction as the new state.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::ledger::{LedgerEntry, LedgerKind, OrderRef};
use super::member::{month_of, MemberState, PendingAward, PlatformShop, PointsPolicy};
use super::rule::PointsRule;
use crate::canonical::time::rfc3339;
use crate::canonical::CanonicalOrder;

/// What an order has been awarded so far: one record per (platform, shop, order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Award {
    /// The member the points went to (follow `merged_into` from there).
    pub member_id: String,
    pub version: i64,
    pub points: i64,
    pub earn_month: String,
    #[serde(with = "rfc3339")]
    pub matures_at: DateTime<Utc>,
}

/// `{platform}#{shop}#{order}`: the key of an order's award and pending entry.
pub fn order_key(order: &CanonicalOrder) -> String {
    format!("{}#{}#{}", order.platform, order.shop_id, order.order_id)
}

/// The shop's side of an order: its rule, its time zone (business dates and earning months)
/// and its country (phone numbers written without `+`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopPoints {
    pub rule: PointsRule,
    pub time_zone: Tz,
    pub country: String,
}

impl Default for ShopPoints {
    fn default() -> Self {
        ShopPoints {
            rule: PointsRule::default(),
            time_zone: crate::canonical::time::DEFAULT_TIME_ZONE,
            country: "CN".into(),
        }
    }
}

impl ShopPoints {
    pub fn of(shop: &crate::shop::Shop) -> ShopPoints {
        ShopPoints { rule: shop.points_rule.clone(), time_zone: shop.time_zone, country: shop.country.clone() }
    }
}

/// The outcome of applying one order version to its member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPlan {
    pub award: Award,
    pub delta: i64,
    pub entries: Vec<LedgerEntry>,
}

/// Applies an order version to `member` (already the live member its award and identities
/// resolve to): settles at `now`, then moves the order's points from what `prior` awarded to
/// what this version is worth. `None` when `prior` is as new or newer (nothing changes).
pub fn apply_order_version(
    member: &mut MemberState,
    order: &CanonicalOrder,
    prior: Option<&Award>,
    shop: &ShopPoints,
    policy: &PointsPolicy,
    now: DateTime<Utc>,
) -> Option<OrderPlan> {
    if prior.is_some_and(|a| a.version >= order.version) {
        return None;
    }
    let mut entries = member.settle(now, policy);
    let points = shop.rule.points_for_order(order, shop.time_zone);
    let delta = points - prior.map_or(0, |a| a.points);
    let earned_at = order.paid_at.unwrap_or(order.placed_at);
    let earn_month = month_of(earned_at, shop.time_zone);
    let matures_at = earned_at + Duration::days(i64::from(shop.rule.return_window_days));
    let key = order_key(order);

    if let Some(pending) = member.pending.get_mut(&key) {
        pending.points = points;
        if points <= 0 {
            member.pending.remove(&key);
        }
    } else if matures_at > now && points > 0 {
        member.pending.insert(key, PendingAward { points, earn_month: earn_month.clone(), matures_at });
    } else if delta > 0 {
        member.credit(delta, &earn_month, policy);
    } else {
        member.debit(-delta);
    }
    member.platforms.insert(PlatformShop { platform: order.platform.clone(), shop_id: order.shop_id.clone() });

    if delta != 0 {
        let mut entry = LedgerEntry::new(LedgerKind::Order, delta, now);
        entry.order = Some(OrderRef {
            platform: order.platform.clone(),
            shop_id: order.shop_id.clone(),
            order_id: order.order_id.clone(),
            version: order.version,
        });
        entries.push(entry);
    }
    let award = Award { member_id: member.member_id.clone(), version: order.version, points, earn_month, matures_at };
    Some(OrderPlan { award, delta, entries })
}

/// The sign-up bonus, once per member ever: credited at once into the sign-up month's lot.
pub fn grant_signup_bonus(
    member: &mut MemberState,
    bonus: i64,
    signed_up_at: DateTime<Utc>,
    time_zone: Tz,
    policy: &PointsPolicy,
    now: DateTime<Utc>,
) -> Vec<LedgerEntry> {
    let mut entries = member.settle(now, policy);
    if member.signup_bonus.is_some() || bonus <= 0 {
        return entries;
    }
    member.signup_bonus = Some(bonus);
    member.credit(bonus, &month_of(signed_up_at, time_zone), policy);
    entries.push(LedgerEntry::new(LedgerKind::SignupBonus, bonus, now));
    entries
}

/// Members sort by this; the first survives a merge: the older (ties: the smaller id).
pub fn seniority(m: &MemberState) -> (DateTime<Utc>, &str) {
    (m.created_at, &m.member_id)
}

/// Ledger entries of a merge, for each side.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MergePlan {
    pub survivor_entries: Vec<LedgerEntry>,
    pub absorbed_entries: Vec<LedgerEntry>,
}

/// Moves everything of `absorbed` into `survivor` and leaves `absorbed` an empty alias.
pub fn merge_members(
    survivor: &mut MemberState,
    absorbed: &mut MemberState,
    policy: &PointsPolicy,
    now: DateTime<Utc>,
) -> MergePlan {
    let mut plan =
        MergePlan { survivor_entries: survivor.settle(now, policy), absorbed_entries: absorbed.settle(now, policy) };
    let moved = absorbed.balance();
    for (month, lot) in std::mem::take(&mut absorbed.lots) {
        survivor.lots.entry(month).and_modify(|l| l.points += lot.points).or_insert(lot);
    }
    survivor.pending.append(&mut absorbed.pending);
    survivor.debt += std::mem::take(&mut absorbed.debt);
    survivor.platforms.append(&mut absorbed.platforms);
    survivor.net_debt_against_lots();
    survivor.merged_from.push(absorbed.member_id.clone());
    survivor.merged_from.append(&mut absorbed.merged_from);
    absorbed.merged_into = Some(survivor.member_id.clone());

    let mut out = LedgerEntry::new(LedgerKind::MergedOut, -moved, now);
    out.other_member = Some(survivor.member_id.clone());
    plan.absorbed_entries.push(out);
    let mut incoming = LedgerEntry::new(LedgerKind::MergedIn, moved, now);
    incoming.other_member = Some(absorbed.member_id.clone());
    plan.survivor_entries.push(incoming);
    match (survivor.signup_bonus, absorbed.signup_bonus.take()) {
        (Some(_), Some(extra)) => {
            survivor.debit(extra);
            let mut e = LedgerEntry::new(LedgerKind::SignupBonusReversed, -extra, now);
            e.other_member = Some(absorbed.member_id.clone());
            plan.survivor_entries.push(e);
        }
        (None, Some(bonus)) => survivor.signup_bonus = Some(bonus),
        _ => {}
    }
    plan
}

/// A redemption the balance cannot cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("only {available} points are available")]
pub struct Insufficient {
    pub available: i64,
}

/// Spends `points` (> 0) from the oldest lots, after settling at `now`.
pub fn redeem(
    member: &mut MemberState,
    points: i64,
    reference: &str,
    policy: &PointsPolicy,
    now: DateTime<Utc>,
) -> Result<Vec<LedgerEntry>, Insufficient> {
    let mut entries = member.settle(now, policy);
    let available = member.available();
    if points > available {
        return Err(Insufficient { available });
    }
    member.debit(points);
    let mut entry = LedgerEntry::new(LedgerKind::Redeem, -points, now);
    entry.reference = Some(reference.to_string());
    entries.push(entry);
    Ok(entries)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
