//! What one day hands to the next (`rollups/_state/dt=D/state.json.gz`): stock and receipts per
//! (location, SKU) with their 28-day history, open purchase orders, transfers and shipments, each
//! sales key's 28 days, and every member's order history. Its size grows with distinct keys
//! (SKUs × locations, members, open references), never with the number of orders.

use std::hash::{BuildHasher, Hash};
use std::io::{Read, Write};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::partial::IntHash;
use super::time::Day;
use super::RollupError;

pub type Text = Arc<str>;

/// The state's maps: keyed by SKUs, locations, references and member ids, hashed a word at a
/// time (SipHash made every lookup of a day's ~200k keys several times dearer).
pub type HashMap<K, V> = std::collections::HashMap<K, V, IntHash>;

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
    /// The state as gzip JSON. The JSON is made in three pieces (stock; the open references and
    /// shipments; sales and members), each serialized and compressed on a thread of its own
    /// into a gzip member: concatenated members are one gzip stream whose text is exactly
    /// `serde_json::to_vec(self)` (a test checks it). A big day's state is ~55 MB of JSON, and
    /// one thread took ~1 s to write it, after every table was ready.
    pub fn to_gzip_json(&self) -> Result<Vec<u8>, RollupError> {
        type Piece<'s> = Box<dyn Fn(&mut Vec<u8>) -> serde_json::Result<()> + Send + Sync + 's>;
        let pieces: [Piece<'_>; 3] = [
            Box::new(|out| {
                out.extend_from_slice(b"{\"day\":");
                serde_json::to_writer(&mut *out, &self.day)?;
                json_field(out, "stock", &self.stock)
            }),
            Box::new(|out| {
                json_field(out, "inbound", &self.inbound)?;
                json_field(out, "transfers_out", &self.transfers_out)?;
                json_field(out, "transfers_in", &self.transfers_in)?;
                json_field(out, "shipments", &self.shipments)
            }),
            Box::new(|out| {
                json_field(out, "sales", &self.sales)?;
                json_field(out, "members", &self.members)?;
                out.push(b'}');
                Ok(())
            }),
        ];
        let gzip_piece = |piece: &Piece<'_>| -> Result<Vec<u8>, RollupError> {
            let mut json = Vec::new();
            piece(&mut json).map_err(|e| RollupError::State(e.to_string()))?;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&json).map_err(|e| RollupError::State(e.to_string()))?;
            gz.finish().map_err(|e| RollupError::State(e.to_string()))
        };
        let members: Vec<Result<Vec<u8>, RollupError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = pieces.iter().map(|piece| scope.spawn(move || gzip_piece(piece))).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(RollupError::Internal("state encoder panicked".into()))))
                .collect()
        });
        let mut bytes = Vec::new();
        for member in members {
            bytes.extend(member?);
        }
        Ok(bytes)
    }

    /// Reads what [`CarriedState::to_gzip_json`] wrote (one gzip member or several).
    pub fn from_gzip_json(bytes: &[u8]) -> Result<CarriedState, RollupError> {
        let mut json = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut json)
            .map_err(|e| RollupError::State(e.to_string()))?;
        serde_json::from_slice(&json).map_err(|e| RollupError::State(e.to_string()))
    }
}

/// `,"name":` and the map as sorted `[key, value]` pairs, as the derived `Serialize` writes
/// the field.
fn json_field<K: Serialize + Ord, V: Serialize>(
    out: &mut Vec<u8>,
    name: &str,
    map: &HashMap<K, V>,
) -> serde_json::Result<()> {
    out.push(b',');
    serde_json::to_writer(&mut *out, name)?;
    out.push(b':');
    as_pairs::serialize(map, &mut serde_json::Serializer::new(&mut *out))
}

/// Maps with composite keys as JSON arrays of `[key, value]` pairs.
mod as_pairs {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<K: Serialize + Ord, V: Serialize, H, S: Serializer>(
        map: &std::collections::HashMap<K, V, H>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        // Sorted, so the same state is the same bytes (keys of a map are distinct: no need for
        // a stable sort).
        let mut entries: Vec<(&K, &V)> = map.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        s.collect_seq(entries)
    }

    pub fn deserialize<'de, K, V, H, D>(d: D) -> Result<std::collections::HashMap<K, V, H>, D::Error>
    where
        K: Deserialize<'de> + Eq + Hash,
        H: BuildHasher + Default,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    fn t(s: &str) -> Text {
        Arc::from(s)
    }

    fn a_state() -> CarriedState {
        let mut state = CarriedState { day: Some(20_759), ..CarriedState::default() };
        for i in 0..50 {
            let sku = t(&format!("SKU-{i:03}"));
            let pair = PairState {
                closing_qty: i - 7,
                receipts_qty: i,
                receipts_cost: 1 << 70,
                recent: vec![(20_759, i, 3, 4)],
            };
            state.stock.insert((t("ST-01"), sku.clone()), pair);
            state.inbound.insert((t("PO-1"), t("WH"), sku.clone()), i);
            state.transfers_out.insert((t("TR-1"), t("WH"), sku.clone()), i);
            state.transfers_in.insert((t("TR-1"), sku.clone()), -i);
            let shipment = Shipment {
                location_id: t("WH"),
                delivered_day: (i % 2 == 0).then_some(20_761),
                lines: vec![(sku.clone(), 2)],
            };
            state.shipments.insert(t(&format!("{i:032x}")), shipment);
            state.sales.insert(
                (t("shopify"), t("s1"), (i % 3 == 0).then(|| t("ST-01")), sku, t("CNY")),
                vec![(20_759, 100, 1)],
            );
            let history = MemberHistory {
                first_day: 20_000,
                last_day: 20_759,
                orders: i,
                net_sales: 100 * i,
                gross_margin: 40 * i,
                platforms: vec![t("pos"), t("shopify")],
                scopes: [(t("all"), ScopeHistory { first_day: 20_000, recent: vec![(20_759, 1)] })]
                    .into_iter()
                    .collect(),
            };
            state.members.insert(t(&format!("m-{i}")), history);
        }
        state
    }

    #[test]
    fn the_gzip_members_hold_exactly_the_json_of_the_whole_state() {
        let state = a_state();
        let bytes = state.to_gzip_json().expect("encode");
        let mut json = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut json).expect("gzip");
        assert_eq!(String::from_utf8(json).expect("utf-8"), serde_json::to_string(&state).expect("json"));
        assert_eq!(CarriedState::from_gzip_json(&bytes).expect("decode"), state);
        assert_eq!(state.to_gzip_json().expect("again"), bytes, "the same state is the same bytes");
    }

    #[test]
    fn a_state_written_as_one_gzip_member_still_reads() {
        let state = a_state();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&serde_json::to_vec(&state).expect("json")).expect("write");
        let bytes = gz.finish().expect("gzip");
        assert_eq!(CarriedState::from_gzip_json(&bytes).expect("decode"), state);
        assert_eq!(
            CarriedState::from_gzip_json(&CarriedState::default().to_gzip_json().expect("empty")).expect("decode"),
            CarriedState::default()
        );
    }
}
