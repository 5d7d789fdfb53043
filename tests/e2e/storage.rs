//! Storage adapters against a real moto server (one per test binary, unique names per test).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use omnilake::aws::s3::{DataBucket, PutOutcome};
use omnilake::aws::secrets::SecretStore;
use omnilake::aws::shops::ShopDirectory;
use omnilake::aws::StorageError;
use omnilake::platforms::Platform;
use omnilake::shop::Shop;
use omnilake_e2e::{unique_name, Moto};

fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| Moto::start().expect("moto server starts"))
}

async fn bucket() -> DataBucket {
    let config = moto().sdk_config().await;
    let client = DataBucket::client_from(&config);
    let name = unique_name("bucket");
    client.create_bucket().bucket(&name).send().await.expect("create bucket");
    DataBucket::new(client, name)
}

#[tokio::test]
async fn put_if_absent_writes_once_and_keeps_the_first_body() {
    let bucket = bucket().await;
    let meta = BTreeMap::from([("omnilake-shop".to_string(), "s1".to_string())]);
    let first = bucket.put_if_absent("raw/a.json", b"first".to_vec(), "application/json", &meta).await.expect("put");
    let second = bucket.put_if_absent("raw/a.json", b"second".to_vec(), "application/json", &meta).await.expect("put");
    assert_eq!((first, second), (PutOutcome::Created, PutOutcome::AlreadyExists));
    let stored = bucket.get("raw/a.json").await.expect("get");
    assert_eq!(stored.body, b"first");
    assert_eq!(stored.metadata.get("omnilake-shop").map(String::as_str), Some("s1"));
}

#[tokio::test]
async fn concurrent_conditional_writes_create_exactly_one_object() {
    let bucket = bucket().await;
    let writes = (0..10).map(|i| {
        let bucket = bucket.clone();
        tokio::spawn(async move {
            bucket
                .put_if_absent(
                    "raw/race.json",
                    format!("writer {i}").into_bytes(),
                    "application/json",
                    &BTreeMap::new(),
                )
                .await
        })
    });
    let outcomes: Vec<PutOutcome> =
        futures::future::join_all(writes).await.into_iter().map(|r| r.expect("join").expect("put")).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == PutOutcome::Created).count(), 1, "{outcomes:?}");
    assert_eq!(bucket.list("raw/").await.expect("list"), vec!["raw/race.json".to_string()]);
}

#[tokio::test]
async fn missing_objects_and_buckets_are_not_found() {
    let bucket = bucket().await;
    assert!(matches!(bucket.get("nope.json").await, Err(StorageError::NotFound(_))));
    let config = moto().sdk_config().await;
    let ghost = DataBucket::new(DataBucket::client_from(&config), unique_name("ghost"));
    assert!(matches!(ghost.get("x").await, Err(StorageError::NotFound(_))));
}

#[tokio::test]
async fn list_pages_through_many_keys_and_delete_removes() {
    let bucket = bucket().await;
    for i in 0..1005 {
        bucket
            .put(
                &format!("canonical/orders/dt=2026-11-20/{i:05}.jsonl.gz"),
                vec![1],
                "application/gzip",
                None,
                &BTreeMap::new(),
            )
            .await
            .expect("put");
    }
    let keys = bucket.list("canonical/orders/").await.expect("list");
    assert_eq!(keys.len(), 1005);
    bucket.delete(&keys[0]).await.expect("delete");
    assert_eq!(bucket.list("canonical/").await.expect("list").len(), 1004);
}

#[tokio::test]
async fn shops_round_trip_through_dynamodb() {
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
    let config = moto().sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = unique_name("shops");
    client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attr"),
        )
        .key_schema(KeySchemaElement::builder().attribute_name("pk").key_type(KeyType::Hash).build().expect("key"))
        .send()
        .await
        .expect("create table");
    let shops = ShopDirectory::new(client, &table);
    assert_eq!(shops.get(Platform::Youzan, "wx").await.expect("get"), None);
    let mut shop = Shop::with_defaults(Platform::Youzan, "wx", "omnilake/shops/youzan/wx".into());
    shop.time_zone = chrono_tz::Europe::Berlin;
    shop.currency = "EUR".into();
    shops.put(&shop).await.expect("put");
    assert_eq!(shops.get(Platform::Youzan, "wx").await.expect("get"), Some(shop));
    // Another platform's shop of the same id is another shop.
    assert_eq!(shops.get(Platform::Shopify, "wx").await.expect("get"), None);
}

#[tokio::test]
async fn secrets_are_created_updated_and_read() {
    let config = moto().sdk_config().await;
    let store = SecretStore::new(aws_sdk_secretsmanager::Client::new(&config));
    let id = unique_name("omnilake/shops/shopify/s");
    assert!(matches!(store.get(&id).await, Err(StorageError::NotFound(_))));
    store.put(&id, "one").await.expect("create");
    assert_eq!(store.get(&id).await.expect("get"), "one");
    store.put(&id, "two").await.expect("update");
    // A fresh store (another cold start) sees the rotated value.
    let fresh = SecretStore::new(aws_sdk_secretsmanager::Client::new(&config));
    assert_eq!(fresh.get(&id).await.expect("get"), "two");
}
