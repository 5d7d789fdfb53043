//! `ingest-webhook`: wiring only. See `handler.rs` for what it does.

mod handler;

use lambda_http::{service_fn, Error, Request};
use omnilake::aws::{self, s3::DataBucket, secrets::SecretStore, shops::ShopDirectory};

#[tokio::main]
async fn main() -> Result<(), Error> {
    omnilake::telemetry::init_lambda_logging();
    let config = aws::load_config().await;
    let deps = handler::Deps {
        bucket: DataBucket::new(DataBucket::client_from(&config), aws::env_var("OMNILAKE_BUCKET")?),
        shops: ShopDirectory::new(aws_sdk_dynamodb::Client::new(&config), aws::env_var("OMNILAKE_SHOPS_TABLE")?),
        secrets: SecretStore::new(aws_sdk_secretsmanager::Client::new(&config)),
        max_body_bytes: handler::max_body_bytes_from_env()?,
    };
    let deps = &deps;
    lambda_http::run(service_fn(move |req: Request| handler::handle_request(deps, req))).await
}
