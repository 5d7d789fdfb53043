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

use super::store::{SliceStore, Span, TextStore};
use crate::canonical::MovementType;

/// Interned string id; [`NO_SYM`] stands for "absent".
pub type Sym = u32;
pub const NO_SYM: Sym = u32::MAX;

/// A fast hasher (one folded multiply per word) for maps keyed by integers and short strings
/// of our own making, where SipHash's DoS resistance buys nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct IntHash;

#[derive(Default)]
pub struct IntHasher(u64);

impl IntHasher {
    /// Folds the 128-bit product's halves together, so every bit of the word reaches the low
    /// bits that pick a bucket. A plain FxHash step (rotate, xor, multiply) leaves the low bits
    /// depending on the low bits of the input only: SKUs that share their first bytes ("SKU-0…")
    /// fell into a few dozen buckets, and interning was ~4% of the rollup's CPU.
    #[inline]
    fn add(&mut self, word: u64) {
        let product = u128::from(self.0 ^ word) * 0x51_7c_c1_b7_27_22_0a_95;
        self.0 = (product as u64) ^ ((product >> 64) as u64);
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
    #[inline]
    fn write_u128(&mut self, n: u128) {
        self.add(n as u64);
        self.add((n >> 64) as u64);
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

    /// How many symbols there are (ids are `0..len`).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
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
    pub at: i64,
    pub sku: Sym,
    pub quantity: i64,
    pub amount: i64,
}

/// A raw object key cut after its last `/`: the folder (shared by every event of a shop and day,
/// interned) and the name (unique).
pub fn split_raw_key(key: &str) -> (&str, &str) {
    match key.rfind('/') {
        Some(i) => key.split_at(i + 1),
        None => ("", key),
    }
}

/// An order's id and the raw event its version came from: the id and the key's name in one
/// string, the key's folder as a symbol (a day holds a million of these). Owned (`Box<str>`) as
/// parsed; borrowed (`&str`) from the text store of an order shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderIds<T = Box<str>> {
    /// `order_id` followed by the name part of `source_raw_key`.
    text: T,
    order_id_len: u32,
    raw_folder: Sym,
}

impl OrderIds {
    /// `None` for an order id of 4 GiB or more (no input line is that long).
    pub fn new(order_id: &str, raw_folder: Sym, raw_name: &str) -> Option<OrderIds> {
        OrderIds::in_buffer(&mut String::new(), order_id, raw_folder, raw_name).map(|ids| ids.to_owned_ids())
    }
}

impl<'a> OrderIds<&'a str> {
    /// The ids with their text written into `buffer` (the parser reuses one for every order).
    /// `None` for an order id of 4 GiB or more.
    pub fn in_buffer(buffer: &'a mut String, order_id: &str, raw_folder: Sym, raw_name: &str) -> Option<Self> {
        let order_id_len = u32::try_from(order_id.len()).ok()?;
        buffer.clear();
        buffer.push_str(order_id);
        buffer.push_str(raw_name);
        Some(OrderIds { text: buffer.as_str(), order_id_len, raw_folder })
    }
}

impl<T: AsRef<str>> OrderIds<T> {
    pub fn order_id(&self) -> &str {
        // The split is at a char boundary by construction (the end of a whole `&str`).
        self.text.as_ref().get(..self.order_id_len as usize).unwrap_or_default()
    }

    /// The folder of `source_raw_key` (with its trailing `/`), a symbol.
    pub fn raw_folder(&self) -> Sym {
        self.raw_folder
    }

    /// The name of `source_raw_key` (after its last `/`).
    pub fn raw_name(&self) -> &str {
        self.text.as_ref().get(self.order_id_len as usize..).unwrap_or_default()
    }

    fn to_owned_ids(&self) -> OrderIds {
        OrderIds { text: self.text.as_ref().into(), order_id_len: self.order_id_len, raw_folder: self.raw_folder }
    }

    /// `source_raw_key` in full.
    pub fn source_raw_key(&self, symbols: &Symbols) -> String {
        format!("{}{}", symbols.name(self.raw_folder), self.raw_name())
    }
}

/// Compares two keys given as `(folder, name)` as whole strings, without building them.
fn cmp_raw_keys(a: (&str, &str), b: (&str, &str)) -> std::cmp::Ordering {
    a.0.bytes().chain(a.1.bytes()).cmp(b.0.bytes().chain(b.1.bytes()))
}

impl Serialize for OrderIds {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.order_id(), self.raw_folder, self.raw_name()).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for OrderIds {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (order_id, raw_folder, raw_name) = <(String, Sym, String)>::deserialize(deserializer)?;
        OrderIds::new(&order_id, raw_folder, &raw_name).ok_or_else(|| serde::de::Error::custom("order id too long"))
    }
}

/// An optional instant (µs since the epoch) in 8 bytes rather than `Option<i64>`'s 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaybeTime(i64);

impl MaybeTime {
    const NONE: i64 = i64::MIN;

    pub fn get(self) -> Option<i64> {
        (self.0 != Self::NONE).then_some(self.0)
    }
}

impl From<Option<i64>> for MaybeTime {
    /// `i64::MIN` µs (290,000 years BC) is the one instant that reads back as absent.
    fn from(t: Option<i64>) -> Self {
        MaybeTime(t.unwrap_or(Self::NONE))
    }
}

impl Serialize for MaybeTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for MaybeTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<i64>::deserialize(deserializer).map(MaybeTime::from)
    }
}

/// What the rollup needs of one order version, as parsed and as sent between partials. Times
/// are µs since the epoch. An order shard keeps it as an [`OrderHead`] and runs in its stores,
/// and hands it out as an [`OrderRef`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFacts {
    pub head: OrderHead,
    pub ids: OrderIds,
    pub lines: Box<[LineFacts]>,
    pub refunds: Box<[RefundLineFacts]>,
}

/// The name of a symbol, however the caller holds the symbols (shared under a lock or not):
/// asked only when two versions of an order tie.
pub type SymName<'a> = &'a dyn Fn(Sym) -> Arc<str>;

/// An order version's scalar facts: everything but its lines, refunds and ids, which an order
/// shard keeps in stores of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderHead {
    pub platform: Sym,
    pub shop_id: Sym,
    pub status: Sym,
    pub currency: Sym,
    pub store_id: Sym,
    pub salesperson: Sym,
    pub city: Sym,
    pub cancelled: bool,
    pub version: i64,
    pub placed_at: i64,
    pub shipped_at: MaybeTime,
    pub delivered_at: MaybeTime,
}

/// An order's facts as an order shard keeps them: its head, and its ids, lines and refunds
/// borrowed from the shard's stores. Reads like [`OrderFacts`] (the head's fields through
/// `Deref`).
#[derive(Debug, Clone, Copy)]
pub struct OrderRef<'a> {
    head: &'a OrderHead,
    pub ids: OrderIds<&'a str>,
    pub lines: &'a [LineFacts],
    pub refunds: &'a [RefundLineFacts],
}

impl std::ops::Deref for OrderRef<'_> {
    type Target = OrderHead;
    fn deref(&self) -> &OrderHead {
        self.head
    }
}

impl<'a> OrderRef<'a> {
    pub fn new(
        head: &'a OrderHead,
        ids: OrderIds<&'a str>,
        lines: &'a [LineFacts],
        refunds: &'a [RefundLineFacts],
    ) -> Self {
        OrderRef { head, ids, lines, refunds }
    }

    /// Whether a version `(version, source_raw_key)` wins over `self` as "the latest version":
    /// greater version, then (equal versions are the same content) the smaller
    /// `source_raw_key`, only for determinism.
    pub fn superseded_by(&self, version: i64, source_raw_key: &str, name: SymName<'_>) -> bool {
        match version.cmp(&self.version) {
            std::cmp::Ordering::Equal => {
                cmp_raw_keys((&name(self.ids.raw_folder), self.ids.raw_name()), (source_raw_key, "")).is_gt()
            }
            order => order.is_gt(),
        }
    }

    /// [`OrderRef::superseded_by`] the version `other`.
    fn superseded_by_order(&self, other: &OrderRef<'_>, name: SymName<'_>) -> bool {
        match other.version.cmp(&self.version) {
            std::cmp::Ordering::Equal => {
                let mine = (&*name(self.ids.raw_folder), self.ids.raw_name());
                cmp_raw_keys(mine, (&name(other.ids.raw_folder), other.ids.raw_name())).is_gt()
            }
            order => order.is_gt(),
        }
    }

    /// The facts as an owned [`OrderFacts`] (for the wire, and merging partials).
    pub fn to_facts(&self) -> OrderFacts {
        OrderFacts {
            head: *self.head,
            ids: self.ids.to_owned_ids(),
            lines: self.lines.into(),
            refunds: self.refunds.into(),
        }
    }
}

/// The head's fields read straight off the facts (`facts.version`), as off an [`OrderRef`].
impl std::ops::Deref for OrderFacts {
    type Target = OrderHead;
    fn deref(&self) -> &OrderHead {
        &self.head
    }
}

impl OrderFacts {
    /// The facts lent as an [`OrderRef`], as the parser hands its versions over.
    pub fn borrowed(&self) -> OrderRef<'_> {
        let ids = &self.ids;
        OrderRef {
            head: &self.head,
            ids: OrderIds { text: &ids.text, order_id_len: ids.order_id_len, raw_folder: ids.raw_folder },
            lines: &self.lines,
            refunds: &self.refunds,
        }
    }

    fn remapped(mut self, map: &[Sym]) -> OrderFacts {
        self.ids.raw_folder = remap(map, self.ids.raw_folder);
        for s in [
            &mut self.head.platform,
            &mut self.head.shop_id,
            &mut self.head.status,
            &mut self.head.currency,
            &mut self.head.store_id,
            &mut self.head.salesperson,
            &mut self.head.city,
        ] {
            *s = remap(map, *s);
        }
        for line in self.lines.iter_mut() {
            line.sku = remap(map, line.sku);
        }
        for r in self.refunds.iter_mut() {
            r.sku = remap(map, r.sku);
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

/// Facts per chunk of a shard: chunks never move, so a growing shard copies nothing and
/// wastes at most one chunk.
const CHUNK: usize = 1024;

/// One shard: order heads in fixed-size chunks (in arrival order), an index of positions, and
/// the orders' lines, refunds and ids in stores of their own ([`super::store`]). A hash table
/// holding the entries would move them all at every resize (and keep up to half its capacity
/// empty); this one moves 8-byte slots and finds keys through the chunks.
#[derive(Debug, Default, Clone)]
pub struct OrderShard {
    index: hashbrown::HashTable<IndexSlot>,
    chunks: Vec<Vec<ShardEntry>>,
    len: usize,
    lines: SliceStore<LineFacts, LINE_CHUNK>,
    refunds: SliceStore<RefundLineFacts, REFUND_CHUNK>,
    texts: TextStore<TEXT_CHUNK>,
}

/// Store chunk sizes (at most; see [`super::store`]): ~200 KB of lines, ~20 KB of refund lines,
/// 64 KB of id text.
const LINE_CHUNK: usize = 4096;
const REFUND_CHUNK: usize = 512;
const TEXT_CHUNK: usize = 64 * 1024;

/// An order key, its head and where its ids, lines and refunds sit in the shard's stores. The
/// key as two words: a `u128` would align the entry to 16 bytes and pad every entry by 8.
#[derive(Debug, Clone)]
pub struct ShardEntry {
    key: [u64; 2],
    head: OrderHead,
    order_id_len: u32,
    raw_folder: Sym,
    text: Span,
    lines: Span,
    refunds: Span,
}

impl ShardEntry {
    fn key(&self) -> u128 {
        u128::from(self.key[0]) | (u128::from(self.key[1]) << 64)
    }
}

/// A slot of a shard's index: where an order's facts sit, and a tag of its key. The index
/// rehashes from the tag and skips most non-matching positions by it, so neither growing the
/// index nor missing a key reads the facts (a cache miss each, millions on a big day).
#[derive(Debug, Clone, Copy)]
struct IndexSlot {
    tag: u32,
    position: u32,
}

/// The tag of an order key: 32 of its bits (the key is already a hash), not the shard's.
fn key_tag(key: u128) -> u32 {
    key as u32
}

/// The index's hash of a tag, spread over all 64 bits (the table takes its buckets from the
/// low bits and a control byte from the top ones).
fn tag_hash(tag: u32) -> u64 {
    u64::from(tag).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl OrderShard {
    fn entry(&self, position: u32) -> &ShardEntry {
        let p = position as usize;
        &self.chunks[p / CHUNK][p % CHUNK]
    }

    /// The facts of `entry`, with its parts from the stores.
    fn order<'a>(&'a self, entry: &'a ShardEntry) -> OrderRef<'a> {
        OrderRef {
            head: &entry.head,
            ids: OrderIds {
                text: self.texts.get(entry.text),
                order_id_len: entry.order_id_len,
                raw_folder: entry.raw_folder,
            },
            lines: self.lines.get(entry.lines),
            refunds: self.refunds.get(entry.refunds),
        }
    }

    /// The facts at `position` if that position holds `key` (positions from outside the index
    /// are checked, not trusted).
    fn at(&self, key: u128, position: u32) -> Option<OrderRef<'_>> {
        let p = position as usize;
        let entry = self.chunks.get(p / CHUNK)?.get(p % CHUNK)?;
        (entry.key() == key).then(|| self.order(entry))
    }

    fn position(&self, key: &u128) -> Option<u32> {
        let tag = key_tag(*key);
        self.index.find(tag_hash(tag), |s| s.tag == tag && self.entry(s.position).key() == *key).map(|s| s.position)
    }

    fn get(&self, key: &u128) -> Option<OrderRef<'_>> {
        self.position(key).map(|p| self.order(self.entry(p)))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `(key, facts)` in arrival order.
    pub fn iter(&self) -> impl Iterator<Item = (u128, OrderRef<'_>)> {
        self.chunks.iter().flatten().map(|e| (e.key(), self.order(e)))
    }

    /// `(key, position, facts)` in arrival order: the position finds the facts again through
    /// [`OrderTable::at`] without a lookup by key.
    pub fn iter_positions(&self) -> impl Iterator<Item = (u128, u32, OrderRef<'_>)> {
        self.iter().enumerate().map(|(p, (key, facts))| (key, p as u32, facts))
    }

    /// Whether an order version would be kept: lets the parser skip building stale versions.
    pub fn wants(&self, key: u128, version: i64, source_raw_key: &str, name: SymName<'_>) -> bool {
        self.get(&key).is_none_or(|current| current.superseded_by(version, source_raw_key, name))
    }

    /// Keeps a copy of `order` if it supersedes the order's current version (or is its first).
    /// A newer version takes the older one's place in the stores where it fits.
    pub fn offer(&mut self, key: u128, order: OrderRef<'_>, name: SymName<'_>) {
        if let Some(p) = self.position(&key) {
            if !self.order(self.entry(p)).superseded_by_order(&order, name) {
                return;
            }
            let p = p as usize;
            let OrderShard { chunks, lines, refunds, texts, .. } = self;
            let entry = &mut chunks[p / CHUNK][p % CHUNK];
            entry.head = *order.head;
            entry.order_id_len = order.ids.order_id_len;
            entry.raw_folder = order.ids.raw_folder;
            entry.text = texts.replace(entry.text, order.ids.text);
            entry.lines = lines.replace(entry.lines, order.lines);
            entry.refunds = refunds.replace(entry.refunds, order.refunds);
            return;
        }
        let entry = ShardEntry {
            key: [key as u64, (key >> 64) as u64],
            head: *order.head,
            order_id_len: order.ids.order_id_len,
            raw_folder: order.ids.raw_folder,
            text: self.texts.push(order.ids.text),
            lines: self.lines.push(order.lines),
            refunds: self.refunds.push(order.refunds),
        };
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let position = self.len as u32;
        if let Some(chunk) = self.chunks.last_mut() {
            chunk.push(entry);
        }
        self.len += 1;
        let tag = key_tag(key);
        self.index.insert_unique(tag_hash(tag), IndexSlot { tag, position }, |s| tag_hash(s.tag));
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
        self.shards.iter().map(|s| s.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, key: &u128) -> Option<OrderRef<'_>> {
        self.shards[shard_of(*key)].get(key)
    }

    /// The facts at `position` of the key's shard (from [`OrderShard::iter_positions`]), if that
    /// position holds this key.
    pub fn at(&self, key: u128, position: u32) -> Option<OrderRef<'_>> {
        self.shards[shard_of(key)].at(key, position)
    }

    pub fn shards(&self) -> &[OrderShard] {
        &self.shards
    }

    /// `(key, facts)`, shard by shard, in arrival order within a shard.
    pub fn iter(&self) -> impl Iterator<Item = (u128, OrderRef<'_>)> {
        self.shards.iter().flat_map(|s| s.iter())
    }

    pub fn values(&self) -> impl Iterator<Item = OrderRef<'_>> {
        self.iter().map(|(_, f)| f)
    }

    pub fn wants(&self, key: u128, version: i64, source_raw_key: &str, name: SymName<'_>) -> bool {
        self.shards[shard_of(key)].wants(key, version, source_raw_key, name)
    }

    pub fn offer(&mut self, key: u128, order: OrderRef<'_>, name: SymName<'_>) {
        self.shards[shard_of(key)].offer(key, order, name);
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
    pub fn offer_order(&mut self, key: u128, order: OrderRef<'_>) {
        let symbols = &self.symbols;
        self.orders.offer(key, order, &|id| symbols.name(id).clone());
    }

    /// Whether an order version would be kept: lets the parser skip building stale versions.
    pub fn wants_order(&self, key: u128, version: i64, source_raw_key: &str) -> bool {
        self.orders.wants(key, version, source_raw_key, &|id| self.symbols.name(id).clone())
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
        for (key, facts) in other.orders.iter() {
            self.offer_order(key, facts.to_facts().remapped(&map).borrowed());
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
            let refunds: Vec<String> =
                o.refunds.iter().map(|r| format!("{}:{}:{}:{}", r.at, name(r.sku), r.quantity, r.amount)).collect();
            out.push(format!(
                "O {k:x} {} {} {} v{} {} {} {:?} {:?} {} {} {} {} {} {lines:?} {refunds:?}",
                name(o.platform),
                name(o.shop_id),
                o.ids.order_id(),
                o.version,
                name(o.status),
                o.placed_at,
                o.shipped_at.get(),
                o.delivered_at.get(),
                name(o.currency),
                name(o.store_id),
                name(o.salesperson),
                name(o.city),
                o.ids.source_raw_key(s)
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
            orders: self.orders.iter().map(|(k, v)| (k, v.to_facts())).collect(),
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
        let symbols = Symbols { ids, names: wire.symbols };
        let mut orders = OrderTable::default();
        for (key, facts) in wire.orders {
            if facts.ids.raw_folder as usize >= symbols.len() {
                return Err(super::RollupError::Internal("partial decode: unknown symbol".into()));
            }
            orders.offer(key, facts.borrowed(), &|id| symbols.name(id).clone());
        }
        Ok(Partial {
            symbols,
            orders,
            members: wire.members.into_iter().collect(),
            movements: wire.movements.into_iter().collect(),
            products: wire.products.into_iter().collect(),
            merges: wire.merges.into_iter().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_share_their_first_bytes_spread_over_the_buckets() {
        use std::hash::BuildHasher;
        // 20,000 SKUs into 32,768 buckets (the low 15 bits): a random hash leaves ~15,000
        // buckets used; the FxHash step this replaced used 32.
        let skus: Vec<String> = (0..20_000).map(|i| format!("SKU-{i:05}")).collect();
        let buckets = |hashes: Vec<u64>| hashes.into_iter().map(|h| h & 0x7fff).collect::<HashSet<_>>().len();
        let as_text = buckets(skus.iter().map(|s| IntHash.hash_one(s.as_str())).collect());
        let as_words = buckets(
            skus.iter()
                .map(|s| {
                    let mut word = [0u8; 16];
                    word[..s.len()].copy_from_slice(s.as_bytes());
                    IntHash.hash_one(u128::from_le_bytes(word))
                })
                .collect(),
        );
        let as_ids = buckets((0..20_000u32).map(|i| IntHash.hash_one((7u32, i, 3u32))).collect());
        for (what, used) in [("text", as_text), ("u128", as_words), ("id tuples", as_ids)] {
            assert!(used > 13_000, "{what}: {used} of 32,768 buckets used");
        }
    }

    fn facts(symbols: &mut Symbols, order_id: &str, version: i64, raw: &str, shipped_at: Option<i64>) -> OrderFacts {
        let (folder, name) = split_raw_key(raw);
        OrderFacts {
            head: OrderHead {
                platform: 0,
                shop_id: 1,
                status: 2,
                currency: 3,
                store_id: NO_SYM,
                salesperson: NO_SYM,
                city: NO_SYM,
                cancelled: false,
                version,
                placed_at: 1_000,
                shipped_at: shipped_at.into(),
                delivered_at: None.into(),
            },
            ids: OrderIds::new(order_id, symbols.intern(folder), name).expect("short id"),
            lines: Box::new([LineFacts {
                sku: 4,
                quantity: version,
                unit_price: 100,
                discount: 0,
                refunded_quantity: 0,
                refunded_amount: 0,
            }]),
            refunds: Box::new([]),
        }
    }

    #[test]
    fn order_ids_and_times_read_back_as_written() {
        let mut symbols = Symbols::default();
        assert_eq!(split_raw_key("raw/platform=youzan/a.json"), ("raw/platform=youzan/", "a.json"));
        assert_eq!(split_raw_key("a.json"), ("", "a.json"));
        assert_eq!(split_raw_key("raw/"), ("raw/", ""));
        let folder = symbols.intern("raw/platform=youzan/");
        let ids = OrderIds::new("五一-1001", folder, "a.json").expect("short id");
        assert_eq!((ids.order_id(), ids.raw_name()), ("五一-1001", "a.json"));
        assert_eq!(ids.source_raw_key(&symbols), "raw/platform=youzan/a.json");
        let empty = OrderIds::new("", symbols.intern(""), "").expect("short id");
        assert_eq!((empty.order_id(), empty.source_raw_key(&symbols)), ("", String::new()));
        assert_eq!(MaybeTime::from(Some(0)).get(), Some(0));
        assert_eq!(MaybeTime::from(Some(-5)).get(), Some(-5));
        assert_eq!(MaybeTime::from(None).get(), None);
        let o = facts(&mut symbols, "o-1", 3, "raw/k", Some(77));
        let json = serde_json::to_string(&o).expect("encode");
        let raw = symbols.lookup("raw/").expect("interned");
        assert!(json.contains(&format!(r#""ids":["o-1",{raw},"k"]"#)) && json.contains(r#""shipped_at":77"#), "{json}");
        assert!(json.contains(r#""delivered_at":null"#), "{json}");
        assert_eq!(serde_json::from_str::<OrderFacts>(&json).expect("decode"), o);
    }

    #[test]
    fn a_shard_across_many_chunks_keeps_the_latest_version_of_each_order() {
        let mut shard = OrderShard::default();
        let mut symbols = Symbols::default();
        // Folders whose order differs from the order of the whole keys' texts cut elsewhere.
        for folder in ["raw/", "raw/b/", "raw/a/"] {
            symbols.intern(folder);
        }
        let n = 3 * CHUNK + 17;
        let key = |i: usize| order_key("shopify", "s", &format!("o{i}"));
        // Versions 2, then 1 (stale, refused), then 3 for every third order.
        let names = symbols.clone();
        let name = |id: Sym| names.name(id).clone();
        for v in [2, 1] {
            for i in 0..n {
                shard.offer(key(i), facts(&mut symbols, &format!("o{i}"), v, "raw/b", None).borrowed(), &name);
            }
        }
        for i in (0..n).step_by(3) {
            assert!(shard.wants(key(i), 3, "raw/z", &name));
            shard.offer(key(i), facts(&mut symbols, &format!("o{i}"), 3, "raw/z", None).borrowed(), &name);
        }
        // Same version: the smaller source key wins, whatever the order of arrival, compared
        // as whole keys ("raw/a" < "raw/a/x" < "raw/b" though the folders "raw/" and "raw/a/" differ).
        shard.offer(key(1), facts(&mut symbols, "o1", 2, "raw/a/x", None).borrowed(), &name);
        shard.offer(key(1), facts(&mut symbols, "o1", 2, "raw/a", None).borrowed(), &name);
        shard.offer(key(1), facts(&mut symbols, "o1", 2, "raw/b/0", None).borrowed(), &name);
        assert!(!shard.wants(key(1), 2, "raw/c", &name));
        assert!(!shard.wants(key(1), 2, "raw/a/", &name));
        assert!(shard.wants(key(1), 2, "raw/", &name));
        assert_eq!(shard.len(), n);
        assert_eq!(shard.iter().count(), n);
        for i in 0..n {
            let o = shard.get(&key(i)).expect("kept");
            assert_eq!(o.ids.order_id(), format!("o{i}"));
            let expect = if i % 3 == 0 {
                (3, "raw/z")
            } else if i == 1 {
                (2, "raw/a")
            } else {
                (2, "raw/b")
            };
            assert_eq!((o.version, o.ids.source_raw_key(&names).as_str()), expect, "order {i}");
        }
        assert!(shard.get(&key(n)).is_none());
    }

    #[test]
    fn keys_that_share_a_tag_stay_apart() {
        // Keys equal in the 32 bits the index tags them by, so only the full key tells them apart.
        let mut shard = OrderShard::default();
        let mut symbols = Symbols::default();
        symbols.intern("raw/");
        let names = symbols.clone();
        let name = |id: Sym| names.name(id).clone();
        let key = |i: u128| (i << 64) | 0xDEAD_BEEF;
        for i in 0..2_000u128 {
            shard.offer(key(i), facts(&mut symbols, &format!("o{i}"), 1, "raw/a", None).borrowed(), &name);
        }
        shard.offer(key(7), facts(&mut symbols, "o7", 2, "raw/a", None).borrowed(), &name);
        assert_eq!(shard.len(), 2_000);
        for i in 0..2_000u128 {
            let o = shard.get(&key(i)).expect("kept");
            assert_eq!((o.ids.order_id(), o.version), (format!("o{i}").as_str(), if i == 7 { 2 } else { 1 }));
        }
        assert!(shard.get(&key(2_000)).is_none());
        assert!(shard.wants(key(2_000), 1, "raw/a", &name) && !shard.wants(key(3), 1, "raw/b", &name));
    }

    #[test]
    fn a_newer_version_replaces_lines_refunds_and_ids_whatever_their_sizes() {
        let mut shard = OrderShard::default();
        let mut symbols = Symbols::default();
        symbols.intern("raw/");
        let names = symbols.clone();
        let name = |id: Sym| names.name(id).clone();
        let version = |symbols: &mut Symbols, order: &str, v: i64, lines: usize, raw: &str| {
            let mut f = facts(symbols, order, v, raw, None);
            f.lines = (0..lines as i64).map(|q| LineFacts { quantity: q + 10 * v, ..f.lines[0].clone() }).collect();
            f.refunds = (0..v % 2).map(|_| RefundLineFacts { at: v, sku: 4, quantity: 1, amount: v }).collect();
            f
        };
        let neighbour = version(&mut symbols, "n", 1, 2, "raw/n.json");
        shard.offer(order_key("p", "s", "n"), neighbour.borrowed(), &name);
        let key = order_key("p", "s", "o");
        // 3 lines, then 1 (in place), then 5 (moved), then a stale version (refused).
        for (v, lines, raw) in
            [(1, 3, "raw/a.json"), (2, 1, "raw/b.json"), (3, 5, "raw/longer-name.json"), (0, 9, "raw/z")]
        {
            let f = version(&mut symbols, "o", v, lines, raw);
            shard.offer(key, f.borrowed(), &name);
        }
        let o = shard.get(&key).expect("kept");
        assert_eq!(o.to_facts(), version(&mut symbols, "o", 3, 5, "raw/longer-name.json"));
        assert_eq!(shard.get(&order_key("p", "s", "n")).expect("kept").to_facts(), neighbour, "untouched");
        assert_eq!(shard.len(), 2);
    }
}
