//! Shopify order webhooks (`orders/*`, `refunds/create`).
//!
//! Authentication: `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(app secret, raw body)).
//! Event key: `X-Shopify-Webhook-Id`, which Shopify keeps across its retries.
//! Version: the order's `updated_at` in milliseconds, which every `orders/*` topic carries, so a
//! later change beats an earlier one whatever order the topics arrive in.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::signature::{base64_mac_matches, hmac_sha256, hmac_sha256_base64, sha256_hex};
use super::{id_string, key_from_delivery_id, Headers, ParseContext, ParseError, Verified, VerifyError};
use crate::canonical::{
    CanonicalOrder, CanonicalRecord, Customer, OrderLine, OrderStatus, Refund, RefundLine, RefundNotice,
};
use crate::money::{allocate_proportionally, Money};

pub const HMAC_HEADER: &str = "x-shopify-hmac-sha256";
pub const TOPIC_HEADER: &str = "x-shopify-topic";
pub const WEBHOOK_ID_HEADER: &str = "x-shopify-webhook-id";

/// Topics omnilake subscribes to.
pub const TOPICS: [&str; 5] = ["orders/create", "orders/updated", "orders/paid", "orders/cancelled", "refunds/create"];

/// The header value Shopify would send for `body` (used by `omnilake send` and tests).
pub fn sign(secret: &str, body: &[u8]) -> String {
    hmac_sha256_base64(secret.as_bytes(), body)
}

pub fn verify(headers: &Headers, body: &[u8], secret: &str) -> Result<Verified, VerifyError> {
    let presented = headers.require(HMAC_HEADER)?;
    let expected = hmac_sha256(secret.as_bytes(), &[body]);
    if !base64_mac_matches(presented, &expected) {
        return Err(VerifyError::BadSignature);
    }
    let topic = headers.require(TOPIC_HEADER)?.to_string();
    let event_key = match headers.get(WEBHOOK_ID_HEADER) {
        Some(id) if !id.trim().is_empty() => key_from_delivery_id("shopify", id.trim()),
        _ => format!("shopify-body-{}", sha256_hex(body)),
    };
    Ok(Verified::Event { event_key, topic })
}

#[derive(Deserialize)]
struct ShopifyOrder {
    id: Value,
    created_at: DateTime<chrono::FixedOffset>,
    updated_at: DateTime<chrono::FixedOffset>,
    #[serde(default)]
    processed_at: Option<DateTime<chrono::FixedOffset>>,
    #[serde(default)]
    cancelled_at: Option<DateTime<chrono::FixedOffset>>,
    #[serde(default)]
    financial_status: Option<String>,
    #[serde(default)]
    fulfillment_status: Option<String>,
    currency: String,
    #[serde(default)]
    total_discounts: Option<Money>,
    #[serde(default)]
    total_tax: Option<Money>,
    #[serde(default)]
    taxes_included: bool,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    customer: Option<ShopifyCustomer>,
    #[serde(default)]
    billing_address: Option<Address>,
    #[serde(default)]
    shipping_address: Option<Address>,
    line_items: Vec<LineItem>,
    #[serde(default)]
    shipping_lines: Vec<ShippingLine>,
    #[serde(default)]
    refunds: Vec<ShopifyRefund>,
    #[serde(default)]
    fulfillments: Vec<Fulfillment>,
}

#[derive(Deserialize)]
struct ShopifyCustomer {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

#[derive(Deserialize, Default)]
struct Address {
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    city: Option<String>,
}

#[derive(Deserialize)]
struct LineItem {
    id: Value,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    variant_id: Value,
    quantity: i64,
    price: Money,
    #[serde(default)]
    total_discount: Option<Money>,
    #[serde(default)]
    discount_allocations: Vec<DiscountAllocation>,
}

#[derive(Deserialize)]
struct DiscountAllocation {
    amount: Money,
}

#[derive(Deserialize)]
struct ShippingLine {
    price: Money,
    #[serde(default)]
    discounted_price: Option<Money>,
}

#[derive(Deserialize)]
struct ShopifyRefund {
    id: Value,
    #[serde(default)]
    order_id: Value,
    created_at: DateTime<chrono::FixedOffset>,
    /// When the refund took effect (docs/platforms.md: refunds[].`processed_at`); `created_at`
    /// if absent.
    #[serde(default)]
    processed_at: Option<DateTime<chrono::FixedOffset>>,
    #[serde(default)]
    refund_line_items: Vec<RefundLineItem>,
    #[serde(default)]
    order_adjustments: Vec<OrderAdjustment>,
    #[serde(default)]
    transactions: Vec<Transaction>,
}

#[derive(Deserialize)]
struct RefundLineItem {
    #[serde(default)]
    line_item_id: Value,
    quantity: i64,
    /// A JSON number in the REST examples (`34.65`): read exactly by `Money`, but only used when
    /// the string twin `subtotal_set` is absent (docs/platforms.md: prefer the string field).
    #[serde(default)]
    subtotal: Option<Money>,
    #[serde(default)]
    subtotal_set: Option<MoneySet>,
    #[serde(default)]
    line_item: Option<RefundedItem>,
}

/// Shopify's `*_set` pair; only the shop currency matters (canonical money is in shop currency).
#[derive(Deserialize)]
struct MoneySet {
    shop_money: MoneyBag,
}

#[derive(Deserialize)]
struct MoneyBag {
    amount: Money,
}

#[derive(Deserialize)]
struct RefundedItem {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    variant_id: Value,
    #[serde(default)]
    price: Option<Money>,
}

#[derive(Deserialize)]
struct OrderAdjustment {
    #[serde(default)]
    kind: Option<String>,
    amount: Money,
}

#[derive(Deserialize)]
struct Transaction {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    status: Option<String>,
    amount: Money,
    #[serde(default)]
    currency: Option<String>,
}

#[derive(Deserialize)]
struct Fulfillment {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    shipment_status: Option<String>,
    created_at: DateTime<chrono::FixedOffset>,
    #[serde(default)]
    updated_at: Option<DateTime<chrono::FixedOffset>>,
}

/// The SKU of a line; Shopify allows empty SKUs, then the variant (or line) id stands in.
fn sku_of(sku: &Option<String>, variant_id: &Value, line_id: &Value) -> String {
    match sku.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => match id_string(variant_id) {
            Some(v) => format!("shopify-variant-{v}"),
            None => format!("shopify-line-{}", id_string(line_id).unwrap_or_default()),
        },
    }
}

fn utc(t: DateTime<chrono::FixedOffset>) -> DateTime<Utc> {
    t.with_timezone(&Utc)
}

pub fn parse(body: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<CanonicalRecord>, ParseError> {
    match ctx.topic {
        "orders/create"
        | "orders/updated"
        | "orders/paid"
        | "orders/cancelled"
        | "orders/fulfilled"
        | "orders/partially_fulfilled"
        | "orders/edited" => {
            let order: ShopifyOrder = serde_json::from_slice(body)?;
            Ok(vec![CanonicalRecord::Order(Box::new(order_from(order, ctx)?))])
        }
        "refunds/create" => {
            let refund: ShopifyRefund = serde_json::from_slice(body)?;
            Ok(vec![CanonicalRecord::Refund(refund_notice(refund, ctx)?)])
        }
        other => Err(ParseError::UnsupportedTopic(other.to_string())),
    }
}

/// Fulfilments that count (a cancelled or failed fulfilment shipped nothing).
fn live_fulfillments(o: &ShopifyOrder) -> impl Iterator<Item = &Fulfillment> {
    o.fulfillments.iter().filter(|f| matches!(f.status.as_deref(), Some("success") | None))
}

/// docs/platforms.md "Shopify", status: first rule that matches.
fn status_of(o: &ShopifyOrder) -> OrderStatus {
    if o.cancelled_at.is_some() {
        return OrderStatus::Cancelled;
    }
    match o.financial_status.as_deref().unwrap_or("pending") {
        "refunded" => OrderStatus::Refunded,
        "partially_refunded" => OrderStatus::PartiallyRefunded,
        // An authorisation that was voided or lapsed: the sale never happened (was: only
        // `voided`; `expired` fell through to pending forever).
        "voided" | "expired" => OrderStatus::Cancelled,
        "paid" => {
            // Delivered only when *every* shipment arrived (was: any one, which called a
            // half-delivered split shipment delivered); a partial fulfilment is already shipped.
            let mut live = live_fulfillments(o).peekable();
            let any = live.peek().is_some();
            if any && live.all(|f| f.shipment_status.as_deref() == Some("delivered")) {
                OrderStatus::Delivered
            } else if matches!(o.fulfillment_status.as_deref(), Some("fulfilled" | "partial")) {
                OrderStatus::Shipped
            } else {
                OrderStatus::Paid
            }
        }
        // pending, authorized (not captured), partially_paid: money not yet in.
        _ => OrderStatus::Pending,
    }
}

fn order_from(o: ShopifyOrder, ctx: &ParseContext<'_>) -> Result<CanonicalOrder, ParseError> {
    let order_id = id_string(&o.id).ok_or_else(|| ParseError::invalid("order has no id"))?;
    let status = status_of(&o);

    // Line discounts: Shopify's own allocations when present, else the legacy per-line
    // `total_discount`; whatever order-level discount remains is allocated by line value.
    let mut lines: Vec<OrderLine> = Vec::with_capacity(o.line_items.len());
    let mut line_ids: HashMap<String, usize> = HashMap::new();
    for (i, li) in o.line_items.iter().enumerate() {
        let discount = if li.discount_allocations.is_empty() {
            li.total_discount.unwrap_or_default()
        } else {
            li.discount_allocations.iter().map(|d| d.amount).sum()
        };
        if let Some(id) = id_string(&li.id) {
            line_ids.insert(id, i);
        }
        lines.push(OrderLine {
            sku: sku_of(&li.sku, &li.variant_id, &li.id),
            quantity: li.quantity,
            unit_price: li.price,
            discount,
            refunded_quantity: 0,
            refunded_amount: Money::ZERO,
        });
    }
    let line_discounts: Money = lines.iter().map(|l| l.discount).sum();
    let unallocated = o.total_discounts.unwrap_or_default() - line_discounts;
    if unallocated > Money::ZERO {
        let weights: Vec<Money> = lines.iter().map(|l| l.unit_price.times(l.quantity) - l.discount).collect();
        for (line, share) in lines.iter_mut().zip(allocate_proportionally(unallocated, &weights)) {
            line.discount += share;
        }
    }

    let mut refunds = Vec::with_capacity(o.refunds.len());
    for r in &o.refunds {
        let refund = refund_from(r, &lines, &line_ids)?;
        for (rli, rl) in r.refund_line_items.iter().zip(&refund.lines) {
            let idx = id_string(&rli.line_item_id)
                .and_then(|id| line_ids.get(&id).copied())
                .or_else(|| lines.iter().position(|l| l.sku == rl.sku));
            if let Some(idx) = idx {
                lines[idx].refunded_quantity += rl.quantity;
                lines[idx].refunded_amount += rl.amount;
            }
        }
        refunds.push(refund);
    }

    let shipping = o.shipping_lines.iter().map(|s| s.discounted_price.unwrap_or(s.price)).sum();
    let customer = Customer {
        platform_customer_id: o.customer.as_ref().and_then(|c| id_string(&c.id)),
        phone: first_present([
            o.customer.as_ref().and_then(|c| c.phone.clone()),
            o.phone.clone(),
            o.billing_address.as_ref().and_then(|a| a.phone.clone()),
            o.shipping_address.as_ref().and_then(|a| a.phone.clone()),
        ]),
        email: first_present([o.customer.as_ref().and_then(|c| c.email.clone()), o.email.clone()]),
    };
    // Money was taken in these states, even if the order was later refunded. Not
    // `partially_paid`: that maps to `pending`, and a pending order has no paid_at.
    let paid = matches!(o.financial_status.as_deref(), Some("paid" | "partially_refunded" | "refunded"));
    let shipped_at = live_fulfillments(&o).map(|f| f.created_at).min();
    let delivered_at = live_fulfillments(&o)
        .filter(|f| f.shipment_status.as_deref() == Some("delivered"))
        .map(|f| f.updated_at.unwrap_or(f.created_at))
        .max();
    Ok(CanonicalOrder {
        platform: "shopify".into(),
        shop_id: ctx.shop_id.to_string(),
        order_id,
        version: o.updated_at.timestamp_millis(),
        status,
        // docs/platforms.md: `processed_at` is when the order was placed (it differs from
        // `created_at` for imported and draft orders).
        placed_at: utc(o.processed_at.unwrap_or(o.created_at)),
        paid_at: if paid { Some(utc(o.processed_at.unwrap_or(o.created_at))) } else { None },
        shipped_at: shipped_at.map(utc),
        delivered_at: delivered_at.map(utc),
        currency: o.currency.trim().to_ascii_uppercase(),
        customer,
        lines,
        shipping,
        tax: o.total_tax.unwrap_or_default(),
        taxes_included: o.taxes_included,
        refunds,
        store_id: None,
        salesperson: None,
        city: o
            .shipping_address
            .as_ref()
            .and_then(|a| a.city.clone())
            .or_else(|| o.billing_address.as_ref().and_then(|a| a.city.clone()))
            .filter(|c| !c.trim().is_empty()),
        source_raw_key: String::new(),
    })
}

fn first_present<const N: usize>(candidates: [Option<String>; N]) -> Option<String> {
    candidates.into_iter().flatten().map(|s| s.trim().to_string()).find(|s| !s.is_empty())
}

/// One refund as a canonical [`Refund`]; line amounts are the refunded merchandise value
/// (`subtotal`, after discounts, before tax), shipping refunds come from order adjustments.
fn refund_from(
    r: &ShopifyRefund,
    lines: &[OrderLine],
    line_ids: &HashMap<String, usize>,
) -> Result<Refund, ParseError> {
    let refund_id = id_string(&r.id).ok_or_else(|| ParseError::invalid("refund has no id"))?;
    let mut out_lines = Vec::with_capacity(r.refund_line_items.len());
    for rli in &r.refund_line_items {
        let known = id_string(&rli.line_item_id).and_then(|id| line_ids.get(&id)).map(|&i| &lines[i]);
        let sku = match (&rli.line_item, known) {
            (_, Some(line)) => line.sku.clone(),
            (Some(item), None) => sku_of(&item.sku, &item.variant_id, &item.id),
            (None, None) => return Err(ParseError::invalid(format!("refund {refund_id} names an unknown line"))),
        };
        let amount = match rli.subtotal_set.as_ref().map(|s| s.shop_money.amount).or(rli.subtotal) {
            Some(a) => a,
            None => {
                let price = known.map(|l| l.unit_price).or(rli.line_item.as_ref().and_then(|i| i.price));
                price.unwrap_or_default().times(rli.quantity)
            }
        };
        out_lines.push(RefundLine { sku, quantity: rli.quantity, amount });
    }
    let shipping =
        r.order_adjustments.iter().filter(|a| a.kind.as_deref() == Some("shipping_refund")).map(|a| -a.amount).sum();
    Ok(Refund { refund_id, at: utc(r.processed_at.unwrap_or(r.created_at)), lines: out_lines, shipping })
}

fn refund_notice(r: ShopifyRefund, ctx: &ParseContext<'_>) -> Result<RefundNotice, ParseError> {
    let order_id = id_string(&r.order_id).ok_or_else(|| ParseError::invalid("refund has no order_id"))?;
    let refund = refund_from(&r, &[], &HashMap::new())?;
    let refunded: Vec<&Transaction> = r
        .transactions
        .iter()
        .filter(|t| t.kind.as_deref() == Some("refund") && t.status.as_deref() != Some("failure"))
        .collect();
    let currency = refunded.iter().find_map(|t| t.currency.clone()).unwrap_or_else(|| ctx.currency.to_string());
    let amount = if refunded.is_empty() { None } else { Some(refunded.iter().map(|t| t.amount).sum()) };
    Ok(RefundNotice {
        platform: "shopify".into(),
        shop_id: ctx.shop_id.to_string(),
        order_id,
        refund_id: refund.refund_id,
        at: refund.at,
        currency,
        lines: refund.lines,
        shipping: refund.shipping,
        amount,
        source_raw_key: String::new(),
    })
}
