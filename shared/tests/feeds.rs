//! Feed files (`incoming/…`) through `omnilake::feed::plan_feed_file`, and raw events through
//! `omnilake::normalize` to gzipped JSON Lines and back. Expected values are read off
//! `fixtures/feeds/` by hand.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use omnilake::canonical::{
    CanonicalOrder, CanonicalRecord, InventoryMovement, MovementType, OrderStatus, Product, RecordKind,
};
use omnilake::feed::{plan_feed_file, records_from_event, FeedEvent, FeedPlan, FeedSource};
use omnilake::normalize::{normalize_event, plan_canonical_files, read_jsonl_gz, DatedRecord, EventOutcome};
use omnilake::quarantine::QuarantineEntry;
use omnilake::raw::{RawKey, RawMetadata};
use omnilake::shop::ShopSettings;
use omnilake::Money;

mod common;
use common::{feed_fixture, m, platform_fixture, t};

fn now() -> DateTime<Utc> {
    t("2026-11-21T12:00:00+08:00")
}

fn feed_ctx() -> ShopSettings {
    ShopSettings { time_zone: chrono_tz::Asia::Shanghai, currency: "CNY".into() }
}

fn plan(key: &str, bytes: &[u8]) -> FeedPlan {
    plan_at(key, bytes, now())
}

fn plan_at(key: &str, bytes: &[u8], at: DateTime<Utc>) -> FeedPlan {
    let source = FeedSource::from_key(key).expect("an incoming/ key");
    plan_feed_file(&source, bytes, &feed_ctx(), at).expect("file is readable")
}

/// The canonical records of every planned event, in plan order.
fn records(plan: &FeedPlan) -> Vec<CanonicalRecord> {
    plan.events
        .iter()
        .flat_map(|e| {
            let event: FeedEvent = serde_json::from_slice(&e.body).expect("event body is a FeedEvent");
            records_from_event(&event, &feed_ctx()).expect("a planned event normalises")
        })
        .collect()
}

fn orders(plan: &FeedPlan) -> Vec<CanonicalOrder> {
    records(plan)
        .into_iter()
        .map(|r| match r {
            CanonicalRecord::Order(o) => *o,
            other => panic!("expected an order, got {other:?}"),
        })
        .collect()
}

fn movements(plan: &FeedPlan) -> Vec<InventoryMovement> {
    records(plan)
        .into_iter()
        .map(|r| match r {
            CanonicalRecord::Inventory(mv) => mv,
            other => panic!("expected a movement, got {other:?}"),
        })
        .collect()
}

fn event_keys(plan: &FeedPlan) -> Vec<String> {
    plan.events.iter().map(|e| RawKey::parse(&e.key).expect("a raw/ key").event_key).collect()
}

fn quarantined(plan: &FeedPlan) -> Vec<QuarantineEntry> {
    plan.quarantined
        .iter()
        .map(|q| serde_json::from_slice(&q.body).expect("quarantine body is a QuarantineEntry"))
        .collect()
}

#[track_caller]
fn assert_lines(o: &CanonicalOrder, expected: &[(&str, i64, &str, &str)]) {
    let got: Vec<(&str, i64, Money, Money)> =
        o.lines.iter().map(|l| (l.sku.as_str(), l.quantity, l.unit_price, l.discount)).collect();
    let want: Vec<(&str, i64, Money, Money)> = expected.iter().map(|&(s, q, p, d)| (s, q, m(p), m(d))).collect();
    assert_eq!(got, want, "lines of {}", o.order_id);
}

/// gross_sales, discounts, subtotal, refunds, net_sales, total_paid.
#[track_caller]
fn assert_totals(o: &CanonicalOrder, expected: [&str; 6]) {
    let t = o.totals();
    assert_eq!(
        [t.gross_sales, t.discounts, t.subtotal, t.refunds, t.net_sales, t.total_paid],
        expected.map(m),
        "totals of {}",
        o.order_id
    );
}

// ---------------------------------------------------------------------------------------------
// fixture files

#[test]
fn pos_orders_csv_groups_rows_by_order() {
    let p = plan("incoming/orders/qingquan-pos/2026-11-21.csv", &feed_fixture("orders_pos.csv"));
    assert_eq!((p.rows, p.bad_rows), (10, 0));
    assert!(p.quarantined.is_empty());
    assert_eq!(p.events.len(), 5, "five order ids over ten rows");
    let lines_meta: Vec<&str> =
        p.events.iter().map(|e| e.metadata.get("omnilake-source-lines").expect("source lines").as_str()).collect();
    assert_eq!(lines_meta, ["2,3", "4,5", "6,7", "8", "9,10,11"]);

    let o = orders(&p);
    let ids: Vec<&str> = o.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "POS-SZNS-20261121-0001",
            "POS-SZNS-20261121-0002",
            "POS-SHXH-20261121-0001",
            "POS-GZTH-20261121-0001",
            "POS-GZTH-20261121-0002"
        ]
    );
    for order in &o {
        assert_eq!(
            (order.platform.as_str(), order.shop_id.as_str(), order.currency.as_str()),
            ("pos", "qingquan-pos", "CNY")
        );
    }

    let a = &o[0];
    assert_eq!(a.status, OrderStatus::Paid);
    assert_eq!(a.placed_at, t("2026-11-21T10:05:12+08:00"));
    assert_eq!(a.paid_at, Some(t("2026-11-21T10:05:12+08:00")), "paid at the till");
    assert_eq!(a.version, t("2026-11-21T10:06:40+08:00").timestamp_millis(), "updated_at");
    assert_eq!(a.store_id.as_deref(), Some("SZ-NS-01"));
    assert_eq!(a.salesperson.as_deref(), Some("王芳"));
    assert_eq!(a.city.as_deref(), Some("深圳"));
    assert_eq!(a.customer.phone.as_deref(), Some("13800138021"));
    assert_eq!(a.customer.email, None);
    assert_lines(a, &[("WP-RO-500", 1, "2999.00", "200.00"), ("FLT-PP-10", 2, "39.00", "0.00")]);
    assert_totals(a, ["3077.00", "200.00", "2877.00", "0.00", "2877.00", "2877.00"]);

    let b = &o[1];
    assert_eq!(b.salesperson.as_deref(), Some("李强"));
    assert_eq!(b.customer.phone.as_deref(), Some("+86 138 0013 8022"));
    assert_eq!(b.customer.email.as_deref(), Some("Chen.Jie@Example.cn"));
    assert_lines(b, &[("FLT-PP-10", 6, "39.00", "14.00"), ("FLT-CTO-10", 3, "59.00", "0.00")]);
    assert_totals(b, ["411.00", "14.00", "397.00", "0.00", "397.00", "397.00"]);

    let c = &o[2];
    assert_eq!((c.store_id.as_deref(), c.city.as_deref()), (Some("SH-XH-01"), Some("上海")));
    assert_lines(c, &[("WP-UF-200", 1, "899.00", "0.00"), ("ACC-FAUCET-01", 1, "129.00", "29.00")]);
    assert_totals(c, ["1028.00", "29.00", "999.00", "0.00", "999.00", "999.00"]);

    let d = &o[3];
    assert_eq!(d.status, OrderStatus::Cancelled);
    assert_eq!(d.paid_at, None, "a cancelled POS order was not paid");
    assert_eq!(d.version, t("2026-11-21T16:25:41+08:00").timestamp_millis());
    assert_lines(d, &[("WP-RO-400", 1, "1999.00", "0.00")]);

    let e = &o[4];
    assert_eq!(e.customer.email.as_deref(), Some("huang.wei@example.cn"));
    assert_lines(
        e,
        &[
            ("WP-RO-400", 1, "1999.00", "100.00"),
            ("FLT-RO-500", 1, "399.00", "0.00"),
            ("ACC-TDS-01", 1, "29.00", "29.00"),
        ],
    );
    assert_totals(e, ["2427.00", "129.00", "2298.00", "0.00", "2298.00", "2298.00"]);
}

#[test]
fn gbk_orders_decode_and_match_their_utf8_twin() {
    let gbk = feed_fixture("orders_pos_gbk.csv");
    assert!(std::str::from_utf8(&gbk).is_err(), "the fixture really is GBK");
    let p = plan("incoming/orders/qingquan-pos/pos_gbk.csv", &gbk);
    assert_eq!((p.rows, p.bad_rows, p.events.len()), (4, 0, 2));
    let o = orders(&p);
    assert_eq!(o[0].salesperson.as_deref(), Some("王芳"));
    assert_eq!(o[0].city.as_deref(), Some("深圳"));
    assert_eq!(o[1].salesperson.as_deref(), Some("李强"));
    assert_eq!(o[1].city.as_deref(), Some("深圳"));

    // The same rows as the first four of orders_pos.csv: same orders, same event keys.
    let utf8 = plan("incoming/orders/qingquan-pos/2026-11-21.csv", &feed_fixture("orders_pos.csv"));
    assert_eq!(o, orders(&utf8)[..2]);
    assert_eq!(event_keys(&p), event_keys(&utf8)[..2]);
}

fn expected_movements() -> Vec<InventoryMovement> {
    let mv = |id: &str,
              kind,
              loc: &str,
              sku: &str,
              qty,
              cost: Option<&str>,
              at: &str,
              reference: &str,
              expected: Option<&str>| {
        InventoryMovement {
            movement_id: id.into(),
            movement_type: kind,
            location_id: loc.into(),
            sku: sku.into(),
            quantity: qty,
            unit_cost: cost.map(m),
            at: t(at),
            reference: Some(reference.into()),
            expected_at: expected.map(t),
            source_raw_key: String::new(),
        }
    };
    use MovementType::*;
    vec![
        mv(
            "MV-20261115-0001",
            PoShipped,
            "WH-SZ",
            "WP-RO-600",
            20,
            None,
            "2026-11-15T09:00:00+08:00",
            "PO-2026-1101",
            Some("2026-11-18T10:00:00+08:00"),
        ),
        mv(
            "MV-20261118-0002",
            Receipt,
            "WH-SZ",
            "WP-RO-600",
            20,
            Some("1780.00"),
            "2026-11-18T10:30:00+08:00",
            "PO-2026-1101",
            None,
        ),
        mv(
            "MV-20261118-0003",
            Receipt,
            "WH-SZ",
            "FLT-PP-10",
            200,
            Some("8.50"),
            "2026-11-18T10:45:00+08:00",
            "PO-2026-1102",
            None,
        ),
        mv(
            "MV-20261118-0004",
            Receipt,
            "WH-SZ",
            "FLT-CTO-10",
            120,
            Some("12.80"),
            "2026-11-18T10:45:00+08:00",
            "PO-2026-1102",
            None,
        ),
        mv(
            "MV-20261119-0005",
            TransferOut,
            "WH-SZ",
            "FLT-PP-10",
            50,
            None,
            "2026-11-19T09:10:00+08:00",
            "TR-2026-0031",
            None,
        ),
        mv(
            "MV-20261119-0006",
            TransferIn,
            "SZ-NS-01",
            "FLT-PP-10",
            50,
            None,
            "2026-11-19T15:40:00+08:00",
            "TR-2026-0031",
            None,
        ),
        mv(
            "MV-20261119-0007",
            TransferOut,
            "WH-SZ",
            "WP-RO-600",
            4,
            None,
            "2026-11-19T09:10:00+08:00",
            "TR-2026-0032",
            None,
        ),
        mv(
            "MV-20261120-0008",
            TransferIn,
            "SZ-NS-01",
            "WP-RO-600",
            4,
            None,
            "2026-11-20T11:00:00+08:00",
            "TR-2026-0032",
            None,
        ),
        mv(
            "MV-20261121-0009",
            TransferOut,
            "WH-SZ",
            "FLT-CTO-10",
            30,
            None,
            "2026-11-21T09:00:00+08:00",
            "TR-2026-0033",
            None,
        ),
        mv(
            "MV-20261121-0010",
            Adjustment,
            "SZ-NS-01",
            "FLT-PP-10",
            -2,
            None,
            "2026-11-21T18:30:00+08:00",
            "ADJ-2026-0012",
            None,
        ),
        mv(
            "MV-20261122-0011",
            Count,
            "SZ-NS-01",
            "FLT-PP-10",
            45,
            None,
            "2026-11-22T21:00:00+08:00",
            "CNT-2026-W47",
            None,
        ),
        mv(
            "MV-20261122-0012",
            PoShipped,
            "WH-SZ",
            "FLT-RO-500",
            60,
            None,
            "2026-11-22T14:00:00+08:00",
            "PO-2026-1103",
            Some("2026-11-26T10:00:00+08:00"),
        ),
    ]
}

#[test]
fn inventory_csv_and_jsonl_give_the_same_movements() {
    let csv = plan("incoming/inventory/qingquan-pos/movements.csv", &feed_fixture("inventory.csv"));
    let jsonl = plan("incoming/inventory/qingquan-pos/movements.jsonl", &feed_fixture("inventory.jsonl"));
    for p in [&csv, &jsonl] {
        assert_eq!((p.rows, p.bad_rows, p.events.len()), (12, 0, 12));
    }
    let from_csv = movements(&csv);
    assert_eq!(from_csv, expected_movements());
    assert_eq!(movements(&jsonl), from_csv);
    // JSONL has no header: its first record is line 1.
    assert_eq!(jsonl.events[0].metadata.get("omnilake-source-lines").map(String::as_str), Some("1"));
    assert_eq!(csv.events[0].metadata.get("omnilake-source-lines").map(String::as_str), Some("2"));
}

#[test]
fn products_csv() {
    let p = plan("incoming/products/catalog.csv", &feed_fixture("products.csv"));
    assert_eq!((p.rows, p.bad_rows, p.events.len()), (14, 0, 14));
    assert!(p.events[0].key.starts_with("raw/platform=feed/shop=erp/"), "no shop folder: the ERP shop");
    let products: Vec<Product> = records(&p)
        .into_iter()
        .map(|r| match r {
            CanonicalRecord::Product(p) => p,
            other => panic!("expected a product, got {other:?}"),
        })
        .collect();
    let skus: Vec<&str> = products.iter().map(|p| p.sku.as_str()).collect();
    assert_eq!(skus.len(), 14);
    assert_eq!(skus[0], "WP-RO-400");
    assert_eq!(skus[13], "ACC-TANK-3G");
    let product = |sku: &str| products.iter().find(|p| p.sku == sku).expect("sku in catalog");
    assert_eq!(
        product("WP-RO-400"),
        &Product {
            sku: "WP-RO-400".into(),
            name: "RO反渗透净水器 400G".into(),
            category: Some("purifier".into()),
            standard_cost: Some(m("980.00")),
            requires_installation: true,
            is_consumable: false,
            updated_at: None,
            source_raw_key: String::new(),
        }
    );
    let pp = product("FLT-PP-10");
    assert_eq!(
        (pp.name.as_str(), pp.category.as_deref(), pp.standard_cost),
        ("PP棉滤芯 10寸", Some("filter"), Some(m("8.50")))
    );
    assert!(!pp.requires_installation && pp.is_consumable);
    let tank = product("ACC-TANK-3G");
    assert_eq!((tank.name.as_str(), tank.standard_cost), ("3.2加仑压力储水桶", Some(m("85.00"))));
    assert!(!tank.requires_installation && !tank.is_consumable);
}

// ---------------------------------------------------------------------------------------------
// the acceptance case: 1,000 rows, 3 bad

const BAD_QUANTITY_ROW: usize = 7;
const MISSING_SKU_ROW: usize = 500;
const BAD_TIME_ROW: usize = 1000;

/// Header + 1,000 inventory movements; data row k is on line k + 1.
fn thousand_movements() -> Vec<u8> {
    let mut text = String::from("movement_id,type,location_id,sku,quantity,unit_cost,at,reference,expected_at\n");
    for k in 1..=1000usize {
        let sku = if k == MISSING_SKU_ROW { String::new() } else { format!("FLT-{:02}", k % 17) };
        let quantity = if k == BAD_QUANTITY_ROW { "abc".to_string() } else { (k % 50 + 1).to_string() };
        let at = if k == BAD_TIME_ROW {
            "2026-11-31 25:61:00".to_string()
        } else {
            format!("2026-11-{:02}T{:02}:{:02}:00+08:00", 1 + k % 28, k % 24, k % 60)
        };
        text.push_str(&format!("MV-ACC-{k:04},transfer_in,SZ-NS-01,{sku},{quantity},,{at},TR-{k},\n"));
    }
    text.into_bytes()
}

#[test]
fn a_thousand_rows_with_three_bad_ones() {
    let bytes = thousand_movements();
    let key = "incoming/inventory/qingquan-pos/2026-11-21-erp.csv";
    let p = plan(key, &bytes);
    assert_eq!(p.rows, 1000);
    assert_eq!(p.bad_rows, 3);
    assert_eq!(p.events.len(), 997);
    assert_eq!(p.quarantined.len(), 3);

    let entries = quarantined(&p);
    let by_line: BTreeMap<u64, &QuarantineEntry> =
        entries.iter().map(|e| (e.line.expect("feed entries have a line"), e)).collect();
    let lines: Vec<u64> = by_line.keys().copied().collect();
    assert_eq!(
        lines,
        [BAD_QUANTITY_ROW as u64 + 1, MISSING_SKU_ROW as u64 + 1, BAD_TIME_ROW as u64 + 1],
        "header is line 1"
    );
    for e in &entries {
        assert_eq!(e.stage, "feed");
        assert_eq!(e.source_key, key);
        assert_eq!(e.quarantined_at, now());
    }
    let quantity = by_line[&8];
    assert!(quantity.reason.contains("quantity") && quantity.reason.contains("abc"), "{}", quantity.reason);
    assert!(quantity.reason.contains("line 8"), "{}", quantity.reason);
    assert!(quantity.row.as_deref().is_some_and(|r| r.contains("MV-ACC-0007") && r.contains("abc")));
    let sku = by_line[&501];
    assert!(sku.reason.contains("`sku` is missing"), "{}", sku.reason);
    assert!(sku.row.as_deref().is_some_and(|r| r.contains("MV-ACC-0500")));
    let time = by_line[&1001];
    assert!(time.reason.contains("`at`") && time.reason.contains("2026-11-31 25:61:00"), "{}", time.reason);
    // Each bad row has its own quarantine object, named after the line.
    let qkeys: BTreeSet<&str> = p.quarantined.iter().map(|q| q.key.as_str()).collect();
    assert_eq!(qkeys.len(), 3);
    assert!(p.quarantined.iter().any(|q| q.key.ends_with("-line-501.json")), "{qkeys:?}");

    // The good rows all land, each once, and none of the bad ones.
    let keys = event_keys(&p);
    assert_eq!(keys.iter().collect::<BTreeSet<_>>().len(), 997, "no two events share a key");
    let ids: BTreeSet<String> = movements(&p).into_iter().map(|mv| mv.movement_id).collect();
    assert_eq!(ids.len(), 997);
    for bad in [BAD_QUANTITY_ROW, MISSING_SKU_ROW, BAD_TIME_ROW] {
        assert!(!ids.contains(&format!("MV-ACC-{bad:04}")));
    }
    assert!(ids.contains("MV-ACC-0001") && ids.contains("MV-ACC-0999"));
}

#[test]
fn re_uploading_the_same_bytes_lands_nothing_new() {
    let bytes = thousand_movements();
    let first = plan("incoming/inventory/qingquan-pos/2026-11-21-erp.csv", &bytes);
    let again = plan("incoming/inventory/qingquan-pos/copy of 2026-11-21-erp (1).csv", &bytes);
    let full_keys = |p: &FeedPlan| p.events.iter().map(|e| e.key.clone()).collect::<BTreeSet<_>>();
    assert_eq!(full_keys(&first).len(), 997);
    assert_eq!(full_keys(&again), full_keys(&first), "same day, other name: the same raw objects");
    // Uploaded again a day later: the event keys are still the same.
    let later = plan_at("incoming/inventory/qingquan-pos/resend.csv", &bytes, t("2026-11-22T12:00:00+08:00"));
    assert_eq!(
        event_keys(&later).into_iter().collect::<BTreeSet<_>>(),
        event_keys(&first).into_iter().collect::<BTreeSet<_>>()
    );
    assert_eq!(later.quarantined.len(), 3);
}

#[test]
fn one_bad_line_holds_back_its_whole_pos_order() {
    let csv = "order_id,store_id,salesperson,placed_at,status,phone,sku,quantity,unit_price,discount\n\
               POS-A,SZ-NS-01,王芳,2026-11-21T10:05:12+08:00,paid,13800138021,WP-RO-500,1,2999.00,200.00\n\
               POS-B,SZ-NS-01,王芳,2026-11-21T10:30:00+08:00,paid,13800138022,FLT-PP-10,2,39.00,0.00\n\
               POS-A,SZ-NS-01,王芳,2026-11-21T10:05:12+08:00,paid,13800138021,FLT-PP-10,two,39.00,0.00\n\
               POS-A,SZ-NS-01,王芳,2026-11-21T10:05:12+08:00,paid,13800138021,FLT-CTO-10,1,59.00,0.00\n";
    let p = plan("incoming/orders/qingquan-pos/till-3.csv", csv.as_bytes());
    assert_eq!(p.rows, 4);
    assert_eq!(p.events.len(), 1, "only POS-B lands");
    let landed = orders(&p);
    assert_eq!(landed[0].order_id, "POS-B");
    assert_lines(&landed[0], &[("FLT-PP-10", 2, "39.00", "0.00")]);

    let entries = quarantined(&p);
    let lines: BTreeSet<u64> = entries.iter().filter_map(|e| e.line).collect();
    assert_eq!(lines, BTreeSet::from([2, 4, 5]), "every row of POS-A");
    assert_eq!(p.bad_rows, 3);
    for e in &entries {
        assert!(e.reason.contains("line 4") && e.reason.contains("`quantity` = `two`"), "{}", e.reason);
        assert!(e.reason.contains("2, 4, 5") && e.reason.contains("held back"), "{}", e.reason);
        assert!(e.row.as_deref().is_some_and(|r| r.contains("POS-A")));
    }
}

// ---------------------------------------------------------------------------------------------
// normalize: raw event → records → gzipped JSON Lines → the same JSON

fn meta(format: &str, shop_id: &str, topic: &str, received_at: DateTime<Utc>) -> RawMetadata {
    RawMetadata {
        format: format.into(),
        shop_id: shop_id.into(),
        topic: topic.into(),
        received_at,
        extra: BTreeMap::new(),
    }
}

fn raw_key(platform: &str, shop_id: &str, event_key: &str) -> String {
    RawKey {
        platform: platform.into(),
        shop_id: shop_id.into(),
        date: "2026-11-25".parse().expect("date"),
        event_key: event_key.into(),
    }
    .to_key()
}

fn records_of(outcome: EventOutcome) -> Vec<DatedRecord> {
    match outcome {
        EventOutcome::Records(r) => r,
        EventOutcome::Quarantine { entry, .. } => panic!("unexpected quarantine: {}", entry.reason),
    }
}

fn shanghai() -> ShopSettings {
    ShopSettings { time_zone: chrono_tz::Asia::Shanghai, currency: "CNY".into() }
}

#[test]
fn normalized_records_survive_the_gzipped_jsonl_round_trip() {
    let received = t("2026-11-25T10:00:00+08:00");
    let new_york = ShopSettings { time_zone: chrono_tz::America::New_York, currency: "USD".into() };
    let order_key = raw_key("shopify", "qingquan-us", "shopify-w-after-refund");
    let mut all = Vec::new();

    let order = records_of(normalize_event(
        &order_key,
        &meta("shopify", "qingquan-us", "orders/updated", received),
        &platform_fixture("shopify/orders_updated_after_refund.json"),
        &new_york,
        received,
    ));
    assert_eq!(order.len(), 1);
    assert_eq!(order[0].date, "2026-11-20".parse().expect("date"), "placed 2026-11-20 09:15 New York");
    let CanonicalRecord::Order(o) = &order[0].record else { panic!("order") };
    assert_eq!(o.source_raw_key, order_key, "stamped with its raw key");
    let original_order = (**o).clone();
    all.extend(order);

    let refund = records_of(normalize_event(
        &raw_key("shopify", "qingquan-us", "shopify-w-refund"),
        &meta("shopify", "qingquan-us", "refunds/create", received),
        &platform_fixture("shopify/refunds_create.json"),
        &new_york,
        received,
    ));
    assert_eq!(refund[0].date, "2026-11-24".parse().expect("date"));
    all.extend(refund);

    let ship = records_of(normalize_event(
        &raw_key("youzan", "qingquan-yz", "youzan-ship"),
        &meta("youzan", "qingquan-yz", "trade_TradeSellerShip", received),
        &platform_fixture("youzan/trade_seller_ship.json"),
        &shanghai(),
        received,
    ));
    assert_eq!(ship[0].date, "2026-11-21".parse().expect("date"));
    all.extend(ship);

    for (path, event_key, date) in [
        ("standard/inventory_movement_receipt.json", "standard-mv2", "2026-11-18"),
        ("standard/member_signup.json", "standard-signup", "2026-11-20"),
        ("standard/product_upsert.json", "standard-product", "2026-11-25"),
    ] {
        let r = records_of(normalize_event(
            &raw_key("standard", "qingquan-pos", event_key),
            &meta("standard", "qingquan-pos", "", received),
            &platform_fixture(path),
            &shanghai(),
            received,
        ));
        assert_eq!(r[0].date, date.parse().expect("date"), "{path}");
        all.extend(r);
    }

    // A feed event goes through the same path.
    let feed = plan("incoming/orders/qingquan-pos/2026-11-21.csv", &feed_fixture("orders_pos.csv"));
    let first = &feed.events[0];
    let feed_meta = RawMetadata::from_map(&first.metadata).expect("feed metadata");
    let r = records_of(normalize_event(&first.key, &feed_meta, &first.body, &shanghai(), received));
    assert_eq!(r[0].date, "2026-11-21".parse().expect("date"));
    all.extend(r);

    let files = plan_canonical_files(&all).expect("records serialise");
    let kinds: BTreeSet<(&str, &str)> = files
        .iter()
        .map(|f| {
            let rest = f.key.strip_prefix("canonical/").expect("canonical/ key");
            let (kind, rest) = rest.split_once('/').expect("kind/");
            (kind, &rest[..13])
        })
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            ("orders", "dt=2026-11-20"),
            ("orders", "dt=2026-11-21"),
            ("refunds", "dt=2026-11-24"),
            ("order_notices", "dt=2026-11-21"),
            ("inventory", "dt=2026-11-18"),
            ("member_signups", "dt=2026-11-20"),
            ("products", "dt=2026-11-25"),
        ])
    );
    for f in &files {
        assert!(f.key.ends_with(".jsonl.gz"), "{}", f.key);
        assert_eq!(&f.gzipped_jsonl[..2], &[0x1f, 0x8b], "gzip magic");
    }

    // Everything read back is exactly what went in.
    let mut back: Vec<serde_json::Value> = Vec::new();
    for f in &files {
        let lines = read_jsonl_gz(&f.gzipped_jsonl).expect("gunzip");
        assert_eq!(lines.len(), f.records);
        back.extend(lines.iter().map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line")));
    }
    let mut expected: Vec<serde_json::Value> =
        all.iter().map(|d| serde_json::from_str(&d.record.to_json_line().expect("json")).expect("json")).collect();
    let by_text = |a: &serde_json::Value, b: &serde_json::Value| a.to_string().cmp(&b.to_string());
    back.sort_by(by_text);
    expected.sort_by(by_text);
    assert_eq!(back.len(), 7);
    assert_eq!(back, expected);

    // The order read back is the same order, money and all.
    let orders_file = files.iter().find(|f| f.key.starts_with("canonical/orders/dt=2026-11-20/")).expect("orders file");
    let line = read_jsonl_gz(&orders_file.gzipped_jsonl).expect("gunzip").remove(0);
    let read_back: CanonicalOrder = serde_json::from_str(&line).expect("a canonical order");
    assert_eq!(read_back, original_order);
    let v: serde_json::Value = serde_json::from_str(&line).expect("json");
    assert_eq!(v["lines"][2]["refunded_amount"], "34.65", "money stays a decimal string");
    assert_eq!(v["placed_at"], "2026-11-20T14:15:02+00:00");

    // Planning again (a replay) writes the same objects with the same bytes; a duplicate record
    // is written once.
    let mut doubled = all.clone();
    doubled.push(all[0].clone());
    let again = plan_canonical_files(&doubled).expect("records serialise");
    let summary = |fs: &[omnilake::normalize::CanonicalFile]| {
        fs.iter().map(|f| (f.key.clone(), f.gzipped_jsonl.clone(), f.records)).collect::<Vec<_>>()
    };
    assert_eq!(summary(&again), summary(&files));
    assert_eq!(all.iter().filter(|d| d.record.kind() == RecordKind::Orders).count(), 2);
}

#[test]
fn unparseable_authentic_bodies_are_quarantined_with_a_reason() {
    let received = t("2026-11-25T10:00:00+08:00");
    let later = t("2026-11-26T03:00:00+08:00");
    let key = raw_key("shopify", "qingquan-us", "shopify-w-broken");
    let outcome = normalize_event(
        &key,
        &meta("shopify", "qingquan-us", "orders/create", received),
        br#"{"id": 450789469, "line_items": ["#,
        &shanghai(),
        later,
    );
    let EventOutcome::Quarantine { key: qkey, entry } = outcome else { panic!("expected quarantine") };
    assert_eq!(qkey, "quarantine/normalize/dt=2026-11-26/shopify-w-broken.json");
    assert_eq!(entry.stage, "normalize");
    assert_eq!(entry.source_key, key);
    assert_eq!(entry.line, None);
    assert_eq!(entry.quarantined_at, later);
    assert!(entry.reason.starts_with("shopify orders/create:"), "{}", entry.reason);
    assert!(entry.reason.contains("JSON"), "{}", entry.reason);

    // Valid JSON that is not a usable order says what is wrong with it.
    let mut woo: serde_json::Value =
        serde_json::from_slice(&platform_fixture("woocommerce/order_created.json")).expect("json");
    woo.as_object_mut().expect("object").remove("date_created_gmt");
    let outcome = normalize_event(
        &raw_key("woocommerce", "qingquan-woo", "woocommerce-x"),
        &meta("woocommerce", "qingquan-woo", "order.created", received),
        &serde_json::to_vec(&woo).expect("json"),
        &shanghai(),
        later,
    );
    let EventOutcome::Quarantine { entry, .. } = outcome else { panic!("expected quarantine") };
    assert!(entry.reason.contains("date_created_gmt"), "{}", entry.reason);

    // A topic nobody handles is quarantined too, naming the topic.
    let outcome = normalize_event(
        &raw_key("shopify", "qingquan-us", "shopify-w-product"),
        &meta("shopify", "qingquan-us", "products/update", received),
        br#"{"id": 1}"#,
        &shanghai(),
        later,
    );
    let EventOutcome::Quarantine { entry, .. } = outcome else { panic!("expected quarantine") };
    assert!(entry.reason.contains("products/update"), "{}", entry.reason);
}
