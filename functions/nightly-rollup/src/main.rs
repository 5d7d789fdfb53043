//! `nightly-rollup`: wiring only. See `handler.rs` for what it does.

mod handler;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use omnilake::aws;
use omnilake::aws::rollup::{PointsSource, RollupStore};
use omnilake::clock::Clock;

// Millions of small order facts are allocated and freed per run: mimalloc is much faster at
// that than glibc's allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    omnilake::telemetry::init_lambda_logging();
    let config = aws::load_config().await;
    let bucket = aws::env_var("OMNILAKE_BUCKET")?;
    let business_tz = aws::business_time_zone_from_env()?;
    let s3 = aws::s3::DataBucket::client_from(&config);
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    let deps = handler::Deps {
        store: RollupStore::new(s3, bucket),
        ddb: ddb.clone(),
        points: std::env::var("OMNILAKE_POINTS_TABLE")
            .ok()
            .filter(|t| !t.is_empty())
            .map(|table| PointsSource { client: ddb.clone(), table }),
        shops_table: aws::env_var("OMNILAKE_SHOPS_TABLE")?,
        business_tz,
        clock: Clock::from_env(),
        threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| handler::handle(deps, event.payload)))
        .await
}
