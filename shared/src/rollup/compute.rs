//! The "reduce" side: from the day before's [`CarriedState`] and the merged [`Partial`] of the
//! day's inputs, every table of day `D` (docs/tables.md) and the state `D` hands on.
//!
//! Every figure is integer arithmetic on cents; the only rounding is `round_div` (half away
//! from zero), applied where docs/tables.md says.

use std::collections::HashMap as StdHashMap;

use super::partial::IntHash;

// Every map here is keyed by our own symbols or strings: a fast hash, not SipHash.
type HashMap<K, V> = std::collections::HashMap<K, V, IntHash>;
type HashSet<K> = std::collections::HashSet<K, IntHash>;
use std::sync::Arc;

use chrono_tz::Tz;

use super::day_orders::{resolve_shops, DayOrders, FoldContext, MemberDay, PairDay, SalesDay, ShopDay};
pub use super::order_lines::OrderLines;
use super::partial::{KeyMap, OrderShard, Partial, Sym, Symbols, NO_SYM};
use super::schema::{self, Cell, TableBuilder};
use super::state::{CarriedState, MemberHistory, PairState, SalesKey, ScopeHistory, Shipment, Text};
use super::table::Table;
use super::time::{Day, LocalClock};
use super::RollupError;
use crate::canonical::MovementType;

/// Where a shop's orders are dated and which stock they sell from.
#[derive(Debug, Clone)]
pub struct ShopZone {
    pub time_zone: Tz,
    /// The fulfilment location of online orders (default: the shop id).
    pub location_id: Option<String>,
}

/// Everything a day's computation needs besides its inputs.
#[derive(Debug, Clone)]
pub struct DayContext {
    pub day: Day,
    /// The deployment's business zone: the date of inventory movements.
    pub business_tz: Tz,
    /// By `(format, shop_id)`, `format` as [`shop_format`] gives it.
    pub shops: StdHashMap<(String, String), ShopZone>,
    /// The points columns' figures; `None` (no points table) leaves them NULL.
    pub points: Option<super::points::PointsDay>,
}

/// The shops-table format a canonical platform's shop is registered under.
pub fn shop_format(platform: &str) -> &str {
    match platform {
        "shopify" | "woocommerce" | "youzan" => platform,
        _ => "standard",
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayStats {
    pub orders_placed: u64,
    pub orders_counted: u64,
    pub lines_placed: u64,
    pub refund_lines: u64,
    pub movements: u64,
    /// `platform/shop_id` of orders whose shop is not in the shops table (dated in the business
    /// zone, selling from the shop id as location).
    pub unknown_shops: Vec<String>,
    /// The day's headline figures (the `all` row of customers_daily, shop_daily summed).
    pub kpis: DayKpis,
}

/// A day at a glance, for the CLI and the logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayKpis {
    /// `(currency, net sales, gross margin)` in cents, over every shop.
    pub by_currency: Vec<(String, i64, i64)>,
    pub units_sold: i64,
    pub active_customers: i64,
    pub new_customers: i64,
    pub returning_customers: i64,
    pub stock_units: i64,
}

pub struct DayOutput {
    pub order_lines: OrderLines,
    /// Every other table, small enough to build whole.
    pub tables: Vec<Table>,
    pub state: CarriedState,
    pub stats: DayStats,
}

/// `num / den` rounded to the nearest integer, halves away from zero (`den > 0`).
pub fn round_div(num: i128, den: i128) -> i64 {
    let q = (2 * num.abs() + den) / (2 * den);
    (if num < 0 { -q } else { q }) as i64
}

/// The weighted-average unit cost of a pair as the fraction `cents / qty`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UnitCost {
    cents: i128,
    qty: i128,
}

/// `cost(n)` of docs/tables.md: `n × C/Q` rounded to the cent.
fn cost(units: i64, c: UnitCost) -> i64 {
    round_div(i128::from(units) * c.cents, c.qty)
}

const NONE_REF_OUT: &str = "\u{0}none-out";
const NONE_REF_IN: &str = "\u{0}none-in";
const NONE_REF_PO: &str = "\u{0}none-po";

/// Members merged into others, followed to the survivor.
struct Aliases {
    survivor: HashMap<Text, Text>,
}

impl Aliases {
    fn new(partial: &Partial) -> Self {
        let s = &partial.symbols;
        let edges: HashMap<Text, Text> =
            partial.merges.iter().map(|(a, b)| (s.name(*a).clone(), s.name(*b).clone())).collect();
        let mut survivor = HashMap::default();
        for start in edges.keys() {
            let mut at = start.clone();
            // A chain is short; the bound only guards against a cycle in bad input.
            for _ in 0..64 {
                match edges.get(&at) {
                    Some(next) if next != start => at = next.clone(),
                    _ => break,
                }
            }
            survivor.insert(start.clone(), at);
        }
        Aliases { survivor }
    }

    fn root(&self, member: &Text) -> Text {
        self.survivor.get(member).cloned().unwrap_or_else(|| member.clone())
    }
}

/// Every table of the day at once, the orders folded on as many threads as the machine has
/// cores: for tests and small days. The functions and the CLI go through
/// [`super::encode::compute_and_encode_day`], which frees the order facts before the other
/// tables are built.
pub fn compute_day(prev: CarriedState, partial: Partial, ctx: &DayContext) -> Result<DayOutput, RollupError> {
    compute_day_on(prev, partial, ctx, fold_threads())
}

/// Threads to fold a day's orders on: the machine's cores (at most 8).
pub fn fold_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(8)
}

/// [`compute_day`] with the orders folded on `threads` threads (the result does not depend on it).
pub fn compute_day_on(
    prev: CarriedState,
    partial: Partial,
    ctx: &DayContext,
    threads: usize,
) -> Result<DayOutput, RollupError> {
    let (order_lines, rest) = begin_day(prev, partial, ctx, threads)?;
    let DayTables { tables, state, stats } = rest.finish(ctx)?;
    Ok(DayOutput { order_lines, tables, state, stats })
}

/// The first half of a day: movements and orders folded (orders on `threads` threads). Returns
/// the day's order lines, which hold the order facts, and the rest of the day, which does not:
/// writing the order lines and dropping them before [`DayRest::finish`] frees the biggest part
/// of a day's memory before the other tables are built.
pub fn begin_day(
    prev: CarriedState,
    mut partial: Partial,
    ctx: &DayContext,
    threads: usize,
) -> Result<(OrderLines, DayRest), RollupError> {
    let d = ctx.day;
    if let Some(prev_day) = prev.day {
        if prev_day != d - 1 {
            return Err(RollupError::Internal(format!("state of day {prev_day} cannot open day {d}")));
        }
    }
    let aliases = Aliases::new(&partial);
    let mut state = rekey_members(prev, &aliases);
    let mut stats = DayStats::default();

    // Products: standard cost and installation flag by SKU.
    let products: HashMap<Sym, (Option<i64>, bool)> =
        partial.products.iter().map(|(sku, p)| (*sku, (p.standard_cost, p.requires_installation))).collect();

    // ---- movements of the day (business zone) ----
    let mut business_clock = LocalClock::new(ctx.business_tz);
    let movements: Vec<(Text, super::partial::MovementFacts)> = partial
        .movements
        .iter()
        .filter(|(_, m)| business_clock.day(m.at) == d)
        .map(|(id, m)| (Arc::from(&**id), m.clone()))
        .collect();
    stats.movements = movements.len() as u64;
    let count_pairs: HashSet<(Sym, Sym)> =
        movements.iter().filter(|(_, m)| m.kind == MovementType::Count).map(|(_, m)| (m.location_id, m.sku)).collect();
    // Per-line lookups by SKU symbol go to dense vectors (symbols are small integers); a SKU
    // added to the symbols later (never a product, never counted) reads as `false`.
    let mut counted_skus = vec![false; partial.symbols.len()];
    for (_, sku) in &count_pairs {
        counted_skus[*sku as usize] = true;
    }
    let has_timeline = |loc: Sym, sku: Sym| {
        counted_skus.get(sku as usize).copied().unwrap_or(false) && count_pairs.contains(&(loc, sku))
    };
    let mut installs = vec![false; partial.symbols.len()];
    for (sku, p) in &partial.products {
        installs[*sku as usize] = p.requires_installation;
    }
    // Shipments by order key while the orders are folded (the state keeps them by hex key).
    let mut shipments: KeyMap<Shipment> = std::mem::take(&mut state.shipments)
        .into_iter()
        .map(|(k, v)| {
            u128::from_str_radix(&k, 16).map(|k| (k, v)).map_err(|_| RollupError::State(format!("shipment key {k}")))
        })
        .collect::<Result<_, _>>()?;
    let mut pairs: HashMap<(Sym, Sym), PairDay> = HashMap::default();
    {
        let s = &partial.symbols;
        for (id, m) in &movements {
            let p = pairs.entry((m.location_id, m.sku)).or_default();
            if p.timeline.is_none() && has_timeline(m.location_id, m.sku) {
                p.timeline = Some(Vec::new());
            }
            let reference = |none: &str| s.name_opt(m.reference).cloned().unwrap_or_else(|| Arc::from(none));
            let (loc, sku) = (s.name(m.location_id).clone(), s.name(m.sku).clone());
            let delta = match m.kind {
                MovementType::Receipt => {
                    p.received += m.quantity;
                    p.received_cost += i128::from(m.quantity) * i128::from(m.unit_cost.unwrap_or(0));
                    if m.reference != NO_SYM {
                        *state.inbound.entry((reference(NONE_REF_PO), loc, sku)).or_default() -= m.quantity;
                    }
                    m.quantity
                }
                MovementType::PoShipped => {
                    *state.inbound.entry((reference(NONE_REF_PO), loc, sku)).or_default() += m.quantity;
                    0
                }
                MovementType::TransferOut => {
                    p.transfer_out += m.quantity;
                    *state.transfers_out.entry((reference(NONE_REF_OUT), loc, sku)).or_default() += m.quantity;
                    -m.quantity
                }
                MovementType::TransferIn => {
                    p.transfer_in += m.quantity;
                    *state.transfers_in.entry((reference(NONE_REF_IN), sku)).or_default() += m.quantity;
                    m.quantity
                }
                MovementType::Adjustment => {
                    p.adjusted += m.quantity;
                    m.quantity
                }
                MovementType::Count => 0,
            };
            if let Some(t) = p.timeline.as_mut() {
                if m.kind == MovementType::Count {
                    t.push((m.at, true, id.clone(), m.quantity));
                } else if m.kind != MovementType::PoShipped {
                    t.push((m.at, false, id.clone(), delta));
                }
            }
        }
    }

    // ---- orders: folded on several threads, by shard ----
    let mut member_root: HashMap<Sym, Sym> = HashMap::default();
    for link in partial.members.values() {
        member_root.entry(link.member_id).or_insert_with(|| {
            let root = aliases.root(partial.symbols.name(link.member_id));
            partial.symbols.intern(&root)
        });
    }
    let shop_keys: HashSet<(Sym, Sym)> = partial.orders.values().map(|o| (o.platform, o.shop_id)).collect();
    let (shops, unknown_shops) = resolve_shops(shop_keys, &mut partial.symbols, ctx);
    stats.unknown_shops = unknown_shops;
    let member_of = |key: u128| {
        partial.members.get(&key).and_then(|link| member_root.get(&link.member_id).copied()).unwrap_or(NO_SYM)
    };
    let installs_of = |sku: Sym| installs.get(sku as usize).copied().unwrap_or(false);
    let cx = FoldContext {
        day: d,
        symbols: &partial.symbols,
        shops: &shops,
        member_of: &member_of,
        has_timeline: &has_timeline,
        installs: &installs_of,
        shipments_before: &shipments,
    };
    // `room`: how many placed orders the fold's list is sized for (at most every order of its
    // shards is placed on the day). The first fold's list has room for every order, so the
    // others are appended to it without a copy: a 60 MB list of a big day copied into a new
    // one of 60 MB was 120 MB at the fold's peak.
    let fold = |shards: &[OrderShard], room: usize| -> Result<DayOrders, RollupError> {
        let mut acc = DayOrders::default();
        acc.placed.reserve_exact(room);
        acc.fold(&cx, &mut cx.shops.clone(), shards.iter().flat_map(|s| s.iter_positions()))?;
        Ok(acc)
    };
    let shards = partial.orders.shards();
    let all_orders = partial.orders.len();
    let mut day = if threads <= 1 {
        fold(shards, all_orders)?
    } else {
        let folds: Vec<Result<DayOrders, RollupError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = shards
                .chunks(shards.len().div_ceil(threads))
                .enumerate()
                .map(|(i, group)| {
                    let room = if i == 0 { all_orders } else { group.iter().map(|s| s.len()).sum() };
                    scope.spawn(move || fold(group, room))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(RollupError::Internal("order fold panicked".into()))))
                .collect()
        });
        // Merged into the first fold (its maps already hold most keys: no regrowing from empty).
        let mut folds = folds.into_iter();
        let mut merged = folds.next().unwrap_or_else(|| Ok(DayOrders::default()))?;
        for f in folds {
            merged.merge(f?);
        }
        merged
    };
    day.merge_pairs(pairs);
    for (key, update) in std::mem::take(&mut day.shipments) {
        match update {
            Some(shipment) => shipments.insert(key, shipment),
            None => shipments.remove(&key),
        };
    }
    state.shipments = shipments.into_iter().map(|(k, v)| (Arc::from(format!("{k:032x}").as_str()), v)).collect();
    stats.orders_placed = day.orders_placed;
    stats.orders_counted = day.orders_counted;
    stats.lines_placed = day.lines_placed;
    stats.refund_lines = day.refund_lines;
    let placed_today = std::mem::take(&mut day.placed);
    let symbols = Arc::new(std::mem::take(&mut partial.symbols));
    let order_lines = OrderLines::new(std::mem::take(&mut partial.orders), Arc::clone(&symbols), placed_today);
    let rest = DayRest { state, stats, symbols, products, orders: day };
    Ok((order_lines, rest))
}

/// The day's tables other than the order lines, and the state it hands on.
pub struct DayTables {
    pub tables: Vec<Table>,
    pub state: CarriedState,
    pub stats: DayStats,
}

/// What the day's tables (all but the order lines) are built from: the folded orders and
/// movements, without the order facts.
pub struct DayRest {
    state: CarriedState,
    stats: DayStats,
    symbols: Arc<Symbols>,
    /// Standard cost and installation flag by SKU.
    products: HashMap<Sym, (Option<i64>, bool)>,
    /// The folded orders and the day's movements (without the placed orders: the order lines
    /// took them).
    orders: DayOrders,
}

impl DayRest {
    pub fn finish(self, ctx: &DayContext) -> Result<DayTables, RollupError> {
        let DayRest { mut state, mut stats, symbols, products, orders } = self;
        let DayOrders { sales, pairs, shop_days, hourly, service, members, scopes_today, .. } = orders;
        let d = ctx.day;
        let s = &*symbols;
        let text = |id: Sym| s.name(id).clone();
        let text_opt = |id: Sym| s.name_opt(id).cloned();

        // Two threads prepare what sales_daily and inventory_daily are built from. This one: the
        // stock pairs and their unit costs. The other: the sales rows, named and sorted, and the
        // quantities in transit per pair (neither needs a unit cost).
        let stock_before = &state.stock;
        let in_transit = (&state.inbound, &state.transfers_out, &state.transfers_in, &mut state.shipments);
        let sales_and_transit = move || {
            let mut rows: Vec<(SalesKey, SalesDay)> = sales
                .into_iter()
                .map(|((pf, shop, store, sku, cur), v)| {
                    ((text(pf), text(shop), text_opt(store), text(sku), text(cur)), v)
                })
                .collect();
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            let (inbound, transfers_out, transfers_in, shipments) = in_transit;
            let (inbound, outbound) = in_transit_by_pair(d, inbound, transfers_out, transfers_in, shipments);
            (rows, inbound, outbound)
        };
        let (prepared, sales_and_transit) = std::thread::scope(|scope| {
            let sales_and_transit = scope.spawn(sales_and_transit);
            // ---- inventory ----
            let today_by_pair: HashMap<(Text, Text), PairDay> =
                pairs.into_iter().map(|((loc, sku), p)| ((text(loc), text(sku)), p)).collect();
            let mut all_pairs: Vec<(Text, Text)> = stock_before.keys().cloned().collect();
            all_pairs.extend(today_by_pair.keys().filter(|k| !stock_before.contains_key(*k)).cloned());
            all_pairs.sort();
            let standard_cost = |sku: &Text| -> Option<i64> {
                // Product facts are keyed by symbol; look the SKU up by name once per pair.
                s.lookup(sku).and_then(|id| products.get(&id)).and_then(|(c, _)| *c)
            };
            // Unit costs first (the receipts so far plus today's, else the standard cost): then
            // inventory_daily and sales_daily are built at the same time, on two threads.
            let unit_costs: HashMap<(Text, Text), UnitCost> = all_pairs
                .iter()
                .map(|pair| {
                    let (qty, cents) = stock_before.get(pair).map_or((0, 0), |ps| (ps.receipts_qty, ps.receipts_cost));
                    let today = today_by_pair.get(pair);
                    let qty = qty + today.map_or(0, |t| t.received);
                    let cents = cents + today.map_or(0, |t| t.received_cost);
                    let uc = if qty > 0 {
                        UnitCost { cents, qty: i128::from(qty) }
                    } else {
                        UnitCost { cents: i128::from(standard_cost(&pair.1).unwrap_or(0)), qty: 1 }
                    };
                    (pair.clone(), uc)
                })
                .collect();
            let sales_and_transit =
                sales_and_transit.join().map_err(|_| RollupError::Internal("sales row builder panicked".into()));
            ((today_by_pair, all_pairs, unit_costs), sales_and_transit)
        });
        let (today_by_pair, all_pairs, unit_costs) = prepared;
        let (sales_rows, inbound_by_pair, outbound_by_pair) = sales_and_transit?;
        let unit_cost_of = |loc: &Text, sku: &Text| -> Result<UnitCost, RollupError> {
            unit_costs
                .get(&(loc.clone(), sku.clone()))
                .copied()
                .ok_or_else(|| RollupError::Internal(format!("no stock row for {loc}/{sku}")))
        };

        let (stock, sales_history, members_before) = (&mut state.stock, &mut state.sales, &state.members);
        let (inventory, sales_built) = std::thread::scope(|scope| {
            let inventory = scope.spawn(|| {
                inventory_table(d, &all_pairs, today_by_pair, stock, &unit_costs, &inbound_by_pair, &outbound_by_pair)
            });
            let sales_built = (|| -> Result<_, RollupError> {
                // ---- sales_daily ----
                let mut sales_table = TableBuilder::with_rows("sales_daily", schema::SALES_DAILY, sales_rows.len());
                let mut shop_cogs: HashMap<(Text, Text, Text), i64> = HashMap::default();
                let is_new = |member: &Sym| !members_before.contains_key(s.name(*member));
                for (key, v) in &sales_rows {
                    let uc = unit_cost_of(&text(v.location), &key.3)?;
                    let cogs = cost(v.units_sold - v.units_refunded, uc);
                    let net = v.gross - v.discounts - v.refunds;
                    let history = sales_history.get(key);
                    let (prev_net, prev_units) = history.map_or((0, 0), |h| {
                        h.iter()
                            .filter(|(day, ..)| *day >= d - 28 && *day < d)
                            .fold((0, 0), |acc, r| (acc.0 + r.1, acc.1 + r.2))
                    });
                    let new_customers = v.members.iter().filter(|m| is_new(m)).count();
                    *shop_cogs.entry((key.0.clone(), key.1.clone(), key.4.clone())).or_default() += cogs;
                    sales_table.push(vec![
                        Cell::S(Some(key.0.clone())),
                        Cell::S(Some(key.1.clone())),
                        Cell::S(key.2.clone()),
                        Cell::S(Some(key.3.clone())),
                        Cell::S(Some(key.4.clone())),
                        Cell::I(Some(v.orders)),
                        Cell::I(Some(v.units_sold)),
                        Cell::I(Some(v.units_refunded)),
                        Cell::C(Some(v.gross)),
                        Cell::C(Some(v.discounts)),
                        Cell::C(Some(v.refunds)),
                        Cell::C(Some(net)),
                        Cell::C(Some(cogs)),
                        Cell::C(Some(net - cogs)),
                        Cell::F((net != 0).then(|| (net - cogs) as f64 / net as f64)),
                        Cell::C(
                            (v.units_sold != 0)
                                .then(|| round_div(i128::from(v.gross - v.discounts), i128::from(v.units_sold))),
                        ),
                        Cell::C((prev_units != 0).then(|| round_div(i128::from(prev_net), i128::from(prev_units)))),
                        Cell::I(Some(v.members.len() as i64)),
                        Cell::I(Some(new_customers as i64)),
                    ])?;
                }
                for (key, v) in &sales_rows {
                    if v.units_sold != 0 || v.gross != 0 || v.discounts != 0 {
                        let h = sales_history.entry(key.clone()).or_default();
                        h.push((d, v.gross - v.discounts, v.units_sold));
                    }
                }
                sales_history.retain(|_, h| {
                    h.retain(|(day, ..)| *day > d - 28);
                    !h.is_empty()
                });

                let units_sold: i64 = sales_rows.iter().map(|(_, v)| v.units_sold).sum();
                Ok((sales_table, shop_cogs, units_sold))
            })();
            let inventory =
                inventory.join().unwrap_or_else(|_| Err(RollupError::Internal("inventory builder panicked".into())));
            (inventory, sales_built)
        });
        let inventory = inventory?;
        let (sales_table, shop_cogs, units_sold) = sales_built?;

        // ---- shop_daily ----
        let mut shop_rows: Vec<((Text, Text, Text), ShopDay)> =
            shop_days.into_iter().map(|((pf, shop, cur), v)| ((text(pf), text(shop), text(cur)), v)).collect();
        shop_rows.sort_by(|a, b| a.0.cmp(&b.0));
        let mut shop_table = TableBuilder::new("shop_daily", schema::SHOP_DAILY);
        let mut by_currency: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
        let mut issued_to: HashSet<(Text, Text)> = HashSet::default();
        for (key, v) in shop_rows {
            let net = v.subtotal - v.refunds;
            let cogs = shop_cogs.get(&key).copied().unwrap_or(0);
            let c = by_currency.entry(key.2.to_string()).or_default();
            c.0 += net;
            c.1 += net - cogs;
            // A shop's points go on its first row (a shop sells in one currency in practice).
            let issued = ctx.points.as_ref().map(|p| {
                if issued_to.insert((key.0.clone(), key.1.clone())) {
                    p.issued.get(&(key.0.to_string(), key.1.to_string())).copied().unwrap_or(0)
                } else {
                    0
                }
            });
            shop_table.push(vec![
                Cell::S(Some(key.0)),
                Cell::S(Some(key.1)),
                Cell::S(Some(key.2)),
                Cell::I(Some(v.orders)),
                Cell::I(Some(v.members.len() as i64)),
                Cell::C(Some(net)),
                Cell::C(Some(cogs)),
                Cell::C(Some(net - cogs)),
                Cell::C((v.orders != 0).then(|| round_div(i128::from(v.subtotal), i128::from(v.orders)))),
                Cell::I(issued),
                Cell::I(None),
                Cell::I(None),
                Cell::I(None),
            ])?;
        }
        if let Some(p) = &ctx.points {
            // Member-wide figures: one row for the whole deployment, no money (currencies differ).
            let all: Text = Arc::from("all");
            shop_table.push(vec![
                Cell::S(Some(all.clone())),
                Cell::S(Some(all.clone())),
                Cell::S(Some(all)),
                Cell::I(None),
                Cell::I(None),
                Cell::C(None),
                Cell::C(None),
                Cell::C(None),
                Cell::C(None),
                Cell::I(Some(p.issued.values().sum())),
                Cell::I(Some(p.redeemed)),
                Cell::I(Some(p.expired)),
                Cell::I(Some(p.liability)),
            ])?;
        }

        // ---- members: fold the day into each history ----
        let all_scope: Text = Arc::from("all");
        let mut member_days: Vec<(Sym, MemberDay)> = members.into_iter().collect();
        member_days.sort_by(|a, b| s.name(a.0).cmp(s.name(b.0)));
        for (member, md) in member_days {
            let mut margin_cost = 0i64;
            for (loc, sku, n) in &md.units {
                margin_cost += cost(*n, unit_cost_of(&text(*loc), &text(*sku))?);
            }
            let net = md.subtotal - md.refunds;
            let placed: u32 = md.orders.values().sum();
            let name = text(member);
            let h = match state.members.get_mut(&name) {
                Some(h) => h,
                None if placed > 0 => state.members.entry(name.clone()).or_insert_with(|| MemberHistory {
                    first_day: d,
                    last_day: d,
                    ..MemberHistory::default()
                }),
                // Refunds of a member with no counted order in the history: nothing to attach to.
                None => continue,
            };
            h.net_sales += net;
            h.gross_margin += net - margin_cost;
            if placed > 0 {
                h.first_day = h.first_day.min(d);
                h.last_day = h.last_day.max(d);
                h.orders += i64::from(placed);
                for (platform, n) in &md.orders {
                    let scope = text(*platform);
                    if !h.platforms.contains(&scope) {
                        h.platforms.push(scope.clone());
                        h.platforms.sort();
                    }
                    h.scopes
                        .entry(scope)
                        .or_insert_with(|| ScopeHistory { first_day: d, recent: Vec::new() })
                        .add_orders(d, *n);
                }
                h.scopes
                    .entry(all_scope.clone())
                    .or_insert_with(|| ScopeHistory { first_day: d, recent: Vec::new() })
                    .add_orders(d, placed);
            }
        }

        // ---- customers_daily ----
        let mut scopes: Vec<Text> = scopes_today.iter().map(|p| text(*p)).collect();
        scopes.push(all_scope.clone());
        scopes.sort();
        scopes.dedup();
        let mut customers = TableBuilder::new("customers_daily", schema::CUSTOMERS_DAILY);
        for scope in &scopes {
            let (mut active, mut new, mut returning, mut repeat, mut cohort, mut retained) =
                (0i64, 0i64, 0i64, 0i64, 0i64, 0i64);
            for h in state.members.values() {
                let Some(sh) = h.scopes.get(scope) else { continue };
                let n365 = sh.orders_since(d - 364);
                let on_d = sh.recent.last().is_some_and(|(day, _)| *day == d);
                active += i64::from(n365 > 0);
                new += i64::from(sh.first_day == d);
                returning += i64::from(on_d && sh.first_day < d);
                repeat += i64::from(n365 >= 2);
                let in_cohort = sh.first_day >= d - 729 && sh.first_day <= d - 365;
                cohort += i64::from(in_cohort);
                retained += i64::from(in_cohort && n365 > 0);
            }
            if *scope == all_scope {
                stats.kpis.active_customers = active;
                stats.kpis.new_customers = new;
                stats.kpis.returning_customers = returning;
            }
            customers.push(vec![
                Cell::S(Some(scope.clone())),
                Cell::I(Some(active)),
                Cell::I(Some(new)),
                Cell::I(Some(returning)),
                Cell::F((active != 0).then(|| repeat as f64 / active as f64)),
                Cell::I(Some(cohort)),
                Cell::I(Some(retained)),
            ])?;
        }
        for h in state.members.values_mut() {
            for sh in h.scopes.values_mut() {
                sh.recent.retain(|(day, _)| *day >= d - 364);
            }
        }

        // ---- member_value ----
        let mut member_ids: Vec<&Text> = state.members.keys().collect();
        member_ids.sort();
        let mut member_value = TableBuilder::with_rows("member_value", schema::MEMBER_VALUE, member_ids.len());
        for id in member_ids {
            let h = &state.members[id];
            member_value.push(vec![
                Cell::S(Some(id.clone())),
                Cell::D(Some(h.first_day)),
                Cell::D(Some(h.last_day)),
                Cell::I(Some(h.orders)),
                Cell::C(Some(h.net_sales)),
                Cell::C(Some(h.gross_margin)),
                Cell::S(Some(Arc::from(h.platforms.join(",").as_str()))),
                Cell::I(ctx.points.as_ref().and_then(|p| p.balances.get(&**id).copied())),
            ])?;
        }

        // ---- orders_hourly ----
        type HourKey = (Text, Text, i32);
        let mut hourly_rows: Vec<(HourKey, (i64, i64))> =
            hourly.into_iter().map(|((pf, shop, hour), v)| ((text(pf), text(shop), hour), v)).collect();
        hourly_rows.sort_by(|a, b| a.0.cmp(&b.0));
        let mut hourly_table = TableBuilder::new("orders_hourly", schema::ORDERS_HOURLY);
        for ((pf, shop, hour), (orders, net)) in hourly_rows {
            hourly_table.push(vec![
                Cell::S(Some(pf)),
                Cell::S(Some(shop)),
                Cell::I32(Some(hour)),
                Cell::I(Some(orders)),
                Cell::C(Some(net)),
            ])?;
        }

        // ---- service_demand_daily ----
        let mut service_rows: Vec<((Option<Text>, Text), i64)> =
            service.into_iter().map(|((city, sku), n)| ((text_opt(city), text(sku)), n)).collect();
        service_rows.sort();
        let mut service_table = TableBuilder::new("service_demand_daily", schema::SERVICE_DEMAND_DAILY);
        for ((city, sku), n) in service_rows {
            service_table.push(vec![Cell::S(city), Cell::S(Some(sku)), Cell::I(Some(n))])?;
        }

        stats.kpis.by_currency = by_currency.into_iter().map(|(c, (net, margin))| (c, net, margin)).collect();
        stats.kpis.units_sold = units_sold;
        stats.kpis.stock_units = state.stock.values().map(|p| p.closing_qty).sum();
        state.day = Some(d);
        let tables = vec![
            sales_table.finish(),
            inventory.finish(),
            shop_table.finish(),
            customers.finish(),
            hourly_table.finish(),
            service_table.finish(),
            member_value.finish(),
        ];
        Ok(DayTables { tables, state, stats })
    }
}

/// A quantity per (location, SKU).
type PairQuantities = HashMap<(Text, Text), i64>;

/// Quantities in transit at the end of day `d` per (location, SKU): inbound (shipped purchase
/// orders not yet received) and outbound (transfers not yet arrived, shipments not yet
/// delivered). Shipments delivered by `d` are dropped from `shipments`.
fn in_transit_by_pair(
    d: Day,
    inbound: &HashMap<(Text, Text, Text), i64>,
    transfers_out: &HashMap<(Text, Text, Text), i64>,
    transfers_in: &HashMap<(Text, Text), i64>,
    shipments: &mut HashMap<Text, Shipment>,
) -> (PairQuantities, PairQuantities) {
    let mut inbound_by_pair: PairQuantities = HashMap::default();
    for ((_, loc, sku), q) in inbound {
        *inbound_by_pair.entry((loc.clone(), sku.clone())).or_default() += (*q).max(0);
    }
    let mut outbound_by_pair: PairQuantities = HashMap::default();
    for ((reference, loc, sku), q) in transfers_out {
        let arrived = transfers_in.get(&(in_ref(reference), sku.clone())).copied().unwrap_or(0);
        *outbound_by_pair.entry((loc.clone(), sku.clone())).or_default() += (q - arrived).max(0);
    }
    shipments.retain(|_, sh| sh.delivered_day.is_none_or(|dd| dd > d));
    for sh in shipments.values() {
        for (sku, q) in &sh.lines {
            *outbound_by_pair.entry((sh.location_id.clone(), sku.clone())).or_default() += q;
        }
    }
    (inbound_by_pair, outbound_by_pair)
}

/// The `transfers_in` key a `transfers_out` reference pairs with (absent references never pair).
fn in_ref(out_ref: &Text) -> Text {
    if &**out_ref == NONE_REF_OUT {
        Arc::from(NONE_REF_OUT)
    } else {
        out_ref.clone()
    }
}

/// Re-keys member histories by their survivor, folding merged members together.
fn rekey_members(mut state: CarriedState, aliases: &Aliases) -> CarriedState {
    if aliases.survivor.is_empty() {
        return state;
    }
    let moved: Vec<Text> = state.members.keys().filter(|m| aliases.survivor.contains_key(*m)).cloned().collect();
    for member in moved {
        let root = aliases.root(&member);
        if root == member {
            continue;
        }
        if let Some(h) = state.members.remove(&member) {
            match state.members.get_mut(&root) {
                Some(target) => target.absorb(h),
                None => {
                    state.members.insert(root, h);
                }
            }
        }
    }
    state
}

/// `inventory_daily` of day `d`: a row per (location, SKU) of `all_pairs` (sorted), each pair's
/// stock carried on in `stock`. Counts replace the running stock in time order; the closing
/// value and the 28-day columns use the pair's unit cost of the day.
fn inventory_table(
    d: Day,
    all_pairs: &[(Text, Text)],
    mut today_by_pair: HashMap<(Text, Text), PairDay>,
    stock: &mut HashMap<(Text, Text), PairState>,
    unit_costs: &HashMap<(Text, Text), UnitCost>,
    inbound_by_pair: &HashMap<(Text, Text), i64>,
    outbound_by_pair: &HashMap<(Text, Text), i64>,
) -> Result<TableBuilder, RollupError> {
    let mut inventory = TableBuilder::with_rows("inventory_daily", schema::INVENTORY_DAILY, all_pairs.len());
    for pair in all_pairs.iter().cloned() {
        let today = today_by_pair.remove(&pair).unwrap_or_default();
        let ps = stock.entry(pair.clone()).or_default();
        let opening = ps.closing_qty;
        let mut adjusted = today.adjusted;
        let closing = match today.timeline {
            Some(mut events) => {
                // At one instant, other events before counts; counts in movement-id order.
                events.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
                let mut stock = opening;
                for (_, is_count, _, q) in events {
                    if is_count {
                        adjusted += q - stock;
                        stock = q;
                    } else {
                        stock += q;
                    }
                }
                stock
            }
            None => {
                opening + today.received - today.sold + today.returned + today.adjusted + today.transfer_in
                    - today.transfer_out
            }
        };
        ps.closing_qty = closing;
        ps.receipts_qty += today.received;
        ps.receipts_cost += today.received_cost;
        let uc = unit_costs
            .get(&pair)
            .copied()
            .ok_or_else(|| RollupError::Internal(format!("no unit cost for {}/{}", pair.0, pair.1)))?;
        let value = cost(closing, uc);
        ps.recent.retain(|(day, ..)| *day > d - 28);
        ps.recent.push((d, today.sold, cost(today.sold - today.returned, uc), value));
        let sold_28d: i64 = ps.recent.iter().map(|r| r.1).sum();
        let cogs_28d: i64 = ps.recent.iter().map(|r| r.2).sum();
        let value_28d: i64 = ps.recent.iter().map(|r| r.3).sum();
        inventory.push(vec![
            Cell::S(Some(pair.0.clone())),
            Cell::S(Some(pair.1.clone())),
            Cell::I(Some(opening)),
            Cell::I(Some(today.received)),
            Cell::I(Some(today.sold)),
            Cell::I(Some(today.returned)),
            Cell::I(Some(adjusted)),
            Cell::I(Some(today.transfer_in)),
            Cell::I(Some(today.transfer_out)),
            Cell::I(Some(closing)),
            Cell::I(Some(inbound_by_pair.get(&pair).copied().unwrap_or(0))),
            Cell::I(Some(outbound_by_pair.get(&pair).copied().unwrap_or(0))),
            Cell::C(Some(round_div(uc.cents, uc.qty))),
            Cell::C(Some(value)),
            Cell::I(Some(sold_28d)),
            Cell::F((sold_28d != 0).then(|| closing as f64 / (sold_28d as f64 / 28.0))),
            Cell::F((value_28d != 0).then(|| cogs_28d as f64 / (value_28d as f64 / 28.0))),
        ])?;
    }
    Ok(inventory)
}
