//! Standard Webhooks bodies: `{"type", "timestamp", "data"}` with canonical JSON in `data`
//! (POS and marketplace middleware orders, member sign-ups, inventory movements, products),
//! shaped like `fixtures/platforms/standard/`.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::Emitted;
use crate::money::Money;
use crate::synth::catalog::Sku;
use crate::synth::feeds::Movement;
use crate::synth::people::{People, Person};
use crate::synth::story::{story_city, ShopCtx, Snapshot, StepKind, Story};
use crate::synth::text::{fmt_time, fmt_utc_millis, mix, msg_id, to_json, TimeStyle};

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: String,
    data: T,
}

#[derive(Serialize, Default)]
struct CustomerData {
    #[serde(skip_serializing_if = "Option::is_none")]
    platform_customer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

#[derive(Serialize)]
struct LineData<'a> {
    sku: &'a str,
    quantity: i64,
    unit_price: Money,
    discount: Money,
    refunded_quantity: i64,
    refunded_amount: Money,
}

#[derive(Serialize)]
struct RefundLineData<'a> {
    sku: &'a str,
    quantity: i64,
    amount: Money,
}

#[derive(Serialize)]
struct RefundData<'a> {
    refund_id: &'a str,
    at: String,
    lines: Vec<RefundLineData<'a>>,
    shipping: Money,
}

#[derive(Serialize)]
struct OrderData<'a> {
    platform: &'a str,
    shop_id: &'a str,
    order_id: &'a str,
    version: i64,
    status: &'a str,
    placed_at: String,
    paid_at: Option<String>,
    shipped_at: Option<String>,
    delivered_at: Option<String>,
    currency: &'a str,
    customer: CustomerData,
    lines: Vec<LineData<'a>>,
    shipping: Money,
    tax: Money,
    refunds: Vec<RefundData<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    store_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    salesperson: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<String>,
}

#[derive(Serialize)]
struct SignupData<'a> {
    shop_id: &'a str,
    phone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    signed_up_at: String,
}

#[derive(Serialize)]
struct MovementData<'a> {
    movement_id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    location_id: &'a str,
    sku: &'a str,
    quantity: i64,
    unit_cost: Option<Money>,
    at: String,
    reference: Option<&'a str>,
    expected_at: Option<String>,
}

#[derive(Serialize)]
struct ProductData<'a> {
    sku: &'a str,
    name: &'a str,
    category: &'a str,
    standard_cost: Money,
    requires_installation: bool,
    is_consumable: bool,
}

/// The sender's clock when it emits an event at `at` (a few hundred milliseconds later).
fn stamp(at: DateTime<Utc>, salt: u64) -> String {
    fmt_utc_millis(at + Duration::milliseconds((mix(salt) % 900) as i64 + 50))
}

fn status(story: &Story, snap: &Snapshot) -> &'static str {
    if snap.cancelled_at.is_some() {
        "cancelled"
    } else if snap.fully_refunded(story) {
        "refunded"
    } else if !snap.refunds.is_empty() {
        "partially_refunded"
    } else if snap.delivered_at.is_some() {
        "delivered"
    } else if snap.shipped_at.is_some() {
        "shipped"
    } else if snap.paid_at.is_some() {
        "paid"
    } else {
        "pending"
    }
}

/// How the channel identifies the buyer.
fn customer(story: &Story, person: Option<&Person>) -> CustomerData {
    let Some(p) = person else {
        return CustomerData::default();
    };
    match story.channel.as_str() {
        "tmall" => CustomerData { platform_customer_id: Some(p.tmall_id()), ..CustomerData::default() },
        "jd" => CustomerData {
            platform_customer_id: Some(p.jd_pin()),
            phone: (p.index % 2 == 0).then(|| p.mobile.clone()),
            email: None,
        },
        _ => CustomerData {
            platform_customer_id: Some(p.member_id()),
            // Store staff type phones in whatever form the customer says them.
            phone: Some(match p.index % 3 {
                0 => p.mobile.clone(),
                1 => p.phone_typed(),
                _ => p.e164(),
            }),
            email: p.email.clone(),
        },
    }
}

/// Every `order.created`/`order.updated` of one POS or marketplace order.
pub(crate) fn emit_order(
    story: &Story,
    ctx: &ShopCtx<'_>,
    people: &People,
    rng: &mut ChaCha8Rng,
    out: &mut Vec<Emitted>,
) {
    let tz = ctx.tz;
    let t = |at: DateTime<Utc>| fmt_time(at, tz, TimeStyle::Offset);
    let person = story.customer.map(|c| people.get(c));
    let store = story.store.and_then(|i| ctx.shop.stores.get(i));
    for (i, step) in story.steps.iter().enumerate() {
        let snap = story.snapshot(i);
        let version = step.at.timestamp_millis();
        let lines = story
            .lines
            .iter()
            .enumerate()
            .map(|(li, l)| {
                let (refunded_quantity, refunded_amount) = snap.refunded(story, li);
                LineData {
                    sku: l.code(),
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    discount: l.discount(),
                    refunded_quantity,
                    refunded_amount,
                }
            })
            .collect();
        let refunds = snap
            .refunds
            .iter()
            .map(|(r, at)| {
                let plan = &story.refunds[*r];
                RefundData {
                    refund_id: &plan.id,
                    at: t(*at),
                    lines: plan
                        .parts
                        .iter()
                        .map(|p| RefundLineData {
                            sku: story.lines[p.line].code(),
                            quantity: p.quantity,
                            amount: p.amount,
                        })
                        .collect(),
                    shipping: plan.shipping,
                }
            })
            .collect();
        let data = OrderData {
            platform: &story.channel,
            shop_id: &ctx.shop.shop_id,
            order_id: &story.order_id,
            version,
            status: status(story, &snap),
            placed_at: t(story.created_at()),
            paid_at: snap.paid_at.map(t),
            shipped_at: snap.shipped_at.map(t),
            delivered_at: snap.delivered_at.map(t),
            currency: &ctx.shop.currency,
            customer: customer(story, person),
            lines,
            shipping: story.shipping,
            tax: Money::ZERO,
            refunds,
            store_id: store.map(|s| s.store_id.as_str()),
            salesperson: story.salesperson.as_deref(),
            city: story_city(story, ctx),
        };
        let kind = if step.kind == StepKind::Created { "order.created" } else { "order.updated" };
        let body = to_json(&Envelope { kind, timestamp: stamp(step.at, story.token_seed ^ i as u64), data });
        out.push(Emitted { topic: kind.into(), delivery_id: msg_id(rng), body, at: step.at, version: Some(version) });
    }
}

/// A membership-card sign-up at a store (`member.signup`).
pub(crate) fn signup(shop_id: &str, tz: Tz, person: &Person, at: DateTime<Utc>, rng: &mut ChaCha8Rng) -> Emitted {
    let data = SignupData {
        shop_id,
        phone: person.e164(),
        email: person.email.as_deref(),
        signed_up_at: fmt_time(at, tz, TimeStyle::Offset),
    };
    let body = to_json(&Envelope { kind: "member.signup", timestamp: stamp(at, person.index as u64), data });
    Emitted { topic: "member.signup".into(), delivery_id: msg_id(rng), body, at, version: None }
}

/// An ERP inventory movement pushed in real time (`inventory.movement`).
pub(crate) fn movement(m: &Movement, tz: Tz, rng: &mut ChaCha8Rng) -> Emitted {
    let data = MovementData {
        movement_id: &m.id,
        kind: m.kind,
        location_id: &m.location,
        sku: m.sku,
        quantity: m.quantity,
        unit_cost: m.unit_cost,
        at: fmt_time(m.at, tz, TimeStyle::Offset),
        reference: m.reference.as_deref(),
        expected_at: m.expected_at.map(|e| fmt_time(e, tz, TimeStyle::Offset)),
    };
    let body = to_json(&Envelope { kind: "inventory.movement", timestamp: stamp(m.at, m.at.timestamp() as u64), data });
    Emitted { topic: "inventory.movement".into(), delivery_id: msg_id(rng), body, at: m.at, version: None }
}

/// A catalog change from the ERP (`product.upsert`).
pub(crate) fn product(sku: &Sku, standard_cost: Money, at: DateTime<Utc>, rng: &mut ChaCha8Rng) -> Emitted {
    let data = ProductData {
        sku: sku.sku,
        name: sku.name_zh,
        category: sku.category,
        standard_cost,
        requires_installation: sku.requires_installation,
        is_consumable: sku.is_consumable,
    };
    let body = to_json(&Envelope { kind: "product.upsert", timestamp: stamp(at, standard_cost.minor() as u64), data });
    Emitted { topic: "product.upsert".into(), delivery_id: msg_id(rng), body, at, version: None }
}
