//! The points table adapter: resolves identities, merges members and applies order versions,
//! sign-ups, redemptions and settlement as DynamoDB transactions (docs/points.md). The decisions
//! are the pure functions of [`crate::points`]; this module reads, retries and writes.
//!
//! Concurrency: every change rewrites the member item conditioned on the version it read, in
//! the same transaction as its ledger entries, the award and any new identity links (each
//! conditioned too). A lost race cancels the whole transaction and the caller re-reads and
//! re-plans, so two writers never both apply, and a new customer's identities are claimed by
//! exactly one member.

mod apply;
mod audit;
mod export;
mod items;
mod read;
mod redeem;
mod settle;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::{KeysAndAttributes, ReturnConsumedCapacity, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use chrono_tz::Tz;
use rand::Rng;

pub use apply::{ApplyOutcome, SignupOutcome};
pub use export::write_member_export;
pub use items::CorruptItem;
pub use read::{scan_ledger_and_balances, LedgerPage, LotView, MemberView, PlatformView, TableContents};
pub use redeem::{Redeemed, RedemptionReceipt, RedemptionRequest};
pub use settle::SettleReport;

use super::StorageError;
use crate::points::{IdentityHasher, PointsPolicy};
use items::Item;

/// Attempts of one change before giving up on a hot member.
const MAX_ATTEMPTS: u32 = 12;

#[derive(Debug, thiserror::Error)]
pub enum PointsError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Corrupt(#[from] CorruptItem),
    #[error("member {0} not found")]
    MemberNotFound(String),
    #[error("only {available} points are available")]
    Insufficient { available: i64 },
    #[error("idempotency key `{0}` was used with another request")]
    KeyReused(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("gave up after {MAX_ATTEMPTS} attempts: {0} kept changing")]
    Contended(String),
}

impl PointsError {
    /// Whether a later retry of the whole event may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            PointsError::Storage(e) => e.is_retryable() || matches!(e, StorageError::Conflict(_)),
            PointsError::Contended(_) => true,
            _ => false,
        }
    }
}

/// Requests sent and capacity DynamoDB reported as consumed (for the benchmark and logs).
#[derive(Debug, Default)]
pub struct Usage {
    requests: AtomicU64,
    /// Capacity units × 1000 (DynamoDB reports halves and fractions).
    read_milli: AtomicU64,
    write_milli: AtomicU64,
    /// Write units by DynamoDB's transactional pricing (2 per KB per item), for emulators that
    /// report none for transactions (moto).
    estimated_write_milli: AtomicU64,
    retries: AtomicU64,
}

/// A snapshot of [`Usage`].
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct UsageFigures {
    pub requests: u64,
    pub read_capacity_units: f64,
    pub write_capacity_units: f64,
    pub estimated_write_capacity_units: f64,
    pub retries: u64,
}

impl Usage {
    pub fn figures(&self) -> UsageFigures {
        UsageFigures {
            requests: self.requests.load(Ordering::Relaxed),
            read_capacity_units: self.read_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            write_capacity_units: self.write_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            estimated_write_capacity_units: self.estimated_write_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            retries: self.retries.load(Ordering::Relaxed),
        }
    }

    /// Counts one request; `writes` says whether an unsplit total (all moto gives) is writes.
    fn record(&self, capacities: &[aws_sdk_dynamodb::types::ConsumedCapacity], writes: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        for c in capacities {
            let read = c.read_capacity_units().unwrap_or(0.0);
            let write = c.write_capacity_units().unwrap_or(0.0);
            let total = c.capacity_units().unwrap_or(0.0);
            let (read, write) = match (read == 0.0 && write == 0.0, writes) {
                (true, true) => (0.0, total),
                (true, false) => (total, 0.0),
                (false, _) => (read, write),
            };
            self.read_milli.fetch_add((read * 1000.0).round() as u64, Ordering::Relaxed);
            self.write_milli.fetch_add((write * 1000.0).round() as u64, Ordering::Relaxed);
        }
    }
}

/// The points table, with the identity key and the deployment's points policy.
#[derive(Debug, Clone)]
pub struct PointsStore {
    client: Client,
    table: String,
    hasher: IdentityHasher,
    policy: PointsPolicy,
    usage: Arc<Usage>,
}

impl PointsStore {
    pub fn new(client: Client, table: impl Into<String>, hasher: IdentityHasher, policy: PointsPolicy) -> PointsStore {
        PointsStore { client, table: table.into(), hasher, policy, usage: Arc::default() }
    }

    pub fn usage(&self) -> UsageFigures {
        self.usage.figures()
    }

    pub fn policy(&self) -> &PointsPolicy {
        &self.policy
    }

    pub fn hasher(&self) -> &IdentityHasher {
        &self.hasher
    }

    /// Business time zone of the deployment (lot months end at its midnight).
    pub fn business_tz(&self) -> Tz {
        self.policy.business_tz
    }

    async fn get(&self, key: Item) -> Result<Option<Item>, PointsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| StorageError::from_sdk(format!("get item from {}", self.table), e))?;
        self.usage.record(out.consumed_capacity().into_iter().cloned().collect::<Vec<_>>().as_slice(), false);
        Ok(out.item)
    }

    /// Consistent reads of up to 100 keys; missing items are absent from the answer.
    async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, PointsError> {
        let mut found = Vec::with_capacity(keys.len());
        let mut pending = keys;
        let mut attempt = 0;
        while !pending.is_empty() {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| StorageError::Other { context: "batch get keys".into(), source: Box::new(e) })?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| StorageError::from_sdk(format!("batch get from {}", self.table), e))?;
            self.usage.record(out.consumed_capacity(), false);
            if let Some(mut responses) = out.responses {
                found.extend(responses.remove(&self.table).unwrap_or_default());
            }
            if let Some(mut unprocessed) = out.unprocessed_keys {
                if let Some(rest) = unprocessed.remove(&self.table) {
                    pending = rest.keys;
                    attempt += 1;
                    backoff(attempt).await;
                }
            }
        }
        Ok(found)
    }

    /// Writes all or nothing. A lost condition or a conflicting transaction is `Conflict`
    /// (re-read and re-plan); throttling is `Throttled`.
    async fn transact(&self, writes: Vec<TransactWriteItem>, what: &str) -> Result<(), PointsError> {
        if writes.len() > 100 {
            return Err(PointsError::Invalid(format!("{what}: {} writes exceed one transaction", writes.len())));
        }
        let estimate: u64 = writes.iter().map(transactional_write_units).sum();
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(out) => {
                self.usage.record(out.consumed_capacity(), true);
                self.usage.estimated_write_milli.fetch_add(estimate * 1000, Ordering::Relaxed);
                Ok(())
            }
            Err(err) => {
                self.usage.record(&[], true);
                let cancelled = err.as_service_error().and_then(|e| match e {
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => Some(c),
                    _ => None,
                });
                if let Some(c) = cancelled {
                    let codes: Vec<&str> = c.cancellation_reasons().iter().filter_map(|r| r.code()).collect();
                    let throttled = codes.iter().any(|c| c.contains("Throttl") || c.contains("ProvisionedThroughput"));
                    let context = format!("{what}: transaction cancelled ({})", codes.join(", "));
                    return Err(if throttled {
                        StorageError::Throttled(context)
                    } else {
                        StorageError::Conflict(context)
                    }
                    .into());
                }
                if err.as_service_error().is_some_and(|e| e.is_transaction_in_progress_exception()) {
                    return Err(StorageError::Conflict(format!("{what}: transaction in progress")).into());
                }
                Err(StorageError::from_sdk(what.to_string(), err).into())
            }
        }
    }

    fn count_retry(&self) {
        self.usage.retries.fetch_add(1, Ordering::Relaxed);
    }
}

/// What one transactional write costs in DynamoDB: 2 write units per started KB of the item
/// (a condition check counts as a write of its item; its size is unknown here, taken as 1 KB).
fn transactional_write_units(write: &TransactWriteItem) -> u64 {
    let Some(put) = write.put() else { return 2 };
    let bytes: usize = put
        .item()
        .iter()
        .map(|(name, value)| {
            name.len() + value.as_s().map_or_else(|_| value.as_n().map_or(8, |n| n.len()), |s| s.len())
        })
        .sum();
    2 * bytes.div_ceil(1024).max(1) as u64
}

/// Full-jitter exponential backoff: 5 ms × 2^attempt, capped at 400 ms.
async fn backoff(attempt: u32) {
    let cap = 5u64.saturating_mul(1 << attempt.min(7)).min(400);
    let wait = rand::thread_rng().gen_range(0..=cap);
    tokio::time::sleep(Duration::from_millis(wait)).await;
}

fn is_conflict(err: &PointsError) -> bool {
    matches!(err, PointsError::Storage(StorageError::Conflict(_)) | PointsError::Storage(StorageError::Throttled(_)))
}

/// The points settings of a deployment: `OMNILAKE_POINTS_EXPIRY_MONTHS` (default 12) and
/// `OMNILAKE_BUSINESS_TZ` (default `Asia/Shanghai`).
pub fn policy_from_env() -> Result<PointsPolicy, super::ConfigError> {
    let business_tz = super::business_time_zone_from_env()?;
    let expiry_months = match std::env::var("OMNILAKE_POINTS_EXPIRY_MONTHS") {
        Err(_) => 12,
        Ok(v) => {
            v.trim().parse().ok().filter(|m| (1..=120).contains(m)).ok_or_else(|| super::ConfigError::Invalid {
                name: "OMNILAKE_POINTS_EXPIRY_MONTHS".into(),
                reason: format!("`{v}` is not a number of months (1–120)"),
            })?
        }
    };
    Ok(PointsPolicy { expiry_months, business_tz })
}

/// Opens the points table with the identity key fetched from Secrets Manager.
pub async fn connect(
    config: &aws_config::SdkConfig,
    table: String,
    key_secret_id: &str,
    policy: PointsPolicy,
) -> Result<PointsStore, PointsError> {
    let secrets = super::secrets::SecretStore::new(aws_sdk_secretsmanager::Client::new(config));
    let key = secrets.get(key_secret_id).await?;
    let hasher = IdentityHasher::new(key.as_bytes())
        .map_err(|e| PointsError::Invalid(format!("identity key secret {key_secret_id}: {e}")))?;
    Ok(PointsStore::new(Client::new(config), table, hasher, policy))
}

/// [`connect`] with `OMNILAKE_POINTS_TABLE`, `OMNILAKE_IDENTITY_KEY_SECRET` and [`policy_from_env`].
pub async fn connect_from_env(config: &aws_config::SdkConfig) -> Result<PointsStore, lambda_setup::SetupError> {
    let table = super::env_var("OMNILAKE_POINTS_TABLE")?;
    let secret = super::env_var("OMNILAKE_IDENTITY_KEY_SECRET")?;
    Ok(connect(config, table, &secret, policy_from_env()?).await?)
}

pub mod lambda_setup {
    /// A function could not start.
    #[derive(Debug, thiserror::Error)]
    pub enum SetupError {
        #[error(transparent)]
        Config(#[from] crate::aws::ConfigError),
        #[error(transparent)]
        Points(#[from] super::PointsError),
    }
}
