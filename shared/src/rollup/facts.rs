//! Reading canonical JSON lines into a [`Partial`]: borrowed parsing (no per-field allocation
//! unless a string has escapes), stale order versions skipped before their lines are built.
//! Orders, the bulk of a day, go through the pull scanner of `scan.rs` into an [`OrderSink`]; the
//! other kinds (few lines) through serde.

use std::borrow::Cow;

use serde::Deserialize;

use super::partial::{
    order_key, split_raw_key, LineFacts, MemberLink, MovementFacts, OrderHead, OrderIds, OrderRef, Partial,
    ProductFacts, RefundLineFacts, Sym, NO_SYM,
};
use super::scan::{ScanResult, Scanner};
use super::time::parse_instant;
use super::RollupError;
use crate::canonical::MovementType;
use crate::money::Money;

/// Which canonical prefix an object came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum InputKind {
    Orders,
    Inventory,
    Products,
    OrderMembers,
    MemberMerges,
}

impl InputKind {
    pub const ALL: [InputKind; 5] = [
        InputKind::Orders,
        InputKind::Inventory,
        InputKind::Products,
        InputKind::OrderMembers,
        InputKind::MemberMerges,
    ];

    /// The S3 prefix (and local directory) of the kind, below the bucket root.
    pub fn prefix(self) -> &'static str {
        match self {
            InputKind::Orders => "canonical/orders/",
            InputKind::Inventory => "canonical/inventory/",
            InputKind::Products => "canonical/products/",
            InputKind::OrderMembers => "canonical/order_members/",
            InputKind::MemberMerges => "canonical/member_merges/",
        }
    }

    pub fn of_key(key: &str) -> Option<InputKind> {
        InputKind::ALL.into_iter().find(|k| key.starts_with(k.prefix()))
    }
}

#[derive(Deserialize)]
struct MovementIn<'a> {
    #[serde(borrow)]
    movement_id: Cow<'a, str>,
    #[serde(rename = "type")]
    kind: MovementType,
    #[serde(borrow)]
    location_id: Cow<'a, str>,
    #[serde(borrow)]
    sku: Cow<'a, str>,
    quantity: i64,
    #[serde(default)]
    unit_cost: Option<Money>,
    #[serde(borrow)]
    at: Cow<'a, str>,
    #[serde(borrow, default)]
    reference: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ProductIn<'a> {
    #[serde(borrow)]
    sku: Cow<'a, str>,
    #[serde(default)]
    standard_cost: Option<Money>,
    #[serde(default)]
    requires_installation: Option<bool>,
    #[serde(borrow, default)]
    updated_at: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct MemberLineIn<'a> {
    #[serde(borrow)]
    platform: Cow<'a, str>,
    #[serde(borrow)]
    shop_id: Cow<'a, str>,
    #[serde(borrow)]
    order_id: Cow<'a, str>,
    version: i64,
    #[serde(borrow)]
    member_id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct MergeIn<'a> {
    #[serde(borrow)]
    member_id: Cow<'a, str>,
    #[serde(borrow)]
    merged_from: Vec<Cow<'a, str>>,
}

/// Where order versions go: a [`Partial`] (one thread), or the shards the parser threads
/// share (`parallel`). Interning gives the ids the order facts carry.
pub trait OrderSink {
    fn intern(&mut self, text: &str) -> Sym;
    /// Whether a version would be kept: lets the parser skip building stale versions.
    fn wants_order(&mut self, key: u128, version: i64, source_raw_key: &str) -> bool;
    fn offer_order(&mut self, key: u128, order: OrderRef<'_>);

    fn intern_opt(&mut self, text: Option<&str>) -> Sym {
        text.map_or(NO_SYM, |t| self.intern(t))
    }
}

impl OrderSink for Partial {
    fn intern(&mut self, text: &str) -> Sym {
        self.symbols.intern(text)
    }
    fn wants_order(&mut self, key: u128, version: i64, source_raw_key: &str) -> bool {
        Partial::wants_order(self, key, version, source_raw_key)
    }
    fn offer_order(&mut self, key: u128, order: OrderRef<'_>) {
        Partial::offer_order(self, key, order);
    }
}

/// Reads every line of one decompressed object into `partial`. A line that is not valid
/// canonical JSON fails the whole object with its key and line number: the rollup is exact or it
/// does not publish.
pub fn absorb_object(
    partial: &mut Partial,
    kind: InputKind,
    source_key: &str,
    text: &[u8],
) -> Result<u64, RollupError> {
    absorb_lines(partial, kind, source_key, text, 0).map(|(read, _)| read)
}

/// Reads the lines of a piece of an object (whole lines, after `lines_before` lines of the
/// object) into `partial`: the number of lines read (not blank) and of lines in the piece.
pub fn absorb_lines(
    partial: &mut Partial,
    kind: InputKind,
    source_key: &str,
    text: &[u8],
    lines_before: usize,
) -> Result<(u64, usize), RollupError> {
    if kind == InputKind::Orders {
        return absorb_order_lines(partial, source_key, text, lines_before);
    }
    let source = partial.symbols.intern(source_key);
    for_each_line(source_key, text, lines_before, |line| match kind {
        InputKind::Orders => Err("orders go through absorb_order_lines".to_string()),
        InputKind::Inventory => absorb_movement(partial, line, source),
        InputKind::Products => absorb_product(partial, line, source),
        InputKind::OrderMembers => absorb_member(partial, line),
        InputKind::MemberMerges => absorb_merge(partial, line),
    })
}

/// Reads the lines of a piece of an object of canonical orders (whole lines, after
/// `lines_before` lines of the object) into `sink`: the number of lines read (not blank) and of
/// lines in the piece.
pub fn absorb_order_lines(
    sink: &mut impl OrderSink,
    source_key: &str,
    text: &[u8],
    lines_before: usize,
) -> Result<(u64, usize), RollupError> {
    let mut scratch = OrderScratch::default();
    for_each_line(source_key, text, lines_before, |line| absorb_order(sink, line, &mut scratch))
}

/// Calls `read` with every non-blank line of `text` (lines `lines_before + 1…` of its object);
/// the first error fails the object, with the line's number. Returns the number of lines read
/// and of lines in `text`.
fn for_each_line<'t>(
    source_key: &str,
    text: &'t [u8],
    lines_before: usize,
    mut read: impl FnMut(&'t str) -> Result<(), String>,
) -> Result<(u64, usize), RollupError> {
    // One UTF-8 check for the whole piece (SIMD; std's finds where it fails); the lines are
    // then parsed as `str`, which spares the parsers a check per string. A piece is whole
    // lines, and a newline byte never falls inside a multi-byte character.
    let text = match simdutf8::basic::from_utf8(text) {
        Ok(text) => text,
        Err(_) => std::str::from_utf8(text).map_err(|e| {
            let line = lines_before + text[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
            RollupError::BadInput { key: source_key.to_string(), line, message: "not UTF-8".into() }
        })?,
    };
    let mut lines = 0u64;
    let mut start = 0;
    let mut n = 0;
    while start < text.len() {
        // Lines by memchr: `str::split` searches a char at a time.
        let end = memchr::memchr(b'\n', &text.as_bytes()[start..]).map_or(text.len(), |i| start + i);
        let line = &text[start..end];
        start = end + 1;
        n += 1;
        if line.trim().is_empty() {
            continue;
        }
        read(line).map_err(|message| RollupError::BadInput {
            key: source_key.to_string(),
            line: lines_before + n,
            message,
        })?;
        lines += 1;
    }
    Ok((lines, n))
}

fn instant(field: &str, text: &str) -> Result<i64, String> {
    parse_instant(text).ok_or_else(|| format!("`{field}` is not an RFC 3339 time: {text:?}"))
}

fn instant_opt(field: &str, text: Option<&Cow<'_, str>>) -> Result<Option<i64>, String> {
    text.map(|t| instant(field, t)).transpose()
}

/// One order line as read: borrowed strings, amounts in cents.
struct LineIn<'a> {
    sku: Cow<'a, str>,
    quantity: i64,
    unit_price: i64,
    discount: i64,
    refunded_quantity: i64,
    refunded_amount: i64,
}

struct RefundLineIn<'a> {
    refund: usize,
    sku: Cow<'a, str>,
    quantity: i64,
    amount: i64,
}

/// Buffers reused from one order line to the next, so reading an order allocates nothing but
/// the facts that are kept.
#[derive(Default)]
struct OrderScratch<'a> {
    lines: Vec<LineIn<'a>>,
    /// The `at` of each refund (its id is not needed: refund lines count by time and SKU).
    refunds: Vec<Cow<'a, str>>,
    refund_lines: Vec<RefundLineIn<'a>>,
    /// The facts of a version that is kept, handed to the sink borrowed: the sink copies them
    /// into its stores.
    line_facts: Vec<LineFacts>,
    refund_facts: Vec<RefundLineFacts>,
    ids_text: String,
}

impl OrderScratch<'_> {
    fn clear(&mut self) {
        self.lines.clear();
        self.refunds.clear();
        self.refund_lines.clear();
        self.line_facts.clear();
        self.refund_facts.clear();
    }
}

fn duplicate(field: &str) -> String {
    format!("duplicate field `{field}`")
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("missing field `{field}`"))
}

/// The keys of a canonical order, a line, a refund and a refund line, in the order the
/// canonical model writes them (`CanonicalOrder`'s fields): [`Scanner::object_in_order`]
/// recognises them without scanning.
const ORDER_KEYS: &[&str] = &[
    "platform",
    "shop_id",
    "order_id",
    "version",
    "status",
    "placed_at",
    "paid_at",
    "shipped_at",
    "delivered_at",
    "currency",
    "customer",
    "lines",
    "shipping",
    "tax",
    "taxes_included",
    "refunds",
    "store_id",
    "salesperson",
    "city",
    "source_raw_key",
];
const LINE_KEYS: &[&str] = &["sku", "quantity", "unit_price", "discount", "refunded_quantity", "refunded_amount"];
const REFUND_KEYS: &[&str] = &["refund_id", "at", "lines", "shipping"];
const REFUND_LINE_KEYS: &[&str] = &["sku", "quantity", "amount"];

fn read_line<'a>(s: &mut Scanner<'a>) -> ScanResult<LineIn<'a>> {
    let (mut sku, mut quantity, mut unit_price) = (None, None, None);
    let (mut discount, mut refunded_quantity, mut refunded_amount) = (None, None, None);
    s.object_in_order(LINE_KEYS, |s, key| {
        match key {
            "sku" => sku = Some(s.string()?),
            "quantity" => quantity = Some(s.i64()?),
            "unit_price" => unit_price = Some(s.money()?),
            "discount" => discount = s.opt_money()?,
            "refunded_quantity" => refunded_quantity = s.opt_i64()?,
            "refunded_amount" => refunded_amount = s.opt_money()?,
            _ => s.skip()?,
        }
        Ok(())
    })?;
    Ok(LineIn {
        sku: required(sku, "lines[].sku")?,
        quantity: required(quantity, "lines[].quantity")?,
        unit_price: required(unit_price, "lines[].unit_price")?.minor(),
        discount: discount.map_or(0, Money::minor),
        refunded_quantity: refunded_quantity.unwrap_or(0),
        refunded_amount: refunded_amount.map_or(0, Money::minor),
    })
}

fn read_refund<'a>(s: &mut Scanner<'a>, scratch: &mut OrderScratch<'a>) -> ScanResult<()> {
    let refund = scratch.refunds.len();
    let (mut at, mut seen_lines) = (None, false);
    s.object_in_order(REFUND_KEYS, |s, key| {
        match key {
            "at" => at = Some(s.string()?),
            "lines" if std::mem::replace(&mut seen_lines, true) => return Err(duplicate("refunds[].lines")),
            "lines" => s.array(|s| {
                let (mut sku, mut quantity, mut amount) = (None, None, None);
                s.object_in_order(REFUND_LINE_KEYS, |s, key| {
                    match key {
                        "sku" => sku = Some(s.string()?),
                        "quantity" => quantity = s.opt_i64()?,
                        "amount" => amount = s.opt_money()?,
                        _ => s.skip()?,
                    }
                    Ok(())
                })?;
                scratch.refund_lines.push(RefundLineIn {
                    refund,
                    sku: required(sku, "refunds[].lines[].sku")?,
                    quantity: quantity.unwrap_or(0),
                    amount: amount.map_or(0, Money::minor),
                });
                Ok(())
            })?,
            _ => s.skip()?,
        }
        Ok(())
    })?;
    scratch.refunds.push(required(at, "refunds[].at")?);
    Ok(())
}

/// Reads one canonical order version with the [`Scanner`] (the hot path: see `scan.rs`).
fn absorb_order<'a>(sink: &mut impl OrderSink, line: &'a str, scratch: &mut OrderScratch<'a>) -> Result<(), String> {
    scratch.clear();
    let (mut platform, mut shop_id, mut order_id, mut version, mut status) = (None, None, None, None, None);
    let (mut placed_at, mut shipped_at, mut delivered_at, mut currency) = (None, None, None, None);
    let (mut store_id, mut salesperson, mut city, mut source_raw_key) = (None, None, None, None);
    let (mut seen_lines, mut seen_refunds) = (false, false);
    let mut s = Scanner::new(line);
    s.object_in_order(ORDER_KEYS, |s, key| {
        match key {
            // A repeated scalar field: the last one counts. A repeated list would add up twice:
            // refused, as serde refuses every repeated field.
            "lines" if std::mem::replace(&mut seen_lines, true) => return Err(duplicate("lines")),
            "refunds" if std::mem::replace(&mut seen_refunds, true) => return Err(duplicate("refunds")),
            "platform" => platform = Some(s.string()?),
            "shop_id" => shop_id = Some(s.string()?),
            "order_id" => order_id = Some(s.string()?),
            "version" => version = Some(s.i64()?),
            "status" => status = Some(s.string()?),
            "placed_at" => placed_at = Some(s.string()?),
            "shipped_at" => shipped_at = s.opt_string()?,
            "delivered_at" => delivered_at = s.opt_string()?,
            "currency" => currency = Some(s.string()?),
            "lines" => s.array(|s| {
                let l = read_line(s)?;
                scratch.lines.push(l);
                Ok(())
            })?,
            "refunds" => s.array(|s| read_refund(s, scratch))?,
            "store_id" => store_id = s.opt_string()?,
            "salesperson" => salesperson = s.opt_string()?,
            "city" => city = s.opt_string()?,
            "source_raw_key" => source_raw_key = s.opt_string()?,
            _ => s.skip()?,
        }
        Ok(())
    })?;
    s.finish()?;
    let (platform, shop_id) = (required(platform, "platform")?, required(shop_id, "shop_id")?);
    let order_id = required(order_id, "order_id")?;
    let version = required(version, "version")?;
    let source_raw_key = source_raw_key.unwrap_or_default();
    let key = order_key(&platform, &shop_id, &order_id);
    if !sink.wants_order(key, version, &source_raw_key) {
        return Ok(());
    }
    let status = required(status, "status")?;
    let currency = required(currency, "currency")?;
    let placed_at = instant("placed_at", &required(placed_at, "placed_at")?)?;
    let shipped_at = instant_opt("shipped_at", shipped_at.as_ref())?;
    let delivered_at = instant_opt("delivered_at", delivered_at.as_ref())?;
    let s = sink;
    let OrderScratch { lines, refunds, refund_lines, line_facts, refund_facts, ids_text } = scratch;
    line_facts.extend(lines.iter().map(|l| LineFacts {
        sku: s.intern(&l.sku),
        quantity: l.quantity,
        unit_price: l.unit_price,
        discount: l.discount,
        refunded_quantity: l.refunded_quantity,
        refunded_amount: l.refunded_amount,
    }));
    let mut refund_times = Vec::with_capacity(refunds.len());
    for at in refunds.iter() {
        refund_times.push(instant("refunds[].at", at)?);
    }
    refund_facts.extend(refund_lines.iter().map(|x| RefundLineFacts {
        at: refund_times[x.refund],
        sku: s.intern(&x.sku),
        quantity: x.quantity,
        amount: x.amount,
    }));
    let head = OrderHead {
        platform: s.intern(&platform),
        shop_id: s.intern(&shop_id),
        version,
        cancelled: status == "cancelled",
        status: s.intern(&status),
        placed_at,
        shipped_at: shipped_at.into(),
        delivered_at: delivered_at.into(),
        currency: s.intern(&currency),
        store_id: s.intern_opt(store_id.as_deref()),
        salesperson: s.intern_opt(salesperson.as_deref()),
        city: s.intern_opt(city.as_deref()),
    };
    let (folder, name) = split_raw_key(&source_raw_key);
    let ids = OrderIds::in_buffer(ids_text, &order_id, s.intern(folder), name).ok_or("order_id: too long")?;
    s.offer_order(key, OrderRef::new(&head, ids, line_facts, refund_facts));
    Ok(())
}

fn absorb_movement(partial: &mut Partial, line: &str, source: u32) -> Result<(), String> {
    let m: MovementIn = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let at = instant("at", &m.at)?;
    let s = &mut partial.symbols;
    let facts = MovementFacts {
        kind: m.kind,
        location_id: s.intern(&m.location_id),
        sku: s.intern(&m.sku),
        quantity: m.quantity,
        unit_cost: m.unit_cost.map(Money::minor),
        at,
        reference: s.intern_opt(m.reference.as_deref()),
        source,
    };
    partial.offer_movement(&m.movement_id, facts);
    Ok(())
}

fn absorb_product(partial: &mut Partial, line: &str, source: u32) -> Result<(), String> {
    let p: ProductIn = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let updated_at = instant_opt("updated_at", p.updated_at.as_ref())?;
    let sku = partial.symbols.intern(&p.sku);
    let facts = ProductFacts {
        updated_at,
        source,
        standard_cost: p.standard_cost.map(Money::minor),
        requires_installation: p.requires_installation.unwrap_or(false),
    };
    partial.offer_product(sku, facts);
    Ok(())
}

fn absorb_member(partial: &mut Partial, line: &str) -> Result<(), String> {
    let m: MemberLineIn = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let key = order_key(&m.platform, &m.shop_id, &m.order_id);
    let member_id = partial.symbols.intern(&m.member_id);
    partial.offer_member(key, MemberLink { version: m.version, member_id });
    Ok(())
}

fn absorb_merge(partial: &mut Partial, line: &str) -> Result<(), String> {
    let m: MergeIn = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let survivor = partial.symbols.intern(&m.member_id);
    for absorbed in &m.merged_from {
        let absorbed = partial.symbols.intern(absorbed);
        if absorbed != survivor && absorbed != NO_SYM {
            partial.merges.insert((absorbed, survivor));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partial_of(text: &str) -> Result<Partial, RollupError> {
        let mut p = Partial::default();
        absorb_object(&mut p, InputKind::Orders, "canonical/orders/dt=2026-11-02/a.jsonl", text.as_bytes())?;
        Ok(p)
    }

    const PLAIN: &str = r#"{"platform":"shopify","shop_id":"s1","order_id":"1001","version":3,"status":"paid","placed_at":"2026-11-02T10:00:00+08:00","currency":"CNY","customer":{"phone":"+86"},"lines":[{"sku":"SKU-1","quantity":2,"unit_price":"10.50","discount":"1.00","refunded_quantity":1,"refunded_amount":"9.50"}],"refunds":[{"refund_id":"r1","at":"2026-11-02T12:00:00+08:00","lines":[{"sku":"SKU-1","quantity":1,"amount":"9.50"}]}],"store_id":"ST-1","city":"上海","source_raw_key":"raw/a.json"}"#;

    #[test]
    fn the_same_order_written_differently_gives_the_same_facts() {
        // Keys reordered, whitespace, escapes, explicit nulls, money as numbers, unknown fields.
        let other = r#"  { "source_raw_key" : "raw\/a.json", "city": "\u4e0a\u6d77", "store_id": "ST-1",
            "salesperson": null, "shipped_at": null, "extra": {"deep": [1, {"x": null}], "s": "\""},
            "refunds": [{"lines": [{"amount": 9.5, "quantity": 1, "sku": "SKU\u002d1"}],
                         "at": "2026-11-02T12:00:00+08:00", "refund_id": "r1"}],
            "lines": [{"refunded_amount": "9.5", "refunded_quantity": 1, "discount": 1, "unit_price": 10.5,
                       "quantity": 2, "sku": "SKU-1", "note": "ignored"}],
            "currency": "CNY", "placed_at": "2026-11-02T02:00:00Z", "status": "paid", "version": 3,
            "order_id": "1001", "shop_id": "s1", "platform": "shopify" }  "#;
        let other = other.replace('\n', " "); // one JSON document per line
        let a = partial_of(PLAIN).expect("plain");
        let b = partial_of(&other).expect("other");
        assert_eq!(a.orders.len(), 1);
        assert_eq!(a.canonical_view(), b.canonical_view());
        let o = a.orders.values().next().expect("order");
        assert_eq!((o.lines[0].unit_price, o.lines[0].discount, o.refunds[0].amount), (1050, 100, 950));
        assert_eq!(&**a.symbols.name(o.city), "上海");
    }

    #[test]
    fn a_bad_line_fails_the_object_with_its_line_number() {
        let cases = [
            (PLAIN.replace(r#""sku":"SKU-1","quantity":2"#, r#""quantity":2"#), "missing field `lines[].sku`"),
            (PLAIN.replace(r#""version":3"#, r#""version":3.5"#), "expected an integer"),
            (PLAIN.replace(r#""unit_price":"10.50""#, r#""unit_price":"10.505""#), "more than two"),
            (PLAIN.replace(r#""placed_at":"2026-11-02T10:00:00+08:00""#, r#""placed_at":"yesterday""#), "RFC 3339"),
            (format!("{PLAIN} x"), "trailing characters"),
            (PLAIN.replace(r#""status":"paid","#, ""), "missing field `status`"),
            (PLAIN.replace(r#""refunds":["#, r#""lines":[],"refunds":["#), "duplicate field `lines`"),
        ];
        for (bad, why) in cases {
            // Another order: a stale version of the first would be skipped before its facts are read.
            let bad = bad.replace(r#""order_id":"1001""#, r#""order_id":"1002""#);
            let text = format!("{PLAIN}\n{bad}\n");
            match partial_of(&text) {
                Err(RollupError::BadInput { line, message, .. }) => {
                    assert_eq!(line, 2, "{why}");
                    assert!(message.contains(why), "{message} lacks {why}");
                }
                other => panic!("{why}: {:?}", other.map(|p| p.orders.len())),
            }
        }
    }

    /// The top-level keys of `json`, in order, and the keys of each object in its `field` array.
    fn key_order(json: &str, field: &str) -> (Vec<String>, Vec<String>) {
        let (mut top, mut inner) = (Vec::new(), Vec::new());
        let mut s = Scanner::new(json);
        s.object(|s, key| {
            top.push(key.to_string());
            if key != field {
                return s.skip();
            }
            s.array(|s| {
                inner.clear();
                s.object(|s, key| {
                    inner.push(key.to_string());
                    s.skip()
                })
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
        (top, inner)
    }

    #[test]
    fn the_key_lists_follow_the_canonical_model() {
        // Every optional field present, so the model writes every key it has.
        let full = PLAIN.replace(
            r#""currency":"CNY""#,
            r#""paid_at":"2026-11-02T10:01:00+08:00","shipped_at":"2026-11-02T11:00:00+08:00","delivered_at":"2026-11-02T12:00:00+08:00","currency":"CNY""#,
        ).replace(r#""store_id":"ST-1""#, r#""store_id":"ST-1","salesperson":"sp-1""#);
        let order: crate::canonical::CanonicalOrder = serde_json::from_str(&full).unwrap_or_else(|e| panic!("{e}"));
        let written = serde_json::to_string(&order).unwrap_or_else(|e| panic!("{e}"));
        let (top, lines) = key_order(&written, "lines");
        let (_, refunds) = key_order(&written, "refunds");
        let refund = serde_json::to_string(&order.refunds[0]).unwrap_or_else(|e| panic!("{e}"));
        let (_, refund_lines) = key_order(&refund, "lines");
        for (list, model) in
            [(ORDER_KEYS, top), (LINE_KEYS, lines), (REFUND_KEYS, refunds), (REFUND_LINE_KEYS, refund_lines)]
        {
            assert_eq!(list.iter().map(|k| k.to_string()).collect::<Vec<_>>(), model);
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_fail_the_object_with_their_line_number() {
        let mut text = format!("{PLAIN}\n{PLAIN}\n").into_bytes();
        let at = text.len() + 30;
        text.extend_from_slice(format!("{PLAIN}\n").as_bytes());
        text[at] = 0xff;
        let mut p = Partial::default();
        match absorb_object(&mut p, InputKind::Orders, "canonical/orders/dt=2026-11-02/a.jsonl", &text) {
            Err(RollupError::BadInput { line, message, .. }) => assert_eq!((line, message.as_str()), (3, "not UTF-8")),
            other => panic!("read as {:?}", other),
        }
    }

    #[test]
    fn a_stale_version_is_skipped_and_blank_lines_are_fine() {
        let older = PLAIN.replace(r#""version":3"#, r#""version":2"#).replace(r#""quantity":2"#, r#""quantity":5"#);
        let p = partial_of(&format!("\n{PLAIN}\n\n{older}\r\n")).expect("read");
        let o = p.orders.values().next().expect("order");
        assert_eq!((o.version, o.lines[0].quantity), (3, 2));
    }
}
