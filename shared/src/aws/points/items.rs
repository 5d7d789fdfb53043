//! The points table's items (one table, `pk`/`sk` strings):
//!
//! | item        | pk                                   | sk                          | attributes                      |
//! |-------------|--------------------------------------|-----------------------------|---------------------------------|
//! | member      | `member#{id}`                        | `state`                     | `version`, `state` (JSON), `merged_into` |
//! | ledger      | `member#{id}`                        | `ledger#{version:012}#{i:03}` | `points`, `entry` (JSON)      |
//! | identity    | `identity#{kind}#{value}`            | `identity`                  | `member_id`                     |
//! | award       | `award#{platform}#{shop}#{order}`    | `award`                     | `version`, `member_id`, `points`, `award` (JSON) |
//! | redemption  | `redemption#{member asked}#{key}`    | `redemption`                | `request_hash`, `receipt` (JSON) |
//!
//! A member's state is one item so that every change to it is one conditional write on
//! `version`; the ledger shares its partition so one `Query` pages through it in order.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::points::{Award, LedgerEntry, MemberState};

pub type Item = HashMap<String, AttributeValue>;

pub const STATE_SK: &str = "state";
pub const IDENTITY_SK: &str = "identity";
pub const AWARD_SK: &str = "award";
pub const REDEMPTION_SK: &str = "redemption";
pub const LEDGER_PREFIX: &str = "ledger#";

pub fn member_pk(member_id: &str) -> String {
    format!("member#{member_id}")
}

pub fn award_pk(order_key: &str) -> String {
    format!("award#{order_key}")
}

pub fn redemption_pk(member_id: &str, key: &str) -> String {
    format!("redemption#{member_id}#{key}")
}

pub fn ledger_sk(version: i64, index: usize) -> String {
    format!("{LEDGER_PREFIX}{version:012}#{index:03}")
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

/// A stored item that does not decode.
#[derive(Debug, thiserror::Error)]
#[error("corrupt points item {pk}: {reason}")]
pub struct CorruptItem {
    pub pk: String,
    pub reason: String,
}

pub fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

pub fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

fn json_attr<T: DeserializeOwned>(item: &Item, name: &str) -> Result<T, CorruptItem> {
    let pk = text(item, "pk").unwrap_or("?").to_string();
    let raw = text(item, name).ok_or_else(|| CorruptItem { pk: pk.clone(), reason: format!("no `{name}`") })?;
    serde_json::from_str(raw).map_err(|e| CorruptItem { pk, reason: format!("`{name}`: {e}") })
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Serialising these plain structs cannot fail (string keys, no non-finite floats).
    serde_json::to_string(value).unwrap_or_default()
}

/// A member's state with the version it was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub state: MemberState,
    /// 0: not stored yet.
    pub version: i64,
}

pub fn member_item(state: &MemberState, version: i64) -> Item {
    let mut item = key(member_pk(&state.member_id), STATE_SK);
    item.insert("version".into(), n(version));
    item.insert("state".into(), s(to_json(state)));
    if let Some(target) = &state.merged_into {
        item.insert("merged_into".into(), s(target.clone()));
    }
    item
}

pub fn member_from_item(item: &Item) -> Result<Versioned, CorruptItem> {
    let state: MemberState = json_attr(item, "state")?;
    let version = number(item, "version").unwrap_or(0);
    Ok(Versioned { state, version })
}

pub fn ledger_item(member_id: &str, version: i64, index: usize, entry: &LedgerEntry) -> Item {
    let mut item = key(member_pk(member_id), &ledger_sk(version, index));
    item.insert("points".into(), n(entry.points));
    item.insert("entry".into(), s(to_json(entry)));
    item
}

pub fn ledger_from_item(item: &Item) -> Result<LedgerEntry, CorruptItem> {
    json_attr(item, "entry")
}

pub fn identity_item(identity_key: &str, member_id: &str) -> Item {
    let mut item = key(identity_key.to_string(), IDENTITY_SK);
    item.insert("member_id".into(), s(member_id));
    item
}

pub fn award_item(order_key: &str, award: &Award) -> Item {
    let mut item = key(award_pk(order_key), AWARD_SK);
    item.insert("version".into(), n(award.version));
    item.insert("points".into(), n(award.points));
    item.insert("member_id".into(), s(award.member_id.clone()));
    item.insert("award".into(), s(to_json(award)));
    item
}

pub fn award_from_item(item: &Item) -> Result<Award, CorruptItem> {
    json_attr(item, "award")
}

pub fn redemption_item(pk: String, request_hash: &str, receipt: &impl Serialize) -> Item {
    let mut item = key(pk, REDEMPTION_SK);
    item.insert("request_hash".into(), s(request_hash));
    item.insert("receipt".into(), s(to_json(receipt)));
    item
}

pub fn redemption_from_item<T: DeserializeOwned>(item: &Item) -> Result<(String, T), CorruptItem> {
    let hash = text(item, "request_hash").unwrap_or_default().to_string();
    Ok((hash, json_attr(item, "receipt")?))
}
