//! omnilake's domain: everything the Lambda functions decide, as plain functions and types.
//!
//! Data flows `platforms` (verify + parse) → `raw` (landing layout) → `normalize` (raw event →
//! `canonical` records) → storage. `feed` splits uploaded files into raw events. The `aws`
//! module holds the thin storage adapters; nothing else here touches the network.

pub mod aws;
pub mod canonical;
pub mod clock;
pub mod feed;
pub mod ingest;
pub mod members_api;
pub mod money;
pub mod normalize;
pub mod platforms;
pub mod points;
pub mod quarantine;
pub mod raw;
pub mod rollup;
pub mod s3_event;
pub mod shop;
pub mod sqs_batch;
pub mod synth;
pub mod telemetry;

pub use money::Money;
