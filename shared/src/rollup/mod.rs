//! Nightly rollup tables (docs/tables.md): canonical JSON lines in, Parquet tables out.
//!
//! `facts` reads input objects into a mergeable `partial` (the map side; `parallel` on several
//! threads), `compute` turns the merged partial and the day before's carried `state` into the
//! day's tables (the reduce side; `day_orders` folds the orders on every core), `encode` runs a
//! day step by step in the order that keeps memory low and hands each Parquet part (`parquet`)
//! to the caller's sink. Nothing here touches the network; `crate::aws::rollup` does.

pub mod compute;
mod day_orders;
pub mod encode;
pub mod facts;
pub mod order_lines;
pub mod parallel;
pub mod parquet;
pub mod partial;
pub mod plan;
pub mod points;
pub mod request;
mod scan;
pub mod schema;
pub mod state;
mod store;
pub mod table;
pub mod time;

#[cfg(test)]
mod compute_tests;
#[cfg(test)]
mod merge_tests;

#[derive(Debug, thiserror::Error)]
pub enum RollupError {
    #[error("{key} line {line}: {message}")]
    BadInput { key: String, line: usize, message: String },
    #[error("{key}: cannot read: {message}")]
    Unreadable { key: String, message: String },
    #[error("{key}: cannot write: {message}")]
    Unwritable { key: String, message: String },
    #[error("carried state: {0}")]
    State(String),
    #[error("{0}")]
    MissingHistory(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("internal: {0}")]
    Internal(String),
}
