//! Every recorded platform payload in `fixtures/platforms/`, parsed into canonical records and
//! checked against values read off the fixture by hand (docs/platforms.md "Fixtures at a
//! glance"). Money is exact: every amount below is a literal taken from, or added up from, the
//! fixture file, never computed by the code under test.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use omnilake::canonical::{
    CanonicalOrder, CanonicalRecord, InventoryMovement, MemberSignup, MovementType, OrderNotice, OrderStatus, Product,
    Refund, RefundLine, RefundNotice,
};
use omnilake::platforms::{self, Headers, ParseContext, Platform, Verified};
use omnilake::Money;

mod common;
use common::{m, platform_fixture as fixture, t};

const YOUZAN_SECRET: &str = "omnilake-test-youzan-secret";

// ---------------------------------------------------------------------------------------------
// helpers

fn ms(text: &str) -> i64 {
    t(text).timestamp_millis()
}

fn received() -> DateTime<Utc> {
    t("2026-12-01T00:00:00Z")
}

fn ctx<'a>(shop_id: &'a str, topic: &'a str, time_zone: Tz, currency: &'a str) -> ParseContext<'a> {
    ParseContext { shop_id, topic, received_at: received(), time_zone, currency }
}

fn parse_one(platform: Platform, body: &[u8], ctx: &ParseContext<'_>) -> CanonicalRecord {
    let mut records = platforms::parse(platform, body, ctx).expect("fixture parses");
    assert_eq!(records.len(), 1, "one record per delivery");
    records.remove(0)
}

fn as_order(record: CanonicalRecord) -> CanonicalOrder {
    match record {
        CanonicalRecord::Order(o) => *o,
        other => panic!("expected an order, got {other:?}"),
    }
}

fn shopify(path: &str, topic: &str) -> CanonicalRecord {
    let c = ctx("qingquan-us", topic, chrono_tz::America::New_York, "USD");
    parse_one(Platform::Shopify, &fixture(&format!("shopify/{path}")), &c)
}

fn woo(path: &str, topic: &str) -> CanonicalOrder {
    woo_at(path, topic, received())
}

fn woo_at(path: &str, topic: &str, received_at: DateTime<Utc>) -> CanonicalOrder {
    let c = ParseContext { received_at, ..ctx("qingquan-woo", topic, chrono_tz::UTC, "USD") };
    as_order(parse_one(Platform::WooCommerce, &fixture(&format!("woocommerce/{path}")), &c))
}

fn youzan_body(body: &[u8], topic: &str) -> CanonicalRecord {
    let c = ctx("qingquan-yz", topic, chrono_tz::Asia::Shanghai, "CNY");
    parse_one(Platform::Youzan, body, &c)
}

fn youzan(stem: &str) -> CanonicalRecord {
    let body = fixture(&format!("youzan/{stem}.json"));
    let topic = youzan_headers(stem).get("event-type").expect("Event-Type header").to_string();
    youzan_body(&body, &topic)
}

fn youzan_headers(stem: &str) -> Headers {
    let text = fixture(&format!("youzan/{stem}.headers.json"));
    let map: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&text).expect("headers file is a JSON object of strings");
    map.into_iter().collect()
}

fn standard(path: &str) -> CanonicalRecord {
    let c = ctx("qingquan-pos", "", chrono_tz::Asia::Shanghai, "CNY");
    parse_one(Platform::Standard, &fixture(&format!("standard/{path}")), &c)
}

#[track_caller]
fn assert_line(o: &CanonicalOrder, index: usize, sku: &str, quantity: i64, unit_price: &str, discount: &str) {
    let l = &o.lines[index];
    assert_eq!(
        (l.sku.as_str(), l.quantity, l.unit_price, l.discount),
        (sku, quantity, m(unit_price), m(discount)),
        "line {index} of order {}",
        o.order_id
    );
}

#[track_caller]
fn assert_refunded(o: &CanonicalOrder, index: usize, quantity: i64, amount: &str) {
    let l = &o.lines[index];
    assert_eq!((l.refunded_quantity, l.refunded_amount), (quantity, m(amount)), "refunds of line {index} ({})", l.sku);
}

/// gross_sales, discounts, subtotal, refunds, net_sales, total_paid.
#[track_caller]
fn assert_totals(o: &CanonicalOrder, expected: [&str; 6]) {
    let t = o.totals();
    let got = [t.gross_sales, t.discounts, t.subtotal, t.refunds, t.net_sales, t.total_paid];
    let want = expected.map(m);
    assert_eq!(got, want, "totals of order {} (gross, discounts, subtotal, refunds, net, total_paid)", o.order_id);
}

#[track_caller]
fn assert_strictly_increasing(label: &str, values: &[i64]) {
    for pair in values.windows(2) {
        assert!(pair[0] < pair[1], "{label}: {} must be earlier than {} ({values:?})", pair[0], pair[1]);
    }
}

// ---------------------------------------------------------------------------------------------
// Shopify (shop time zone New York; bodies carry their own offsets)

/// The three lines of order #1001 (450789469), unchanged across its topics: price and the
/// `discount_allocations` of the WELCOME20 code (16.85 + 1.80 + 1.35 = 20.00).
#[track_caller]
fn assert_order_1001_lines(o: &CanonicalOrder) {
    assert_eq!(o.lines.len(), 3);
    assert_line(o, 0, "WP-RO-500", 1, "449.00", "16.85");
    assert_line(o, 1, "FLT-PP-10", 4, "12.00", "1.80");
    assert_line(o, 2, "FLT-CTO-10", 2, "18.00", "1.35");
}

#[track_caller]
fn assert_order_1001_header(o: &CanonicalOrder) {
    assert_eq!(o.platform, "shopify");
    assert_eq!(o.shop_id, "qingquan-us");
    assert_eq!(o.order_id, "450789469", "the numeric id, not the name #1001");
    assert_eq!(o.placed_at, t("2026-11-20T09:15:02-05:00"));
    assert_eq!(o.currency, "USD");
    assert_eq!(o.customer.platform_customer_id.as_deref(), Some("207119551"));
    assert_eq!(o.customer.phone.as_deref(), Some("+15025550199"), "customer.phone comes first");
    assert_eq!(o.customer.email.as_deref(), Some("bob.norman@mail.example.com"));
    assert_eq!(o.shipping, m("15.00"));
    assert_eq!(o.tax, m("30.78"));
    assert!(!o.taxes_included);
    assert_eq!(o.city.as_deref(), Some("Louisville"));
    assert_eq!(o.store_id, None);
    assert_eq!(o.salesperson, None);
    assert_order_1001_lines(o);
}

#[test]
fn shopify_orders_create_is_pending_until_captured() {
    let o = as_order(shopify("orders_create.json", "orders/create"));
    assert_order_1001_header(&o);
    assert_eq!(o.version, ms("2026-11-20T09:15:04-05:00"), "updated_at in ms");
    assert_eq!(o.status, OrderStatus::Pending, "financial_status authorized");
    assert_eq!(o.paid_at, None);
    assert_eq!((o.shipped_at, o.delivered_at), (None, None));
    assert!(o.refunds.is_empty());
    for l in &o.lines {
        assert_eq!((l.refunded_quantity, l.refunded_amount), (0, Money::ZERO));
    }
    // lines 449 + 48 + 36 = 533.00; total_price 558.78 = 513.00 + 15.00 + 30.78
    assert_totals(&o, ["533.00", "20.00", "513.00", "0.00", "513.00", "558.78"]);
}

#[test]
fn shopify_orders_paid() {
    let o = as_order(shopify("orders_paid.json", "orders/paid"));
    assert_order_1001_header(&o);
    assert_eq!(o.version, ms("2026-11-20T09:47:31-05:00"));
    assert_eq!(o.status, OrderStatus::Paid);
    assert_eq!(o.paid_at, Some(t("2026-11-20T09:15:02-05:00")), "processed_at once paid");
    assert_eq!((o.shipped_at, o.delivered_at), (None, None));
    assert_totals(&o, ["533.00", "20.00", "513.00", "0.00", "513.00", "558.78"]);
}

#[test]
fn shopify_orders_updated_fulfilled_is_shipped() {
    let o = as_order(shopify("orders_updated.json", "orders/updated"));
    assert_order_1001_header(&o);
    assert_eq!(o.version, ms("2026-11-21T11:02:18-05:00"));
    assert_eq!(o.status, OrderStatus::Shipped, "paid + fulfilled, shipment only label_printed");
    assert_eq!(o.paid_at, Some(t("2026-11-20T09:15:02-05:00")));
    assert_eq!(o.shipped_at, Some(t("2026-11-21T11:02:17-05:00")), "fulfilment created_at");
    assert_eq!(o.delivered_at, None);
    assert_totals(&o, ["533.00", "20.00", "513.00", "0.00", "513.00", "558.78"]);
}

#[test]
fn shopify_orders_updated_after_refund_carries_the_refund() {
    let o = as_order(shopify("orders_updated_after_refund.json", "orders/updated"));
    assert_order_1001_header(&o);
    assert_eq!(o.version, ms("2026-11-24T14:30:13-05:00"));
    assert_eq!(o.status, OrderStatus::PartiallyRefunded, "refund state wins over delivered");
    assert_eq!(o.shipped_at, Some(t("2026-11-21T11:02:17-05:00")));
    assert_eq!(o.delivered_at, Some(t("2026-11-23T15:40:05-05:00")), "kept while partially refunded");
    assert_eq!(
        o.refunds,
        vec![Refund {
            refund_id: "509562969".into(),
            at: t("2026-11-24T14:30:12-05:00"),
            // subtotal_set.shop_money.amount "34.65" = 2 × 18.00 − 1.35, tax 2.08 not included
            lines: vec![RefundLine { sku: "FLT-CTO-10".into(), quantity: 2, amount: m("34.65") }],
            shipping: Money::ZERO,
        }]
    );
    assert_refunded(&o, 0, 0, "0.00");
    assert_refunded(&o, 1, 0, "0.00");
    assert_refunded(&o, 2, 2, "34.65");
    // net 513.00 − 34.65; total_paid is what was charged (current_total_price 522.05 = 558.78 − 36.73)
    assert_totals(&o, ["533.00", "20.00", "513.00", "34.65", "478.35", "558.78"]);
}

#[test]
fn shopify_refunds_create_is_a_refund_notice() {
    let record = shopify("refunds_create.json", "refunds/create");
    let CanonicalRecord::Refund(notice) = record else { panic!("expected a refund notice, got {record:?}") };
    assert_eq!(
        notice,
        RefundNotice {
            platform: "shopify".into(),
            shop_id: "qingquan-us".into(),
            order_id: "450789469".into(),
            refund_id: "509562969".into(),
            at: t("2026-11-24T14:30:12-05:00"),
            currency: "USD".into(),
            lines: vec![RefundLine { sku: "FLT-CTO-10".into(), quantity: 2, amount: m("34.65") }],
            shipping: Money::ZERO,
            // the refund transaction: 34.65 + 2.08 tax
            amount: Some(m("36.73")),
            source_raw_key: String::new(),
        }
    );
}

#[test]
fn shopify_refund_line_amount_prefers_the_string_twin() {
    // A body whose JSON-number `subtotal` disagrees with its `subtotal_set` string: the string
    // field is the one to use (docs/platforms.md), so the number must not leak through.
    let text = String::from_utf8(fixture("shopify/refunds_create.json")).expect("utf-8");
    let altered = text.replacen("\"subtotal\": 34.65", "\"subtotal\": 99.99", 1);
    assert_ne!(altered, text, "the fixture has a numeric subtotal to alter");
    let c = ctx("qingquan-us", "refunds/create", chrono_tz::America::New_York, "USD");
    let record = parse_one(Platform::Shopify, altered.as_bytes(), &c);
    let CanonicalRecord::Refund(notice) = record else { panic!("expected a refund notice") };
    assert_eq!(notice.lines[0].amount, m("34.65"));

    // Without the `_set` twin the JSON number is read exactly (no float rounding).
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let mut v2 = v.clone();
    let rli = &mut v2["refund_line_items"][0];
    rli.as_object_mut().expect("object").remove("subtotal_set");
    let body = serde_json::to_vec(&v2).expect("json");
    let CanonicalRecord::Refund(notice) = parse_one(Platform::Shopify, &body, &c) else { panic!("refund") };
    assert_eq!(notice.lines[0].amount, m("34.65"));
}

#[test]
fn shopify_orders_cancelled_voided() {
    let o = as_order(shopify("orders_cancelled.json", "orders/cancelled"));
    assert_eq!(o.order_id, "450789470");
    assert_eq!(o.version, ms("2026-11-22T10:05:41-05:00"));
    assert_eq!(o.status, OrderStatus::Cancelled, "cancelled_at set, financial_status voided");
    assert_eq!(o.placed_at, t("2026-11-22T09:58:11-05:00"));
    assert_eq!(o.paid_at, None, "a voided authorisation was never paid");
    assert_eq!((o.shipped_at, o.delivered_at), (None, None));
    assert_eq!(o.currency, "USD");
    assert_eq!(o.customer.platform_customer_id.as_deref(), Some("207119552"));
    assert_eq!(o.customer.phone.as_deref(), Some("+15025550142"));
    assert_eq!(o.customer.email.as_deref(), Some("jane.park@mail.example.com"));
    assert_eq!(o.lines.len(), 1);
    assert_line(&o, 0, "WP-RO-400", 1, "349.00", "0.00");
    assert_eq!((o.shipping, o.tax), (m("15.00"), m("20.94")));
    assert!(o.refunds.is_empty());
    assert_eq!(o.city.as_deref(), Some("Louisville"));
    assert_totals(&o, ["349.00", "0.00", "349.00", "0.00", "349.00", "384.94"]);
}

#[test]
fn shopify_voided_or_expired_without_cancelled_at_is_cancelled() {
    let text = String::from_utf8(fixture("shopify/orders_cancelled.json")).expect("utf-8");
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v["cancelled_at"] = serde_json::Value::Null;
    let c = ctx("qingquan-us", "orders/updated", chrono_tz::America::New_York, "USD");
    for financial in ["voided", "expired"] {
        v["financial_status"] = financial.into();
        let body = serde_json::to_vec(&v).expect("json");
        let o = as_order(parse_one(Platform::Shopify, &body, &c));
        assert_eq!(o.status, OrderStatus::Cancelled, "financial_status {financial}");
    }
}

#[test]
fn shopify_partial_delivery_is_not_delivered() {
    // Two shipments, one delivered: the order is shipped, not delivered.
    let text = String::from_utf8(fixture("shopify/orders_updated.json")).expect("utf-8");
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let first = v["fulfillments"][0].clone();
    let mut delivered = first.clone();
    delivered["shipment_status"] = "delivered".into();
    v["fulfillments"] = serde_json::json!([delivered, first]);
    let c = ctx("qingquan-us", "orders/updated", chrono_tz::America::New_York, "USD");
    let o = as_order(parse_one(Platform::Shopify, &serde_json::to_vec(&v).expect("json"), &c));
    assert_eq!(o.status, OrderStatus::Shipped);

    // `partial` fulfilment with nothing delivered yet: shipped.
    v["fulfillments"] = serde_json::json!([v["fulfillments"][1].clone()]);
    v["fulfillment_status"] = "partial".into();
    let o = as_order(parse_one(Platform::Shopify, &serde_json::to_vec(&v).expect("json"), &c));
    assert_eq!(o.status, OrderStatus::Shipped);
}

#[test]
fn shopify_10kb_order() {
    let body = fixture("shopify/orders_create_10kb.json");
    assert_eq!(body.len(), 10_278);
    let c = ctx("qingquan-us", "orders/create", chrono_tz::America::New_York, "USD");
    let o = as_order(parse_one(Platform::Shopify, &body, &c));
    assert_eq!(o.order_id, "450789471");
    assert_eq!(o.version, ms("2026-11-25T13:20:46-05:00"));
    assert_eq!(o.status, OrderStatus::Paid);
    assert_eq!(o.placed_at, t("2026-11-25T13:20:44-05:00"));
    assert_eq!(o.paid_at, Some(t("2026-11-25T13:20:44-05:00")));
    assert_eq!(o.customer.platform_customer_id.as_deref(), Some("207119553"));
    assert_eq!(o.customer.phone.as_deref(), Some("+15025550177"));
    assert_eq!(o.customer.email.as_deref(), Some("carol.diaz@mail.example.com"));
    let expected = [
        ("WP-RO-600", 1, "529.00", "19.65"),
        ("WP-UF-200", 1, "189.00", "7.02"),
        ("WP-HOT-01", 1, "159.00", "5.91"),
        ("FLT-PP-10", 6, "12.00", "2.67"),
        ("FLT-CTO-10", 4, "18.00", "2.67"),
        ("FLT-UDF-10", 4, "16.00", "2.38"),
        ("FLT-RO-500", 1, "79.00", "2.94"),
        ("FLT-T33", 2, "14.00", "1.04"),
        ("FLT-UF-200", 2, "24.00", "1.78"),
        ("ACC-FAUCET-01", 1, "29.00", "1.08"),
        ("ACC-TDS-01", 2, "9.00", "0.67"),
        ("ACC-TANK-3G", 1, "59.00", "2.19"),
    ];
    assert_eq!(o.lines.len(), expected.len());
    for (i, (sku, qty, price, disc)) in expected.into_iter().enumerate() {
        assert_line(&o, i, sku, qty, price, disc);
    }
    assert_eq!((o.shipping, o.tax), (m("25.00"), m("77.77")));
    assert_eq!(o.city.as_deref(), Some("Louisville"));
    // total_line_items_price 1346.00, total_discounts 50.00, total_price 1398.77
    assert_totals(&o, ["1346.00", "50.00", "1296.00", "0.00", "1296.00", "1398.77"]);
}

#[test]
fn shopify_versions_follow_the_story() {
    let create = as_order(shopify("orders_create.json", "orders/create"));
    let paid = as_order(shopify("orders_paid.json", "orders/paid"));
    let updated = as_order(shopify("orders_updated.json", "orders/updated"));
    let after_refund = as_order(shopify("orders_updated_after_refund.json", "orders/updated"));
    assert_strictly_increasing(
        "shopify 450789469 create < paid < fulfilled < refunded",
        &[create.version, paid.version, updated.version, after_refund.version],
    );
    // The refund notice happened after fulfilment and before the order version that lists it.
    let CanonicalRecord::Refund(notice) = shopify("refunds_create.json", "refunds/create") else {
        panic!("refund notice")
    };
    assert_strictly_increasing(
        "shopify refund notice sits between versions",
        &[updated.version, notice.at.timestamp_millis(), after_refund.version],
    );
}

// ---------------------------------------------------------------------------------------------
// WooCommerce (`*_gmt` times are UTC without offset)

/// Order 727's lines: unit price = `subtotal / quantity`, discount = `subtotal − total`.
#[track_caller]
fn assert_order_727(o: &CanonicalOrder) {
    assert_eq!(o.platform, "woocommerce");
    assert_eq!(o.shop_id, "qingquan-woo");
    assert_eq!(o.order_id, "727");
    assert_eq!(o.placed_at, t("2026-11-20T17:40:05Z"));
    assert_eq!(o.currency, "USD");
    assert_eq!(o.customer.platform_customer_id.as_deref(), Some("12"));
    assert_eq!(o.customer.phone.as_deref(), Some("(415) 555-0132"));
    assert_eq!(o.customer.email.as_deref(), Some("john.doe@example.com"));
    assert_eq!(o.lines.len(), 3);
    assert_line(o, 0, "WP-RO-500", 1, "449.00", "16.85"); // 449.00 − 432.15
    assert_line(o, 1, "FLT-PP-10", 4, "12.00", "1.80"); // 48.00 − 46.20
    assert_line(o, 2, "FLT-CTO-10", 2, "18.00", "1.35"); // 36.00 − 34.65
    assert_eq!((o.shipping, o.tax), (m("15.00"), m("37.19")));
    assert_eq!(o.city.as_deref(), Some("San Francisco"), "shipping.city");
}

#[test]
fn woocommerce_order_created() {
    let o = woo("order_created.json", "order.created");
    assert_order_727(&o);
    assert_eq!(o.version, ms("2026-11-20T17:40:05Z"));
    assert_eq!(o.status, OrderStatus::Pending);
    assert_eq!((o.paid_at, o.shipped_at, o.delivered_at), (None, None, None));
    assert!(o.refunds.is_empty());
    // order total 565.19 = 513.00 + 15.00 + 37.19
    assert_totals(&o, ["533.00", "20.00", "513.00", "0.00", "513.00", "565.19"]);
}

#[test]
fn woocommerce_order_paid() {
    let o = woo("order_updated_paid.json", "order.updated");
    assert_order_727(&o);
    assert_eq!(o.version, ms("2026-11-20T17:40:42Z"));
    assert_eq!(o.status, OrderStatus::Paid, "processing");
    assert_eq!(o.paid_at, Some(t("2026-11-20T17:40:41Z")));
    assert_eq!((o.shipped_at, o.delivered_at), (None, None));
    assert_totals(&o, ["533.00", "20.00", "513.00", "0.00", "513.00", "565.19"]);
}

#[test]
fn woocommerce_order_completed_is_delivered() {
    let o = woo("order_updated_completed.json", "order.updated");
    assert_order_727(&o);
    assert_eq!(o.version, ms("2026-11-22T18:05:11Z"));
    // WooCommerce has no state after `completed`: it closes the order as delivered.
    assert_eq!(o.status, OrderStatus::Delivered);
    assert_eq!(o.paid_at, Some(t("2026-11-20T17:40:41Z")));
    assert_eq!(o.shipped_at, Some(t("2026-11-22T18:05:10Z")));
    assert_eq!(o.delivered_at, Some(t("2026-11-22T18:05:10Z")));
    assert_totals(&o, ["533.00", "20.00", "513.00", "0.00", "513.00", "565.19"]);
}

#[test]
fn woocommerce_order_refunded_takes_tax_out_of_the_refund() {
    let o = woo("order_updated_refunded.json", "order.updated");
    assert_order_727(&o);
    assert_eq!(o.version, ms("2026-11-25T21:12:31Z"));
    assert_eq!(o.status, OrderStatus::PartiallyRefunded, "completed with a refund");
    assert_eq!(o.delivered_at, Some(t("2026-11-22T18:05:10Z")), "kept while partially refunded");
    // refunds[0].total −37.16 includes tax: 37.16 × 513.00 / (513.00 + 37.19 line tax) = 34.648…
    // → 34.65 merchandise (refund_731.json confirms 34.65 + 2.51 tax). Without the refund detail
    // the merchandise is spread by line total (432.15 : 46.20 : 34.65), largest remainder:
    // 29.189… → 29.19, 3.120… → 3.12, 2.340… → 2.34; quantities unknown (0).
    assert_eq!(
        o.refunds,
        vec![Refund {
            refund_id: "731".into(),
            at: t("2026-11-25T21:12:31Z"),
            lines: vec![
                RefundLine { sku: "WP-RO-500".into(), quantity: 0, amount: m("29.19") },
                RefundLine { sku: "FLT-PP-10".into(), quantity: 0, amount: m("3.12") },
                RefundLine { sku: "FLT-CTO-10".into(), quantity: 0, amount: m("2.34") },
            ],
            shipping: Money::ZERO,
        }]
    );
    assert_refunded(&o, 0, 0, "29.19");
    assert_refunded(&o, 1, 0, "3.12");
    assert_refunded(&o, 2, 0, "2.34");
    assert_totals(&o, ["533.00", "20.00", "513.00", "34.65", "478.35", "565.19"]);
}

#[test]
fn woocommerce_guest_order_cancelled() {
    let o = woo("order_updated_cancelled.json", "order.updated");
    assert_eq!(o.order_id, "728");
    assert_eq!(o.version, ms("2026-11-23T03:15:02Z"));
    assert_eq!(o.status, OrderStatus::Cancelled);
    assert_eq!(o.placed_at, t("2026-11-23T02:15:00Z"));
    assert_eq!(o.paid_at, None);
    assert_eq!(o.customer.platform_customer_id, None, "customer_id 0 is a guest");
    assert_eq!(o.customer.phone.as_deref(), Some("+1 415 555 0190"));
    assert_eq!(o.customer.email.as_deref(), Some("mei.lin@example.com"));
    assert_eq!(o.lines.len(), 1);
    assert_line(&o, 0, "WP-RO-400", 1, "349.00", "0.00");
    assert_eq!((o.shipping, o.tax), (m("15.00"), m("25.30")));
    assert_eq!(o.city.as_deref(), Some("San Francisco"));
    assert_totals(&o, ["349.00", "0.00", "349.00", "0.00", "349.00", "389.30"]);
}

#[test]
fn woocommerce_order_deleted_is_a_tombstone() {
    let cancelled = woo("order_updated_cancelled.json", "order.updated");
    let arrived = t("2026-11-24T08:00:00Z");
    let o = woo_at("order_deleted.json", "order.deleted", arrived);
    assert_eq!(o.order_id, "728");
    assert_eq!(o.status, OrderStatus::Cancelled);
    assert!(o.lines.is_empty(), "`{{\"id\":728}}` carries no lines");
    assert_eq!(o.version, arrived.timestamp_millis(), "versioned when received");
    assert_eq!(o.currency, "USD", "the shop's currency");
    assert_eq!(o.customer, Default::default());
    assert_totals(&o, ["0.00", "0.00", "0.00", "0.00", "0.00", "0.00"]);
    assert_strictly_increasing("woocommerce 728 cancelled < deleted", &[cancelled.version, o.version]);
}

#[test]
fn woocommerce_ping_is_answered_not_parsed() {
    let body = fixture("woocommerce/ping.txt");
    assert_eq!(body, b"webhook_id=42");
    let verified = platforms::verify(Platform::WooCommerce, &Headers::new(), &body, "woo-secret", received())
        .expect("an unsigned ping is accepted");
    assert_eq!(verified, Verified::Ping);
    // Not JSON: nothing to parse if it ever reached the parser.
    let c = ctx("qingquan-woo", "order.created", chrono_tz::UTC, "USD");
    assert!(platforms::parse(Platform::WooCommerce, &body, &c).is_err());
}

#[test]
fn woocommerce_versions_follow_the_story() {
    let versions: Vec<i64> = [
        ("order_created.json", "order.created"),
        ("order_updated_paid.json", "order.updated"),
        ("order_updated_completed.json", "order.updated"),
        ("order_updated_refunded.json", "order.updated"),
    ]
    .into_iter()
    .map(|(path, topic)| woo(path, topic).version)
    .collect();
    assert_strictly_increasing("woocommerce 727 created < paid < completed < refunded", &versions);
}

// ---------------------------------------------------------------------------------------------
// Youzan (Beijing time without offset; shop currency CNY)

fn youzan_event_key(stem: &str) -> String {
    let headers = youzan_headers(stem);
    let body = fixture(&format!("youzan/{stem}.json"));
    match platforms::verify(Platform::Youzan, &headers, &body, YOUZAN_SECRET, received()) {
        Ok(Verified::Event { event_key, topic }) => {
            assert_eq!(Some(topic.as_str()), headers.get("event-type"));
            event_key
        }
        other => panic!("{stem}: expected an authentic event, got {other:?}"),
    }
}

/// Order A (E20261120140311084600017): list 2999 + 4 × 39 + 2 × 59 = 3273.00; discounts 300.00
/// promotion + 100.00 coupon split 90.78 / 5.25 / 3.97; lines paid 2608.22 + 150.75 + 114.03.
#[track_caller]
fn assert_trade_a(o: &CanonicalOrder) {
    assert_eq!(o.platform, "youzan");
    assert_eq!(o.shop_id, "qingquan-yz");
    assert_eq!(o.order_id, "E20261120140311084600017");
    assert_eq!(o.placed_at, t("2026-11-20T14:03:11+08:00"));
    assert_eq!(o.currency, "CNY");
    assert_eq!(o.customer.platform_customer_id.as_deref(), Some("Rk2vY8pZ651204987345612800"), "yz_open_id");
    assert_eq!(o.customer.phone.as_deref(), Some("13800138001"));
    assert_eq!(o.customer.email, None);
    assert_eq!(o.lines.len(), 3);
    assert_line(o, 0, "WP-RO-500", 1, "2999.00", "390.78"); // outer_sku_id; 2999.00 − 2608.22
    assert_line(o, 1, "FLT-PP-10", 4, "39.00", "5.25"); // outer_item_id; 156.00 − 150.75
    assert_line(o, 2, "FLT-CTO-10", 2, "59.00", "3.97"); // 118.00 − 114.03
    assert_eq!(o.shipping, m("20.00"), "pay_info.post_fee");
    assert_eq!(o.tax, Money::ZERO);
    assert_eq!(o.city.as_deref(), Some("深圳"), "深圳市 without 市");
}

#[test]
fn youzan_trade_create() {
    let o = as_order(youzan("trade_create"));
    assert_trade_a(&o);
    assert_eq!(o.version, ms("2026-11-20T14:03:11+08:00"));
    assert_eq!(o.status, OrderStatus::Pending, "WAIT_BUYER_PAY");
    assert_eq!((o.paid_at, o.shipped_at, o.delivered_at), (None, None, None));
    assert!(o.refunds.is_empty());
    // pay_info.payment 2893.00 = 2873.00 + 20.00 post fee
    assert_totals(&o, ["3273.00", "400.00", "2873.00", "0.00", "2873.00", "2893.00"]);
}

#[test]
fn youzan_trade_paid_and_its_resend() {
    let paid = as_order(youzan("trade_paid"));
    assert_trade_a(&paid);
    assert_eq!(paid.version, ms("2026-11-20T14:05:02+08:00"));
    assert_eq!(paid.status, OrderStatus::Paid, "TRADE_PAID");
    assert_eq!(paid.paid_at, Some(t("2026-11-20T14:05:02+08:00")));
    assert_totals(&paid, ["3273.00", "400.00", "2873.00", "0.00", "2873.00", "2893.00"]);

    // The resend differs in bytes (sendCount 2) but is the same message: same event key, same order.
    assert_ne!(fixture("youzan/trade_paid.json"), fixture("youzan/trade_paid_resend.json"));
    let key = youzan_event_key("trade_paid");
    assert_eq!(key, "youzan-6f1e2d3c-4b5a-4c6d-8e7f-0a1b2c3d4e02", "msg_id");
    assert_eq!(youzan_event_key("trade_paid_resend"), key);
    assert_eq!(as_order(youzan("trade_paid_resend")), paid);
}

#[test]
fn youzan_trade_buyer_pay() {
    let o = as_order(youzan("trade_buyer_pay"));
    assert_trade_a(&o);
    assert_eq!(o.version, ms("2026-11-20T14:05:03+08:00"));
    assert_eq!(o.status, OrderStatus::Paid, "WAIT_SELLER_SEND_GOODS");
    assert_eq!(o.paid_at, Some(t("2026-11-20T14:05:02+08:00")));
    assert_eq!(o.shipped_at, None);
    assert_totals(&o, ["3273.00", "400.00", "2873.00", "0.00", "2873.00", "2893.00"]);
}

#[track_caller]
fn notice(record: CanonicalRecord) -> OrderNotice {
    match record {
        CanonicalRecord::Notice(n) => n,
        other => panic!("expected an order notice, got {other:?}"),
    }
}

#[test]
fn youzan_thin_messages_are_notices() {
    let ship = notice(youzan("trade_seller_ship"));
    assert_eq!(
        (ship.platform.as_str(), ship.shop_id.as_str(), ship.order_id.as_str(), ship.topic.as_str()),
        ("youzan", "qingquan-yz", "E20261120140311084600017", "trade_TradeSellerShip")
    );
    assert_eq!(ship.at, t("2026-11-21T10:20:45+08:00"));

    let success = notice(youzan("trade_success"));
    assert_eq!((success.order_id.as_str(), success.topic.as_str()), ("E20261120140311084600017", "trade_TradeSuccess"));
    assert_eq!(success.at, t("2026-11-25T09:12:30+08:00"));

    let close = notice(youzan("closed_trade_close"));
    assert_eq!((close.order_id.as_str(), close.topic.as_str()), ("E20261122201530084600021", "trade_TradeClose"));
    assert_eq!(close.at, t("2026-11-22T20:31:08+08:00"));
    assert_eq!(close.detail, Some(serde_json::json!({ "close_reason": "买家取消" })));
}

#[test]
fn youzan_refund_success_is_a_refund_notice() {
    let record = youzan("refund_success");
    let CanonicalRecord::Refund(n) = record else { panic!("expected a refund notice, got {record:?}") };
    assert_eq!(
        n,
        RefundNotice {
            platform: "youzan".into(),
            shop_id: "qingquan-yz".into(),
            order_id: "E20261120140311084600017".into(),
            refund_id: "202611241620050000031002".into(),
            at: t("2026-11-24T16:41:37+08:00"),
            currency: "CNY".into(),
            // The message names the line by oid only; the SKU is not in it.
            lines: vec![],
            shipping: Money::ZERO,
            amount: Some(m("114.03")),
            source_raw_key: String::new(),
        }
    );
}

#[test]
fn youzan_versions_follow_the_story() {
    let create = as_order(youzan("trade_create")).version;
    let paid = as_order(youzan("trade_paid")).version;
    let buyer_pay = as_order(youzan("trade_buyer_pay")).version;
    let ship = notice(youzan("trade_seller_ship")).at.timestamp_millis();
    let CanonicalRecord::Refund(refund) = youzan("refund_success") else { panic!("refund notice") };
    let success = notice(youzan("trade_success")).at.timestamp_millis();
    assert_strictly_increasing(
        "youzan trade A create < paid < buyer_pay < ship < refund < success",
        &[create, paid, buyer_pay, ship, refund.at.timestamp_millis(), success],
    );
    let closed_create = as_order(youzan("closed_trade_create")).version;
    let closed = notice(youzan("closed_trade_close")).at.timestamp_millis();
    assert_strictly_increasing("youzan trade B create < close", &[closed_create, closed]);
}

#[test]
fn youzan_closed_trade_create() {
    let o = as_order(youzan("closed_trade_create"));
    assert_eq!(o.order_id, "E20261122201530084600021");
    assert_eq!(o.version, ms("2026-11-22T20:15:30+08:00"));
    assert_eq!(o.status, OrderStatus::Pending);
    assert_eq!(o.customer.platform_customer_id.as_deref(), Some("Wd9sB3nQ651207341298765440"));
    assert_eq!(o.customer.phone.as_deref(), Some("13800138002"));
    assert_eq!(o.lines.len(), 2);
    assert_line(&o, 0, "WP-RO-400", 1, "1999.00", "0.00");
    assert_line(&o, 1, "FLT-PP-10", 2, "39.00", "0.00");
    assert_eq!(o.shipping, Money::ZERO);
    assert_eq!(o.city.as_deref(), Some("广州"));
    assert_totals(&o, ["2077.00", "0.00", "2077.00", "0.00", "2077.00", "2077.00"]);
}

#[test]
fn youzan_encrypted_personal_data_is_never_a_phone() {
    let o = as_order(youzan("encrypted_pii_trade_create"));
    assert_eq!(o.order_id, "E20261123093005084600033");
    assert_eq!(o.version, ms("2026-11-23T09:30:06+08:00"));
    assert_eq!(o.status, OrderStatus::Pending);
    assert_eq!(o.customer.phone, None, "buyer_phone is `$…$1$` ciphertext");
    assert_eq!(o.customer.platform_customer_id.as_deref(), Some("Hs4kL7mW651209876543210112"));
    assert_eq!(o.lines.len(), 1);
    assert_line(&o, 0, "FLT-RO-500", 1, "399.00", "0.00");
    assert_eq!(o.city.as_deref(), Some("上海"));
    assert_totals(&o, ["399.00", "0.00", "399.00", "0.00", "399.00", "399.00"]);
}

/// Wraps a decoded `msg` object the way Youzan pushes it (`msg` form-encoded, Java style).
fn youzan_envelope(msg: &serde_json::Value, kind: &str) -> Vec<u8> {
    let compact = serde_json::to_string(msg).expect("json");
    let encoded: String = form_urlencoded::byte_serialize(compact.as_bytes()).collect();
    serde_json::to_vec(&serde_json::json!({
        "msg": encoded, "test": false, "type": kind, "client_id": "3f2a9c1e7b5d4a6c8e",
        "kdt_id": 98765432, "msg_id": "test-envelope", "sendCount": 1,
    }))
    .expect("json")
}

#[test]
fn youzan_full_trade_with_refund_order() {
    // youzan.trade.get after the refund and success: TRADE_SUCCESS with refund_state 2 and one
    // refund of 114.03 on oid …783 (FLT-CTO-10, paid 114.03: returned in full).
    let data: serde_json::Value =
        serde_json::from_slice(&fixture("youzan/api_trade_get_after_success.json")).expect("json");
    let o = as_order(youzan_body(&youzan_envelope(&data, "trade_TradeSuccess"), "trade_TradeSuccess"));
    assert_trade_a(&o);
    assert_eq!(o.version, ms("2026-11-25T09:12:30+08:00"));
    assert_eq!(o.status, OrderStatus::PartiallyRefunded);
    assert_eq!(o.paid_at, Some(t("2026-11-20T14:05:02+08:00")));
    assert_eq!(o.shipped_at, Some(t("2026-11-21T10:20:45+08:00")), "consign_time");
    assert_eq!(o.delivered_at, Some(t("2026-11-25T09:12:30+08:00")), "success_time");
    assert_eq!(
        o.refunds,
        vec![Refund {
            refund_id: "202611241620050000031002".into(),
            at: t("2026-11-24T16:41:40+08:00"),
            lines: vec![RefundLine { sku: "FLT-CTO-10".into(), quantity: 2, amount: m("114.03") }],
            shipping: Money::ZERO,
        }]
    );
    assert_refunded(&o, 0, 0, "0.00");
    assert_refunded(&o, 2, 2, "114.03");
    assert_totals(&o, ["3273.00", "400.00", "2873.00", "114.03", "2758.97", "2893.00"]);
}

#[test]
fn youzan_closed_trade_is_refunded_only_if_it_was_paid() {
    let text = fixture("youzan/closed_trade_create.msg.json");
    let mut msg: serde_json::Value = serde_json::from_slice(&text).expect("json");
    msg["full_order_info"]["order_info"]["status"] = "TRADE_CLOSED".into();
    msg["full_order_info"]["order_info"]["update_time"] = "2026-11-22 20:31:08".into();
    let o = as_order(youzan_body(&youzan_envelope(&msg, "trade_TradeClose"), "trade_TradeClose"));
    assert_eq!(o.status, OrderStatus::Cancelled, "closed before payment");

    msg["full_order_info"]["order_info"]["pay_time"] = "2026-11-22 20:16:00".into();
    let o = as_order(youzan_body(&youzan_envelope(&msg, "trade_TradeClose"), "trade_TradeClose"));
    assert_eq!(o.status, OrderStatus::Refunded, "closed after payment");
}

// ---------------------------------------------------------------------------------------------
// Standard Webhooks (canonical JSON in the envelope's `data`)

#[track_caller]
fn assert_pos_0042(o: &CanonicalOrder) {
    assert_eq!(o.platform, "pos");
    assert_eq!(o.shop_id, "qingquan-pos");
    assert_eq!(o.order_id, "POS-SZNS-20261120-0042");
    assert_eq!(o.placed_at, t("2026-11-20T15:22:08+08:00"));
    assert_eq!(o.currency, "CNY");
    assert_eq!(o.customer.platform_customer_id.as_deref(), Some("M00012345"));
    assert_eq!(o.customer.phone.as_deref(), Some("+8613800138011"));
    assert_eq!(o.customer.email.as_deref(), Some("li.na@example.cn"));
    assert_eq!(o.lines.len(), 3);
    assert_line(o, 0, "WP-RO-600", 1, "3299.00", "300.00");
    assert_line(o, 1, "FLT-PP-10", 3, "39.00", "0.00");
    assert_line(o, 2, "FLT-CTO-10", 2, "59.00", "18.00");
    assert_eq!((o.shipping, o.tax), (Money::ZERO, Money::ZERO));
    assert_eq!(o.store_id.as_deref(), Some("SZ-NS-01"));
    assert_eq!(o.salesperson.as_deref(), Some("王芳"));
    assert_eq!(o.city.as_deref(), Some("深圳"));
}

#[test]
fn standard_order_created_and_paid() {
    let created = as_order(standard("order_created.json"));
    assert_pos_0042(&created);
    assert_eq!(created.version, 1_795_159_328_000);
    assert_eq!(created.status, OrderStatus::Pending);
    assert_eq!(created.paid_at, None);
    // 3299 + 117 + 118 = 3534.00; 300 + 18 = 318.00
    assert_totals(&created, ["3534.00", "318.00", "3216.00", "0.00", "3216.00", "3216.00"]);

    let paid = as_order(standard("order_updated_paid.json"));
    assert_pos_0042(&paid);
    assert_eq!(paid.version, 1_795_159_480_000);
    assert_eq!(paid.status, OrderStatus::Paid);
    assert_eq!(paid.paid_at, Some(t("2026-11-20T15:24:40+08:00")));
    assert_totals(&paid, ["3534.00", "318.00", "3216.00", "0.00", "3216.00", "3216.00"]);
}

#[test]
fn standard_order_refund() {
    let o = as_order(standard("order_updated_refund.json"));
    assert_pos_0042(&o);
    assert_eq!(o.version, 1_795_748_700_000);
    assert_eq!(o.status, OrderStatus::PartiallyRefunded);
    assert_eq!(
        o.refunds,
        vec![Refund {
            refund_id: "RF-SZNS-20261127-0007".into(),
            at: t("2026-11-27T11:05:00+08:00"),
            lines: vec![RefundLine { sku: "FLT-PP-10".into(), quantity: 1, amount: m("39.00") }],
            shipping: Money::ZERO,
        }]
    );
    assert_refunded(&o, 1, 1, "39.00");
    assert_refunded(&o, 0, 0, "0.00");
    assert_totals(&o, ["3534.00", "318.00", "3216.00", "39.00", "3177.00", "3216.00"]);
}

#[test]
fn standard_versions_follow_the_story() {
    let versions: Vec<i64> = ["order_created.json", "order_updated_paid.json", "order_updated_refund.json"]
        .into_iter()
        .map(|p| as_order(standard(p)).version)
        .collect();
    assert_strictly_increasing("standard POS-0042 created < paid < refund", &versions);
}

#[test]
fn standard_order_for_another_shop_is_refused() {
    let c = ctx("someone-else", "", chrono_tz::Asia::Shanghai, "CNY");
    let err = platforms::parse(Platform::Standard, &fixture("standard/order_created.json"), &c)
        .expect_err("order names shop qingquan-pos");
    assert!(err.to_string().contains("qingquan-pos"), "{err}");
}

#[test]
fn standard_member_signup() {
    let record = standard("member_signup.json");
    let CanonicalRecord::MemberSignup(s) = record else { panic!("expected a sign-up, got {record:?}") };
    assert_eq!(
        s,
        MemberSignup {
            shop_id: "qingquan-pos".into(),
            phone: Some("+8613800138011".into()),
            email: Some("li.na@example.cn".into()),
            signed_up_at: t("2026-11-20T15:20:31+08:00"),
            source_raw_key: String::new(),
        }
    );
}

#[test]
fn standard_inventory_movement() {
    let record = standard("inventory_movement_receipt.json");
    let CanonicalRecord::Inventory(mv) = record else { panic!("expected a movement, got {record:?}") };
    assert_eq!(
        mv,
        InventoryMovement {
            movement_id: "MV-20261118-0002".into(),
            movement_type: MovementType::Receipt,
            location_id: "WH-SZ".into(),
            sku: "WP-RO-600".into(),
            quantity: 20,
            unit_cost: Some(m("1780.00")),
            at: t("2026-11-18T10:30:00+08:00"),
            reference: Some("PO-2026-1101".into()),
            expected_at: None,
            source_raw_key: String::new(),
        }
    );
}

#[test]
fn standard_product_upsert() {
    let record = standard("product_upsert.json");
    let CanonicalRecord::Product(p) = record else { panic!("expected a product, got {record:?}") };
    assert_eq!(
        p,
        Product {
            sku: "WP-RO-600".into(),
            name: "RO反渗透净水器 600G".into(),
            category: Some("purifier".into()),
            standard_cost: Some(m("1780.00")),
            requires_installation: true,
            is_consumable: false,
            updated_at: None,
            source_raw_key: String::new(),
        }
    );
}
