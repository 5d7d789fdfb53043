//! The nightly rollup. EventBridge Scheduler sends `{}` at 02:30 business time: compute the
//! previous business day. By hand: `{"date"}` or `{"from","to"}` (backfills in date order,
//! catching up missing history first). The state machine for huge days sends `plan`, `map`
//! and `reduce` events (infra/template.yaml). Shop zones are read once per invocation, so a
//! shop registered today dates its orders right tonight.

use chrono_tz::Tz;
use lambda_runtime::Error;
use omnilake::aws::rollup::{
    load_shop_zones, map_chunk, plan_day, reduce_day, run_days, PointsSource, RollupProgress, RollupStore,
};
use omnilake::clock::Clock;
use omnilake::rollup::compute::DayContext;
use omnilake::rollup::plan::dt;
use omnilake::rollup::request::{parse_request, RollupRequest};
use serde_json::{json, Value};

pub struct Deps {
    pub store: RollupStore,
    pub ddb: aws_sdk_dynamodb::Client,
    pub shops_table: String,
    /// `OMNILAKE_POINTS_TABLE`: the points columns (NULL without it).
    pub points: Option<PointsSource>,
    pub business_tz: Tz,
    pub clock: Clock,
    pub threads: usize,
}

fn report_json(r: &omnilake::aws::rollup::DayReport) -> Value {
    let rows: serde_json::Map<String, Value> = r.rows.iter().map(|(t, n)| (t.to_string(), json!(n))).collect();
    json!({
        "date": dt(r.day),
        "rows": rows,
        "objects": r.read.objects,
        "lines": r.read.lines,
        "orders_placed": r.stats.orders_placed,
        "input_fingerprint": r.input_fingerprint,
        "seconds": r.seconds,
    })
}

pub async fn handle(deps: &Deps, event: Value) -> Result<Value, Error> {
    let now = deps.clock.now();
    let now_micros = now.timestamp() * 1_000_000 + i64::from(now.timestamp_subsec_micros());
    let request = parse_request(&event, now_micros, deps.business_tz)?;
    let context = |day| async move {
        let shops = load_shop_zones(&deps.ddb, &deps.shops_table).await?;
        Ok::<_, Error>(DayContext { day, business_tz: deps.business_tz, shops, points: None })
    };
    match request {
        RollupRequest::Days { from, to } => {
            let ctx = context(from).await?;
            let progress = |p: RollupProgress<'_>| {
                if let RollupProgress::Planned { days, requested_from } = p {
                    tracing::info!(days = days.len(), first = %days.first().map_or_else(String::new, |d| dt(*d)), requested_from = %dt(requested_from), "rollup planned");
                }
            };
            let reports = run_days(&deps.store, &ctx, from, to, deps.threads, deps.points.as_ref(), &progress).await?;
            Ok(json!({ "days": reports.iter().map(report_json).collect::<Vec<_>>() }))
        }
        RollupRequest::Plan { day } => {
            let plan = plan_day(&deps.store, &context(day).await?, day).await?;
            tracing::info!(date = %plan.date, distributed = plan.distributed, objects = plan.objects, bytes = plan.bytes, chunks = plan.chunks.len(), "rollup plan");
            Ok(serde_json::to_value(plan)?)
        }
        RollupRequest::Map { day, chunk } => {
            let (key, read) = map_chunk(&deps.store, day, &chunk, deps.threads).await?;
            tracing::info!(date = %dt(day), partial = %key, objects = read.objects, lines = read.lines, "rollup chunk mapped");
            Ok(json!({ "date": dt(day), "partial": key, "objects": read.objects, "lines": read.lines }))
        }
        RollupRequest::Reduce { day } => {
            let report = reduce_day(&deps.store, &context(day).await?, day, deps.points.as_ref()).await?;
            Ok(report_json(&report))
        }
    }
}
