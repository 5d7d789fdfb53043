//! Benchmark: DynamoDB requests and consumed capacity per order version applied by the points
//! engine, from the capacity figures DynamoDB (here moto server) returns to the SDK.
//!
//! `cargo run --release -p omnilake-e2e --bin points_capacity [persons]`
//!
//! Replays the oracle dataset's first phase (first versions and updates of every order, with
//! 1–5 copies of each delivery, shuffled, plus sign-ups) on one worker, then prints requests,
//! read and write capacity units per distinct order version and per delivery.

#[path = "../../e2e/points_oracle/mod.rs"]
mod points_oracle;

use std::collections::BTreeSet;

use omnilake::points::ShopPoints;
use omnilake_e2e::{points_store, Moto};
use points_oracle::generate::{generate, Phase};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let persons: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(500);
    let dataset = generate(11, persons);
    let Some(Phase::Deliver { now, orders, signups }) = dataset.phases.first() else {
        anyhow::bail!("the dataset starts with a delivery phase");
    };
    let moto = Moto::start()?;
    let store = points_store(&moto).await?;
    let shop = ShopPoints::default();
    for s in signups {
        store.apply_signup(s, &shop, *now).await?;
    }
    let before = store.usage();
    let started = std::time::Instant::now();
    for o in orders {
        store.apply_order(o, &shop, *now).await?;
    }
    let elapsed = started.elapsed();
    let after = store.usage();
    let versions: BTreeSet<_> = orders.iter().map(|o| (&o.platform, &o.shop_id, &o.order_id, o.version)).collect();
    let requests = (after.requests - before.requests) as f64;
    let rcu = after.read_capacity_units - before.read_capacity_units;
    let wcu = after.write_capacity_units - before.write_capacity_units;
    let est = after.estimated_write_capacity_units - before.estimated_write_capacity_units;
    let (v, d) = (versions.len() as f64, orders.len() as f64);
    println!(
        "{} deliveries of {} distinct order versions ({} persons) in {:.1?}",
        orders.len(),
        versions.len(),
        persons,
        elapsed
    );
    println!(
        "per distinct version: {:.2} requests, {:.2} RCU, {:.2} WCU reported, {:.2} WCU by transactional pricing",
        requests / v,
        rcu / v,
        wcu / v,
        est / v
    );
    println!(
        "per delivery:         {:.2} requests, {:.2} RCU, {:.2} WCU reported, {:.2} WCU by transactional pricing",
        requests / d,
        rcu / d,
        wcu / d,
        est / d
    );
    println!("(moto reports consumed capacity for reads but none for TransactWriteItems)");
    println!("retries after lost races: {}", after.retries - before.retries);
    Ok(())
}
