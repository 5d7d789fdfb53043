//! Applies canonical order versions and sign-ups to members. Each SQS message is an S3
//! notification for one `canonical/orders/…` or `canonical/member_signups/…` object; its
//! records are applied concurrently (each is idempotent and ordered by version, so
//! at-least-once delivery and any order are safe). A storage failure fails only its message.

use std::time::Instant;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::{stream, StreamExt, TryStreamExt};
use lambda_runtime::Error;
use omnilake::aws::points::{ApplyOutcome, PointsError, PointsStore, SignupOutcome};
use omnilake::aws::s3::DataBucket;
use omnilake::aws::shops::ShopDirectory;
use omnilake::aws::StorageError;
use omnilake::clock::Clock;
use omnilake::normalize::read_jsonl_gz;
use omnilake::points::events::{points_events_of, PointsEvent};
use omnilake::sqs_batch;

/// Records of one object applied at once.
const APPLY_CONCURRENCY: usize = 8;

pub struct Deps {
    pub bucket: DataBucket,
    pub shops: ShopDirectory,
    pub points: PointsStore,
    pub clock: Clock,
}

#[derive(Debug, thiserror::Error)]
enum MessageError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Points(#[from] PointsError),
    #[error(transparent)]
    NotS3(#[from] omnilake::s3_event::NotS3Event),
    #[error("{0} is not gzipped JSON Lines: {1}")]
    Unreadable(String, std::io::Error),
}

/// Counts for the batch log line.
#[derive(Debug, Default)]
struct Tally {
    applied: usize,
    stale: usize,
    guests: usize,
    created: usize,
    merged: usize,
    signups: usize,
    bad_records: usize,
    points_delta: i64,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.applied += other.applied;
        self.stale += other.stale;
        self.guests += other.guests;
        self.created += other.created;
        self.merged += other.merged;
        self.signups += other.signups;
        self.bad_records += other.bad_records;
        self.points_delta += other.points_delta;
    }
}

pub async fn handle_batch(deps: &Deps, event: SqsEvent) -> Result<SqsBatchResponse, Error> {
    let started = Instant::now();
    let usage_before = deps.points.usage();
    let mut failed = Vec::new();
    let mut tally = Tally::default();
    for msg in &event.records {
        match apply_message(deps, msg).await {
            Ok(t) => tally.add(t),
            Err(err) => {
                tracing::error!(error = %err, message_id = %sqs_batch::message_id(msg), "points message failed; it will be retried");
                failed.push(sqs_batch::message_id(msg));
            }
        }
    }
    let usage = deps.points.usage();
    tracing::info!(
        messages = event.records.len(),
        failed = failed.len(),
        applied = tally.applied,
        stale = tally.stale,
        guests = tally.guests,
        members_created = tally.created,
        members_merged = tally.merged,
        signups = tally.signups,
        bad_records = tally.bad_records,
        points_delta = tally.points_delta,
        dynamodb_requests = usage.requests - usage_before.requests,
        dynamodb_retries = usage.retries - usage_before.retries,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "points batch done"
    );
    Ok(sqs_batch::batch_response(failed))
}

async fn apply_message(deps: &Deps, msg: &SqsMessage) -> Result<Tally, MessageError> {
    let mut tally = Tally::default();
    for object in sqs_batch::objects_of(msg)? {
        let stored = deps.bucket.get(&object.key).await?;
        let lines = read_jsonl_gz(&stored.body).map_err(|e| MessageError::Unreadable(object.key.clone(), e))?;
        let (events, bad) = points_events_of(&object.key, &lines);
        for b in &bad {
            // Written by normalize-orders: a bad line is a bug to fix there, not data to retry.
            tracing::error!(key = %b.key, line = b.line, reason = %b.reason, "undecodable canonical record skipped");
        }
        tally.bad_records += bad.len();
        let outcomes: Vec<Tally> = stream::iter(events.iter().map(|event| apply_event(deps, event)))
            .buffer_unordered(APPLY_CONCURRENCY)
            .try_collect()
            .await?;
        outcomes.into_iter().for_each(|t| tally.add(t));
    }
    Ok(tally)
}

async fn apply_event(deps: &Deps, event: &PointsEvent) -> Result<Tally, MessageError> {
    let shop = deps
        .shops
        .points_settings(event.sender_format().as_deref(), event.shop_id(), deps.points.business_tz())
        .await?;
    let now = deps.clock.now();
    let mut tally = Tally::default();
    match event {
        PointsEvent::Order(order) => match deps.points.apply_order(order, &shop, now).await? {
            ApplyOutcome::Guest => tally.guests += 1,
            ApplyOutcome::Stale => tally.stale += 1,
            ApplyOutcome::Applied { delta, created, merged, .. } => {
                tally.applied += 1;
                tally.points_delta += delta;
                tally.created += usize::from(created);
                tally.merged += merged.len();
            }
        },
        PointsEvent::Signup(signup) => match deps.points.apply_signup(signup, &shop, now).await? {
            SignupOutcome::NoIdentity => {
                tracing::warn!(shop_id = %signup.shop_id, raw = %signup.source_raw_key, "sign-up without a valid phone or email skipped");
            }
            SignupOutcome::Applied { bonus, created, merged, .. } => {
                tally.signups += 1;
                tally.points_delta += bonus;
                tally.created += usize::from(created);
                tally.merged += merged.len();
            }
        },
    }
    Ok(tally)
}
