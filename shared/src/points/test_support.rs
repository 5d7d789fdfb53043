//! Order builders for the points unit tests.

use chrono::{DateTime, Utc};

use crate::canonical::{CanonicalOrder, Customer, OrderLine, OrderStatus};
use crate::money::Money;

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

/// A CNY order placed and paid at `paid_at`, lines as (quantity, unit price, discount,
/// refunded amount) in fen.
pub fn order(status: &str, lines: &[(i64, i64, i64, i64)], paid_at: &str) -> CanonicalOrder {
    let status: OrderStatus =
        serde_json::from_value(serde_json::Value::String(status.into())).unwrap_or(OrderStatus::Pending);
    CanonicalOrder {
        platform: "shopify".into(),
        shop_id: "s1".into(),
        order_id: "1001".into(),
        version: 1,
        status,
        placed_at: at(paid_at),
        paid_at: Some(at(paid_at)),
        shipped_at: None,
        delivered_at: None,
        currency: "CNY".into(),
        customer: Customer { platform_customer_id: Some("c1".into()), phone: None, email: None },
        lines: lines
            .iter()
            .enumerate()
            .map(|(i, &(quantity, price, discount, refunded))| OrderLine {
                sku: format!("SKU-{i}"),
                quantity,
                unit_price: Money::from_minor(price),
                discount: Money::from_minor(discount),
                refunded_quantity: 0,
                refunded_amount: Money::from_minor(refunded),
            })
            .collect(),
        shipping: Money::from_minor(1500),
        tax: Money::from_minor(300),
        taxes_included: false,
        refunds: Vec::new(),
        store_id: None,
        salesperson: None,
        city: None,
        source_raw_key: String::new(),
    }
}
