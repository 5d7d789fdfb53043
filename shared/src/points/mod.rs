//! Members and points (SPEC "Members and points", exact rules in docs/points.md).
//!
//! `identity` turns customers into keyed identities; `rule` says what an order version is
//! worth; `member` holds a member's lots, pending awards and debt; `plan` applies events to
//! members as pure functions; `audit` checks the invariants; `export` plans the order → member
//! and merge files the nightly rollup reads. The DynamoDB adapter that reads,
//! resolves, merges and writes transactionally is `crate::aws::points`.

pub mod audit;
pub mod events;
pub mod export;
pub mod identity;
pub mod ledger;
pub mod member;
pub mod plan;
pub mod rule;
#[cfg(test)]
pub(crate) mod test_support;

pub use identity::{Identity, IdentityHasher};
pub use ledger::{LedgerEntry, LedgerKind, OrderRef};
pub use member::{Lot, MemberState, PendingAward, PlatformShop, PointsPolicy};
pub use plan::{Award, Insufficient, ShopPoints};
pub use rule::{Factor, Multiplier, PointsRule};
