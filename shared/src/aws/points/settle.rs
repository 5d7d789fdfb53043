//! The nightly points job: every member brought to "now" (pending points maturing, lots
//! expiring). Idempotent: a second run at the same "now" finds nothing to do.

use chrono::{DateTime, Utc};
use futures::{stream, StreamExt, TryStreamExt};
use serde::Serialize;

use super::apply::{member_writes, MemberWrite};
use super::items::{self, member_from_item, text};
use super::{backoff, is_conflict, PointsError, PointsStore, MAX_ATTEMPTS};
use crate::points::LedgerKind;

/// What one settlement run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SettleReport {
    pub members_scanned: usize,
    pub members_settled: usize,
    pub lots_expired: usize,
    pub points_expired: i64,
}

/// Members settled at once.
const CONCURRENCY: usize = 8;

impl PointsStore {
    pub async fn settle_all(&self, now: DateTime<Utc>) -> Result<SettleReport, PointsError> {
        let mut report = SettleReport::default();
        let mut due = Vec::new();
        for segment in 0..4 {
            for item in self.scan_segment(segment, 4).await? {
                if text(&item, "sk") != Some(items::STATE_SK) {
                    continue;
                }
                let member = member_from_item(&item)?;
                if member.state.merged_into.is_some() {
                    continue;
                }
                report.members_scanned += 1;
                if member.state.needs_settling(now) {
                    due.push(member.state.member_id);
                }
            }
        }
        let results: Vec<(usize, i64)> =
            stream::iter(due.into_iter().map(|id| async move { self.settle_one(&id, now).await }))
                .buffer_unordered(CONCURRENCY)
                .try_collect()
                .await?;
        for (lots, points) in results {
            report.members_settled += 1;
            report.lots_expired += lots;
            report.points_expired += points;
        }
        Ok(report)
    }

    /// Settles one member (re-read, so a concurrent change is never overwritten).
    async fn settle_one(&self, member_id: &str, now: DateTime<Utc>) -> Result<(usize, i64), PointsError> {
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                self.count_retry();
                backoff(attempt).await;
            }
            let Some(before) = self.load_live([member_id.to_string()].into()).await?.pop() else {
                return Ok((0, 0));
            };
            let mut after = before.state.clone();
            let entries = after.settle(now, &self.policy);
            if after == before.state {
                return Ok((0, 0));
            }
            let expired: Vec<i64> =
                entries.iter().filter(|e| e.kind == LedgerKind::Expire).map(|e| -e.points).collect();
            let tx = member_writes(self, &[MemberWrite { before, after, entries }]);
            match self.transact(tx, &format!("settle {member_id}")).await {
                Ok(()) => return Ok((expired.len(), expired.iter().sum())),
                Err(e) if is_conflict(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(PointsError::Contended(format!("member {member_id}")))
    }
}
