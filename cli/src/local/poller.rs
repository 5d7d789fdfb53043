//! Plays Lambda's SQS event-source mapping locally (moto cannot invoke functions without
//! Docker): receive up to the batch size within the batching window, invoke the function
//! through `cargo lambda watch`, delete what succeeded, and let failed items come back.
//! Redrive to the dead-letter queue after `maxReceiveCount` receives is moto's, as on AWS.
//! One difference, for speed: a failed item is made visible again after 2 s instead of the
//! queue's full visibility timeout.

use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use serde_json::{json, Value};

use super::stack::{EventSourceMapping, Stack};
use crate::env::{state_dir, StackEnv};

const LOCAL_RETRY_DELAY_S: i32 = 2;

pub async fn run() -> anyhow::Result<()> {
    let stack = Stack::read(&state_dir()?.join("stack.json"))?;
    let env = StackEnv::load()?;
    let lambda_url = env.get("OMNILAKE_LAMBDA_URL")?.to_string();
    let sqs = aws_sdk_sqs::Client::new(&env.sdk_config().await);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(900)).build()?;
    let mut tasks = Vec::new();
    for mapping in stack.event_source_mappings.clone() {
        let workers = mapping.max_concurrency.unwrap_or(2).clamp(1, 4);
        for worker in 0..workers {
            let (sqs, http, lambda_url, mapping) = (sqs.clone(), http.clone(), lambda_url.clone(), mapping.clone());
            let arn = stack.queues.get(&mapping.queue).map(|q| q.arn.clone()).unwrap_or_default();
            let region = stack.region.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    if let Err(e) = poll_once(&sqs, &http, &lambda_url, &mapping, &arn, &region).await {
                        eprintln!("poller {} #{worker}: {e:#}", mapping.binary);
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }));
        }
    }
    eprintln!("poller running {} worker(s)", tasks.len());
    futures::future::join_all(tasks).await;
    Ok(())
}

/// Receives one batch (up to `batch_size`, within the batching window) and processes it.
async fn poll_once(
    sqs: &aws_sdk_sqs::Client,
    http: &reqwest::Client,
    lambda_url: &str,
    mapping: &EventSourceMapping,
    queue_arn: &str,
    region: &str,
) -> anyhow::Result<()> {
    let window = Duration::from_secs(mapping.max_batching_window_s);
    let started = Instant::now();
    let mut batch: Vec<Message> = Vec::new();
    while batch.len() < mapping.batch_size {
        let wait_s = if batch.is_empty() { 2 } else { 0 };
        let want = (mapping.batch_size - batch.len()).min(10) as i32;
        let out = sqs
            .receive_message()
            .queue_url(&mapping.queue_url)
            .max_number_of_messages(want)
            .wait_time_seconds(wait_s)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .context("receive")?;
        let got = out.messages.unwrap_or_default();
        let empty = got.is_empty();
        batch.extend(got);
        if batch.is_empty() {
            return Ok(());
        }
        if empty || started.elapsed() >= window {
            break;
        }
    }
    let event = json!({ "Records": batch.iter().map(|m| record(m, queue_arn, region)).collect::<Vec<_>>() });
    let failed = invoke(http, lambda_url, &mapping.binary, &event, &batch).await;
    let (done, retry): (Vec<&Message>, Vec<&Message>) =
        batch.iter().partition(|m| !failed.iter().any(|f| Some(f.as_str()) == m.message_id()));
    for chunk in done.chunks(10) {
        let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .set_receipt_handle(m.receipt_handle.clone())
                    .build()
                    .ok()
            })
            .collect();
        sqs.delete_message_batch()
            .queue_url(&mapping.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .context("delete")?;
    }
    for m in retry {
        if let Some(handle) = m.receipt_handle() {
            let _ = sqs
                .change_message_visibility()
                .queue_url(&mapping.queue_url)
                .receipt_handle(handle)
                .visibility_timeout(LOCAL_RETRY_DELAY_S)
                .send()
                .await;
        }
    }
    Ok(())
}

/// One SQS record as Lambda delivers it.
fn record(m: &Message, queue_arn: &str, region: &str) -> Value {
    let attributes: serde_json::Map<String, Value> = m
        .attributes()
        .map(|a| a.iter().map(|(k, v)| (k.as_str().to_string(), Value::String(v.clone()))).collect())
        .unwrap_or_default();
    json!({
        "messageId": m.message_id(),
        "receiptHandle": m.receipt_handle(),
        "body": m.body(),
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": m.md5_of_body(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    })
}

/// Invokes the function; returns the ids of failed messages (all of them if the call failed).
async fn invoke(
    http: &reqwest::Client,
    lambda_url: &str,
    binary: &str,
    event: &Value,
    batch: &[Message],
) -> Vec<String> {
    let all = || batch.iter().filter_map(|m| m.message_id().map(str::to_string)).collect::<Vec<_>>();
    let url = format!("{lambda_url}/2015-03-31/functions/{binary}/invocations");
    let response = match http.post(&url).json(event).send().await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("invoke {binary}: {e}");
            return all();
        }
    };
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() || body.get("errorType").is_some() || body.get("errorMessage").is_some() {
        eprintln!("invoke {binary}: {status} {body}");
        return all();
    }
    body.get("batchItemFailures")
        .and_then(Value::as_array)
        .map(|fs| {
            fs.iter().filter_map(|f| f.get("itemIdentifier").and_then(Value::as_str).map(str::to_string)).collect()
        })
        .unwrap_or_default()
}
