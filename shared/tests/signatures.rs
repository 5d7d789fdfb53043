//! Sender authentication through `omnilake::platforms::verify`, for every platform: the right
//! signature passes, anything else is refused with the right reason. Known-answer values were
//! computed outside this code base (Python `hmac`/`hashlib`; the Standard Webhooks vector is the
//! one the reference libraries test against).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use omnilake::platforms::{self, shopify, standard, woocommerce, youzan, Headers, Platform, Verified, VerifyError};

mod common;
use common::platform_fixture as fixture;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T09:15:05-05:00").expect("time").with_timezone(&Utc)
}

/// The body with one byte changed (the first digit becomes another digit).
fn tampered(body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    let i = out.iter().position(u8::is_ascii_digit).expect("body has a digit");
    out[i] = if out[i] == b'9' { b'8' } else { out[i] + 1 };
    assert_eq!(out.iter().zip(body).filter(|(a, b)| a != b).count(), 1);
    out
}

fn headers(pairs: &[(&str, &str)]) -> Headers {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

fn event(result: Result<Verified, VerifyError>) -> (String, String) {
    match result {
        Ok(Verified::Event { event_key, topic }) => (event_key, topic),
        other => panic!("expected an authentic event, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Shopify: base64(HMAC-SHA256(secret, body)) in X-Shopify-Hmac-Sha256

const SHOPIFY_SECRET: &str = "shpss_test_secret";

fn shopify_headers(signature: &str) -> Headers {
    headers(&[
        ("X-Shopify-Hmac-Sha256", signature),
        ("X-Shopify-Topic", "orders/create"),
        ("X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"),
    ])
}

fn verify_shopify(h: &Headers, body: &[u8], secret: &str) -> Result<Verified, VerifyError> {
    platforms::verify(Platform::Shopify, h, body, secret, now())
}

#[test]
fn shopify_sign_matches_a_known_answer() {
    // python3: base64(hmac.new(b"hush", b'{"id":1}', sha256).digest())
    assert_eq!(shopify::sign("hush", br#"{"id":1}"#), "VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY=");
    let h = shopify_headers("VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY=");
    assert!(verify_shopify(&h, br#"{"id":1}"#, "hush").is_ok());
}

#[test]
fn shopify_valid_signature_passes() {
    let body = fixture("shopify/orders_create.json");
    let h = shopify_headers(&shopify::sign(SHOPIFY_SECRET, &body));
    let (key, topic) = event(verify_shopify(&h, &body, SHOPIFY_SECRET));
    assert_eq!(key, "shopify-b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", "X-Shopify-Webhook-Id");
    assert_eq!(topic, "orders/create");
}

#[test]
fn shopify_refuses_tampered_body_wrong_secret_and_missing_header() {
    let body = fixture("shopify/orders_create.json");
    let good = shopify::sign(SHOPIFY_SECRET, &body);
    let h = shopify_headers(&good);
    assert_eq!(verify_shopify(&h, &tampered(&body), SHOPIFY_SECRET), Err(VerifyError::BadSignature));
    assert_eq!(verify_shopify(&h, &body, "another-secret"), Err(VerifyError::BadSignature));
    assert_eq!(verify_shopify(&shopify_headers("bm90IGEgbWFj"), &body, SHOPIFY_SECRET), Err(VerifyError::BadSignature));
    let missing = headers(&[("X-Shopify-Topic", "orders/create"), ("X-Shopify-Webhook-Id", "w1")]);
    assert_eq!(verify_shopify(&missing, &body, SHOPIFY_SECRET), Err(VerifyError::MissingHeader(shopify::HMAC_HEADER)));
    let empty = shopify_headers("");
    assert_eq!(verify_shopify(&empty, &body, SHOPIFY_SECRET), Err(VerifyError::MissingHeader(shopify::HMAC_HEADER)));
}

// ---------------------------------------------------------------------------------------------
// WooCommerce: base64(HMAC-SHA256(secret, body)) in X-WC-Webhook-Signature; unsigned ping

const WOO_SECRET: &str = "woo-webhook-secret";

fn verify_woo(h: &Headers, body: &[u8], secret: &str) -> Result<Verified, VerifyError> {
    platforms::verify(Platform::WooCommerce, h, body, secret, now())
}

fn woo_headers(signature: &str) -> Headers {
    headers(&[
        ("X-WC-Webhook-Signature", signature),
        ("X-WC-Webhook-Topic", "order.created"),
        ("X-WC-Webhook-Delivery-ID", "2f1e3c5a"),
    ])
}

#[test]
fn woocommerce_valid_signature_passes_and_keys_on_the_body() {
    let body = fixture("woocommerce/order_created.json");
    assert_eq!(woocommerce::sign("hush", br#"{"id":1}"#), "VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY=");
    let (key, topic) = event(verify_woo(&woo_headers(&woocommerce::sign(WOO_SECRET, &body)), &body, WOO_SECRET));
    assert_eq!(topic, "order.created");
    // The delivery id changes on every send, so the key is the body's SHA-256 (python3 hashlib).
    let small = br#"{"id":1}"#;
    let (small_key, _) = event(verify_woo(&woo_headers(&woocommerce::sign(WOO_SECRET, small)), small, WOO_SECRET));
    assert_eq!(small_key, "woocommerce-037c9214eef74cc3887f3a4f085b4e17d76280dafd273b0ee160c09c4ba1cfd4");
    let mut other_delivery = woo_headers(&woocommerce::sign(WOO_SECRET, &body));
    other_delivery = other_delivery
        .iter()
        .map(|(k, v)| {
            (k.to_string(), if k == woocommerce::DELIVERY_ID_HEADER { "9a8b7c6d".to_string() } else { v.to_string() })
        })
        .collect();
    assert_eq!(event(verify_woo(&other_delivery, &body, WOO_SECRET)).0, key, "same body, same event");
}

#[test]
fn woocommerce_refuses_tampered_body_wrong_secret_and_missing_header() {
    let body = fixture("woocommerce/order_updated_paid.json");
    let h = woo_headers(&woocommerce::sign(WOO_SECRET, &body));
    assert_eq!(verify_woo(&h, &tampered(&body), WOO_SECRET), Err(VerifyError::BadSignature));
    assert_eq!(verify_woo(&h, &body, "another-secret"), Err(VerifyError::BadSignature));
    let unsigned = headers(&[("X-WC-Webhook-Topic", "order.updated")]);
    assert_eq!(
        verify_woo(&unsigned, &body, WOO_SECRET),
        Err(VerifyError::MissingHeader(woocommerce::SIGNATURE_HEADER))
    );
}

#[test]
fn woocommerce_ping_needs_no_signature() {
    let ping = fixture("woocommerce/ping.txt");
    assert_eq!(verify_woo(&Headers::new(), &ping, WOO_SECRET), Ok(Verified::Ping));
    let form = headers(&[("Content-Type", "application/x-www-form-urlencoded")]);
    assert_eq!(verify_woo(&form, &ping, WOO_SECRET), Ok(Verified::Ping));
    // A signed ping is a ping too; a badly signed one is not authentic.
    assert_eq!(verify_woo(&woo_headers(&woocommerce::sign(WOO_SECRET, &ping)), &ping, WOO_SECRET), Ok(Verified::Ping));
    assert_eq!(
        verify_woo(&woo_headers(&woocommerce::sign("x", &ping)), &ping, WOO_SECRET),
        Err(VerifyError::BadSignature)
    );
    // Only exactly `webhook_id=<digits>` is a ping: anything else unsigned is refused.
    for body in [&b"webhook_id=42&x=1"[..], b"webhook_id=abc", b"{\"webhook_id\":42}"] {
        assert_eq!(
            verify_woo(&Headers::new(), body, WOO_SECRET),
            Err(VerifyError::MissingHeader(woocommerce::SIGNATURE_HEADER)),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Youzan: Event-Sign = hex MD5(client_id + body + client_secret)

const YOUZAN_SECRET: &str = "omnilake-test-youzan-secret";

fn youzan_fixture(stem: &str) -> (Headers, Vec<u8>) {
    let map: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&fixture(&format!("youzan/{stem}.headers.json"))).expect("headers json");
    (map.into_iter().collect(), fixture(&format!("youzan/{stem}.json")))
}

fn replace_header(h: &Headers, name: &str, value: Option<&str>) -> Headers {
    let mut out = Headers::new();
    for (k, v) in h.iter() {
        if !k.eq_ignore_ascii_case(name) {
            out.insert(k, v);
        }
    }
    if let Some(value) = value {
        out.insert(name, value);
    }
    out
}

fn verify_youzan(h: &Headers, body: &[u8], secret: &str) -> Result<Verified, VerifyError> {
    platforms::verify(Platform::Youzan, h, body, secret, now())
}

#[test]
fn youzan_sign_matches_a_known_answer() {
    // python3: hashlib.md5(b'cid{"a":1}sec').hexdigest()
    assert_eq!(youzan::sign("cid", "sec", br#"{"a":1}"#), "89af012f3406222d6cbc30f2b3434f88");
}

#[test]
fn youzan_recorded_signatures_pass() {
    for stem in [
        "trade_create",
        "trade_paid",
        "trade_paid_resend",
        "trade_buyer_pay",
        "trade_seller_ship",
        "refund_success",
        "trade_success",
        "closed_trade_create",
        "closed_trade_close",
        "encrypted_pii_trade_create",
    ] {
        let (h, body) = youzan_fixture(stem);
        let (key, topic) = event(verify_youzan(&h, &body, YOUZAN_SECRET));
        assert_eq!(Some(topic.as_str()), h.get("Event-Type"), "{stem}");
        assert!(key.starts_with("youzan-6f1e2d3c-4b5a-4c6d-8e7f-0a1b2c3d4e0"), "{stem}: msg_id key, got {key}");
    }
}

#[test]
fn youzan_resend_has_the_same_event_key() {
    let (h1, b1) = youzan_fixture("trade_paid");
    let (h2, b2) = youzan_fixture("trade_paid_resend");
    assert_ne!(b1, b2, "sendCount differs");
    assert_eq!(event(verify_youzan(&h1, &b1, YOUZAN_SECRET)).0, event(verify_youzan(&h2, &b2, YOUZAN_SECRET)).0);
}

#[test]
fn youzan_upper_case_hex_is_accepted() {
    let (h, body) = youzan_fixture("trade_create");
    let upper = h.get("Event-Sign").expect("Event-Sign").to_ascii_uppercase();
    assert!(upper.bytes().any(|b| b.is_ascii_uppercase()), "the recorded sign has letters");
    let h = replace_header(&h, "Event-Sign", Some(&upper));
    assert!(verify_youzan(&h, &body, YOUZAN_SECRET).is_ok());
}

#[test]
fn youzan_refuses_tampered_body_wrong_secret_and_missing_header() {
    let (h, body) = youzan_fixture("trade_paid");
    assert_eq!(verify_youzan(&h, &tampered(&body), YOUZAN_SECRET), Err(VerifyError::BadSignature));
    assert_eq!(verify_youzan(&h, &body, "another-secret"), Err(VerifyError::BadSignature));
    let other_app = replace_header(&h, "Client-Id", Some("another-client"));
    assert_eq!(verify_youzan(&other_app, &body, YOUZAN_SECRET), Err(VerifyError::BadSignature));
    let unsigned = replace_header(&h, "Event-Sign", None);
    assert_eq!(verify_youzan(&unsigned, &body, YOUZAN_SECRET), Err(VerifyError::MissingHeader(youzan::SIGN_HEADER)));
    let no_client = replace_header(&h, "Client-Id", None);
    assert_eq!(
        verify_youzan(&no_client, &body, YOUZAN_SECRET),
        Err(VerifyError::MissingHeader(youzan::CLIENT_ID_HEADER))
    );
}

// ---------------------------------------------------------------------------------------------
// Standard Webhooks

/// `whsec_` + base64 of a 24-byte key.
const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SW_ID: &str = "msg_2mN8xWq4tYb7Lp0Kd3Hs9Fa1";

fn sw_headers(id: &str, timestamp: i64, signature: &str) -> Headers {
    headers(&[("webhook-id", id), ("webhook-timestamp", &timestamp.to_string()), ("webhook-signature", signature)])
}

fn verify_sw(h: &Headers, body: &[u8], secret: &str, at: DateTime<Utc>) -> Result<Verified, VerifyError> {
    platforms::verify(Platform::Standard, h, body, secret, at)
}

fn sign_sw(secret: &str, timestamp: i64, body: &[u8]) -> String {
    standard::sign(secret, SW_ID, timestamp, body).expect("secret is valid")
}

#[test]
fn standard_sign_matches_the_reference_vector() {
    let sig = standard::sign(SW_SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#)
        .expect("valid secret");
    assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    let at = DateTime::from_timestamp(1_614_265_330, 0).expect("time");
    let h = sw_headers("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, &sig);
    assert!(verify_sw(&h, br#"{"test": 2432232314}"#, SW_SECRET, at).is_ok());
}

#[test]
fn standard_valid_signature_passes() {
    let body = fixture("standard/order_created.json");
    let ts = now().timestamp();
    let h = sw_headers(SW_ID, ts, &sign_sw(SW_SECRET, ts, &body));
    let (key, topic) = event(verify_sw(&h, &body, SW_SECRET, now()));
    assert_eq!(key, format!("standard-{SW_ID}"), "webhook-id");
    assert_eq!(topic, "order.created", "the envelope's type");
}

#[test]
fn standard_refuses_tampered_body_wrong_secret_and_missing_headers() {
    let body = fixture("standard/order_updated_paid.json");
    let ts = now().timestamp();
    let sig = sign_sw(SW_SECRET, ts, &body);
    let h = sw_headers(SW_ID, ts, &sig);
    assert_eq!(verify_sw(&h, &tampered(&body), SW_SECRET, now()), Err(VerifyError::BadSignature));
    let other = format!("whsec_{}", B64.encode(b"a completely different key!!"));
    assert_eq!(verify_sw(&h, &body, &other, now()), Err(VerifyError::BadSignature));
    // The id and timestamp are signed too.
    assert_eq!(verify_sw(&sw_headers("msg_other", ts, &sig), &body, SW_SECRET, now()), Err(VerifyError::BadSignature));
    assert_eq!(verify_sw(&sw_headers(SW_ID, ts - 1, &sig), &body, SW_SECRET, now()), Err(VerifyError::BadSignature));

    let ts_text = ts.to_string();
    for missing in [standard::ID_HEADER, standard::TIMESTAMP_HEADER, standard::SIGNATURE_HEADER] {
        let pairs: Vec<(&str, &str)> = [
            (standard::ID_HEADER, SW_ID),
            (standard::TIMESTAMP_HEADER, ts_text.as_str()),
            (standard::SIGNATURE_HEADER, sig.as_str()),
        ]
        .into_iter()
        .filter(|(k, _)| *k != missing)
        .collect();
        assert_eq!(verify_sw(&headers(&pairs), &body, SW_SECRET, now()), Err(VerifyError::MissingHeader(missing)));
    }
    let h = headers(&[("webhook-id", SW_ID), ("webhook-timestamp", "yesterday"), ("webhook-signature", &sig)]);
    assert_eq!(verify_sw(&h, &body, SW_SECRET, now()), Err(VerifyError::MalformedHeader(standard::TIMESTAMP_HEADER)));
}

#[test]
fn standard_timestamp_tolerance_is_300_seconds_either_way() {
    let body = fixture("standard/member_signup.json");
    let at = now();
    for (offset, ok) in [(-301, false), (-300, true), (0, true), (300, true), (301, false)] {
        let ts = (at + Duration::seconds(offset)).timestamp();
        let h = sw_headers(SW_ID, ts, &sign_sw(SW_SECRET, ts, &body));
        let result = verify_sw(&h, &body, SW_SECRET, at);
        if ok {
            assert!(result.is_ok(), "timestamp now{offset:+} s must pass: {result:?}");
        } else {
            assert_eq!(
                result,
                Err(VerifyError::StaleTimestamp { skew_s: -offset, tolerance_s: 300 }),
                "timestamp now{offset:+} s"
            );
        }
    }
}

#[test]
fn standard_rotated_secret_passes_with_either_and_fails_with_a_third() {
    let body = fixture("standard/inventory_movement_receipt.json");
    let ts = now().timestamp();
    let old = format!("whsec_{}", B64.encode(b"old signing key 0123456789"));
    let new = format!("whsec_{}", B64.encode(b"new signing key 9876543210"));
    let third = format!("whsec_{}", B64.encode(b"some third key 1111111111"));
    let both = format!("{} {}", sign_sw(&old, ts, &body), sign_sw(&new, ts, &body));
    let h = sw_headers(SW_ID, ts, &both);
    assert!(verify_sw(&h, &body, &old, now()).is_ok(), "old secret");
    assert!(verify_sw(&h, &body, &new, now()).is_ok(), "new secret");
    assert_eq!(verify_sw(&h, &body, &third, now()), Err(VerifyError::BadSignature));
}

#[test]
fn standard_ignores_other_versions_and_garbage_entries() {
    let body = fixture("standard/product_upsert.json");
    let ts = now().timestamp();
    let good = sign_sw(SW_SECRET, ts, &body);
    let mac = good.strip_prefix("v1,").expect("v1 prefix");
    // The right MAC under another scheme name (v1a is asymmetric ed25519) is not a v1 signature.
    let v1a_only = format!("v1a,{mac}");
    assert_eq!(verify_sw(&sw_headers(SW_ID, ts, &v1a_only), &body, SW_SECRET, now()), Err(VerifyError::BadSignature));
    let garbage_only = "v1,!!!not-base64!!! v1, nonsense";
    assert_eq!(
        verify_sw(&sw_headers(SW_ID, ts, garbage_only), &body, SW_SECRET, now()),
        Err(VerifyError::BadSignature)
    );
    // Next to a valid v1 entry, such entries are skipped.
    for header in [format!("v1a,{mac} {good}"), format!("v1,!!!not-base64!!! {good}"), format!("{good} v2,abc garbage")]
    {
        assert!(verify_sw(&sw_headers(SW_ID, ts, &header), &body, SW_SECRET, now()).is_ok(), "{header}");
    }
}

#[test]
fn standard_secret_without_whsec_prefix() {
    let body = fixture("standard/order_created.json");
    let ts = now().timestamp();
    let bare = SW_SECRET.strip_prefix("whsec_").expect("prefixed");
    let h = sw_headers(SW_ID, ts, &sign_sw(SW_SECRET, ts, &body));
    assert!(verify_sw(&h, &body, bare, now()).is_ok(), "the same key given as plain base64");
    let h = sw_headers(SW_ID, ts, &sign_sw(bare, ts, &body));
    assert!(verify_sw(&h, &body, SW_SECRET, now()).is_ok());
    assert_eq!(verify_sw(&h, &body, "whsec_not*base64", now()), Err(VerifyError::MalformedSecret));
}
