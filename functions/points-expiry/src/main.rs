//! `points-expiry`: wiring only. See `handler.rs` for what it does.

mod handler;

use lambda_runtime::{service_fn, Error, LambdaEvent};
use omnilake::aws;
use omnilake::clock::Clock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    omnilake::telemetry::init_lambda_logging();
    let config = aws::load_config().await;
    let deps = handler::Deps { points: aws::points::connect_from_env(&config).await?, clock: Clock::from_env() };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| handler::handle(deps, event.payload)))
        .await
}
