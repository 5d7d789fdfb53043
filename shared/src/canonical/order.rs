//! One version of one order, whatever platform it came from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::time::{rfc3339, rfc3339_opt};
use crate::money::Money;

/// Order lifecycle states, the same words for every platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
    Refunded,
    PartiallyRefunded,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Refunded => "refunded",
            OrderStatus::PartiallyRefunded => "partially_refunded",
        }
    }
}

/// Who bought. Every field is optional: guests and POS walk-ins have none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Customer {
    pub fn is_empty(&self) -> bool {
        self.platform_customer_id.is_none() && self.phone.is_none() && self.email.is_none()
    }
}

/// One order line. `refunded_*` are the totals of this line's refunds so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub sku: String,
    pub quantity: i64,
    pub unit_price: Money,
    /// Line discount including its share of order-level discounts.
    #[serde(default)]
    pub discount: Money,
    #[serde(default)]
    pub refunded_quantity: i64,
    #[serde(default)]
    pub refunded_amount: Money,
}

/// A refunded line inside a [`Refund`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLine {
    pub sku: String,
    #[serde(default)]
    pub quantity: i64,
    pub amount: Money,
}

/// One refund of an order, dated when it happened (rollups count it on that business day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub refund_id: String,
    #[serde(with = "rfc3339")]
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub lines: Vec<RefundLine>,
    #[serde(default)]
    pub shipping: Money,
}

/// One version of one order (SPEC "Canonical order").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanonicalOrder {
    /// The sales channel: `shopify`, `woocommerce`, `youzan`, `pos`, `tmall`, …
    pub platform: String,
    pub shop_id: String,
    pub order_id: String,
    /// Monotonic per order: a later version replaces an earlier one everywhere.
    pub version: i64,
    pub status: OrderStatus,
    #[serde(with = "rfc3339")]
    pub placed_at: DateTime<Utc>,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<DateTime<Utc>>,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    pub shipped_at: Option<DateTime<Utc>>,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    pub currency: String,
    #[serde(default)]
    pub customer: Customer,
    pub lines: Vec<OrderLine>,
    #[serde(default)]
    pub shipping: Money,
    #[serde(default)]
    pub tax: Money,
    /// Whether unit prices include tax (then `tax` is informational, already inside the prices).
    #[serde(default)]
    pub taxes_included: bool,
    #[serde(default)]
    pub refunds: Vec<Refund>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salesperson: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// The `raw/…` key this version was normalised from (filled in by `normalize-orders`).
    #[serde(default)]
    pub source_raw_key: String,
}

/// The SPEC's money definitions for one order version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub gross_sales: Money,
    pub discounts: Money,
    pub subtotal: Money,
    pub refunds: Money,
    pub net_sales: Money,
    pub total_paid: Money,
}

impl CanonicalOrder {
    /// `gross_sales`, `discounts`, `subtotal`, `refunds`, `net_sales`, `total_paid` exactly as
    /// SPEC "Money definitions" states them. Shipping and tax are never sales.
    pub fn totals(&self) -> Totals {
        let gross_sales: Money = self.lines.iter().map(|l| l.unit_price.times(l.quantity)).sum();
        let discounts: Money = self.lines.iter().map(|l| l.discount).sum();
        let refunds: Money = self.lines.iter().map(|l| l.refunded_amount).sum();
        let subtotal = gross_sales - discounts;
        let tax_on_top = if self.taxes_included { Money::ZERO } else { self.tax };
        Totals {
            gross_sales,
            discounts,
            subtotal,
            refunds,
            net_sales: subtotal - refunds,
            total_paid: subtotal + self.shipping + tax_on_top,
        }
    }

    /// The identity of the order across versions.
    pub fn order_key(&self) -> (&str, &str, &str) {
        (&self.platform, &self.shop_id, &self.order_id)
    }

    /// Recomputes each line's `refunded_quantity`/`refunded_amount` from `refunds[]`, for
    /// platforms that only report refunds as separate objects.
    pub fn roll_up_refunds_into_lines(&mut self) {
        for line in &mut self.lines {
            line.refunded_quantity = 0;
            line.refunded_amount = Money::ZERO;
        }
        for refund in &self.refunds {
            for rl in &refund.lines {
                if let Some(line) = self.lines.iter_mut().find(|l| l.sku == rl.sku) {
                    line.refunded_quantity += rl.quantity;
                    line.refunded_amount += rl.amount;
                }
            }
        }
    }

    /// Checks invariants that make a record unusable downstream if broken.
    pub fn validate(&self) -> Result<(), String> {
        if self.order_id.trim().is_empty() {
            return Err("order_id is empty".into());
        }
        if self.shop_id.trim().is_empty() {
            return Err("shop_id is empty".into());
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!("currency `{}` is not an ISO 4217 code", self.currency));
        }
        for line in &self.lines {
            if line.sku.trim().is_empty() {
                return Err("a line has no sku".into());
            }
            if line.quantity < 0 || line.refunded_quantity < 0 {
                return Err(format!("line {} has a negative quantity", line.sku));
            }
            if line.unit_price.is_negative() || line.discount.is_negative() {
                return Err(format!("line {} has a negative price or discount", line.sku));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(sku: &str, qty: i64, price: &str, discount: &str) -> OrderLine {
        OrderLine {
            sku: sku.into(),
            quantity: qty,
            unit_price: price.parse().expect("price"),
            discount: discount.parse().expect("discount"),
            refunded_quantity: 0,
            refunded_amount: Money::ZERO,
        }
    }

    fn order() -> CanonicalOrder {
        CanonicalOrder {
            platform: "pos".into(),
            shop_id: "sz-01".into(),
            order_id: "A1".into(),
            version: 1,
            status: OrderStatus::Paid,
            placed_at: "2026-11-20T06:00:00Z".parse().expect("time"),
            paid_at: None,
            shipped_at: None,
            delivered_at: None,
            currency: "CNY".into(),
            customer: Customer::default(),
            lines: vec![line("WP-RO-500", 1, "1299.00", "100.00"), line("FLT-PP-10", 3, "39.90", "0")],
            shipping: "20.00".parse().expect("shipping"),
            tax: "0".parse().expect("tax"),
            taxes_included: true,
            refunds: vec![],
            store_id: None,
            salesperson: None,
            city: None,
            source_raw_key: String::new(),
        }
    }

    #[test]
    fn totals_follow_the_money_definitions() {
        let mut o = order();
        o.refunds.push(Refund {
            refund_id: "r1".into(),
            at: "2026-11-22T06:00:00Z".parse().expect("time"),
            lines: vec![RefundLine { sku: "FLT-PP-10".into(), quantity: 1, amount: "39.90".parse().expect("amt") }],
            shipping: Money::ZERO,
        });
        o.roll_up_refunds_into_lines();
        let t = o.totals();
        assert_eq!(t.gross_sales.to_string(), "1418.70");
        assert_eq!(t.discounts.to_string(), "100.00");
        assert_eq!(t.subtotal.to_string(), "1318.70");
        assert_eq!(t.refunds.to_string(), "39.90");
        assert_eq!(t.net_sales.to_string(), "1278.80");
        assert_eq!(t.total_paid.to_string(), "1338.70");
        assert_eq!(o.lines[1].refunded_quantity, 1);
    }

    #[test]
    fn tax_on_top_counts_in_total_paid_only() {
        let mut o = order();
        o.taxes_included = false;
        o.tax = "13.00".parse().expect("tax");
        let t = o.totals();
        assert_eq!(t.net_sales.to_string(), "1318.70");
        assert_eq!(t.total_paid.to_string(), "1351.70");
    }

    #[test]
    fn json_round_trip_keeps_the_contract_shapes() {
        let o = order();
        let json = serde_json::to_value(&o).expect("json");
        assert_eq!(json["lines"][0]["unit_price"], "1299.00");
        assert_eq!(json["placed_at"], "2026-11-20T06:00:00+00:00");
        assert_eq!(json["status"], "paid");
        let back: CanonicalOrder = serde_json::from_value(json).expect("back");
        assert_eq!(back, o);
    }

    #[test]
    fn validate_rejects_unusable_records() {
        let mut o = order();
        o.currency = "yuan".into();
        assert!(o.validate().is_err());
        let mut o = order();
        o.lines[0].quantity = -1;
        assert!(o.validate().is_err());
        assert!(order().validate().is_ok());
    }
}
