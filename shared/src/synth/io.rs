//! The on-disk form of a generated data set:
//!
//! ```text
//! DIR/manifest.json                                  config, shops, deliveries (no bodies), feeds, expected
//! DIR/deliveries/{seq:06}-{platform}-{shop}.body     exact bytes to POST
//! DIR/incoming/{feed}/{shop}/{file}                  feed files, at their S3 key
//! ```

use std::fs;
use std::io::{self, ErrorKind};
use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Expected, FeedFile, OrderVersionRef, SynthConfig, SynthDelivery, SynthOutput, SynthShop};
use crate::canonical::time::rfc3339;
use crate::platforms::signature::sha256_hex;
use crate::platforms::Platform;

/// The manifest's file name inside the output directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The manifest's `format` value.
pub const MANIFEST_FORMAT: &str = "omnilake-synth/1";

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: String,
    config: SynthConfig,
    shops: Vec<SynthShop>,
    deliveries: Vec<DeliveryEntry>,
    feeds: Vec<FeedEntry>,
    expected: Expected,
}

#[derive(Serialize, Deserialize)]
struct DeliveryEntry {
    seq: usize,
    #[serde(with = "super::platform_name")]
    platform: Platform,
    shop_id: String,
    topic: String,
    delivery_id: String,
    #[serde(with = "rfc3339")]
    at: DateTime<Utc>,
    forged: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    order: Option<OrderVersionRef>,
    /// Path of the body, relative to the manifest.
    body_file: String,
    body_bytes: usize,
    body_sha256: String,
}

#[derive(Serialize, Deserialize)]
struct FeedEntry {
    key: String,
    /// Path of the file, relative to the manifest (the key itself).
    file: String,
    bytes: usize,
    rows: usize,
    bad_rows: usize,
    events: usize,
}

fn invalid(message: String) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, message)
}

/// `rel` under `dir`, refusing absolute paths and `..` (the manifest may come from elsewhere).
fn inside(dir: &Path, rel: &str) -> io::Result<PathBuf> {
    let path = Path::new(rel);
    if rel.is_empty() || !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(invalid(format!("`{rel}` is not a plain relative path")));
    }
    Ok(dir.join(path))
}

fn body_file(d: &SynthDelivery) -> String {
    format!("deliveries/{:06}-{}-{}.body", d.seq, d.platform, d.shop_id)
}

fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, bytes)
}

/// Writes `out` under `dir` (created if missing; files of an earlier run are overwritten,
/// other files are left alone).
pub fn write_dir(out: &SynthOutput, dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir.join("deliveries"))?;
    let mut deliveries = Vec::with_capacity(out.deliveries.len());
    for d in &out.deliveries {
        let rel = body_file(d);
        fs::write(inside(dir, &rel)?, &d.body)?;
        deliveries.push(DeliveryEntry {
            seq: d.seq,
            platform: d.platform,
            shop_id: d.shop_id.clone(),
            topic: d.topic.clone(),
            delivery_id: d.delivery_id.clone(),
            at: d.at,
            forged: d.forged,
            order: d.order.clone(),
            body_file: rel,
            body_bytes: d.body.len(),
            body_sha256: sha256_hex(&d.body),
        });
    }
    let mut feeds = Vec::with_capacity(out.feeds.len());
    for f in &out.feeds {
        write_file(&inside(dir, &f.key)?, &f.bytes)?;
        feeds.push(FeedEntry {
            key: f.key.clone(),
            file: f.key.clone(),
            bytes: f.bytes.len(),
            rows: f.rows,
            bad_rows: f.bad_rows,
            events: f.events,
        });
    }
    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        config: out.config.clone(),
        shops: out.shops.clone(),
        deliveries,
        feeds,
        expected: out.expected.clone(),
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| invalid(format!("manifest: {e}")))?;
    fs::write(dir.join(MANIFEST_FILE), json)
}

/// Reads what [`write_dir`] wrote, checking each body against its recorded SHA-256.
pub fn read_dir(dir: &Path) -> io::Result<SynthOutput> {
    let bytes = fs::read(dir.join(MANIFEST_FILE))?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| invalid(format!("{MANIFEST_FILE}: {e}")))?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(invalid(format!("{MANIFEST_FILE}: format `{}`, expected `{MANIFEST_FORMAT}`", manifest.format)));
    }
    let mut deliveries = Vec::with_capacity(manifest.deliveries.len());
    for e in manifest.deliveries {
        let body = fs::read(inside(dir, &e.body_file)?)?;
        if sha256_hex(&body) != e.body_sha256 {
            return Err(invalid(format!("{} does not match its recorded SHA-256", e.body_file)));
        }
        deliveries.push(SynthDelivery {
            seq: e.seq,
            platform: e.platform,
            shop_id: e.shop_id,
            topic: e.topic,
            delivery_id: e.delivery_id,
            at: e.at,
            body,
            forged: e.forged,
            order: e.order,
        });
    }
    let mut feeds = Vec::with_capacity(manifest.feeds.len());
    for f in manifest.feeds {
        let bytes = fs::read(inside(dir, &f.file)?)?;
        feeds.push(FeedFile { key: f.key, bytes, rows: f.rows, bad_rows: f.bad_rows, events: f.events });
    }
    Ok(SynthOutput { config: manifest.config, shops: manifest.shops, deliveries, feeds, expected: manifest.expected })
}
