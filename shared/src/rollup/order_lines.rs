//! The day's `curated/order_lines` (docs/tables.md): one row per line of each order placed on the
//! day, latest version, built in batches straight from the merged [`Partial`] as Arrow arrays.
//!
//! It is the biggest table by far (a day of 5M lines would take gigabytes as generic cells), so
//! it never exists whole: each batch of whole orders becomes Arrow arrays, written to Parquet
//! and dropped. String columns are dictionary arrays over the symbol table's names (an order's
//! values are not copied onto each of its lines), money goes straight to 64-bit `DECIMAL(18,2)`;
//! no per-row allocation.

use std::sync::Arc;

use arrow_array::builder::{StringBuilder, UInt32Builder};
use arrow_array::types::UInt32Type;
use arrow_array::{
    ArrayRef, Decimal64Array, DictionaryArray, Int32Array, Int64Array, StringArray, TimestampMicrosecondArray,
};

use super::parquet::{table_from_arrays, MONEY_PRECISION, MONEY_SCALE};
use super::partial::{OrderRef, OrderTable, Sym, Symbols, NO_SYM};
use super::schema;
use super::table::Table;
use super::RollupError;

/// An order placed on the day (40 bytes: a big day has millions). It knows where its facts
/// sit in the order table and how many lines they have, so batching and building the columns
/// never look an order up by key.
#[derive(Debug, Clone, Copy)]
pub struct Placed {
    /// The order key as two words, high first: sorts like the `u128`, without aligning (and
    /// padding) the struct to 16 bytes.
    key: [u64; 2],
    /// Position of the facts in the key's shard ([`OrderTable::at`]).
    position: u32,
    lines: u32,
    /// Position of the order's shop in name order.
    shop_rank: u32,
    location: Sym,
    member: Sym,
    hour: i32,
}

impl Placed {
    /// An order with key `key` at `position` of its shard, of the shop ranked `shop_rank` in
    /// name order, placed at local hour `hour`.
    pub fn new(
        key: u128,
        position: u32,
        facts: &OrderRef<'_>,
        shop_rank: u32,
        hour: i32,
        location: Sym,
        member: Sym,
    ) -> Placed {
        Placed {
            key: [(key >> 64) as u64, key as u64],
            position,
            lines: facts.lines.len() as u32,
            shop_rank,
            location,
            member,
            hour,
        }
    }

    pub fn key(&self) -> u128 {
        (u128::from(self.key[0]) << 64) | u128::from(self.key[1])
    }

    /// The order of the order lines: shops in name order, orders by key within a shop.
    /// Deterministic (a rerun writes the same file), and each file's row groups hold few shops,
    /// for pushdown. Keys are unique, so no two orders tie.
    pub fn sort_key(&self) -> (u32, [u64; 2]) {
        (self.shop_rank, self.key)
    }

    fn lines(&self) -> usize {
        self.lines as usize
    }
}

/// The order lines of one day, ready to be produced batch by batch.
pub struct OrderLines {
    /// The latest version of every order (of the day and before).
    facts: OrderTable,
    symbols: Arc<Symbols>,
    /// Every symbol's name, at its id: the dictionary of the symbol columns (see [`SymColumn`]).
    symbol_names: ArrayRef,
    /// Grouped by shop (shops in name order), then by order key.
    orders: Vec<Placed>,
    rows: usize,
}

impl OrderLines {
    /// The order lines of `placed`, orders of `facts`. The fold hands them over already in
    /// [`Placed::sort_key`] order (each fold thread sorts its own, and the folds are merged in
    /// order); otherwise they are sorted here, in place (it can hold millions of orders).
    pub(super) fn new(facts: OrderTable, symbols: Arc<Symbols>, mut placed: Vec<Placed>) -> OrderLines {
        if !placed.is_sorted_by_key(Placed::sort_key) {
            placed.sort_unstable_by_key(Placed::sort_key);
        }
        let rows = placed.iter().map(Placed::lines).sum();
        let symbol_names: StringArray = (0..symbols.len()).map(|id| Some(&**symbols.name(id as Sym))).collect();
        OrderLines { facts, symbols, symbol_names: Arc::new(symbol_names), orders: placed, rows }
    }

    /// Merges `theirs` into `mine`, both in [`Placed::sort_key`] order, without a second list:
    /// `mine` grows by `theirs`' length and is filled from the back.
    pub(super) fn merge_sorted(mine: &mut Vec<Placed>, theirs: Vec<Placed>) {
        let Some(&filler) = theirs.first() else { return };
        let (mut i, mut j) = (mine.len(), theirs.len());
        // Exactly: millions of placed orders, and doubling would leave up to half of it empty.
        mine.reserve_exact(j);
        mine.resize(i + j, filler);
        let mut out = i + j;
        while j > 0 {
            out -= 1;
            if i > 0 && mine[i - 1].sort_key() > theirs[j - 1].sort_key() {
                mine[out] = mine[i - 1];
                i -= 1;
            } else {
                mine[out] = theirs[j - 1];
                j -= 1;
            }
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Rows of orders `start..end`.
    pub fn range_rows(&self, start: usize, end: usize) -> usize {
        self.orders[start..end].iter().map(Placed::lines).sum()
    }

    /// Order ranges of at most `batch_rows` lines each (whole orders; an order with more lines
    /// than that is a batch of its own).
    pub fn bounds(&self, batch_rows: usize) -> Vec<(usize, usize)> {
        let mut bounds = Vec::new();
        let (mut start, mut lines) = (0, 0);
        for (i, p) in self.orders.iter().enumerate() {
            let n = p.lines();
            if lines > 0 && lines + n > batch_rows {
                bounds.push((start, i));
                start = i;
                lines = 0;
            }
            lines += n;
        }
        if start < self.orders.len() || bounds.is_empty() {
            bounds.push((start, self.orders.len()));
        }
        bounds
    }

    /// The columns (in `schema::ORDER_LINES` order) of orders `start..end`.
    pub fn range_arrays(&self, start: usize, end: usize) -> Result<Vec<ArrayRef>, RollupError> {
        let orders =
            self.orders.get(start..end).ok_or_else(|| RollupError::Internal(format!("no orders {start}..{end}")))?;
        order_line_arrays(&self.facts, &self.symbols, &self.symbol_names, orders)
    }

    /// Consecutive tables of at most `batch_rows` rows (tests; the writer uses `range_arrays`).
    pub fn batches(&self, batch_rows: usize) -> impl Iterator<Item = Result<Table, RollupError>> + '_ {
        self.bounds(batch_rows).into_iter().map(move |(a, b)| self.range_table(a, b))
    }

    /// The whole table at once (tests, and days small enough not to care).
    pub fn to_table(&self) -> Result<Table, RollupError> {
        self.range_table(0, self.orders.len())
    }

    fn range_table(&self, start: usize, end: usize) -> Result<Table, RollupError> {
        let arrays = self.range_arrays(start, end)?;
        table_from_arrays("order_lines", schema::ORDER_LINES, &arrays)
            .map_err(|e| RollupError::Internal(format!("order_lines: {e}")))
    }
}

/// A string column whose values are symbols: dictionary keys (the symbol ids) into every
/// symbol's name. Repeating an order's value on each of its lines pushes a 4-byte key, not the
/// string; the Parquet writer reads the names through the keys, and the file holds plain strings.
struct SymColumn(UInt32Builder);

impl SymColumn {
    fn new(rows: usize) -> Self {
        SymColumn(UInt32Builder::with_capacity(rows))
    }

    /// `id` (NULL for [`NO_SYM`]) `times` times.
    fn push_n(&mut self, id: Sym, times: usize) {
        if id == NO_SYM {
            self.0.append_nulls(times);
        } else {
            self.0.append_value_n(id, times);
        }
    }

    fn finish(mut self, names: &ArrayRef) -> Result<ArrayRef, RollupError> {
        dictionary(self.0.finish(), names.clone())
    }
}

/// A string column with a value of its own per order (`order_id`, `source_raw_key`): each
/// order's value once, and a key per line.
struct OrderTextColumn {
    values: StringBuilder,
    keys: Vec<u32>,
    next_key: u32,
}

impl OrderTextColumn {
    fn new(orders: usize, rows: usize, bytes_per_value: usize) -> Self {
        OrderTextColumn {
            values: StringBuilder::with_capacity(orders, orders * bytes_per_value),
            keys: Vec::with_capacity(rows),
            next_key: 0,
        }
    }

    fn push_n(&mut self, value: &str, times: usize) {
        self.values.append_value(value);
        self.keys.extend(std::iter::repeat_n(self.next_key, times));
        self.next_key += 1;
    }

    fn finish(mut self) -> Result<ArrayRef, RollupError> {
        dictionary(self.keys.into(), Arc::new(self.values.finish()))
    }
}

fn dictionary(keys: arrow_array::UInt32Array, values: ArrayRef) -> Result<ArrayRef, RollupError> {
    let array = DictionaryArray::<UInt32Type>::try_new(keys, values)
        .map_err(|e| RollupError::Internal(format!("order_lines: {e}")))?;
    Ok(Arc::new(array))
}

/// A money column: `DECIMAL(18,2)` as 64-bit cents, which the Parquet writer takes as they are
/// (a 128-bit decimal array would take twice the memory and a conversion of every value).
fn money(cents: Vec<i64>) -> Result<ArrayRef, RollupError> {
    let array = Decimal64Array::from(cents)
        .with_precision_and_scale(MONEY_PRECISION, MONEY_SCALE)
        .map_err(|e| RollupError::Internal(format!("order_lines: {e}")))?;
    Ok(Arc::new(array))
}

fn order_line_arrays(
    facts: &OrderTable,
    s: &Symbols,
    names: &ArrayRef,
    placed: &[Placed],
) -> Result<Vec<ArrayRef>, RollupError> {
    let orders: Vec<(OrderRef<'_>, &Placed)> =
        placed.iter().filter_map(|p| facts.at(p.key(), p.position).map(|o| (o, p))).collect();
    let rows: usize = orders.iter().map(|(o, _)| o.lines.len()).sum();
    let sym = || SymColumn::new(rows);
    let (mut platform, mut shop, mut status, mut store, mut salesperson) = (sym(), sym(), sym(), sym(), sym());
    let (mut city, mut location, mut member, mut currency, mut sku) = (sym(), sym(), sym(), sym(), sym());
    let (mut order_id, mut raw_key) =
        (OrderTextColumn::new(orders.len(), rows, 24), OrderTextColumn::new(orders.len(), rows, 80));
    let mut key_buf = String::new();
    let ints = || Vec::<i64>::with_capacity(rows);
    let (mut version, mut placed_at, mut quantity, mut refunded_quantity) = (ints(), ints(), ints(), ints());
    let cents = || Vec::<i64>::with_capacity(rows);
    let (mut unit_price, mut discount, mut gross_sales) = (cents(), cents(), cents());
    let (mut refunded_amount, mut net_sales) = (cents(), cents());
    let (mut hour_col, mut line_no) = (Vec::<i32>::with_capacity(rows), Vec::<i32>::with_capacity(rows));
    for (o, p) in orders {
        // The order's own columns, resolved once and repeated on each of its lines.
        let n = o.lines.len();
        platform.push_n(o.platform, n);
        shop.push_n(o.shop_id, n);
        order_id.push_n(o.ids.order_id(), n);
        status.push_n(o.status, n);
        store.push_n(o.store_id, n);
        salesperson.push_n(o.salesperson, n);
        city.push_n(o.city, n);
        location.push_n(p.location, n);
        member.push_n(p.member, n);
        currency.push_n(o.currency, n);
        key_buf.clear();
        key_buf.push_str(s.name(o.ids.raw_folder()));
        key_buf.push_str(o.ids.raw_name());
        raw_key.push_n(&key_buf, n);
        version.extend(std::iter::repeat_n(o.version, n));
        placed_at.extend(std::iter::repeat_n(o.placed_at, n));
        hour_col.extend(std::iter::repeat_n(p.hour, n));
        for (i, l) in o.lines.iter().enumerate() {
            let gross = l.quantity * l.unit_price;
            line_no.push(i as i32);
            sku.push_n(l.sku, 1);
            quantity.push(l.quantity);
            unit_price.push(l.unit_price);
            discount.push(l.discount);
            gross_sales.push(gross);
            refunded_quantity.push(l.refunded_quantity);
            refunded_amount.push(l.refunded_amount);
            net_sales.push(gross - l.discount - l.refunded_amount);
        }
    }
    // In schema::ORDER_LINES order; `table_from_arrays` and the Parquet writer check the types.
    Ok(vec![
        platform.finish(names)?,
        shop.finish(names)?,
        order_id.finish()?,
        Arc::new(Int64Array::from(version)),
        status.finish(names)?,
        Arc::new(TimestampMicrosecondArray::from(placed_at).with_timezone("UTC")),
        Arc::new(Int32Array::from(hour_col)),
        store.finish(names)?,
        salesperson.finish(names)?,
        city.finish(names)?,
        location.finish(names)?,
        member.finish(names)?,
        currency.finish(names)?,
        Arc::new(Int32Array::from(line_no)),
        sku.finish(names)?,
        Arc::new(Int64Array::from(quantity)),
        money(unit_price)?,
        money(discount)?,
        money(gross_sales)?,
        Arc::new(Int64Array::from(refunded_quantity)),
        money(refunded_amount)?,
        money(net_sales)?,
        raw_key.finish()?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(shop_rank: u32, key: u128) -> Placed {
        Placed {
            key: [(key >> 64) as u64, key as u64],
            position: 0,
            lines: 1,
            shop_rank,
            location: 0,
            member: 0,
            hour: 0,
        }
    }

    fn keys(list: &[Placed]) -> Vec<(u32, u128)> {
        list.iter().map(|p| (p.shop_rank, p.key())).collect()
    }

    #[test]
    fn merging_sorted_folds_gives_the_sorted_whole() {
        // Keys spread like hashes (both words matter), shops interleaved across the two lists.
        let key = |i: u128| i.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
        let all: Vec<Placed> = (0..500u128).map(|i| placed((i % 7) as u32, key(i))).collect();
        for (split, what) in [(3, "every third"), (1, "one list empty"), (2, "halves")] {
            let part = |in_mine: bool| -> Vec<Placed> {
                all.iter().enumerate().filter(|(i, _)| (i % split == 0) == in_mine).map(|(_, p)| *p).collect()
            };
            let (mut mine, mut theirs) = (part(true), part(false));
            mine.sort_unstable_by_key(Placed::sort_key);
            theirs.sort_unstable_by_key(Placed::sort_key);
            let mut expected = all.clone();
            expected.sort_unstable_by_key(Placed::sort_key);
            let mut a = mine.clone();
            OrderLines::merge_sorted(&mut a, theirs.clone());
            assert_eq!(keys(&a), keys(&expected), "{what}");
            let mut b = theirs;
            OrderLines::merge_sorted(&mut b, mine);
            assert_eq!(keys(&b), keys(&expected), "{what}, the other way round");
        }
        // One list wholly before the other.
        let (low, high): (Vec<Placed>, Vec<Placed>) =
            (0..10).map(|i| placed(i / 5, i.into())).partition(|p| p.shop_rank == 0);
        let mut merged = high.clone();
        OrderLines::merge_sorted(&mut merged, low.clone());
        let mut expected = low;
        expected.extend(high);
        assert_eq!(keys(&merged), keys(&expected));
    }
}
