//! The nightly settlement (EventBridge Scheduler, 02:15 business time): every member's matured
//! pending points become available and lots past their end expire. Safe to rerun: a member
//! already settled at this "now" is skipped. The event's content is not used.

use lambda_runtime::Error;
use omnilake::aws::points::{PointsStore, SettleReport};
use omnilake::clock::Clock;

pub struct Deps {
    pub points: PointsStore,
    pub clock: Clock,
}

pub async fn handle(deps: &Deps, _event: serde_json::Value) -> Result<SettleReport, Error> {
    let now = deps.clock.now();
    let started = std::time::Instant::now();
    let report = deps.points.settle_all(now).await?;
    tracing::info!(
        now = %now.to_rfc3339(),
        members_scanned = report.members_scanned,
        members_settled = report.members_settled,
        lots_expired = report.lots_expired,
        points_expired = report.points_expired,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "points settled"
    );
    Ok(report)
}
