//! Harness for omnilake's end-to-end tests: a moto server per test binary, or a whole local
//! stack (`omnilake local up` in a private state directory), torn down when dropped.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{bail, Context};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// `fixtures/…` under the repo root.
pub fn fixture(rel: &str) -> Vec<u8> {
    let path = repo_root().join("fixtures").join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// A name no other test in this run uses (buckets, tables, state dirs).
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

pub fn venv_python() -> anyhow::Result<PathBuf> {
    let python = repo_root().join(".venv/bin/python");
    if !python.exists() {
        bail!("{} missing: run scripts/bootstrap.sh (the test script does)", python.display());
    }
    Ok(python)
}

/// A moto server owned by this process: it exits when we do (its stdin closes).
pub struct Moto {
    _child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> anyhow::Result<Moto> {
        let mut child = Command::new(venv_python()?)
            .arg(repo_root().join("scripts/moto_server.py"))
            .arg("--until-stdin-closes")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting moto")?;
        let stdout = child.stdout.take().context("moto stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let port: u16 = line.trim().parse().with_context(|| format!("moto printed `{line}`"))?;
        Ok(Moto { _child: child, endpoint: format!("http://127.0.0.1:{port}") })
    }

    /// SDK configuration pointed at this server.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "tests"))
            .load()
            .await
    }
}

/// A whole local stack in a private state directory; `omnilake local down` on drop.
pub struct LocalStack {
    pub state_dir: PathBuf,
    pub env: BTreeMap<String, String>,
}

pub fn omnilake_bin() -> PathBuf {
    repo_root().join("target/debug/omnilake")
}

impl LocalStack {
    pub fn up() -> anyhow::Result<LocalStack> {
        let state_dir = std::env::temp_dir().join(unique_name("omnilake-e2e"));
        std::fs::create_dir_all(&state_dir)?;
        let mut stack = LocalStack { state_dir, env: BTreeMap::new() };
        let out = stack.omnilake(&["local", "up"])?;
        if !out.status.success() {
            bail!("omnilake local up failed:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        let text = std::fs::read_to_string(stack.state_dir.join("local.env"))?;
        stack.env = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Ok(stack)
    }

    /// Runs the CLI against this stack.
    pub fn omnilake(&self, args: &[&str]) -> anyhow::Result<std::process::Output> {
        let bin = omnilake_bin();
        if !bin.exists() {
            bail!("{} missing: `cargo build --workspace` first (the test script does)", bin.display());
        }
        Ok(Command::new(bin)
            .args(args)
            .current_dir(repo_root())
            .env("OMNILAKE_STATE_DIR", &self.state_dir)
            .stdin(Stdio::null())
            .output()?)
    }

    pub fn get(&self, key: &str) -> &str {
        self.env.get(key).map(String::as_str).unwrap_or_else(|| panic!("{key} not in local.env"))
    }

    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(self.get("AWS_ENDPOINT_URL"))
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "tests"))
            .load()
            .await
    }

    /// Waits until the consumed queues are drained (up to 15 minutes: a 1,000-row feed file on a
    /// busy 2-core machine has taken over 5).
    pub fn wait(&self) -> anyhow::Result<()> {
        let out = self.omnilake(&["local", "wait", "--timeout-s", "900"])?;
        if !out.status.success() {
            bail!("omnilake local wait failed:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        let _ = self.omnilake(&["local", "down"]);
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

/// Creates a points table shaped like the template's `PointsTable` (`pk`/`sk` strings).
pub async fn create_points_table(client: &aws_sdk_dynamodb::Client, name: &str) -> anyhow::Result<()> {
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
    let attr =
        |n: &str| AttributeDefinition::builder().attribute_name(n).attribute_type(ScalarAttributeType::S).build();
    let key = |n: &str, t: KeyType| KeySchemaElement::builder().attribute_name(n).key_type(t).build();
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk")?)
        .attribute_definitions(attr("sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .send()
        .await?;
    Ok(())
}

/// A points store on a fresh table of `moto`, with a fixed test key.
pub async fn points_store(moto: &Moto) -> anyhow::Result<omnilake::aws::points::PointsStore> {
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let table = unique_name("points");
    create_points_table(&client, &table).await?;
    let hasher = omnilake::points::IdentityHasher::new(&[42u8; 32]).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(omnilake::aws::points::PointsStore::new(client, table, hasher, omnilake::points::PointsPolicy::default()))
}
