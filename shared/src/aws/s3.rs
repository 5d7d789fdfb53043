//! The data bucket: conditional landing, reads with metadata, plain writes, listings.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

use super::StorageError;

/// Result of a write-if-absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    /// The key already existed: a redelivery, nothing written.
    AlreadyExists,
}

/// An object's bytes and user metadata.
#[derive(Debug, Clone)]
pub struct StoredObject {
    pub body: Vec<u8>,
    pub metadata: BTreeMap<String, String>,
}

/// omnilake's data bucket.
#[derive(Debug, Clone)]
pub struct DataBucket {
    client: Client,
    bucket: String,
}

impl DataBucket {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        DataBucket { client, bucket: bucket.into() }
    }

    /// An S3 client with path-style addressing (needed by moto and harmless on AWS).
    pub fn client_from(config: &aws_config::SdkConfig) -> Client {
        let conf = aws_sdk_s3::config::Builder::from(config).force_path_style(true).build();
        Client::from_conf(conf)
    }

    pub fn name(&self) -> &str {
        &self.bucket
    }

    /// Writes `body` at `key` unless the key exists (`If-None-Match: *`). A concurrent or
    /// repeated write of the same key yields exactly one object.
    pub async fn put_if_absent(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        metadata: &BTreeMap<String, String>,
    ) -> Result<PutOutcome, StorageError> {
        let result = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .if_none_match("*")
            .content_type(content_type)
            .set_metadata(Some(metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<HashMap<_, _>>()))
            .body(ByteStream::from(body))
            .send()
            .await;
        match result {
            Ok(_) => Ok(PutOutcome::Created),
            Err(e) => match StorageError::from_sdk(format!("put s3://{}/{key}", self.bucket), e) {
                // 412: the object exists. 409: a concurrent conditional write is in flight
                // for the same key; one of them wins, which is all we need.
                StorageError::Conflict(_) => Ok(PutOutcome::AlreadyExists),
                other => Err(other),
            },
        }
    }

    /// Writes (or overwrites) an object.
    pub async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        content_encoding: Option<&str>,
        metadata: &BTreeMap<String, String>,
    ) -> Result<(), StorageError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .set_content_encoding(content_encoding.map(str::to_string))
            .set_metadata(Some(metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<HashMap<_, _>>()))
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| StorageError::from_sdk(format!("put s3://{}/{key}", self.bucket), e))?;
        Ok(())
    }

    /// Reads an object and its user metadata.
    pub async fn get(&self, key: &str) -> Result<StoredObject, StorageError> {
        let context = format!("get s3://{}/{key}", self.bucket);
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| StorageError::from_sdk(context.clone(), e))?;
        let metadata = out.metadata().cloned().unwrap_or_default().into_iter().collect();
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| StorageError::Other { context, source: Box::new(e) })?
            .into_bytes()
            .to_vec();
        Ok(StoredObject { body, metadata })
    }

    /// Deletes an object (used by replay after a quarantined item succeeded).
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| StorageError::from_sdk(format!("delete s3://{}/{key}", self.bucket), e))?;
        Ok(())
    }

    /// Every key under `prefix`, in key order.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let mut keys = Vec::new();
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| StorageError::from_sdk(format!("list s3://{}/{prefix}", self.bucket), e))?;
            keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_string)));
        }
        Ok(keys)
    }
}
