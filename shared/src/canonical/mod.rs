//! The canonical records every platform is normalised into (SPEC "Canonical order").
//!
//! These types *are* the JSON contract of `canonical/…` objects and of Standard Webhooks bodies:
//! money is a decimal string in major units, times are RFC 3339, quantities are integers.

mod order;
mod records;
pub mod time;

pub use order::{CanonicalOrder, Customer, OrderLine, OrderStatus, Refund, RefundLine, Totals};
pub use records::{
    CanonicalRecord, InventoryMovement, MemberSignup, MovementType, OrderNotice, Product, RecordKind, RefundNotice,
};
