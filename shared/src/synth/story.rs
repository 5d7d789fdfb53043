//! Order stories: what happens to each order (created → paid → shipped → delivered, refunds,
//! cancellations) and when, independent of how a platform writes it down.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::catalog::{sku_index, Currency, Region, CATALOG, CITIES};
use super::people::{ship_city, People};
use super::text::{fmt_time, local_to_utc, mix, TimeStyle};
use super::{SynthConfig, SynthShop};
use crate::canonical::time::DEFAULT_TIME_ZONE;
use crate::money::{allocate_proportionally, Money};
use crate::platforms::Platform;

/// How a shop behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Shopify,
    Woo,
    Youzan,
    /// Standard Webhooks from the dealer's POS (stores, salespeople).
    Pos,
    /// Standard Webhooks from a middleware forwarding marketplace orders (Tmall, JD).
    Market,
}

/// A shop with its settings parsed once.
#[derive(Debug)]
pub(crate) struct ShopCtx<'a> {
    pub shop: &'a SynthShop,
    pub tz: Tz,
    pub currency: Currency,
    pub kind: Kind,
    pub region: Region,
}

impl<'a> ShopCtx<'a> {
    pub(crate) fn new(shop: &'a SynthShop) -> ShopCtx<'a> {
        let tz = shop.time_zone.parse().unwrap_or(DEFAULT_TIME_ZONE);
        let currency = Currency::of(&shop.currency);
        let kind = match shop.platform {
            Platform::Shopify => Kind::Shopify,
            Platform::WooCommerce => Kind::Woo,
            Platform::Youzan => Kind::Youzan,
            Platform::Standard if shop.stores.is_empty() && !shop.channels.iter().all(|c| c == "pos") => Kind::Market,
            Platform::Standard => Kind::Pos,
        };
        let region = match currency {
            Currency::Usd => Region::Us,
            Currency::Eur => Region::De,
            Currency::Cny => Region::Cn,
        };
        ShopCtx { shop, tz, currency, kind, region }
    }

    pub(crate) fn shop_id(&self) -> &str {
        &self.shop.shop_id
    }
}

/// One order line. Prices as listed in the shop's currency (CNY/EUR include VAT, USD not).
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub sku: usize,
    pub quantity: i64,
    pub unit_price: Money,
    /// Item-level promotion (Youzan 限时折扣, POS salesperson discount).
    pub promo: Money,
    /// This line's share of an order-level coupon.
    pub coupon: Money,
}

impl Line {
    pub(crate) fn gross(&self) -> Money {
        self.unit_price.times(self.quantity)
    }
    pub(crate) fn discount(&self) -> Money {
        self.promo + self.coupon
    }
    /// What the buyer pays for the line.
    pub(crate) fn net(&self) -> Money {
        self.gross() - self.discount()
    }
    pub(crate) fn code(&self) -> &'static str {
        CATALOG[self.sku].sku
    }
}

/// One refunded line.
#[derive(Debug, Clone)]
pub(crate) struct RefundPart {
    pub line: usize,
    pub quantity: i64,
    /// Merchandise refunded (the line's net share, in list-price terms).
    pub amount: Money,
}

/// One refund.
#[derive(Debug, Clone)]
pub(crate) struct RefundPlan {
    pub id: String,
    pub parts: Vec<RefundPart>,
    pub shipping: Money,
    /// Everything is refunded.
    pub full: bool,
    pub reason: usize,
}

impl RefundPlan {
    pub(crate) fn merchandise(&self) -> Money {
        self.parts.iter().map(|p| p.amount).sum()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepKind {
    Created,
    Paid,
    Shipped,
    Delivered,
    /// The refund `story.refunds[i]`.
    Refunded(usize),
    /// Cancelled before payment.
    Cancelled,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Step {
    pub kind: StepKind,
    /// Whole seconds; steps are at least [`MIN_STEP_GAP_S`] apart.
    pub at: DateTime<Utc>,
}

/// Versions with second resolution (WooCommerce, Youzan) stay distinct, even with the extra
/// second some platforms add after a step.
pub(crate) const MIN_STEP_GAP_S: i64 = 5;

/// One order and what happens to it.
#[derive(Debug, Clone)]
pub(crate) struct Story {
    pub shop: usize,
    /// The canonical `platform` (sales channel): `shopify`, `woocommerce`, `youzan`, `pos`, `tmall`, `jd`.
    pub channel: String,
    pub order_id: String,
    /// Sequence of the order within its shop (Shopify `order_number` − 1000, line ids, …).
    pub number: u64,
    pub customer: Option<usize>,
    /// Bought without an account (WooCommerce `customer_id: 0`, POS walk-in without a card).
    pub guest: bool,
    /// Shipping city (index into `CITIES`); POS orders use their store's city.
    pub city: Option<usize>,
    pub store: Option<usize>,
    pub salesperson: Option<String>,
    pub lines: Vec<Line>,
    pub shipping: Money,
    pub coupon_code: Option<&'static str>,
    pub refunds: Vec<RefundPlan>,
    pub steps: Vec<Step>,
    /// Stable per-order seed for tokens and ids that repeat across versions.
    pub token_seed: u64,
}

/// What is true of an order at one of its steps.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// `(refund index, when)` of the refunds so far.
    pub refunds: Vec<(usize, DateTime<Utc>)>,
}

impl Snapshot {
    pub(crate) fn fully_refunded(&self, story: &Story) -> bool {
        self.refunds.iter().any(|(i, _)| story.refunds[*i].full)
    }

    /// Refunded quantity and amount of line `line` so far.
    pub(crate) fn refunded(&self, story: &Story, line: usize) -> (i64, Money) {
        let mut qty = 0;
        let mut amount = Money::ZERO;
        for (i, _) in &self.refunds {
            for p in story.refunds[*i].parts.iter().filter(|p| p.line == line) {
                qty += p.quantity;
                amount += p.amount;
            }
        }
        (qty, amount)
    }
}

impl Story {
    pub(crate) fn created_at(&self) -> DateTime<Utc> {
        self.steps[0].at
    }

    pub(crate) fn gross(&self) -> Money {
        self.lines.iter().map(Line::gross).sum()
    }

    pub(crate) fn discounts(&self) -> Money {
        self.lines.iter().map(Line::discount).sum()
    }

    pub(crate) fn net(&self) -> Money {
        self.lines.iter().map(Line::net).sum()
    }

    /// The state after step `upto` (inclusive).
    pub(crate) fn snapshot(&self, upto: usize) -> Snapshot {
        let mut s = Snapshot {
            at: self.steps[upto].at,
            paid_at: None,
            shipped_at: None,
            delivered_at: None,
            cancelled_at: None,
            refunds: Vec::new(),
        };
        for step in &self.steps[..=upto] {
            match step.kind {
                StepKind::Created => {}
                StepKind::Paid => s.paid_at = Some(step.at),
                StepKind::Shipped => s.shipped_at = Some(step.at),
                StepKind::Delivered => s.delivered_at = Some(step.at),
                StepKind::Refunded(i) => s.refunds.push((i, step.at)),
                StepKind::Cancelled => s.cancelled_at = Some(step.at),
            }
        }
        s
    }

    /// Whether the order ever gets refunded or cancelled (used for `Story` tests).
    #[cfg(test)]
    pub(crate) fn has(&self, kind: StepKind) -> bool {
        self.steps.iter().any(|s| s.kind == kind)
    }
}

/// Hour-of-day weights (local time): online shopping peaks in the evening, stores are open 10–22.
const ONLINE_HOURS: [u32; 24] = [4, 2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 7, 7, 7, 7, 6, 6, 7, 9, 11, 12, 10, 6];
const STORE_HOURS: [u32; 24] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 8, 7, 6, 7, 8, 8, 7, 8, 9, 8, 5, 0, 0];

fn pick_weighted(rng: &mut ChaCha8Rng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = rng.gen_range(0..total.max(1));
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// A local time on `day` following `hours`, as UTC, whole seconds.
pub(crate) fn local_time(rng: &mut ChaCha8Rng, day: NaiveDate, hours: &[u32; 24], tz: Tz) -> DateTime<Utc> {
    let h = pick_weighted(rng, hours) as u32;
    let secs = rng.gen_range(0..3600u32);
    let naive = day.and_hms_opt(h, secs / 60, secs % 60).unwrap_or_else(|| day.and_time(chrono::NaiveTime::MIN));
    local_to_utc(tz, naive)
}

/// The day for the `i`-th of `days` days, weekends a little busier.
fn pick_day(rng: &mut ChaCha8Rng, cfg: &SynthConfig) -> NaiveDate {
    let days = cfg.days.max(1);
    let weights: Vec<u32> = (0..days)
        .map(|d| {
            let date = cfg.start_date + Duration::days(i64::from(d));
            if chrono::Datelike::weekday(&date).number_from_monday() >= 6 {
                13
            } else {
                10
            }
        })
        .collect();
    cfg.start_date + Duration::days(pick_weighted(rng, &weights) as i64)
}

/// What is in the basket: `(sku index, quantity)`.
fn basket(rng: &mut ChaCha8Rng, kind: Kind) -> Vec<(usize, i64)> {
    let idx = |code: &str| sku_index(code).unwrap_or(0);
    let mut out: Vec<(usize, i64)> = Vec::with_capacity(4);
    let r: f64 = rng.gen();
    if r < 0.45 {
        let purifiers = [
            ("WP-RO-500", 35),
            ("WP-RO-400", 20),
            ("WP-RO-600", 15),
            ("WP-UF-200", 10),
            ("WP-UF-300", 10),
            ("WP-HOT-01", 10),
        ];
        let weights: Vec<u32> = purifiers.iter().map(|p| p.1).collect();
        let p = purifiers[pick_weighted(rng, &weights)].0;
        out.push((idx(p), if rng.gen_bool(0.05) { 2 } else { 1 }));
        if rng.gen_bool(0.4) {
            out.push((idx("FLT-PP-10"), rng.gen_range(2..=4)));
            if rng.gen_bool(0.6) {
                out.push((idx("FLT-CTO-10"), rng.gen_range(1..=2)));
            }
        }
        if rng.gen_bool(0.15) {
            out.push((idx("ACC-FAUCET-01"), 1));
        }
        let install = match kind {
            Kind::Youzan | Kind::Pos | Kind::Market => 0.5,
            Kind::Shopify => 0.2,
            Kind::Woo => 0.1,
        };
        if out.len() < 4 && rng.gen_bool(install) {
            out.push((idx("SVC-INSTALL"), 1));
        }
    } else if r < 0.9 {
        let filters = [
            ("FLT-PP-10", 30),
            ("FLT-CTO-10", 20),
            ("FLT-UDF-10", 10),
            ("FLT-T33", 12),
            ("FLT-RO-75", 10),
            ("FLT-RO-500", 8),
            ("FLT-UF-200", 10),
        ];
        let weights: Vec<u32> = filters.iter().map(|f| f.1).collect();
        let n = rng.gen_range(1..=3);
        for _ in 0..n {
            let sku = idx(filters[pick_weighted(rng, &weights)].0);
            if out.iter().all(|(s, _)| *s != sku) {
                let qty = if CATALOG[sku].cny < 10_000 { rng.gen_range(1..=6) } else { 1 };
                out.push((sku, qty));
            }
        }
    } else {
        let acc = ["ACC-FAUCET-01", "ACC-TDS-01", "ACC-TANK-3G"];
        out.push((idx(acc[rng.gen_range(0..acc.len())]), 1));
        if rng.gen_bool(0.5) {
            out.push((idx("FLT-PP-10"), rng.gen_range(1..=3)));
        }
    }
    out
}

/// An order-level coupon for the kind and the basket value, if any: `(code, amount)`.
fn coupon(rng: &mut ChaCha8Rng, kind: Kind, currency: Currency, value: Money) -> Option<(&'static str, Money)> {
    let m = |major: i64| Money::from_major(major);
    let chance = match kind {
        Kind::Shopify | Kind::Woo => 0.3,
        Kind::Youzan => 0.4,
        Kind::Market => 0.5,
        Kind::Pos => 0.0,
    };
    if !rng.gen_bool(chance) {
        return None;
    }
    let tiers: &[(&'static str, i64, i64)] = match (kind, currency) {
        (Kind::Shopify, _) => &[("BUNDLE50", 800, 50), ("WELCOME20", 200, 20), ("FILTER5", 40, 5)],
        (Kind::Woo, _) => &[("bundle40", 600, 40), ("welcome10", 100, 10)],
        (Kind::Youzan, _) => &[("满2000减100", 2000, 100), ("满500减30", 500, 30), ("满199减10", 199, 10)],
        _ => &[("店铺券1000-100", 1000, 100), ("店铺券300-20", 300, 20)],
    };
    tiers.iter().find(|(_, min, _)| value >= m(*min)).map(|(code, _, off)| (*code, m(*off)))
}

/// Builds the lines and discounts of a new order.
fn build_lines(rng: &mut ChaCha8Rng, kind: Kind, currency: Currency) -> (Vec<Line>, Option<&'static str>) {
    let mut lines: Vec<Line> = basket(rng, kind)
        .into_iter()
        .map(|(sku, quantity)| Line {
            sku,
            quantity,
            unit_price: CATALOG[sku].price(currency),
            promo: Money::ZERO,
            coupon: Money::ZERO,
        })
        .collect();
    for line in &mut lines {
        let s = &CATALOG[line.sku];
        match kind {
            Kind::Youzan if s.is_purifier() && rng.gen_bool(0.5) => {
                let off = if s.cny >= 250_000 { 300 } else { 100 };
                line.promo = Money::from_major(off).times(line.quantity);
            }
            Kind::Pos if s.is_purifier() && rng.gen_bool(0.6) => {
                line.promo = Money::from_major([100, 200, 300][rng.gen_range(0..3)]).min(line.gross());
            }
            Kind::Pos if s.sku == "SVC-INSTALL" && rng.gen_bool(0.5) => line.promo = line.gross(),
            Kind::Pos if s.is_consumable && line.quantity >= 3 && rng.gen_bool(0.3) => {
                // "three or more cartridges: 10% off", rounded down to whole yuan
                line.promo = Money::from_major(line.gross().minor() / 1000);
            }
            _ => {}
        }
    }
    let value: Money = lines.iter().map(Line::net).sum();
    let code = match coupon(rng, kind, currency, value) {
        Some((code, amount)) => {
            let weights: Vec<Money> = lines.iter().map(Line::net).collect();
            for (line, share) in lines.iter_mut().zip(allocate_proportionally(amount.min(value), &weights)) {
                line.coupon = share;
            }
            Some(code)
        }
        None => None,
    };
    (lines, code)
}

/// The lines of a POS sale (used by the POS export feed).
pub(crate) fn pos_lines(rng: &mut ChaCha8Rng, currency: Currency) -> Vec<Line> {
    build_lines(rng, Kind::Pos, currency).0
}

fn shipping_fee(kind: Kind, net: Money) -> Money {
    match kind {
        Kind::Shopify if net < Money::from_major(200) => Money::from_minor(995),
        Kind::Woo if net < Money::from_major(100) => Money::from_minor(495),
        Kind::Youzan if net < Money::from_major(99) => Money::from_major(10),
        _ => Money::ZERO,
    }
}

/// The refund of part of the order: one line (cartridges first), some of its units.
fn partial_refund(rng: &mut ChaCha8Rng, lines: &[Line]) -> Option<Vec<RefundPart>> {
    let candidates: Vec<usize> = (0..lines.len())
        .filter(|&i| CATALOG[lines[i].sku].category != "service" && lines[i].net() > Money::ZERO)
        .collect();
    let line = *candidates.iter().find(|&&i| CATALOG[lines[i].sku].is_consumable).or_else(|| candidates.first())?;
    let l = &lines[line];
    let only_line = lines.len() == 1;
    let max_qty = if only_line { l.quantity - 1 } else { l.quantity };
    if max_qty < 1 {
        return None;
    }
    let quantity = rng.gen_range(1..=max_qty);
    let amount =
        if quantity == l.quantity { l.net() } else { Money::from_minor(l.net().minor() * quantity / l.quantity) };
    Some(vec![RefundPart { line, quantity, amount }])
}

fn full_refund(lines: &[Line]) -> Vec<RefundPart> {
    lines.iter().enumerate().map(|(line, l)| RefundPart { line, quantity: l.quantity, amount: l.net() }).collect()
}

/// The path of an order: which steps happen.
fn path(rng: &mut ChaCha8Rng, kind: Kind) -> &'static [char] {
    // C created, P paid, S shipped, D delivered, R partial refund, F full refund, X cancelled.
    const ONLINE: &[(&[char], u32)] = &[
        (&['C'], 5),
        (&['C', 'X'], 6),
        (&['C', 'P'], 24),
        (&['C', 'P', 'S'], 18),
        (&['C', 'P', 'S', 'D'], 25),
        (&['C', 'P', 'R'], 4),
        (&['C', 'P', 'F'], 4),
        (&['C', 'P', 'S', 'R'], 8),
        (&['C', 'P', 'S', 'F'], 6),
    ];
    const POS: &[(&[char], u32)] =
        &[(&['C'], 3), (&['C', 'X'], 8), (&['C', 'P'], 70), (&['C', 'P', 'R'], 12), (&['C', 'P', 'F'], 7)];
    let table = if kind == Kind::Pos { POS } else { ONLINE };
    let weights: Vec<u32> = table.iter().map(|t| t.1).collect();
    table[pick_weighted(rng, &weights)].0
}

/// Creates the story of one order (without ids: see [`assign_ids`]).
pub(crate) fn new_story(
    rng: &mut ChaCha8Rng,
    cfg: &SynthConfig,
    shops: &[ShopCtx<'_>],
    shop: usize,
    people: &People,
) -> Story {
    let ctx = &shops[shop];
    let kind = ctx.kind;
    let channel = match kind {
        Kind::Shopify => "shopify".to_string(),
        Kind::Woo => "woocommerce".to_string(),
        Kind::Youzan => "youzan".to_string(),
        Kind::Pos => ctx.shop.channels.first().cloned().unwrap_or_else(|| "pos".into()),
        Kind::Market => {
            let weights: Vec<u32> = ctx.shop.channels.iter().map(|c| if c == "tmall" { 60 } else { 40 }).collect();
            ctx.shop.channels.get(pick_weighted(rng, &weights)).cloned().unwrap_or_else(|| "tmall".into())
        }
    };
    let day = pick_day(rng, cfg);
    let hours = if kind == Kind::Pos { &STORE_HOURS } else { &ONLINE_HOURS };
    let created = local_time(rng, day, hours, ctx.tz);

    let customer_region = match kind {
        Kind::Shopify => [
            Region::Us,
            Region::Us,
            Region::Us,
            Region::Us,
            Region::Us,
            Region::Us,
            Region::Us,
            Region::Us,
            Region::Cn,
            Region::De,
        ][rng.gen_range(0..10)],
        Kind::Woo => [
            Region::De,
            Region::De,
            Region::De,
            Region::De,
            Region::De,
            Region::De,
            Region::De,
            Region::De,
            Region::Cn,
            Region::Us,
        ][rng.gen_range(0..10)],
        _ => ctx.region,
    };
    let guest = match kind {
        Kind::Woo => rng.gen_bool(0.15),
        Kind::Pos => rng.gen_bool(0.35),
        _ => false,
    };
    let customer = (!guest || kind == Kind::Woo).then(|| people.pick(rng, customer_region));
    let (store, salesperson) = if kind == Kind::Pos && !ctx.shop.stores.is_empty() {
        let s = rng.gen_range(0..ctx.shop.stores.len());
        let staff = &ctx.shop.stores[s].salespeople;
        (Some(s), (!staff.is_empty()).then(|| staff[rng.gen_range(0..staff.len())].clone()))
    } else {
        (None, None)
    };
    let city = match (kind, customer) {
        (Kind::Pos, _) => None,
        (_, Some(c)) => Some(ship_city(people.get(c), ctx.region)),
        (_, None) => None,
    };

    let (lines, coupon_code) = build_lines(rng, kind, ctx.currency);
    let net: Money = lines.iter().map(Line::net).sum();
    let shipping = shipping_fee(kind, net);

    let mut refunds = Vec::new();
    let mut steps = Vec::with_capacity(4);
    let mut at = created;
    let secs = |lo: i64, hi: i64, rng: &mut ChaCha8Rng| Duration::seconds(rng.gen_range(lo..=hi));
    for (i, c) in path(rng, kind).iter().enumerate() {
        let kind_of_step = match c {
            'C' => StepKind::Created,
            'P' => {
                at += if kind == Kind::Pos { secs(30, 240, rng) } else { secs(20, 1800, rng) };
                StepKind::Paid
            }
            'S' => {
                at += secs(2 * 3600, 40 * 3600, rng);
                StepKind::Shipped
            }
            'D' => {
                at += secs(20 * 3600, 90 * 3600, rng);
                StepKind::Delivered
            }
            'X' => {
                at += secs(600, 20 * 3600, rng);
                StepKind::Cancelled
            }
            _ => {
                at += secs(3600, 6 * 86_400, rng);
                let full = *c == 'F';
                let parts = if full { None } else { partial_refund(rng, &lines) };
                let (parts, full) = match parts {
                    Some(p) => (p, false),
                    None => (full_refund(&lines), true),
                };
                refunds.push(RefundPlan {
                    id: String::new(),
                    parts,
                    shipping: if full { shipping } else { Money::ZERO },
                    full,
                    reason: rng.gen_range(0..4),
                });
                StepKind::Refunded(refunds.len() - 1)
            }
        };
        if i > 0 {
            let min = steps.last().map(|s: &Step| s.at + Duration::seconds(MIN_STEP_GAP_S)).unwrap_or(at);
            at = at.max(min);
        }
        steps.push(Step { kind: kind_of_step, at });
    }
    Story {
        shop,
        channel,
        order_id: String::new(),
        number: 0,
        customer,
        guest,
        city,
        store,
        salesperson,
        lines,
        shipping,
        coupon_code,
        refunds,
        steps,
        token_seed: rng.gen(),
    }
}

/// Per-shop counters for ids that grow with time.
#[derive(Debug, Default)]
pub(crate) struct Ids {
    next: BTreeMap<(usize, &'static str), u64>,
    per_day: BTreeMap<(String, String), u64>,
}

impl Ids {
    /// The next number of counter `name` of shop `shop`, from `start`, stepping by 1..=`gap`.
    pub(crate) fn next(&mut self, rng: &mut ChaCha8Rng, shop: usize, name: &'static str, start: u64, gap: u64) -> u64 {
        let slot = self.next.entry((shop, name)).or_insert(start);
        let value = *slot;
        *slot += rng.gen_range(1..=gap.max(1));
        value
    }

    /// `POS-SZNS-20261120-0042`-style ids: `{prefix}-{store code}-{local date}-{seq:04}`.
    pub(crate) fn daily(&mut self, prefix: &str, store_id: &str, local_date: &str) -> String {
        let code: String = store_id.split('-').filter(|p| p.bytes().all(|b| b.is_ascii_alphabetic())).collect();
        let slot = self.per_day.entry((format!("{prefix}-{code}"), local_date.to_string())).or_insert(0);
        *slot += 1;
        format!("{prefix}-{code}-{local_date}-{:04}", *slot)
    }
}

/// Local date as `YYYYMMDD`.
pub(crate) fn compact_date(at: DateTime<Utc>, tz: Tz) -> String {
    fmt_time(at, tz, TimeStyle::NaiveT)[..10].replace('-', "")
}

/// Local time as `YYYYMMDDHHMMSS`.
pub(crate) fn compact_time(at: DateTime<Utc>, tz: Tz) -> String {
    fmt_time(at, tz, TimeStyle::NaiveT).replace(['-', ':', 'T'], "")
}

/// Gives orders and refunds their platform ids, in the order they happen (ids grow with time,
/// as on the real platforms).
pub(crate) fn assign_ids(rng: &mut ChaCha8Rng, stories: &mut [Story], shops: &[ShopCtx<'_>], ids: &mut Ids) {
    // (time, story, refund index or usize::MAX for the order itself)
    let mut events: Vec<(DateTime<Utc>, usize, usize)> = Vec::new();
    for (s, story) in stories.iter().enumerate() {
        events.push((story.created_at(), s, usize::MAX));
        for step in &story.steps {
            if let StepKind::Refunded(r) = step.kind {
                events.push((step.at, s, r));
            }
        }
    }
    events.sort();
    for (at, s, r) in events {
        let shop = stories[s].shop;
        let ctx = &shops[shop];
        let channel = stories[s].channel.clone();
        if r == usize::MAX {
            let story = &mut stories[s];
            match ctx.kind {
                Kind::Shopify => {
                    let n = ids.next(rng, shop, "number", 1, 1);
                    story.number = n;
                    story.order_id = (5_970_120_000_000 + n * 1_000 + mix(n) % 997).to_string();
                }
                Kind::Woo => {
                    let post = ids.next(rng, shop, "post", 4_100, 3);
                    story.number = post;
                    story.order_id = post.to_string();
                }
                Kind::Youzan => {
                    let n = ids.next(rng, shop, "tid", 17, 1);
                    story.number = n;
                    story.order_id = format!("E{}{:09}", compact_time(at, ctx.tz), 84_600_000 + n);
                }
                Kind::Pos => {
                    let store_id = story
                        .store
                        .and_then(|i| ctx.shop.stores.get(i))
                        .map(|s| s.store_id.clone())
                        .unwrap_or_else(|| ctx.shop.location_id.clone());
                    story.number = ids.next(rng, shop, "number", 1, 1);
                    story.order_id = ids.daily("POS", &store_id, &compact_date(at, ctx.tz));
                }
                Kind::Market => {
                    let n = ids.next(rng, shop, if channel == "jd" { "jd" } else { "tmall" }, 1, 1);
                    story.number = n;
                    story.order_id = if channel == "jd" {
                        (301_234_500_000 + n * 7 + mix(n) % 7).to_string()
                    } else {
                        (4_012_345_678_900_000_000 + n * 1_013 + mix(n) % 1_000).to_string()
                    };
                }
            }
        } else {
            let id = match ctx.kind {
                Kind::Shopify => {
                    let n = ids.next(rng, shop, "refund", 1, 1);
                    (985_612_000_000 + n * 10 + mix(n) % 10).to_string()
                }
                Kind::Woo => ids.next(rng, shop, "post", 4_100, 3).to_string(),
                Kind::Youzan => {
                    let n = ids.next(rng, shop, "refund", 1, 1);
                    format!("{}{:010}", compact_time(at, ctx.tz), 31_000 + n)
                }
                Kind::Pos => {
                    let store_id = stories[s]
                        .store
                        .and_then(|i| ctx.shop.stores.get(i))
                        .map(|st| st.store_id.clone())
                        .unwrap_or_else(|| ctx.shop.location_id.clone());
                    ids.daily("RF", &store_id, &compact_date(at, ctx.tz))
                }
                Kind::Market => {
                    let n = ids.next(rng, shop, "refund", 1, 1);
                    if channel == "jd" {
                        (24_123_400_000 + n).to_string()
                    } else {
                        (212_345_000_000_000 + n * 3).to_string()
                    }
                }
            };
            stories[s].refunds[r].id = id;
        }
    }
}

/// The city of a story as written by Chinese systems without `市`, or the store's city.
pub(crate) fn story_city(story: &Story, ctx: &ShopCtx<'_>) -> Option<String> {
    if let Some(store) = story.store.and_then(|i| ctx.shop.stores.get(i)) {
        return Some(store.city.clone());
    }
    story.city.map(|c| super::catalog::short_city(CITIES[c].name).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn stories_are_consistent() {
        let shops = super::super::default_shops();
        let ctxs: Vec<ShopCtx<'_>> = shops.iter().map(ShopCtx::new).collect();
        let cfg = SynthConfig::default();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let people = People::new(&mut rng, 100);
        for i in 0..2_000 {
            let s = new_story(&mut rng, &cfg, &ctxs, i % ctxs.len(), &people);
            assert!(!s.lines.is_empty() && s.lines.len() <= 4);
            assert_eq!(s.steps[0].kind, StepKind::Created);
            assert!(s.steps.len() <= 4);
            for w in s.steps.windows(2) {
                assert!(w[1].at >= w[0].at + Duration::seconds(MIN_STEP_GAP_S));
            }
            for l in &s.lines {
                assert!(l.discount() <= l.gross() && !l.discount().is_negative(), "{l:?}");
            }
            for r in &s.refunds {
                assert!(r.merchandise() <= s.net());
                for p in &r.parts {
                    assert!(p.quantity >= 1 && p.quantity <= s.lines[p.line].quantity);
                }
            }
            if s.has(StepKind::Cancelled) {
                assert!(!s.has(StepKind::Paid));
            }
        }
    }
}
