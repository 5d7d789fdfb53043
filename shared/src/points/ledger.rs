//! The append-only ledger: every change of a member's balance is one entry.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::canonical::time::rfc3339;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// An order version changed what the order earned (positive or negative).
    Order,
    SignupBonus,
    /// A merged-in member's bonus, taken back because a person gets one bonus.
    SignupBonusReversed,
    Redeem,
    Expire,
    /// The balance of an absorbed member arriving at the survivor.
    MergedIn,
    /// The balance of this member leaving for the survivor.
    MergedOut,
}

/// Which order (and version) an entry came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRef {
    pub platform: String,
    pub shop_id: String,
    pub order_id: String,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub kind: LedgerKind,
    /// Signed change of the member's balance (`available + pending − debt`).
    pub points: i64,
    #[serde(with = "rfc3339")]
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<OrderRef>,
    /// The client's redemption reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The lot an expiry removed (`YYYY-MM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    /// The other member of a merge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_member: Option<String>,
}

impl LedgerEntry {
    pub fn new(kind: LedgerKind, points: i64, at: DateTime<Utc>) -> LedgerEntry {
        LedgerEntry { kind, points, at, order: None, reference: None, month: None, other_member: None }
    }
}
