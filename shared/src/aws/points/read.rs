//! Reads: a member as the API shows it, lookups by phone or email, ledger pages, full scans
//! (audit, nightly settlement, the demo's top members).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::items::{self, award_from_item, ledger_from_item, member_from_item, s, text, Item};
use super::{PointsError, PointsStore};
use crate::aws::StorageError;
use crate::canonical::time::rfc3339;
use crate::points::{Award, Identity, LedgerEntry, MemberState};

/// A lot as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LotView {
    pub month: String,
    pub points: i64,
    #[serde(with = "rfc3339")]
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlatformView {
    pub platform: String,
    pub shop_id: String,
}

/// A member as `GET /members/{id}` answers it: balances settled at "now", no plain PII.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberView {
    pub member_id: String,
    pub available_points: i64,
    pub pending_points: i64,
    pub debt_points: i64,
    pub lots: Vec<LotView>,
    pub platforms: Vec<PlatformView>,
    #[serde(with = "rfc3339")]
    pub member_since: DateTime<Utc>,
    /// Earlier member ids merged into this one (they still resolve here).
    pub merged_from: Vec<String>,
    pub signup_bonus_received: bool,
}

impl MemberView {
    pub fn of(state: &MemberState) -> MemberView {
        MemberView {
            member_id: state.member_id.clone(),
            available_points: state.available(),
            pending_points: state.pending_points(),
            debt_points: state.debt,
            lots: state
                .lots
                .iter()
                .map(|(month, lot)| LotView { month: month.clone(), points: lot.points, expires_at: lot.expires_at })
                .collect(),
            platforms: state
                .platforms
                .iter()
                .map(|p| PlatformView { platform: p.platform.clone(), shop_id: p.shop_id.clone() })
                .collect(),
            member_since: state.created_at,
            merged_from: state.merged_from.clone(),
            signup_bonus_received: state.signup_bonus.is_some(),
        }
    }
}

/// One page of a member's ledger, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerPage {
    pub member_id: String,
    pub entries: Vec<LedgerEntry>,
    /// Pass back as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Everything in the points table, decoded (audit, tests, settlement).
#[derive(Debug, Default)]
pub struct TableContents {
    /// Live members and aliases.
    pub members: Vec<MemberState>,
    /// Member id → (Σ points, number of entries) of its ledger.
    pub ledger_sums: BTreeMap<String, (i64, usize)>,
    /// Order key → award.
    pub awards: BTreeMap<String, Award>,
    /// Identity item key → member id.
    pub identities: BTreeMap<String, String>,
}

impl PointsStore {
    /// The live member `member_id` is or was merged into, settled at `now` (nothing written).
    pub async fn member(&self, member_id: &str, now: DateTime<Utc>) -> Result<Option<MemberView>, PointsError> {
        match self.load_live([member_id.to_string()].into()).await {
            Ok(mut live) => Ok(live.pop().map(|mut v| {
                v.state.settle(now, &self.policy);
                MemberView::of(&v.state)
            })),
            Err(PointsError::Storage(StorageError::NotFound(_))) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The member a phone number (as a client typed it) belongs to.
    pub async fn member_by_phone(
        &self,
        phone: &str,
        country: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<MemberView>, PointsError> {
        let identity = self
            .hasher
            .phone(phone, country)
            .ok_or_else(|| PointsError::Invalid(format!("not a valid phone number for {country}")))?;
        self.member_by_identity(&identity, now).await
    }

    pub async fn member_by_email(&self, email: &str, now: DateTime<Utc>) -> Result<Option<MemberView>, PointsError> {
        let identity = self.hasher.email(email).ok_or_else(|| PointsError::Invalid("not an email address".into()))?;
        self.member_by_identity(&identity, now).await
    }

    pub async fn member_by_identity(
        &self,
        identity: &Identity,
        now: DateTime<Utc>,
    ) -> Result<Option<MemberView>, PointsError> {
        let Some(item) = self.get(items::key(identity.key(), items::IDENTITY_SK)).await? else {
            return Ok(None);
        };
        match text(&item, "member_id") {
            Some(id) => self.member(id, now).await,
            None => Ok(None),
        }
    }

    /// A page of the ledger of `member_id` (its own entries; a merged member's entries stay
    /// under its old id, which `merged_from` names).
    pub async fn ledger(&self, member_id: &str, cursor: Option<&str>, limit: i32) -> Result<LedgerPage, PointsError> {
        let pk = items::member_pk(member_id);
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :ledger)")
            .expression_attribute_values(":pk", s(pk.clone()))
            .expression_attribute_values(":ledger", s(items::LEDGER_PREFIX))
            .limit(limit.clamp(1, 500))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        if let Some(cursor) = cursor {
            let sk = decode_cursor(cursor)?;
            query = query.exclusive_start_key("pk", s(pk.clone())).exclusive_start_key("sk", s(sk));
        }
        let out = query.send().await.map_err(|e| StorageError::from_sdk(format!("query ledger of {member_id}"), e))?;
        self.usage.record(out.consumed_capacity().into_iter().cloned().collect::<Vec<_>>().as_slice(), false);
        let entries = out.items().iter().map(ledger_from_item).collect::<Result<Vec<_>, _>>()?;
        let next_cursor = out
            .last_evaluated_key()
            .and_then(|k| k.get("sk"))
            .and_then(|v| v.as_s().ok())
            .map(|sk| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sk));
        Ok(LedgerPage { member_id: member_id.to_string(), entries, next_cursor })
    }

    /// Scans the whole table (parallel segments), decoding every item.
    pub async fn scan_all(&self) -> Result<TableContents, PointsError> {
        const SEGMENTS: i32 = 4;
        let pages =
            futures::future::try_join_all((0..SEGMENTS).map(|segment| self.scan_segment(segment, SEGMENTS))).await?;
        let mut contents = TableContents::default();
        for item in pages.into_iter().flatten() {
            let (Some(pk), Some(sk)) = (text(&item, "pk"), text(&item, "sk")) else { continue };
            match sk {
                items::STATE_SK => contents.members.push(member_from_item(&item)?.state),
                items::AWARD_SK => {
                    contents.awards.insert(pk.trim_start_matches("award#").to_string(), award_from_item(&item)?);
                }
                items::IDENTITY_SK => {
                    contents.identities.insert(pk.to_string(), text(&item, "member_id").unwrap_or_default().into());
                }
                sk if sk.starts_with(items::LEDGER_PREFIX) => {
                    let points = items::number(&item, "points").unwrap_or(0);
                    let sum = contents.ledger_sums.entry(pk.trim_start_matches("member#").to_string()).or_default();
                    sum.0 += points;
                    sum.1 += 1;
                }
                _ => {}
            }
        }
        contents.members.sort_by(|a, b| a.member_id.cmp(&b.member_id));
        Ok(contents)
    }

    pub(super) async fn scan_segment(&self, segment: i32, total: i32) -> Result<Vec<Item>, PointsError> {
        let mut out_items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .segment(segment)
                .total_segments(total)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| StorageError::from_sdk(format!("scan {}", self.table), e))?;
            self.usage.record(out.consumed_capacity().into_iter().cloned().collect::<Vec<_>>().as_slice(), false);
            out_items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(out_items),
            }
        }
    }
}

fn decode_cursor(cursor: &str) -> Result<String, PointsError> {
    let bad = || PointsError::Invalid("cursor is not one this API gave out".into());
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let sk = String::from_utf8(bytes).map_err(|_| bad())?;
    if sk.starts_with(items::LEDGER_PREFIX) {
        Ok(sk)
    } else {
        Err(bad())
    }
}

/// What the nightly rollup needs of the points table: every ledger entry with its member, and
/// every live member's balance (`available + pending − debt`). A full scan in 4 parallel
/// segments; it reads only, so it needs no identity key.
pub async fn scan_ledger_and_balances(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<(Vec<(String, LedgerEntry)>, Vec<(String, i64)>), PointsError> {
    const SEGMENTS: i32 = 4;
    let scan = |segment: i32| async move {
        let mut items: Vec<Item> = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = client
                .scan()
                .table_name(table)
                .segment(segment)
                .total_segments(SEGMENTS)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| StorageError::from_sdk(format!("scan {table}"), e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok::<_, PointsError>(items),
            }
        }
    };
    let pages = futures::future::try_join_all((0..SEGMENTS).map(scan)).await?;
    let (mut entries, mut balances) = (Vec::new(), Vec::new());
    for item in pages.into_iter().flatten() {
        let (Some(pk), Some(sk)) = (text(&item, "pk"), text(&item, "sk")) else { continue };
        let Some(member_id) = pk.strip_prefix("member#") else { continue };
        if sk == items::STATE_SK {
            let state = member_from_item(&item)?.state;
            if state.merged_into.is_none() {
                balances.push((state.member_id.clone(), state.balance()));
            }
        } else if sk.starts_with(items::LEDGER_PREFIX) {
            entries.push((member_id.to_string(), ledger_from_item(&item)?));
        }
    }
    Ok((entries, balances))
}
