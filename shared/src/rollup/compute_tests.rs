//! One small day worked out by hand (the oracle test covers the definitions at scale): a count
//! between a sale and a refund, weighted-average cost, a cancelled order, a guest order, and the
//! state handed to the next day.

use super::compute::{compute_day, round_div, DayContext, ShopZone};
use super::facts::{absorb_object, InputKind};
use super::partial::Partial;
use super::state::CarriedState;
use super::table::{ColumnValues, Table};
use super::time::day_of;

fn day() -> i32 {
    day_of(chrono::NaiveDate::from_ymd_opt(2026, 10, 5).expect("date"))
}

fn partial() -> Partial {
    let mut p = Partial::default();
    let orders = [
        r#"{"platform":"shopify","shop_id":"shop0","order_id":"o1","version":2,"status":"paid","placed_at":"2026-10-05T02:00:00Z","currency":"CNY","lines":[{"sku":"A","quantity":3,"unit_price":"10.00","discount":"1.00","refunded_quantity":1,"refunded_amount":"9.50"}],"refunds":[{"refund_id":"r1","at":"2026-10-05T04:00:00Z","lines":[{"sku":"A","quantity":1,"amount":"9.50"}]}],"source_raw_key":"raw/1"}"#,
        r#"{"platform":"shopify","shop_id":"shop0","order_id":"o1","version":1,"status":"pending","placed_at":"2026-10-05T02:00:00Z","currency":"CNY","lines":[{"sku":"A","quantity":9,"unit_price":"10.00"}],"source_raw_key":"raw/0"}"#,
        r#"{"platform":"shopify","shop_id":"shop0","order_id":"o2","version":1,"status":"cancelled","placed_at":"2026-10-05T02:30:00Z","currency":"CNY","lines":[{"sku":"A","quantity":2,"unit_price":"10.00"}],"source_raw_key":"raw/2"}"#,
        r#"{"platform":"shopify","shop_id":"shop0","order_id":"o3","version":1,"status":"paid","placed_at":"2026-10-05T05:00:00Z","currency":"CNY","lines":[{"sku":"B","quantity":1,"unit_price":"5.00"}],"source_raw_key":"raw/3"}"#,
    ];
    let movements = [
        r#"{"movement_id":"m1","type":"po_shipped","location_id":"shop0","sku":"A","quantity":5,"at":"2026-10-05T00:30:00Z","reference":"PO1"}"#,
        r#"{"movement_id":"m2","type":"receipt","location_id":"shop0","sku":"A","quantity":10,"unit_cost":"4.00","at":"2026-10-05T01:00:00Z","reference":"PO1"}"#,
        r#"{"movement_id":"m3","type":"count","location_id":"shop0","sku":"A","quantity":6,"at":"2026-10-05T03:00:00Z"}"#,
    ];
    let member = r#"{"platform":"shopify","shop_id":"shop0","order_id":"o1","version":2,"member_id":"m-1"}"#;
    let product = r#"{"sku":"B","name":"b","standard_cost":"2.00","updated_at":"2026-01-01T00:00:00Z"}"#;
    absorb_object(&mut p, InputKind::Orders, "canonical/orders/dt=2026-10-05/a.jsonl", orders.join("\n").as_bytes())
        .expect("orders");
    absorb_object(
        &mut p,
        InputKind::Inventory,
        "canonical/inventory/dt=2026-10-05/a.jsonl",
        movements.join("\n").as_bytes(),
    )
    .expect("movements");
    absorb_object(&mut p, InputKind::OrderMembers, "canonical/order_members/dt=2026-10-05/a.jsonl", member.as_bytes())
        .expect("members");
    absorb_object(&mut p, InputKind::Products, "canonical/products/p.jsonl", product.as_bytes()).expect("products");
    p
}

fn context() -> DayContext {
    let shops = [(
        ("shopify".to_string(), "shop0".to_string()),
        ShopZone { time_zone: chrono_tz::Asia::Shanghai, location_id: None },
    )]
    .into_iter()
    .collect();
    DayContext { day: day(), business_tz: chrono_tz::Asia::Shanghai, shops, points: None }
}

/// The value of `column` in the row where `key_column` is `key`, as text.
fn cell(table: &Table, key_column: &str, key: &str, column: &str) -> String {
    let col = |name: &str| &table.columns.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("{name}")).values;
    let row = match col(key_column) {
        ColumnValues::Str(v) => v.iter().position(|x| x.as_deref() == Some(key)),
        _ => None,
    }
    .unwrap_or_else(|| panic!("{}: no row {key_column} = {key}", table.name));
    match col(column) {
        ColumnValues::Str(v) => format!("{:?}", v[row].as_deref()),
        ColumnValues::I64(v) | ColumnValues::Cents(v) | ColumnValues::TimestampMicros(v) => format!("{:?}", v[row]),
        ColumnValues::I32(v) | ColumnValues::Date(v) => format!("{:?}", v[row]),
        ColumnValues::F64(v) => format!("{:?}", v[row]),
    }
}

fn table<'a>(tables: &'a [Table], name: &str) -> &'a Table {
    tables.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("{name}"))
}

#[test]
fn a_day_worked_out_by_hand() {
    let out = compute_day(CarriedState::default(), partial(), &context()).expect("day");
    let inv = table(&out.tables, "inventory_daily");
    // A: +10 received, −3 sold, count 6 (stock was 7: −1), +1 returned after the count.
    for (column, want) in [
        ("received_qty", "Some(10)"),
        ("sold_qty", "Some(3)"),
        ("returned_qty", "Some(1)"),
        ("adjusted_qty", "Some(-1)"),
        ("closing_qty", "Some(7)"),
        ("in_transit_inbound_qty", "Some(0)"),
        ("avg_unit_cost", "Some(400)"),
        ("closing_value", "Some(2800)"),
        ("units_sold_28d", "Some(3)"),
    ] {
        assert_eq!(cell(inv, "sku", "A", column), want, "inventory A {column}");
    }
    // B has no receipt: its standard cost.
    assert_eq!(cell(inv, "sku", "B", "closing_value"), "Some(-200)");
    let sales = table(&out.tables, "sales_daily");
    for (column, want) in [
        ("orders", "Some(1)"),
        ("units_sold", "Some(3)"),
        ("units_refunded", "Some(1)"),
        ("net_sales", "Some(1950)"),
        ("cogs", "Some(800)"),
        ("avg_unit_price", "Some(967)"),
        ("customers", "Some(1)"),
        ("new_customers", "Some(1)"),
    ] {
        assert_eq!(cell(sales, "sku", "A", column), want, "sales A {column}");
    }
    assert_eq!(cell(sales, "sku", "B", "customers"), "Some(0)", "a guest order has no customer");
    let shop = table(&out.tables, "shop_daily");
    assert_eq!(cell(shop, "shop_id", "shop0", "orders"), "Some(2)", "the cancelled order does not count");
    assert_eq!(cell(shop, "shop_id", "shop0", "net_sales"), "Some(2450)");
    assert_eq!(cell(shop, "shop_id", "shop0", "avg_order_value"), "Some(1700)");
    let lines = &out.order_lines.to_table().expect("order lines");
    assert_eq!(lines.rows(), 3, "cancelled orders are kept for drill-down");
    assert_eq!(cell(lines, "order_id", "o1", "version"), "Some(2)", "the latest version");
    let value = table(&out.tables, "member_value");
    assert_eq!(cell(value, "member_id", "m-1", "lifetime_gross_margin"), "Some(1150)");

    // The next day opens with yesterday's closing stock and history.
    let next = DayContext { day: day() + 1, ..context() };
    let out2 = compute_day(out.state, Partial::default(), &next).expect("next day");
    let inv2 = table(&out2.tables, "inventory_daily");
    assert_eq!(cell(inv2, "sku", "A", "opening_qty"), "Some(7)");
    assert_eq!(cell(inv2, "sku", "A", "units_sold_28d"), "Some(3)");
    let customers = table(&out2.tables, "customers_daily");
    assert_eq!(cell(customers, "platform", "all", "active_customers"), "Some(1)");
    assert_eq!(cell(customers, "platform", "all", "new_customers"), "Some(0)");
}

#[test]
fn rounding_is_half_away_from_zero() {
    assert_eq!(round_div(5, 2), 3);
    assert_eq!(round_div(-5, 2), -3);
    assert_eq!(round_div(4, 3), 1);
    assert_eq!(round_div(-4, 3), -1);
    assert_eq!(round_div(2900, 3), 967);
}

#[test]
fn a_state_from_another_day_is_refused() {
    let state = CarriedState { day: Some(day() - 3), ..CarriedState::default() };
    assert!(compute_day(state, Partial::default(), &context()).is_err());
}

#[test]
fn points_columns_come_from_the_points_figures_and_stay_null_without() {
    let without = compute_day(CarriedState::default(), partial(), &context()).expect("day");
    let shop = table(&without.tables, "shop_daily");
    assert_eq!(cell(shop, "shop_id", "shop0", "points_issued"), "None");
    assert_eq!(shop.rows(), 1, "no `all` row without a points table");
    let points = super::points::PointsDay {
        issued: [(("shopify".to_string(), "shop0".to_string()), 30)].into_iter().collect(),
        redeemed: 5,
        expired: 2,
        liability: 100,
        balances: [("m-1".to_string(), 40)].into_iter().collect(),
    };
    let ctx = DayContext { points: Some(points), ..context() };
    let with = compute_day(CarriedState::default(), partial(), &ctx).expect("day");
    let shop = table(&with.tables, "shop_daily");
    assert_eq!(cell(shop, "shop_id", "shop0", "points_issued"), "Some(30)");
    assert_eq!(cell(shop, "shop_id", "shop0", "points_redeemed"), "None");
    for (column, want) in [
        ("points_issued", "Some(30)"),
        ("points_redeemed", "Some(5)"),
        ("points_expired", "Some(2)"),
        ("points_liability", "Some(100)"),
        ("net_sales", "None"),
    ] {
        assert_eq!(cell(shop, "shop_id", "all", column), want, "all row {column}");
    }
    assert_eq!(cell(table(&with.tables, "member_value"), "member_id", "m-1", "points_balance"), "Some(40)");
}
