//! `normalize-orders`' decisions: a raw event (bytes + metadata) becomes canonical records or a
//! quarantine entry, and a batch of records becomes gzipped JSON Lines files by kind and day.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::canonical::{CanonicalRecord, RecordKind};
use crate::feed::{self, FeedEvent, FEED_PLATFORM};
use crate::platforms::signature::sha256_hex;
use crate::platforms::{self, ParseContext, Platform};
use crate::quarantine::{quarantine_key, QuarantineEntry};
use crate::raw::{RawKey, RawMetadata};
use crate::shop::ShopSettings;

/// A record with the business day it is filed under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedRecord {
    pub date: NaiveDate,
    pub record: CanonicalRecord,
}

/// What became of one raw event.
#[derive(Debug)]
pub enum EventOutcome {
    Records(Vec<DatedRecord>),
    /// Authentic but unusable: file it under `key` with the entry.
    Quarantine {
        key: String,
        entry: QuarantineEntry,
    },
}

/// Normalises one raw event. Never fails: what cannot be parsed is planned for quarantine.
pub fn normalize_event(
    raw_key: &str,
    meta: &RawMetadata,
    body: &[u8],
    shop: &ShopSettings,
    now: DateTime<Utc>,
) -> EventOutcome {
    match parse_event(meta, body, shop) {
        Ok(records) => EventOutcome::Records(
            records
                .into_iter()
                .map(|mut record| {
                    record.set_source_raw_key(raw_key);
                    DatedRecord { date: record.business_date(shop.time_zone, meta.received_at), record }
                })
                .collect(),
        ),
        Err(reason) => quarantine_event(raw_key, reason, shop.time_zone, now),
    }
}

/// Plans the quarantine of a raw event that cannot become records, filed under its event key
/// on today's business date.
pub fn quarantine_event(raw_key: &str, reason: String, time_zone: Tz, now: DateTime<Utc>) -> EventOutcome {
    let item = RawKey::parse(raw_key).map(|k| k.event_key).unwrap_or_else(|| sha256_hex(raw_key.as_bytes()));
    let date = crate::canonical::time::business_date(now, time_zone);
    EventOutcome::Quarantine {
        key: quarantine_key("normalize", date, &item),
        entry: QuarantineEntry {
            stage: "normalize".into(),
            reason,
            source_key: raw_key.to_string(),
            line: None,
            row: None,
            quarantined_at: now,
        },
    }
}

fn parse_event(meta: &RawMetadata, body: &[u8], shop: &ShopSettings) -> Result<Vec<CanonicalRecord>, String> {
    if meta.format == FEED_PLATFORM {
        let event: FeedEvent = serde_json::from_slice(body).map_err(|e| format!("feed event is not readable: {e}"))?;
        return feed::records_from_event(&event, shop).map_err(|e| e.to_string());
    }
    let platform: Platform = meta.format.parse().map_err(|e: platforms::UnknownPlatform| e.to_string())?;
    let ctx = ParseContext {
        shop_id: &meta.shop_id,
        topic: &meta.topic,
        received_at: meta.received_at,
        time_zone: shop.time_zone,
        currency: &shop.currency,
    };
    let records = platforms::parse(platform, body, &ctx).map_err(|e| format!("{platform} {}: {e}", meta.topic))?;
    if records.is_empty() {
        return Err(format!("{platform} {}: no records in the body", meta.topic));
    }
    Ok(records)
}

/// A gzipped JSON Lines object to write.
#[derive(Debug, Clone)]
pub struct CanonicalFile {
    pub key: String,
    pub gzipped_jsonl: Vec<u8>,
    pub records: usize,
}

/// Groups records by kind and day into `canonical/{kind}/dt={day}/{batch}.jsonl.gz`. The batch
/// name is a hash of the records' content, so re-processing the same events rewrites the same
/// objects with the same bytes instead of adding copies.
pub fn plan_canonical_files(records: &[DatedRecord]) -> Result<Vec<CanonicalFile>, serde_json::Error> {
    let mut groups: BTreeMap<(RecordKind, NaiveDate), Vec<String>> = BTreeMap::new();
    for r in records {
        groups.entry((r.record.kind(), r.date)).or_default().push(r.record.to_json_line()?);
    }
    Ok(groups
        .into_iter()
        .map(|((kind, date), lines)| content_named_file(&format!("canonical/{}", kind.prefix()), date, lines))
        .collect())
}

/// `{prefix}/dt={date}/{hash}.jsonl.gz` holding `lines` sorted and deduplicated, gzipped; the
/// name is the first 24 hex digits of the SHA-256 of the text, so the same lines always make
/// the same object (a rewrite, never a copy) and different lines never share a name.
pub fn content_named_file(prefix: &str, date: NaiveDate, mut lines: Vec<String>) -> CanonicalFile {
    lines.sort();
    lines.dedup();
    let mut text = lines.join("\n");
    text.push('\n');
    let batch = &sha256_hex(text.as_bytes())[..24];
    let mut gz = GzEncoder::new(Vec::with_capacity(text.len() / 4), Compression::new(6));
    // Writing into a Vec cannot fail.
    let _ = gz.write_all(text.as_bytes());
    let gzipped_jsonl = gz.finish().unwrap_or_default();
    CanonicalFile {
        key: format!("{prefix}/dt={}/{batch}.jsonl.gz", date.format("%Y-%m-%d")),
        gzipped_jsonl,
        records: lines.len(),
    }
}

/// Reads a gzipped JSON Lines object back into lines (used by tests, replay and rollups).
pub fn read_jsonl_gz(bytes: &[u8]) -> std::io::Result<Vec<String>> {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(bytes).read_to_string(&mut text)?;
    Ok(text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect())
}
