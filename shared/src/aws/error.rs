use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// Storage failures by meaning, with the SDK error kept as the source.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not found: {0}")]
    NotFound(String),
    /// A conditional write lost (the object or item already exists / changed).
    #[error("precondition failed: {0}")]
    Conflict(String),
    #[error("throttled: {0}")]
    Throttled(String),
    #[error("{context}")]
    Other {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StorageError {
    /// Classifies any SDK error by its HTTP status and error code.
    pub(crate) fn from_sdk<E>(context: impl Into<String>, err: SdkError<E, HttpResponse>) -> StorageError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let context = context.into();
        let code = err.code().unwrap_or_default().to_string();
        let status = err.raw_response().map(|r| r.status().as_u16());
        match (code.as_str(), status) {
            ("PreconditionFailed" | "ConditionalCheckFailedException" | "ConditionalRequestConflict", _)
            | (_, Some(412)) => StorageError::Conflict(context),
            ("NoSuchKey" | "NotFound" | "ResourceNotFoundException" | "NoSuchBucket", _) | (_, Some(404)) => {
                StorageError::NotFound(context)
            }
            (
                "SlowDown" | "ThrottlingException" | "ProvisionedThroughputExceededException" | "RequestLimitExceeded",
                _,
            )
            | (_, Some(429 | 503)) => StorageError::Throttled(context),
            _ => {
                // The SDK's Display is terse; its DisplayErrorContext names the cause chain.
                let context = format!("{context}: {}", aws_sdk_s3::error::DisplayErrorContext(&err));
                StorageError::Other { context, source: Box::new(err) }
            }
        }
    }

    /// Whether retrying later may succeed (everything but a lost precondition or a missing thing).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StorageError::Throttled(_) | StorageError::Other { .. })
    }
}
