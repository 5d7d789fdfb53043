//! The map/reduce contract: however the inputs are split into chunks and in whatever order and
//! grouping the chunk partials are merged, the result (and the day computed from it) is the
//! same as one pass over everything.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::compute::{compute_day, DayContext, ShopZone};
use super::facts::{absorb_object, InputKind};
use super::partial::Partial;
use super::state::CarriedState;
use super::time::{day_of, parse_instant};

fn d(s: &str) -> i32 {
    day_of(chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date"))
}

/// A few hundred input lines with many versions per order, duplicate movements, competing
/// product records, member links and a merge chain.
fn inputs(seed: u64) -> Vec<(InputKind, String, String)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for o in 0..60 {
        let platform = ["shopify", "pos", "youzan"][o % 3];
        let store = if platform == "pos" { r#","store_id":"S1","salesperson":"Li""# } else { "" };
        for v in 0..rng.gen_range(1..4) {
            let status = if v == 2 && o % 7 == 0 { "cancelled" } else { ["paid", "pending", "shipped"][v] };
            let qty = rng.gen_range(1..4);
            let refund = if v == 2 && o % 5 == 0 {
                format!(
                    r#"[{{"refund_id":"r{o}","at":"2026-10-05T09:00:00Z","lines":[{{"sku":"A","quantity":1,"amount":"3.50"}}]}}]"#
                )
            } else {
                "[]".to_string()
            };
            let line = format!(
                r#"{{"platform":"{platform}","shop_id":"shop{}","order_id":"o{o}","version":{},"status":"{status}","placed_at":"2026-10-05T0{}:15:00+08:00","shipped_at":"2026-10-05T08:00:00Z","currency":"CNY","lines":[{{"sku":"A","quantity":{qty},"unit_price":"10.00","discount":"0.50"}},{{"sku":"B{}","quantity":1,"unit_price":"99.99"}}],"refunds":{refund}{store},"city":"Shanghai","source_raw_key":"raw/{o}/{v}"}}"#,
                o % 2,
                1000 + v,
                v + 1,
                o % 4
            );
            out.push((
                InputKind::Orders,
                format!("canonical/orders/dt=2026-10-05/f{}.jsonl", rng.gen_range(0..6)),
                line,
            ));
            if rng.gen_bool(0.7) {
                let member = format!("m{}", o % 17);
                let line = format!(
                    r#"{{"platform":"{platform}","shop_id":"shop{}","order_id":"o{o}","version":{},"member_id":"{member}"}}"#,
                    o % 2,
                    1000 + v
                );
                out.push((InputKind::OrderMembers, "canonical/order_members/dt=2026-10-05/m.jsonl".into(), line));
            }
        }
    }
    for m in 0..30 {
        let kind = ["receipt", "adjustment", "transfer_out", "count", "po_shipped"][m % 5];
        let line = format!(
            r#"{{"movement_id":"mv{}","type":"{kind}","location_id":"shop{}","sku":"A","quantity":{},"unit_cost":"4.20","at":"2026-10-05T0{}:00:00Z","reference":"PO{}"}}"#,
            m % 20,
            m % 2,
            m + 1,
            m % 9,
            m % 3
        );
        out.push((InputKind::Inventory, format!("canonical/inventory/dt=2026-10-05/i{}.jsonl", m % 3), line));
    }
    for p in 0..8 {
        let line = format!(
            r#"{{"sku":"B{}","name":"b","standard_cost":"{}.00","requires_installation":{},"updated_at":"2026-10-0{}T00:00:00Z"}}"#,
            p % 4,
            p + 1,
            p % 2 == 0,
            1 + p % 3
        );
        out.push((InputKind::Products, format!("canonical/products/p{p}.jsonl"), line));
    }
    for (a, b) in [("m1", "m2"), ("m2", "m3"), ("m5", "m6")] {
        let line = format!(r#"{{"member_id":"{b}","merged_from":["{a}"],"at":"2026-10-05T00:00:00Z"}}"#);
        out.push((InputKind::MemberMerges, "canonical/member_merges/dt=2026-10-05/g.jsonl".into(), line));
    }
    out
}

fn partial_of(lines: &[(InputKind, String, String)]) -> Partial {
    let mut p = Partial::default();
    for (kind, key, line) in lines {
        absorb_object(&mut p, *kind, key, line.as_bytes()).expect("valid line");
    }
    p
}

fn context() -> DayContext {
    let mut shops = std::collections::HashMap::new();
    for s in ["shop0", "shop1"] {
        for f in ["shopify", "youzan", "standard"] {
            shops.insert(
                (f.to_string(), s.to_string()),
                ShopZone { time_zone: chrono_tz::Asia::Shanghai, location_id: None },
            );
        }
    }
    DayContext { day: d("2026-10-05"), business_tz: chrono_tz::Asia::Shanghai, shops, points: None }
}

#[test]
fn any_split_and_merge_order_gives_the_single_pass_partial() {
    for seed in 0..8 {
        let all = inputs(seed);
        let whole = partial_of(&all);
        let mut rng = ChaCha8Rng::seed_from_u64(100 + seed);
        let mut shuffled = all.clone();
        shuffled.shuffle(&mut rng);
        let chunks: Vec<Partial> = shuffled.chunks(rng.gen_range(1..40)).map(partial_of).collect();
        // Left fold in one order …
        let mut left = Partial::default();
        for c in chunks.iter().cloned() {
            left.merge(c);
        }
        // … and a tree of pairwise merges in reverse order.
        let mut level: Vec<Partial> = chunks.into_iter().rev().collect();
        while level.len() > 1 {
            let mut next = Vec::new();
            let mut it = level.into_iter();
            while let Some(mut a) = it.next() {
                if let Some(b) = it.next() {
                    a.merge(b);
                }
                next.push(a);
            }
            level = next;
        }
        let tree = level.pop().unwrap_or_default();
        assert_eq!(left.canonical_view(), whole.canonical_view(), "seed {seed}: left fold");
        assert_eq!(tree.canonical_view(), whole.canonical_view(), "seed {seed}: tree merge");
        let a = compute_day(CarriedState::default(), whole, &context()).expect("day");
        let b = compute_day(CarriedState::default(), tree, &context()).expect("day");
        assert_eq!(a.tables, b.tables, "seed {seed}: tables");
        let (la, lb) = (a.order_lines.to_table().expect("lines"), b.order_lines.to_table().expect("lines"));
        assert!(la.rows() > 0);
        assert_eq!(la, lb, "seed {seed}: order lines");
        // Batches cut at whole orders and add up to the table.
        let batched: usize = a.order_lines.batches(7).map(|t| t.expect("batch").rows()).sum();
        assert_eq!(batched, la.rows());
        assert_eq!(a.state, b.state, "seed {seed}: state");
    }
}

#[test]
fn the_latest_version_wins_whatever_the_arrival_order() {
    let all = inputs(3);
    let whole = partial_of(&all);
    let o0 = whole.orders.values().find(|o| o.ids.order_id() == "o0").expect("o0");
    let max_version =
        all.iter().filter(|(k, _, l)| *k == InputKind::Orders && l.contains(r#""order_id":"o0""#)).count() as i64 + 999;
    assert_eq!(o0.version, max_version);
    assert!(parse_instant("2026-10-05T01:15:00+08:00").is_some());
}

#[test]
fn a_partial_survives_the_trip_through_storage() {
    let p = partial_of(&inputs(5));
    let back = Partial::from_bytes(&p.to_bytes().expect("encode")).expect("decode");
    assert_eq!(back.canonical_view(), p.canonical_view());
    assert!(Partial::from_bytes(b"not gzip").is_err());
}

#[test]
fn parser_threads_sharing_the_order_shards_build_the_same_partial() {
    use super::parallel::{absorb_all, input_channel, InputObject};
    let mut all = inputs(11);
    all.shuffle(&mut ChaCha8Rng::seed_from_u64(5));
    let single = partial_of(&all);
    for threads in [1, 2, 4] {
        let (tx, rx) = input_channel();
        let lines = all.clone();
        let producer = std::thread::spawn(move || {
            // Orders several to an object, as in real files (their object key plays no part);
            // the other kinds one line per object under the key they came from (which does:
            // the first copy of a movement or product record is the one from the smallest key).
            for (i, chunk) in lines.chunks(7).enumerate() {
                let orders: Vec<&str> =
                    chunk.iter().filter(|l| l.0 == InputKind::Orders).map(|l| l.2.as_str()).collect();
                if !orders.is_empty() {
                    let key = format!("canonical/orders/dt=2026-10-05/part-{i}.jsonl");
                    let body = orders.join("\n").into_bytes();
                    tx.blocking_send(InputObject { kind: InputKind::Orders, key, body }).expect("send");
                }
                for (kind, key, line) in chunk.iter().filter(|l| l.0 != InputKind::Orders) {
                    let body = line.clone().into_bytes();
                    tx.blocking_send(InputObject { kind: *kind, key: key.clone(), body }).expect("send");
                }
            }
        });
        let (shared, stats) = absorb_all(threads, rx).expect("absorb");
        producer.join().expect("producer");
        assert_eq!(stats.lines, all.len() as u64, "{threads} threads");
        assert_eq!(shared.canonical_view(), single.canonical_view(), "{threads} threads");
    }
}

#[test]
fn the_day_does_not_depend_on_how_many_threads_fold_the_orders() {
    use super::compute::compute_day_on;
    for seed in 0..4 {
        let partial = partial_of(&inputs(seed));
        let one = compute_day_on(CarriedState::default(), partial.clone(), &context(), 1).expect("day");
        let lines = one.order_lines.to_table().expect("lines");
        assert!(one.stats.orders_counted > 0 && one.stats.refund_lines > 0 && !one.state.shipments.is_empty());
        // More threads than shards too: every group of shards gets a thread, the rest none.
        for threads in [2, 3, 100] {
            let many = compute_day_on(CarriedState::default(), partial.clone(), &context(), threads).expect("day");
            assert_eq!(many.tables, one.tables, "seed {seed}, {threads} threads: tables");
            assert_eq!(many.state, one.state, "seed {seed}, {threads} threads: state");
            assert_eq!(many.stats, one.stats, "seed {seed}, {threads} threads: stats");
            assert_eq!(many.order_lines.to_table().expect("lines"), lines, "seed {seed}, {threads} threads: lines");
        }
    }
}

#[test]
fn the_day_encoded_step_by_step_has_every_table_and_the_same_state() {
    use super::encode::{compute_and_encode_day, DayStep};
    use super::RollupError;
    let partial = partial_of(&inputs(7));
    let whole = compute_day(CarriedState::default(), partial.clone(), &context()).expect("day");
    let mut steps = Vec::new();
    let stored = std::sync::Mutex::new(Vec::<(String, Vec<u8>)>::new());
    let sink = |key: &str, bytes: Vec<u8>| -> Result<(), RollupError> {
        stored.lock().expect("sink").push((key.to_string(), bytes));
        Ok(())
    };
    let day =
        compute_and_encode_day(CarriedState::default(), partial.clone(), &context(), &sink, &mut |s| steps.push(s))
            .expect("encoded day");
    assert_eq!(steps, [DayStep::Fold, DayStep::OrderLines, DayStep::Tables, DayStep::Encode]);
    let mut expected: Vec<(&str, u64)> = vec![("order_lines", whole.order_lines.rows() as u64)];
    expected.extend(whole.tables.iter().map(|t| (t.name, t.rows() as u64)));
    let got: Vec<(&str, u64)> = day.tables.iter().map(|t| (t.name, t.rows)).collect();
    assert_eq!(got, expected);
    assert!(expected[0].1 > 0);
    // Every part went to the sink once, as Parquet, under its table's partition.
    let stored = stored.into_inner().expect("sink");
    let mut keys: Vec<&str> = stored.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort();
    let mut listed: Vec<&str> = day.tables.iter().flat_map(|t| t.parts.iter().map(String::as_str)).collect();
    listed.sort();
    assert_eq!(keys, listed);
    for t in &day.tables {
        assert!(!t.parts.is_empty(), "{}", t.name);
        assert!(t.parts.iter().all(|k| k.contains(&format!("{}/dt=2026-10-05/", t.name))), "{:?}", t.parts);
    }
    assert!(stored.iter().all(|(_, bytes)| bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1")));
    assert_eq!(day.state, whole.state);
    assert_eq!(CarriedState::from_gzip_json(&day.state_bytes).expect("state"), whole.state);
    assert_eq!(day.stats, whole.stats);
    // A sink that fails stops the day with its error.
    let refuse = |key: &str, _: Vec<u8>| -> Result<(), RollupError> {
        Err(RollupError::Unwritable { key: key.to_string(), message: "disk full".into() })
    };
    let failed = compute_and_encode_day(CarriedState::default(), partial, &context(), &refuse, &mut |_| {});
    assert!(matches!(failed, Err(RollupError::Unwritable { .. })));
}
