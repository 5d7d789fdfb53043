//! `docs/points.md`, implemented a second time from that page only: a plain sequential
//! simulator. Members are entries of a vector (index = creation order, so the merge survivor —
//! the earliest created — is the smaller index); identities map to members; a merged member
//! keeps `merged_into`. Only the canonical data types and `Money::minor()` come from omnilake.
//!
//! Defaults everywhere (no shop settings): rate 1, no multipliers, sign-up bonus 100, return
//! window 7 days, lots expire 12 months after their month, business time zone Asia/Shanghai.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use omnilake::canonical::{CanonicalOrder, MemberSignup, OrderStatus};

use super::generate::{Dataset, Expect, Phase, Redemption};

pub const SIGNUP_BONUS: i64 = 100;
pub const RETURN_WINDOW_DAYS: i64 = 7;
pub const EXPIRY_MONTHS: i32 = 12;

/// `(platform, shop_id, order_id)`.
pub type OrderKey = (String, String, String);

// ----------------------------------------------------------------------------------------------
// Identities. Phones are normalised for exactly the spellings the generator writes (11-digit
// mainland mobiles, optionally `+86`, with spaces or dashes); anything else is "not a phone".

pub fn phone_e164(raw: &str) -> Option<String> {
    let compact: String = raw.chars().filter(|c| *c != ' ' && *c != '-').collect();
    let national = compact.strip_prefix("+86").unwrap_or(&compact);
    let b = national.as_bytes();
    let mobile = b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && b.iter().all(u8::is_ascii_digit);
    mobile.then(|| format!("+86{national}"))
}

/// Trimmed, lowercased; exactly one `@` with text on both sides.
pub fn email_normalised(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    (!local.is_empty() && !domain.is_empty() && !domain.contains('@')).then_some(email)
}

pub fn phone_identity(e164: &str) -> String {
    format!("phone:{e164}")
}
pub fn email_identity(email: &str) -> String {
    format!("email:{email}")
}
pub fn account_identity(platform: &str, shop: &str, id: &str) -> String {
    format!("account:{platform}#{shop}#{id}")
}

pub fn order_identities(o: &CanonicalOrder) -> Vec<String> {
    let c = &o.customer;
    let mut ids = Vec::new();
    ids.extend(c.phone.as_deref().and_then(phone_e164).map(|p| phone_identity(&p)));
    ids.extend(c.email.as_deref().and_then(email_normalised).map(|e| email_identity(&e)));
    ids.extend(c.platform_customer_id.as_deref().map(|id| account_identity(&o.platform, &o.shop_id, id)));
    ids
}

fn signup_identities(s: &MemberSignup) -> Vec<String> {
    let mut ids = Vec::new();
    ids.extend(s.phone.as_deref().and_then(phone_e164).map(|p| phone_identity(&p)));
    ids.extend(s.email.as_deref().and_then(email_normalised).map(|e| email_identity(&e)));
    ids
}

// ----------------------------------------------------------------------------------------------
// Points of one version, months, maturity and expiry.

pub fn points(o: &CanonicalOrder) -> i64 {
    use OrderStatus::*;
    if !matches!(o.status, Paid | Shipped | Delivered | PartiallyRefunded) {
        return 0;
    }
    let net_minor: i64 = o
        .lines
        .iter()
        .map(|l| l.unit_price.minor() * l.quantity - l.discount.minor() - l.refunded_amount.minor())
        .sum();
    net_minor.max(0) / 100
}

pub fn month_of(t: DateTime<Utc>) -> String {
    t.with_timezone(&Shanghai).format("%Y-%m").to_string()
}

fn earned_at(o: &CanonicalOrder) -> DateTime<Utc> {
    o.paid_at.unwrap_or(o.placed_at)
}

pub fn earn_month(o: &CanonicalOrder) -> String {
    month_of(earned_at(o))
}

pub fn matures_at(o: &CanonicalOrder) -> DateTime<Utc> {
    earned_at(o) + Duration::days(RETURN_WINDOW_DAYS)
}

/// The lot of month `M` expires at the end of `M + 12`, midnight in Shanghai.
pub fn expires_at(month: &str) -> DateTime<Utc> {
    let (y, m) = month.split_once('-').expect("YYYY-MM");
    let (y, m): (i32, i32) = (y.parse().expect("year"), m.parse().expect("month"));
    let first_of_next = y * 12 + (m - 1) + EXPIRY_MONTHS + 1;
    let month_index = u32::try_from(first_of_next % 12).expect("month index") + 1;
    Shanghai
        .with_ymd_and_hms(first_of_next / 12, month_index, 1, 0, 0, 0)
        .single()
        .expect("midnight exists in Shanghai")
        .with_timezone(&Utc)
}

// ----------------------------------------------------------------------------------------------
// Members.

#[derive(Debug, Clone)]
struct Pending {
    points: i64,
    earn_month: String,
    matures_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
struct Member {
    merged_into: Option<usize>,
    lots: BTreeMap<String, i64>,
    pending: BTreeMap<OrderKey, Pending>,
    debt: i64,
    bonus: bool,
    /// Σ of this member's own ledger entries.
    ledger: i64,
    platforms: BTreeSet<String>,
}

impl Member {
    fn available(&self) -> i64 {
        self.lots.values().sum()
    }
    fn pending_points(&self) -> i64 {
        self.pending.values().map(|p| p.points).sum()
    }
    fn balance(&self) -> i64 {
        self.available() + self.pending_points() - self.debt
    }
    /// Pays debt first; the rest goes into the lot of `month`.
    fn credit(&mut self, p: i64, month: &str) {
        let paid = self.debt.min(p);
        self.debt -= paid;
        if p > paid {
            *self.lots.entry(month.to_string()).or_default() += p - paid;
        }
    }
    /// Takes from the oldest lots first; what they cannot cover becomes debt.
    fn debit(&mut self, mut p: i64) {
        while p > 0 {
            let Some(mut oldest) = self.lots.first_entry() else { break };
            let take = p.min(*oldest.get());
            *oldest.get_mut() -= take;
            p -= take;
            if *oldest.get() == 0 {
                oldest.remove();
            }
        }
        self.debt += p;
    }
    /// Maturations and expiries with a time ≤ now, in time order (maturation first at a tie).
    fn settle(&mut self, now: DateTime<Utc>) {
        loop {
            let maturing = self
                .pending
                .iter()
                .filter(|(_, p)| p.matures_at <= now)
                .min_by_key(|(_, p)| p.matures_at)
                .map(|(k, p)| (k.clone(), p.matures_at));
            let expiring = self.lots.keys().map(|m| (expires_at(m), m.clone())).filter(|(t, _)| *t <= now).min();
            let maturation_first = match (&maturing, &expiring) {
                (None, None) => break,
                (Some((_, at)), Some((expiry, _))) => at <= expiry,
                (maturing, _) => maturing.is_some(),
            };
            if let (true, Some((key, _))) = (maturation_first, &maturing) {
                let p = self.pending.remove(key).expect("pending award");
                self.credit(p.points, &p.earn_month);
            } else if let Some((_, month)) = &expiring {
                let lot = self.lots.remove(month).expect("lot");
                self.ledger -= lot;
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Award {
    version: i64,
    points: i64,
    member: usize,
}

#[derive(Debug, Clone)]
struct RecordedKey {
    points: i64,
    reference: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub members_created: usize,
    pub merges: usize,
    pub bonuses: usize,
    pub bonus_reversals: usize,
    pub skipped_signups: usize,
    pub guest_versions: usize,
    pub ignored_versions: usize,
}

/// What the driver compares for one member (a component of linked identities).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExpectedMember {
    /// E.164 of the phone identities that resolve to this member.
    pub lookup_phones: Vec<String>,
    /// `{platform}#{shop}#{id}` of the account identities that resolve to this member.
    pub lookup_accounts: Vec<String>,
    /// Normalised e-mails that resolve to this member.
    pub lookup_emails: Vec<String>,
    /// `{platform}#{shop_id}` of the orders applied to it (sign-ups add none).
    pub platforms: Vec<String>,
    pub available: i64,
    pub pending: i64,
    pub debt: i64,
    /// Non-zero lots by `YYYY-MM`.
    pub lots: BTreeMap<String, i64>,
    pub ledger_sum: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub after_phase: usize,
    pub members: Vec<ExpectedMember>,
}

/// One delivery of a `Deliver` phase, for running the oracle in a chosen order.
#[derive(Debug, Clone, Copy)]
pub enum Delivery<'a> {
    Order(&'a CanonicalOrder),
    Signup(&'a MemberSignup),
}

#[derive(Debug, Clone, Default)]
pub struct Engine {
    members: Vec<Member>,
    identities: BTreeMap<String, usize>,
    awards: BTreeMap<OrderKey, Award>,
    keys: BTreeMap<String, RecordedKey>,
    pub stats: Stats,
}

impl Engine {
    fn resolve(&self, mut m: usize) -> usize {
        while let Some(next) = self.members[m].merged_into {
            m = next;
        }
        m
    }

    /// The member the identities (and the member an earlier version was awarded to) resolve
    /// to, merging several into the earliest created and creating one if none; new identities
    /// are attached to it. `None` for no identity at all.
    fn member_for(&mut self, ids: &[String], awarded_to: Option<usize>, now: DateTime<Utc>) -> Option<usize> {
        let mut found: BTreeSet<usize> =
            ids.iter().filter_map(|id| self.identities.get(id)).map(|&m| self.resolve(m)).collect();
        if let Some(m) = awarded_to {
            found.insert(self.resolve(m));
        }
        let survivor = match found.first() {
            Some(&m) => m,
            None if ids.is_empty() => return None,
            None => {
                self.members.push(Member::default());
                self.stats.members_created += 1;
                self.members.len() - 1
            }
        };
        for &m in &found {
            self.members[m].settle(now);
        }
        for &absorbed in found.iter().skip(1) {
            self.merge(survivor, absorbed);
        }
        for id in ids {
            self.identities.entry(id.clone()).or_insert(survivor);
        }
        Some(survivor)
    }

    /// Both already settled at `now`.
    fn merge(&mut self, survivor: usize, absorbed: usize) {
        let gone = std::mem::take(&mut self.members[absorbed]);
        let balance = gone.balance();
        let s = &mut self.members[survivor];
        for (month, p) in gone.lots {
            *s.lots.entry(month).or_default() += p;
        }
        s.pending.extend(gone.pending);
        s.debt += gone.debt;
        s.platforms.extend(gone.platforms);
        s.ledger += balance; // merged_in
        let netted = s.debt.min(s.available());
        s.debt -= netted;
        s.debit(netted);
        let reverse_bonus = s.bonus && gone.bonus;
        if reverse_bonus {
            s.debit(SIGNUP_BONUS);
            s.ledger -= SIGNUP_BONUS; // signup_bonus_reversed
        }
        s.bonus |= gone.bonus;
        self.members[absorbed] =
            Member { merged_into: Some(survivor), ledger: gone.ledger - balance, ..Member::default() };
        self.stats.merges += 1;
        self.stats.bonus_reversals += usize::from(reverse_bonus);
    }

    pub fn apply_order(&mut self, o: &CanonicalOrder, now: DateTime<Utc>) {
        let key: OrderKey = (o.platform.clone(), o.shop_id.clone(), o.order_id.clone());
        let previous = self.awards.get(&key).cloned();
        if previous.as_ref().is_some_and(|a| a.version >= o.version) {
            self.stats.ignored_versions += 1;
            return;
        }
        let Some(m) = self.member_for(&order_identities(o), previous.as_ref().map(|a| a.member), now) else {
            self.stats.guest_versions += 1;
            return;
        };
        let member = &mut self.members[m];
        member.settle(now);
        member.platforms.insert(format!("{}#{}", o.platform, o.shop_id));
        let p = points(o);
        let delta = p - previous.map_or(0, |a| a.points);
        let (month, matures) = (earn_month(o), matures_at(o));
        if let Some(pending) = member.pending.get_mut(&key) {
            if p == 0 {
                member.pending.remove(&key);
            } else {
                *pending = Pending { points: p, earn_month: month, matures_at: matures };
            }
        } else if matures > now && p > 0 {
            member.pending.insert(key.clone(), Pending { points: p, earn_month: month, matures_at: matures });
        } else if delta > 0 {
            member.credit(delta, &month);
        } else if delta < 0 {
            member.debit(-delta);
        }
        member.ledger += delta;
        self.awards.insert(key, Award { version: o.version, points: p, member: m });
    }

    pub fn apply_signup(&mut self, s: &MemberSignup, now: DateTime<Utc>) {
        let ids = signup_identities(s);
        let Some(m) = self.member_for(&ids, None, now) else {
            self.stats.skipped_signups += 1;
            return;
        };
        let member = &mut self.members[m];
        member.settle(now);
        if !member.bonus {
            member.bonus = true;
            member.credit(SIGNUP_BONUS, &month_of(s.signed_up_at));
            member.ledger += SIGNUP_BONUS;
            self.stats.bonuses += 1;
        }
    }

    pub fn redeem(&mut self, r: &Redemption, now: DateTime<Utc>) -> Expect {
        let phone = phone_e164(&r.lookup_phone).expect("redemptions look members up by a valid phone");
        let m = self.member_of(&phone_identity(&phone)).expect("redemption for a phone no member has");
        if let Some(recorded) = self.keys.get(&r.key) {
            return if recorded.points == r.points && recorded.reference == r.reference {
                Expect::SameAsBefore
            } else {
                Expect::KeyReusedWithOtherBody
            };
        }
        let member = &mut self.members[m];
        member.settle(now);
        let available = member.available();
        if r.points > available {
            return Expect::Insufficient { available };
        }
        member.debit(r.points);
        member.ledger -= r.points;
        self.keys.insert(r.key.clone(), RecordedKey { points: r.points, reference: r.reference.clone() });
        Expect::Ok
    }

    pub fn settle_all(&mut self, now: DateTime<Utc>) {
        for m in self.members.iter_mut().filter(|m| m.merged_into.is_none()) {
            m.settle(now);
        }
    }

    /// Runs one phase, deliveries in the given order; returns the redemption outcomes.
    pub fn run_phase_with(&mut self, phase: &Phase, deliveries: &[Delivery<'_>]) -> Vec<Expect> {
        match phase {
            Phase::Deliver { now, .. } => {
                for d in deliveries {
                    match d {
                        Delivery::Order(o) => self.apply_order(o, *now),
                        Delivery::Signup(s) => self.apply_signup(s, *now),
                    }
                }
                Vec::new()
            }
            Phase::Settle { now } => {
                self.settle_all(*now);
                Vec::new()
            }
            Phase::Redeem { now, redemptions } => redemptions.iter().map(|r| self.redeem(r, *now)).collect(),
        }
    }

    /// Runs one phase in the listed order (sign-ups first, then orders).
    pub fn run_phase(&mut self, phase: &Phase) -> Vec<Expect> {
        self.run_phase_with(phase, &listed_order(phase))
    }

    /// The live member an identity (`phone:…`, `email:…`, `account:…`) resolves to.
    pub fn member_of(&self, identity: &str) -> Option<usize> {
        self.identities.get(identity).map(|&m| self.resolve(m))
    }

    pub fn order_member(&self, key: &OrderKey) -> Option<usize> {
        self.awards.get(key).map(|a| self.resolve(a.member))
    }

    pub fn award_points(&self, key: &OrderKey) -> Option<i64> {
        self.awards.get(key).map(|a| a.points)
    }

    pub fn view(&self, m: usize) -> ExpectedMember {
        let m = self.resolve(m);
        let ids: Vec<&String> =
            self.identities.iter().filter(|(_, &o)| self.resolve(o) == m).map(|(id, _)| id).collect();
        self.view_with(m, &ids)
    }

    fn view_with(&self, m: usize, identities: &[&String]) -> ExpectedMember {
        let member = &self.members[m];
        let (mut phones, mut emails, mut accounts) = (Vec::new(), Vec::new(), Vec::new());
        for id in identities {
            let (kind, value) = id.split_once(':').expect("kind:value");
            match kind {
                "phone" => phones.push(value.to_string()),
                "email" => emails.push(value.to_string()),
                _ => accounts.push(value.to_string()),
            }
        }
        ExpectedMember {
            lookup_phones: phones,
            lookup_accounts: accounts,
            lookup_emails: emails,
            platforms: member.platforms.iter().cloned().collect(),
            available: member.available(),
            pending: member.pending_points(),
            debt: member.debt,
            lots: member.lots.clone(),
            ledger_sum: member.ledger,
        }
    }

    /// Every live member, sorted.
    pub fn members(&self) -> Vec<ExpectedMember> {
        let mut by_member: BTreeMap<usize, Vec<&String>> = BTreeMap::new();
        for (id, &owner) in &self.identities {
            by_member.entry(self.resolve(owner)).or_default().push(id);
        }
        let mut out: Vec<ExpectedMember> = by_member.iter().map(|(&m, ids)| self.view_with(m, ids)).collect();
        out.sort();
        out
    }
}

/// The default delivery order of a phase: sign-ups first, then orders, as listed.
pub fn listed_order(phase: &Phase) -> Vec<Delivery<'_>> {
    match phase {
        Phase::Deliver { orders, signups, .. } => {
            signups.iter().map(Delivery::Signup).chain(orders.iter().map(Delivery::Order)).collect()
        }
        _ => Vec::new(),
    }
}

/// Runs the whole dataset, arranging each `Deliver` phase's deliveries with `arrange`.
pub fn run_with<'a>(
    dataset: &'a Dataset,
    arrange: &mut dyn FnMut(usize, &'a Phase) -> Vec<Delivery<'a>>,
) -> (Vec<Checkpoint>, Vec<Vec<Expect>>) {
    let mut engine = Engine::default();
    let mut checkpoints = Vec::new();
    let mut outcomes = Vec::new();
    for (i, phase) in dataset.phases.iter().enumerate() {
        outcomes.push(engine.run_phase_with(phase, &arrange(i, phase)));
        checkpoints.push(Checkpoint { after_phase: i, members: engine.members() });
    }
    (checkpoints, outcomes)
}

/// The members after every phase (index = phase index).
pub fn expected(dataset: &Dataset) -> Vec<Checkpoint> {
    run_with(dataset, &mut |_, p| listed_order(p)).0
}

/// The expected answer of every redemption, per phase (empty for other phases).
pub fn redemption_expectations(dataset: &Dataset) -> Vec<Vec<Expect>> {
    run_with(dataset, &mut |_, p| listed_order(p)).1
}

/// Points of each non-guest order, from its latest version over all phases.
pub fn order_awards(dataset: &Dataset) -> BTreeMap<OrderKey, i64> {
    let mut latest: BTreeMap<OrderKey, &CanonicalOrder> = BTreeMap::new();
    for phase in &dataset.phases {
        if let Phase::Deliver { orders, .. } = phase {
            for o in orders {
                let key = (o.platform.clone(), o.shop_id.clone(), o.order_id.clone());
                let slot = latest.entry(key).or_insert(o);
                if o.version > slot.version {
                    *slot = o;
                }
            }
        }
    }
    latest.into_iter().filter(|(_, o)| !order_identities(o).is_empty()).map(|(k, o)| (k, points(o))).collect()
}

#[cfg(test)]
mod tests {
    use omnilake::canonical::{Customer, OrderLine};
    use omnilake::Money;

    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
    }

    fn order(id: &str, version: i64, status: OrderStatus, paid: &str, price_minor: i64, phone: &str) -> CanonicalOrder {
        CanonicalOrder {
            platform: "shopify".into(),
            shop_id: "sh-1".into(),
            order_id: id.into(),
            version,
            status,
            placed_at: t(paid),
            paid_at: Some(t(paid)),
            shipped_at: None,
            delivered_at: None,
            currency: "CNY".into(),
            customer: Customer { platform_customer_id: None, phone: Some(phone.into()), email: None },
            lines: vec![OrderLine {
                sku: "SKU".into(),
                quantity: 1,
                unit_price: Money::from_minor(price_minor),
                discount: Money::ZERO,
                refunded_quantity: 0,
                refunded_amount: Money::ZERO,
            }],
            shipping: Money::from_minor(2_000),
            tax: Money::from_minor(1_300),
            taxes_included: false,
            refunds: vec![],
            store_id: None,
            salesperson: None,
            city: None,
            source_raw_key: String::new(),
        }
    }

    fn signup(phone: Option<&str>, email: Option<&str>, at: &str) -> MemberSignup {
        MemberSignup {
            shop_id: "pos-sz".into(),
            phone: phone.map(Into::into),
            email: email.map(Into::into),
            signed_up_at: t(at),
            source_raw_key: String::new(),
        }
    }

    const P: &str = "13800138000";

    fn only(e: &Engine) -> ExpectedMember {
        let ms = e.members();
        assert_eq!(ms.len(), 1, "{ms:#?}");
        ms.into_iter().next().expect("one member")
    }

    #[test]
    fn points_ignore_shipping_tax_and_status() {
        let mut o = order("A", 1, OrderStatus::Paid, "2027-01-01T00:00:00Z", 129_999, P);
        o.lines[0].quantity = 2;
        o.lines[0].discount = Money::from_minor(10_050);
        o.lines[0].refunded_amount = Money::from_minor(1_000);
        // 2 × 1299.99 − 100.50 − 10.00 = 2489.48 → 2489; shipping and tax do not count.
        assert_eq!(points(&o), 2_489);
        o.status = OrderStatus::Cancelled;
        assert_eq!(points(&o), 0);
        o.status = OrderStatus::PartiallyRefunded;
        o.lines[0].refunded_amount = Money::from_minor(999_999);
        assert_eq!(points(&o), 0);
    }

    #[test]
    fn identities_are_normalised() {
        for p in ["13800138000", "+86 138 0013 8000", "+86-138-0013-8000", "138 0013 8000", "+8613800138000"] {
            assert_eq!(phone_e164(p).as_deref(), Some("+8613800138000"), "{p}");
        }
        assert_eq!(phone_e164("12345"), None);
        assert_eq!(email_normalised("  Wang.Li@Example.COM\t").as_deref(), Some("wang.li@example.com"));
        for bad in ["n/a", "none@", "@example.com", "a@b@example.com"] {
            assert_eq!(email_normalised(bad), None, "{bad}");
        }
    }

    #[test]
    fn earn_month_and_expiry_use_shanghai_time() {
        // 2026-12-31T17:00Z is 2027-01-01 01:00 in Shanghai.
        assert_eq!(month_of(t("2026-12-31T17:00:00Z")), "2027-01");
        assert_eq!(month_of(t("2026-12-31T15:59:59Z")), "2026-12");
        assert_eq!(expires_at("2026-11"), t("2027-12-01T00:00:00+08:00"));
        assert_eq!(expires_at("2026-12"), t("2028-01-01T00:00:00+08:00"));
        let mut e = Engine::default();
        e.apply_order(&order("A", 1, OrderStatus::Paid, "2026-12-20T00:00:00Z", 5_000, P), t("2027-01-10T00:00:00Z"));
        assert_eq!(only(&e).lots, BTreeMap::from([("2026-12".to_string(), 50)]));
        e.settle_all(t("2027-12-31T15:59:59Z"));
        assert_eq!(only(&e).available, 50);
        e.settle_all(t("2027-12-31T16:00:00Z"));
        let m = only(&e);
        assert_eq!((m.available, m.ledger_sum), (0, 0));
        assert!(m.lots.is_empty());
    }

    #[test]
    fn pending_matures_then_clawback_takes_oldest_lots_then_debt() {
        let mut e = Engine::default();
        let now = t("2026-12-30T00:00:00Z");
        e.apply_order(&order("A", 1, OrderStatus::Paid, "2026-12-20T00:00:00Z", 1_000, P), now); // 10, matured
        e.apply_order(&order("B", 1, OrderStatus::Paid, "2026-12-29T00:00:00Z", 5_000, P), now); // 50, pending
        let m = only(&e);
        assert_eq!((m.available, m.pending, m.ledger_sum), (10, 50, 60));
        e.settle_all(t("2027-01-06T00:00:00Z"));
        let m = only(&e);
        assert_eq!(m.lots, BTreeMap::from([("2026-12".to_string(), 60)]));
        // A refund of B at 30 → from the oldest lot.
        let mut b2 = order("B", 2, OrderStatus::PartiallyRefunded, "2026-12-29T00:00:00Z", 5_000, P);
        b2.lines[0].refunded_amount = Money::from_minor(3_000);
        e.apply_order(&b2, t("2027-01-07T00:00:00Z"));
        // Older version: ignored.
        e.apply_order(&order("B", 1, OrderStatus::Paid, "2026-12-29T00:00:00Z", 5_000, P), t("2027-01-07T00:00:00Z"));
        assert_eq!(only(&e).lots, BTreeMap::from([("2026-12".to_string(), 30)]));
        // A January order, a redemption of 35 (oldest first), then clawbacks beyond the lots.
        let now = t("2027-01-20T00:00:00Z");
        e.apply_order(&order("C", 1, OrderStatus::Paid, "2027-01-01T00:00:00Z", 1_000, P), now);
        let m = only(&e);
        assert_eq!(m.lots, BTreeMap::from([("2026-12".to_string(), 30), ("2027-01".to_string(), 10)]));
        let redeem = Redemption {
            person: 0,
            lookup_phone: P.into(),
            points: 35,
            reference: "r".into(),
            key: "k".into(),
            expect: Expect::Ok,
        };
        assert_eq!(e.redeem(&redeem, now), Expect::Ok);
        assert_eq!(only(&e).lots, BTreeMap::from([("2027-01".to_string(), 5)]));
        e.apply_order(&order("B", 3, OrderStatus::Refunded, "2026-12-29T00:00:00Z", 5_000, P), now);
        e.apply_order(&order("A", 2, OrderStatus::Cancelled, "2026-12-20T00:00:00Z", 1_000, P), now);
        let m = only(&e);
        assert_eq!((m.available, m.debt, m.ledger_sum), (0, 25, -25));
        // A matured credit pays the debt first.
        e.apply_order(&order("E", 1, OrderStatus::Delivered, "2027-01-02T00:00:00Z", 4_000, P), now);
        let m = only(&e);
        assert_eq!((m.debt, m.ledger_sum), (0, 15));
        assert_eq!(m.lots, BTreeMap::from([("2027-01".to_string(), 15)]));
    }

    #[test]
    fn credit_pays_debt_first() {
        let mut m = Member::default();
        m.lots.insert("2026-12".into(), 10);
        m.debit(40);
        assert_eq!((m.available(), m.debt), (0, 30));
        m.credit(50, "2027-02");
        assert_eq!((m.debt, m.lots.clone()), (0, BTreeMap::from([("2027-02".to_string(), 20)])));
        m.credit(5, "2027-01");
        assert_eq!(m.lots, BTreeMap::from([("2027-01".to_string(), 5), ("2027-02".to_string(), 20)]));
    }

    #[test]
    fn merge_nets_debt_against_the_oldest_lots() {
        let mut e = Engine::default();
        let now = t("2027-01-20T00:00:00Z");
        // Member 1 (phone): 10 in 2026-12, 50 in 2027-01. Member 2 (account): 30 of debt.
        e.apply_order(&order("A", 1, OrderStatus::Paid, "2026-12-20T00:00:00Z", 1_000, P), now);
        e.apply_order(&order("B", 1, OrderStatus::Paid, "2027-01-05T00:00:00Z", 5_000, P), now);
        let mut c = order("C", 1, OrderStatus::Paid, "2027-01-05T00:00:00Z", 3_000, "");
        c.customer = Customer { platform_customer_id: Some("42".into()), phone: None, email: None };
        e.apply_order(&c, now);
        let mut c2 = c.clone();
        c2.version = 2;
        c2.status = OrderStatus::Cancelled;
        e.members[1].lots.clear(); // as if the 30 had been redeemed
        e.members[1].ledger -= 30;
        e.apply_order(&c2, now);
        assert_eq!((e.members[1].debt, e.members[1].ledger), (30, -30));
        // An order showing both links them; debt nets against 2026-12 first.
        let mut d = order("D", 1, OrderStatus::Pending, "2027-01-05T00:00:00Z", 1_000, P);
        d.customer.platform_customer_id = Some("42".into());
        e.apply_order(&d, now);
        let m = only(&e);
        assert_eq!(m.lots, BTreeMap::from([("2027-01".to_string(), 30)]));
        assert_eq!((m.debt, m.ledger_sum), (0, 30));
        assert_eq!(m.lookup_accounts, vec!["shopify#sh-1#42".to_string()]);
        assert_eq!(e.stats.merges, 1);
    }

    #[test]
    fn bonus_once_per_person() {
        let mut e = Engine::default();
        let now = t("2027-01-03T04:00:00Z");
        e.apply_signup(&signup(Some("+86 138 0013 8000"), None, "2027-01-01T01:00:00+08:00"), now);
        e.apply_signup(&signup(Some("13800138000"), None, "2027-01-02T01:00:00+08:00"), now);
        e.apply_signup(&signup(None, Some(" A@B.cn"), "2027-01-02T02:00:00+08:00"), now);
        e.apply_signup(&signup(Some("12345"), None, "2027-01-02T02:00:00+08:00"), now);
        assert_eq!((e.stats.bonuses, e.stats.skipped_signups, e.members().len()), (2, 1, 2));
        let mut o = order("A", 1, OrderStatus::Paid, "2027-01-02T00:00:00Z", 1_000, P);
        o.customer.email = Some("a@b.cn".into());
        e.apply_order(&o, now);
        let m = only(&e);
        assert_eq!((m.available, m.pending, m.ledger_sum), (100, 10, 110));
        assert_eq!(m.lots, BTreeMap::from([("2027-01".to_string(), 100)]));
        assert_eq!(e.stats.bonus_reversals, 1);
        // A third sign-up after the merge gives nothing.
        e.apply_signup(&signup(None, Some("a@b.cn"), "2027-01-02T03:00:00+08:00"), now);
        assert_eq!(only(&e).available, 100);
    }

    #[test]
    fn redemption_outcomes() {
        let mut e = Engine::default();
        let now = t("2027-01-20T00:00:00Z");
        e.apply_order(&order("A", 1, OrderStatus::Paid, "2026-12-20T00:00:00Z", 10_000, P), now);
        let r = |points: i64, key: &str| Redemption {
            person: 0,
            lookup_phone: "+86 138-0013-8000".into(),
            points,
            reference: "ref".into(),
            key: key.into(),
            expect: Expect::Ok,
        };
        assert_eq!(e.redeem(&r(60, "k1"), now), Expect::Ok);
        assert_eq!(e.redeem(&r(60, "k2"), now), Expect::Insufficient { available: 40 });
        assert_eq!(e.redeem(&r(60, "k1"), now), Expect::SameAsBefore);
        assert_eq!(e.redeem(&r(61, "k1"), now), Expect::KeyReusedWithOtherBody);
        assert_eq!(e.redeem(&r(40, "k2"), now), Expect::Ok);
        let m = only(&e);
        assert_eq!((m.available, m.ledger_sum), (0, 0));
    }
}
