//! SQS batch plumbing shared by the queue-triggered functions: which objects a message names,
//! and the partial-failure answer (`ReportBatchItemFailures`), so a bad message is retried
//! (and eventually dead-lettered) without failing or silently dropping its neighbours.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};

use crate::s3_event::{created_objects, NotS3Event, ObjectRef};

/// The message id SQS wants back for a failed item.
pub fn message_id(msg: &SqsMessage) -> String {
    msg.message_id.clone().unwrap_or_default()
}

/// The created objects an SQS message (an S3 notification) names.
pub fn objects_of(msg: &SqsMessage) -> Result<Vec<ObjectRef>, NotS3Event> {
    created_objects(msg.body.as_deref().unwrap_or_default())
}

/// The batch answer naming the failed messages.
pub fn batch_response(failed_message_ids: impl IntoIterator<Item = String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed_message_ids
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}
