//! `unify-points`: wiring only. See `handler.rs` for what it does.

mod handler;

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use omnilake::aws::{self, s3::DataBucket, shops::ShopDirectory};
use omnilake::clock::Clock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    omnilake::telemetry::init_lambda_logging();
    let config = aws::load_config().await;
    let deps = handler::Deps {
        bucket: DataBucket::new(DataBucket::client_from(&config), aws::env_var("OMNILAKE_BUCKET")?),
        shops: ShopDirectory::new(aws_sdk_dynamodb::Client::new(&config), aws::env_var("OMNILAKE_SHOPS_TABLE")?),
        points: aws::points::connect_from_env(&config).await?,
        clock: Clock::from_env(),
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| handler::handle_batch(deps, event.payload)))
        .await
}
