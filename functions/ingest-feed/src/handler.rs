//! Splits each uploaded feed file into raw events (write-if-absent, so a re-upload adds
//! nothing) and quarantines its bad rows with their line numbers. One SQS message = one S3
//! notification; a message whose file could not be processed is reported as a batch-item
//! failure and retried, then dead-lettered.

use std::time::Instant;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;
use chrono_tz::Tz;
use futures::{stream, StreamExt, TryStreamExt};
use lambda_runtime::Error;
use omnilake::aws::s3::{DataBucket, PutOutcome};
use omnilake::aws::shops::ShopDirectory;
use omnilake::aws::StorageError;
use omnilake::feed::{plan_feed_file, quarantine_object, FeedError, FeedSource};
use omnilake::platforms::Platform;
use omnilake::shop::ShopSettings;
use omnilake::sqs_batch;

/// Concurrent S3 writes per file.
const WRITE_CONCURRENCY: usize = 32;

pub struct Deps {
    pub bucket: DataBucket,
    pub shops: ShopDirectory,
    /// For feeds whose shop is not registered (ERP inventory, catalog).
    pub default_time_zone: Tz,
}

#[derive(Debug, thiserror::Error)]
enum FileError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("message is not an S3 notification: {0}")]
    NotS3(#[from] omnilake::s3_event::NotS3Event),
}

pub async fn handle_batch(deps: &Deps, event: SqsEvent) -> Result<SqsBatchResponse, Error> {
    let mut failed = Vec::new();
    for msg in &event.records {
        if let Err(err) = handle_message(deps, msg).await {
            tracing::error!(message_id = %sqs_batch::message_id(msg), error = %err, "feed message failed; will be retried");
            failed.push(sqs_batch::message_id(msg));
        }
    }
    Ok(sqs_batch::batch_response(failed))
}

async fn handle_message(deps: &Deps, msg: &SqsMessage) -> Result<(), FileError> {
    for object in sqs_batch::objects_of(msg)? {
        process_file(deps, &object.key).await?;
    }
    Ok(())
}

async fn process_file(deps: &Deps, key: &str) -> Result<(), FileError> {
    let started = Instant::now();
    let source = match FeedSource::from_key(key) {
        Ok(source) => source,
        Err(e) => {
            // Not a feed we know: nothing to retry, say so and move on.
            tracing::warn!(key, reason = %e, "ignored upload");
            return Ok(());
        }
    };
    let ctx = deps.shops.settings_or(Some(Platform::Standard), &source.shop_id, &fallback(deps)).await?;
    let object = deps.bucket.get(key).await?;
    let plan = match plan_feed_file(&source, &object.body, &ctx, Utc::now()) {
        Ok(plan) => plan,
        Err(e @ (FeedError::Encoding | FeedError::NoHeader | FeedError::Header(_) | FeedError::UnknownFeed(_))) => {
            // The whole file is unreadable: quarantine it as one item, keep the original.
            tracing::error!(key, reason = %e, "feed file quarantined");
            let q = quarantine_object(&source, None, e.to_string(), Utc::now(), ctx.time_zone);
            deps.bucket.put(&q.key, q.body, "application/json", None, &q.metadata).await?;
            return Ok(());
        }
    };
    let landed: Vec<PutOutcome> = stream::iter(
        plan.events
            .into_iter()
            .map(|e| async move { deps.bucket.put_if_absent(&e.key, e.body, "application/json", &e.metadata).await }),
    )
    .buffer_unordered(WRITE_CONCURRENCY)
    .try_collect()
    .await?;
    stream::iter(
        plan.quarantined
            .into_iter()
            .map(|q| async move { deps.bucket.put(&q.key, q.body, "application/json", None, &q.metadata).await }),
    )
    .buffer_unordered(WRITE_CONCURRENCY)
    .try_collect::<Vec<()>>()
    .await?;
    let new_events = landed.iter().filter(|o| **o == PutOutcome::Created).count();
    tracing::info!(
        key,
        feed = source.kind.as_str(),
        shop_id = %source.shop_id,
        rows = plan.rows,
        events = landed.len(),
        new_events,
        bad_rows = plan.bad_rows,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "feed file split"
    );
    Ok(())
}

fn fallback(deps: &Deps) -> ShopSettings {
    ShopSettings::fallback(deps.default_time_zone)
}
