//! Logging setup shared by every function and the CLI.

use tracing_subscriber::EnvFilter;

/// JSON logs for Lambda (CloudWatch parses them), filtered by `RUST_LOG` (default `info`).
pub fn init_lambda_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time() // CloudWatch stamps every line itself.
        .try_init();
}

/// Human-readable logs on stderr for the CLI (default `warn`).
pub fn init_cli_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
