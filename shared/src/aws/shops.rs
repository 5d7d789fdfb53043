//! The shops table: one item per (platform, shop), key `pk = "{platform}#{shop_id}"`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use tokio::sync::RwLock;

use super::StorageError;
use crate::canonical::time::parse_time_zone;
use crate::platforms::Platform;
use crate::points::ShopPoints;
use crate::shop::{Shop, ShopSettings};

/// Shop settings change rarely; a warm function re-reads them after this long.
const CACHE_TTL: Duration = Duration::from_secs(60);

type Cache = HashMap<String, (Instant, Option<Shop>)>;

/// Reads and writes shop items, caching reads per warm function instance.
#[derive(Debug, Clone)]
pub struct ShopDirectory {
    client: Client,
    table: String,
    cache: Arc<RwLock<Cache>>,
}

impl ShopDirectory {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        ShopDirectory { client, table: table.into(), cache: Arc::default() }
    }

    /// The shop, or `None` if it is not registered.
    pub async fn get(&self, platform: Platform, shop_id: &str) -> Result<Option<Shop>, StorageError> {
        let pk = Shop::table_key(platform, shop_id);
        if let Some((at, shop)) = self.cache.read().await.get(&pk) {
            if at.elapsed() < CACHE_TTL {
                return Ok(shop.clone());
            }
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.clone()))
            .send()
            .await
            .map_err(|e| StorageError::from_sdk(format!("get shop {pk}"), e))?;
        let shop =
            match out.item() {
                Some(item) => Some(shop_from_item(platform, shop_id, item).map_err(|reason| StorageError::Other {
                    context: format!("shop item {pk}"),
                    source: reason.into(),
                })?),
                None => None,
            };
        self.cache.write().await.insert(pk, (Instant::now(), shop.clone()));
        Ok(shop)
    }

    /// The settings of a registered shop, or the fallback for an unregistered one (or for a
    /// sender format no shop can own).
    pub async fn settings_or(
        &self,
        platform: Option<Platform>,
        shop_id: &str,
        fallback: &ShopSettings,
    ) -> Result<ShopSettings, StorageError> {
        let shop = match platform {
            Some(p) => self.get(p, shop_id).await?,
            None => None,
        };
        Ok(shop.map_or_else(|| fallback.clone(), |s| s.settings()))
    }

    /// The points settings for an event that came in through sender `format` (`shopify`,
    /// `standard`, `feed`, …) for `shop_id`: the shop's rule, time zone and country when it is
    /// registered, else the defaults with the deployment's time zone.
    pub async fn points_settings(
        &self,
        format: Option<&str>,
        shop_id: &str,
        fallback_tz: chrono_tz::Tz,
    ) -> Result<ShopPoints, StorageError> {
        let shop = match format.and_then(crate::shop::settings_platform) {
            Some(p) => self.get(p, shop_id).await?,
            None => None,
        };
        Ok(shop.map_or_else(|| ShopPoints { time_zone: fallback_tz, ..ShopPoints::default() }, |s| ShopPoints::of(&s)))
    }

    /// Registers or replaces a shop.
    pub async fn put(&self, shop: &Shop) -> Result<(), StorageError> {
        let pk = Shop::table_key(shop.platform, &shop.shop_id);
        let s = |v: &str| AttributeValue::S(v.to_string());
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&pk))
            .item("platform", s(shop.platform.as_str()))
            .item("shop_id", s(&shop.shop_id))
            .item("time_zone", s(shop.time_zone.name()))
            .item("currency", s(&shop.currency))
            .item("country", s(&shop.country))
            .item("location_id", s(&shop.location_id))
            .item("secret_id", s(&shop.secret_id))
            .item("points_rule", s(&serde_json::to_string(&shop.points_rule).unwrap_or_default()))
            .send()
            .await
            .map_err(|e| StorageError::from_sdk(format!("put shop {pk}"), e))?;
        self.cache.write().await.remove(&pk);
        Ok(())
    }
}

fn shop_from_item(platform: Platform, shop_id: &str, item: &HashMap<String, AttributeValue>) -> Result<Shop, String> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str);
    let secret_id = text("secret_id").ok_or("missing secret_id")?.to_string();
    let mut shop = Shop::with_defaults(platform, shop_id, secret_id);
    if let Some(tz) = text("time_zone") {
        shop.time_zone = parse_time_zone(tz).ok_or_else(|| format!("unknown time zone `{tz}`"))?;
    }
    if let Some(c) = text("currency") {
        shop.currency = c.to_string();
    }
    if let Some(c) = text("country") {
        shop.country = c.to_string();
    }
    if let Some(l) = text("location_id") {
        shop.location_id = l.to_string();
    }
    if let Some(rule) = text("points_rule") {
        shop.points_rule = serde_json::from_str(rule).map_err(|e| format!("points_rule: {e}"))?;
    }
    Ok(shop)
}
