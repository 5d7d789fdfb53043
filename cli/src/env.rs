//! Where the CLI finds the repo, the local stack's state and its AWS settings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// The repository root: the nearest ancestor holding `infra/template.yaml`.
pub fn repo_root() -> anyhow::Result<PathBuf> {
    let mut dir = std::env::current_dir()?;
    loop {
        if dir.join("infra/template.yaml").is_file() && dir.join("Cargo.toml").is_file() {
            return Ok(dir);
        }
        if !dir.pop() {
            bail!("not inside an omnilake checkout (no infra/template.yaml above the current directory)");
        }
    }
}

/// The local stack's state: `.omnilake/` under the repo root (git-ignored), or
/// `OMNILAKE_STATE_DIR` (tests run several isolated stacks side by side this way).
pub fn state_dir() -> anyhow::Result<PathBuf> {
    match std::env::var_os("OMNILAKE_STATE_DIR") {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => Ok(repo_root()?.join(".omnilake")),
    }
}

/// Reads a `KEY=VALUE` file (blank lines and `#` comments ignored).
pub fn read_env_file(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect())
}

/// Settings for talking to a stack: process environment first, then `.omnilake/local.env`.
/// The `Option` fields are the points pieces' settings (read by the members/audit commands).
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub struct StackEnv {
    vars: BTreeMap<String, String>,
    /// `OMNILAKE_POINTS_TABLE`: members, ledgers, awards (env files older than the points
    /// pieces lack it).
    pub points_table: Option<String>,
    /// `OMNILAKE_IDENTITY_KEY_SECRET`: ARN (or name) of the identity HMAC key secret.
    pub identity_key_secret: Option<String>,
    /// `OMNILAKE_API_URL`: members API base URL; routes are appended (`{url}/members/{id}`).
    pub api_url: Option<String>,
    /// `OMNILAKE_API_TOKEN`: bearer token the local members-api requires (local stack only; in
    /// AWS the API uses IAM authorisation).
    pub api_token: Option<String>,
    /// `OMNILAKE_CLOCK_FILE`: the local stack's clock file (an RFC 3339 line while set).
    pub clock_file: Option<String>,
}

impl StackEnv {
    pub fn load() -> anyhow::Result<StackEnv> {
        let mut vars = match state_dir().map(|d| d.join("local.env")) {
            Ok(path) if path.is_file() => read_env_file(&path)?,
            _ => BTreeMap::new(),
        };
        for (k, v) in std::env::vars() {
            if k.starts_with("OMNILAKE_") || k.starts_with("AWS_") {
                vars.insert(k, v);
            }
        }
        let opt = |name: &str| vars.get(name).filter(|v| !v.is_empty()).cloned();
        Ok(StackEnv {
            points_table: opt("OMNILAKE_POINTS_TABLE"),
            identity_key_secret: opt("OMNILAKE_IDENTITY_KEY_SECRET"),
            api_url: opt("OMNILAKE_API_URL"),
            api_token: opt("OMNILAKE_API_TOKEN"),
            clock_file: opt("OMNILAKE_CLOCK_FILE"),
            vars,
        })
    }

    pub fn get(&self, name: &str) -> anyhow::Result<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .with_context(|| format!("{name} is not set: run `omnilake local up` first, or export it"))
    }

    pub fn get_opt(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// An SDK configuration for this stack (endpoint, region, credentials from the env file).
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(endpoint) = self.get_opt("AWS_ENDPOINT_URL") {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(region) = self.get_opt("AWS_REGION") {
            loader = loader.region(aws_config::Region::new(region.to_string()));
        }
        if let (Some(id), Some(secret)) = (self.get_opt("AWS_ACCESS_KEY_ID"), self.get_opt("AWS_SECRET_ACCESS_KEY")) {
            loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                id,
                secret,
                None,
                None,
                "omnilake-env",
            ));
        }
        loader.load().await
    }
}
