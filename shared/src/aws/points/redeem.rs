//! Redemptions, idempotent on the client's key: the key's record is written in the same
//! transaction as the debit, so a retried request can never spend twice.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::apply::{member_writes, put, MemberWrite};
use super::items::{self, redemption_from_item};
use super::{backoff, is_conflict, PointsError, PointsStore, MAX_ATTEMPTS};
use crate::canonical::time::rfc3339;
use crate::points::plan::{redeem, Insufficient};

/// `POST /members/{id}/redemptions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedemptionRequest {
    pub points: i64,
    pub reference: String,
}

/// The answer to a redemption, stored with its key and returned again for a retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedemptionReceipt {
    pub member_id: String,
    pub points: i64,
    pub reference: String,
    pub available_points: i64,
    #[serde(with = "rfc3339")]
    pub redeemed_at: DateTime<Utc>,
}

/// How a redemption request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    Done(RedemptionReceipt),
    /// The same key and body again: the first answer.
    Replayed(RedemptionReceipt),
}

const MAX_KEY_LEN: usize = 255;
const MAX_REFERENCE_LEN: usize = 255;

impl RedemptionRequest {
    pub fn validate(&self) -> Result<(), PointsError> {
        if self.points <= 0 {
            return Err(PointsError::Invalid("points must be a positive integer".into()));
        }
        if self.reference.trim().is_empty() || self.reference.len() > MAX_REFERENCE_LEN {
            return Err(PointsError::Invalid(format!("reference must be 1–{MAX_REFERENCE_LEN} characters")));
        }
        Ok(())
    }

    /// What binds a key to its request.
    fn hash(&self) -> String {
        hex::encode(Sha256::digest(format!("{}\n{}", self.points, self.reference)))
    }
}

fn validate_key(key: &str) -> Result<(), PointsError> {
    let ok = !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(PointsError::Invalid(format!("Idempotency-Key must be 1–{MAX_KEY_LEN} printable ASCII characters")))
    }
}

impl PointsStore {
    /// Spends points of `member_id` (or of the member it was merged into).
    pub async fn redeem(
        &self,
        member_id: &str,
        idempotency_key: &str,
        request: &RedemptionRequest,
        now: DateTime<Utc>,
    ) -> Result<Redeemed, PointsError> {
        request.validate()?;
        validate_key(idempotency_key)?;
        let hash = request.hash();
        // Keyed by the id the client addressed, so a retry after a merge still finds it.
        let record_pk = items::redemption_pk(member_id, idempotency_key);
        let record_key = items::key(record_pk.clone(), items::REDEMPTION_SK);
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                self.count_retry();
                backoff(attempt).await;
            }
            if let Some(item) = self.get(record_key.clone()).await? {
                let (stored_hash, receipt): (String, RedemptionReceipt) = redemption_from_item(&item)?;
                return if stored_hash == hash {
                    Ok(Redeemed::Replayed(receipt))
                } else {
                    Err(PointsError::KeyReused(idempotency_key.to_string()))
                };
            }
            let mut live = self.load_live([member_id.to_string()].into()).await.map_err(|e| match e {
                PointsError::Storage(crate::aws::StorageError::NotFound(_)) => {
                    PointsError::MemberNotFound(member_id.to_string())
                }
                other => other,
            })?;
            let Some(before) = live.pop() else {
                return Err(PointsError::MemberNotFound(member_id.to_string()));
            };
            let mut after = before.state.clone();
            let entries = redeem(&mut after, request.points, &request.reference, &self.policy, now)
                .map_err(|Insufficient { available }| PointsError::Insufficient { available })?;
            let receipt = RedemptionReceipt {
                member_id: after.member_id.clone(),
                points: request.points,
                reference: request.reference.clone(),
                available_points: after.available(),
                redeemed_at: now,
            };
            let mut tx = member_writes(self, &[MemberWrite { before, after, entries }]);
            tx.push(put(
                self,
                items::redemption_item(record_pk.clone(), &hash, &receipt),
                Some(("attribute_not_exists(pk)", None)),
            ));
            match self.transact(tx, &format!("redeem for {member_id}")).await {
                Ok(()) => return Ok(Redeemed::Done(receipt)),
                Err(e) if is_conflict(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(PointsError::Contended(format!("member {member_id}")))
    }
}
