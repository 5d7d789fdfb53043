//! What one day hands to the next (`rollups/_state/dt=D/state.json.gz`): stock and receipts per
//! (location, SKU) with their 28-day history, open purchase orders, transfers and shipments, each
//! sales key's 28 days, and every member's order history. Its size grows with distinct keys
//! (SKUs × locations, members, open references), never with the number of orders.

use std::collections::HashMap;
use std::hash::Hash;
use std::io::Read;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::time::Day;
use super::RollupError;

pub type Text = Arc<str>;

/// `(platform, shop_id, store_id, sku, currency)`.
pub type SalesKey = (Text, Text, Option<Text>, Text, Text);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairState {
    pub closing_qty: i64,
    /// Σ quantity and Σ quantity × unit cost (cents) of every receipt so far.
    pub receipts_qty: i64,
    pub receipts_cost: i128,
    /// `(day, sold, cogs of sold − returned, closing value)` of the last 28 days, oldest first.
    pub recent: Vec<(Day, i64, i64, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub location_id: Text,
    pub delivered_day: Option<Day>,
    pub lines: Vec<(Text, i64)>,
}

/// A member's orders in one scope (a platform, or `all`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeHistory {
    pub first_day: Day,
    /// Orders per day of the last 365 days, oldest first.
    pub recent: Vec<(Day, u32)>,
}

impl ScopeHistory {
    pub fn absorb(&mut self, other: ScopeHistory) {
        self.first_day = self.first_day.min(other.first_day);
        self.recent.extend(other.recent);
        self.recent.sort_unstable();
        self.recent.dedup_by(|later, earlier| {
            if later.0 == earlier.0 {
                earlier.1 += later.1;
                true
            } else {
                false
            }
        });
    }

    pub fn add_orders(&mut self, day: Day, orders: u32) {
        match self.recent.last_mut() {
            Some(last) if last.0 == day => last.1 += orders,
            _ => self.recent.push((day, orders)),
        }
    }

    pub fn orders_since(&self, from: Day) -> u32 {
        self.recent.iter().filter(|(d, _)| *d >= from).map(|(_, n)| n).sum()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberHistory {
    pub first_day: Day,
    pub last_day: Day,
    pub orders: i64,
    pub net_sales: i64,
    pub gross_margin: i64,
    pub platforms: Vec<Text>,
    #[serde(with = "as_pairs")]
    pub scopes: HashMap<Text, ScopeHistory>,
}

impl MemberHistory {
    /// Folds the history of a member merged into this one.
    pub fn absorb(&mut self, other: MemberHistory) {
        self.first_day = self.first_day.min(other.first_day);
        self.last_day = self.last_day.max(other.last_day);
        self.orders += other.orders;
        self.net_sales += other.net_sales;
        self.gross_margin += other.gross_margin;
        self.platforms.extend(other.platforms);
        self.platforms.sort();
        self.platforms.dedup();
        for (scope, hist) in other.scopes {
            match self.scopes.get_mut(&scope) {
                Some(mine) => mine.absorb(hist),
                None => {
                    self.scopes.insert(scope, hist);
                }
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedState {
    /// The business day this state closes (`None`: the empty history before the first day).
    pub day: Option<Day>,
    #[serde(with = "as_pairs")]
    pub stock: HashMap<(Text, Text), PairState>,
    /// `(reference, location, sku)` → Σ po_shipped − Σ receipts.
    #[serde(with = "as_pairs")]
    pub inbound: HashMap<(Text, Text, Text), i64>,
    /// `(reference, location, sku)` → Σ transfer_out.
    #[serde(with = "as_pairs")]
    pub transfers_out: HashMap<(Text, Text, Text), i64>,
    /// `(reference, sku)` → Σ transfer_in (any location).
    #[serde(with = "as_pairs")]
    pub transfers_in: HashMap<(Text, Text), i64>,
    /// Shipped, not yet delivered orders, by order key (hex).
    #[serde(with = "as_pairs")]
    pub shipments: HashMap<Text, Shipment>,
    /// `(day, Σ (gross − discount), Σ units)` of the last 28 days of each sales key.
    #[serde(with = "as_pairs")]
    pub sales: HashMap<SalesKey, Vec<(Day, i64, i64)>>,
    #[serde(with = "as_pairs")]
    pub members: HashMap<Text, MemberHistory>,
}

impl CarriedState {
    pub fn to_gzip_json(&self) -> Result<Vec<u8>, RollupError> {
        // Streamed into the compressor: the JSON of a big day's state is tens of MB.
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut json = std::io::BufWriter::with_capacity(1 << 16, gz);
        serde_json::to_writer(&mut json, self).map_err(|e| RollupError::State(e.to_string()))?;
        let gz = json.into_inner().map_err(|e| RollupError::State(e.to_string()))?;
        gz.finish().map_err(|e| RollupError::State(e.to_string()))
    }

    pub fn from_gzip_json(bytes: &[u8]) -> Result<CarriedState, RollupError> {
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(bytes).read_to_end(&mut json).map_err(|e| RollupError::State(e.to_string()))?;
        serde_json::from_slice(&json).map_err(|e| RollupError::State(e.to_string()))
    }
}

/// Maps with composite keys as JSON arrays of `[key, value]` pairs.
mod as_pairs {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<K: Serialize + Ord, V: Serialize, S: Serializer>(
        map: &HashMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        // Sorted, so the same state is the same bytes.
        let mut entries: Vec<(&K, &V)> = map.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        s.collect_seq(entries)
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<HashMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Eq + Hash,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}
