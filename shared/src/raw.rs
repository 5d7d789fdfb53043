//! The raw zone: `raw/platform={p}/shop={s}/dt={YYYY-MM-DD}/{event_key}.json`, exact bytes as
//! received, with the delivery's headers and omnilake's own facts as object metadata.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::canonical::time::format_utc;
use crate::platforms::Headers;

/// Metadata names omnilake adds (S3 stores them as `x-amz-meta-omnilake-*`).
pub mod meta {
    /// Sender format: `shopify`, `woocommerce`, `youzan`, `standard`, or `feed`.
    pub const FORMAT: &str = "omnilake-format";
    pub const SHOP: &str = "omnilake-shop";
    pub const TOPIC: &str = "omnilake-topic";
    pub const RECEIVED_AT: &str = "omnilake-received-at";
    /// For feed rows: the `incoming/…` key and line numbers they came from.
    pub const SOURCE_KEY: &str = "omnilake-source-key";
    pub const SOURCE_LINES: &str = "omnilake-source-lines";
}

/// Headers worth keeping with the raw bytes: what identifies, dates and authenticates a
/// delivery (so it can be re-verified or replayed), never cookies or auth tokens.
fn keep_header(name: &str) -> bool {
    name.starts_with("x-shopify-")
        || name.starts_with("x-wc-webhook-")
        || name.starts_with("webhook-")
        || matches!(name, "event-type" | "event-sign" | "client-id" | "content-type" | "user-agent")
}

/// Where a raw event lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawKey {
    pub platform: String,
    pub shop_id: String,
    pub date: NaiveDate,
    pub event_key: String,
}

impl RawKey {
    pub fn to_key(&self) -> String {
        format!(
            "raw/platform={}/shop={}/dt={}/{}.json",
            self.platform,
            self.shop_id,
            self.date.format("%Y-%m-%d"),
            self.event_key
        )
    }

    /// Reads a `raw/…` key back; `None` for anything else.
    pub fn parse(key: &str) -> Option<RawKey> {
        let rest = key.strip_prefix("raw/")?;
        let mut parts = rest.splitn(4, '/');
        let platform = parts.next()?.strip_prefix("platform=")?;
        let shop_id = parts.next()?.strip_prefix("shop=")?;
        let date = parts.next()?.strip_prefix("dt=")?.parse().ok()?;
        let event_key = parts.next()?.strip_suffix(".json")?;
        if event_key.is_empty() || event_key.contains('/') {
            return None;
        }
        Some(RawKey {
            platform: platform.to_string(),
            shop_id: shop_id.to_string(),
            date,
            event_key: event_key.to_string(),
        })
    }
}

/// The metadata stored with a raw object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMetadata {
    pub format: String,
    pub shop_id: String,
    pub topic: String,
    pub received_at: DateTime<Utc>,
    /// Other kept entries: delivery headers, feed source.
    pub extra: BTreeMap<String, String>,
}

impl RawMetadata {
    /// Metadata for a webhook delivery, keeping the headers that matter.
    pub fn for_webhook(
        format: &str,
        shop_id: &str,
        topic: &str,
        received_at: DateTime<Utc>,
        headers: &Headers,
    ) -> Self {
        let extra =
            headers.iter().filter(|(k, _)| keep_header(k)).map(|(k, v)| (k.to_string(), metadata_safe(v))).collect();
        RawMetadata { format: format.into(), shop_id: shop_id.into(), topic: topic.into(), received_at, extra }
    }

    pub fn to_map(&self) -> BTreeMap<String, String> {
        let mut map = self.extra.clone();
        map.insert(meta::FORMAT.into(), self.format.clone());
        map.insert(meta::SHOP.into(), self.shop_id.clone());
        map.insert(meta::TOPIC.into(), metadata_safe(&self.topic));
        map.insert(meta::RECEIVED_AT.into(), format_utc(&self.received_at));
        map
    }

    /// Reads metadata back; `None` if omnilake's own entries are missing or malformed.
    pub fn from_map(map: &BTreeMap<String, String>) -> Option<RawMetadata> {
        let received_at = DateTime::parse_from_rfc3339(map.get(meta::RECEIVED_AT)?).ok()?.with_timezone(&Utc);
        let extra = map
            .iter()
            .filter(|(k, _)| ![meta::FORMAT, meta::SHOP, meta::TOPIC, meta::RECEIVED_AT].contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Some(RawMetadata {
            format: map.get(meta::FORMAT)?.clone(),
            shop_id: map.get(meta::SHOP)?.clone(),
            topic: map.get(meta::TOPIC)?.clone(),
            received_at,
            extra,
        })
    }

    /// The original delivery headers kept in the metadata.
    pub fn headers(&self) -> Headers {
        self.extra.iter().filter(|(k, _)| keep_header(k)).collect()
    }
}

/// S3 metadata must be printable ASCII: anything else is percent-encoded.
fn metadata_safe(value: &str) -> String {
    if value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        value.to_string()
    } else {
        percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_keys_round_trip() {
        let key = RawKey {
            platform: "shopify".into(),
            shop_id: "demo-shop".into(),
            date: "2026-11-20".parse().expect("date"),
            event_key: "shopify-abc".into(),
        };
        let text = key.to_key();
        assert_eq!(text, "raw/platform=shopify/shop=demo-shop/dt=2026-11-20/shopify-abc.json");
        assert_eq!(RawKey::parse(&text), Some(key));
        assert_eq!(RawKey::parse("raw/platform=x/shop=y/dt=bad/k.json"), None);
        assert_eq!(RawKey::parse("canonical/orders/x.json"), None);
    }

    #[test]
    fn metadata_keeps_delivery_headers_but_not_secrets() {
        let headers: Headers = [
            ("X-Shopify-Topic", "orders/create"),
            ("X-Shopify-Hmac-Sha256", "abc="),
            ("Cookie", "session=1"),
            ("Authorization", "Bearer x"),
        ]
        .into_iter()
        .collect();
        let at = "2026-11-20T06:00:00Z".parse().expect("time");
        let m = RawMetadata::for_webhook("shopify", "s1", "orders/create", at, &headers);
        let map = m.to_map();
        assert_eq!(map.get("x-shopify-topic").map(String::as_str), Some("orders/create"));
        assert!(map.contains_key("x-shopify-hmac-sha256"));
        assert!(!map.contains_key("cookie") && !map.contains_key("authorization"));
        assert_eq!(RawMetadata::from_map(&map), Some(m));
    }

    #[test]
    fn non_ascii_metadata_is_encoded() {
        assert_eq!(metadata_safe("深圳"), "%E6%B7%B1%E5%9C%B3");
        assert_eq!(metadata_safe("plain"), "plain");
    }
}
