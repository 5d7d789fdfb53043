//! The whole ingest pipeline on the local stack: signed webhooks from every platform POSTed
//! through `cargo lambda watch`, landed by `ingest-webhook`, normalised by `normalize-orders`
//! (driven by the SQS poller), found as canonical records in S3. One stack for the scenarios
//! below (starting one costs ~10 s), run in sequence.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use omnilake::aws::s3::DataBucket;
use omnilake::normalize::read_jsonl_gz;
use omnilake::platforms::outbound::{signed_headers, Outgoing};
use omnilake::platforms::Platform;
use omnilake_e2e::{fixture, LocalStack};
use serde_json::{json, Value};

const SHOPIFY_SECRET: &str = "shpss_e2e_secret";
const WOO_SECRET: &str = "wc_e2e_secret";
const YOUZAN_SECRET: &str = "omnilake-test-youzan-secret";
const STANDARD_SECRET: &str = "whsec_ZTJlLXN0YW5kYXJkLXNlY3JldC1rZXktMzJieXRlcw==";

struct Harness {
    stack: LocalStack,
    http: reqwest::Client,
    bucket: DataBucket,
}

impl Harness {
    fn url(&self, platform: &str, shop: &str) -> String {
        format!("{}/webhooks/{platform}/{shop}", self.stack.get("OMNILAKE_WEBHOOK_URL"))
    }

    async fn post_signed(&self, shop: &str, out: &Outgoing<'_>, secret: &str) -> (u16, Value) {
        let mut req = self.http.post(self.url(out.platform.as_str(), shop)).body(out.body.to_vec());
        for (k, v) in signed_headers(out, secret, Utc::now()).expect("sign") {
            req = req.header(k, v);
        }
        let resp = req.send().await.expect("POST");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    fn add_shop(&self, platform: &str, shop: &str, secret: &str, tz: &str, currency: &str) {
        let out = self
            .stack
            .omnilake(&[
                "shop",
                "add",
                "--platform",
                platform,
                "--shop",
                shop,
                "--secret",
                secret,
                "--timezone",
                tz,
                "--currency",
                currency,
            ])
            .expect("run omnilake");
        assert!(out.status.success(), "shop add: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Every canonical record of a kind, as JSON.
    async fn canonical(&self, kind: &str) -> Vec<Value> {
        let mut out = Vec::new();
        for key in self.bucket.list(&format!("canonical/{kind}/")).await.expect("list") {
            let obj = self.bucket.get(&key).await.expect("get");
            for line in read_jsonl_gz(&obj.body).expect("gzip jsonl") {
                out.push(serde_json::from_str(&line).expect("json line"));
            }
        }
        out
    }
}

fn out<'a>(platform: Platform, topic: &'a str, id: &'a str, body: &'a [u8]) -> Outgoing<'a> {
    Outgoing { platform, topic, delivery_id: id, client_id: Some("3f2a9c1e7b5d4a6c8e"), body }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pipeline_end_to_end() {
    let stack = LocalStack::up().expect("local stack starts");
    let config = stack.sdk_config().await;
    let bucket = DataBucket::new(DataBucket::client_from(&config), stack.get("OMNILAKE_BUCKET"));
    // A call that never answers (a function that cannot start) fails the test instead of
    // holding CI until its time limit; the slowest call here, the rollup backfill, takes seconds.
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(300)).build().expect("http client");
    let h = Harness { stack, http, bucket };
    h.add_shop("shopify", "qingquan-intl", SHOPIFY_SECRET, "America/New_York", "USD");
    h.add_shop("woocommerce", "qingquan-eu", WOO_SECRET, "America/Los_Angeles", "USD");
    h.add_shop("youzan", "qingquan-wx", YOUZAN_SECRET, "Asia/Shanghai", "CNY");
    h.add_shop("standard", "qingquan-pos", STANDARD_SECRET, "Asia/Shanghai", "CNY");

    webhooks_from_every_platform_become_canonical_records(&h).await;
    one_delivery_posted_ten_times_concurrently_lands_once(&h).await;
    refused_requests_store_nothing(&h).await;
    authentic_but_unparseable_events_are_quarantined(&h).await;
    feed_file_with_bad_rows_lands_the_good_ones(&h).await;
    members_api_finds_the_member_and_redeems_idempotently(&h).await;
    unify_points_exports_order_members_and_merges(&h).await;
    nightly_rollup_runs_through_the_lambda_runtime(&h).await;
}

/// `nightly-rollup` invoked through `cargo lambda watch` like the state machine's `Single` step
/// and a person's backfill: every day of the canonical orders rolls up, each day's order lines
/// are the lines of the latest versions placed that day, and a rerun of a day is identical.
async fn nightly_rollup_runs_through_the_lambda_runtime(h: &Harness) {
    let invoke = |event: Value| async move {
        let url = format!("{}/2015-03-31/functions/nightly-rollup/invocations", h.stack.get("OMNILAKE_LAMBDA_URL"));
        let response = h.http.post(&url).json(&event).send().await.expect("invoke nightly-rollup");
        let ok = response.status().is_success();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        (ok && body.get("errorType").is_none(), body)
    };
    // The lines of each order's latest version, by the order's business date.
    let mut latest: BTreeMap<(String, String, String), (i64, String, usize)> = BTreeMap::new();
    for (dt, v) in canonical_by_date(h, "orders").await {
        let key = (
            v["platform"].as_str().unwrap_or_default().to_string(),
            v["shop_id"].as_str().unwrap_or_default().to_string(),
            v["order_id"].as_str().unwrap_or_default().to_string(),
        );
        let version = v["version"].as_i64().unwrap_or_default();
        let lines = v["lines"].as_array().map_or(0, Vec::len);
        if latest.get(&key).is_none_or(|(have, ..)| version > *have) {
            latest.insert(key, (version, dt, lines));
        }
    }
    let mut lines_by_day: BTreeMap<String, u64> = BTreeMap::new();
    for (_, dt, n) in latest.values() {
        *lines_by_day.entry(dt.clone()).or_default() += *n as u64;
    }
    let (first, last) =
        (lines_by_day.keys().next().expect("orders").clone(), lines_by_day.keys().last().expect("orders").clone());

    let (ok, body) = invoke(json!({"from": first, "to": last})).await;
    assert!(ok, "backfill failed: {body}");
    let days = body["days"].as_array().expect("days");
    assert!(!days.is_empty());
    for day in days {
        let dt = day["date"].as_str().expect("date");
        let want = lines_by_day.get(dt).copied().unwrap_or(0);
        assert_eq!(day["rows"]["order_lines"].as_u64(), Some(want), "order lines of {dt}: {day}");
        for table in
            ["sales_daily", "inventory_daily", "shop_daily", "customers_daily", "orders_hourly", "member_value"]
        {
            let manifest = h.bucket.get(&format!("rollups/{table}/dt={dt}/_manifest.json")).await.expect("manifest");
            let m: Value = serde_json::from_slice(&manifest.body).expect("manifest json");
            assert_eq!(m["rows"], day["rows"][table], "{table} {dt}: manifest {m}");
            for file in m["files"].as_array().expect("files") {
                let key = format!("rollups/{table}/dt={dt}/{}", file.as_str().expect("file"));
                assert!(h.bucket.get(&key).await.is_ok_and(|o| o.body.starts_with(b"PAR1")), "{key} is not Parquet");
            }
        }
    }
    let (ok, again) = invoke(json!({"date": last})).await;
    assert!(ok, "rerun failed: {again}");
    let last_day = days.last().expect("a day");
    assert_eq!(again["days"][0]["rows"], last_day["rows"], "a rerun gives the same rows");
    assert_eq!(again["days"][0]["input_fingerprint"], last_day["input_fingerprint"]);
    let (ok, refused) = invoke(json!({"date": "20/11/2026"})).await;
    assert!(!ok, "a bad date must fail the invocation: {refused}");
    eprintln!("nightly-rollup through cargo lambda: {} day(s) {first}..{last}", days.len());
}

/// The Standard fixtures' sign-up and orders share one phone: unify-points made one member
/// with the bonus; the members API (through `cargo lambda watch`) finds, redeems, refuses.
async fn members_api_finds_the_member_and_redeems_idempotently(h: &Harness) {
    h.stack.wait().expect("queues drain");
    let api = h.stack.get("OMNILAKE_API_URL").to_string();
    let token = h.stack.get("OMNILAKE_API_TOKEN").to_string();
    let lookup = format!("{api}/members?phone=138%200013%208011");
    let anonymous = h.http.get(&lookup).send().await.expect("GET");
    assert_eq!(anonymous.status().as_u16(), 401);
    let found = h.http.get(&lookup).bearer_auth(&token).send().await.expect("GET");
    assert_eq!(found.status().as_u16(), 200);
    let text = found.text().await.expect("body");
    assert!(!text.contains("13800138011") && !text.contains("li.na"), "no plain PII: {text}");
    let member: Value = serde_json::from_str(&text).expect("JSON");
    let id = member["member_id"].as_str().expect("member_id").to_string();
    assert_eq!(member["signup_bonus_received"], Value::Bool(true));
    let available = member["available_points"].as_i64().expect("available");
    assert!(available >= 100, "{member}");
    assert!(member["platforms"].as_array().is_some_and(|p| p.iter().any(|p| p["platform"] == "pos")), "{member}");

    let redeem = |key: &str, body: Value| {
        h.http
            .post(format!("{api}/members/{id}/redemptions"))
            .bearer_auth(&token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let first = redeem("e2e-1", serde_json::json!({"points": 50, "reference": "e2e"})).await.expect("POST");
    assert_eq!(first.status().as_u16(), 201);
    let first: Value = first.json().await.expect("JSON");
    assert_eq!(first["available_points"].as_i64(), Some(available - 50));
    let again = redeem("e2e-1", serde_json::json!({"points": 50, "reference": "e2e"})).await.expect("POST");
    assert_eq!(again.status().as_u16(), 201);
    assert_eq!(again.headers().get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(again.json::<Value>().await.expect("JSON"), first);
    let other = redeem("e2e-1", serde_json::json!({"points": 51, "reference": "e2e"})).await.expect("POST");
    assert_eq!(other.status().as_u16(), 422);
    let too_much = redeem("e2e-2", serde_json::json!({"points": 1_000_000, "reference": "tv"})).await.expect("POST");
    assert_eq!(too_much.status().as_u16(), 409);
    assert_eq!(too_much.json::<Value>().await.expect("JSON")["available_points"].as_i64(), Some(available - 50));

    let ledger: Value = h
        .http
        .get(format!("{api}/members/{id}/ledger"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    let kinds: Vec<&str> =
        ledger["entries"].as_array().expect("entries").iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"signup_bonus") && kinds.contains(&"redeem"), "{kinds:?}");

    let audit = h.stack.omnilake(&["audit", "points"]).expect("audit runs");
    let report = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.status.success() && report.contains("\n0 mismatches"), "{report}");
}

/// Every object under `canonical/{kind}/`: its `dt=` and its lines.
async fn canonical_by_date(h: &Harness, kind: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for key in h.bucket.list(&format!("canonical/{kind}/")).await.expect("list") {
        let dt = key.split('/').find_map(|p| p.strip_prefix("dt=")).expect("dt=").to_string();
        let obj = h.bucket.get(&key).await.expect("get");
        for line in read_jsonl_gz(&obj.body).expect("gzip jsonl") {
            out.push((dt.clone(), serde_json::from_str(&line).expect("json line")));
        }
    }
    out
}

/// A Standard Webhooks POS order like the fixture's, with another id and customer.
async fn post_pos_order(h: &Harness, delivery: &str, order_id: &str, customer: Value) {
    let mut body: Value = serde_json::from_slice(&fixture("platforms/standard/order_created.json")).expect("fixture");
    body["data"]["order_id"] = Value::from(order_id);
    body["data"]["customer"] = customer;
    let body = serde_json::to_vec(&body).expect("JSON");
    let (status, answer) = h
        .post_signed("qingquan-pos", &out(Platform::Standard, "order.created", delivery, &body), STANDARD_SECRET)
        .await;
    assert_eq!(status, 200, "{answer}");
}

/// Export or order lines by (platform, order id, version), each with its `dt=`.
type ByVersion = BTreeMap<(String, String, i64), Vec<(String, Value)>>;

/// `unify-points` (through the poller and `cargo lambda watch`) wrote the order -> member export:
/// a line for every order version with a customer, in the order's `canonical/orders/` partition,
/// the member the members API knows; and a merge line when an order joins two members.
async fn unify_points_exports_order_members_and_merges(h: &Harness) {
    let by_version = |rows: &[(String, Value)]| -> ByVersion {
        let mut map: BTreeMap<_, Vec<_>> = BTreeMap::new();
        for (dt, v) in rows {
            let key = (
                v["platform"].as_str().expect("platform").to_string(),
                v["order_id"].as_str().expect("order_id").to_string(),
                v["version"].as_i64().expect("version"),
            );
            map.entry(key).or_default().push((dt.clone(), v.clone()));
        }
        map
    };
    let orders = by_version(&canonical_by_date(h, "orders").await);
    let members = by_version(&canonical_by_date(h, "order_members").await);
    assert!(!members.is_empty(), "no order_members export");
    for (key, lines) in &members {
        let order_dates: BTreeSet<&String> =
            orders.get(key).expect("a line of an unknown order").iter().map(|(dt, _)| dt).collect();
        for (dt, line) in lines {
            assert!(order_dates.contains(dt), "{key:?}: member line under dt={dt}, order under {order_dates:?}");
            assert!(line["member_id"].as_str().is_some_and(|m| m.starts_with("mem_")), "{line}");
        }
    }
    for (key, versions) in &orders {
        let customer = &versions[0].1["customer"];
        if customer["platform_customer_id"].as_str().is_some_and(|id| !id.trim().is_empty()) {
            assert!(members.contains_key(key), "order version {key:?} with a customer account has no member line");
        }
    }
    // The POS order's three versions all went to the member the API finds by phone.
    let token = h.stack.get("OMNILAKE_API_TOKEN").to_string();
    let api = h.stack.get("OMNILAKE_API_URL").to_string();
    let found: Value = h
        .http
        .get(format!("{api}/members?phone=138%200013%208011"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    let pos: Vec<&Value> = members
        .iter()
        .filter(|((p, id, _), _)| p == "pos" && id == "POS-SZNS-20261120-0042")
        .flat_map(|(_, lines)| lines.iter().map(|(_, l)| l))
        .collect();
    assert_eq!(pos.iter().filter_map(|l| l["version"].as_i64()).collect::<BTreeSet<_>>().len(), 3, "{pos:?}");
    assert!(pos.iter().all(|l| l["member_id"] == found["member_id"]), "{pos:?} vs {found}");

    // Two customers, then an order naming both: one merge line, naming the survivor (the
    // member of that order) and the member it absorbed.
    post_pos_order(h, "merge-1", "POS-MERGE-1", serde_json::json!({"phone": "+8613900139001"})).await;
    post_pos_order(h, "merge-2", "POS-MERGE-2", serde_json::json!({"email": "zhao.lei@example.cn"})).await;
    post_pos_order(h, "guest-1", "POS-GUEST-1", serde_json::json!({})).await;
    h.stack.wait().expect("queues drain");
    let member_of = |members: &ByVersion, id: &str| -> String {
        let lines: Vec<&Value> =
            members.iter().filter(|((_, o, _), _)| o == id).flat_map(|(_, l)| l.iter().map(|(_, v)| v)).collect();
        assert!(!lines.is_empty(), "no member line for {id}");
        lines[0]["member_id"].as_str().expect("member_id").to_string()
    };
    let members = by_version(&canonical_by_date(h, "order_members").await);
    let (x, y) = (member_of(&members, "POS-MERGE-1"), member_of(&members, "POS-MERGE-2"));
    assert_ne!(x, y);
    let orders = by_version(&canonical_by_date(h, "orders").await);
    assert!(orders.keys().any(|(_, id, _)| id == "POS-GUEST-1"), "the guest order is a canonical order");
    assert!(members.keys().all(|(_, id, _)| id != "POS-GUEST-1"), "a guest order has no member line");
    post_pos_order(
        h,
        "merge-3",
        "POS-MERGE-3",
        serde_json::json!({"phone": "139 0013 9001", "email": "Zhao.Lei@example.cn"}),
    )
    .await;
    h.stack.wait().expect("queues drain");
    let members = by_version(&canonical_by_date(h, "order_members").await);
    let survivor = member_of(&members, "POS-MERGE-3");
    let absorbed = if survivor == x { y.clone() } else { x.clone() };
    assert!(survivor == x || survivor == y, "{survivor} is neither {x} nor {y}");
    let merges = canonical_by_date(h, "member_merges").await;
    let line = merges
        .iter()
        .map(|(_, m)| m)
        .find(|m| m["merged_from"].as_array().is_some_and(|f| f.iter().any(|a| a == absorbed.as_str())))
        .unwrap_or_else(|| panic!("no merge line for {absorbed}: {merges:?}"));
    assert_eq!(line["member_id"], survivor.as_str(), "{line}");
    assert_eq!(line["merged_from"], serde_json::json!([absorbed]), "{line}");
    let at = line["at"].as_str().expect("at");
    assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok_and(|t| t.offset().local_minus_utc() == 0), "{line}");
}

async fn webhooks_from_every_platform_become_canonical_records(h: &Harness) {
    let deliveries: Vec<(Platform, &str, &str, &str, &str)> = vec![
        (Platform::Shopify, "qingquan-intl", "orders/create", "s-1", "platforms/shopify/orders_create.json"),
        (Platform::Shopify, "qingquan-intl", "orders/paid", "s-2", "platforms/shopify/orders_paid.json"),
        (Platform::Shopify, "qingquan-intl", "orders/updated", "s-3", "platforms/shopify/orders_updated.json"),
        (
            Platform::Shopify,
            "qingquan-intl",
            "orders/updated",
            "s-4",
            "platforms/shopify/orders_updated_after_refund.json",
        ),
        (Platform::Shopify, "qingquan-intl", "orders/cancelled", "s-5", "platforms/shopify/orders_cancelled.json"),
        (Platform::Shopify, "qingquan-intl", "refunds/create", "s-6", "platforms/shopify/refunds_create.json"),
        (Platform::WooCommerce, "qingquan-eu", "order.created", "w-1", "platforms/woocommerce/order_created.json"),
        (Platform::WooCommerce, "qingquan-eu", "order.updated", "w-2", "platforms/woocommerce/order_updated_paid.json"),
        (
            Platform::WooCommerce,
            "qingquan-eu",
            "order.updated",
            "w-3",
            "platforms/woocommerce/order_updated_completed.json",
        ),
        (
            Platform::WooCommerce,
            "qingquan-eu",
            "order.updated",
            "w-4",
            "platforms/woocommerce/order_updated_refunded.json",
        ),
        (Platform::Youzan, "qingquan-wx", "trade_TradeCreate", "y-1", "platforms/youzan/trade_create.json"),
        (Platform::Youzan, "qingquan-wx", "trade_TradePaid", "y-2", "platforms/youzan/trade_paid.json"),
        (Platform::Youzan, "qingquan-wx", "trade_TradeSellerShip", "y-3", "platforms/youzan/trade_seller_ship.json"),
        (Platform::Standard, "qingquan-pos", "order.created", "p-1", "platforms/standard/order_created.json"),
        (Platform::Standard, "qingquan-pos", "order.updated", "p-2", "platforms/standard/order_updated_paid.json"),
        (Platform::Standard, "qingquan-pos", "order.updated", "p-3", "platforms/standard/order_updated_refund.json"),
        (Platform::Standard, "qingquan-pos", "member.signup", "p-4", "platforms/standard/member_signup.json"),
        (
            Platform::Standard,
            "qingquan-pos",
            "inventory.movement",
            "p-5",
            "platforms/standard/inventory_movement_receipt.json",
        ),
        (Platform::Standard, "qingquan-pos", "product.upsert", "p-6", "platforms/standard/product_upsert.json"),
    ];
    let secret = |p: Platform| match p {
        Platform::Shopify => SHOPIFY_SECRET,
        Platform::WooCommerce => WOO_SECRET,
        Platform::Youzan => YOUZAN_SECRET,
        Platform::Standard => STANDARD_SECRET,
    };
    for (platform, shop, topic, id, file) in &deliveries {
        let body = fixture(file);
        let (status, answer) = h.post_signed(shop, &out(*platform, topic, id, &body), secret(*platform)).await;
        assert_eq!(status, 200, "{file}: {answer}");
        if *platform == Platform::Youzan {
            assert_eq!(answer, serde_json::json!({"code": 0, "msg": "success"}), "Youzan needs its exact reply");
        }
    }
    // WooCommerce's unsigned creation ping gets 200 and lands nothing.
    let ping = h
        .http
        .post(h.url("woocommerce", "qingquan-eu"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("webhook_id=42")
        .send()
        .await
        .expect("ping");
    assert_eq!(ping.status().as_u16(), 200);

    h.stack.wait().expect("queues drain");
    let raw = h.bucket.list("raw/").await.expect("list raw");
    assert_eq!(raw.len(), deliveries.len(), "one raw object per authentic delivery, none for the ping: {raw:#?}");

    let mut versions: BTreeMap<(String, String), BTreeSet<i64>> = BTreeMap::new();
    for order in h.canonical("orders").await {
        let key = (
            order["platform"].as_str().expect("platform").to_string(),
            order["order_id"].as_str().expect("id").to_string(),
        );
        versions.entry(key).or_default().insert(order["version"].as_i64().expect("version"));
        assert!(order["source_raw_key"].as_str().expect("source").starts_with("raw/platform="), "{order}");
    }
    let count = |p: &str, id: &str| versions.get(&(p.to_string(), id.to_string())).map_or(0, BTreeSet::len);
    assert_eq!(count("shopify", "450789469"), 4, "{versions:?}");
    assert_eq!(count("shopify", "450789470"), 1, "{versions:?}");
    assert_eq!(count("woocommerce", "727"), 4, "{versions:?}");
    assert_eq!(count("youzan", "E20261120140311084600017"), 2, "{versions:?}");
    assert_eq!(count("pos", "POS-SZNS-20261120-0042"), 3, "{versions:?}");
    assert_eq!(h.canonical("refunds").await.len(), 1);
    assert_eq!(h.canonical("order_notices").await.len(), 1);
    assert_eq!(h.canonical("member_signups").await.len(), 1);
    assert_eq!(h.canonical("inventory").await.len(), 1);
    assert_eq!(h.canonical("products").await.len(), 1);
}

async fn one_delivery_posted_ten_times_concurrently_lands_once(h: &Harness) {
    let body = fixture("platforms/shopify/orders_create_10kb.json");
    let delivery = out(Platform::Shopify, "orders/create", "race-1", &body);
    let posts = (0..10).map(|_| h.post_signed("qingquan-intl", &delivery, SHOPIFY_SECRET));
    let answers = futures::future::join_all(posts).await;
    assert!(answers.iter().all(|(s, _)| (200..300).contains(s)), "{answers:?}");
    let landed: Vec<String> = h
        .bucket
        .list("raw/platform=shopify/")
        .await
        .expect("list")
        .into_iter()
        .filter(|k| k.ends_with("/shopify-race-1.json"))
        .collect();
    assert_eq!(landed.len(), 1, "{landed:?}");
    let duplicates = answers.iter().filter(|(_, a)| a["status"] == "duplicate").count();
    assert_eq!(duplicates, 9, "{answers:?}");
}

async fn refused_requests_store_nothing(h: &Harness) {
    let before = h.bucket.list("raw/").await.expect("list").len();
    let body = fixture("platforms/shopify/orders_paid.json");
    let signed = out(Platform::Shopify, "orders/paid", "forged-1", &body);
    // Wrong secret.
    let (status, answer) = h.post_signed("qingquan-intl", &signed, "not-the-secret").await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer["error"].as_str().is_some_and(|m| m.contains("unauthorized")), "{answer}");
    // Tampered body: signed, then one byte changed.
    let mut req = h.http.post(h.url("shopify", "qingquan-intl"));
    for (k, v) in signed_headers(&signed, SHOPIFY_SECRET, Utc::now()).expect("sign") {
        req = req.header(k, v);
    }
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    assert_eq!(req.body(tampered).send().await.expect("post").status().as_u16(), 401);
    // Missing signature.
    let resp = h
        .http
        .post(h.url("shopify", "qingquan-intl"))
        .header("x-shopify-topic", "orders/paid")
        .body(body.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 401);
    // Unknown shop, unknown platform, wrong method, oversized body.
    let (status, _) = h.post_signed("no-such-shop", &signed, SHOPIFY_SECRET).await;
    assert_eq!(status, 404);
    assert_eq!(h.http.post(h.url("bigcommerce", "x")).body("{}").send().await.expect("post").status().as_u16(), 404);
    assert_eq!(h.http.get(h.url("shopify", "qingquan-intl")).send().await.expect("get").status().as_u16(), 405);
    let huge = vec![b' '; 1_100_000];
    let (status, answer) =
        h.post_signed("qingquan-intl", &out(Platform::Shopify, "orders/paid", "huge", &huge), SHOPIFY_SECRET).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(h.bucket.list("raw/").await.expect("list").len(), before, "a refused request stored something");
}

async fn authentic_but_unparseable_events_are_quarantined(h: &Harness) {
    let body = br#"{"type":"order.created","timestamp":"2026-11-20T10:00:00+08:00","data":{"order_id":"BROKEN-1","lines":"not a list"}}"#;
    let (status, answer) = h
        .post_signed("qingquan-pos", &out(Platform::Standard, "order.created", "broken-1", body), STANDARD_SECRET)
        .await;
    assert_eq!(status, 200, "authentic bodies are accepted even if unparseable: {answer}");
    h.stack.wait().expect("queues drain");
    let raw = h.bucket.list("raw/platform=standard/").await.expect("list");
    assert!(raw.iter().any(|k| k.ends_with("standard-broken-1.json")), "the raw bytes are kept");
    let quarantined = h.bucket.list("quarantine/normalize/").await.expect("list");
    let entry = quarantined.iter().find(|k| k.ends_with("standard-broken-1.json")).expect("quarantine entry");
    let entry: Value = serde_json::from_slice(&h.bucket.get(entry).await.expect("get").body).expect("json");
    assert!(entry["reason"].as_str().is_some_and(|r| !r.is_empty()), "{entry}");
    assert!(entry["source_key"].as_str().is_some_and(|k| k.ends_with("standard-broken-1.json")), "{entry}");
}

/// 1,000 inventory rows with 3 bad ones: 997 raw events, 3 quarantined rows with their lines;
/// uploading the same file again under another name lands nothing new.
async fn feed_file_with_bad_rows_lands_the_good_ones(h: &Harness) {
    let mut csv = String::from("movement_id,type,location_id,sku,quantity,unit_cost,at,reference,expected_at\n");
    let bad_lines = [101u64, 502, 1001];
    for i in 1..=1000u64 {
        let line = i + 1;
        let row = match line {
            101 => format!("MV-{i},receipt,WH-SZ,FLT-PP-10,abc,12.00,2026-11-20 09:00:00,PO-{i},"),
            502 => format!("MV-{i},receipt,WH-SZ,,5,12.00,2026-11-20 09:00:00,PO-{i},"),
            1001 => format!("MV-{i},receipt,WH-SZ,FLT-PP-10,5,12.00,yesterday,PO-{i},"),
            _ => format!("MV-{i},receipt,WH-SZ,FLT-PP-10,{},12.00,2026-11-20 09:00:00,PO-{i},", i % 7 + 1),
        };
        csv.push_str(&row);
        csv.push('\n');
    }
    let put = |key: &'static str, body: Vec<u8>| {
        let bucket = h.bucket.clone();
        async move { bucket.put(key, body, "text/csv", None, &BTreeMap::new()).await.expect("upload") }
    };
    put("incoming/inventory/erp/movements-2026-11-20.csv", csv.clone().into_bytes()).await;
    h.stack.wait().expect("queues drain");
    let events = h.bucket.list("raw/platform=feed/").await.expect("list");
    assert_eq!(events.len(), 997);
    let quarantined = h.bucket.list("quarantine/feed/").await.expect("list");
    assert_eq!(quarantined.len(), 3, "{quarantined:?}");
    let mut lines = Vec::new();
    for key in &quarantined {
        let entry: Value = serde_json::from_slice(&h.bucket.get(key).await.expect("get").body).expect("json");
        lines.push(entry["line"].as_u64().expect("line number"));
        assert!(entry["reason"].as_str().is_some_and(|r| r.contains("line")), "{entry}");
    }
    lines.sort_unstable();
    assert_eq!(lines, bad_lines);
    // Delivery is at-least-once, so a record may be written twice; what counts is that every
    // movement is there (consumers dedupe on movement_id).
    // A record written twice must be the same record twice, never two versions of it.
    let mut movements: BTreeMap<String, Value> = BTreeMap::new();
    for m in h.canonical("inventory").await {
        let id = m["movement_id"].as_str().expect("id").to_string();
        if let Some(earlier) = movements.get(&id) {
            assert_eq!(earlier, &m, "movement {id} written twice with different content");
        }
        movements.insert(id, m);
    }
    assert_eq!(movements.len(), 1 + 997, "the webhook movement and the feed's 997");

    put("incoming/inventory/erp/movements-again.csv", csv.into_bytes()).await;
    h.stack.wait().expect("queues drain");
    assert_eq!(h.bucket.list("raw/platform=feed/").await.expect("list").len(), 997, "re-upload adds no events");
}
