//! The acceptance oracle test for members and points: a generated dataset (≥ 10,000 order
//! versions, ≥ 2,000 customers, shared phones across platforms, refunds, cancellations,
//! sign-ups, redemptions) delivered with 1–5 copies of everything, shuffled, by 8 concurrent
//! workers against moto. After every phase the stored members must equal an independent oracle
//! (`points_oracle/oracle.rs`, written from docs/points.md only), and the audit must be clean.

#[path = "points_oracle/mod.rs"]
mod points_oracle;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use omnilake::aws::points::{PointsError, PointsStore, Redeemed, RedemptionRequest, TableContents};
use omnilake::points::ShopPoints;
use omnilake_e2e::{points_store, Moto};
use points_oracle::generate::{generate, Expect, Phase, Redemption};
use points_oracle::oracle::{self, Checkpoint};

const WORKERS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn members_and_balances_equal_an_independent_oracle() {
    let dataset = generate(7, 2_000);
    let checkpoints = oracle::expected(&dataset);
    let redemption_expectations = oracle::redemption_expectations(&dataset);
    let moto = Moto::start().unwrap_or_else(|e| panic!("moto: {e}"));
    let store = Arc::new(points_store(&moto).await.unwrap_or_else(|e| panic!("{e}")));
    let started = std::time::Instant::now();
    let mut deliveries = 0;

    for (i, phase) in dataset.phases.iter().enumerate() {
        match phase {
            Phase::Deliver { now, orders, signups } => {
                deliveries += orders.len() + signups.len();
                let now = *now;
                run_workers(signups.len() + orders.len(), {
                    let (store, orders, signups) = (store.clone(), Arc::new(orders.clone()), Arc::new(signups.clone()));
                    move |n| {
                        let (store, orders, signups) = (store.clone(), orders.clone(), signups.clone());
                        async move {
                            let shop = ShopPoints::default();
                            let result = if n < signups.len() {
                                store.apply_signup(&signups[n], &shop, now).await.map(|_| ())
                            } else {
                                store.apply_order(&orders[n - signups.len()], &shop, now).await.map(|_| ())
                            };
                            result.unwrap_or_else(|e| panic!("delivery {n}: {e}"));
                        }
                    }
                })
                .await;
            }
            Phase::Settle { now } => {
                store.settle_all(*now).await.unwrap_or_else(|e| panic!("settle: {e}"));
            }
            Phase::Redeem { now, redemptions } => {
                redeem_phase(&store, *now, redemptions, &redemption_expectations[i]).await;
            }
        }
        let contents = store.scan_all().await.unwrap_or_else(|e| panic!("scan: {e}"));
        compare(&store, &contents, &checkpoints[i]);
        eprintln!(
            "phase {i} matches the oracle ({} members, {:.0?} so far)",
            checkpoints[i].members.len(),
            started.elapsed()
        );
    }

    // The audit: ledgers add up, and each order's award is the rule on its latest version.
    let orders: Vec<_> = dataset
        .phases
        .iter()
        .filter_map(|p| match p {
            Phase::Deliver { orders, .. } => Some(orders.iter()),
            _ => None,
        })
        .flatten()
        .collect();
    let shop = ShopPoints::default();
    let report = store.audit(orders.iter().map(|o| (*o, &shop))).await.unwrap_or_else(|e| panic!("audit: {e}"));
    assert_eq!(report.mismatches, vec![], "audit mismatches");
    let expected_awards = oracle::order_awards(&dataset);
    assert_eq!(report.orders_checked, expected_awards.len());
    let contents = store.scan_all().await.unwrap_or_else(|e| panic!("scan: {e}"));
    for ((platform, shop_id, order_id), points) in &expected_awards {
        let award = contents.awards.get(&format!("{platform}#{shop_id}#{order_id}"));
        assert_eq!(award.map(|a| a.points), Some(*points), "award of {platform}/{shop_id}/{order_id}");
    }
    let usage = store.usage();
    eprintln!(
        "{deliveries} deliveries by {WORKERS} workers in {:.1?}: {} DynamoDB requests, {} retries; audit {:?} members, {} awards",
        started.elapsed(),
        usage.requests,
        usage.retries,
        report.members,
        report.awards
    );
}

/// Runs `job(0..count)` on `WORKERS` concurrent workers taking the next index as they go.
async fn run_workers<F, Fut>(count: usize, job: F)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (next, job) = (next.clone(), job.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count {
                        return;
                    }
                    job(n).await;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap_or_else(|e| panic!("worker: {e}"));
    }
}

/// One person's redemptions in order, different persons concurrently.
async fn redeem_phase(
    store: &Arc<PointsStore>,
    now: chrono::DateTime<chrono::Utc>,
    redemptions: &[Redemption],
    expectations: &[Expect],
) {
    let mut by_person: BTreeMap<usize, Vec<(Redemption, Expect)>> = BTreeMap::new();
    for (r, e) in redemptions.iter().zip(expectations) {
        assert_eq!(&r.expect, e, "the generator's expectation is the oracle's");
        by_person.entry(r.person).or_default().push((r.clone(), e.clone()));
    }
    let people = Arc::new(by_person.into_values().collect::<Vec<_>>());
    let store = store.clone();
    run_workers(people.len(), move |n| {
        let (store, people) = (store.clone(), people.clone());
        async move {
            let mut first_receipts = BTreeMap::new();
            for (r, expect) in &people[n] {
                let member = store.member_by_phone(&r.lookup_phone, "CN", now).await;
                let member = member.ok().flatten().unwrap_or_else(|| panic!("no member for {}", r.lookup_phone));
                let req = RedemptionRequest { points: r.points, reference: r.reference.clone() };
                let got = store.redeem(&member.member_id, &r.key, &req, now).await;
                match (expect, got) {
                    (Expect::Ok, Ok(Redeemed::Done(receipt))) => {
                        first_receipts.insert(r.key.clone(), receipt);
                    }
                    (Expect::SameAsBefore, Ok(Redeemed::Replayed(receipt))) => {
                        assert_eq!(first_receipts.get(&r.key), Some(&receipt), "replayed answer");
                    }
                    (Expect::Insufficient { available }, Err(PointsError::Insufficient { available: got })) => {
                        assert_eq!(*available, got, "409 available for {}", r.key);
                    }
                    (Expect::KeyReusedWithOtherBody, Err(PointsError::KeyReused(_))) => {}
                    (expect, got) => panic!("redemption {}: expected {expect:?}, got {got:?}", r.key),
                }
            }
        }
    })
    .await;
}

/// Every oracle member is exactly one live stored member with the same balances and lots.
fn compare(store: &PointsStore, contents: &TableContents, checkpoint: &Checkpoint) {
    let members: BTreeMap<&str, &omnilake::points::MemberState> =
        contents.members.iter().map(|m| (m.member_id.as_str(), m)).collect();
    let live_of = |id: &str| {
        let mut id = id.to_string();
        while let Some(next) = members.get(id.as_str()).and_then(|m| m.merged_into.clone()) {
            id = next;
        }
        id
    };
    let hasher = store.hasher();
    let live_count = contents.members.iter().filter(|m| m.merged_into.is_none()).count();
    assert_eq!(live_count, checkpoint.members.len(), "live members after phase {}", checkpoint.after_phase);
    let mut seen = BTreeSet::new();
    for expected in &checkpoint.members {
        let mut keys: Vec<String> = expected
            .lookup_phones
            .iter()
            .filter_map(|p| hasher.phone(p, "CN"))
            .chain(expected.lookup_emails.iter().filter_map(|e| hasher.email(e)))
            .map(|i| i.key())
            .collect();
        keys.extend(expected.lookup_accounts.iter().map(|a| format!("identity#account#{a}")));
        let ids: BTreeSet<String> = keys
            .iter()
            .map(|k| live_of(contents.identities.get(k).unwrap_or_else(|| panic!("identity {k} not stored"))))
            .collect();
        assert_eq!(ids.len(), 1, "one person's identities resolve to {ids:?} (phones {:?})", expected.lookup_phones);
        let id = ids.into_iter().next().unwrap_or_default();
        assert!(seen.insert(id.clone()), "two oracle members resolve to {id}");
        let m = members[id.as_str()];
        let lots: BTreeMap<String, i64> = m.lots.iter().map(|(k, l)| (k.clone(), l.points)).collect();
        let got = (m.available(), m.pending_points(), m.debt, lots, contents.ledger_sums.get(&id).map_or(0, |s| s.0));
        let want = (expected.available, expected.pending, expected.debt, expected.lots.clone(), expected.ledger_sum);
        assert_eq!(
            got, want,
            "member {id} (phones {:?}) after phase {}",
            expected.lookup_phones, checkpoint.after_phase
        );
    }
}
