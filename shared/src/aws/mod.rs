//! Thin storage adapters over the AWS SDK. They map SDK errors to meaning ([`StorageError`])
//! and are tested against moto server, never against fakes. Endpoints come from the SDK's own
//! `AWS_ENDPOINT_URL*` variables, so the same code talks to AWS and to the local stack.

mod error;
pub mod points;
pub mod rollup;
pub mod s3;
pub mod secrets;
pub mod shops;

pub use error::StorageError;

/// Loads the SDK configuration once per cold start (region, credentials, endpoint overrides).
pub async fn load_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await
}

/// Reads a required environment variable, naming it in the error.
pub fn env_var(name: &str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ConfigError::Missing(name.to_string())),
    }
}

/// The business time zone for data of unregistered shops: `OMNILAKE_BUSINESS_TZ`, default
/// `Asia/Shanghai`.
pub fn business_time_zone_from_env() -> Result<chrono_tz::Tz, ConfigError> {
    match std::env::var("OMNILAKE_BUSINESS_TZ") {
        Err(_) => Ok(crate::canonical::time::DEFAULT_TIME_ZONE),
        Ok(name) => crate::canonical::time::parse_time_zone(name.trim()).ok_or(ConfigError::Invalid {
            name: "OMNILAKE_BUSINESS_TZ".into(),
            reason: format!("`{name}` is not an IANA time zone"),
        }),
    }
}

/// A function's configuration is incomplete.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(String),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
}
