//! A registered shop: who may send for it and how its days, money and stock are counted.

use chrono_tz::Tz;

use crate::canonical::time::DEFAULT_TIME_ZONE;
use crate::platforms::Platform;
use crate::points::PointsRule;

/// One shop of one platform (SPEC "Platforms"). Its secret is not here: only the name of the
/// secret in the secret store, so the table never holds key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shop {
    pub platform: Platform,
    pub shop_id: String,
    pub time_zone: Tz,
    pub currency: String,
    /// ISO 3166 region used to read phone numbers without a country code.
    pub country: String,
    /// The stock location that fulfils this shop's online orders.
    pub location_id: String,
    /// Name of the secret (in Secrets Manager) that authenticates this shop's deliveries.
    pub secret_id: String,
    /// How the shop's orders earn points (docs/points.md).
    pub points_rule: PointsRule,
}

impl Shop {
    /// A shop with the SPEC's defaults (`Asia/Shanghai`, `CNY`, `CN`, location = shop id).
    pub fn with_defaults(platform: Platform, shop_id: &str, secret_id: String) -> Shop {
        Shop {
            platform,
            shop_id: shop_id.to_string(),
            time_zone: DEFAULT_TIME_ZONE,
            currency: "CNY".into(),
            country: "CN".into(),
            location_id: shop_id.to_string(),
            secret_id,
            points_rule: PointsRule::default(),
        }
    }

    /// The key of the shop's item in the shops table.
    pub fn table_key(platform: Platform, shop_id: &str) -> String {
        format!("{platform}#{shop_id}")
    }

    /// The name of a shop's secret under a deployment's prefix (`{prefix}{platform}/{shop}`).
    pub fn secret_name(prefix: &str, platform: Platform, shop_id: &str) -> String {
        format!("{prefix}{platform}/{shop_id}")
    }
}

/// What gives a shop's data its meaning downstream: its business day and its currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopSettings {
    /// For grouping by business day and for times written without an offset.
    pub time_zone: Tz,
    /// For amounts whose record names no currency.
    pub currency: String,
}

impl ShopSettings {
    /// Settings for data of an unregistered shop (an ERP feed): the deployment's business time
    /// zone and the SPEC's default currency.
    pub fn fallback(time_zone: Tz) -> ShopSettings {
        ShopSettings { time_zone, currency: "CNY".into() }
    }
}

impl Shop {
    pub fn settings(&self) -> ShopSettings {
        ShopSettings { time_zone: self.time_zone, currency: self.currency.clone() }
    }
}

/// Whose settings apply to events of a raw `format`: a webhook's own platform; feed files
/// use the POS shop of the same id, registered as a `standard` shop (its POS also sends
/// Standard Webhooks).
pub fn settings_platform(format: &str) -> Option<Platform> {
    if format == crate::feed::FEED_PLATFORM {
        Some(Platform::Standard)
    } else {
        format.parse().ok()
    }
}

/// Shop ids appear in S3 keys and table keys: keep them short and plain.
pub fn is_valid_shop_id(shop_id: &str) -> bool {
    !shop_id.is_empty()
        && shop_id.len() <= 64
        && shop_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !shop_id.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_ids_are_plain() {
        assert!(is_valid_shop_id("sz-store_01"));
        assert!(!is_valid_shop_id(""));
        assert!(!is_valid_shop_id("../etc"));
        assert!(!is_valid_shop_id("a/b"));
        assert!(!is_valid_shop_id(&"x".repeat(65)));
    }
}
