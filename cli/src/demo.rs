//! `omnilake demo`: the whole pipeline on the local stack. Brings the stack up, generates a
//! realistic day, registers the shops, sends every delivery signed as its platform would
//! (duplicates, reordering and forged signatures included), uploads the feed files, waits for
//! the queues to drain, then checks and prints what landed where. Exits non-zero if anything
//! is missing or extra.

use std::collections::BTreeSet;
use std::time::Instant;

use clap::Args;
use futures::{stream, StreamExt};
use omnilake::aws::s3::DataBucket;
use omnilake::normalize::read_jsonl_gz;
use omnilake::platforms::outbound::{new_secret, Outgoing};
use omnilake::synth::{OrderVersionRef, SynthOutput};
use rand::{RngCore, SeedableRng};

use crate::env::{state_dir, StackEnv};
use crate::gen::{self, GenArgs};
use crate::local::{self, LocalCommand};
use crate::send;
use crate::shop::{self, AddArgs};

/// Concurrent webhook POSTs (the local function runs 4 instances).
const SEND_CONCURRENCY: usize = 8;

#[derive(Args)]
pub struct DemoArgs {
    #[arg(long, default_value_t = 1200)]
    pub orders: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Stop the local stack at the end.
    #[arg(long)]
    pub down: bool,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    local::run(LocalCommand::Up).await?;
    let env = StackEnv::load()?;

    let dir = state_dir()?.join("demo");
    let gen_args = GenArgs {
        orders: args.orders,
        seed: args.seed,
        out: dir.clone(),
        start_date: "2026-11-20".parse()?,
        days: 1,
        forged: 25,
    };
    let data = gen::build(&gen_args);
    gen::write(&data, &dir)?;

    // Shops with fresh secrets (kept only in the local secret store and in memory here).
    let mut rng = rand_chacha::ChaCha8Rng::from_entropy();
    let mut secrets = Vec::new();
    for s in &data.shops {
        let mut seed = [0u8; 24];
        rng.fill_bytes(&mut seed);
        let secret = new_secret(s.platform, &seed);
        let add = AddArgs {
            platform: s.platform,
            shop: s.shop_id.clone(),
            secret: secret.clone(),
            timezone: s.time_zone.clone(),
            currency: s.currency.clone(),
            country: "CN".into(),
            location: Some(s.location_id.clone()),
        };
        shop::add(&env, &add).await?;
        secrets.push(((s.platform, s.shop_id.clone()), secret));
    }
    let secret_of = |p, shop: &str| secrets.iter().find(|((sp, ss), _)| *sp == p && ss == shop).map(|(_, s)| s.clone());

    // Send.
    let base = env.get("OMNILAKE_WEBHOOK_URL")?.to_string();
    let http = send::http_client()?;
    let send_started = Instant::now();
    let answers: Vec<(bool, u16)> = stream::iter(data.deliveries.iter().map(|d| {
        let (http, base) = (&http, &base);
        let secret = if d.forged {
            new_secret(d.platform, &[0xAB; 24])
        } else {
            secret_of(d.platform, &d.shop_id).unwrap_or_default()
        };
        let client_id = data.shops.iter().find(|s| s.shop_id == d.shop_id).and_then(|s| s.client_id.clone());
        async move {
            let out = Outgoing {
                platform: d.platform,
                topic: &d.topic,
                delivery_id: &d.delivery_id,
                client_id: client_id.as_deref(),
                body: &d.body,
            };
            let status = match send::post(http, base, &d.shop_id, &out, &secret).await {
                Ok(a) => a.status,
                Err(e) => {
                    eprintln!("delivery {}: {e:#}", d.seq);
                    0
                }
            };
            (d.forged, status)
        }
    }))
    .buffered(SEND_CONCURRENCY)
    .collect()
    .await;
    let send_s = send_started.elapsed().as_secs_f64();
    let accepted = answers.iter().filter(|(f, s)| !f && (200..300).contains(s)).count();
    let authentic = answers.iter().filter(|(f, _)| !f).count();
    let refused_forged = answers.iter().filter(|(f, s)| *f && *s == 401).count();
    eprintln!("sent {} deliveries in {send_s:.1} s ({:.0}/s)", answers.len(), answers.len() as f64 / send_s.max(0.001));

    // Feed files.
    let config = env.sdk_config().await;
    let bucket = DataBucket::new(DataBucket::client_from(&config), env.get("OMNILAKE_BUCKET")?);
    for f in &data.feeds {
        bucket.put(&f.key, f.bytes.clone(), "text/csv", None, &Default::default()).await?;
    }
    local::run(LocalCommand::Wait { timeout_s: 900 }).await?;

    let report = Report::collect(&bucket).await?;
    let ok = report.print(
        &data,
        accepted,
        authentic,
        refused_forged,
        env.get("OMNILAKE_BUCKET")?,
        env.get("AWS_ENDPOINT_URL")?,
    );
    let members_ok = crate::points::demo_members(&env, &bucket).await?;
    let rollup_ok = crate::rollup::demo_rollup(&env).await?;
    eprintln!("demo finished in {:.1} s", started.elapsed().as_secs_f64());
    if args.down {
        local::run(LocalCommand::Down).await?;
    }
    anyhow::ensure!(ok && members_ok && rollup_ok, "the demo's checks failed (see above)");
    Ok(())
}

/// What is in the bucket after the run.
struct Report {
    raw_webhook_objects: usize,
    raw_feed_objects: usize,
    feed_quarantined: usize,
    normalize_quarantined: usize,
    canonical_files: usize,
    order_versions: BTreeSet<OrderVersionRef>,
}

impl Report {
    async fn collect(bucket: &DataBucket) -> anyhow::Result<Report> {
        let raw = bucket.list("raw/").await?;
        let raw_feed_objects = raw.iter().filter(|k| k.starts_with("raw/platform=feed/")).count();
        let files = bucket.list("canonical/orders/").await?;
        let mut order_versions = BTreeSet::new();
        for key in &files {
            for line in read_jsonl_gz(&bucket.get(key).await?.body)? {
                let v: serde_json::Value = serde_json::from_str(&line)?;
                let text = |f: &str| v[f].as_str().unwrap_or_default().to_string();
                order_versions.insert(OrderVersionRef {
                    platform: text("platform"),
                    shop_id: text("shop_id"),
                    order_id: text("order_id"),
                    version: v["version"].as_i64().unwrap_or_default(),
                });
            }
        }
        Ok(Report {
            raw_webhook_objects: raw.len() - raw_feed_objects,
            raw_feed_objects,
            feed_quarantined: bucket.list("quarantine/feed/").await?.len(),
            normalize_quarantined: bucket.list("quarantine/normalize/").await?.len(),
            canonical_files: bucket.list("canonical/").await?.len(),
            order_versions,
        })
    }

    fn print(
        &self,
        data: &SynthOutput,
        accepted: usize,
        authentic: usize,
        refused_forged: usize,
        bucket: &str,
        endpoint: &str,
    ) -> bool {
        let e = &data.expected;
        let forged_ids: BTreeSet<&str> = data
            .deliveries
            .iter()
            .filter(|d| d.forged)
            .filter_map(|d| d.order.as_ref())
            .map(|o| o.order_id.as_str())
            .collect();
        let forged_landed = self.order_versions.iter().filter(|o| forged_ids.contains(o.order_id.as_str())).count();
        let webhook_versions: BTreeSet<&OrderVersionRef> =
            self.order_versions.iter().filter(|o| e.order_versions.contains(o)).collect();
        let missing = e.order_versions.len() - webhook_versions.len();
        let orders: BTreeSet<(&str, &str, &str)> = self
            .order_versions
            .iter()
            .map(|o| (o.platform.as_str(), o.shop_id.as_str(), o.order_id.as_str()))
            .collect();
        let mut ok = true;
        let mut line = |label: &str, got: usize, want: Option<usize>| {
            let verdict = match want {
                Some(w) if w == got => "ok".to_string(),
                Some(w) => {
                    ok = false;
                    format!("MISMATCH (expected {w})")
                }
                None => String::new(),
            };
            println!("  {label:<52} {got:>7}  {verdict}");
        };
        println!("\nomnilake demo: what landed where (bucket {bucket})");
        line("authentic deliveries answered 2xx", accepted, Some(authentic));
        line("forged deliveries refused with 401", refused_forged, Some(e.forged_deliveries));
        line(
            "raw/ objects from webhooks (= unique deliveries)",
            self.raw_webhook_objects,
            Some(e.unique_authentic_deliveries),
        );
        line("raw/ objects from feed files (= feed events)", self.raw_feed_objects, Some(e.feed_events));
        line("quarantine/feed/ rows", self.feed_quarantined, Some(e.feed_bad_rows));
        line("quarantine/normalize/ events", self.normalize_quarantined, None);
        line("canonical/ files", self.canonical_files, None);
        line("webhook order versions missing from canonical/orders/", missing, Some(0));
        line("canonical order versions from forged deliveries", forged_landed, Some(0));
        line("distinct orders in canonical/orders/ (webhooks + POS feed)", orders.len(), None);
        println!("\nExplore it (the local stack keeps running; `omnilake local down` stops it):");
        println!("  .venv/bin/python -c \"import duckdb; duckdb.sql(\\\"SET s3_endpoint='{}'; SET s3_use_ssl=false; SET s3_url_style='path'; SET s3_access_key_id='testing'; SET s3_secret_access_key='testing'\\\"); print(duckdb.sql(\\\"SELECT platform, count(*) orders FROM read_json_auto('s3://{bucket}/canonical/orders/*/*.jsonl.gz') GROUP BY 1\\\"))\"", endpoint.trim_start_matches("http://"));
        println!("  .venv/bin/python -c \"import polars as pl; print(pl.read_ndjson('s3://{bucket}/canonical/orders/dt=2026-11-20/*.jsonl.gz', storage_options={{'aws_endpoint_url':'{endpoint}','aws_access_key_id':'testing','aws_secret_access_key':'testing','aws_region':'us-east-1','aws_allow_http':'true'}}).head())\"");
        ok
    }
}
