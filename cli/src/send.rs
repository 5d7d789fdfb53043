//! `omnilake send`: signs payload files as their platform would and POSTs them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use clap::Args;
use omnilake::aws::secrets::SecretStore;
use omnilake::platforms::outbound::{signed_headers, Outgoing};
use omnilake::platforms::signature::sha256_hex;
use omnilake::platforms::Platform;
use omnilake::shop::Shop;
use serde_json::Value;

use crate::env::StackEnv;

#[derive(Args)]
pub struct SendArgs {
    #[arg(long)]
    pub platform: Platform,
    #[arg(long)]
    pub shop: String,
    /// Topic / event type; by default read from FILE.headers.json or guessed from the body.
    #[arg(long)]
    pub topic: Option<String>,
    /// Sign with this secret instead of the shop's registered one.
    #[arg(long)]
    pub secret: Option<String>,
    /// Base URL (default: OMNILAKE_WEBHOOK_URL from the local stack).
    #[arg(long)]
    pub url: Option<String>,
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// One HTTP answer.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// Posts one signed delivery to `{base}/webhooks/{platform}/{shop}`.
pub async fn post(
    http: &reqwest::Client,
    base: &str,
    shop_id: &str,
    out: &Outgoing<'_>,
    secret: &str,
) -> anyhow::Result<Answer> {
    let url = format!("{}/webhooks/{}/{}", base.trim_end_matches('/'), out.platform, shop_id);
    let mut request = http.post(&url).body(out.body.to_vec());
    for (k, v) in signed_headers(out, secret, Utc::now()).map_err(|e| anyhow::anyhow!("signing: {e}"))? {
        request = request.header(k, v);
    }
    let response = request.send().await.with_context(|| format!("POST {url}"))?;
    let status = response.status().as_u16();
    Ok(Answer { status, body: response.text().await.unwrap_or_default() })
}

pub fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?)
}

/// Topic and ids from a `FILE.headers.json` sidecar, if there is one.
fn sidecar(file: &Path) -> Option<Value> {
    let name = file.file_name()?.to_str()?;
    let stem = name.strip_suffix(".json").unwrap_or(name);
    let path = file.with_file_name(format!("{stem}.headers.json"));
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn header_of(sidecar: &Option<Value>, names: &[&str]) -> Option<String> {
    let obj = sidecar.as_ref()?.as_object()?;
    obj.iter()
        .find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
        .and_then(|(_, v)| v.as_str().map(str::to_string))
}

/// A best guess of the topic from the body, for files without a sidecar.
fn guess_topic(platform: Platform, body: &[u8]) -> String {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match platform {
        Platform::Shopify if json.get("refund_line_items").is_some() => "refunds/create".into(),
        Platform::Shopify => "orders/updated".into(),
        Platform::WooCommerce if json.as_object().is_some_and(|o| o.len() == 1 && o.contains_key("id")) => {
            "order.deleted".into()
        }
        Platform::WooCommerce => "order.updated".into(),
        Platform::Youzan | Platform::Standard => {
            json.get("type").and_then(Value::as_str).unwrap_or("unknown").to_string()
        }
    }
}

pub async fn run(args: SendArgs) -> anyhow::Result<()> {
    let env = StackEnv::load()?;
    let base = match &args.url {
        Some(url) => url.clone(),
        None => env.get("OMNILAKE_WEBHOOK_URL")?.to_string(),
    };
    let secret = match &args.secret {
        Some(s) => s.clone(),
        None => {
            let config = env.sdk_config().await;
            let id = Shop::secret_name(env.get("OMNILAKE_SECRET_PREFIX")?, args.platform, &args.shop);
            SecretStore::new(aws_sdk_secretsmanager::Client::new(&config)).get(&id).await.with_context(|| {
                format!("no secret for {} shop {} (run `omnilake shop add`)", args.platform, args.shop)
            })?
        }
    };
    let http = http_client()?;
    let mut failures = 0;
    for file in &args.files {
        let body = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let side = sidecar(file);
        let topic = args
            .topic
            .clone()
            .or_else(|| header_of(&side, &["x-shopify-topic", "x-wc-webhook-topic", "event-type"]))
            .unwrap_or_else(|| guess_topic(args.platform, &body));
        let delivery_id = header_of(&side, &["x-shopify-webhook-id", "webhook-id", "x-wc-webhook-delivery-id"])
            .unwrap_or_else(|| sha256_hex(&body)[..32].to_string());
        let client_id = header_of(&side, &["client-id"]);
        let out = Outgoing {
            platform: args.platform,
            topic: &topic,
            delivery_id: &delivery_id,
            client_id: client_id.as_deref(),
            body: &body,
        };
        let answer = post(&http, &base, &args.shop, &out, &secret).await?;
        if !(200..300).contains(&answer.status) {
            failures += 1;
        }
        println!("{} {} {} {}", answer.status, topic, file.display(), answer.body);
    }
    anyhow::ensure!(failures == 0, "{failures} of {} deliveries were refused", args.files.len());
    Ok(())
}
