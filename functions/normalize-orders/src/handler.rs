//! Turns raw events into canonical records. Each SQS message is an S3 notification for one
//! `raw/…` object; the batch's records are written together as gzipped JSON Lines per kind and
//! business day. Authentic events that cannot be parsed go to `quarantine/normalize/…` with the
//! reason (and count as handled); storage failures fail only the messages they touch.

use std::time::Instant;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;
use chrono_tz::Tz;
use futures::{stream, StreamExt};
use lambda_runtime::Error;
use omnilake::aws::s3::DataBucket;
use omnilake::aws::shops::ShopDirectory;
use omnilake::aws::StorageError;
use omnilake::normalize::{normalize_event, plan_canonical_files, quarantine_event, DatedRecord, EventOutcome};
use omnilake::raw::RawMetadata;
use omnilake::shop::{settings_platform, ShopSettings};
use omnilake::sqs_batch;

/// Raw objects fetched at once.
const READ_CONCURRENCY: usize = 16;

pub struct Deps {
    pub bucket: DataBucket,
    pub shops: ShopDirectory,
    /// For events of unregistered shops.
    pub default_time_zone: Tz,
}

#[derive(Debug, thiserror::Error)]
enum MessageError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    NotS3(#[from] omnilake::s3_event::NotS3Event),
}

/// Counts for the batch log line.
#[derive(Default)]
struct Tally {
    records: usize,
    quarantined: usize,
}

pub async fn handle_batch(deps: &Deps, event: SqsEvent) -> Result<SqsBatchResponse, Error> {
    let started = Instant::now();
    type MessageResult<'a> = (&'a SqsMessage, Result<(Vec<DatedRecord>, usize), MessageError>);
    let results: Vec<MessageResult> =
        stream::iter(event.records.iter().map(|msg| async move { (msg, normalize_message(deps, msg).await) }))
            .buffer_unordered(READ_CONCURRENCY)
            .collect()
            .await;

    let mut failed = Vec::new();
    let mut ok_ids = Vec::new();
    let mut records = Vec::new();
    let mut tally = Tally::default();
    for (msg, result) in results {
        match result {
            Ok((recs, quarantined)) => {
                tally.records += recs.len();
                tally.quarantined += quarantined;
                records.extend(recs);
                ok_ids.push(sqs_batch::message_id(msg));
            }
            Err(err) => {
                tracing::error!(message_id = %sqs_batch::message_id(msg), error = %err, "raw event failed; will be retried");
                failed.push(sqs_batch::message_id(msg));
            }
        }
    }

    // The batch's records go out together; if a write fails, every message that contributed
    // is retried (rewriting the same content-named files is harmless).
    if let Err(err) = write_canonical(deps, &records).await {
        tracing::error!(error = %err, "canonical write failed; batch will be retried");
        failed.extend(ok_ids);
    }
    tracing::info!(
        messages = event.records.len(),
        failed = failed.len(),
        records = tally.records,
        quarantined = tally.quarantined,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "batch normalised"
    );
    Ok(sqs_batch::batch_response(failed))
}

async fn write_canonical(deps: &Deps, records: &[DatedRecord]) -> Result<(), StorageError> {
    let files = plan_canonical_files(records)
        .map_err(|e| StorageError::Other { context: "serialise canonical records".into(), source: Box::new(e) })?;
    for file in files {
        deps.bucket
            .put(&file.key, file.gzipped_jsonl, "application/x-ndjson", Some("gzip"), &Default::default())
            .await?;
    }
    Ok(())
}

/// Normalises every raw object a message names; returns the records and the quarantine count.
async fn normalize_message(deps: &Deps, msg: &SqsMessage) -> Result<(Vec<DatedRecord>, usize), MessageError> {
    let mut records = Vec::new();
    let mut quarantined = 0;
    for object in sqs_batch::objects_of(msg)? {
        match normalize_object(deps, &object.key).await? {
            Some(recs) => records.extend(recs),
            None => quarantined += 1,
        }
    }
    Ok((records, quarantined))
}

/// `None` when the event was quarantined.
pub async fn normalize_object(deps: &Deps, key: &str) -> Result<Option<Vec<DatedRecord>>, StorageError> {
    let object = match deps.bucket.get(key).await {
        Ok(o) => o,
        // A raw object is never deleted, but a notification may outlive a test bucket.
        Err(StorageError::NotFound(_)) => {
            tracing::warn!(key, "raw object vanished; skipped");
            return Ok(Some(Vec::new()));
        }
        Err(e) => return Err(e),
    };
    let now = Utc::now();
    let outcome = match RawMetadata::from_map(&object.metadata) {
        Some(meta) => {
            let settings = deps
                .shops
                .settings_or(
                    settings_platform(&meta.format),
                    &meta.shop_id,
                    &ShopSettings::fallback(deps.default_time_zone),
                )
                .await?;
            normalize_event(key, &meta, &object.body, &settings, now)
        }
        None => quarantine_event(key, "raw object has no omnilake metadata".into(), deps.default_time_zone, now),
    };
    match outcome {
        EventOutcome::Records(records) => Ok(Some(records)),
        EventOutcome::Quarantine { key: qkey, entry } => {
            tracing::warn!(raw_key = key, reason = %entry.reason, quarantine_key = %qkey, "quarantined");
            let body = serde_json::to_vec_pretty(&entry).unwrap_or_default();
            deps.bucket.put(&qkey, body, "application/json", None, &Default::default()).await?;
            Ok(None)
        }
    }
}
