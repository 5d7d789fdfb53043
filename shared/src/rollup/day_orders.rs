//! What the day's orders add up to, folded over the latest version of every order.
//!
//! The orders are split by shard across threads; each thread folds its orders into a
//! [`DayOrders`] of its own and the results are merged. Every figure is a sum, a set union or a
//! list whose order nothing depends on (sorted, or summed, later), so the merged result does
//! not depend on the split or on the number of threads.

use super::compute::{shop_format, DayContext};
use super::order_lines::{OrderLines, Placed};
use super::partial::{IntHash, KeyMap, OrderRef, Sym, Symbols, NO_SYM};
use super::state::{Shipment, Text};
use super::time::{Day, LocalClock};
use super::RollupError;

pub(super) type HashMap<K, V> = std::collections::HashMap<K, V, IntHash>;
pub(super) type HashSet<K> = std::collections::HashSet<K, IntHash>;

/// A timed stock event: `(at, is_count, movement id for counts, delta or counted quantity)`.
pub(super) type StockEvent = (i64, bool, Text, i64);

#[derive(Default)]
pub(super) struct PairDay {
    pub received: i64,
    pub received_cost: i128,
    pub sold: i64,
    pub returned: i64,
    pub adjusted: i64,
    pub transfer_in: i64,
    pub transfer_out: i64,
    /// Timed stock events, kept only for pairs with a count on the day.
    pub timeline: Option<Vec<StockEvent>>,
}

impl PairDay {
    fn merge(&mut self, other: PairDay) {
        self.received += other.received;
        self.received_cost += other.received_cost;
        self.sold += other.sold;
        self.returned += other.returned;
        self.adjusted += other.adjusted;
        self.transfer_in += other.transfer_in;
        self.transfer_out += other.transfer_out;
        match (&mut self.timeline, other.timeline) {
            (Some(mine), Some(theirs)) => mine.extend(theirs),
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
    }
}

#[derive(Default)]
pub(super) struct SalesDay {
    /// The stock location of the key (a function of its shop and store: the same in every split).
    pub location: Sym,
    pub orders: i64,
    pub units_sold: i64,
    pub units_refunded: i64,
    pub gross: i64,
    pub discounts: i64,
    pub refunds: i64,
    pub members: HashSet<Sym>,
}

impl SalesDay {
    fn merge(&mut self, other: SalesDay) {
        self.location = other.location;
        self.orders += other.orders;
        self.units_sold += other.units_sold;
        self.units_refunded += other.units_refunded;
        self.gross += other.gross;
        self.discounts += other.discounts;
        self.refunds += other.refunds;
        self.members.extend(other.members);
    }
}

#[derive(Default)]
pub(super) struct ShopDay {
    pub orders: i64,
    pub members: HashSet<Sym>,
    pub subtotal: i64,
    pub refunds: i64,
}

#[derive(Default)]
pub(super) struct MemberDay {
    /// Orders placed on the day per platform.
    pub orders: HashMap<Sym, u32>,
    pub subtotal: i64,
    pub refunds: i64,
    /// Net units of the day per (order, sku), with the order's location: margin costs are
    /// rounded per order, so merging two members later never re-rounds their history.
    pub units: Vec<(Sym, Sym, i64)>,
}

/// Where a shop's orders are dated and which stock they sell from.
#[derive(Clone)]
pub(super) struct Shop {
    pub clock: LocalClock,
    pub location: Sym,
    /// The shop's position among the day's shops in `(platform, shop_id)` name order.
    pub rank: u32,
}

/// What the fold reads besides the orders: resolved before it starts, so the threads share
/// it read-only.
pub(super) struct FoldContext<'a> {
    pub day: Day,
    pub symbols: &'a Symbols,
    /// By `(platform, shop_id)` symbols, every shop the orders name.
    pub shops: &'a HashMap<(Sym, Sym), Shop>,
    /// The unified member of each order key that has one.
    pub member_of: &'a (dyn Fn(u128) -> Sym + Sync),
    /// Whether a (location, SKU) pair has a stock count on the day (its events are kept timed).
    pub has_timeline: &'a (dyn Fn(Sym, Sym) -> bool + Sync),
    /// Whether a SKU needs installation (service demand).
    pub installs: &'a (dyn Fn(Sym) -> bool + Sync),
    /// The shipments in transit at the end of the day before, by order key.
    pub shipments_before: &'a KeyMap<Shipment>,
}

/// The day's orders folded: the input of every order-based table.
#[derive(Default)]
pub(super) struct DayOrders {
    pub sales: HashMap<(Sym, Sym, Sym, Sym, Sym), SalesDay>,
    pub pairs: HashMap<(Sym, Sym), PairDay>,
    pub shop_days: HashMap<(Sym, Sym, Sym), ShopDay>,
    pub hourly: HashMap<(Sym, Sym, i32), (i64, i64)>,
    pub service: HashMap<(Sym, Sym), i64>,
    pub members: HashMap<Sym, MemberDay>,
    pub scopes_today: HashSet<Sym>,
    /// In [`Placed::sort_key`] order once [`DayOrders::fold`] returns.
    pub placed: Vec<Placed>,
    /// Orders in transit at the end of the day (`Some`), and orders in transit the day before
    /// that no longer are (`None`).
    pub shipments: Vec<(u128, Option<Shipment>)>,
    pub orders_placed: u64,
    pub orders_counted: u64,
    pub lines_placed: u64,
    pub refund_lines: u64,
}

impl DayOrders {
    /// Adds `other` (the fold of other orders) into `self`.
    pub fn merge(&mut self, other: DayOrders) {
        for (k, v) in other.sales {
            self.sales.entry(k).or_default().merge(v);
        }
        self.merge_pairs(other.pairs);
        for (k, v) in other.shop_days {
            let s = self.shop_days.entry(k).or_default();
            s.orders += v.orders;
            s.subtotal += v.subtotal;
            s.refunds += v.refunds;
            s.members.extend(v.members);
        }
        for (k, (orders, net)) in other.hourly {
            let h = self.hourly.entry(k).or_default();
            h.0 += orders;
            h.1 += net;
        }
        for (k, n) in other.service {
            *self.service.entry(k).or_default() += n;
        }
        for (k, v) in other.members {
            let m = self.members.entry(k).or_default();
            for (platform, n) in v.orders {
                *m.orders.entry(platform).or_default() += n;
            }
            m.subtotal += v.subtotal;
            m.refunds += v.refunds;
            m.units.extend(v.units);
        }
        self.scopes_today.extend(other.scopes_today);
        OrderLines::merge_sorted(&mut self.placed, other.placed);
        self.shipments.extend(other.shipments);
        self.orders_placed += other.orders_placed;
        self.orders_counted += other.orders_counted;
        self.lines_placed += other.lines_placed;
        self.refund_lines += other.refund_lines;
    }

    pub fn merge_pairs(&mut self, pairs: HashMap<(Sym, Sym), PairDay>) {
        for (k, v) in pairs {
            self.pairs.entry(k).or_default().merge(v);
        }
    }

    fn pair(&mut self, cx: &FoldContext<'_>, location: Sym, sku: Sym) -> &mut PairDay {
        let p = self.pairs.entry((location, sku)).or_default();
        if p.timeline.is_none() && (cx.has_timeline)(location, sku) {
            p.timeline = Some(Vec::new());
        }
        p
    }

    /// Folds orders, `(key, position in its shard, facts)`, into `self`. `shops` is the caller's
    /// copy of the shops (their clocks cache zone offsets).
    pub fn fold<'o>(
        &mut self,
        cx: &FoldContext<'_>,
        shops: &mut HashMap<(Sym, Sym), Shop>,
        orders: impl Iterator<Item = (u128, u32, OrderRef<'o>)>,
    ) -> Result<(), RollupError> {
        let d = cx.day;
        let mut order_units: Vec<(Sym, i64)> = Vec::new();
        let mut skus_seen: Vec<Sym> = Vec::new();
        for (key, position, o) in orders {
            let shop = shops
                .get_mut(&(o.platform, o.shop_id))
                .ok_or_else(|| RollupError::Internal("an order's shop was not resolved before the fold".into()))?;
            let (placed_day, hour) = shop.clock.day_hour(o.placed_at);
            if placed_day > d {
                continue;
            }
            let location = if o.store_id != NO_SYM { o.store_id } else { shop.location };
            let member = (cx.member_of)(key);
            if placed_day == d {
                self.orders_placed += 1;
                self.lines_placed += o.lines.len() as u64;
                self.placed.push(Placed::new(key, position, &o, shop.rank, hour, location, member));
            }
            // Shipped and not yet delivered: in transit outbound from the order's location.
            if !o.cancelled && o.shipped_at.get().is_some_and(|t| shop.clock.day(t) <= d) {
                let delivered_day = o.delivered_at.get().map(|t| shop.clock.day(t));
                if delivered_day.is_none_or(|dd| dd > d) {
                    let s = cx.symbols;
                    let lines = o.lines.iter().map(|l| (s.name(l.sku).clone(), l.quantity)).collect();
                    let shipment = Shipment { location_id: s.name(location).clone(), delivered_day, lines };
                    self.shipments.push((key, Some(shipment)));
                } else if cx.shipments_before.contains_key(&key) {
                    self.shipments.push((key, None));
                }
            } else if (o.cancelled || o.shipped_at.get().is_some()) && cx.shipments_before.contains_key(&key) {
                self.shipments.push((key, None));
            }
            if o.cancelled {
                continue;
            }
            order_units.clear();
            if placed_day == d {
                self.orders_counted += 1;
                self.scopes_today.insert(o.platform);
                let mut subtotal = 0i64;
                skus_seen.clear();
                for line in o.lines.iter() {
                    let gross = line.quantity * line.unit_price;
                    subtotal += gross - line.discount;
                    let sd = self.sales.entry((o.platform, o.shop_id, o.store_id, line.sku, o.currency)).or_default();
                    sd.location = location;
                    if !skus_seen.contains(&line.sku) {
                        skus_seen.push(line.sku);
                        sd.orders += 1;
                    }
                    sd.units_sold += line.quantity;
                    sd.gross += gross;
                    sd.discounts += line.discount;
                    if member != NO_SYM {
                        sd.members.insert(member);
                    }
                    let p = self.pair(cx, location, line.sku);
                    p.sold += line.quantity;
                    if let Some(t) = p.timeline.as_mut() {
                        t.push((o.placed_at, false, Text::from(""), -line.quantity));
                    }
                    if (cx.installs)(line.sku) {
                        *self.service.entry((o.city, line.sku)).or_default() += line.quantity - line.refunded_quantity;
                    }
                    if member != NO_SYM {
                        add_units(&mut order_units, line.sku, line.quantity);
                    }
                }
                let sh = self.shop_days.entry((o.platform, o.shop_id, o.currency)).or_default();
                sh.orders += 1;
                sh.subtotal += subtotal;
                if member != NO_SYM {
                    sh.members.insert(member);
                    let md = self.members.entry(member).or_default();
                    *md.orders.entry(o.platform).or_default() += 1;
                    md.subtotal += subtotal;
                }
                let h = self.hourly.entry((o.platform, o.shop_id, hour)).or_default();
                h.0 += 1;
                h.1 += subtotal;
            }
            for r in o.refunds.iter() {
                let (refund_day, refund_hour) = shop.clock.day_hour(r.at);
                if refund_day != d {
                    continue;
                }
                self.refund_lines += 1;
                let sd = self.sales.entry((o.platform, o.shop_id, o.store_id, r.sku, o.currency)).or_default();
                sd.location = location;
                sd.units_refunded += r.quantity;
                sd.refunds += r.amount;
                let p = self.pair(cx, location, r.sku);
                p.returned += r.quantity;
                if let Some(t) = p.timeline.as_mut() {
                    t.push((r.at, false, Text::from(""), r.quantity));
                }
                self.shop_days.entry((o.platform, o.shop_id, o.currency)).or_default().refunds += r.amount;
                self.hourly.entry((o.platform, o.shop_id, refund_hour)).or_default().1 -= r.amount;
                if member != NO_SYM {
                    self.members.entry(member).or_default().refunds += r.amount;
                    add_units(&mut order_units, r.sku, -r.quantity);
                }
            }
            if !order_units.is_empty() {
                let md = self.members.entry(member).or_default();
                md.units.extend(order_units.drain(..).map(|(sku, n)| (location, sku, n)));
            }
        }
        // Sorted here, on the fold's own thread: the merge of the folds keeps the order.
        self.placed.sort_unstable_by_key(Placed::sort_key);
        Ok(())
    }
}

fn add_units(units: &mut Vec<(Sym, i64)>, sku: Sym, n: i64) {
    match units.iter_mut().find(|(s, _)| *s == sku) {
        Some((_, u)) => *u += n,
        None => units.push((sku, n)),
    }
}

/// The shop of every `(platform, shop_id)` in `keys`: its clock and stock location (interned).
/// Shops missing from the shops table are dated in the business zone and sell from the shop
/// id as location; their `platform/shop_id` is returned too.
pub(super) fn resolve_shops(
    keys: impl IntoIterator<Item = (Sym, Sym)>,
    symbols: &mut Symbols,
    ctx: &DayContext,
) -> (HashMap<(Sym, Sym), Shop>, Vec<String>) {
    let mut shops: HashMap<(Sym, Sym), Shop> = HashMap::default();
    let mut unknown: Vec<String> = Vec::new();
    let mut keys: Vec<(Sym, Sym)> = keys.into_iter().collect();
    keys.sort_by(|a, b| (symbols.name(a.0), symbols.name(a.1)).cmp(&(symbols.name(b.0), symbols.name(b.1))));
    keys.dedup();
    for (rank, (platform_sym, shop_sym)) in keys.into_iter().enumerate() {
        let rank = rank as u32;
        let platform = symbols.name(platform_sym).clone();
        let shop_id = symbols.name(shop_sym).clone();
        let shop = match ctx.shops.get(&(shop_format(&platform).to_string(), shop_id.to_string())) {
            Some(zone) => Shop {
                clock: LocalClock::new(zone.time_zone),
                location: symbols.intern(zone.location_id.as_deref().unwrap_or(&shop_id)),
                rank,
            },
            None => {
                unknown.push(format!("{platform}/{shop_id}"));
                Shop { clock: LocalClock::new(ctx.business_tz), location: symbols.intern(&shop_id), rank }
            }
        };
        shops.insert((platform_sym, shop_sym), shop);
    }
    unknown.sort();
    unknown.dedup();
    (shops, unknown)
}
