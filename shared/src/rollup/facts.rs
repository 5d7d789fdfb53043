//! Reading canonical JSON lines into a [`Partial`]: borrowed parsing (no per-field allocation
//! unless a string has escapes), stale order versions skipped before their lines are built.

use std::borrow::Cow;

use serde::Deserialize;

use super::partial::{
    order_key, LineFacts, MemberLink, MovementFacts, OrderFacts, Partial, ProductFacts, RefundLineFacts, NO_SYM,
};
use super::time::parse_instant;
use super::RollupError;
use crate::canonical::MovementType;
use crate::money::Money;

/// Which canonical prefix an object came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum InputKind {
    Orders,
    Inventory,
    Products,
    OrderMembers,
    MemberMerges,
}

impl InputKind {
    pub const ALL: [InputKind; 5] = [
        InputKind::Orders,
        InputKind::Inventory,
        InputKind::Products,
        InputKind::OrderMembers,
        InputKind::MemberMerges,
    ];

    /// The S3 prefix (and local directory) of the kind, below the bucket root.
    pub fn prefix(self) -> &'static str {
        match self {
            InputKind::Orders => "canonical/orders/",
            InputKind::Inventory => "canonical/inventory/",
            InputKind::Products => "canonical/products/",
            InputKind::OrderMembers => "canonical/order_members/",
            InputKind::MemberMerges => "canonical/member_merges/",
        }
    }

    pub fn of_key(key: &str) -> Option<InputKind> {
        InputKind::ALL.into_iter().find(|k| key.starts_with(k.prefix()))
    }
}

#[derive(Deserialize)]
struct LineIn<'a> {
    #[serde(borrow)]
    sku: Cow<'a, str>,
    quantity: i64,
    unit_price: Money,
    #[serde(default)]
    discount: Option<Money>,
    #[serde(default)]
    refunded_quantity: Option<i64>,
    #[serde(default)]
    refunded_amount: Option<Money>,
}

#[derive(Deserialize)]
struct RefundLineIn<'a> {
    #[serde(borrow)]
    sku: Cow<'a, str>,
    #[serde(default)]
    quantity: Option<i64>,
    #[serde(default)]
    amount: Option<Money>,
}

#[derive(Deserialize)]
struct RefundIn<'a> {
    #[serde(borrow, default)]
    refund_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    at: Cow<'a, str>,
    #[serde(borrow, default)]
    lines: Vec<RefundLineIn<'a>>,
}

#[derive(Deserialize)]
struct OrderIn<'a> {
    #[serde(borrow)]
    platform: Cow<'a, str>,
    #[serde(borrow)]
    shop_id: Cow<'a, str>,
    #[serde(borrow)]
    order_id: Cow<'a, str>,
    version: i64,
    #[serde(borrow)]
    status: Cow<'a, str>,
    #[serde(borrow)]
    placed_at: Cow<'a, str>,
    #[serde(borrow, default)]
    shipped_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    delivered_at: Option<Cow<'a, str>>,
    #[serde(borrow)]
    currency: Cow<'a, str>,
    #[serde(borrow)]
    lines: Vec<LineIn<'a>>,
    #[serde(borrow, default)]
    refunds: Vec<RefundIn<'a>>,
    #[serde(borrow, default)]
    store_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    salesperson: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    city: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    source_raw_key: Cow<'a, str>,
}

#[derive(Deserialize)]
struct MovementIn<'a> {
    #[serde(borrow)]
    movement_id: Cow<'a, str>,
    #[serde(rename = "type")]
    kind: MovementType,
    #[serde(borrow)]
    location_id: Cow<'a, str>,
    #[serde(borrow)]
    sku: Cow<'a, str>,
    quantity: i64,
    #[serde(default)]
    unit_cost: Option<Money>,
    #[serde(borrow)]
    at: Cow<'a, str>,
    #[serde(borrow, default)]
    reference: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ProductIn<'a> {
    #[serde(borrow)]
    sku: Cow<'a, str>,
    #[serde(default)]
    standard_cost: Option<Money>,
    #[serde(default)]
    requires_installation: Option<bool>,
    #[serde(borrow, default)]
    updated_at: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct MemberLineIn<'a> {
    #[serde(borrow)]
    platform: Cow<'a, str>,
    #[serde(borrow)]
    shop_id: Cow<'a, str>,
    #[serde(borrow)]
    order_id: Cow<'a, str>,
    version: i64,
    #[serde(borrow)]
    member_id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct MergeIn<'a> {
    #[serde(borrow)]
    member_id: Cow<'a, str>,
    #[serde(borrow)]
    merged_from: Vec<Cow<'a, str>>,
}

/// Reads every line of one decompressed object into `partial`. A line that is not valid
/// canonical JSON fails the whole object with its key and line number: the rollup is exact or it
/// does not publish.
pub fn absorb_object(
    partial: &mut Partial,
    kind: InputKind,
    source_key: &str,
    text: &[u8],
) -> Result<u64, RollupError> {
    let source = partial.symbols.intern(source_key);
    // One UTF-8 check for the whole object; the lines are then parsed as `str`, which spares
    // serde_json a check per string.
    let text = std::str::from_utf8(text).map_err(|e| {
        let line = text[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        RollupError::BadInput { key: source_key.to_string(), line, message: "not UTF-8".into() }
    })?;
    let mut lines = 0u64;
    for (n, line) in text.split('\n').enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| RollupError::BadInput { key: source_key.to_string(), line: n + 1, message };
        match kind {
            InputKind::Orders => absorb_order(partial, line).map_err(bad)?,
            InputKind::Inventory => absorb_movement(partial, line, source).map_err(bad)?,
            InputKind::Products => absorb_product(partial, line, source).map_err(bad)?,
            InputKind::OrderMembers => absorb_member(partial, line).map_err(bad)?,
            InputKind::MemberMerges => absorb_merge(partial, line).map_err(bad)?,
        }
        lines += 1;
    }
    Ok(lines)
}

fn instant(field: &str, text: &str) -> Result<i64, String> {
    parse_instant(text).ok_or_else(|| format!("`{field}` is not an RFC 3339 time: {text:?}"))
}

fn instant_opt(field: &str, text: Option<&Cow<'_, str>>) -> Result<Option<i64>, String> {
    text.map(|t| instant(field, t)).transpose()
}

fn absorb_order(partial: &mut Partial, line: &str) -> Result<(), String> {
    let o: OrderIn = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let key = order_key(&o.platform, &o.shop_id, &o.order_id);
    if !partial.wants_order(key, o.version, &o.source_raw_key) {
        return Ok(());
    }
    let placed_at = instant("placed_at", &o.placed_at)?;
    let shipped_at = instant_opt("shipped_at", o.shipped_at.as_ref())?;
    let delivered_at = instant_opt("delivered_at", o.delivered_at.as_ref())?;
    let s = &mut partial.symbols;
    let lines = o
        .lines
        .iter()
        .map(|l| LineFacts {
            sku: s.intern(&l.sku),
            quantity: l.quantity,
            unit_price: l.unit_price.minor(),
            discount: l.discount.map_or(0, Money::minor),
            refunded_quantity: l.refunded_quantity.unwrap_or(0),
            refunded_amount: l.refunded_amount.map_or(0, Money::minor),
        })
        .collect();
    let mut refunds = Vec::new();
    for r in &o.refunds {
        let at = instant("refunds[].at", &r.at)?;
        let refund_id = s.intern_opt(r.refund_id.as_deref());
        for x in &r.lines {
            refunds.push(RefundLineFacts {
                refund_id,
                at,
                sku: s.intern(&x.sku),
                quantity: x.quantity.unwrap_or(0),
                amount: x.amount.map_or(0, Money::minor),
            });
        }
    }
    let facts = OrderFacts {
        platform: s.intern(&o.platform),
        shop_id: s.intern(&o.shop_id),
        order_id: o.order_id.as_ref().into(),
        version: o.version,
        cancelled: o.status == "cancelled",
        status: s.intern(&o.status),
        placed_at,
        shipped_at,
        delivered_at,
        currency: s.intern(&o.currency),
        store_id: s.intern_opt(o.store_id.as_deref()),
        salesperson: s.intern_opt(o.salesperson.as_deref()),
        city: s.intern_opt(o.city.as_deref()),
        source_raw_key: o.source_raw_key.as_ref().into(),
        lines,
        refunds: refunds.into_boxed_slice(),
    };
    partial.offer_order(key, facts);
    Ok(())
}

fn absorb_movement(partial: &mut Partial, line: &str, source: u32) -> Result<(), String> {
    let m: MovementIn = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let at = instant("at", &m.at)?;
    let s = &mut partial.symbols;
    let facts = MovementFacts {
        kind: m.kind,
        location_id: s.intern(&m.location_id),
        sku: s.intern(&m.sku),
        quantity: m.quantity,
        unit_cost: m.unit_cost.map(Money::minor),
        at,
        reference: s.intern_opt(m.reference.as_deref()),
        source,
    };
    partial.offer_movement(&m.movement_id, facts);
    Ok(())
}

fn absorb_product(partial: &mut Partial, line: &str, source: u32) -> Result<(), String> {
    let p: ProductIn = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let updated_at = instant_opt("updated_at", p.updated_at.as_ref())?;
    let sku = partial.symbols.intern(&p.sku);
    let facts = ProductFacts {
        updated_at,
        source,
        standard_cost: p.standard_cost.map(Money::minor),
        requires_installation: p.requires_installation.unwrap_or(false),
    };
    partial.offer_product(sku, facts);
    Ok(())
}

fn absorb_member(partial: &mut Partial, line: &str) -> Result<(), String> {
    let m: MemberLineIn = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let key = order_key(&m.platform, &m.shop_id, &m.order_id);
    let member_id = partial.symbols.intern(&m.member_id);
    partial.offer_member(key, MemberLink { version: m.version, member_id });
    Ok(())
}

fn absorb_merge(partial: &mut Partial, line: &str) -> Result<(), String> {
    let m: MergeIn = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let survivor = partial.symbols.intern(&m.member_id);
    for absorbed in &m.merged_from {
        let absorbed = partial.symbols.intern(absorbed);
        if absorbed != survivor && absorbed != NO_SYM {
            partial.merges.insert((absorbed, survivor));
        }
    }
    Ok(())
}
