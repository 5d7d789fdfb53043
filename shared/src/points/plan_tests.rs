use super::*;
use crate::canonical::time::DEFAULT_TIME_ZONE;
use crate::points::test_support::{at, order};

fn shop() -> ShopPoints {
    ShopPoints { rule: PointsRule::default(), time_zone: DEFAULT_TIME_ZONE, country: "CN".into() }
}

fn member(id: &str, created: &str) -> MemberState {
    MemberState::new(id.into(), at(created))
}

fn lots(m: &MemberState) -> Vec<(String, i64)> {
    m.lots.iter().map(|(k, l)| (k.clone(), l.points)).collect()
}

const PAID: &str = "2026-11-20T10:00:00+08:00";

#[test]
fn a_paid_order_is_pending_for_the_return_window_then_available() {
    let p = PointsPolicy::default();
    let mut m = member("mem_a", "2026-11-01T00:00:00Z");
    let o = order("paid", &[(1, 12_345, 0, 0)], PAID);
    let plan = apply_order_version(&mut m, &o, None, &shop(), &p, at("2026-11-21T00:00:00Z"));
    let plan = plan.unwrap_or_else(|| panic!("applies"));
    assert_eq!((plan.delta, plan.award.points, plan.award.version), (123, 123, 1));
    assert_eq!(plan.award.matures_at, at("2026-11-27T10:00:00+08:00"));
    assert_eq!((m.pending_points(), m.available()), (123, 0));
    assert_eq!(plan.entries.len(), 1);
    assert!(m.settle(at("2026-11-27T02:00:00Z"), &p).is_empty());
    assert_eq!((m.pending_points(), lots(&m)), (0, vec![("2026-11".into(), 123)]));
}

#[test]
fn versions_apply_the_difference_and_stale_ones_nothing() {
    let p = PointsPolicy::default();
    let mut m = member("mem_a", "2026-11-01T00:00:00Z");
    let now = at("2026-11-21T00:00:00Z");
    let v1 = order("paid", &[(2, 10_000, 0, 0)], PAID);
    let a1 = apply_order_version(&mut m, &v1, None, &shop(), &p, now).map(|p| p.award);
    let mut v2 = order("partially_refunded", &[(2, 10_000, 0, 5_000)], PAID);
    v2.version = 2;
    let plan = apply_order_version(&mut m, &v2, a1.as_ref(), &shop(), &p, now).unwrap_or_else(|| panic!("v2"));
    assert_eq!((plan.delta, m.pending_points()), (-50, 150));
    // v1 again, or v2 again: nothing.
    assert!(apply_order_version(&mut m, &v1, Some(&plan.award), &shop(), &p, now).is_none());
    assert!(apply_order_version(&mut m, &v2, Some(&plan.award), &shop(), &p, now).is_none());
    let mut v3 = order("cancelled", &[(2, 10_000, 0, 0)], PAID);
    v3.version = 3;
    let plan3 = apply_order_version(&mut m, &v3, Some(&plan.award), &shop(), &p, now).unwrap_or_else(|| panic!("v3"));
    assert_eq!((plan3.delta, plan3.award.points, m.pending.len()), (-150, 0, 0));
    assert_eq!(m.balance(), 0);
}

#[test]
fn a_refund_after_the_window_claws_back_from_oldest_lots_then_into_debt() {
    let p = PointsPolicy::default();
    let mut m = member("mem_a", "2026-10-01T00:00:00Z");
    m.credit(30, "2026-10", &p);
    let later = at("2026-12-10T00:00:00Z");
    let v1 = order("paid", &[(1, 10_000, 0, 0)], PAID);
    let a1 = apply_order_version(&mut m, &v1, None, &shop(), &p, at("2026-11-20T03:00:00Z")).map(|p| p.award);
    m.settle(later, &p);
    assert_eq!(lots(&m), vec![("2026-10".into(), 30), ("2026-11".into(), 100)]);
    m.debit(120); // spent
    let mut v2 = order("refunded", &[(1, 10_000, 0, 10_000)], PAID);
    v2.version = 2;
    let plan = apply_order_version(&mut m, &v2, a1.as_ref(), &shop(), &p, later).unwrap_or_else(|| panic!("v2"));
    assert_eq!(plan.delta, -100);
    assert_eq!((m.available(), m.debt, m.balance()), (0, 90, -90));
    // The next order's points pay the debt first once they mature.
    let mut next = order("paid", &[(1, 20_000, 0, 0)], "2026-12-10T10:00:00+08:00");
    next.order_id = "1002".into();
    apply_order_version(&mut m, &next, None, &shop(), &p, later);
    m.settle(at("2026-12-20T00:00:00Z"), &p);
    assert_eq!((m.debt, lots(&m)), (0, vec![("2026-12".into(), 110)]));
}

#[test]
fn a_window_of_zero_makes_points_available_at_once() {
    let p = PointsPolicy::default();
    let mut m = member("mem_a", "2026-11-01T00:00:00Z");
    let s = ShopPoints { rule: PointsRule { return_window_days: 0, ..PointsRule::default() }, ..shop() };
    let o = order("paid", &[(1, 5_000, 0, 0)], PAID);
    apply_order_version(&mut m, &o, None, &s, &p, at("2026-11-20T02:00:00Z"));
    assert_eq!((m.pending_points(), m.available()), (0, 50));
}

#[test]
fn the_signup_bonus_is_granted_once() {
    let p = PointsPolicy::default();
    let mut m = member("mem_a", "2026-11-01T00:00:00Z");
    let now = at("2026-11-20T02:00:00Z");
    let first = grant_signup_bonus(&mut m, 100, now, DEFAULT_TIME_ZONE, &p, now);
    assert_eq!(first.len(), 1);
    assert!(grant_signup_bonus(&mut m, 100, now, DEFAULT_TIME_ZONE, &p, now).is_empty());
    assert_eq!(lots(&m), vec![("2026-11".into(), 100)]);
}

#[test]
fn a_merge_moves_everything_to_the_older_member_and_takes_back_a_second_bonus() {
    let p = PointsPolicy::default();
    let now = at("2026-11-25T00:00:00Z");
    let mut old = member("mem_b", "2026-01-01T00:00:00Z");
    let mut young = member("mem_a", "2026-06-01T00:00:00Z");
    assert!(seniority(&old) < seniority(&young));
    grant_signup_bonus(&mut old, 100, at("2026-10-05T00:00:00Z"), DEFAULT_TIME_ZONE, &p, now);
    grant_signup_bonus(&mut young, 100, at("2026-11-05T00:00:00Z"), DEFAULT_TIME_ZONE, &p, now);
    young.debit(100);
    young.debt = 20; // a clawback beyond the balance
    let o = order("paid", &[(1, 8_000, 0, 0)], PAID);
    apply_order_version(&mut young, &o, None, &shop(), &p, now);
    let total = old.balance() + young.balance();
    assert_eq!(total, 100 - 20 + 80);

    let plan = merge_members(&mut old, &mut young, &p, now);
    // 100 (old bonus) − 20 debt netted from the oldest lot, then the second bonus taken back.
    assert_eq!(old.balance(), total - 100);
    assert_eq!((old.debt, old.pending_points(), lots(&old)), (20, 80, vec![]));
    assert_eq!(young.merged_into.as_deref(), Some("mem_b"));
    assert_eq!(young.balance(), 0);
    assert_eq!(old.merged_from, vec!["mem_a".to_string()]);
    let survivor_sum: i64 = plan.survivor_entries.iter().map(|e| e.points).sum();
    let absorbed_sum: i64 = plan.absorbed_entries.iter().map(|e| e.points).sum();
    assert_eq!((survivor_sum, absorbed_sum), (60 - 100, -60));
    assert_eq!(old.platforms.len(), 1);
}

#[test]
fn redemptions_spend_oldest_lots_and_refuse_more_than_available() {
    let p = PointsPolicy::default();
    let now = at("2026-11-25T00:00:00Z");
    let mut m = member("mem_a", "2026-01-01T00:00:00Z");
    m.credit(40, "2026-10", &p);
    m.credit(60, "2026-11", &p);
    assert_eq!(redeem(&mut m, 101, "r1", &p, now), Err(Insufficient { available: 100 }));
    let entries = redeem(&mut m, 70, "r1", &p, now).unwrap_or_default();
    assert_eq!(entries.last().map(|e| (e.points, e.reference.as_deref())), Some((-70, Some("r1"))));
    assert_eq!(lots(&m), vec![("2026-11".into(), 30)]);
}
