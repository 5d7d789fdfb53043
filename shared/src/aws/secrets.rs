//! Shop secrets in Secrets Manager, cached per warm function instance.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;
use tokio::sync::RwLock;

use super::StorageError;

/// A rotated secret is picked up within this long (senders sign with both during rotation).
const CACHE_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct SecretStore {
    client: Client,
    cache: Arc<RwLock<HashMap<String, (Instant, String)>>>,
}

impl SecretStore {
    pub fn new(client: Client) -> Self {
        SecretStore { client, cache: Arc::default() }
    }

    /// The secret string stored under `secret_id`.
    pub async fn get(&self, secret_id: &str) -> Result<String, StorageError> {
        if let Some((at, value)) = self.cache.read().await.get(secret_id) {
            if at.elapsed() < CACHE_TTL {
                return Ok(value.clone());
            }
        }
        let out = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| StorageError::from_sdk(format!("get secret {secret_id}"), e))?;
        let value =
            out.secret_string().ok_or_else(|| StorageError::NotFound(format!("secret {secret_id} has no string")))?;
        self.cache.write().await.insert(secret_id.to_string(), (Instant::now(), value.to_string()));
        Ok(value.to_string())
    }

    /// Creates or updates a secret (used by `omnilake shop add`).
    pub async fn put(&self, secret_id: &str, value: &str) -> Result<(), StorageError> {
        let created = self.client.create_secret().name(secret_id).secret_string(value).send().await;
        match created {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_exists_exception()) => {
                self.client
                    .put_secret_value()
                    .secret_id(secret_id)
                    .secret_string(value)
                    .send()
                    .await
                    .map_err(|e| StorageError::from_sdk(format!("update secret {secret_id}"), e))?;
            }
            Err(e) => return Err(StorageError::from_sdk(format!("create secret {secret_id}"), e)),
        }
        self.cache.write().await.remove(secret_id);
        Ok(())
    }
}
