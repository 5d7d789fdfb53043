//! The rollup's storage side: list and fetch the day's canonical objects from S3 into the
//! parser threads, read the carried state, and publish a day (parts → manifest → stale parts
//! deleted → state). The shops table gives each shop's zone and fulfilment location.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use futures::TryStreamExt;

use super::StorageError;
use crate::canonical::time::parse_time_zone;
use crate::rollup::compute::{DayContext, DayStats, ShopZone};
use crate::rollup::encode::{compute_and_encode_day, EncodedDay, WrittenTable};
use crate::rollup::facts::InputKind;
use crate::rollup::parallel::{absorb_all, input_channel, InputObject, ReadStats};
use crate::rollup::plan::{
    code_version, dt, input_fingerprint, manifest_key, partition_day, plan_days, select_inputs, state_key, Manifest,
    ObjectInfo, STATE_PREFIX,
};
use crate::rollup::points::points_day;
use crate::rollup::request::{chunk_inputs, is_distributed, Chunk};
use crate::rollup::state::CarriedState;
use crate::rollup::table::table_prefix;
use crate::rollup::time::Day;
use crate::rollup::RollupError;

#[derive(Debug, thiserror::Error)]
pub enum RollupRunError {
    #[error(transparent)]
    Rollup(#[from] RollupError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Downloads in flight at once: enough to keep two parser threads busy on S3 latency.
const CONCURRENT_GETS: usize = 16;

/// What a computed day published.
#[derive(Debug, Clone)]
pub struct DayReport {
    pub day: Day,
    pub rows: Vec<(&'static str, u64)>,
    pub read: ReadStats,
    pub stats: DayStats,
    pub input_fingerprint: String,
    pub seconds: f64,
}

/// Progress of a multi-day run, for a progress bar or logs.
pub enum RollupProgress<'a> {
    Planned { days: &'a [Day], requested_from: Day },
    DayStarted { day: Day, index: usize, of: usize, objects: usize, bytes: u64 },
    DayDone(&'a DayReport),
}

#[derive(Debug, Clone)]
pub struct RollupStore {
    s3: Client,
    bucket: String,
}

fn storage(context: String, e: impl std::error::Error + Send + Sync + 'static) -> StorageError {
    StorageError::Other { context, source: Box::new(e) }
}

impl RollupStore {
    pub fn new(s3: Client, bucket: impl Into<String>) -> Self {
        RollupStore { s3, bucket: bucket.into() }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StorageError> {
        let mut out = Vec::new();
        let mut pages = self.s3.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| StorageError::from_sdk(format!("list s3://{}/{prefix}", self.bucket), e))?;
            for o in page.contents() {
                let Some(key) = o.key() else { continue };
                let last_modified =
                    o.last_modified().map_or(0, |t| t.secs() * 1_000_000 + i64::from(t.subsec_nanos() / 1000));
                out.push(ObjectInfo {
                    key: key.to_string(),
                    etag: o.e_tag().unwrap_or_default().to_string(),
                    last_modified,
                    size: o.size().unwrap_or(0).max(0) as u64,
                });
            }
        }
        Ok(out)
    }

    /// Every canonical input object the rollup may read.
    pub async fn list_inputs(&self) -> Result<Vec<ObjectInfo>, StorageError> {
        let mut all = Vec::new();
        for kind in InputKind::ALL {
            all.extend(self.list(kind.prefix()).await?);
        }
        Ok(all)
    }

    /// Days with a carried state.
    pub async fn state_days(&self) -> Result<BTreeSet<Day>, StorageError> {
        Ok(self.list(STATE_PREFIX).await?.iter().filter_map(|o| partition_day(&o.key)).collect())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        match self.s3.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => {
                let body =
                    out.body.collect().await.map_err(|e| storage(format!("read s3://{}/{key}", self.bucket), e))?;
                Ok(Some(body.into_bytes().to_vec()))
            }
            Err(e) if e.as_service_error().is_some_and(|se| se.is_no_such_key()) => Ok(None),
            Err(e) => Err(StorageError::from_sdk(format!("get s3://{}/{key}", self.bucket), e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.s3
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| StorageError::from_sdk(format!("delete s3://{}/{key}", self.bucket), e))?;
        Ok(())
    }

    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), StorageError> {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| StorageError::from_sdk(format!("put s3://{}/{key}", self.bucket), e))?;
        Ok(())
    }

    pub async fn load_state(&self, d: Day) -> Result<Option<CarriedState>, RollupRunError> {
        match self.get(&state_key(d)).await? {
            Some(bytes) => Ok(Some(CarriedState::from_gzip_json(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Fetches `objects` concurrently into the parser threads and returns their merged partial.
    pub async fn read_partial(
        &self,
        objects: Vec<ObjectInfo>,
        threads: usize,
    ) -> Result<(crate::rollup::partial::Partial, ReadStats), RollupRunError> {
        let (tx, rx) = input_channel();
        let parse = tokio::task::spawn_blocking(move || absorb_all(threads, rx));
        let fetch = futures::stream::iter(objects.into_iter().map(Ok::<_, RollupRunError>))
            .map_ok(|o| async move {
                let body = self.get(&o.key).await?.ok_or_else(|| RollupError::Unreadable {
                    key: o.key.clone(),
                    message: "listed but gone (deleted during the run?)".into(),
                })?;
                let kind = InputKind::of_key(&o.key)
                    .ok_or_else(|| RollupError::Internal(format!("{} is not an input key", o.key)))?;
                Ok::<_, RollupRunError>(InputObject { kind, key: o.key, body })
            })
            .try_buffer_unordered(CONCURRENT_GETS)
            .try_for_each(|object| {
                let tx = tx.clone();
                async move {
                    // The parsers stopped (an input error): the join below reports why.
                    let _ = tx.send(object).await;
                    Ok(())
                }
            });
        let fetched = fetch.await;
        drop(tx);
        let parsed = parse.await.map_err(|e| RollupError::Internal(format!("parser task: {e}")))?;
        fetched?;
        Ok(parsed?)
    }

    /// Publishes one table's partition once its parts are stored: the manifest (the switch a
    /// reader trusts), then parts of an earlier run the manifest no longer lists.
    async fn publish_manifest(&self, manifest: Manifest) -> Result<(), RollupRunError> {
        let key = manifest_key(&manifest.table, day_of_manifest(&manifest)?);
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| RollupError::Internal(e.to_string()))?;
        self.put(&key, json, "application/json").await?;
        let prefix = format!("{}/dt={}/", table_prefix(&manifest.table), manifest.dt);
        for o in self.list(&prefix).await? {
            let name = o.key.rsplit('/').next().unwrap_or_default();
            if name.ends_with(".parquet") && !manifest.files.iter().any(|f| f == name) {
                self.delete(&o.key).await?;
            }
        }
        Ok(())
    }
}

fn day_of_manifest(m: &Manifest) -> Result<Day, RollupError> {
    partition_day(&format!("/dt={}", m.dt)).ok_or_else(|| RollupError::Internal(format!("manifest dt {}", m.dt)))
}

/// The points table the points columns are read from.
#[derive(Debug, Clone)]
pub struct PointsSource {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

/// Ledger entries and live balances, read once per run.
type PointsSnapshot = (Vec<(String, crate::points::LedgerEntry)>, Vec<(String, i64)>);

async fn read_points(source: Option<&PointsSource>) -> Result<Option<PointsSnapshot>, RollupRunError> {
    match source {
        Some(p) => Ok(Some(
            crate::aws::points::scan_ledger_and_balances(&p.client, &p.table)
                .await
                .map_err(|e| RollupError::Internal(format!("points table {}: {e}", p.table)))?,
        )),
        None => Ok(None),
    }
}

fn with_points(context: &DayContext, d: Day, snapshot: &Option<PointsSnapshot>) -> DayContext {
    let points = snapshot.as_ref().map(|(entries, balances)| points_day(entries, balances, d, context.business_tz));
    DayContext { day: d, points, ..context.clone() }
}

/// Every shop's time zone and fulfilment location, from the shops table (`pk = format#shop_id`).
pub async fn load_shop_zones(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<HashMap<(String, String), ShopZone>, StorageError> {
    let mut zones = HashMap::new();
    let mut pages = ddb.scan().table_name(table).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| StorageError::from_sdk(format!("scan {table}"), e))?;
        for item in page.items() {
            let text = |k: &str| match item.get(k) {
                Some(AttributeValue::S(s)) => Some(s.clone()),
                _ => None,
            };
            let Some((format, shop_id)) =
                text("pk").and_then(|pk| pk.split_once('#').map(|(f, s)| (f.to_string(), s.to_string())))
            else {
                continue;
            };
            let time_zone = text("time_zone")
                .and_then(|tz| parse_time_zone(&tz))
                .unwrap_or(crate::canonical::time::DEFAULT_TIME_ZONE);
            zones.insert((format, shop_id), ShopZone { time_zone, location_id: text("location_id") });
        }
    }
    Ok(zones)
}

/// Computes and publishes `from..=to` in date order, first catching up any missing history
/// (see [`plan_days`]). `context` supplies the zone and shops; its `day` is ignored.
pub async fn run_days(
    store: &RollupStore,
    context: &DayContext,
    from: Day,
    to: Day,
    threads: usize,
    points: Option<&PointsSource>,
    progress: &(dyn Fn(RollupProgress<'_>) + Sync),
) -> Result<Vec<DayReport>, RollupRunError> {
    let listing = store.list_inputs().await?;
    let snapshot = read_points(points).await?;
    let earliest = listing
        .iter()
        .filter(|o| matches!(InputKind::of_key(&o.key), Some(InputKind::Orders | InputKind::Inventory)))
        .filter_map(|o| partition_day(&o.key))
        .min();
    let days = plan_days(from, to, &store.state_days().await?, earliest)?;
    progress(RollupProgress::Planned { days: &days, requested_from: from });
    let mut reports = Vec::new();
    let mut state = match days.first() {
        Some(first) => store.load_state(first - 1).await?.unwrap_or_default(),
        None => CarriedState::default(),
    };
    for (index, &d) in days.iter().enumerate() {
        let started = Instant::now();
        let inputs = select_inputs(&listing, d, context.business_tz);
        let bytes: u64 = inputs.iter().map(|o| o.size).sum();
        progress(RollupProgress::DayStarted { day: d, index, of: days.len(), objects: inputs.len(), bytes });
        let fingerprint = input_fingerprint(&inputs);
        let (partial, read) = store.read_partial(inputs, threads).await?;
        let prev = std::mem::take(&mut state);
        let ctx = with_points(context, d, &snapshot);
        let (report, next) = publish_day(store, &ctx, d, fingerprint, partial, prev, read, started).await?;
        progress(RollupProgress::DayDone(&report));
        reports.push(report);
        state = next;
    }
    Ok(reports)
}

/// Computes day `d` from its merged partial and the day before's state, publishes every table
/// and then the state `d` hands on (the state last: a day whose state exists is complete).
#[allow(clippy::too_many_arguments)]
async fn publish_day(
    store: &RollupStore,
    context: &DayContext,
    d: Day,
    fingerprint: String,
    partial: crate::rollup::partial::Partial,
    prev: CarriedState,
    read: ReadStats,
    started: Instant,
) -> Result<(DayReport, CarriedState), RollupRunError> {
    let started_at = now_rfc3339();
    let ctx = DayContext { day: d, ..context.clone() };
    // Parts are uploaded from the encoder threads as each is finished (a day's parts are never
    // all in memory); a failed upload stops the day and is reported as the storage error it is.
    let (runtime, parts_store) = (tokio::runtime::Handle::current(), store.clone());
    let upload_error: std::sync::Arc<std::sync::Mutex<Option<StorageError>>> = Default::default();
    let upload_failed = upload_error.clone();
    let computed = tokio::task::spawn_blocking(move || {
        let sink = |key: &str, bytes: Vec<u8>| -> Result<(), RollupError> {
            runtime.block_on(parts_store.put(key, bytes, "application/vnd.apache.parquet")).map_err(|e| {
                let unwritable = RollupError::Unwritable { key: key.to_string(), message: e.to_string() };
                if let Ok(mut first) = upload_failed.lock() {
                    first.get_or_insert(e);
                }
                unwritable
            })
        };
        compute_and_encode_day(prev, partial, &ctx, &sink, &mut |_| {})
    })
    .await
    .map_err(|e| RollupError::Internal(format!("compute task: {e}")))?;
    if let Some(e) = upload_error.lock().ok().and_then(|mut e| e.take()) {
        return Err(RollupRunError::Storage(e));
    }
    let EncodedDay { tables: written, state, state_bytes, stats } = computed?;
    let run_id = uuid::Uuid::now_v7().to_string();
    let finished_at = now_rfc3339();
    let mut rows = Vec::new();
    for WrittenTable { name: table, rows: count, parts } in written {
        let files = parts.iter().map(|k| k.rsplit('/').next().unwrap_or_default().to_string()).collect();
        let manifest = Manifest {
            table: table.to_string(),
            dt: dt(d),
            rows: count,
            files,
            input_fingerprint: fingerprint.clone(),
            code_version: code_version(),
            run_id: run_id.clone(),
            started_at: started_at.clone(),
            finished_at: finished_at.clone(),
        };
        store.publish_manifest(manifest).await?;
        rows.push((table, count));
    }
    store.put(&state_key(d), state_bytes, "application/gzip").await?;
    let report = DayReport {
        day: d,
        rows,
        read,
        stats,
        input_fingerprint: fingerprint,
        seconds: started.elapsed().as_secs_f64(),
    };
    tracing::info!(
        day = %dt(d),
        objects = report.read.objects,
        lines = report.read.lines,
        orders = report.stats.orders_placed,
        seconds = report.seconds,
        "rollup day published"
    );
    if !report.stats.unknown_shops.is_empty() {
        tracing::warn!(shops = ?report.stats.unknown_shops, "orders of shops missing from the shops table");
    }
    Ok((report, state))
}

// ---------------------------------------------------------------- Distributed Map modes

/// The plan of a day: its inputs, and whether they are big enough for the Distributed Map.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DayPlan {
    pub date: String,
    pub distributed: bool,
    pub objects: usize,
    pub bytes: u64,
    pub chunks: Vec<Chunk>,
}

pub async fn plan_day(store: &RollupStore, context: &DayContext, d: Day) -> Result<DayPlan, RollupRunError> {
    let inputs = select_inputs(&store.list_inputs().await?, d, context.business_tz);
    let bytes: u64 = inputs.iter().map(|o| o.size).sum();
    let distributed = is_distributed(inputs.len(), bytes);
    let chunks = if distributed {
        chunk_inputs(&inputs.iter().map(|o| (o.key.clone(), o.size)).collect::<Vec<_>>())
    } else {
        Vec::new()
    };
    Ok(DayPlan { date: dt(d), distributed, objects: inputs.len(), bytes, chunks })
}

pub fn partials_prefix(d: Day) -> String {
    format!("rollups/_partials/dt={}/", dt(d))
}

/// Map worker: reads one chunk into a partial at a name derived from its keys, so a retried
/// worker overwrites its own output (and a duplicate partial would merge to the same result).
pub async fn map_chunk(
    store: &RollupStore,
    d: Day,
    chunk: &Chunk,
    threads: usize,
) -> Result<(String, ReadStats), RollupRunError> {
    use sha2::{Digest, Sha256};
    let mut objects = Vec::new();
    for key in &chunk.keys {
        if InputKind::of_key(key).is_none() {
            return Err(RollupError::BadRequest(format!("{key} is not a canonical input key")).into());
        }
        objects.push(ObjectInfo { key: key.clone(), etag: String::new(), last_modified: 0, size: 0 });
    }
    let (partial, read) = store.read_partial(objects, threads).await?;
    let name = hex::encode(Sha256::digest(chunk.keys.join("\n").as_bytes()));
    let key = format!("{}{}.json.gz", partials_prefix(d), &name[..32]);
    let body = tokio::task::spawn_blocking(move || partial.to_bytes())
        .await
        .map_err(|e| RollupError::Internal(format!("encode task: {e}")))??;
    store.put(&key, body, "application/gzip").await?;
    Ok((key, read))
}

/// Reduce: merges the day's partials, computes and publishes the day, removes the partials.
pub async fn reduce_day(
    store: &RollupStore,
    context: &DayContext,
    d: Day,
    points: Option<&PointsSource>,
) -> Result<DayReport, RollupRunError> {
    let started = Instant::now();
    let context = &with_points(context, d, &read_points(points).await?);
    let listing = store.list_inputs().await?;
    let earliest = listing.iter().filter_map(|o| partition_day(&o.key)).min();
    let prev = match store.load_state(d - 1).await? {
        Some(s) => s,
        None if earliest.is_some_and(|e| e < d) => {
            return Err(RollupError::MissingHistory(format!(
                "no rollup state for {}: run the days before {} first (omnilake rollup --from {} --to {})",
                dt(d - 1),
                dt(d),
                dt(earliest.unwrap_or(d)),
                dt(d - 1)
            ))
            .into())
        }
        None => CarriedState::default(),
    };
    let fingerprint = input_fingerprint(&select_inputs(&listing, d, context.business_tz));
    let partial_keys = store.list(&partials_prefix(d)).await?;
    let mut merged = crate::rollup::partial::Partial::default();
    let mut read = ReadStats::default();
    for o in &partial_keys {
        let bytes = store
            .get(&o.key)
            .await?
            .ok_or_else(|| RollupError::Unreadable { key: o.key.clone(), message: "listed but gone".into() })?;
        read.objects += 1;
        read.compressed_bytes += bytes.len() as u64;
        let partial = tokio::task::spawn_blocking(move || crate::rollup::partial::Partial::from_bytes(&bytes))
            .await
            .map_err(|e| RollupError::Internal(format!("decode task: {e}")))??;
        merged.merge(partial);
    }
    let (report, _) = publish_day(store, context, d, fingerprint, merged, prev, read, started).await?;
    for o in partial_keys {
        store.delete(&o.key).await?;
    }
    Ok(report)
}

fn now_rfc3339() -> String {
    crate::canonical::time::format_utc(&chrono::Utc::now())
}
