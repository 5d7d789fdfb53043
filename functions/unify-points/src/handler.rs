//! Applies canonical order versions and sign-ups to members. Each SQS message is an S3
//! notification for one `canonical/orders/…` or `canonical/member_signups/…` object; its
//! records are applied concurrently (each is idempotent and ordered by version, so
//! at-least-once delivery and any order are safe). A storage failure fails only its message.
//!
//! The batch then writes the order → member export for the nightly rollup
//! (`omnilake::points::export`): one object per prefix and date, named by its content. If that
//! write fails, every message of the batch is retried: re-applied orders are stale then and
//! export the same lines again.

use std::time::Instant;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::{stream, StreamExt};
use lambda_runtime::Error;
use omnilake::aws::points::{write_member_export, ApplyOutcome, PointsError, PointsStore, SignupOutcome};
use omnilake::aws::s3::DataBucket;
use omnilake::aws::shops::ShopDirectory;
use omnilake::aws::StorageError;
use omnilake::clock::Clock;
use omnilake::normalize::read_jsonl_gz;
use omnilake::points::events::{points_events_of, PointsEvent};
use omnilake::points::export::MemberExport;
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
    let mut ok_ids = Vec::new();
    let mut tally = Tally::default();
    let mut export = MemberExport::default();
    for msg in &event.records {
        // A failed message still exports what its applied records did: a merge done before
        // the failure is not done again when the message is retried.
        let (done, result) = apply_message(deps, msg).await;
        tally.add(done.tally);
        export.append(done.export);
        match result {
            Ok(()) => ok_ids.push(sqs_batch::message_id(msg)),
            Err(err) => {
                tracing::error!(error = %err, message_id = %sqs_batch::message_id(msg), "points message failed; it will be retried");
                failed.push(sqs_batch::message_id(msg));
            }
        }
    }
    let exported = match write_member_export(&deps.bucket, &export).await {
        Ok(objects) => objects,
        Err(err) => {
            tracing::error!(error = %err, "member export write failed; the batch will be retried");
            failed.extend(ok_ids);
            0
        }
    };
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
        order_member_lines = export.order_members.len(),
        merge_lines = export.merges.len(),
        export_objects = exported,
        dynamodb_requests = usage.requests - usage_before.requests,
        dynamodb_retries = usage.retries - usage_before.retries,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "points batch done"
    );
    Ok(sqs_batch::batch_response(failed))
}

/// What the records of a message did, failed or not.
#[derive(Default)]
struct Done {
    tally: Tally,
    export: MemberExport,
}

impl Done {
    fn add(&mut self, other: Done) {
        self.tally.add(other.tally);
        self.export.append(other.export);
    }
}

/// Applies every record of every object the message names. Each started record runs to its
/// end even when another fails, so what was written is known (and exported).
async fn apply_message(deps: &Deps, msg: &SqsMessage) -> (Done, Result<(), MessageError>) {
    let mut done = Done::default();
    let objects = match sqs_batch::objects_of(msg) {
        Ok(objects) => objects,
        Err(e) => return (done, Err(e.into())),
    };
    for object in objects {
        let stored = match deps.bucket.get(&object.key).await {
            Ok(stored) => stored,
            Err(e) => return (done, Err(e.into())),
        };
        let lines = match read_jsonl_gz(&stored.body) {
            Ok(lines) => lines,
            Err(e) => return (done, Err(MessageError::Unreadable(object.key.clone(), e))),
        };
        let (events, bad) = points_events_of(&object.key, &lines);
        for b in &bad {
            // Written by normalize-orders: a bad line is a bug to fix there, not data to retry.
            tracing::error!(key = %b.key, line = b.line, reason = %b.reason, "undecodable canonical record skipped");
        }
        done.tally.bad_records += bad.len();
        let results: Vec<Result<Done, MessageError>> =
            stream::iter(events.iter().map(|event| apply_event(deps, event)))
                .buffer_unordered(APPLY_CONCURRENCY)
                .collect()
                .await;
        let mut first_error = None;
        for result in results {
            match result {
                Ok(d) => done.add(d),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return (done, Err(e));
        }
    }
    (done, Ok(()))
}

async fn apply_event(deps: &Deps, event: &PointsEvent) -> Result<Done, MessageError> {
    let shop = deps
        .shops
        .points_settings(event.sender_format().as_deref(), event.shop_id(), deps.points.business_tz())
        .await?;
    let now = deps.clock.now();
    let mut done = Done::default();
    let (tally, export) = (&mut done.tally, &mut done.export);
    let business_tz = deps.points.business_tz();
    match event {
        PointsEvent::Order(order) => {
            let outcome = deps.points.apply_order(order, &shop, now).await?;
            outcome.add_to_export(export, order, &shop, now, business_tz);
            match outcome {
                ApplyOutcome::Guest => tally.guests += 1,
                ApplyOutcome::Stale { .. } => tally.stale += 1,
                ApplyOutcome::Applied { delta, created, merged, .. } => {
                    tally.applied += 1;
                    tally.points_delta += delta;
                    tally.created += usize::from(created);
                    tally.merged += merged.len();
                }
            }
        }
        PointsEvent::Signup(signup) => {
            let outcome = deps.points.apply_signup(signup, &shop, now).await?;
            outcome.add_to_export(export, now, business_tz);
            match outcome {
                SignupOutcome::NoIdentity => {
                    tracing::warn!(shop_id = %signup.shop_id, raw = %signup.source_raw_key, "sign-up without a valid phone or email skipped");
                }
                SignupOutcome::Applied { bonus, created, merged, .. } => {
                    tally.signups += 1;
                    tally.points_delta += bonus;
                    tally.created += usize::from(created);
                    tally.merged += merged.len();
                }
            }
        }
    }
    Ok(done)
}
