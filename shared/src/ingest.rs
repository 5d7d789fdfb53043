//! `ingest-webhook`'s decisions, as pure functions: which route, whether the delivery is
//! authentic, and what to write where. The function only fetches the shop and its secret and
//! executes the plan.

use chrono::{DateTime, Utc};

use crate::canonical::time::business_date;
use crate::platforms::{self, Headers, Platform, Verified, VerifyError};
use crate::raw::{RawKey, RawMetadata};
use crate::shop::{is_valid_shop_id, Shop};

/// Default largest body accepted (1 MiB; a 250-line Shopify order is ~150 KB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;

/// Why a webhook request is refused. Each maps to one HTTP status at the edge.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("no such route: expected POST /webhooks/{{platform}}/{{shop_id}}")]
    NoRoute,
    #[error("method {0} is not allowed; use POST")]
    MethodNotAllowed(String),
    #[error(transparent)]
    UnknownPlatform(#[from] platforms::UnknownPlatform),
    #[error("shop id `{0}` is not valid")]
    InvalidShopId(String),
    #[error("unknown shop `{shop_id}` for platform {platform}")]
    UnknownShop { platform: Platform, shop_id: String },
    #[error("unauthorized: {0}")]
    Unauthorized(VerifyError),
    #[error("body of {size} bytes is over the limit of {limit} bytes")]
    BodyTooLarge { size: usize, limit: usize },
    /// Our side failed (storage, secret store, configuration): the sender should retry.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl IngestError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            IngestError::NoRoute
            | IngestError::UnknownPlatform(_)
            | IngestError::UnknownShop { .. }
            | IngestError::InvalidShopId(_) => 404,
            IngestError::MethodNotAllowed(_) => 405,
            IngestError::Unauthorized(VerifyError::MalformedSecret) => 500,
            IngestError::Unauthorized(_) => 401,
            IngestError::BodyTooLarge { .. } => 413,
            IngestError::Internal(_) => 500,
        }
    }

    /// The message safe to show the caller: 4xx say what was wrong, 5xx say nothing inside.
    pub fn public_message(&self) -> String {
        match self {
            // Say "unauthorized" without which check failed beyond the header name: that is
            // enough for an integrator and tells an attacker nothing about the secret.
            IngestError::Unauthorized(VerifyError::MalformedSecret) | IngestError::Internal(_) => {
                "internal error".into()
            }
            other => other.to_string(),
        }
    }

    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        IngestError::Internal(Box::new(e))
    }
}

/// The parsed route of a webhook request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRoute {
    pub platform: Platform,
    pub shop_id: String,
}

/// Finds `/webhooks/{platform}/{shop_id}` at the end of a path, whatever prefix a Function URL,
/// API stage or local emulator puts before it.
pub fn parse_route(method: &str, path: &str) -> Result<WebhookRoute, IngestError> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let at = segments.iter().rposition(|s| *s == "webhooks").ok_or(IngestError::NoRoute)?;
    let (platform, shop_id) = match &segments[at + 1..] {
        [platform, shop_id] => (*platform, *shop_id),
        _ => return Err(IngestError::NoRoute),
    };
    if !method.eq_ignore_ascii_case("POST") {
        return Err(IngestError::MethodNotAllowed(method.to_string()));
    }
    let platform: Platform = platform.parse()?;
    if !is_valid_shop_id(shop_id) {
        return Err(IngestError::InvalidShopId(shop_id.chars().take(80).collect()));
    }
    Ok(WebhookRoute { platform, shop_id: shop_id.to_string() })
}

/// What to do with an authentic delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookPlan {
    /// Write the body to `key` if absent, with `metadata`.
    Land { key: String, metadata: RawMetadata },
    /// WooCommerce ping: answer 200, write nothing.
    Ping,
}

/// Checks size and signature and decides the raw key. Nothing is planned for a delivery that
/// is not authentic.
pub fn plan_webhook(
    shop: &Shop,
    secret: &str,
    headers: &Headers,
    body: &[u8],
    now: DateTime<Utc>,
    max_body_bytes: usize,
) -> Result<WebhookPlan, IngestError> {
    if body.len() > max_body_bytes {
        return Err(IngestError::BodyTooLarge { size: body.len(), limit: max_body_bytes });
    }
    match platforms::verify(shop.platform, headers, body, secret, now).map_err(IngestError::Unauthorized)? {
        Verified::Ping => Ok(WebhookPlan::Ping),
        Verified::Event { event_key, topic } => {
            let key = RawKey {
                platform: shop.platform.as_str().to_string(),
                shop_id: shop.shop_id.clone(),
                date: raw_partition_date(shop, headers, now),
                event_key,
            };
            let metadata = RawMetadata::for_webhook(shop.platform.as_str(), &shop.shop_id, &topic, now, headers);
            Ok(WebhookPlan::Land { key: key.to_key(), metadata })
        }
    }
}

/// The `dt=` of a raw object must be the same for every retry of a delivery, or the
/// `If-None-Match` guard cannot see the duplicate. Shopify dates the event itself
/// (`X-Shopify-Triggered-At`, unchanged across its retries); other senders are dated on receipt
/// in the shop's time zone, so only a retry that crosses the shop's midnight lands twice (and
/// normalisation then ignores it as an equal version).
fn raw_partition_date(shop: &Shop, headers: &Headers, now: DateTime<Utc>) -> chrono::NaiveDate {
    let triggered = match shop.platform {
        Platform::Shopify => headers
            .get("x-shopify-triggered-at")
            .and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
            .map(|t| t.with_timezone(&Utc)),
        _ => None,
    };
    business_date(triggered.unwrap_or(now), shop.time_zone)
}

/// The body answered for a landed (or already landed) delivery.
pub fn success_body(platform: Platform, event_key: Option<&str>, duplicate: bool) -> String {
    match platform {
        // Youzan requires exactly this reply, or it retries.
        Platform::Youzan => r#"{"code":0,"msg":"success"}"#.to_string(),
        _ => serde_json::json!({ "status": if duplicate { "duplicate" } else { "accepted" }, "event_key": event_key })
            .to_string(),
    }
}

/// The small JSON error body every refusal gets.
pub fn error_body(err: &IngestError) -> String {
    serde_json::json!({ "error": err.public_message() }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::shopify;

    #[test]
    fn routes_are_found_behind_any_prefix() {
        let r = parse_route("POST", "/lambda-url/ingest-webhook/webhooks/shopify/demo").expect("route");
        assert_eq!(r, WebhookRoute { platform: Platform::Shopify, shop_id: "demo".into() });
        assert!(matches!(parse_route("GET", "/webhooks/shopify/demo"), Err(IngestError::MethodNotAllowed(_))));
        assert!(matches!(parse_route("POST", "/webhooks/bigcommerce/demo"), Err(IngestError::UnknownPlatform(_))));
        assert!(matches!(parse_route("POST", "/webhooks/shopify"), Err(IngestError::NoRoute)));
        assert!(matches!(parse_route("POST", "/other"), Err(IngestError::NoRoute)));
    }

    #[test]
    fn statuses_and_messages_are_safe() {
        let internal = IngestError::internal(std::io::Error::other("db password wrong"));
        assert_eq!(internal.status(), 500);
        assert_eq!(error_body(&internal), r#"{"error":"internal error"}"#);
        assert_eq!(IngestError::Unauthorized(VerifyError::BadSignature).status(), 401);
        assert_eq!(IngestError::BodyTooLarge { size: 2, limit: 1 }.status(), 413);
    }

    #[test]
    fn a_redelivery_plans_the_same_key() {
        let shop = Shop::with_defaults(Platform::Shopify, "demo", "s".into());
        let body = br#"{"id":1}"#;
        let headers: Headers = [
            ("x-shopify-hmac-sha256", shopify::sign("secret", body)),
            ("x-shopify-topic", "orders/create".to_string()),
            ("x-shopify-webhook-id", "w-1".to_string()),
            ("x-shopify-triggered-at", "2026-11-20T15:59:00Z".to_string()),
        ]
        .into_iter()
        .collect();
        let first = plan_webhook(&shop, "secret", &headers, body, "2026-11-20T15:59:01Z".parse().expect("t"), 1000)
            .expect("plan");
        // Retried after the shop's midnight (16:00 UTC in Shanghai): still the same key.
        let retry = plan_webhook(&shop, "secret", &headers, body, "2026-11-20T17:00:00Z".parse().expect("t"), 1000)
            .expect("plan");
        match (first, retry) {
            (WebhookPlan::Land { key: a, .. }, WebhookPlan::Land { key: b, .. }) => {
                assert_eq!(a, b);
                assert_eq!(a, "raw/platform=shopify/shop=demo/dt=2026-11-20/shopify-w-1.json");
            }
            other => panic!("expected two landings, got {other:?}"),
        }
    }

    #[test]
    fn oversized_and_forged_bodies_plan_nothing() {
        let shop = Shop::with_defaults(Platform::Shopify, "demo", "s".into());
        let headers: Headers =
            [("x-shopify-hmac-sha256", "AAAA"), ("x-shopify-topic", "orders/create")].into_iter().collect();
        let now = "2026-11-20T00:00:00Z".parse().expect("t");
        assert!(matches!(
            plan_webhook(&shop, "k", &headers, &[b'x'; 11], now, 10),
            Err(IngestError::BodyTooLarge { .. })
        ));
        assert!(matches!(plan_webhook(&shop, "k", &headers, b"{}", now, 10), Err(IngestError::Unauthorized(_))));
    }
}
