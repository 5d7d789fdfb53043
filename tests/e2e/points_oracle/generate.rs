//! A deterministic dataset for the points acceptance test, delivered in phases whose outcome
//! does not depend on the delivery order *inside* a phase (the driver duplicates nothing
//! itself: every distinct record is already copied 1–5 times and shuffled here).
//!
//! | # | phase   | clock | content |
//! |---|---------|-------|---------|
//! | 0 | Deliver | T1    | every order's first versions (paid 2026-12-28 … 2027-01-03 +08:00) and all sign-ups |
//! | 1 | Settle  | T2    | all pending awards mature into lots 2026-12 / 2027-01 |
//! | 2 | Redeem  | T2    | per-person redemption sequences, some 409, key replays |
//! | 3 | Deliver | T3    | late versions of phase-0 orders that only lower points → clawbacks, debt |
//! | 4 | Deliver | T5    | new orders (all still pending) + one linking order per late-link person → merges that net debt |
//! | 5 | Settle  | T6    | the new orders mature: credits pay debt first, the rest into 2027-02 |
//! | 6 | Settle  | 2027-12-31T23:59:59+08:00 | nothing expires yet |
//! | 7 | Settle  | 2028-01-01T00:00:00+08:00 | the 2026-12 lots expire (exactly at `expires_at`) |
//! | 8 | Settle  | 2028-02-01T00:00:00+08:00 | the 2027-01 lots expire; 2027-02 lots stay |
//!
//! Why each `Deliver` phase is order-independent:
//! - Every version of one order shows the same identities (only their spelling changes): a
//!   version the engine ignores (older than the award) links nothing, so identities that
//!   appeared only in an older version would be linked or not depending on arrival order.
//! - Phase 0: every `matures_at` (paid + 7 d) is after T1, so order points only ever sit in
//!   pending awards, which are plain per-order values; lots hold sign-up bonuses only, and
//!   every sign-up of one person falls in the same month, so whichever bonus survives (and
//!   however a merge takes one back, from the oldest lot) the lots are the same. No debt exists,
//!   so merges (of any number of members) are just sums. Sign-ups carry exactly one identity.
//! - Phase 3: versions only lower points (each later version ≤ the previous), no new orders or
//!   identities, nothing pending: every applied version is a debit, and debits from the oldest
//!   lot first then into debt add up to one debit of the total, whatever the order.
//! - Phase 4: new orders are paid in the 6 days before T5, so they are pending (no lot or debt
//!   change). The only merges join exactly two members of one person (a late-link person's
//!   account member and phone member, one of them in debt): a two-member merge nets debt the
//!   same way whichever survives. Other new orders show a single, already-known identity. No
//!   sign-ups (a bonus credited before or after a merge that nets debt would differ).
//! - Settle and Redeem phases: settling replays events in time order per member; redemptions
//!   of one person are sequential (listed order) and touch no other person's member.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use omnilake::canonical::{CanonicalOrder, Customer, MemberSignup, OrderLine, OrderStatus, Refund, RefundLine};
use omnilake::Money;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::oracle::{self, Engine, OrderKey};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// 2xx: redeemed.
    Ok,
    /// 409 with `available_points`; nothing recorded, the key stays free.
    Insufficient { available: i64 },
    /// 422: the key was used (successfully) with another body.
    KeyReusedWithOtherBody,
    /// The answer recorded for the earlier request with this key and body.
    SameAsBefore,
}

#[derive(Debug, Clone)]
pub struct Redemption {
    pub person: usize,
    /// The person's phone as a client would type it.
    pub lookup_phone: String,
    pub points: i64,
    pub reference: String,
    pub key: String,
    /// Filled in by the generator from the oracle.
    pub expect: Expect,
}

#[derive(Debug, Clone)]
pub enum Phase {
    /// Orders and sign-ups, already duplicated (1–5 copies each) and shuffled; sign-ups may be
    /// interleaved with orders in any way.
    Deliver { now: DateTime<Utc>, orders: Vec<CanonicalOrder>, signups: Vec<MemberSignup> },
    /// Settle every member at `now` (the nightly expiry job).
    Settle { now: DateTime<Utc> },
    /// One person's redemptions in the listed order; different persons in any order.
    Redeem { now: DateTime<Utc>, redemptions: Vec<Redemption> },
}

impl Phase {
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Phase::Deliver { now, .. } | Phase::Settle { now } | Phase::Redeem { now, .. } => *now,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub phone_e164: String,
    /// Normalised (lowercase).
    pub email: Option<String>,
    /// `(platform, shop_id, platform_customer_id)`.
    pub accounts: Vec<(String, String, String)>,
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub phases: Vec<Phase>,
    pub persons: Vec<Person>,
}

pub fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("fixed time").with_timezone(&Utc)
}

/// Phase-0 orders are paid in `[WINDOW_START, WINDOW_END)`, 6 days: all mature after T1.
pub const WINDOW_START: &str = "2026-12-28T00:00:00+08:00";
pub const NEW_YEAR: &str = "2027-01-01T00:00:00+08:00";
pub const WINDOW_END: &str = "2027-01-03T00:00:00+08:00";
pub const T1: &str = "2027-01-03T12:00:00+08:00";
pub const T2: &str = "2027-01-13T12:00:00+08:00";
pub const T3: &str = "2027-01-14T12:00:00+08:00";
/// Phase-4 orders are paid in `[LATE_START, LATE_END)`: all mature after T5, before T6.
pub const LATE_START: &str = "2027-02-04T00:00:00+08:00";
pub const LATE_END: &str = "2027-02-10T00:00:00+08:00";
pub const T5: &str = "2027-02-10T12:00:00+08:00";
pub const T6: &str = "2027-02-25T00:00:00+08:00";
pub const BEFORE_EXPIRY: &str = "2027-12-31T23:59:59+08:00";
pub const EXPIRY_2026_12: &str = "2028-01-01T00:00:00+08:00";
pub const EXPIRY_2027_01: &str = "2028-02-01T00:00:00+08:00";

const SHOPS: [(&str, &str); 4] = [("shopify", "sh-1"), ("woocommerce", "wc-1"), ("youzan", "yz-1"), ("pos", "pos-sz")];
const PREFIXES: [&str; 16] =
    ["130", "133", "135", "136", "137", "138", "139", "150", "151", "152", "158", "159", "177", "186", "187", "189"];
const DOMAINS: [&str; 5] = ["qq.com", "163.com", "126.com", "example.cn", "Foxmail.com"];
const INVALID_PHONES: [&str; 2] = ["12345", "000000"];
const INVALID_EMAILS: [&str; 4] = ["n/a", "none@", "@example.com", "a@b@example.com"];
/// `(sku, unit price in fen)`: 9.90 … 2,999.00 CNY.
const CATALOG: [(&str, i64); 16] = [
    ("WP-RO-500", 129_900),
    ("WP-RO-800", 219_900),
    ("WP-UF-300", 89_900),
    ("WH-IN-60", 299_900),
    ("WH-ST-80", 249_900),
    ("SOFT-10", 99_000),
    ("FLT-PP-10", 3_990),
    ("FLT-CB-20", 5_990),
    ("FLT-RO-75", 19_900),
    ("FLT-UF-30", 15_800),
    ("TDS-PEN", 990),
    ("TAP-CHR", 12_900),
    ("HOSE-2M", 2_590),
    ("INST-SVC", 19_900),
    ("KETTLE-1L", 29_900),
    ("CUP-SET", 4_990),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Orders show random subsets of the person's identities.
    Linked,
    /// An account-only order, a phone-only order, then one showing both (merge in phase 0).
    SplitThenMerged,
    /// Account-only orders and phone-only orders, linked only in phase 4 (after debt).
    LateLink,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signups {
    None,
    Once,
    /// Two sign-up events on the phone: one bonus.
    Twice,
    /// One on the phone, one on the e-mail, linked by an order showing both.
    PhoneAndEmail,
}

struct Plan {
    national: String,
    person: Person,
    kind: Kind,
    signups: Signups,
    signup_in_january: bool,
}

/// What an order shows of its customer (the same in every version; spelled differently).
#[derive(Debug, Clone, Default)]
struct Shows {
    account: Option<String>,
    /// 11 national digits, or an invalid text.
    phone: Option<String>,
    /// Normalised, or an invalid text.
    email: Option<String>,
}

struct Spec {
    platform: &'static str,
    shop: &'static str,
    shows: Shows,
    must_earn: bool,
}

/// One order's life: the current state and the versions emitted since the last `take`.
struct Life {
    person: Option<usize>,
    cur: CanonicalOrder,
    shows: Shows,
    emitted: Vec<CanonicalOrder>,
}

fn uniform(rng: &mut ChaCha8Rng, from: DateTime<Utc>, to: DateTime<Utc>) -> DateTime<Utc> {
    from + Duration::seconds(rng.gen_range(0..(to - from).num_seconds().max(1)))
}

/// A moment after `t`, well before `limit`.
fn later(rng: &mut ChaCha8Rng, t: DateTime<Utc>, limit: DateTime<Utc>) -> DateTime<Utc> {
    t + Duration::seconds(rng.gen_range(1..=((limit - t).num_seconds() / 3).max(1)))
}

pub fn spell_phone(rng: &mut ChaCha8Rng, national: &str) -> String {
    if national.len() != 11 {
        return national.to_string();
    }
    let (a, b, c) = (&national[..3], &national[3..7], &national[7..]);
    match rng.gen_range(0..5) {
        0 => national.to_string(),
        1 => format!("+86 {a} {b} {c}"),
        2 => format!("+86-{a}-{b}-{c}"),
        3 => format!("{a} {b} {c}"),
        _ => format!("+86{national}"),
    }
}

fn spell_email(rng: &mut ChaCha8Rng, email: &str) -> String {
    let cased: String = email.chars().map(|c| if rng.gen_bool(0.3) { c.to_ascii_uppercase() } else { c }).collect();
    let pads = ["", "", " ", "  ", "\t"];
    let (l, r) = (pads[rng.gen_range(0..pads.len())], pads[rng.gen_range(0..pads.len())]);
    format!("{l}{cased}{r}")
}

impl Life {
    fn emit(&mut self, rng: &mut ChaCha8Rng) {
        self.cur.version += 1;
        self.cur.customer = Customer {
            platform_customer_id: self.shows.account.clone(),
            phone: self.shows.phone.as_deref().map(|p| spell_phone(rng, p)),
            email: self.shows.email.as_deref().map(|e| spell_email(rng, e)),
        };
        self.emitted.push(self.cur.clone());
    }

    fn set(&mut self, rng: &mut ChaCha8Rng, status: OrderStatus) {
        self.cur.status = status;
        self.emit(rng);
    }

    fn pay(&mut self, rng: &mut ChaCha8Rng, at: DateTime<Utc>) {
        self.cur.paid_at = Some(at);
        self.set(rng, OrderStatus::Paid);
    }

    fn ship(&mut self, rng: &mut ChaCha8Rng, at: DateTime<Utc>) {
        self.cur.shipped_at = Some(at);
        self.set(rng, OrderStatus::Shipped);
    }

    fn deliver(&mut self, rng: &mut ChaCha8Rng, at: DateTime<Utc>) {
        self.cur.delivered_at = Some(at);
        self.set(rng, OrderStatus::Delivered);
    }

    fn fully_refunded(&self) -> bool {
        self.cur.lines.iter().all(|l| l.refunded_quantity == l.quantity)
    }

    fn push_refund(&mut self, at: DateTime<Utc>, lines: Vec<RefundLine>, shipping: Money) {
        let refund_id = format!("{}-R{}", self.cur.order_id, self.cur.refunds.len() + 1);
        self.cur.refunds.push(Refund { refund_id, at, lines, shipping });
    }

    /// Refunds one more unit of one line (its proportional share of the line's net).
    fn refund_unit(&mut self, rng: &mut ChaCha8Rng, at: DateTime<Utc>) {
        let open: Vec<usize> = (0..self.cur.lines.len())
            .filter(|&i| self.cur.lines[i].refunded_quantity < self.cur.lines[i].quantity)
            .collect();
        let Some(&i) = open.choose(rng) else { return };
        let line = &mut self.cur.lines[i];
        let line_net = line.unit_price.minor() * line.quantity - line.discount.minor();
        let units = line.refunded_quantity + 1;
        let amount = line_net * units / line.quantity - line.refunded_amount.minor();
        line.refunded_quantity = units;
        line.refunded_amount = Money::from_minor(line.refunded_amount.minor() + amount);
        let refund_line = RefundLine { sku: line.sku.clone(), quantity: 1, amount: Money::from_minor(amount) };
        self.push_refund(at, vec![refund_line], Money::ZERO);
        let status = if self.fully_refunded() { OrderStatus::Refunded } else { OrderStatus::PartiallyRefunded };
        self.set(rng, status);
    }

    /// Refunds everything left, shipping included.
    fn refund_all(&mut self, rng: &mut ChaCha8Rng, at: DateTime<Utc>) {
        let mut lines = Vec::new();
        for line in &mut self.cur.lines {
            let line_net = line.unit_price.minor() * line.quantity - line.discount.minor();
            let (units, amount) = (line.quantity - line.refunded_quantity, line_net - line.refunded_amount.minor());
            if units > 0 {
                lines.push(RefundLine { sku: line.sku.clone(), quantity: units, amount: Money::from_minor(amount) });
            }
            line.refunded_quantity = line.quantity;
            line.refunded_amount = Money::from_minor(line_net);
        }
        let shipping = self.cur.shipping;
        self.push_refund(at, lines, shipping);
        self.set(rng, OrderStatus::Refunded);
    }

    fn take(&mut self) -> Vec<CanonicalOrder> {
        std::mem::take(&mut self.emitted)
    }

    fn key(&self) -> OrderKey {
        (self.cur.platform.clone(), self.cur.shop_id.clone(), self.cur.order_id.clone())
    }
}

struct Gen {
    rng: ChaCha8Rng,
    seed: u64,
    next_order: u64,
}

impl Gen {
    fn person(&mut self, i: usize, used: &mut HashSet<String>) -> Plan {
        let rng = &mut self.rng;
        let national = loop {
            let candidate =
                format!("{}{:08}", PREFIXES[rng.gen_range(0..PREFIXES.len())], rng.gen_range(0..100_000_000));
            if used.insert(candidate.clone()) {
                break candidate;
            }
        };
        let email = rng.gen_bool(0.6).then(|| format!("member{i}.{}@{}", rng.gen_range(10..99), DOMAINS[i % 5]));
        let mut shops = SHOPS;
        shops.shuffle(rng);
        let accounts: Vec<(String, String, String)> = shops[..rng.gen_range(1..=3)]
            .iter()
            .map(|(platform, shop)| {
                let id = match *platform {
                    "shopify" => format!("{}", 7_100_000_000_u64 + i as u64 * 13),
                    "woocommerce" => format!("{}", 1_000 + i),
                    "youzan" => format!("yz{:08}", 31_000_000 + i),
                    _ => format!("VIP{:06}", 100_000 + i),
                };
                (platform.to_string(), shop.to_string(), id)
            })
            .collect();
        let kind = match rng.gen_range(0..100) {
            0..10 => Kind::SplitThenMerged,
            10..14 => Kind::LateLink,
            _ => Kind::Linked,
        };
        let signups = match rng.gen_range(0..100) {
            0..20 => Signups::Once,
            20..25 => Signups::Twice,
            25..31 if kind != Kind::LateLink && email.is_some() => Signups::PhoneAndEmail,
            _ => Signups::None,
        };
        let person = Person { phone_e164: format!("+86{national}"), email: email.map(|e| e.to_lowercase()), accounts };
        Plan { national, person, kind, signups, signup_in_january: rng.gen_bool(0.5) }
    }

    fn account(p: &Plan, i: usize) -> (&'static str, &'static str, String) {
        let (platform, _, id) = &p.person.accounts[i];
        let (platform, shop) = *SHOPS.iter().find(|(pl, _)| pl == platform).expect("known platform");
        (platform, shop, id.clone())
    }

    fn walk_in(shows: Shows, must_earn: bool) -> Spec {
        Spec { platform: "pos", shop: "pos-sz", shows, must_earn }
    }

    /// A random subset of the person's identities on one of their platforms.
    fn linked_spec(&mut self, p: &Plan) -> Spec {
        let rng = &mut self.rng;
        let (platform, shop, id) = Self::account(p, rng.gen_range(0..p.person.accounts.len()));
        if platform == "pos" && rng.gen_bool(0.3) {
            return Self::walk_in(Shows { phone: Some(p.national.clone()), ..Shows::default() }, false);
        }
        let mut shows = Shows {
            account: rng.gen_bool(0.9).then(|| id.clone()),
            phone: rng.gen_bool(0.75).then(|| p.national.clone()),
            email: p.person.email.clone().filter(|_| rng.gen_bool(0.35)),
        };
        // Every order shows an account or a phone, so every member can be looked up by one.
        if shows.account.is_none() && shows.phone.is_none() {
            shows.account = Some(id);
        }
        if shows.email.is_none() && rng.gen_bool(0.04) {
            shows.email = Some(INVALID_EMAILS[rng.gen_range(0..INVALID_EMAILS.len())].to_string());
        }
        if shows.phone.is_none() && rng.gen_bool(0.04) {
            shows.phone = Some(INVALID_PHONES[rng.gen_range(0..INVALID_PHONES.len())].to_string());
        }
        Spec { platform, shop, shows, must_earn: false }
    }

    fn order_specs(&mut self, p: &Plan) -> Vec<Spec> {
        let phone = || Some(p.national.clone());
        let mut specs = Vec::new();
        match p.kind {
            Kind::Linked => {
                for _ in 0..self.rng.gen_range(1..=3) {
                    specs.push(self.linked_spec(p));
                }
            }
            Kind::SplitThenMerged => {
                let (platform, shop, id) = Self::account(p, 0);
                let account_only = Shows { account: Some(id.clone()), ..Shows::default() };
                specs.push(Spec { platform, shop, shows: account_only, must_earn: false });
                specs.push(Self::walk_in(Shows { phone: phone(), ..Shows::default() }, false));
                let both = Shows { account: Some(id), phone: phone(), ..Shows::default() };
                specs.push(Spec { platform, shop, shows: both, must_earn: false });
            }
            Kind::LateLink => {
                // Both members earn, so the phone member can be drained into debt and the
                // account member has lots to net it against in phase 4.
                let (platform, shop, id) = Self::account(p, 0);
                let account_only = Shows { account: Some(id), ..Shows::default() };
                specs.push(Spec { platform, shop, shows: account_only.clone(), must_earn: true });
                specs.push(Self::walk_in(Shows { phone: phone(), ..Shows::default() }, true));
                if self.rng.gen_bool(0.5) {
                    specs.push(Spec { platform, shop, shows: account_only, must_earn: false });
                }
            }
        }
        if p.signups == Signups::PhoneAndEmail {
            let (platform, shop, id) = Self::account(p, 0);
            let shows = Shows { account: Some(id), phone: phone(), email: p.person.email.clone() };
            specs.push(Spec { platform, shop, shows, must_earn: false });
        }
        specs
    }

    fn new_life(&mut self, person: Option<usize>, spec: &Spec, placed_at: DateTime<Utc>) -> Life {
        let rng = &mut self.rng;
        self.next_order += 1;
        let n = self.next_order;
        let order_id = match spec.platform {
            "shopify" => format!("SH{}{n:06}", self.seed % 100),
            "woocommerce" => format!("WC{}{n:06}", self.seed % 100),
            "youzan" => format!("E2026{}{n:010}", self.seed % 100),
            _ => format!("SZ-{}{n:07}", self.seed % 100),
        };
        let pos = spec.platform == "pos";
        let mut catalog = CATALOG;
        catalog.shuffle(rng);
        let lines = catalog[..rng.gen_range(1..=4)]
            .iter()
            .map(|(sku, price)| {
                let quantity = if rng.gen_bool(0.7) { 1 } else { rng.gen_range(2..=3) };
                let discount = if rng.gen_bool(0.3) { price * quantity * rng.gen_range(5..=20) / 100 } else { 0 };
                OrderLine {
                    sku: (*sku).to_string(),
                    quantity,
                    unit_price: Money::from_minor(*price),
                    discount: Money::from_minor(discount),
                    refunded_quantity: 0,
                    refunded_amount: Money::ZERO,
                }
            })
            .collect();
        let shipping = if pos || rng.gen_bool(0.6) { 0 } else { [1_000, 1_500, 2_000][rng.gen_range(0..3)] };
        let tax = if rng.gen_bool(0.3) { rng.gen_range(100..20_000) } else { 0 };
        let cur = CanonicalOrder {
            platform: spec.platform.to_string(),
            shop_id: spec.shop.to_string(),
            order_id,
            version: 0,
            status: OrderStatus::Pending,
            placed_at,
            paid_at: None,
            shipped_at: None,
            delivered_at: None,
            currency: "CNY".into(),
            customer: Customer::default(),
            lines,
            shipping: Money::from_minor(shipping),
            tax: Money::from_minor(tax),
            taxes_included: rng.gen_bool(0.5),
            refunds: vec![],
            store_id: pos.then(|| (if rng.gen_bool(0.5) { "sz-01" } else { "sz-02" }).to_string()),
            salesperson: pos.then(|| format!("sp-{:02}", rng.gen_range(1..20))),
            city: Some("Shenzhen".into()),
            source_raw_key: String::new(),
        };
        Life { person, cur, shows: spec.shows.clone(), emitted: vec![] }
    }

    /// An order paid at `paid` whose versions all happen before `limit`.
    fn life(&mut self, person: Option<usize>, spec: &Spec, paid: DateTime<Utc>, limit: DateTime<Utc>) -> Life {
        let placed = if spec.platform == "pos" { paid } else { paid - Duration::minutes(self.rng.gen_range(1..=180)) };
        let mut life = self.new_life(person, spec, placed);
        let rng = &mut self.rng;
        let mut t = paid;
        let mut next = |rng: &mut ChaCha8Rng| {
            t = later(rng, t, limit);
            t
        };
        if spec.platform == "pos" {
            // A walk-in: paid and handed over at the till.
            life.cur.paid_at = Some(paid);
            life.cur.delivered_at = Some(paid);
            life.set(rng, OrderStatus::Delivered);
            match if spec.must_earn { 99 } else { rng.gen_range(0..100) } {
                0..4 => {
                    let at = next(rng);
                    life.refund_all(rng, at);
                }
                4..16 => {
                    for _ in 0..rng.gen_range(1..=2) {
                        let at = next(rng);
                        life.refund_unit(rng, at);
                    }
                }
                _ => {}
            }
            return life;
        }
        life.set(rng, OrderStatus::Pending);
        match if spec.must_earn { 99 } else { rng.gen_range(0..100) } {
            0..6 => life.set(rng, OrderStatus::Cancelled),
            6..10 => {} // never paid
            10..14 => {
                life.pay(rng, paid);
                life.set(rng, OrderStatus::Cancelled);
            }
            14..20 => {
                life.pay(rng, paid);
                let at = next(rng);
                life.refund_all(rng, at);
            }
            20..35 => {
                life.pay(rng, paid);
                let at = next(rng);
                life.ship(rng, at);
                let at = next(rng);
                life.deliver(rng, at);
                for _ in 0..rng.gen_range(1..=2) {
                    let at = next(rng);
                    life.refund_unit(rng, at);
                }
            }
            r => {
                life.pay(rng, paid);
                if r >= 50 {
                    let at = next(rng);
                    life.ship(rng, at);
                }
                if r >= 70 {
                    let at = next(rng);
                    life.deliver(rng, at);
                }
            }
        }
        life
    }

    fn phase0_paid_at(&mut self) -> DateTime<Utc> {
        let new_year = time(NEW_YEAR);
        match self.rng.gen_range(0..10) {
            // Dec 31 in UTC but already January in Shanghai.
            0 => uniform(&mut self.rng, new_year, new_year + Duration::hours(8)),
            1 => uniform(&mut self.rng, new_year - Duration::hours(8), new_year),
            _ => uniform(&mut self.rng, time(WINDOW_START), time(WINDOW_END)),
        }
    }

    /// Phase-3 versions of a phase-0 order: each lowers (or keeps) its points.
    fn lower(&mut self, life: &mut Life, force_full_refund: bool) {
        let rng = &mut self.rng;
        let mut t = uniform(rng, time(T2), time(T3) - Duration::hours(2));
        let mut next = |rng: &mut ChaCha8Rng| {
            t = later(rng, t, time(T3));
            t
        };
        if force_full_refund {
            let at = next(rng);
            life.refund_all(rng, at);
            return;
        }
        match life.cur.status {
            OrderStatus::Pending => life.set(rng, OrderStatus::Cancelled),
            OrderStatus::Paid if rng.gen_bool(0.4) => life.set(rng, OrderStatus::Cancelled),
            OrderStatus::Paid | OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::PartiallyRefunded => {
                if life.cur.status == OrderStatus::Shipped {
                    let at = next(rng);
                    life.deliver(rng, at);
                }
                for _ in 0..rng.gen_range(1..=2) {
                    if !life.fully_refunded() {
                        let at = next(rng);
                        life.refund_unit(rng, at);
                    }
                }
                if !life.fully_refunded() && rng.gen_bool(0.3) {
                    let at = next(rng);
                    life.refund_all(rng, at);
                }
            }
            OrderStatus::Cancelled | OrderStatus::Refunded => {}
        }
    }

    fn signup(&mut self, plan: &Plan, phone: bool) -> MemberSignup {
        let rng = &mut self.rng;
        let (new_year, t1) = (time(NEW_YEAR), time(T1));
        let signed_up_at = match (plan.signup_in_january, rng.gen_bool(0.3)) {
            (true, true) => uniform(rng, new_year, new_year + Duration::hours(8)),
            (true, false) => uniform(rng, new_year, t1),
            (false, _) => uniform(rng, time(WINDOW_START), new_year),
        };
        let (phone, email) = if phone {
            (Some(spell_phone(rng, &plan.national)), None)
        } else {
            (None, plan.person.email.as_deref().map(|e| spell_email(rng, e)))
        };
        MemberSignup { shop_id: "pos-sz".into(), phone, email, signed_up_at, source_raw_key: String::new() }
    }

    /// Every record 1–5 times, shuffled.
    fn deliveries<T: Clone>(&mut self, items: Vec<T>) -> Vec<T> {
        let mut out = Vec::new();
        for item in items {
            for _ in 0..self.rng.gen_range(1..=5) {
                out.push(item.clone());
            }
        }
        out.shuffle(&mut self.rng);
        out
    }

    /// Runs `phase` on the oracle and keeps it.
    fn push(&mut self, engine: &mut Engine, phases: &mut Vec<Phase>, mut phase: Phase) {
        let outcomes = engine.run_phase(&phase);
        if let Phase::Redeem { redemptions, .. } = &mut phase {
            for (r, expect) in redemptions.iter_mut().zip(outcomes) {
                r.expect = expect;
            }
        }
        phases.push(phase);
    }
}

/// The dataset for `persons` persons (≥ 2,000 for the acceptance test), fixed by `seed`.
pub fn generate(seed: u64, persons: usize) -> Dataset {
    let mut g = Gen { rng: ChaCha8Rng::seed_from_u64(seed), seed, next_order: 0 };
    let mut used = HashSet::new();
    let plans: Vec<Plan> = (0..persons).map(|i| g.person(i, &mut used)).collect();
    let mut engine = Engine::default();
    let mut phases = Vec::new();

    // Phase 0: orders and sign-ups, everything pending.
    let t1 = time(T1);
    let mut lives: Vec<Life> = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        for spec in g.order_specs(plan) {
            let paid = g.phase0_paid_at();
            lives.push(g.life(Some(i), &spec, paid, t1));
        }
    }
    // Top up (Linked persons only) to ≥ 5 distinct versions per person.
    let linked: Vec<usize> = (0..persons).filter(|&i| plans[i].kind == Kind::Linked).collect();
    while lives.iter().map(|l| l.emitted.len()).sum::<usize>() < 5 * persons && !linked.is_empty() {
        let i = linked[g.rng.gen_range(0..linked.len())];
        let spec = g.linked_spec(&plans[i]);
        let paid = g.phase0_paid_at();
        lives.push(g.life(Some(i), &spec, paid, t1));
    }
    // ~3% guests: nothing, or only identities that are not valid.
    for _ in 0..lives.len() * 3 / 97 {
        let (platform, shop) = SHOPS[g.rng.gen_range(0..SHOPS.len())];
        let shows = match g.rng.gen_range(0..5) {
            0 => Shows { phone: Some(INVALID_PHONES[0].into()), ..Shows::default() },
            1 => Shows { email: Some(INVALID_EMAILS[1].into()), ..Shows::default() },
            _ => Shows::default(),
        };
        let paid = g.phase0_paid_at();
        lives.push(g.life(None, &Spec { platform, shop, shows, must_earn: false }, paid, t1));
    }
    let mut signups = Vec::new();
    for plan in &plans {
        match plan.signups {
            Signups::None => {}
            Signups::Once => signups.push(g.signup(plan, true)),
            Signups::Twice => {
                signups.push(g.signup(plan, true));
                signups.push(g.signup(plan, true));
            }
            Signups::PhoneAndEmail => {
                signups.push(g.signup(plan, true));
                signups.push(g.signup(plan, false));
            }
        }
    }
    for bad in INVALID_PHONES {
        let signed_up_at = uniform(&mut g.rng, time(WINDOW_START), t1);
        signups.push(MemberSignup {
            shop_id: "pos-sz".into(),
            phone: Some(bad.into()),
            email: None,
            signed_up_at,
            source_raw_key: String::new(),
        });
    }
    let orders: Vec<CanonicalOrder> = lives.iter_mut().flat_map(Life::take).collect();
    let (orders, signups) = (g.deliveries(orders), g.deliveries(signups));
    g.push(&mut engine, &mut phases, Phase::Deliver { now: t1, orders, signups });

    // Phase 1: everything matures.
    let t2 = time(T2);
    g.push(&mut engine, &mut phases, Phase::Settle { now: t2 });

    // Phase 2: redemptions. "Debtors" redeem everything now and lose an order in phase 3.
    let phone_member =
        |engine: &Engine, plan: &Plan| engine.member_of(&oracle::phone_identity(&plan.person.phone_e164));
    let mut debtors: Vec<(usize, usize)> = Vec::new(); // (person, life index to refund fully)
    let mut redemptions = Vec::new();
    let mut lives_of: Vec<Vec<usize>> = vec![Vec::new(); persons];
    for (l, life) in lives.iter().enumerate() {
        if let Some(p) = life.person {
            lives_of[p].push(l);
        }
    }
    for (i, plan) in plans.iter().enumerate() {
        let Some(m) = phone_member(&engine, plan) else { continue };
        let available = engine.view(m).available;
        let earning_life = lives_of[i].iter().copied().find(|&l| {
            let key = lives[l].key();
            engine.order_member(&key) == Some(m) && engine.award_points(&key).unwrap_or(0) > 0
        });
        let debtor = match (plan.kind, earning_life) {
            (Kind::LateLink, Some(l)) => Some(l),
            (Kind::Linked, Some(l)) if g.rng.gen_bool(0.06) => Some(l),
            _ => None,
        };
        let mut amounts: Vec<i64> = Vec::new();
        if let Some(l) = debtor {
            debtors.push((i, l));
            let first = g.rng.gen_range(0..=available);
            amounts.extend([first, available - first].into_iter().filter(|&a| a > 0));
        } else if g.rng.gen_bool(0.3) {
            let mut left = available;
            for _ in 0..g.rng.gen_range(1..=3) {
                if left == 0 {
                    break;
                }
                let a = g.rng.gen_range(1..=(left / 2).max(1));
                amounts.push(a);
                left -= a;
            }
            if left == 0 || g.rng.gen_bool(0.4) {
                amounts.push(left + g.rng.gen_range(1..=300)); // → 409 with `left`
            }
        }
        let mut mine: Vec<Redemption> = amounts
            .iter()
            .enumerate()
            .map(|(n, &points)| Redemption {
                person: i,
                lookup_phone: spell_phone(&mut g.rng, &plan.national),
                points,
                reference: format!("coupon-{i}-{n}"),
                key: format!("rk-{seed}-{i}-{n}"),
                expect: Expect::Ok,
            })
            .collect();
        if debtor.is_none() && mine.len() >= 2 && mine[0].points <= available {
            if g.rng.gen_bool(0.2) {
                let replay = mine[0].clone();
                mine.insert(1, replay);
            }
            if g.rng.gen_bool(0.2) {
                let mut other = mine[0].clone();
                other.points += 1;
                mine.push(other);
            }
        }
        redemptions.extend(mine);
    }
    g.push(&mut engine, &mut phases, Phase::Redeem { now: t2, redemptions });

    // Phase 3: late versions that only lower points.
    let forced: HashSet<usize> = debtors.iter().map(|&(_, l)| l).collect();
    let mut late_versions = Vec::new();
    for (l, life) in lives.iter_mut().enumerate() {
        if forced.contains(&l) {
            g.lower(life, true);
        } else if g.rng.gen_bool(0.25) {
            g.lower(life, false);
        }
        late_versions.extend(life.take());
    }
    let orders = g.deliveries(late_versions);
    g.push(&mut engine, &mut phases, Phase::Deliver { now: time(T3), orders, signups: vec![] });

    // Phase 4: new pending orders; late-link persons get their linking order.
    let t5 = time(T5);
    let mut new_orders = Vec::new();
    let debtor_persons: HashSet<usize> = debtors.iter().map(|&(p, _)| p).collect();
    for (i, plan) in plans.iter().enumerate() {
        let spec = if plan.kind == Kind::LateLink {
            let (platform, shop, id) = Gen::account(plan, 0);
            let account_member = engine.member_of(&oracle::account_identity(platform, shop, &id));
            assert!(account_member.is_some() && account_member != phone_member(&engine, plan), "late-link person {i}");
            let shows = Shows { account: Some(id), phone: Some(plan.national.clone()), email: None };
            Spec { platform, shop, shows, must_earn: false }
        } else if debtor_persons.contains(&i) || g.rng.gen_bool(0.08) {
            // One identity the engine already knows: no merge.
            if phone_member(&engine, plan).is_some() {
                let shows = Shows { phone: Some(plan.national.clone()), ..Shows::default() };
                let (platform, shop, _) = Gen::account(plan, g.rng.gen_range(0..plan.person.accounts.len()));
                Spec { platform, shop, shows, must_earn: debtor_persons.contains(&i) }
            } else {
                let known = (0..plan.person.accounts.len())
                    .map(|a| Gen::account(plan, a))
                    .find(|(pl, sh, id)| engine.member_of(&oracle::account_identity(pl, sh, id)).is_some());
                let Some((platform, shop, id)) = known else { continue };
                Spec { platform, shop, shows: Shows { account: Some(id), ..Shows::default() }, must_earn: false }
            }
        } else {
            continue;
        };
        let paid = uniform(&mut g.rng, time(LATE_START), time(LATE_END));
        new_orders.extend(g.life(Some(i), &spec, paid, t5).take());
    }
    for _ in 0..persons / 100 {
        let paid = uniform(&mut g.rng, time(LATE_START), time(LATE_END));
        let spec = Spec { platform: "pos", shop: "pos-sz", shows: Shows::default(), must_earn: false };
        new_orders.extend(g.life(None, &spec, paid, t5).take());
    }
    let orders = g.deliveries(new_orders);
    g.push(&mut engine, &mut phases, Phase::Deliver { now: t5, orders, signups: vec![] });

    // Phases 5–8: maturity, then expiry around the year end in Shanghai time.
    for now in [T6, BEFORE_EXPIRY, EXPIRY_2026_12, EXPIRY_2027_01] {
        g.push(&mut engine, &mut phases, Phase::Settle { now: time(now) });
    }

    Dataset { phases, persons: plans.into_iter().map(|p| p.person).collect() }
}
