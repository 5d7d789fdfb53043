//! The sending side: headers a platform would put on a delivery. Used by `omnilake send`, the
//! demo and the end-to-end tests, so they exercise exactly the checks `verify` makes.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};

use super::{shopify, standard, woocommerce, youzan, Platform, VerifyError};

/// What identifies a delivery besides its body.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub platform: Platform,
    pub topic: &'a str,
    /// Shopify `X-Shopify-Webhook-Id`, Standard `webhook-id`, WooCommerce delivery id.
    pub delivery_id: &'a str,
    /// Youzan app id (`Client-Id`).
    pub client_id: Option<&'a str>,
    pub body: &'a [u8],
}

/// The default Youzan client id when a shop's delivery names none.
pub const DEFAULT_YOUZAN_CLIENT_ID: &str = "omnilake-local";

/// Signed headers for `delivery` with `secret`, at time `now`.
pub fn signed_headers(
    delivery: &Outgoing<'_>,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Vec<(String, String)>, VerifyError> {
    let h = |k: &str, v: String| (k.to_string(), v);
    let mut headers = vec![h("content-type", "application/json".into())];
    match delivery.platform {
        Platform::Shopify => {
            headers.push(h("x-shopify-topic", delivery.topic.into()));
            headers.push(h("x-shopify-webhook-id", delivery.delivery_id.into()));
            headers.push(h("x-shopify-triggered-at", now.to_rfc3339_opts(SecondsFormat::Millis, true)));
            headers.push(h("x-shopify-hmac-sha256", shopify::sign(secret, delivery.body)));
        }
        Platform::WooCommerce => {
            headers.push(h("x-wc-webhook-topic", delivery.topic.into()));
            headers.push(h("x-wc-webhook-delivery-id", delivery.delivery_id.into()));
            headers.push(h("x-wc-webhook-signature", woocommerce::sign(secret, delivery.body)));
        }
        Platform::Youzan => {
            let client_id = delivery.client_id.unwrap_or(DEFAULT_YOUZAN_CLIENT_ID);
            headers.push(h("event-type", delivery.topic.into()));
            headers.push(h("client-id", client_id.into()));
            headers.push(h("event-sign", youzan::sign(client_id, secret, delivery.body)));
        }
        Platform::Standard => {
            let ts = now.timestamp();
            headers.push(h("webhook-id", delivery.delivery_id.into()));
            headers.push(h("webhook-timestamp", ts.to_string()));
            headers.push(h("webhook-signature", standard::sign(secret, delivery.delivery_id, ts, delivery.body)?));
        }
    }
    Ok(headers)
}

/// A fresh random-looking secret for a platform (Standard Webhooks needs `whsec_` + base64).
pub fn new_secret(platform: Platform, seed_bytes: &[u8; 24]) -> String {
    match platform {
        Platform::Standard => format!("whsec_{}", B64.encode(seed_bytes)),
        _ => hex::encode(seed_bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::{verify, Headers, Verified};

    #[test]
    fn every_platform_verifies_what_it_signs() {
        let now: DateTime<Utc> = "2026-11-20T06:00:00Z".parse().expect("time");
        for platform in Platform::ALL {
            let secret = new_secret(platform, &[7u8; 24]);
            let body = br#"{"type":"order.created","id":1}"#;
            let out = Outgoing { platform, topic: "order.created", delivery_id: "d-1", client_id: None, body };
            let headers: Headers = signed_headers(&out, &secret, now).expect("sign").into_iter().collect();
            let verified = verify(platform, &headers, body, &secret, now).expect("authentic");
            assert!(matches!(verified, Verified::Event { .. }), "{platform}");
            let wrong = new_secret(platform, &[8u8; 24]);
            assert!(verify(platform, &headers, body, &wrong, now).is_err(), "{platform} accepted a wrong secret");
        }
    }
}
