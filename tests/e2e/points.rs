//! The points engine's DynamoDB adapter against moto: merges, concurrent new customers,
//! redemptions (idempotency, 409, 20 at once), expiry across a year boundary, sign-ups, and
//! the order → member export written to the bucket.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use omnilake::aws::points::Redeemed;
use omnilake::aws::points::{
    write_member_export, ApplyOutcome, PointsError, PointsStore, RedemptionRequest, SignupOutcome,
};
use omnilake::aws::s3::DataBucket;
use omnilake::canonical::{CanonicalOrder, Customer, MemberSignup, OrderLine, OrderStatus};
use omnilake::normalize::read_jsonl_gz;
use omnilake::points::export::MemberExport;
use omnilake::points::{LedgerKind, ShopPoints};
use omnilake::Money;
use omnilake_e2e::{points_store, unique_name, Moto};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

static MOTO: OnceCell<Moto> = OnceCell::const_new();

async fn moto() -> &'static Moto {
    MOTO.get_or_init(|| async { Moto::start().unwrap_or_else(|e| panic!("moto: {e}")) }).await
}

async fn store() -> PointsStore {
    points_store(moto().await).await.unwrap_or_else(|e| panic!("points table: {e}"))
}

async fn bucket() -> DataBucket {
    let client = DataBucket::client_from(&moto().await.sdk_config().await);
    let name = unique_name("bucket");
    client.create_bucket().bucket(&name).send().await.unwrap_or_else(|e| panic!("create bucket: {e}"));
    DataBucket::new(client, name)
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn shop() -> ShopPoints {
    ShopPoints::default()
}

/// A paid CNY order of one line worth `yuan`, placed and paid at `paid`.
fn order(platform: &str, order_id: &str, customer: Customer, yuan: i64, paid: &str) -> CanonicalOrder {
    CanonicalOrder {
        platform: platform.into(),
        shop_id: format!("{platform}-shop"),
        order_id: order_id.into(),
        version: 1,
        status: OrderStatus::Paid,
        placed_at: at(paid),
        paid_at: Some(at(paid)),
        shipped_at: None,
        delivered_at: None,
        currency: "CNY".into(),
        customer,
        lines: vec![OrderLine {
            sku: "PURIFIER".into(),
            quantity: 1,
            unit_price: Money::from_major(yuan),
            discount: Money::ZERO,
            refunded_quantity: 0,
            refunded_amount: Money::ZERO,
        }],
        shipping: Money::from_major(10),
        tax: Money::ZERO,
        taxes_included: true,
        refunds: vec![],
        store_id: None,
        salesperson: None,
        city: None,
        source_raw_key: String::new(),
    }
}

fn account(id: &str) -> Customer {
    Customer { platform_customer_id: Some(id.into()), phone: None, email: None }
}

fn phone(p: &str) -> Customer {
    Customer { platform_customer_id: None, phone: Some(p.into()), email: None }
}

fn applied(outcome: ApplyOutcome) -> (String, bool, Vec<String>) {
    match outcome {
        ApplyOutcome::Applied { member_id, created, merged, .. } => (member_id, created, merged),
        other => panic!("expected an applied order, got {other:?}"),
    }
}

async fn ledger_sum(store: &PointsStore, member_id: &str) -> (i64, Vec<LedgerKind>) {
    let page = store.ledger(member_id, None, 500).await.unwrap_or_else(|e| panic!("ledger: {e}"));
    (page.entries.iter().map(|e| e.points).sum(), page.entries.iter().map(|e| e.kind).collect())
}

#[tokio::test]
async fn an_order_linking_two_members_merges_them_into_the_older() {
    let store = store().await;
    let now = at("2026-11-20T12:00:00Z");
    let (first, created, _) = applied(
        store
            .apply_order(&order("shopify", "S1", account("c-9"), 300, "2026-11-20T10:00:00+08:00"), &shop(), now)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert!(created);
    let later = at("2026-11-20T13:00:00Z");
    let (second, created, _) = applied(
        store
            .apply_order(&order("pos", "P1", phone("138 0013 8000"), 120, "2026-11-20T11:00:00+08:00"), &shop(), later)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert!(created);
    assert_ne!(first, second);

    let both =
        Customer { platform_customer_id: Some("c-9".into()), phone: Some("+86 138-0013-8000".into()), email: None };
    let (survivor, created, merged) = applied(
        store
            .apply_order(&order("shopify", "S2", both, 50, "2026-11-20T12:00:00+08:00"), &shop(), later)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert!(!created);
    assert_eq!(survivor, first, "the older member survives");
    assert_eq!(merged, vec![second.clone()]);

    let view =
        store.member(&survivor, later).await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("member"));
    assert_eq!((view.pending_points, view.available_points, view.debt_points), (470, 0, 0));
    assert_eq!(view.platforms.len(), 2);
    assert_eq!(view.merged_from, vec![second.clone()]);
    // The alias still resolves, and so do the phone and the account.
    let via_alias = store.member(&second, later).await.unwrap_or_else(|e| panic!("{e}")).map(|v| v.member_id);
    assert_eq!(via_alias.as_deref(), Some(survivor.as_str()));
    let via_phone = store.member_by_phone("13800138000", "CN", later).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(via_phone.map(|v| v.member_id).as_deref(), Some(survivor.as_str()));
    // History intact: each ledger still adds up, the alias's own entries remain under its id.
    let (sum, kinds) = ledger_sum(&store, &survivor).await;
    assert_eq!((sum, kinds), (470, vec![LedgerKind::Order, LedgerKind::MergedIn, LedgerKind::Order]));
    let (alias_sum, alias_kinds) = ledger_sum(&store, &second).await;
    assert_eq!((alias_sum, alias_kinds), (0, vec![LedgerKind::Order, LedgerKind::MergedOut]));
    let contents = store.scan_all().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(contents.members.iter().filter(|m| m.merged_into.is_none()).count(), 1);
}

#[tokio::test]
async fn concurrent_first_orders_of_one_customer_create_one_member() {
    let store = Arc::new(store().await);
    let now = at("2026-11-20T12:00:00Z");
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let customer = Customer {
                    platform_customer_id: Some(format!("acct-{i}")),
                    phone: Some("13900139000".into()),
                    email: (i % 3 == 0).then(|| " Wei.Li@Example.com".to_string()),
                };
                let o = order(
                    ["shopify", "youzan", "pos"][i % 3],
                    &format!("O{i}"),
                    customer,
                    100 + i as i64,
                    "2026-11-20T09:00:00+08:00",
                );
                store.apply_order(&o, &shop(), now).await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
    }
    let contents = store.scan_all().await.unwrap_or_else(|e| panic!("{e}"));
    let live: Vec<_> = contents.members.iter().filter(|m| m.merged_into.is_none()).collect();
    assert_eq!(live.len(), 1, "one phone, one member");
    let expected: i64 = (0..12).map(|i| 100 + i).sum();
    assert_eq!(live[0].pending_points(), expected);
    assert_eq!(contents.ledger_sums.values().map(|(s, _)| s).sum::<i64>(), expected);
    assert_eq!(contents.identities.values().filter(|m| **m == live[0].member_id).count(), 12 + 1 + 1);
}

#[tokio::test]
async fn versions_apply_once_and_in_order() {
    let store = store().await;
    let now = at("2026-11-20T12:00:00Z");
    let v1 = order("shopify", "S9", account("c-1"), 200, "2026-11-20T10:00:00+08:00");
    let mut v2 = v1.clone();
    v2.version = 2;
    v2.status = OrderStatus::PartiallyRefunded;
    v2.lines[0].refunded_amount = Money::from_major(80);
    let (member, ..) = applied(store.apply_order(&v2, &shop(), now).await.unwrap_or_else(|e| panic!("{e}")));
    // A stale version still names the member its order's points went to (for the export).
    let stale = Some(ApplyOutcome::Stale { member_id: member.clone() });
    assert_eq!(store.apply_order(&v1, &shop(), now).await.ok(), stale);
    assert_eq!(store.apply_order(&v2, &shop(), now).await.ok(), stale);
    let view = store.member(&member, now).await.ok().flatten().unwrap_or_else(|| panic!("member"));
    assert_eq!(view.pending_points, 120);
    let guest = order("shopify", "S10", Customer::default(), 200, "2026-11-20T10:00:00+08:00");
    assert_eq!(store.apply_order(&guest, &shop(), now).await.ok(), Some(ApplyOutcome::Guest));
}

/// A member with `points` available (window 0: points are redeemable at once).
async fn member_with(store: &PointsStore, customer: Customer, yuan: i64, paid: &str, now: DateTime<Utc>) -> String {
    let instant =
        ShopPoints { rule: omnilake::points::PointsRule { return_window_days: 0, ..Default::default() }, ..shop() };
    let o = order("pos", &format!("R-{paid}-{yuan}"), customer, yuan, paid);
    applied(store.apply_order(&o, &instant, now).await.unwrap_or_else(|e| panic!("{e}"))).0
}

#[tokio::test]
async fn redemptions_are_idempotent_on_their_key() {
    let store = store().await;
    let now = at("2026-11-21T00:00:00Z");
    let member = member_with(&store, phone("15000150000"), 500, "2026-11-20T10:00:00+08:00", now).await;
    let req = RedemptionRequest { points: 120, reference: "coupon-88".into() };
    let first = match store.redeem(&member, "key-1", &req, now).await {
        Ok(Redeemed::Done(r)) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(first.available_points, 380);
    let again = store.redeem(&member, "key-1", &req, at("2026-11-22T00:00:00Z")).await;
    assert!(matches!(again, Ok(Redeemed::Replayed(ref r)) if *r == first), "{again:?}");
    let other_body = RedemptionRequest { points: 121, reference: "coupon-88".into() };
    assert!(matches!(store.redeem(&member, "key-1", &other_body, now).await, Err(PointsError::KeyReused(_))));
    let too_much = RedemptionRequest { points: 381, reference: "tv".into() };
    assert!(matches!(
        store.redeem(&member, "key-2", &too_much, now).await,
        Err(PointsError::Insufficient { available: 380 })
    ));
    // The refused key is free: after earning more it succeeds.
    member_with(&store, phone("15000150000"), 10, "2026-11-20T11:00:00+08:00", now).await;
    assert!(matches!(store.redeem(&member, "key-2", &too_much, now).await, Ok(Redeemed::Done(_))));
    for bad in
        [RedemptionRequest { points: 0, reference: "x".into() }, RedemptionRequest { points: 5, reference: " ".into() }]
    {
        assert!(matches!(store.redeem(&member, "key-3", &bad, now).await, Err(PointsError::Invalid(_))));
    }
    assert!(matches!(store.redeem("mem_nobody", "key-4", &req, now).await, Err(PointsError::MemberNotFound(_))));
    let (sum, _) = ledger_sum(&store, &member).await;
    assert_eq!(sum, 510 - 120 - 381);
}

#[tokio::test]
async fn twenty_concurrent_redemptions_never_overdraw() {
    let store = Arc::new(store().await);
    let now = at("2026-11-21T00:00:00Z");
    let member = member_with(&store, phone("18600186000"), 200, "2026-11-20T10:00:00+08:00", now).await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (store, member) = (store.clone(), member.clone());
            tokio::spawn(async move {
                let req = RedemptionRequest { points: 30, reference: format!("r{i}") };
                store.redeem(&member, &format!("k{i}"), &req, now).await
            })
        })
        .collect();
    let (mut done, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap_or_else(|e| panic!("{e}")) {
            Ok(Redeemed::Done(r)) => {
                assert!(r.available_points >= 0);
                done += 1;
            }
            Err(PointsError::Insufficient { available }) => {
                assert!(available < 30);
                refused += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((done, refused), (6, 14));
    let view = store.member(&member, now).await.ok().flatten().unwrap_or_else(|| panic!("member"));
    assert_eq!((view.available_points, view.debt_points), (20, 0));
    assert_eq!(ledger_sum(&store, &member).await.0, 20);
}

#[tokio::test]
async fn lots_expire_at_month_end_twelve_months_on_across_a_year_boundary() {
    let store = store().await;
    let member =
        member_with(&store, phone("17700177000"), 100, "2026-12-30T10:00:00+08:00", at("2026-12-30T03:00:00Z")).await;
    member_with(&store, phone("17700177000"), 50, "2027-01-02T10:00:00+08:00", at("2027-01-02T03:00:00Z")).await;
    let spend = RedemptionRequest { points: 60, reference: "spring".into() };
    assert!(store.redeem(&member, "spend", &spend, at("2027-02-01T00:00:00Z")).await.is_ok());
    let lots =
        |v: &omnilake::aws::points::MemberView| v.lots.iter().map(|l| (l.month.clone(), l.points)).collect::<Vec<_>>();

    let before = at("2027-12-31T23:59:59+08:00");
    assert_eq!(store.settle_all(before).await.map(|r| r.lots_expired).ok(), Some(0));
    let view = store.member(&member, before).await.ok().flatten().unwrap_or_else(|| panic!("member"));
    assert_eq!(lots(&view), vec![("2026-12".to_string(), 40), ("2027-01".to_string(), 50)]);

    let new_year = at("2028-01-01T00:00:00+08:00");
    let report = store.settle_all(new_year).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.lots_expired, report.points_expired), (1, 40));
    assert_eq!(store.settle_all(new_year).await.map(|r| r.members_settled).ok(), Some(0), "idempotent");
    let view = store.member(&member, new_year).await.ok().flatten().unwrap_or_else(|| panic!("member"));
    assert_eq!((lots(&view), view.available_points), (vec![("2027-01".to_string(), 50)], 50));

    let report = store.settle_all(at("2028-02-01T00:00:00+08:00")).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.points_expired, 50);
    let (sum, kinds) = ledger_sum(&store, &member).await;
    assert_eq!(sum, 0);
    assert_eq!(kinds.iter().filter(|k| **k == LedgerKind::Expire).count(), 2);
}

fn signup(phone: &str, at_: &str) -> MemberSignup {
    MemberSignup {
        shop_id: "pos-sz".into(),
        phone: Some(phone.into()),
        email: None,
        signed_up_at: at(at_),
        source_raw_key: String::new(),
    }
}

#[tokio::test]
async fn the_signup_bonus_is_paid_once_per_member_even_across_a_merge() {
    let store = store().await;
    let now = at("2026-11-20T12:00:00Z");
    let first = store.apply_signup(&signup("13800000001", "2026-11-20T10:00:00+08:00"), &shop(), now).await;
    let Ok(SignupOutcome::Applied { member_id, bonus: 100, created: true, .. }) = first else { panic!("{first:?}") };
    let again = store.apply_signup(&signup("138 0000 0001", "2026-11-20T10:05:00+08:00"), &shop(), now).await;
    assert!(matches!(again, Ok(SignupOutcome::Applied { bonus: 0, created: false, .. })), "{again:?}");
    // A second card on another phone, then an order naming both phones' owner account links them.
    let later = at("2026-11-20T13:00:00Z");
    let other = store.apply_signup(&signup("13800000002", "2026-11-20T11:00:00+08:00"), &shop(), later).await;
    assert!(matches!(other, Ok(SignupOutcome::Applied { bonus: 100, .. })));
    store
        .apply_order(&order("pos", "L1", phone("13800000001"), 10, "2026-11-20T11:00:00+08:00"), &shop(), later)
        .await
        .ok();
    let mut link = order("pos", "L2", phone("13800000002"), 10, "2026-11-20T11:00:00+08:00");
    link.customer.email = Some("one@person.cn".into());
    store.apply_order(&link, &shop(), later).await.ok();
    let mut link2 = order("pos", "L3", phone("13800000001"), 10, "2026-11-20T11:00:00+08:00");
    link2.customer.email = Some("ONE@person.cn".into());
    store.apply_order(&link2, &shop(), later).await.ok();
    let view = store.member(&member_id, later).await.ok().flatten().unwrap_or_else(|| panic!("member"));
    assert_eq!((view.available_points, view.pending_points), (100, 30), "one bonus, three orders");
    assert_eq!(ledger_sum(&store, &member_id).await.0, 130);
    let none = MemberSignup { phone: Some("12".into()), ..signup("x", "2026-11-20T10:00:00+08:00") };
    assert_eq!(store.apply_signup(&none, &shop(), later).await.ok(), Some(SignupOutcome::NoIdentity));
}

/// Every object under `prefix`: its partition (`…/dt=…`) and its lines as JSON, sorted.
async fn exported(bucket: &DataBucket, prefix: &str) -> Vec<(String, Vec<Value>)> {
    let mut out = Vec::new();
    for key in bucket.list(prefix).await.unwrap_or_else(|e| panic!("list: {e}")) {
        let body = bucket.get(&key).await.unwrap_or_else(|e| panic!("get {key}: {e}")).body;
        let lines = read_jsonl_gz(&body).unwrap_or_else(|e| panic!("{key}: {e}"));
        let (partition, name) = key.rsplit_once('/').unwrap_or_else(|| panic!("{key}"));
        assert!(name.ends_with(".jsonl.gz"), "{key}");
        let values = lines.iter().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect();
        out.push((partition.to_string(), sorted(values)));
    }
    out
}

fn sorted(mut values: Vec<Value>) -> Vec<Value> {
    values.sort_by_key(Value::to_string);
    values
}

fn member_line(o: &CanonicalOrder, member_id: &str) -> Value {
    json!({"platform": o.platform, "shop_id": o.shop_id, "order_id": o.order_id, "version": o.version,
           "member_id": member_id})
}

/// Applies `o` as `unify-points` does, adding the outcome to the batch's export.
async fn apply_to_export(
    store: &PointsStore,
    export: &mut MemberExport,
    batch: &mut Vec<(CanonicalOrder, ShopPoints, DateTime<Utc>)>,
    o: &CanonicalOrder,
    shop: &ShopPoints,
    now: DateTime<Utc>,
) -> ApplyOutcome {
    batch.push((o.clone(), shop.clone(), now));
    let outcome = store.apply_order(o, shop, now).await.unwrap_or_else(|e| panic!("{e}"));
    outcome.add_to_export(export, o, shop, now, store.business_tz());
    outcome
}

/// One batch as `unify-points` runs it: every outcome adds to the export, which is written
/// once: an object per prefix and date, with each order's member and each merge.
#[tokio::test]
async fn a_batch_exports_each_orders_member_and_every_merge_to_the_bucket() {
    let store = store().await;
    let bucket = bucket().await;
    let new_york = ShopPoints { time_zone: chrono_tz::America::New_York, ..shop() };
    let (mut export, mut batch) = (MemberExport::default(), Vec::new());
    let now = at("2026-11-20T19:00:00Z");

    // 02:00 (and 04:00) on the 21st in Shanghai is still the 20th in the New York shop's zone.
    let s1 = order("shopify", "S1", account("c-9"), 300, "2026-11-21T02:00:00+08:00");
    let (first, ..) = applied(apply_to_export(&store, &mut export, &mut batch, &s1, &new_york, now).await);
    let p1 = order("pos", "P1", phone("13800138000"), 120, "2026-11-21T03:00:00+08:00");
    let (second, ..) = applied(apply_to_export(&store, &mut export, &mut batch, &p1, &shop(), now).await);
    // Naming both merges the younger member into the older, at 01:30 on the 21st in Shanghai
    // (the 20th in UTC): the merge is dated in the business time zone.
    let both = Customer { platform_customer_id: Some("c-9".into()), phone: Some("13800138000".into()), email: None };
    let s2 = order("shopify", "S2", both, 50, "2026-11-21T04:00:00+08:00");
    let merged_at = at("2026-11-20T17:30:00Z");
    let (survivor, _, merged) =
        applied(apply_to_export(&store, &mut export, &mut batch, &s2, &new_york, merged_at).await);
    assert_eq!((survivor.as_str(), merged), (first.as_str(), vec![second.clone()]));
    // A redelivered version is stale but still names its member; a guest order names nobody.
    let stale = apply_to_export(&store, &mut export, &mut batch, &s1, &new_york, now).await;
    assert_eq!(stale, ApplyOutcome::Stale { member_id: first.clone() });
    let guest = order("pos", "G1", Customer::default(), 80, "2026-11-21T05:00:00+08:00");
    assert_eq!(apply_to_export(&store, &mut export, &mut batch, &guest, &shop(), now).await, ApplyOutcome::Guest);
    // A sign-up naming one member's email and another's phone merges them too.
    let mut e1 = order("pos", "E1", Customer::default(), 10, "2026-11-21T06:00:00+08:00");
    e1.customer.email = Some("wei@example.cn".into());
    let (email_member, ..) = applied(apply_to_export(&store, &mut export, &mut batch, &e1, &shop(), now).await);
    let e2 = order("pos", "E2", phone("13900139009"), 10, "2026-11-21T07:00:00+08:00");
    let later = at("2026-11-20T19:01:00Z");
    let (phone_member, ..) = applied(apply_to_export(&store, &mut export, &mut batch, &e2, &shop(), later).await);
    let card =
        MemberSignup { email: Some("Wei@Example.cn".into()), ..signup("13900139009", "2026-11-21T08:00:00+08:00") };
    let signed_at = at("2026-11-20T19:30:00Z");
    let outcome = store.apply_signup(&card, &shop(), signed_at).await.unwrap_or_else(|e| panic!("{e}"));
    outcome.add_to_export(&mut export, signed_at, store.business_tz());
    assert!(
        matches!(&outcome, SignupOutcome::Applied { member_id, merged, .. }
            if *member_id == email_member && *merged == vec![phone_member.clone()]),
        "{outcome:?}"
    );

    assert_eq!(write_member_export(&bucket, &export).await.ok(), Some(3), "2 order dates, 1 merge date");
    assert_eq!(
        exported(&bucket, "canonical/order_members/").await,
        vec![
            (
                "canonical/order_members/dt=2026-11-20".to_string(),
                sorted(vec![member_line(&s1, &first), member_line(&s2, &first)]),
            ),
            (
                "canonical/order_members/dt=2026-11-21".to_string(),
                sorted(vec![
                    member_line(&p1, &second),
                    member_line(&e1, &email_member),
                    member_line(&e2, &phone_member),
                ]),
            ),
        ],
        "the New York orders under their own date, the stale duplicate once, no guest line"
    );
    assert_eq!(
        exported(&bucket, "canonical/member_merges/").await,
        vec![(
            "canonical/member_merges/dt=2026-11-21".to_string(),
            sorted(vec![
                json!({"member_id": first, "merged_from": [second], "at": "2026-11-20T17:30:00+00:00"}),
                json!({"member_id": email_member, "merged_from": [phone_member], "at": "2026-11-20T19:30:00+00:00"}),
            ]),
        )]
    );

    // The batch retried: every version is stale now and names the same member, so the same
    // objects are rewritten rather than copies added; nothing merges again.
    let mut retry = MemberExport::default();
    for (o, shop, now) in &batch {
        let outcome = store.apply_order(o, shop, *now).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(outcome, ApplyOutcome::Stale { .. } | ApplyOutcome::Guest), "{outcome:?}");
        outcome.add_to_export(&mut retry, o, shop, *now, store.business_tz());
    }
    assert!(retry.merges.is_empty());
    let before = bucket.list("canonical/").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(write_member_export(&bucket, &retry).await.ok(), Some(2));
    assert_eq!(bucket.list("canonical/").await.unwrap_or_else(|e| panic!("{e}")), before);
}

/// The nightly rollup's points columns read the ledger and balances with one scan: a day's
/// order entries per shop, its redemptions, and every live member's balance.
#[tokio::test]
async fn the_rollup_reads_each_days_points_and_the_balances() {
    use omnilake::rollup::points::points_day;
    use omnilake::rollup::time::day_of;
    let moto = moto().await;
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let table = unique_name("points-rollup");
    omnilake_e2e::create_points_table(&client, &table).await.unwrap_or_else(|e| panic!("{e}"));
    let hasher = omnilake::points::IdentityHasher::new(&[42u8; 32]).unwrap_or_else(|e| panic!("{e}"));
    let store = PointsStore::new(client.clone(), table.clone(), hasher, omnilake::points::PointsPolicy::default());
    // Applied at 08:00 on the 21st in Shanghai, redeemed at 10:00 the same day.
    let now = at("2026-11-21T00:00:00Z");
    let member = member_with(&store, phone("15100151000"), 500, "2026-11-20T10:00:00+08:00", now).await;
    let req = RedemptionRequest { points: 120, reference: "coupon".into() };
    assert!(matches!(store.redeem(&member, "k-1", &req, at("2026-11-21T02:00:00Z")).await, Ok(Redeemed::Done(_))));

    let (entries, balances) =
        omnilake::aws::points::scan_ledger_and_balances(&client, &table).await.unwrap_or_else(|e| panic!("scan: {e}"));
    let (earned, kinds) = ledger_sum(&store, &member).await;
    assert!(kinds.contains(&LedgerKind::Order));
    let day = |d: u32| day_of(chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default());
    let tz = chrono_tz::Asia::Shanghai;
    let d21 = points_day(&entries, &balances, day(21), tz);
    assert_eq!(d21.issued.values().sum::<i64>(), earned + 120, "the order's points, on the day they were applied");
    assert_eq!(d21.redeemed, 120);
    let view = store.member(&member, now).await.ok().flatten().unwrap_or_else(|| panic!("member"));
    let balance = view.available_points + view.pending_points - view.debt_points;
    assert_eq!(d21.balances.get(&member), Some(&balance));
    assert_eq!(d21.liability, balance);
    let d20 = points_day(&entries, &balances, day(20), tz);
    assert!(d20.issued.is_empty() && d20.redeemed == 0, "nothing is dated the 20th: {d20:?}");
}
