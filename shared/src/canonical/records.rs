//! The other canonical record kinds, and the enum `normalize-orders` writes.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::order::{CanonicalOrder, RefundLine};
use super::time::{business_date, rfc3339, rfc3339_opt};
use crate::money::Money;

/// Kinds of inventory movement (SPEC "Feed files").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementType {
    Receipt,
    TransferOut,
    TransferIn,
    /// Signed quantity change (damage, shrinkage, found stock).
    Adjustment,
    /// Absolute stock after a physical count.
    Count,
    /// A purchase order shipped by the supplier: in transit inbound until its receipt.
    PoShipped,
}

/// One inventory movement; `movement_id` is its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryMovement {
    pub movement_id: String,
    #[serde(rename = "type")]
    pub movement_type: MovementType,
    pub location_id: String,
    pub sku: String,
    pub quantity: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_cost: Option<Money>,
    #[serde(with = "rfc3339")]
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    pub expected_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub source_raw_key: String,
}

impl InventoryMovement {
    pub fn validate(&self) -> Result<(), String> {
        if self.movement_id.trim().is_empty() {
            return Err("movement_id is empty".into());
        }
        if self.sku.trim().is_empty() || self.location_id.trim().is_empty() {
            return Err("sku and location_id are required".into());
        }
        let signed_ok = matches!(self.movement_type, MovementType::Adjustment);
        if !signed_ok && self.quantity < 0 {
            return Err(format!("quantity {} must not be negative for this type", self.quantity));
        }
        if self.movement_type == MovementType::Receipt && self.unit_cost.is_none() {
            return Err("a receipt needs unit_cost".into());
        }
        Ok(())
    }
}

/// A catalog entry (SPEC "Feed files", `products`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub sku: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard_cost: Option<Money>,
    #[serde(default)]
    pub requires_installation: bool,
    #[serde(default)]
    pub is_consumable: bool,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub source_raw_key: String,
}

/// A membership-card sign-up (Standard Webhooks `member.signup`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSignup {
    pub shop_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(with = "rfc3339")]
    pub signed_up_at: DateTime<Utc>,
    #[serde(default)]
    pub source_raw_key: String,
}

/// A refund announced on its own (Shopify `refunds/create`, Youzan refund messages). It does
/// not carry the whole order, so it is recorded for audit and drill-down; the order's next
/// full version (which platforms send after a refund) is what changes points and rollups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundNotice {
    pub platform: String,
    pub shop_id: String,
    pub order_id: String,
    pub refund_id: String,
    #[serde(with = "rfc3339")]
    pub at: DateTime<Utc>,
    pub currency: String,
    pub lines: Vec<RefundLine>,
    #[serde(default)]
    pub shipping: Money,
    /// Money actually returned to the buyer (transactions), when the platform says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    #[serde(default)]
    pub source_raw_key: String,
}

/// A platform message that changes an order but does not carry it (Youzan's ship, success and
/// close pushes). Kept for audit and for a later pull of the full order; it changes nothing
/// on its own, because a partial message cannot be a version of the whole order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderNotice {
    pub platform: String,
    pub shop_id: String,
    pub order_id: String,
    /// The platform's message type (`trade_TradeSellerShip`, …).
    pub topic: String,
    #[serde(with = "rfc3339")]
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    #[serde(default)]
    pub source_raw_key: String,
}

/// Which `canonical/{kind}/` prefix a record belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    Orders,
    Refunds,
    OrderNotices,
    Inventory,
    Products,
    MemberSignups,
}

impl RecordKind {
    /// The folder name under `canonical/`.
    pub fn prefix(self) -> &'static str {
        match self {
            RecordKind::Orders => "orders",
            RecordKind::Refunds => "refunds",
            RecordKind::OrderNotices => "order_notices",
            RecordKind::Inventory => "inventory",
            RecordKind::Products => "products",
            RecordKind::MemberSignups => "member_signups",
        }
    }
}

/// Anything `normalize-orders` can produce from one raw event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CanonicalRecord {
    Order(Box<CanonicalOrder>),
    Refund(RefundNotice),
    Notice(OrderNotice),
    Inventory(InventoryMovement),
    Product(Product),
    MemberSignup(MemberSignup),
}

impl CanonicalRecord {
    pub fn kind(&self) -> RecordKind {
        match self {
            CanonicalRecord::Order(_) => RecordKind::Orders,
            CanonicalRecord::Refund(_) => RecordKind::Refunds,
            CanonicalRecord::Notice(_) => RecordKind::OrderNotices,
            CanonicalRecord::Inventory(_) => RecordKind::Inventory,
            CanonicalRecord::Product(_) => RecordKind::Products,
            CanonicalRecord::MemberSignup(_) => RecordKind::MemberSignups,
        }
    }

    /// The business date whose `dt=` partition the record belongs to. Products have no date
    /// of their own: they are filed under the day they were received.
    pub fn business_date(&self, tz: Tz, received_at: DateTime<Utc>) -> NaiveDate {
        let at = match self {
            CanonicalRecord::Order(o) => o.placed_at,
            CanonicalRecord::Refund(r) => r.at,
            CanonicalRecord::Notice(n) => n.at,
            CanonicalRecord::Inventory(m) => m.at,
            CanonicalRecord::Product(p) => p.updated_at.unwrap_or(received_at),
            CanonicalRecord::MemberSignup(s) => s.signed_up_at,
        };
        business_date(at, tz)
    }

    /// Stamps the raw key the record came from.
    pub fn set_source_raw_key(&mut self, key: &str) {
        let slot = match self {
            CanonicalRecord::Order(o) => &mut o.source_raw_key,
            CanonicalRecord::Refund(r) => &mut r.source_raw_key,
            CanonicalRecord::Notice(n) => &mut n.source_raw_key,
            CanonicalRecord::Inventory(m) => &mut m.source_raw_key,
            CanonicalRecord::Product(p) => &mut p.source_raw_key,
            CanonicalRecord::MemberSignup(s) => &mut s.source_raw_key,
        };
        key.clone_into(slot);
    }

    /// The record as one JSON line (without the newline).
    pub fn to_json_line(&self) -> Result<String, serde_json::Error> {
        match self {
            CanonicalRecord::Order(o) => serde_json::to_string(o),
            CanonicalRecord::Refund(r) => serde_json::to_string(r),
            CanonicalRecord::Notice(n) => serde_json::to_string(n),
            CanonicalRecord::Inventory(m) => serde_json::to_string(m),
            CanonicalRecord::Product(p) => serde_json::to_string(p),
            CanonicalRecord::MemberSignup(s) => serde_json::to_string(s),
        }
    }
}
