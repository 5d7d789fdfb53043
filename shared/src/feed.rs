//! Feed files under `incoming/{feed}/…`: POS orders, ERP inventory movements, the product
//! catalog, as CSV (header row) or JSON Lines, UTF-8 or GBK.
//!
//! `plan_feed_file` splits a file into raw events (one per inventory movement or product, one
//! per POS order grouping its lines) and quarantine entries (one per bad row, with its line
//! number). The same row parsers turn those raw events into canonical records in
//! `normalize-orders`, so a row that passes here cannot fail there.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical::time::business_date;
use crate::canonical::{
    CanonicalOrder, CanonicalRecord, Customer, InventoryMovement, MovementType, OrderLine, OrderStatus, Product,
};
use crate::money::Money;
use crate::platforms::signature::sha256_hex;
use crate::platforms::{parse_time, ParseError};
use crate::quarantine::{quarantine_key, QuarantineEntry};
use crate::raw::{meta, RawKey, RawMetadata};
use crate::shop::ShopSettings;

/// The kinds of feed, named by the folder under `incoming/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedKind {
    Orders,
    Inventory,
    Products,
}

impl FeedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Orders => "orders",
            FeedKind::Inventory => "inventory",
            FeedKind::Products => "products",
        }
    }
}

/// The raw `platform=` segment feed events land under.
pub const FEED_PLATFORM: &str = "feed";
/// Shop used when a feed file does not sit in a shop folder.
pub const DEFAULT_FEED_SHOP: &str = "erp";

/// Where an uploaded file says it belongs: `incoming/{feed}/[{shop_id}/]{file}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSource {
    pub kind: FeedKind,
    pub shop_id: String,
    pub key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("`{0}` is not under incoming/orders/, incoming/inventory/ or incoming/products/")]
    UnknownFeed(String),
    #[error("file is neither UTF-8 nor GBK text")]
    Encoding,
    #[error("file has no header row")]
    NoHeader,
    #[error("CSV header is unreadable: {0}")]
    Header(String),
}

impl FeedSource {
    pub fn from_key(key: &str) -> Result<FeedSource, FeedError> {
        let unknown = || FeedError::UnknownFeed(key.to_string());
        let rest = key.strip_prefix("incoming/").ok_or_else(unknown)?;
        let (feed, path) = rest.split_once('/').ok_or_else(unknown)?;
        let kind = match feed {
            "orders" => FeedKind::Orders,
            "inventory" => FeedKind::Inventory,
            "products" => FeedKind::Products,
            _ => return Err(unknown()),
        };
        let shop_id = match path.split_once('/') {
            Some((shop, _)) if crate::shop::is_valid_shop_id(shop) => shop.to_string(),
            _ => DEFAULT_FEED_SHOP.to_string(),
        };
        Ok(FeedSource { kind, shop_id, key: key.to_string() })
    }
}

/// One row: its 1-based line in the file (header = line 1 for CSV) and its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedRow {
    pub line: u64,
    pub fields: BTreeMap<String, Value>,
}

/// The body of a feed raw event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedEvent {
    pub feed: FeedKind,
    pub shop_id: String,
    pub source_key: String,
    pub rows: Vec<FeedRow>,
}

/// A raw event to write (if absent).
#[derive(Debug, Clone)]
pub struct PlannedObject {
    pub key: String,
    pub body: Vec<u8>,
    pub metadata: BTreeMap<String, String>,
}

/// What to write for one feed file.
#[derive(Debug, Clone, Default)]
pub struct FeedPlan {
    pub events: Vec<PlannedObject>,
    pub quarantined: Vec<PlannedObject>,
    pub rows: usize,
    pub bad_rows: usize,
}

/// Decodes a feed file: UTF-8 (BOM stripped), else GBK.
pub fn decode_text(bytes: &[u8]) -> Result<String, FeedError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_string());
    }
    let (text, had_errors) = encoding_rs::GBK.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(FeedError::Encoding);
    }
    Ok(text.into_owned())
}

/// A row that could not be read at all, with its text.
struct BadRow {
    line: u64,
    text: String,
    reason: String,
}

fn is_jsonl(key: &str, text: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") || lower.ends_with(".json") {
        return true;
    }
    if lower.ends_with(".csv") {
        return false;
    }
    text.trim_start().starts_with('{')
}

fn read_rows(key: &str, text: &str) -> Result<(Vec<FeedRow>, Vec<BadRow>), FeedError> {
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    if is_jsonl(key, text) {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let line_no = i as u64 + 1;
            match serde_json::from_str::<BTreeMap<String, Value>>(line) {
                Ok(fields) => rows.push(FeedRow { line: line_no, fields }),
                Err(e) => bad.push(BadRow {
                    line: line_no,
                    text: line.to_string(),
                    reason: format!("not a JSON object: {e}"),
                }),
            }
        }
        return Ok((rows, bad));
    }
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| FeedError::Header(e.to_string()))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if headers.iter().all(String::is_empty) {
        return Err(FeedError::NoHeader);
    }
    for record in reader.records() {
        match record {
            Ok(record) => {
                let line = record.position().map(|p| p.line()).unwrap_or(0);
                if record.iter().all(|f| f.is_empty()) {
                    continue;
                }
                if record.len() != headers.len() {
                    bad.push(BadRow {
                        line,
                        text: record.iter().collect::<Vec<_>>().join(","),
                        reason: format!("has {} fields, the header has {}", record.len(), headers.len()),
                    });
                    continue;
                }
                let fields = headers
                    .iter()
                    .zip(record.iter())
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(h, v)| (h.clone(), Value::String(v.to_string())))
                    .collect();
                rows.push(FeedRow { line, fields });
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                bad.push(BadRow { line, text: String::new(), reason: format!("unreadable CSV: {e}") });
            }
        }
    }
    Ok((rows, bad))
}

/// Splits a feed file into raw events and quarantined rows. `now` dates the landing.
pub fn plan_feed_file(
    source: &FeedSource,
    bytes: &[u8],
    ctx: &ShopSettings,
    now: DateTime<Utc>,
) -> Result<FeedPlan, FeedError> {
    let text = decode_text(bytes)?;
    let (rows, bad_rows) = read_rows(&source.key, &text)?;
    let mut plan = FeedPlan { rows: rows.len() + bad_rows.len(), ..FeedPlan::default() };
    let today = business_date(now, ctx.time_zone);
    let mut quarantine = |line: u64, row_text: String, reason: String| {
        plan.bad_rows += 1;
        plan.quarantined.push(quarantine_object(source, Some((line, row_text)), reason, now, ctx.time_zone));
    };
    for b in bad_rows {
        quarantine(b.line, b.text, b.reason);
    }

    // Group rows into events: POS orders by order_id, everything else one row per event.
    let mut groups: Vec<Vec<FeedRow>> = Vec::new();
    if source.kind == FeedKind::Orders {
        let mut index: HashMap<String, usize> = HashMap::new();
        for row in rows {
            let id = field(&row.fields, "order_id").unwrap_or_default();
            if id.is_empty() {
                quarantine(row.line, row_text(&row), "order_id is missing".into());
                continue;
            }
            let slot = *index.entry(id).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[slot].push(row);
        }
    } else {
        groups = rows.into_iter().map(|r| vec![r]).collect();
    }

    // Identical content gets the same key whatever file or line it came from, so re-uploading
    // a file (under any name) lands nothing new; the n-th repeat of a row within one file is
    // told apart by its occurrence number.
    let mut seen: HashMap<String, u32> = HashMap::new();
    for rows in groups {
        let event =
            FeedEvent { feed: source.kind, shop_id: source.shop_id.clone(), source_key: source.key.clone(), rows };
        if let Err(e) = records_from_event(&event, ctx) {
            let lines: Vec<String> = event.rows.iter().map(|r| r.line.to_string()).collect();
            for row in &event.rows {
                let reason = if event.rows.len() > 1 {
                    format!("{e} (order spans lines {}; the whole order is held back)", lines.join(", "))
                } else {
                    e.to_string()
                };
                quarantine(row.line, row_text(row), reason);
            }
            continue;
        }
        let content: Vec<&BTreeMap<String, Value>> = event.rows.iter().map(|r| &r.fields).collect();
        let content_hash =
            sha256_hex(&serde_json::to_vec(&(&event.feed, &event.shop_id, &content)).unwrap_or_default());
        let n = seen.entry(content_hash.clone()).or_insert(0);
        *n += 1;
        let event_key = format!("{}-{}-{}", source.kind.as_str(), &content_hash[..32], n);
        let key =
            RawKey { platform: FEED_PLATFORM.into(), shop_id: source.shop_id.clone(), date: today, event_key }.to_key();
        let mut metadata = RawMetadata {
            format: FEED_PLATFORM.into(),
            shop_id: source.shop_id.clone(),
            topic: source.kind.as_str().into(),
            received_at: now,
            extra: BTreeMap::new(),
        }
        .to_map();
        metadata.insert(meta::SOURCE_KEY.into(), source.key.clone());
        metadata.insert(
            meta::SOURCE_LINES.into(),
            event.rows.iter().map(|r| r.line.to_string()).collect::<Vec<_>>().join(","),
        );
        let body = serde_json::to_vec(&event).unwrap_or_default();
        plan.events.push(PlannedObject { key, body, metadata });
    }
    Ok(plan)
}

/// The quarantine entry for a bad row (`line`, its text) or, without one, for a whole file
/// that cannot be read (wrong encoding, no header).
pub fn quarantine_object(
    source: &FeedSource,
    row: Option<(u64, String)>,
    reason: String,
    now: DateTime<Utc>,
    time_zone: Tz,
) -> PlannedObject {
    let file_id = &sha256_hex(source.key.as_bytes())[..16];
    let item = match &row {
        Some((line, _)) => format!("{file_id}-line-{line}"),
        None => format!("{file_id}-file"),
    };
    let (line, row) = row.map_or((None, None), |(l, t)| (Some(l), Some(t)));
    let entry = QuarantineEntry {
        stage: "feed".into(),
        reason,
        source_key: source.key.clone(),
        line,
        row,
        quarantined_at: now,
    };
    PlannedObject {
        key: quarantine_key("feed", business_date(now, time_zone), &item),
        body: serde_json::to_vec_pretty(&entry).unwrap_or_default(),
        metadata: BTreeMap::from([(meta::SOURCE_KEY.to_string(), source.key.clone())]),
    }
}

fn row_text(row: &FeedRow) -> String {
    serde_json::to_string(&row.fields).unwrap_or_default()
}

/// A field as text (numbers and booleans written as JSON writes them), `None` when absent or empty.
fn field(fields: &BTreeMap<String, Value>, name: &str) -> Option<String> {
    match fields.get(name)? {
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.trim().to_string()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn required(row: &FeedRow, name: &str) -> Result<String, ParseError> {
    field(&row.fields, name).ok_or_else(|| ParseError::invalid(format!("line {}: `{name}` is missing", row.line)))
}

fn money_field(row: &FeedRow, name: &str) -> Result<Option<Money>, ParseError> {
    field(&row.fields, name)
        .map(|v| v.parse::<Money>().map_err(|e| ParseError::invalid(format!("line {}: `{name}`: {e}", row.line))))
        .transpose()
}

fn int_field(row: &FeedRow, name: &str) -> Result<Option<i64>, ParseError> {
    field(&row.fields, name)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ParseError::invalid(format!("line {}: `{name}` = `{v}` is not an integer", row.line)))
        })
        .transpose()
}

fn time_field(row: &FeedRow, name: &str, tz: Tz) -> Result<Option<DateTime<Utc>>, ParseError> {
    field(&row.fields, name)
        .map(|v| parse_time(&v, tz).map_err(|e| ParseError::invalid(format!("line {}: `{name}`: {e}", row.line))))
        .transpose()
}

fn bool_field(row: &FeedRow, name: &str) -> Result<bool, ParseError> {
    match field(&row.fields, name).map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("false" | "0" | "no" | "n" | "否") => Ok(false),
        Some("true" | "1" | "yes" | "y" | "是") => Ok(true),
        Some(other) => Err(ParseError::invalid(format!("line {}: `{name}` = `{other}` is not a yes/no", row.line))),
    }
}

/// Turns a feed raw event into canonical records.
pub fn records_from_event(event: &FeedEvent, ctx: &ShopSettings) -> Result<Vec<CanonicalRecord>, ParseError> {
    match event.feed {
        FeedKind::Inventory => {
            event.rows.iter().map(|r| movement_from(r, ctx).map(CanonicalRecord::Inventory)).collect()
        }
        FeedKind::Products => event.rows.iter().map(|r| product_from(r, ctx).map(CanonicalRecord::Product)).collect(),
        FeedKind::Orders => Ok(vec![CanonicalRecord::Order(Box::new(order_from(event, ctx)?))]),
    }
}

fn movement_from(row: &FeedRow, ctx: &ShopSettings) -> Result<InventoryMovement, ParseError> {
    let type_text = required(row, "type")?;
    let movement_type: MovementType = serde_json::from_value(Value::String(type_text.to_ascii_lowercase()))
        .map_err(|_| ParseError::invalid(format!("line {}: unknown movement type `{type_text}`", row.line)))?;
    let m = InventoryMovement {
        movement_id: required(row, "movement_id")?,
        movement_type,
        location_id: required(row, "location_id")?,
        sku: required(row, "sku")?,
        quantity: int_field(row, "quantity")?
            .ok_or_else(|| ParseError::invalid(format!("line {}: `quantity` is missing", row.line)))?,
        unit_cost: money_field(row, "unit_cost")?,
        at: time_field(row, "at", ctx.time_zone)?
            .ok_or_else(|| ParseError::invalid(format!("line {}: `at` is missing", row.line)))?,
        reference: field(&row.fields, "reference"),
        expected_at: time_field(row, "expected_at", ctx.time_zone)?,
        source_raw_key: String::new(),
    };
    m.validate().map_err(|e| ParseError::invalid(format!("line {}: {e}", row.line)))?;
    Ok(m)
}

fn product_from(row: &FeedRow, ctx: &ShopSettings) -> Result<Product, ParseError> {
    Ok(Product {
        sku: required(row, "sku")?,
        name: required(row, "name")?,
        category: field(&row.fields, "category"),
        standard_cost: money_field(row, "standard_cost")?,
        requires_installation: bool_field(row, "requires_installation")?,
        is_consumable: bool_field(row, "is_consumable")?,
        updated_at: time_field(row, "updated_at", ctx.time_zone)?,
        source_raw_key: String::new(),
    })
}

/// One POS order from its rows (one row per line; order fields repeat on every row and the
/// first row's values are taken).
fn order_from(event: &FeedEvent, ctx: &ShopSettings) -> Result<CanonicalOrder, ParseError> {
    let first = event.rows.first().ok_or_else(|| ParseError::invalid("order has no rows"))?;
    let status_text = field(&first.fields, "status").unwrap_or_else(|| "paid".into()).to_ascii_lowercase();
    let status: OrderStatus = serde_json::from_value(Value::String(status_text.clone()))
        .map_err(|_| ParseError::invalid(format!("line {}: unknown status `{status_text}`", first.line)))?;
    let placed_at = time_field(first, "placed_at", ctx.time_zone)?
        .ok_or_else(|| ParseError::invalid(format!("line {}: `placed_at` is missing", first.line)))?;
    let mut lines = Vec::with_capacity(event.rows.len());
    let mut version = placed_at.timestamp_millis();
    for row in &event.rows {
        let quantity = int_field(row, "quantity")?
            .ok_or_else(|| ParseError::invalid(format!("line {}: `quantity` is missing", row.line)))?;
        if quantity <= 0 {
            return Err(ParseError::invalid(format!("line {}: quantity must be positive", row.line)));
        }
        let unit_price = money_field(row, "unit_price")?
            .ok_or_else(|| ParseError::invalid(format!("line {}: `unit_price` is missing", row.line)))?;
        if let Some(updated) = time_field(row, "updated_at", ctx.time_zone)? {
            version = version.max(updated.timestamp_millis());
        }
        lines.push(OrderLine {
            sku: required(row, "sku")?,
            quantity,
            unit_price,
            discount: money_field(row, "discount")?.unwrap_or_default(),
            refunded_quantity: int_field(row, "refunded_quantity")?.unwrap_or(0),
            refunded_amount: money_field(row, "refunded_amount")?.unwrap_or_default(),
        });
    }
    let paid = !matches!(status, OrderStatus::Pending | OrderStatus::Cancelled);
    let order = CanonicalOrder {
        platform: field(&first.fields, "platform").unwrap_or_else(|| "pos".into()).to_ascii_lowercase(),
        shop_id: event.shop_id.clone(),
        order_id: required(first, "order_id")?,
        version,
        status,
        placed_at,
        paid_at: if paid { time_field(first, "paid_at", ctx.time_zone)?.or(Some(placed_at)) } else { None },
        shipped_at: None,
        delivered_at: None,
        currency: field(&first.fields, "currency").unwrap_or_else(|| ctx.currency.clone()).to_ascii_uppercase(),
        customer: Customer {
            platform_customer_id: field(&first.fields, "customer_id"),
            phone: field(&first.fields, "phone"),
            email: field(&first.fields, "email"),
        },
        lines,
        shipping: Money::ZERO,
        tax: money_field(first, "tax")?.unwrap_or_default(),
        taxes_included: true,
        refunds: Vec::new(),
        store_id: field(&first.fields, "store_id"),
        salesperson: field(&first.fields, "salesperson"),
        city: field(&first.fields, "city"),
        source_raw_key: String::new(),
    };
    order.validate().map_err(|e| ParseError::invalid(format!("line {}: {e}", first.line)))?;
    Ok(order)
}
