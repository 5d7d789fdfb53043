//! Authenticates a webhook delivery and lands its exact bytes under `raw/` (write-if-absent),
//! answering within milliseconds. Decisions live in `omnilake::ingest`; this module fetches
//! the shop and its secret, executes the plan and maps errors to HTTP.

use std::time::Instant;

use chrono::Utc;
use lambda_http::{Body, Error, Request, RequestExt, Response};
use omnilake::aws::s3::{DataBucket, PutOutcome};
use omnilake::aws::secrets::SecretStore;
use omnilake::aws::shops::ShopDirectory;
use omnilake::aws::ConfigError;
use omnilake::ingest::{self, IngestError, WebhookPlan, DEFAULT_MAX_BODY_BYTES};
use omnilake::platforms::Headers;

/// What the handler needs, built once per cold start.
pub struct Deps {
    pub bucket: DataBucket,
    pub shops: ShopDirectory,
    pub secrets: SecretStore,
    pub max_body_bytes: usize,
}

pub fn max_body_bytes_from_env() -> Result<usize, ConfigError> {
    match std::env::var("OMNILAKE_MAX_BODY_BYTES") {
        Err(_) => Ok(DEFAULT_MAX_BODY_BYTES),
        Ok(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
            name: "OMNILAKE_MAX_BODY_BYTES".into(),
            reason: format!("`{v}` is not a byte count"),
        }),
    }
}

/// The Lambda entry point: never fails the invocation; every outcome is an HTTP answer.
pub async fn handle_request(deps: &Deps, req: Request) -> Result<Response<Body>, Error> {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let path = match req.raw_http_path() {
        p if !p.is_empty() => p.to_string(),
        _ => req.uri().path().to_string(),
    };
    let headers: Headers = req
        .headers()
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
        .collect();
    let body: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    let (status, answer) = match land(deps, &method, &path, &headers, body).await {
        Ok(answer) => (200, answer),
        Err(err) => {
            if err.status() >= 500 {
                tracing::error!(error = ?err, path, "webhook failed");
            } else {
                tracing::warn!(status = err.status(), reason = %err, path, "webhook refused");
            }
            (err.status(), ingest::error_body(&err))
        }
    };
    tracing::info!(status, elapsed_us = started.elapsed().as_micros() as u64, "webhook answered");
    Ok(Response::builder().status(status).header("content-type", "application/json").body(Body::from(answer))?)
}

async fn land(deps: &Deps, method: &str, path: &str, headers: &Headers, body: &[u8]) -> Result<String, IngestError> {
    let route = ingest::parse_route(method, path)?;
    let shop = deps
        .shops
        .get(route.platform, &route.shop_id)
        .await
        .map_err(IngestError::internal)?
        .ok_or_else(|| IngestError::UnknownShop { platform: route.platform, shop_id: route.shop_id.clone() })?;
    let secret = deps.secrets.get(&shop.secret_id).await.map_err(IngestError::internal)?;
    let plan = ingest::plan_webhook(&shop, &secret, headers, body, Utc::now(), deps.max_body_bytes)?;
    match plan {
        WebhookPlan::Ping => {
            tracing::info!(platform = %route.platform, shop_id = %route.shop_id, "ping answered");
            Ok(ingest::success_body(route.platform, None, false))
        }
        WebhookPlan::Land { key, metadata } => {
            let outcome = deps
                .bucket
                .put_if_absent(&key, body.to_vec(), "application/octet-stream", &metadata.to_map())
                .await
                .map_err(IngestError::internal)?;
            let duplicate = outcome == PutOutcome::AlreadyExists;
            tracing::info!(platform = %route.platform, shop_id = %route.shop_id, topic = %metadata.topic, key, duplicate, "landed");
            let event_key = key.rsplit('/').next().and_then(|f| f.strip_suffix(".json"));
            Ok(ingest::success_body(route.platform, event_key, duplicate))
        }
    }
}
