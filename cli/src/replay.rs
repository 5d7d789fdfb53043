//! `omnilake replay quarantine`: after a parser fix, sends every quarantined item's source
//! object back through its stage (an S3-notification-shaped message on the stage's queue) and
//! removes the quarantine entry. If the item fails again, the stage quarantines it again.

use anyhow::Context;
use clap::{Args, Subcommand};
use omnilake::aws::s3::DataBucket;
use omnilake::quarantine::QuarantineEntry;
use serde_json::json;

use crate::env::{state_dir, StackEnv};
use crate::local::stack::Stack;

#[derive(Subcommand)]
pub enum ReplayCommand {
    /// Re-run quarantined items.
    Quarantine(QuarantineArgs),
}

#[derive(Args)]
pub struct QuarantineArgs {
    /// `normalize` (raw events) or `feed` (feed files).
    #[arg(long, default_value = "normalize")]
    pub stage: String,
    /// Only this business day's entries (YYYY-MM-DD).
    #[arg(long)]
    pub date: Option<String>,
    /// The stage's queue URL (default: from the local stack).
    #[arg(long)]
    pub queue_url: Option<String>,
    /// List what would be replayed without doing it.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(command: ReplayCommand) -> anyhow::Result<()> {
    let ReplayCommand::Quarantine(args) = command;
    let env = StackEnv::load()?;
    let config = env.sdk_config().await;
    let bucket = DataBucket::new(DataBucket::client_from(&config), env.get("OMNILAKE_BUCKET")?);
    let queue_url = match &args.queue_url {
        Some(url) => url.clone(),
        None => {
            let stack = Stack::read(&state_dir()?.join("stack.json"))?;
            let logical = match args.stage.as_str() {
                "normalize" => "RawEventsQueue",
                "feed" => "FeedFilesQueue",
                other => anyhow::bail!("unknown stage `{other}` (normalize or feed)"),
            };
            stack.queues.get(logical).with_context(|| format!("{logical} not in stack.json"))?.url.clone()
        }
    };
    let sqs = aws_sdk_sqs::Client::new(&config);
    let prefix = match &args.date {
        Some(d) => format!("quarantine/{}/dt={d}/", args.stage),
        None => format!("quarantine/{}/", args.stage),
    };
    let keys = bucket.list(&prefix).await?;
    let mut sources = std::collections::BTreeSet::new();
    for key in &keys {
        let entry: QuarantineEntry = serde_json::from_slice(&bucket.get(key).await?.body)
            .with_context(|| format!("{key} is not a quarantine entry"))?;
        sources.insert(entry.source_key.clone());
        if args.dry_run {
            println!("{key}: {} ({})", entry.source_key, entry.reason);
        }
    }
    if args.dry_run {
        println!("{} entries, {} source objects would be replayed", keys.len(), sources.len());
        return Ok(());
    }
    // Remove entries first: the stage writes a fresh one if the item still fails.
    for key in &keys {
        bucket.delete(key).await?;
    }
    for source in &sources {
        let body = json!({ "Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Replay",
            "s3": { "bucket": { "name": bucket.name() }, "object": { "key": source } }
        }]});
        sqs.send_message()
            .queue_url(&queue_url)
            .message_body(body.to_string())
            .send()
            .await
            .context("send replay message")?;
    }
    println!("replayed {} source objects from {} quarantine entries", sources.len(), keys.len());
    Ok(())
}
