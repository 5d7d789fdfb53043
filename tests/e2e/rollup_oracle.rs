//! The rollup acceptance test: `tests/rollup_oracle/run.py` generates a 21-day canonical dataset
//! (≈134,000 order versions with refunds, cancellations, receipts, transfers, in-transit stock,
//! member merges and late updates), runs `omnilake rollup` against this test's own moto server,
//! and compares every table of every day with an independent DuckDB computation of
//! docs/tables.md, read back with pyarrow and polars; then three reruns (same rows, same files,
//! same fingerprint), a late update re-run from D−2, a backfill that starts at the last day,
//! and the Glue columns of the template against the Parquet schemas.

use std::process::{Command, Stdio};

use omnilake_e2e::{omnilake_bin, repo_root, unique_name, venv_python, Moto};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rollup_table_equals_the_duckdb_oracle() {
    let bin = omnilake_bin();
    assert!(bin.exists(), "{} missing: `cargo build --workspace` first (scripts/test.sh does)", bin.display());
    let moto = Moto::start().unwrap_or_else(|e| panic!("moto: {e}"));
    let config = moto.sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    let shops_table = unique_name("rollup-shops");
    ddb.create_table()
        .table_name(&shops_table)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("create shops table: {e}"));
    // The generated data is cached across runs (run.py regenerates when the generator changes).
    let workdir = repo_root().join("target/rollup-oracle");
    let status = Command::new(venv_python().unwrap_or_else(|e| panic!("{e}")))
        .arg(repo_root().join("tests/rollup_oracle/run.py"))
        .args(["--endpoint", &moto.endpoint, "--bucket", &unique_name("rollup"), "--shops-table", &shops_table])
        .arg("--omnilake")
        .arg(&bin)
        .arg("--workdir")
        .arg(&workdir)
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("run.py: {e}"));
    assert!(status.success(), "the rollup differs from the oracle (details above, CLI logs in {})", workdir.display());
}
