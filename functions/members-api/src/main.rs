//! `members-api`: wiring only. See `handler.rs` for what it does.

mod handler;

use lambda_http::{service_fn, Error, Request};
use omnilake::aws;
use omnilake::clock::Clock;

#[tokio::main]
async fn main() -> Result<(), Error> {
    omnilake::telemetry::init_lambda_logging();
    let config = aws::load_config().await;
    let deps = handler::Deps {
        points: aws::points::connect_from_env(&config).await?,
        default_country: std::env::var("OMNILAKE_DEFAULT_COUNTRY").unwrap_or_else(|_| "CN".into()),
        auth: handler::Auth::from_env(),
        clock: Clock::from_env(),
    };
    let deps = &deps;
    lambda_http::run(service_fn(move |req: Request| handler::handle_request(deps, req))).await
}
