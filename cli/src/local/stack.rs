//! `stack.json`, written by `infra/local_provision.py` from the template: the physical names
//! of the local stack's resources and how functions are wired to queues.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Stack {
    pub stack_name: String,
    pub region: String,
    pub bucket: String,
    pub tables: BTreeMap<String, String>,
    pub queues: BTreeMap<String, Queue>,
    pub event_source_mappings: Vec<EventSourceMapping>,
    pub functions: BTreeMap<String, Function>,
    pub secret_prefix: String,
    /// The template's own secrets (logical id → ARN), e.g. `IdentityKeySecret`.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Queue {
    pub url: String,
    pub arn: String,
    pub dlq_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventSourceMapping {
    pub binary: String,
    pub queue: String,
    pub queue_url: String,
    pub batch_size: usize,
    #[serde(default)]
    pub max_batching_window_s: u64,
    #[serde(default)]
    pub max_concurrency: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Function {
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

impl Stack {
    pub fn read(path: &Path) -> anyhow::Result<Stack> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// The union of every function's environment (they agree on shared names).
    pub fn function_env(&self) -> BTreeMap<String, String> {
        self.functions.values().flat_map(|f| f.env.clone()).collect()
    }
}
