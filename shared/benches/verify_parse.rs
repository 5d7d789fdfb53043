//! Per-event CPU of the webhook path: verify + parse of the 10 KB Shopify order
//! (`fixtures/platforms/shopify/orders_create_10kb.json`), verify only, parse only, and a plain
//! `serde_json::Value` parse of the same bytes as the peer reference.
//!
//! cargo bench -p omnilake-shared --bench verify_parse -- --warm-up-time 1 --measurement-time 3

use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use omnilake::platforms::{self, shopify, Headers, ParseContext, Platform, Verified};

const SECRET: &str = "shpss_bench_secret";

fn body() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/platforms/shopify/orders_create_10kb.json");
    std::fs::read(path).expect("the 10 KB Shopify fixture")
}

fn bench(c: &mut Criterion) {
    let body = body();
    let headers: Headers = [
        (shopify::HMAC_HEADER, shopify::sign(SECRET, &body)),
        (shopify::TOPIC_HEADER, "orders/create".to_string()),
        (shopify::WEBHOOK_ID_HEADER, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043".to_string()),
    ]
    .into_iter()
    .collect();
    let now: DateTime<Utc> =
        DateTime::parse_from_rfc3339("2026-11-25T13:20:47-05:00").expect("time").with_timezone(&Utc);
    let ctx = ParseContext {
        shop_id: "qingquan-us",
        topic: "orders/create",
        received_at: now,
        time_zone: chrono_tz::America::New_York,
        currency: "USD",
    };
    // Sanity: the benchmark measures the successful path.
    let verified = platforms::verify(Platform::Shopify, &headers, &body, SECRET, now).expect("signature is valid");
    assert!(matches!(verified, Verified::Event { .. }));
    assert_eq!(platforms::parse(Platform::Shopify, &body, &ctx).expect("parses").len(), 1);

    let mut group = c.benchmark_group("shopify_10kb");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("verify_parse", |b| {
        b.iter(|| {
            let v = platforms::verify(Platform::Shopify, black_box(&headers), black_box(&body), SECRET, now);
            let records = platforms::parse(Platform::Shopify, black_box(&body), &ctx);
            black_box((v, records))
        })
    });
    group.bench_function("verify", |b| {
        b.iter(|| black_box(platforms::verify(Platform::Shopify, black_box(&headers), black_box(&body), SECRET, now)))
    });
    group
        .bench_function("parse", |b| b.iter(|| black_box(platforms::parse(Platform::Shopify, black_box(&body), &ctx))));
    group.bench_function("serde_json_value", |b| {
        b.iter(|| black_box(serde_json::from_slice::<serde_json::Value>(black_box(&body))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
