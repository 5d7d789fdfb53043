//! Feed files under `incoming/`: a POS end-of-day orders export (UTF-8, plus one store's older
//! POS writing GBK with CRLF), the ERP's inventory movements and the product catalog, each with
//! the columns of `fixtures/feeds/`. A few rows are deliberately bad and counted.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::catalog::{CATALOG, CENTRAL_WAREHOUSE};
use super::people::People;
use super::story::{compact_date, local_time, Ids, Kind, ShopCtx};
use super::text::{fmt_time, TimeStyle};
use super::{FeedFile, SynthConfig};
use crate::canonical::time::DEFAULT_TIME_ZONE;
use crate::money::Money;

/// One inventory movement (SPEC "Feed files", `inventory`).
#[derive(Debug, Clone)]
pub(crate) struct Movement {
    pub id: String,
    pub kind: &'static str,
    pub location: String,
    pub sku: &'static str,
    pub quantity: i64,
    pub unit_cost: Option<Money>,
    pub at: DateTime<Utc>,
    pub reference: Option<String>,
    pub expected_at: Option<DateTime<Utc>>,
}

/// The folder feeds without a shop of their own are uploaded to.
pub(crate) const ERP_FOLDER: &str = "erp";

/// Store hours for POS sales in the export.
const STORE_HOURS: [u32; 24] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 8, 7, 6, 7, 8, 8, 7, 8, 9, 8, 5, 0, 0];

/// Writes one CSV field (quoted when it must be).
fn field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn record(out: &mut String, fields: &[&str], eol: &str) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, f);
    }
    out.push_str(eol);
}

fn at_hm(day: NaiveDate, h: u32, m: u32, tz: Tz) -> DateTime<Utc> {
    super::text::local_to_utc(
        tz,
        day.and_hms_opt(h.min(23), m.min(59), 0).unwrap_or_else(|| day.and_time(chrono::NaiveTime::MIN)),
    )
}

fn unit_cost(rng: &mut ChaCha8Rng, sku: usize) -> Money {
    let base = CATALOG[sku].standard_cost;
    Money::from_minor(base * rng.gen_range(95..=105) / 100)
}

fn restock_quantity(rng: &mut ChaCha8Rng, sku: usize) -> i64 {
    match CATALOG[sku].category {
        "purifier" => rng.gen_range(10..=40),
        "filter" => rng.gen_range(60..=400),
        _ => rng.gen_range(20..=80),
    }
}

/// SKUs that are stocked (everything but the installation service).
fn stocked() -> Vec<usize> {
    (0..CATALOG.len()).filter(|&i| CATALOG[i].category != "service").collect()
}

/// The ERP's movements for the period, in time order, ids assigned (`MV-YYYYMMDD-NNNN`).
fn erp_movements(cfg: &SynthConfig, stores: &[String], rng: &mut ChaCha8Rng, tz: Tz) -> Vec<Movement> {
    let stocked = stocked();
    let scale = 1 + cfg.orders / 2_000;
    let mut out: Vec<Movement> = Vec::new();
    let mut po = 1100u32;
    let mut tr = 30u32;
    let days = cfg.days.max(1);
    let mv = |kind: &'static str, location: &str, sku: usize, quantity: i64, at: DateTime<Utc>| Movement {
        id: String::new(),
        kind,
        location: location.to_string(),
        sku: CATALOG[sku].sku,
        quantity,
        unit_cost: None,
        at,
        reference: None,
        expected_at: None,
    };
    let year = cfg.start_date.format("%Y").to_string();
    for d in 0..days {
        let day = cfg.start_date + Duration::days(i64::from(d));
        // Purchase orders: shipped by the supplier a few days ago, received today.
        for _ in 0..rng.gen_range(2..=3) * scale {
            po += 1;
            let reference = format!("PO-{year}-{po:04}");
            let shipped =
                at_hm(day - Duration::days(rng.gen_range(2..=4)), rng.gen_range(8..=15), rng.gen_range(0..60), tz);
            let received = at_hm(day, rng.gen_range(9..=16), rng.gen_range(0..60), tz);
            let mut skus: Vec<usize> = Vec::with_capacity(3);
            for _ in 0..rng.gen_range(1..=3) {
                let sku = stocked[rng.gen_range(0..stocked.len())];
                if skus.contains(&sku) {
                    continue;
                }
                skus.push(sku);
                let qty = restock_quantity(rng, sku);
                let mut s = mv("po_shipped", CENTRAL_WAREHOUSE, sku, qty, shipped);
                s.reference = Some(reference.clone());
                s.expected_at = Some(received - Duration::minutes(30));
                let mut r = mv("receipt", CENTRAL_WAREHOUSE, sku, qty, received);
                r.reference = Some(reference.clone());
                r.unit_cost = Some(unit_cost(rng, sku));
                out.push(s);
                out.push(r);
            }
        }
        // Store replenishment: out of the warehouse in the morning, into the store that afternoon.
        if !stores.is_empty() {
            for k in 0..rng.gen_range(2..=3) * scale {
                tr += 1;
                let reference = format!("TR-{year}-{tr:04}");
                let store = &stores[rng.gen_range(0..stores.len())];
                let sku = stocked[rng.gen_range(0..stocked.len())];
                let qty = restock_quantity(rng, sku) / 4 + 1;
                let mut o = mv("transfer_out", CENTRAL_WAREHOUSE, sku, qty, at_hm(day, 9, rng.gen_range(0..60), tz));
                o.reference = Some(reference.clone());
                out.push(o);
                // The last transfer of the last day is still on the road.
                if !(d + 1 == days && k == 0) {
                    let mut i = mv(
                        "transfer_in",
                        store,
                        sku,
                        qty,
                        at_hm(day, rng.gen_range(14..=18), rng.gen_range(0..60), tz),
                    );
                    i.reference = Some(reference);
                    out.push(i);
                }
            }
            let store = &stores[rng.gen_range(0..stores.len())];
            let sku = stocked[rng.gen_range(0..stocked.len())];
            let delta = if rng.gen_bool(0.8) { -rng.gen_range(1..=3) } else { 1 };
            let mut a = mv("adjustment", store, sku, delta, at_hm(day, 18, rng.gen_range(0..60), tz));
            a.reference = Some(format!("ADJ-{year}-{:04}", 10 + d));
            out.push(a);
            let store = &stores[rng.gen_range(0..stores.len())];
            let sku = stocked[rng.gen_range(0..stocked.len())];
            let mut c = mv("count", store, sku, rng.gen_range(20..=80), at_hm(day, 21, rng.gen_range(0..30), tz));
            c.reference = Some(format!("CNT-{}", compact_date(at_hm(day, 12, 0, tz), tz)));
            out.push(c);
        }
    }
    // A purchase order still in transit at the end of the period.
    po += 1;
    let last = cfg.start_date + Duration::days(i64::from(days) - 1);
    let sku = stocked[rng.gen_range(0..stocked.len())];
    let mut s = mv("po_shipped", CENTRAL_WAREHOUSE, sku, restock_quantity(rng, sku), at_hm(last, 14, 0, tz));
    s.reference = Some(format!("PO-{year}-{po:04}"));
    s.expected_at = Some(at_hm(last + Duration::days(4), 10, 0, tz));
    out.push(s);

    out.sort_by(|a, b| a.at.cmp(&b.at).then(a.kind.cmp(b.kind)));
    let mut seq = 0;
    for m in &mut out {
        seq += 1;
        m.id = format!("MV-{}-{seq:04}", compact_date(m.at, tz));
    }
    out
}

/// Store transfers confirmed in real time through Standard Webhooks (`MV-RT-…` ids).
pub(crate) fn realtime_movements(cfg: &SynthConfig, stores: &[String], rng: &mut ChaCha8Rng, tz: Tz) -> Vec<Movement> {
    if stores.is_empty() {
        return Vec::new();
    }
    let stocked = stocked();
    let mut out = Vec::new();
    let mut seq = 0;
    for d in 0..cfg.days.max(1) {
        let day = cfg.start_date + Duration::days(i64::from(d));
        for _ in 0..1 + cfg.orders / 1_000 {
            seq += 1;
            let store = &stores[rng.gen_range(0..stores.len())];
            let sku = stocked[rng.gen_range(0..stocked.len())];
            let qty = rng.gen_range(2..=12);
            let reference = format!("TR-RT-{}-{seq:04}", compact_date(at_hm(day, 12, 0, tz), tz));
            let out_at = at_hm(day, rng.gen_range(8..=11), rng.gen_range(0..60), tz);
            let in_at = out_at + Duration::minutes(rng.gen_range(90..=300));
            for (kind, location, at) in
                [("transfer_out", CENTRAL_WAREHOUSE, out_at), ("transfer_in", store.as_str(), in_at)]
            {
                out.push(Movement {
                    id: format!("MV-RT-{}-{:04}", compact_date(at, tz), out.len() + 1),
                    kind,
                    location: location.to_string(),
                    sku: CATALOG[sku].sku,
                    quantity: qty,
                    unit_cost: None,
                    at,
                    reference: Some(reference.clone()),
                    expected_at: None,
                });
            }
        }
    }
    out
}

/// What the feed files hold.
#[derive(Debug, Default)]
pub(crate) struct Feeds {
    pub files: Vec<FeedFile>,
}

fn money_text(m: Money) -> String {
    m.to_string()
}

fn inventory_file(movements: &[Movement], key: String, tz: Tz) -> FeedFile {
    let mut text = String::from("movement_id,type,location_id,sku,quantity,unit_cost,at,reference,expected_at\n");
    let mut rows = 0;
    let bad_at = [movements.len() / 3, movements.len() * 2 / 3];
    for (i, m) in movements.iter().enumerate() {
        let at = fmt_time(m.at, tz, TimeStyle::Offset);
        let qty = m.quantity.to_string();
        let cost = m.unit_cost.map(money_text).unwrap_or_default();
        let expected = m.expected_at.map(|e| fmt_time(e, tz, TimeStyle::Offset)).unwrap_or_default();
        record(
            &mut text,
            &[&m.id, m.kind, &m.location, m.sku, &qty, &cost, &at, m.reference.as_deref().unwrap_or(""), &expected],
            "\n",
        );
        rows += 1;
        if i == bad_at[0] {
            // Bad row: a receipt without its unit cost.
            let id = format!("{}-X1", m.id);
            record(&mut text, &[&id, "receipt", CENTRAL_WAREHOUSE, m.sku, "12", "", &at, "PO-UNKNOWN", ""], "\n");
            rows += 1;
        }
        if i == bad_at[1] {
            // Bad row: a movement type the ERP's export does not define.
            let id = format!("{}-X2", m.id);
            record(&mut text, &[&id, "transfer", CENTRAL_WAREHOUSE, m.sku, "3", "", &at, "TR-MANUAL", ""], "\n");
            rows += 1;
        }
    }
    FeedFile { key, bytes: text.into_bytes(), rows, bad_rows: 2, events: rows - 2 }
}

fn products_file(key: String) -> FeedFile {
    let mut text = String::from("sku,name,category,standard_cost,requires_installation,is_consumable\n");
    for s in CATALOG {
        let cost = Money::from_minor(s.standard_cost).to_string();
        let flag = |b: bool| if b { "true" } else { "false" };
        record(
            &mut text,
            &[s.sku, s.name_zh, s.category, &cost, flag(s.requires_installation), flag(s.is_consumable)],
            "\n",
        );
    }
    FeedFile { key, bytes: text.into_bytes(), rows: CATALOG.len(), bad_rows: 0, events: CATALOG.len() }
}

const ORDER_HEADER: &str =
    "order_id,store_id,salesperson,placed_at,status,phone,sku,quantity,unit_price,discount,updated_at,email,city";

/// Builds the POS export files of the POS shop (UTF-8, and GBK for the last store).
fn pos_files(
    cfg: &SynthConfig,
    ctx: &ShopCtx<'_>,
    people: &People,
    ids: &mut Ids,
    rng: &mut ChaCha8Rng,
) -> Vec<FeedFile> {
    let stores = &ctx.shop.stores;
    if stores.is_empty() {
        return Vec::new();
    }
    let gbk_store = (stores.len() > 1).then(|| stores.len() - 1);
    let n = (cfg.orders / 25).max(4);
    // (placed_at, store, rows)
    let mut orders: Vec<(DateTime<Utc>, usize, Vec<[String; 13]>)> = Vec::with_capacity(n);
    for _ in 0..n {
        let day = cfg.start_date + Duration::days(rng.gen_range(0..i64::from(cfg.days.max(1))));
        let placed = local_time(rng, day, &STORE_HOURS, ctx.tz);
        let s = rng.gen_range(0..stores.len());
        let store = &stores[s];
        let salesperson = if store.salespeople.is_empty() {
            String::new()
        } else {
            store.salespeople[rng.gen_range(0..store.salespeople.len())].clone()
        };
        let person = rng.gen_bool(0.7).then(|| people.get(people.pick(rng, ctx.region)));
        let status = if rng.gen_bool(0.07) { "cancelled" } else { "paid" };
        let updated = placed + Duration::seconds(rng.gen_range(60..=300));
        let mut lines = super::story::pos_lines(rng, ctx.currency);
        lines.truncate(4);
        let phone =
            person.map(|p| if p.index % 2 == 0 { p.mobile.clone() } else { p.phone_typed() }).unwrap_or_default();
        let email = person.and_then(|p| p.email.clone()).filter(|_| rng.gen_bool(0.4)).unwrap_or_default();
        let rows = lines
            .iter()
            .map(|l| {
                [
                    String::new(),
                    store.store_id.clone(),
                    salesperson.clone(),
                    fmt_time(placed, ctx.tz, TimeStyle::Offset),
                    status.to_string(),
                    phone.clone(),
                    CATALOG[l.sku].sku.to_string(),
                    l.quantity.to_string(),
                    l.unit_price.to_string(),
                    l.discount().to_string(),
                    fmt_time(updated, ctx.tz, TimeStyle::Offset),
                    email.clone(),
                    store.city.clone(),
                ]
            })
            .collect();
        orders.push((placed, s, rows));
    }
    orders.sort_by_key(|o| o.0);
    // Receipt numbers follow the time of sale within each store and day.
    for (placed, s, rows) in &mut orders {
        let order_id = ids.daily("POS", &stores[*s].store_id, &compact_date(*placed, ctx.tz));
        for row in rows.iter_mut() {
            row[0].clone_from(&order_id);
        }
    }

    let start = cfg.start_date.format("%Y-%m-%d");
    let shop = ctx.shop_id();
    let mut utf8 = format!("{ORDER_HEADER}\n");
    let mut gbk = format!("{ORDER_HEADER}\r\n");
    let (mut utf8_rows, mut utf8_events, mut gbk_rows, mut gbk_events) = (0, 0, 0, 0);
    for (i, (_, s, rows)) in orders.iter().enumerate() {
        let to_gbk = Some(*s) == gbk_store;
        for row in rows {
            let fields: Vec<&str> = row.iter().map(String::as_str).collect();
            if to_gbk {
                record(&mut gbk, &fields, "\r\n");
                gbk_rows += 1;
            } else {
                record(&mut utf8, &fields, "\n");
                utf8_rows += 1;
            }
        }
        if to_gbk {
            gbk_events += 1
        } else {
            utf8_events += 1
        }
        if i == orders.len() / 2 {
            // Bad rows: a fractional quantity, and a row with one field too many.
            let store = &stores[0];
            let at = fmt_time(orders[i].0, ctx.tz, TimeStyle::Offset);
            let date = compact_date(orders[i].0, ctx.tz);
            let id1 = ids.daily("POS", &store.store_id, &date);
            record(
                &mut utf8,
                &[
                    &id1,
                    &store.store_id,
                    "",
                    &at,
                    "paid",
                    "",
                    "FLT-PP-10",
                    "1.5",
                    "39.00",
                    "0.00",
                    &at,
                    "",
                    &store.city,
                ],
                "\n",
            );
            let id2 = ids.daily("POS", &store.store_id, &date);
            record(
                &mut utf8,
                &[
                    &id2,
                    &store.store_id,
                    "",
                    &at,
                    "paid",
                    "",
                    "FLT-CTO-10",
                    "2",
                    "59.00",
                    "0.00",
                    &at,
                    "",
                    &store.city,
                    "备注",
                ],
                "\n",
            );
            utf8_rows += 2;
        }
    }
    let mut files = vec![FeedFile {
        key: format!("incoming/orders/{shop}/pos-orders-{start}.csv"),
        bytes: utf8.into_bytes(),
        rows: utf8_rows,
        bad_rows: 2,
        events: utf8_events,
    }];
    if gbk_rows > 0 {
        let (bytes, _, _) = encoding_rs::GBK.encode(&gbk);
        let store = gbk_store.map(|s| stores[s].store_id.to_ascii_lowercase()).unwrap_or_default();
        files.push(FeedFile {
            key: format!("incoming/orders/{shop}/pos-orders-{store}-{start}-gbk.csv"),
            bytes: bytes.into_owned(),
            rows: gbk_rows,
            bad_rows: 0,
            events: gbk_events,
        });
    }
    files
}

/// All feed files, in upload order.
pub(crate) fn build(
    cfg: &SynthConfig,
    shops: &[ShopCtx<'_>],
    people: &People,
    ids: &mut Ids,
    rng: &mut ChaCha8Rng,
) -> Feeds {
    let pos = shops.iter().find(|s| s.kind == Kind::Pos && !s.shop.stores.is_empty());
    let tz = pos.map(|p| p.tz).unwrap_or(DEFAULT_TIME_ZONE);
    let stores: Vec<String> =
        pos.map(|p| p.shop.stores.iter().map(|s| s.store_id.clone()).collect()).unwrap_or_default();
    let start = cfg.start_date.format("%Y-%m-%d");
    let mut files = vec![products_file(format!("incoming/products/{ERP_FOLDER}/catalog-{start}.csv"))];
    let movements = erp_movements(cfg, &stores, rng, tz);
    files.push(inventory_file(&movements, format!("incoming/inventory/{ERP_FOLDER}/movements-{start}.csv"), tz));
    if let Some(ctx) = pos {
        files.extend(pos_files(cfg, ctx, people, ids, rng));
    }
    Feeds { files }
}
