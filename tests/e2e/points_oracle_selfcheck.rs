//! Checks the points generator and oracle on their own (no moto): scale, coverage, and that the
//! oracle's answers do not depend on the delivery order inside a phase.

#[path = "points_oracle/mod.rs"]
mod points_oracle;

use std::collections::{BTreeSet, HashMap};

use points_oracle::generate::{generate, spell_phone, Dataset, Expect, Phase};
use points_oracle::oracle::{self, Delivery, Engine};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn distinct_versions(d: &Dataset, phases: &[usize]) -> usize {
    let mut seen = BTreeSet::new();
    for &i in phases {
        if let Phase::Deliver { orders, .. } = &d.phases[i] {
            for o in orders {
                seen.insert((o.platform.clone(), o.shop_id.clone(), o.order_id.clone(), o.version));
            }
        }
    }
    seen.len()
}

#[test]
fn dataset_has_the_acceptance_scale_and_coverage() {
    let d = generate(7, 2_000);
    let checkpoints = oracle::expected(&d);
    let outcomes = oracle::redemption_expectations(&d);

    // The expectations stored in the dataset are the oracle's.
    for (phase, expects) in d.phases.iter().zip(&outcomes) {
        if let Phase::Redeem { redemptions, .. } = phase {
            let stored: Vec<Expect> = redemptions.iter().map(|r| r.expect.clone()).collect();
            assert_eq!(&stored, expects);
        }
    }

    let v04 = distinct_versions(&d, &[0, 3]);
    let v_all = distinct_versions(&d, &[0, 3, 4]);
    let deliveries: usize =
        d.phases.iter().map(|p| if let Phase::Deliver { orders, .. } = p { orders.len() } else { 0 }).sum();
    assert!(v04 >= 10_000, "{v04} distinct versions in phases 0 and 3");

    let mut customers = BTreeSet::new();
    let mut platforms = BTreeSet::new();
    let mut phone_platforms: HashMap<String, BTreeSet<String>> = HashMap::new();
    let (mut refunds, mut cancels, mut partials) = (0, 0, 0);
    for phase in &d.phases {
        if let Phase::Deliver { orders, .. } = phase {
            for o in orders {
                platforms.insert(o.platform.clone());
                let ids = oracle::order_identities(o);
                if let Some(phone) = ids.iter().find(|i| i.starts_with("phone:")) {
                    phone_platforms.entry(phone.clone()).or_default().insert(o.platform.clone());
                }
                customers.extend(ids);
                match o.status.as_str() {
                    "refunded" => refunds += 1,
                    "cancelled" => cancels += 1,
                    "partially_refunded" => partials += 1,
                    _ => {}
                }
            }
        }
    }
    let shared_phones = phone_platforms.values().filter(|p| p.len() >= 2).count();
    let persons_with_orders: BTreeSet<&str> = d.persons.iter().map(|p| p.phone_e164.as_str()).collect();
    assert!(d.persons.len() >= 2_000 && persons_with_orders.len() == d.persons.len());
    assert!(platforms.len() >= 4, "{platforms:?}");
    assert!(shared_phones >= 200, "{shared_phones} phones on two or more platforms");
    assert!(refunds > 100 && cancels > 100 && partials > 100, "{refunds} {cancels} {partials}");

    let mut engine = Engine::default();
    for phase in &d.phases {
        engine.run_phase(phase);
    }
    let stats = engine.stats.clone();
    assert!(stats.merges >= 100 && stats.bonus_reversals >= 10, "{stats:?}");
    assert!(stats.skipped_signups >= 2 && stats.guest_versions > 0, "{stats:?}");

    let all: Vec<&Expect> = outcomes.iter().flatten().collect();
    let count = |f: &dyn Fn(&Expect) -> bool| all.iter().filter(|e| f(e)).count();
    let (ok, insufficient) = (count(&|e| *e == Expect::Ok), count(&|e| matches!(e, Expect::Insufficient { .. })));
    let (same, other) = (count(&|e| *e == Expect::SameAsBefore), count(&|e| *e == Expect::KeyReusedWithOtherBody));
    assert!(ok > 300 && insufficient > 50 && same > 5 && other > 5, "{ok} {insufficient} {same} {other}");

    // Every checkpoint keeps the audit invariant; debt only with empty lots; debt and merges
    // that net it happen; the 2026-12 lots expire exactly at 2028-01-01T00:00+08:00.
    for c in &checkpoints {
        for m in &c.members {
            assert_eq!(m.ledger_sum, m.available + m.pending - m.debt, "phase {}: {m:?}", c.after_phase);
            assert!(m.debt == 0 || m.lots.is_empty(), "{m:?}");
            assert!(m.lots.values().all(|&p| p > 0), "{m:?}");
            assert!(!m.lookup_phones.is_empty() || !m.lookup_accounts.is_empty(), "unreachable member {m:?}");
            assert!(m.lookup_phones.len() <= 1, "{m:?}");
        }
    }
    let debtors_after = |phase: usize| checkpoints[phase].members.iter().filter(|m| m.debt > 0).count();
    let month_total = |phase: usize, month: &str| -> i64 {
        checkpoints[phase].members.iter().filter_map(|m| m.lots.get(month)).sum()
    };
    assert!(debtors_after(3) >= 50, "{} members in debt after the clawbacks", debtors_after(3));
    assert!(debtors_after(4) < debtors_after(3) && debtors_after(5) < debtors_after(4));
    assert!(month_total(1, "2026-12") > 0 && month_total(1, "2027-01") > 0);
    assert_eq!(checkpoints[6].members, checkpoints[5].members);
    assert_eq!(month_total(7, "2026-12"), 0);
    assert_eq!(month_total(7, "2027-01"), month_total(6, "2027-01"));
    assert_eq!(month_total(8, "2027-01"), 0);
    assert!(month_total(8, "2027-02") > 0);

    // Award per order agrees with the engine's final state.
    let awards = oracle::order_awards(&d);
    assert!(awards.values().any(|&p| p > 0) && awards.values().any(|&p| p == 0));

    // Phone spellings all normalise to the person's number.
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for p in d.persons.iter().take(50) {
        for _ in 0..10 {
            let spelled = spell_phone(&mut rng, &p.phone_e164[3..]);
            assert_eq!(oracle::phone_e164(&spelled).as_deref(), Some(p.phone_e164.as_str()), "{spelled}");
        }
    }

    let members_after = |phase: usize| checkpoints[phase].members.len();
    eprintln!(
        "persons {} | customers (identities) {} | members after phase 0: {} | distinct versions: phases 0+3 {v04}, all {v_all} \
         | order deliveries {deliveries} | platforms {platforms:?} | phones on ≥2 platforms {shared_phones} \
         | refunded {refunds} cancelled {cancels} partially_refunded {partials} (deliveries) | {stats:?} \
         | redemptions ok {ok} 409 {insufficient} same {same} 422 {other} \
         | in debt after phase 3: {}, 4: {}, 5: {} | lots 2026-12 {} 2027-01 {} 2027-02 {} after phase 5",
        d.persons.len(),
        customers.len(),
        members_after(0),
        debtors_after(3),
        debtors_after(4),
        debtors_after(5),
        month_total(5, "2026-12"),
        month_total(5, "2027-01"),
        month_total(5, "2027-02"),
    );
}

/// The oracle gives the same checkpoints whatever the order of deliveries inside a phase:
/// the property the phases are designed for, and what lets the driver deliver concurrently.
#[test]
fn phases_do_not_depend_on_delivery_order() {
    let d = generate(11, 2_000);
    let listed = oracle::run_with(&d, &mut |_, p| oracle::listed_order(p));
    let reversed = oracle::run_with(&d, &mut |_, p| {
        let mut v = oracle::listed_order(p);
        v.reverse(); // orders (reversed) before sign-ups
        v
    });
    assert_eq!(listed, reversed);
    for seed in 0..4 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let shuffled = oracle::run_with(&d, &mut |_, p| {
            let mut v: Vec<Delivery<'_>> = oracle::listed_order(p);
            v.shuffle(&mut rng);
            v
        });
        assert_eq!(listed, shuffled, "shuffle {seed}");
    }
}
