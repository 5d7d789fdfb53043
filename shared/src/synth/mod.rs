//! Seeded synthetic data: a water-purifier dealer's days of orders across Shopify,
//! WooCommerce, Youzan and Standard Webhooks senders (POS stores, a Tmall/JD middleware), with
//! the platforms' real body shapes, duplicates, reordering and forged deliveries, plus the feed
//! files its POS and ERP upload. Used by `omnilake gen`, the demo, end-to-end tests and
//! benchmarks.
//!
//! Everything is derived from [`SynthConfig::seed`] through one `ChaCha8Rng`, so the same
//! configuration gives byte-identical output. [`Expected`] says what a correct pipeline makes
//! of it: the order versions the parsers produce, how many distinct events land, how many
//! deliveries must be rejected and how the feed files split.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::platforms::Platform;

mod catalog;
mod feeds;
mod formats;
mod io;
mod people;
mod schedule;
mod story;
#[cfg(test)]
mod tests;
mod text;

pub use io::{read_dir, write_dir, MANIFEST_FILE, MANIFEST_FORMAT};

use formats::standard;
use people::People;
use schedule::Pending;
use story::{assign_ids, new_story, Ids, Kind, ShopCtx, Story};

/// The Youzan app id used when a Youzan shop names none.
pub const DEFAULT_YOUZAN_CLIENT_ID: &str = "omnilake-local";

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynthConfig {
    /// Orders sent as webhooks, spread over the shops by their `weight` (POS export orders in
    /// the feed files come on top: `max(4, orders / 25)`).
    pub orders: usize,
    pub seed: u64,
    /// First business day.
    pub start_date: NaiveDate,
    /// Number of business days orders are placed on (0 is taken as 1). Later steps of an
    /// order (shipping, refunds) may fall after the last day.
    pub days: u32,
    /// Extra deliveries signed with a wrong secret, which must be rejected.
    pub forged: usize,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            orders: 200,
            seed: 42,
            start_date: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default(),
            days: 1,
            forged: 3,
        }
    }
}

/// A physical store of a POS shop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynthStore {
    pub store_id: String,
    /// As POS systems write it, without `市` (`深圳`).
    pub city: String,
    pub salespeople: Vec<String>,
}

/// A shop the generator sends for (and the settings to register it with).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynthShop {
    /// The route's sender format.
    #[serde(with = "platform_name")]
    pub platform: Platform,
    pub shop_id: String,
    /// IANA name; an unknown name is taken as `Asia/Shanghai`.
    pub time_zone: String,
    /// ISO 4217; prices come from the USD, EUR or (otherwise) CNY price list.
    pub currency: String,
    pub location_id: String,
    /// Youzan app id (`Client-Id` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Standard Webhooks senders: the canonical `platform` values they send (`["pos"]`,
    /// `["tmall", "jd"]`). Empty for other formats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
    /// POS shops: their stores (orders carry `store_id` and `salesperson`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<SynthStore>,
    /// Relative share of the orders.
    pub weight: u32,
}

/// Which canonical order version a delivery parses to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OrderVersionRef {
    /// The canonical `platform` (sales channel): `shopify`, `woocommerce`, `youzan`, `pos`, `tmall`, `jd`.
    pub platform: String,
    pub shop_id: String,
    pub order_id: String,
    pub version: i64,
}

/// One HTTP delivery to `POST /webhooks/{platform}/{shop_id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthDelivery {
    /// Send order, from 1.
    pub seq: usize,
    pub platform: Platform,
    pub shop_id: String,
    /// Shopify `X-Shopify-Topic`, WooCommerce `X-WC-Webhook-Topic`, Youzan `Event-Type`,
    /// Standard Webhooks envelope `type`.
    pub topic: String,
    /// Shopify `X-Shopify-Webhook-Id`, Standard `webhook-id` (both the same on every copy of a
    /// duplicate), Youzan `msg_id`, WooCommerce `X-WC-Webhook-Delivery-ID`.
    pub delivery_id: String,
    /// When the platform sends it (simulated; `seq` is the arrival order, which shuffling
    /// makes differ locally).
    pub at: DateTime<Utc>,
    pub body: Vec<u8>,
    /// To be signed with a wrong secret: must be answered 401 and stored nowhere.
    pub forged: bool,
    /// The canonical order version the body parses to; `None` for notices, refunds-only
    /// bodies, deletions, sign-ups, inventory and products. Forged deliveries name the
    /// (fresh) order version they would have created, so a check can prove it never lands.
    pub order: Option<OrderVersionRef>,
}

/// One feed file to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedFile {
    /// `incoming/{orders|inventory|products}/{shop}/{name}.csv`.
    pub key: String,
    pub bytes: Vec<u8>,
    /// Data rows (header excluded).
    pub rows: usize,
    /// Rows that must be quarantined.
    pub bad_rows: usize,
    /// Raw events the file splits into (one per POS order, movement or product).
    pub events: usize,
}

/// What a correct pipeline makes of the output.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Expected {
    /// Distinct event keys among authentic deliveries (raw objects that land).
    pub unique_authentic_deliveries: usize,
    /// Every canonical order version the authentic deliveries parse to.
    pub order_versions: BTreeSet<OrderVersionRef>,
    /// Deliveries signed with a wrong secret.
    pub forged_deliveries: usize,
    /// Extra copies of authentic deliveries (same event key as an earlier or later one).
    pub duplicate_deliveries: usize,
    /// Raw events the feed files split into.
    pub feed_events: usize,
    /// Feed rows that go to quarantine.
    pub feed_bad_rows: usize,
}

/// Everything generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthOutput {
    pub config: SynthConfig,
    pub shops: Vec<SynthShop>,
    /// In send order.
    pub deliveries: Vec<SynthDelivery>,
    pub feeds: Vec<FeedFile>,
    pub expected: Expected,
}

/// The dealer's shops: Shopify (US), WooCommerce (Germany), Youzan (WeChat), the POS of three
/// stores, and a middleware forwarding Tmall and JD orders.
pub fn default_shops() -> Vec<SynthShop> {
    let shop = |platform, shop_id: &str, tz: &str, currency: &str, location: &str, weight| SynthShop {
        platform,
        shop_id: shop_id.into(),
        time_zone: tz.into(),
        currency: currency.into(),
        location_id: location.into(),
        client_id: None,
        channels: Vec::new(),
        stores: Vec::new(),
        weight,
    };
    let mut youzan = shop(Platform::Youzan, "qingquan-wx", "Asia/Shanghai", "CNY", catalog::CENTRAL_WAREHOUSE, 25);
    youzan.client_id = Some("3f2a9c1e7b5d4a6c8e".into());
    let mut pos = shop(Platform::Standard, "pos-sz", "Asia/Shanghai", "CNY", "SZ-NS-01", 25);
    pos.channels = vec!["pos".into()];
    pos.stores = catalog::POS_STORES
        .iter()
        .map(|(id, city, staff)| SynthStore {
            store_id: (*id).into(),
            city: (*city).into(),
            salespeople: staff.iter().map(|s| (*s).to_string()).collect(),
        })
        .collect();
    let mut market =
        shop(Platform::Standard, "mw-marketplaces", "Asia/Shanghai", "CNY", catalog::CENTRAL_WAREHOUSE, 15);
    market.channels = vec!["tmall".into(), "jd".into()];
    vec![
        shop(Platform::Shopify, "qingquan-intl", "America/Los_Angeles", "USD", "WH-US-LA", 20),
        shop(Platform::WooCommerce, "qingquan-eu", "Europe/Berlin", "EUR", "WH-DE-FRA", 15),
        youzan,
        pos,
        market,
    ]
}

fn pick_shop(rng: &mut ChaCha8Rng, shops: &[SynthShop]) -> Option<usize> {
    let total: u64 = shops.iter().map(|s| u64::from(s.weight)).sum();
    if total == 0 {
        return None;
    }
    let mut x = rng.gen_range(0..total);
    for (i, s) in shops.iter().enumerate() {
        if x < u64::from(s.weight) {
            return Some(i);
        }
        x -= u64::from(s.weight);
    }
    None
}

fn pending_for(story: &Story, ctx: &ShopCtx<'_>, emitted: formats::Emitted, forged: bool) -> Pending {
    let order = emitted.version.map(|version| OrderVersionRef {
        platform: story.channel.clone(),
        shop_id: ctx.shop.shop_id.clone(),
        order_id: story.order_id.clone(),
        version,
    });
    Pending { shop: story.shop, emitted, order, forged }
}

/// Generates deliveries, feed files and the expected outcome for `shops`.
pub fn generate(cfg: &SynthConfig, shops: &[SynthShop]) -> SynthOutput {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let ctxs: Vec<ShopCtx<'_>> = shops.iter().map(ShopCtx::new).collect();
    let mut people = People::new(&mut rng, (cfg.orders * 2 / 5).clamp(30, 50_000));

    let mut stories: Vec<Story> = Vec::with_capacity(cfg.orders);
    for _ in 0..cfg.orders {
        let Some(shop) = pick_shop(&mut rng, shops) else { break };
        stories.push(new_story(&mut rng, cfg, &ctxs, shop, &people));
    }
    let mut ids = Ids::default();
    assign_ids(&mut rng, &mut stories, &ctxs, &mut ids);
    stories.sort_by(|a, b| a.created_at().cmp(&b.created_at()).then(a.order_id.cmp(&b.order_id)));

    let mut pending: Vec<Pending> = Vec::with_capacity(cfg.orders * 4);
    let mut out = Vec::with_capacity(8);
    for story in &stories {
        let ctx = &ctxs[story.shop];
        if ctx.kind == Kind::Pos {
            if let Some(c) = story.customer {
                if !people.signed_up[c] && rng.gen_bool(0.6) {
                    people.signed_up[c] = true;
                    let at = story.created_at() - chrono::Duration::seconds(rng.gen_range(60..600));
                    let e = standard::signup(ctx.shop_id(), ctx.tz, people.get(c), at, &mut rng);
                    pending.push(Pending { shop: story.shop, emitted: e, order: None, forged: false });
                }
            }
        }
        out.clear();
        formats::emit(story, ctx, &people, &mut rng, &mut out);
        pending.extend(out.drain(..).map(|e| pending_for(story, ctx, e, false)));
    }

    // The ERP pushes some stock movements and catalog changes through the POS shop's route.
    if let Some(pos) = ctxs.iter().position(|c| c.kind == Kind::Pos) {
        let ctx = &ctxs[pos];
        let stores: Vec<String> = ctx.shop.stores.iter().map(|s| s.store_id.clone()).collect();
        for m in feeds::realtime_movements(cfg, &stores, &mut rng, ctx.tz) {
            pending.push(Pending {
                shop: pos,
                emitted: standard::movement(&m, ctx.tz, &mut rng),
                order: None,
                forged: false,
            });
        }
        let changes = 2 + cfg.orders / 2_000;
        for k in 0..changes {
            let sku = &catalog::CATALOG[rng.gen_range(0..catalog::CATALOG.len())];
            let cost = crate::money::Money::from_minor(sku.standard_cost * rng.gen_range(97..=104) / 100);
            let day = cfg.start_date + chrono::Duration::days(i64::from(k as u32 % cfg.days.max(1)));
            let at = story::local_time(
                &mut rng,
                day,
                &[0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
                ctx.tz,
            );
            pending.push(Pending {
                shop: pos,
                emitted: standard::product(sku, cost, at, &mut rng),
                order: None,
                forged: false,
            });
        }
    }

    let unique_authentic_deliveries = pending.len();
    let order_versions: BTreeSet<OrderVersionRef> = pending.iter().filter_map(|p| p.order.clone()).collect();

    // Forged deliveries: fresh orders (new ids), first version only.
    let mut forged_stories: Vec<Story> = Vec::with_capacity(cfg.forged);
    if !shops.is_empty() {
        for k in 0..cfg.forged {
            forged_stories.push(new_story(&mut rng, cfg, &ctxs, k % shops.len(), &people));
        }
    }
    assign_ids(&mut rng, &mut forged_stories, &ctxs, &mut ids);
    let mut forged_deliveries = 0;
    for story in &forged_stories {
        let ctx = &ctxs[story.shop];
        if let Some(e) = formats::emit_first(story, ctx, &people, &mut rng) {
            pending.push(pending_for(story, ctx, e, true));
            forged_deliveries += 1;
        }
    }

    let scheduled = schedule::schedule(pending, shops, &mut rng);
    let feed_files = feeds::build(cfg, &ctxs, &people, &mut ids, &mut rng).files;
    let expected = Expected {
        unique_authentic_deliveries,
        order_versions,
        forged_deliveries,
        duplicate_deliveries: scheduled.duplicates,
        feed_events: feed_files.iter().map(|f| f.events).sum(),
        feed_bad_rows: feed_files.iter().map(|f| f.bad_rows).sum(),
    };
    SynthOutput {
        config: cfg.clone(),
        shops: shops.to_vec(),
        deliveries: scheduled.deliveries,
        feeds: feed_files,
        expected,
    }
}

/// Serde for [`Platform`] as its route name (`shopify`, …).
mod platform_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::platforms::Platform;

    pub fn serialize<S: Serializer>(p: &Platform, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(p.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Platform, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
