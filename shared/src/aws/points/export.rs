//! Writes the order → member export (`crate::points::export`) and says what each outcome adds
//! to it.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{ApplyOutcome, SignupOutcome};
use crate::aws::s3::DataBucket;
use crate::aws::StorageError;
use crate::canonical::CanonicalOrder;
use crate::points::export::{member_export_files, MemberExport};
use crate::points::ShopPoints;

impl ApplyOutcome {
    /// Adds what applying `order` (for `shop`, at `at`) did: the member its points went to
    /// (none for a guest) and the members it merged, dated in `business_tz`.
    pub fn add_to_export(
        &self,
        export: &mut MemberExport,
        order: &CanonicalOrder,
        shop: &ShopPoints,
        at: DateTime<Utc>,
        business_tz: Tz,
    ) {
        export.record_order(order, self.member_id(), shop.time_zone);
        if let ApplyOutcome::Applied { member_id, merged, .. } = self {
            export.record_merge(member_id, merged, at, business_tz);
        }
    }
}

impl SignupOutcome {
    /// Adds the members a sign-up merged (at `at`, dated in `business_tz`).
    pub fn add_to_export(&self, export: &mut MemberExport, at: DateTime<Utc>, business_tz: Tz) {
        if let SignupOutcome::Applied { member_id, merged, .. } = self {
            export.record_merge(member_id, merged, at, business_tz);
        }
    }
}

/// Writes the export's objects (one per prefix and date, named by content: rewriting the same
/// lines overwrites the same object); returns how many.
pub async fn write_member_export(bucket: &DataBucket, export: &MemberExport) -> Result<usize, StorageError> {
    let files = member_export_files(export)
        .map_err(|e| StorageError::Other { context: "serialise the member export".into(), source: Box::new(e) })?;
    let count = files.len();
    for file in files {
        bucket.put(&file.key, file.gzipped_jsonl, "application/x-ndjson", Some("gzip"), &Default::default()).await?;
    }
    Ok(count)
}
