//! The mergeable partial aggregate of a set of input objects (the "map" side of the rollup).
//!
//! A partial holds, per distinct key, only what the day's tables need: the latest version of
//! each order (compact facts, replaced when a newer version arrives), the greatest-version member
//! line of each order, each movement once, each product's latest record and the member merges.
//! Merging keeps, for every key, the winner by the same rule a single pass would use, so merging
//! is associative and commutative: any split of the inputs gives the same partial.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::canonical::MovementType;

/// Interned string id; [`NO_SYM`] stands for "absent".
pub type Sym = u32;
pub const NO_SYM: Sym = u32::MAX;

/// An FxHash-style hasher (rotate, xor, multiply per word) for maps keyed by integers and
/// short strings of our own making, where SipHash's DoS resistance buys nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct IntHash;

#[derive(Default)]
pub struct IntHasher(u64);

impl IntHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for IntHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }
    #[inline]
    fn write_i32(&mut self, n: i32) {
        self.add(n as u32 as u64);
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

impl std::hash::BuildHasher for IntHash {
    type Hasher = IntHasher;
    fn build_hasher(&self) -> IntHasher {
        IntHasher::default()
    }
}

/// The strings of one partial (SKUs, shops, members, statuses …), each stored once.
#[derive(Debug, Default, Clone)]
pub struct Symbols {
    // Interning is on the parse path of every field: a fast non-cryptographic hash, a word at a
    // time (the strings are short; a pathological input only slows the run down).
    ids: HashMap<Arc<str>, Sym, IntHash>,
    names: Vec<Arc<str>>,
}

impl Symbols {
    pub fn intern(&mut self, text: &str) -> Sym {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.names.len() as Sym;
        let name: Arc<str> = Arc::from(text);
        self.names.push(name.clone());
        self.ids.insert(name, id);
        id
    }

    pub fn intern_opt(&mut self, text: Option<&str>) -> Sym {
        text.map_or(NO_SYM, |t| self.intern(t))
    }

    pub fn lookup(&self, text: &str) -> Option<Sym> {
        self.ids.get(text).copied()
    }

    pub fn name(&self, id: Sym) -> &Arc<str> {
        &self.names[id as usize]
    }

    pub fn name_opt(&self, id: Sym) -> Option<&Arc<str>> {
        (id != NO_SYM).then(|| &self.names[id as usize])
    }

    fn remap_from(&mut self, other: &Symbols) -> Vec<Sym> {
        other.names.iter().map(|n| self.intern(n)).collect()
    }
}

fn remap(map: &[Sym], id: Sym) -> Sym {
    if id == NO_SYM {
        NO_SYM
    } else {
        map[id as usize]
    }
}

/// Keys are 128-bit hashes already; hashing them again would only cost time.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(word);
        }
    }
    fn write_u128(&mut self, n: u128) {
        self.0 = (n as u64) ^ ((n >> 64) as u64);
    }
}

pub type KeyMap<V> = HashMap<u128, V, BuildHasherDefault<KeyHasher>>;

/// The identity of an order across versions: a 128-bit hash of `(platform, shop_id, order_id)`.
pub fn order_key(platform: &str, shop_id: &str, order_id: &str) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for part in [platform, shop_id, order_id] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.digest128()
}

/// One line of an order version. Money in cents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineFacts {
    pub sku: Sym,
    pub quantity: i64,
    pub unit_price: i64,
    pub discount: i64,
    pub refunded_quantity: i64,
    pub refunded_amount: i64,
}

/// One refund line, with the time of its refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLineFacts {
    pub refund_id: Sym,
    pub at: i64,
    pub sku: Sym,
    pub quantity: i64,
    pub amount: i64,
}

/// What the rollup needs of one order version. Times are µs since the epoch; absent times are
/// `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFacts {
    pub platform: Sym,
    pub shop_id: Sym,
    pub order_id: Box<str>,
    pub version: i64,
    pub status: Sym,
    pub cancelled: bool,
    pub placed_at: i64,
    pub shipped_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub currency: Sym,
    pub store_id: Sym,
    pub salesperson: Sym,
    pub city: Sym,
    pub source_raw_key: Box<str>,
    pub lines: Box<[LineFacts]>,
    pub refunds: Box<[RefundLineFacts]>,
}

impl OrderFacts {
    /// Whether `self` wins over `other` as "the latest version": greater version, then (equal
    /// versions are the same content) the smaller `source_raw_key`, only for determinism.
    pub fn supersedes(&self, other: &OrderFacts) -> bool {
        (self.version, std::cmp::Reverse(&self.source_raw_key))
            > (other.version, std::cmp::Reverse(&other.source_raw_key))
    }

    fn remapped(mut self, map: &[Sym]) -> OrderFacts {
        for s in [
            &mut self.platform,
            &mut self.shop_id,
            &mut self.status,
            &mut self.currency,
            &mut self.store_id,
            &mut self.salesperson,
            &mut self.city,
        ] {
            *s = remap(map, *s);
        }
        for line in self.lines.iter_mut() {
            line.sku = remap(map, line.sku);
        }
        for r in self.refunds.iter_mut() {
            r.sku = remap(map, r.sku);
            r.refund_id = remap(map, r.refund_id);
        }
        self
    }
}

/// One inventory movement. `unit_cost` in cents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovementFacts {
    pub kind: MovementType,
    pub location_id: Sym,
    pub sku: Sym,
    pub quantity: i64,
    pub unit_cost: Option<i64>,
    pub at: i64,
    pub reference: Sym,
    /// The object the movement was read from: a resent movement keeps its first copy.
    pub source: Sym,
}

/// The latest catalogue record of a SKU. `standard_cost` in cents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductFacts {
    pub updated_at: Option<i64>,
    pub source: Sym,
    pub standard_cost: Option<i64>,
    pub requires_installation: bool,
}

/// The member an order's version went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberLink {
    pub version: i64,
    pub member_id: Sym,
}

/// Shards of an [`OrderTable`], by the top bits of the order key: the parser threads fill one
/// table together, each locking only the shard of the order at hand.
pub const ORDER_SHARDS: usize = 64;

/// One shard: facts in a vector (in arrival order) and a small index from order key to
/// position. Hash tables that hold the ~150-byte facts themselves move them all at every
/// resize; this one moves 20-byte index entries, and the facts are walked in memory order.
#[derive(Debug, Default, Clone)]
pub struct OrderShard {
    index: HashMap<u128, u32, BuildHasherDefault<KeyHasher>>,
    facts: Vec<(u128, OrderFacts)>,
}

impl OrderShard {
    fn get(&self, key: &u128) -> Option<&OrderFacts> {
        self.index.get(key).map(|&i| &self.facts[i as usize].1)
    }

    /// Whether an order version would be kept: lets the parser skip building stale versions.
    pub fn wants(&self, key: u128, version: i64, source_raw_key: &str) -> bool {
        self.get(&key).is_none_or(|current| {
            (version, std::cmp::Reverse(source_raw_key))
                > (current.version, std::cmp::Reverse(&*current.source_raw_key))
        })
    }

    /// Keeps `facts` if it supersedes the order's current version (or is its first).
    pub fn offer(&mut self, key: u128, facts: OrderFacts) {
        match self.index.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => {
                let current = &mut self.facts[*e.get() as usize].1;
                if facts.supersedes(current) {
                    *current = facts;
                }
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(self.facts.len() as u32);
                self.facts.push((key, facts));
            }
        }
    }
}

/// The latest version of each order, sharded by key ([`ORDER_SHARDS`]).
#[derive(Debug, Clone)]
pub struct OrderTable {
    shards: Vec<OrderShard>,
}

impl Default for OrderTable {
    fn default() -> Self {
        OrderTable { shards: (0..ORDER_SHARDS).map(|_| OrderShard::default()).collect() }
    }
}

/// The shard an order key belongs to.
pub fn shard_of(key: u128) -> usize {
    (key >> (128 - ORDER_SHARDS.trailing_zeros())) as usize
}

impl OrderTable {
    /// A table from shards filled apart (`shards[i]` holds only keys of shard `i`).
    pub fn from_shards(shards: Vec<OrderShard>) -> Result<Self, String> {
        if shards.len() != ORDER_SHARDS {
            return Err(format!("{} order shards, expected {ORDER_SHARDS}", shards.len()));
        }
        Ok(OrderTable { shards })
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.facts.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, key: &u128) -> Option<&OrderFacts> {
        self.shards[shard_of(*key)].get(key)
    }

    /// `(key, facts)`, shard by shard, in arrival order within a shard.
    pub fn iter(&self) -> impl Iterator<Item = (&u128, &OrderFacts)> {
        self.shards.iter().flat_map(|s| s.facts.iter().map(|(k, f)| (k, f)))
    }

    pub fn values(&self) -> impl Iterator<Item = &OrderFacts> {
        self.iter().map(|(_, f)| f)
    }

    pub fn wants(&self, key: u128, version: i64, source_raw_key: &str) -> bool {
        self.shards[shard_of(key)].wants(key, version, source_raw_key)
    }

    pub fn offer(&mut self, key: u128, facts: OrderFacts) {
        self.shards[shard_of(key)].offer(key, facts);
    }
}

type ShardFacts = fn(OrderShard) -> Vec<(u128, OrderFacts)>;

impl IntoIterator for OrderTable {
    type Item = (u128, OrderFacts);
    type IntoIter = std::iter::FlatMap<std::vec::IntoIter<OrderShard>, Vec<(u128, OrderFacts)>, ShardFacts>;
    fn into_iter(self) -> Self::IntoIter {
        let facts: ShardFacts = |s| s.facts;
        self.shards.into_iter().flat_map(facts)
    }
}

impl FromIterator<(u128, OrderFacts)> for OrderTable {
    fn from_iter<I: IntoIterator<Item = (u128, OrderFacts)>>(items: I) -> Self {
        let mut table = OrderTable::default();
        for (key, facts) in items {
            table.offer(key, facts);
        }
        table
    }
}

#[derive(Debug, Default, Clone)]
pub struct Partial {
    pub symbols: Symbols,
    pub orders: OrderTable,
    pub members: KeyMap<MemberLink>,
    /// By movement id.
    pub movements: HashMap<Box<str>, MovementFacts>,
    /// By SKU.
    pub products: HashMap<Sym, ProductFacts>,
    /// `(absorbed, survivor)` pairs.
    pub merges: HashSet<(Sym, Sym)>,
}

impl Partial {
    pub fn offer_order(&mut self, key: u128, facts: OrderFacts) {
        self.orders.offer(key, facts);
    }

    /// Whether an order version would be kept: lets the parser skip building stale versions.
    pub fn wants_order(&self, key: u128, version: i64, source_raw_key: &str) -> bool {
        self.orders.wants(key, version, source_raw_key)
    }

    pub fn offer_member(&mut self, key: u128, link: MemberLink) {
        let symbols = &self.symbols;
        match self.members.get_mut(&key) {
            Some(current) => {
                let wins = link.version > current.version
                    || (link.version == current.version
                        && symbols.name(link.member_id) < symbols.name(current.member_id));
                if wins {
                    *current = link;
                }
            }
            None => {
                self.members.insert(key, link);
            }
        }
    }

    pub fn offer_movement(&mut self, id: &str, facts: MovementFacts) {
        let symbols = &self.symbols;
        match self.movements.get_mut(id) {
            Some(current) => {
                if symbols.name(facts.source) < symbols.name(current.source) {
                    *current = facts;
                }
            }
            None => {
                self.movements.insert(id.into(), facts);
            }
        }
    }

    pub fn offer_product(&mut self, sku: Sym, facts: ProductFacts) {
        let symbols = &self.symbols;
        let rank = |p: &ProductFacts| (p.updated_at.is_some(), p.updated_at, symbols.name(p.source).clone());
        match self.products.get_mut(&sku) {
            Some(current) => {
                if rank(&facts) > rank(current) {
                    *current = facts;
                }
            }
            None => {
                self.products.insert(sku, facts);
            }
        }
    }

    /// Folds `other` into `self`; the result is the partial of both inputs together.
    pub fn merge(&mut self, other: Partial) {
        let map = self.symbols.remap_from(&other.symbols);
        for (key, facts) in other.orders {
            self.offer_order(key, facts.remapped(&map));
        }
        for (key, link) in other.members {
            let link = MemberLink { version: link.version, member_id: remap(&map, link.member_id) };
            self.offer_member(key, link);
        }
        for (id, mut m) in other.movements {
            m.location_id = remap(&map, m.location_id);
            m.sku = remap(&map, m.sku);
            m.reference = remap(&map, m.reference);
            m.source = remap(&map, m.source);
            self.offer_movement(&id, m);
        }
        for (sku, mut p) in other.products {
            p.source = remap(&map, p.source);
            self.offer_product(remap(&map, sku), p);
        }
        for (absorbed, survivor) in other.merges {
            self.merges.insert((remap(&map, absorbed), remap(&map, survivor)));
        }
    }

    /// A symbol-independent view, for comparing partials built from different splits.
    #[cfg(test)]
    pub fn canonical_view(&self) -> String {
        let s = &self.symbols;
        let name = |id: Sym| s.name_opt(id).map_or("∅".to_string(), |n| n.to_string());
        let mut out: Vec<String> = Vec::new();
        for (k, o) in self.orders.iter() {
            let lines: Vec<String> = o
                .lines
                .iter()
                .map(|l| {
                    format!(
                        "{}:{}:{}:{}:{}:{}",
                        name(l.sku),
                        l.quantity,
                        l.unit_price,
                        l.discount,
                        l.refunded_quantity,
                        l.refunded_amount
                    )
                })
                .collect();
            let refunds: Vec<String> = o
                .refunds
                .iter()
                .map(|r| format!("{}:{}:{}:{}:{}", name(r.refund_id), r.at, name(r.sku), r.quantity, r.amount))
                .collect();
            out.push(format!(
                "O {k:x} {} {} {} v{} {} {} {:?} {:?} {} {} {} {} {} {lines:?} {refunds:?}",
                name(o.platform),
                name(o.shop_id),
                o.order_id,
                o.version,
                name(o.status),
                o.placed_at,
                o.shipped_at,
                o.delivered_at,
                name(o.currency),
                name(o.store_id),
                name(o.salesperson),
                name(o.city),
                o.source_raw_key
            ));
        }
        for (k, m) in &self.members {
            out.push(format!("M {k:x} v{} {}", m.version, name(m.member_id)));
        }
        for (id, m) in &self.movements {
            out.push(format!(
                "V {id} {:?} {} {} {} {:?} {} {} {}",
                m.kind,
                name(m.location_id),
                name(m.sku),
                m.quantity,
                m.unit_cost,
                m.at,
                name(m.reference),
                name(m.source)
            ));
        }
        for (sku, p) in &self.products {
            out.push(format!(
                "P {} {:?} {} {:?} {}",
                name(*sku),
                p.updated_at,
                name(p.source),
                p.standard_cost,
                p.requires_installation
            ));
        }
        for (a, b) in &self.merges {
            out.push(format!("G {} {}", name(*a), name(*b)));
        }
        out.sort();
        out.join("\n")
    }
}

/// A partial as stored between the Distributed Map's workers and the reduce.
#[derive(Serialize, Deserialize)]
struct PartialWire {
    symbols: Vec<Arc<str>>,
    orders: Vec<(u128, OrderFacts)>,
    members: Vec<(u128, MemberLink)>,
    movements: Vec<(Box<str>, MovementFacts)>,
    products: Vec<(Sym, ProductFacts)>,
    merges: Vec<(Sym, Sym)>,
}

impl Partial {
    /// Gzip JSON of the partial (the map worker's output).
    pub fn to_bytes(&self) -> Result<Vec<u8>, super::RollupError> {
        use std::io::Write;
        let wire = PartialWire {
            symbols: self.symbols.names.clone(),
            orders: self.orders.iter().map(|(k, v)| (*k, v.clone())).collect(),
            members: self.members.iter().map(|(k, v)| (*k, *v)).collect(),
            movements: self.movements.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            products: self.products.iter().map(|(k, v)| (*k, v.clone())).collect(),
            merges: self.merges.iter().copied().collect(),
        };
        let fail = |e: String| super::RollupError::Internal(format!("partial encode: {e}"));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        serde_json::to_writer(&mut gz, &wire).map_err(|e| fail(e.to_string()))?;
        gz.flush().map_err(|e| fail(e.to_string()))?;
        gz.finish().map_err(|e| fail(e.to_string()))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Partial, super::RollupError> {
        let wire: PartialWire = serde_json::from_reader(flate2::read::GzDecoder::new(bytes))
            .map_err(|e| super::RollupError::Internal(format!("partial decode: {e}")))?;
        let ids = wire.symbols.iter().enumerate().map(|(i, n)| (n.clone(), i as Sym)).collect::<HashMap<_, _, _>>();
        Ok(Partial {
            symbols: Symbols { ids, names: wire.symbols },
            orders: wire.orders.into_iter().collect(),
            members: wire.members.into_iter().collect(),
            movements: wire.movements.into_iter().collect(),
            products: wire.products.into_iter().collect(),
            merges: wire.merges.into_iter().collect(),
        })
    }
}
