//! WooCommerce order webhooks (`order.created`, `order.updated`, `order.deleted`, …).
//!
//! Authentication: `X-WC-Webhook-Signature` = base64(HMAC-SHA256(webhook secret, raw body)).
//! WooCommerce's delivery id is not stable and it never retries, so the event key is the
//! SHA-256 of the body: the same body twice is the same event.
//! Version: `date_modified_gmt` in milliseconds (second resolution: two edits within one second
//! share a version, and the first to arrive wins).
//! Creating a webhook sends an unsigned form ping `webhook_id=N`: it gets 200 and lands nothing.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::signature::{base64_mac_matches, hmac_sha256, hmac_sha256_base64, sha256_hex};
use super::{id_string, Headers, ParseContext, ParseError, Verified, VerifyError};
use crate::canonical::{CanonicalOrder, CanonicalRecord, Customer, OrderLine, OrderStatus, Refund, RefundLine};
use crate::money::{allocate_proportionally, Money};

pub const SIGNATURE_HEADER: &str = "x-wc-webhook-signature";
pub const TOPIC_HEADER: &str = "x-wc-webhook-topic";
pub const DELIVERY_ID_HEADER: &str = "x-wc-webhook-delivery-id";

pub const TOPICS: [&str; 3] = ["order.created", "order.updated", "order.deleted"];

/// The header value WooCommerce would send for `body`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    hmac_sha256_base64(secret.as_bytes(), body)
}

/// Whether the body is WooCommerce's webhook-creation ping (`webhook_id=<digits>`).
pub fn is_ping(body: &[u8]) -> bool {
    let mut pairs = form_urlencoded::parse(body);
    match (pairs.next(), pairs.next()) {
        (Some((k, v)), None) => k == "webhook_id" && !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

pub fn verify(headers: &Headers, body: &[u8], secret: &str) -> Result<Verified, VerifyError> {
    if headers.get(SIGNATURE_HEADER).is_none() && is_ping(body) {
        return Ok(Verified::Ping);
    }
    let presented = headers.require(SIGNATURE_HEADER)?;
    let expected = hmac_sha256(secret.as_bytes(), &[body]);
    if !base64_mac_matches(presented, &expected) {
        return Err(VerifyError::BadSignature);
    }
    if is_ping(body) {
        return Ok(Verified::Ping);
    }
    let topic = headers.require(TOPIC_HEADER)?.to_string();
    Ok(Verified::Event { event_key: format!("woocommerce-{}", sha256_hex(body)), topic })
}

#[derive(Deserialize)]
struct WooOrder {
    id: Value,
    #[serde(default)]
    status: String,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    date_created_gmt: Option<String>,
    #[serde(default)]
    date_modified_gmt: Option<String>,
    #[serde(default)]
    date_paid_gmt: Option<String>,
    #[serde(default)]
    date_completed_gmt: Option<String>,
    #[serde(default)]
    shipping_total: Option<Money>,
    #[serde(default)]
    total_tax: Option<Money>,
    #[serde(default)]
    customer_id: Value,
    #[serde(default)]
    billing: Option<Contact>,
    #[serde(default)]
    shipping: Option<Contact>,
    #[serde(default)]
    line_items: Vec<WooLine>,
    #[serde(default)]
    refunds: Vec<WooRefund>,
}

#[derive(Deserialize, Default)]
struct Contact {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    city: Option<String>,
}

#[derive(Deserialize)]
struct WooLine {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    product_id: Value,
    quantity: i64,
    /// Before discounts, excluding tax.
    subtotal: Money,
    /// After discounts, excluding tax.
    total: Money,
    /// Tax on `total`.
    #[serde(default)]
    total_tax: Option<Money>,
}

#[derive(Deserialize)]
struct WooRefund {
    id: Value,
    /// Negative, as WooCommerce reports it.
    total: Money,
}

/// WooCommerce `*_gmt` fields are UTC without an offset.
fn gmt(text: &Option<String>) -> Result<Option<DateTime<Utc>>, ParseError> {
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S")
            .map(|n| Some(n.and_utc()))
            .or_else(|_| super::parse_time(t, chrono_tz::UTC).map(Some))
            .map_err(|_| ParseError::invalid(format!("`{t}` is not a WooCommerce GMT time"))),
    }
}

pub fn parse(body: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<CanonicalRecord>, ParseError> {
    match ctx.topic {
        "order.created" | "order.updated" | "order.restored" => {
            let order: WooOrder = serde_json::from_slice(body)?;
            Ok(vec![CanonicalRecord::Order(Box::new(order_from(order, ctx)?))])
        }
        "order.deleted" => Ok(vec![CanonicalRecord::Order(Box::new(deleted(body, ctx)?))]),
        other => Err(ParseError::UnsupportedTopic(other.to_string())),
    }
}

fn status_of(status: &str, has_refunds: bool) -> OrderStatus {
    match status {
        "processing" if has_refunds => OrderStatus::PartiallyRefunded,
        "completed" if has_refunds => OrderStatus::PartiallyRefunded,
        "processing" => OrderStatus::Paid,
        // WooCommerce's "completed" means fulfilled and done, and core WooCommerce has no later
        // state: mapping it to `shipped` would leave the order in transit forever in reporting,
        // so it is `delivered` (shipped_at = delivered_at = date_completed_gmt).
        "completed" => OrderStatus::Delivered,
        "refunded" => OrderStatus::Refunded,
        "cancelled" | "trash" => OrderStatus::Cancelled,
        // pending, on-hold, failed, checkout-draft: not paid.
        _ => OrderStatus::Pending,
    }
}

fn order_from(o: WooOrder, ctx: &ParseContext<'_>) -> Result<CanonicalOrder, ParseError> {
    let order_id = id_string(&o.id).ok_or_else(|| ParseError::invalid("order has no id"))?;
    let placed_at = gmt(&o.date_created_gmt)?.ok_or_else(|| ParseError::invalid("order has no date_created_gmt"))?;
    let modified = gmt(&o.date_modified_gmt)?.unwrap_or(placed_at);
    let status = status_of(&o.status, !o.refunds.is_empty());

    // WooCommerce line `subtotal` need not divide by the quantity: the unit price is rounded up
    // to the cent and the difference counted as discount, so that subtotal (= Woo `total`) stays exact.
    let mut lines = Vec::with_capacity(o.line_items.len());
    for li in &o.line_items {
        if li.quantity <= 0 {
            continue;
        }
        let sku = match li.sku.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => format!("woo-product-{}", id_string(&li.product_id).or_else(|| id_string(&li.id)).unwrap_or_default()),
        };
        let unit_minor = (li.subtotal.minor() + li.quantity - 1).div_euclid(li.quantity);
        let unit_price = Money::from_minor(unit_minor);
        let rounding = unit_price.times(li.quantity) - li.subtotal;
        lines.push(OrderLine {
            sku,
            quantity: li.quantity,
            unit_price,
            discount: li.subtotal - li.total + rounding,
            refunded_quantity: 0,
            refunded_amount: Money::ZERO,
        });
    }

    // The order representation lists refunds only as amounts (no lines, no dates): each is
    // allocated to lines by line value and dated at this version's modification time. A full
    // refund also refunds every unit.
    // A refund's `total` includes tax (refund 731: -37.16 = 34.65 + 2.51 tax), while canonical
    // refunds are merchandise only (SPEC: net_sales = subtotal − refunds). Take the tax out in the
    // proportion of line totals to line totals + line tax (docs/platforms.md), exactly: the
    // tax-free part of 37.16 over 513.00 / 550.19 is 34.65. (Was: the whole 37.16 counted as
    // merchandise, so net_sales lost 2.51 of tax that was never sales.)
    let weights: Vec<Money> = lines.iter().map(|l| l.unit_price.times(l.quantity) - l.discount).collect();
    let line_totals: Money = weights.iter().copied().sum();
    let line_tax: Money =
        o.line_items.iter().filter(|li| li.quantity > 0).map(|li| li.total_tax.unwrap_or_default()).sum();
    let mut refunds = Vec::with_capacity(o.refunds.len());
    for r in &o.refunds {
        let refund_id = id_string(&r.id).ok_or_else(|| ParseError::invalid("refund has no id"))?;
        let amount = allocate_proportionally(-r.total, &[line_totals, line_tax]).first().copied().unwrap_or(-r.total);
        let shares = allocate_proportionally(amount, &weights);
        let refund_lines = lines
            .iter()
            .zip(shares)
            .filter(|(_, share)| *share != Money::ZERO)
            .map(|(l, share)| RefundLine { sku: l.sku.clone(), quantity: 0, amount: share })
            .collect();
        refunds.push(Refund { refund_id, at: modified, lines: refund_lines, shipping: Money::ZERO });
    }
    let mut order = CanonicalOrder {
        platform: "woocommerce".into(),
        shop_id: ctx.shop_id.to_string(),
        order_id,
        version: modified.timestamp_millis(),
        status,
        placed_at,
        paid_at: gmt(&o.date_paid_gmt)?,
        shipped_at: gmt(&o.date_completed_gmt)?,
        delivered_at: gmt(&o.date_completed_gmt)?,
        currency: o.currency.unwrap_or_else(|| ctx.currency.to_string()).trim().to_ascii_uppercase(),
        customer: Customer {
            platform_customer_id: id_string(&o.customer_id).filter(|id| id != "0"),
            phone: o.billing.as_ref().and_then(|b| b.phone.clone()).filter(|p| !p.trim().is_empty()),
            email: o.billing.as_ref().and_then(|b| b.email.clone()).filter(|e| !e.trim().is_empty()),
        },
        lines,
        shipping: o.shipping_total.unwrap_or_default(),
        tax: o.total_tax.unwrap_or_default(),
        // Line subtotals and totals exclude tax even when the shop's prices include it.
        taxes_included: false,
        refunds,
        store_id: None,
        salesperson: None,
        city: o
            .shipping
            .as_ref()
            .and_then(|s| s.city.clone())
            .or_else(|| o.billing.as_ref().and_then(|b| b.city.clone()))
            .filter(|c| !c.trim().is_empty()),
        source_raw_key: String::new(),
    };
    order.roll_up_refunds_into_lines();
    if status == OrderStatus::Refunded {
        for line in &mut order.lines {
            line.refunded_quantity = line.quantity;
        }
    }
    Ok(order)
}

/// `order.deleted` carries only the id: the order becomes a cancelled tombstone without lines,
/// versioned at the time omnilake received it (WooCommerce does not retry, so it is stable).
fn deleted(body: &[u8], ctx: &ParseContext<'_>) -> Result<CanonicalOrder, ParseError> {
    #[derive(Deserialize)]
    struct Deleted {
        id: Value,
    }
    let d: Deleted = serde_json::from_slice(body)?;
    let order_id = id_string(&d.id).ok_or_else(|| ParseError::invalid("deleted order has no id"))?;
    Ok(CanonicalOrder {
        platform: "woocommerce".into(),
        shop_id: ctx.shop_id.to_string(),
        order_id,
        version: ctx.received_at.timestamp_millis(),
        status: OrderStatus::Cancelled,
        placed_at: ctx.received_at,
        paid_at: None,
        shipped_at: None,
        delivered_at: None,
        currency: ctx.currency.to_string(),
        customer: Customer::default(),
        lines: Vec::new(),
        shipping: Money::ZERO,
        tax: Money::ZERO,
        taxes_included: false,
        refunds: Vec::new(),
        store_id: None,
        salesperson: None,
        city: None,
        source_raw_key: String::new(),
    })
}
