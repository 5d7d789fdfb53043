//! Youzan (有赞) push messages for WeChat shops.
//!
//! Authentication: header `Event-Sign` = lower-case hex MD5(client_id + raw body + client_secret),
//! `Client-Id` names the app, `Event-Type` the message type. The shop's secret is the app's
//! client secret. The body is a JSON envelope whose `msg` is the URL-encoded order JSON
//! (`full_order_info`). Youzan requires the reply `{"code":0,"msg":"success"}`.
//! Event key: the envelope's `msg_id`, which Youzan keeps across resends (a resend's body differs
//! in `sendCount`, so a body hash would not see the duplicate); SHA-256 of the body without one.
//! Only create/paid pushes carry the whole trade; ship, success and close pushes carry just the
//! trade id and time, and refund pushes the refund: those become notices, not order versions.
//! Version: the trade's `update_time` in milliseconds (Beijing time, no offset in the payload).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::signature::{ct_eq_str, md5_hex, sha256_hex};
use super::{id_string, key_from_delivery_id, parse_time, Headers, ParseContext, ParseError, Verified, VerifyError};
use crate::canonical::{
    CanonicalOrder, CanonicalRecord, Customer, OrderLine, OrderNotice, OrderStatus, Refund, RefundLine, RefundNotice,
};
use crate::money::{allocate_proportionally, Money};

pub const SIGN_HEADER: &str = "event-sign";
pub const CLIENT_ID_HEADER: &str = "client-id";
pub const TYPE_HEADER: &str = "event-type";

/// The `Event-Sign` Youzan would send.
pub fn sign(client_id: &str, client_secret: &str, body: &[u8]) -> String {
    md5_hex(&[client_id.as_bytes(), body, client_secret.as_bytes()])
}

pub fn verify(headers: &Headers, body: &[u8], secret: &str) -> Result<Verified, VerifyError> {
    let presented = headers.require(SIGN_HEADER)?;
    let client_id = headers.require(CLIENT_ID_HEADER)?;
    let expected = sign(client_id, secret, body);
    if !ct_eq_str(&presented.to_ascii_lowercase(), &expected) {
        return Err(VerifyError::BadSignature);
    }
    let topic = match headers.get(TYPE_HEADER) {
        Some(t) if !t.trim().is_empty() => t.trim().to_string(),
        _ => envelope_type(body).unwrap_or_else(|| "unknown".into()),
    };
    let event_key = match serde_json::from_slice::<Envelope>(body).ok().and_then(|e| e.msg_id) {
        Some(id) if !id.trim().is_empty() => key_from_delivery_id("youzan", id.trim()),
        _ => format!("youzan-{}", sha256_hex(body)),
    };
    Ok(Verified::Event { event_key, topic })
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default)]
    test: bool,
    #[serde(default)]
    msg_id: Option<String>,
}

fn envelope_type(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<Envelope>(body).ok().and_then(|e| e.kind)
}

/// `msg` is URL-encoded JSON (percent-encoding, `+` as space).
fn decode_msg(msg: &str) -> String {
    let spaced = msg.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    full_order_info: Option<FullOrderInfo>,
    #[serde(default)]
    refund_order: Vec<RefundOrder>,
    #[serde(default)]
    tid: Option<String>,
    #[serde(default)]
    refund_id: Option<String>,
    #[serde(default)]
    refunded_fee: Option<Money>,
    #[serde(default)]
    update_time: Option<String>,
    #[serde(default)]
    close_reason: Option<String>,
}

#[derive(Deserialize)]
struct FullOrderInfo {
    order_info: OrderInfo,
    #[serde(default)]
    buyer_info: Option<BuyerInfo>,
    #[serde(default)]
    pay_info: Option<PayInfo>,
    #[serde(default)]
    orders: Vec<YouzanLine>,
    #[serde(default)]
    address_info: Option<AddressInfo>,
}

#[derive(Deserialize)]
struct OrderInfo {
    tid: String,
    status: String,
    created: String,
    #[serde(default)]
    update_time: Option<String>,
    #[serde(default)]
    pay_time: Option<String>,
    #[serde(default)]
    consign_time: Option<String>,
    #[serde(default)]
    confirm_time: Option<String>,
    #[serde(default)]
    success_time: Option<String>,
    /// 0 none, 1/11 in progress, 2 partly refunded, 12 fully refunded (youzan.trade.get 4.0.1).
    #[serde(default)]
    refund_state: Value,
}

/// One entry of `refund_order[]` (full messages and `youzan.trade.get`).
#[derive(Deserialize)]
struct RefundOrder {
    #[serde(default)]
    refund_id: Value,
    #[serde(default)]
    refund_fee: Option<Money>,
    #[serde(default)]
    refund_time: Option<String>,
    /// `[{"oid": "…"}]` here; refund push messages send a comma-separated string.
    #[serde(default)]
    oids: Value,
    #[serde(default)]
    refund_fund: Vec<RefundFund>,
}

#[derive(Deserialize)]
struct RefundFund {
    #[serde(default)]
    refund_account_time: Option<String>,
    #[serde(default)]
    create_time: Option<String>,
}

/// The line ids a refund names, whichever shape Youzan used.
fn oid_list(oids: &Value) -> Vec<String> {
    match oids {
        Value::String(s) => s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|item| match item {
                Value::Object(o) => o.get("oid").and_then(id_string),
                other => id_string(other),
            })
            .collect(),
        other => id_string(other).into_iter().collect(),
    }
}

/// Youzan cities end in 市 (`深圳市`), POS feeds write `深圳`: strip it so they group together
/// (docs/platforms.md "Rules shared by all platforms").
fn city_name(city: &str) -> String {
    match city.strip_suffix('市') {
        Some(stem) if !stem.is_empty() => stem.to_string(),
        _ => city.to_string(),
    }
}

#[derive(Deserialize)]
struct BuyerInfo {
    #[serde(default)]
    buyer_phone: Option<String>,
    #[serde(default)]
    yz_open_id: Option<String>,
    #[serde(default)]
    fans_id: Value,
    #[serde(default)]
    buyer_id: Value,
}

#[derive(Deserialize)]
struct PayInfo {
    #[serde(default)]
    post_fee: Option<Money>,
}

#[derive(Deserialize)]
struct YouzanLine {
    #[serde(default)]
    oid: Value,
    #[serde(default)]
    outer_sku_id: Option<String>,
    #[serde(default)]
    outer_item_id: Option<String>,
    #[serde(default)]
    sku_no: Option<String>,
    #[serde(default)]
    item_id: Value,
    num: i64,
    price: Money,
    /// What the buyer paid for the line (after discounts).
    #[serde(default)]
    payment: Option<Money>,
    #[serde(default)]
    total_fee: Option<Money>,
    #[serde(default)]
    refunded_fee: Option<Money>,
    #[serde(default)]
    refunded_num: Option<i64>,
}

#[derive(Deserialize)]
struct AddressInfo {
    #[serde(default)]
    delivery_city: Option<String>,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty() && !s.starts_with("0000-"))
}

pub fn parse(body: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<CanonicalRecord>, ParseError> {
    let envelope: Envelope = serde_json::from_slice(body)?;
    let msg = envelope.msg.as_deref().ok_or_else(|| ParseError::invalid("envelope has no `msg`"))?;
    let message: Message = serde_json::from_str(&decode_msg(msg))
        .map_err(|e| ParseError::invalid(format!("`msg` is not order JSON: {e}")))?;
    if envelope.test {
        // Youzan's console "test push": authentic, but not an order.
        return Err(ParseError::UnsupportedTopic("test push".into()));
    }
    if let Some(info) = message.full_order_info {
        return Ok(vec![CanonicalRecord::Order(Box::new(order_from(info, &message.refund_order, ctx)?))]);
    }
    let tid = message.tid.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let Some(tid) = tid else {
        return Err(ParseError::invalid("message has neither full_order_info nor tid"));
    };
    let at = match non_empty(&message.update_time) {
        Some(t) => parse_time(t, ctx.time_zone)?,
        None => ctx.received_at,
    };
    if let Some(refund_id) = message.refund_id.as_deref() {
        return Ok(vec![CanonicalRecord::Refund(RefundNotice {
            platform: "youzan".into(),
            shop_id: ctx.shop_id.to_string(),
            order_id: tid.to_string(),
            refund_id: refund_id.to_string(),
            at,
            currency: ctx.currency.to_string(),
            lines: Vec::new(),
            shipping: Money::ZERO,
            amount: message.refunded_fee,
            source_raw_key: String::new(),
        })]);
    }
    Ok(vec![CanonicalRecord::Notice(OrderNotice {
        platform: "youzan".into(),
        shop_id: ctx.shop_id.to_string(),
        order_id: tid.to_string(),
        topic: ctx.topic.to_string(),
        at,
        detail: message.close_reason.map(|r| serde_json::json!({ "close_reason": r })),
        source_raw_key: String::new(),
    })])
}

fn is_plain_phone(p: &str) -> bool {
    p.bytes().any(|b| b.is_ascii_digit()) && p.bytes().all(|b| b.is_ascii_digit() || b"+- ()".contains(&b))
}

/// docs/platforms.md "Youzan", status. `was_paid`: `pay_time` set; `refund_state` as Youzan
/// reports it (2 partly, 12 fully refunded), `refunded_any`/`refunded_all` from the refunds seen.
fn status_of(status: &str, was_paid: bool, refund_state: i64, refunded_any: bool, refunded_all: bool) -> OrderStatus {
    let refunded_all = refunded_all || refund_state == 12;
    let refunded_any = refunded_any || refund_state == 2;
    match status {
        "WAIT_BUYER_PAY" | "TRADE_NO_CREATE_PAY" | "WAIT_GROUP" | "WAIT_PAY" => OrderStatus::Pending,
        // A paid trade can only close by being refunded in full; an unpaid one was cancelled.
        // (Was: refunded only when line refunds were visible, which close pushes never carry.)
        "TRADE_CLOSED" | "TRADE_CLOSE" if was_paid || refunded_all => OrderStatus::Refunded,
        "TRADE_CLOSED" | "TRADE_CLOSE" => OrderStatus::Cancelled,
        _ if refunded_all => OrderStatus::Refunded,
        _ if refunded_any => OrderStatus::PartiallyRefunded,
        "WAIT_SELLER_SEND_GOODS" | "TRADE_PAID" | "WAIT_CONFIRM" => OrderStatus::Paid,
        "WAIT_BUYER_CONFIRM_GOODS" | "TRADE_SELLER_SEND_GOODS" => OrderStatus::Shipped,
        "TRADE_SUCCESS" | "TRADE_BUYER_SIGNED" => OrderStatus::Delivered,
        _ => OrderStatus::Pending,
    }
}

fn order_from(
    info: FullOrderInfo,
    refund_order: &[RefundOrder],
    ctx: &ParseContext<'_>,
) -> Result<CanonicalOrder, ParseError> {
    let oi = &info.order_info;
    let tz = ctx.time_zone;
    let time = |t: &Option<String>| -> Result<Option<DateTime<Utc>>, ParseError> {
        non_empty(t).map(|t| parse_time(t, tz)).transpose()
    };
    let placed_at = parse_time(&oi.created, tz)?;
    let updated = time(&oi.update_time)?.unwrap_or(placed_at);

    let mut lines = Vec::with_capacity(info.orders.len());
    let mut refunds_by_line: Vec<(Money, i64)> = Vec::with_capacity(info.orders.len());
    for (i, l) in info.orders.iter().enumerate() {
        let sku = [&l.outer_sku_id, &l.sku_no, &l.outer_item_id]
            .into_iter()
            .find_map(non_empty)
            .map(str::to_string)
            .or_else(|| id_string(&l.item_id).map(|id| format!("youzan-item-{id}")))
            .unwrap_or_else(|| format!("youzan-line-{}", id_string(&l.oid).unwrap_or_else(|| i.to_string())));
        // Order-level promotions arrive already allocated: a line's `payment` is what the buyer
        // paid for it, so the difference from list price is its discount.
        let gross = l.price.times(l.num);
        let paid = l.payment.or(l.total_fee).unwrap_or(gross);
        let discount = if paid < gross { gross - paid } else { Money::ZERO };
        lines.push(OrderLine {
            sku,
            quantity: l.num,
            unit_price: l.price,
            discount,
            refunded_quantity: 0,
            refunded_amount: Money::ZERO,
        });
        refunds_by_line.push((l.refunded_fee.unwrap_or_default(), l.refunded_num.unwrap_or(0)));
    }
    let mut refunds = Vec::new();
    if refund_order.is_empty() {
        for (line, (amount, qty)) in lines.iter_mut().zip(&refunds_by_line) {
            line.refunded_amount = *amount;
            line.refunded_quantity = (*qty).min(line.quantity);
        }
        // Item-level refund fields are the totals; one refund per refunded line, dated at this
        // version (then the order message does not date its refunds).
        if lines.iter().any(|l| l.refunded_amount > Money::ZERO) {
            refunds.push(Refund {
                refund_id: format!("{}-refunds", oi.tid),
                at: updated,
                lines: lines
                    .iter()
                    .filter(|l| l.refunded_amount > Money::ZERO)
                    .map(|l| RefundLine {
                        sku: l.sku.clone(),
                        quantity: l.refunded_quantity,
                        amount: l.refunded_amount,
                    })
                    .collect(),
                shipping: Money::ZERO,
            });
        }
    } else {
        // `refund_order[]` (docs/platforms.md field mapping): each refund names its lines by
        // `oid` and its amount `refund_fee` (split over several lines by what was paid for
        // them); dated when the money went back (`refund_fund[].refund_account_time`). Youzan
        // sends no refunded quantity: a line counts as returned in full once its refunds cover
        // what was paid for it, else 0. (Was: the refund id was taken from `refund_order` but the
        // amounts from `orders[].refunded_fee`, which Youzan does not send, so refunds were lost.)
        let oids: Vec<Option<String>> = info.orders.iter().map(|l| id_string(&l.oid)).collect();
        let paid_for: Vec<Money> = lines.iter().map(|l| l.unit_price.times(l.quantity) - l.discount).collect();
        for (n, r) in refund_order.iter().enumerate() {
            let targets: Vec<usize> = oid_list(&r.oids)
                .iter()
                .filter_map(|oid| oids.iter().position(|o| o.as_deref() == Some(oid.as_str())))
                .collect();
            let amount = r.refund_fee.unwrap_or_default();
            if targets.is_empty() || amount <= Money::ZERO {
                continue;
            }
            let weights: Vec<Money> = targets.iter().map(|&i| paid_for[i]).collect();
            let mut refund_lines = Vec::with_capacity(targets.len());
            for (&i, share) in targets.iter().zip(allocate_proportionally(amount, &weights)) {
                let before = lines[i].refunded_amount;
                lines[i].refunded_amount += share;
                // The refund that completes the line's paid amount returns its units.
                let completes = before < paid_for[i] && lines[i].refunded_amount >= paid_for[i];
                let quantity = if completes { lines[i].quantity } else { 0 };
                lines[i].refunded_quantity += quantity;
                refund_lines.push(RefundLine { sku: lines[i].sku.clone(), quantity, amount: share });
            }
            let fund_time = r
                .refund_fund
                .iter()
                .filter_map(|f| non_empty(&f.refund_account_time).or(non_empty(&f.create_time)))
                .max()
                .map(str::to_string);
            let at = match fund_time.as_deref().or(non_empty(&r.refund_time)) {
                Some(t) => parse_time(t, tz)?,
                None => updated,
            };
            refunds.push(Refund {
                refund_id: id_string(&r.refund_id).unwrap_or_else(|| format!("{}-refund-{}", oi.tid, n + 1)),
                at,
                lines: refund_lines,
                shipping: Money::ZERO,
            });
        }
    }
    let refunded_total: Money = lines.iter().map(|l| l.refunded_amount).sum();
    let net_before_refunds: Money = lines.iter().map(|l| l.unit_price.times(l.quantity) - l.discount).sum();
    let refunded_all = refunded_total > Money::ZERO && refunded_total >= net_before_refunds;
    let buyer = info.buyer_info.as_ref();
    let refund_state = match &oi.refund_state {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => s.trim().parse().unwrap_or(0),
        _ => 0,
    };
    Ok(CanonicalOrder {
        platform: "youzan".into(),
        shop_id: ctx.shop_id.to_string(),
        order_id: oi.tid.clone(),
        version: updated.timestamp_millis(),
        status: status_of(
            &oi.status,
            non_empty(&oi.pay_time).is_some(),
            refund_state,
            refunded_total > Money::ZERO,
            refunded_all,
        ),
        placed_at,
        paid_at: time(&oi.pay_time)?,
        shipped_at: time(&oi.consign_time)?,
        // docs/platforms.md: `success_time` (trade completed); `confirm_time` only if it is absent.
        delivered_at: time(&oi.success_time)?.or(time(&oi.confirm_time)?),
        currency: ctx.currency.to_string(),
        customer: Customer {
            platform_customer_id: buyer.and_then(|b| {
                non_empty(&b.yz_open_id)
                    .map(str::to_string)
                    .or_else(|| id_string(&b.buyer_id))
                    .or_else(|| id_string(&b.fans_id))
            }),
            // Since 2022 Youzan may send PII encrypted (`$…$1$`): never take ciphertext for a phone.
            phone: buyer.and_then(|b| non_empty(&b.buyer_phone)).filter(|p| is_plain_phone(p)).map(str::to_string),
            email: None,
        },
        lines,
        shipping: info.pay_info.as_ref().and_then(|p| p.post_fee).unwrap_or_default(),
        tax: Money::ZERO,
        // Chinese retail prices include VAT.
        taxes_included: true,
        refunds,
        store_id: None,
        salesperson: None,
        city: info.address_info.as_ref().and_then(|a| non_empty(&a.delivery_city)).map(city_name),
        source_raw_key: String::new(),
    })
}
