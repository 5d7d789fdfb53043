//! `omnilake local up|down|wait|status`: the whole pipeline on this machine. moto server plays
//! S3, DynamoDB, SQS and Secrets Manager; the resources come from `infra/template.yaml` itself
//! (translated and fixed up by `infra/local_provision.py`); the functions run under
//! `cargo lambda watch`; a poller plays the SQS event-source mappings. `local clock` moves the
//! functions' "now" (a file they read on every call) for expiry and return-window scenarios.

mod poller;
mod process;
pub mod stack;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Subcommand;
use serde::{Deserialize, Serialize};

use crate::env::{repo_root, state_dir, StackEnv};
use stack::Stack;

pub const STACK_NAME: &str = "omnilake-local";

#[derive(Subcommand)]
pub enum LocalCommand {
    /// Start moto, provision the template's resources, serve the functions, start the poller.
    Up,
    /// Stop everything `up` started.
    Down,
    /// Return when every consumed queue is drained (exit 1 on timeout).
    Wait {
        #[arg(long, default_value_t = 900)]
        timeout_s: u64,
    },
    /// Show what runs, the queue depths and the local clock.
    Status,
    /// The functions' clock: `set` an instant, `reset` to system time.
    Clock {
        #[command(subcommand)]
        command: ClockCommand,
    },
    /// (internal) The SQS poller; `up` starts it in the background.
    #[command(hide = true)]
    Poll,
}

#[derive(Subcommand)]
pub enum ClockCommand {
    /// Make the functions' "now" this instant (RFC 3339, e.g. 2027-12-01T00:00:00+08:00).
    Set {
        /// RFC 3339 date-time with an offset.
        at: String,
    },
    /// Back to system time (deletes the clock file).
    Reset,
}

/// The background services of the running stack, in start order (`.omnilake/state.json`).
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    services: Vec<Service>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Service {
    name: String,
    pid: u32,
}

impl State {
    fn is_running(&self, name: &str) -> bool {
        self.services.iter().any(|s| s.name == name && process::is_alive(s.pid))
    }

    /// Starts `cmd` detached, records it, and (with a port) waits until it listens there.
    fn start(&mut self, name: &str, cmd: Command, listen: Option<(u16, Duration)>) -> anyhow::Result<()> {
        let log = state_dir()?.join(format!("logs/{name}.log"));
        let pid = process::spawn_detached(cmd, &log)?;
        self.services.push(Service { name: name.to_string(), pid });
        write_state(self)?;
        if let Some((port, timeout)) = listen {
            process::wait_for_port(port, pid, timeout, &log)?;
        }
        Ok(())
    }
}

fn state_path() -> anyhow::Result<PathBuf> {
    Ok(state_dir()?.join("state.json"))
}

fn read_state() -> anyhow::Result<State> {
    let path = state_path()?;
    if !path.is_file() {
        return Ok(State::default());
    }
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

fn write_state(state: &State) -> anyhow::Result<()> {
    std::fs::write(state_path()?, serde_json::to_vec_pretty(state)?)?;
    Ok(())
}

pub async fn run(command: LocalCommand) -> anyhow::Result<()> {
    match command {
        LocalCommand::Up => up().await,
        LocalCommand::Down => down(),
        LocalCommand::Wait { timeout_s } => wait(Duration::from_secs(timeout_s)).await,
        LocalCommand::Status => status().await,
        LocalCommand::Clock { command } => clock(command),
        LocalCommand::Poll => poller::run().await,
    }
}

/// The repo's Python tools; installed by `scripts/bootstrap.sh` if missing.
fn ensure_venv(root: &Path) -> anyhow::Result<PathBuf> {
    let venv_bin = root.join(".venv/bin");
    let ready = ["moto_server", "python", "cargo-lambda"].iter().all(|b| venv_bin.join(b).exists());
    if !ready {
        eprintln!("installing the local AWS tools into .venv (once, about a minute)…");
        let status = Command::new("bash").arg(root.join("scripts/bootstrap.sh")).current_dir(root).status()?;
        if !status.success() {
            bail!("scripts/bootstrap.sh failed");
        }
    }
    Ok(venv_bin)
}

/// Builds what `cargo lambda watch` will run. It starts a function with `cargo run --bin NAME`,
/// which resolves dependency features for that one package: a binary built by
/// `cargo build --workspace` does not count, and each function's first call would compile
/// (minutes on a cold 2-core machine, with every concurrent call queued on cargo's lock). So each
/// function is built exactly that way here; the workspace build comes first because the CLI
/// and the tests use its artifacts.
fn build_functions<'a>(root: &Path, functions: impl Iterator<Item = &'a String>) -> anyhow::Result<()> {
    let cargo = |args: &[&str]| -> anyhow::Result<()> {
        let status = Command::new("cargo").args(args).current_dir(root).status()?;
        if !status.success() {
            bail!("`cargo {}` failed", args.join(" "));
        }
        Ok(())
    };
    eprintln!("building the functions…");
    cargo(&["build", "--workspace"])?;
    for name in functions {
        cargo(&["build", "--quiet", "--bin", name])?;
    }
    Ok(())
}

async fn up() -> anyhow::Result<()> {
    let started = Instant::now();
    let root = repo_root()?;
    let dir = state_dir()?;
    std::fs::create_dir_all(dir.join("logs"))?;
    let mut state = read_state()?;
    if state.is_running("moto") {
        eprintln!("a local stack is already running; `omnilake local down` first to restart it");
        return Ok(());
    }
    let venv_bin = ensure_venv(&root)?;
    // Taken now: the workspace build below may relink this very binary, after which the
    // running process's own path reads as "(deleted)".
    let self_exe = std::env::current_exe()?;

    // 1. moto server.
    let moto_port = process::free_port()?;
    // Our launcher: moto with DynamoDB transactions isolated and cheap (see the script).
    let mut moto = Command::new(venv_bin.join("python"));
    moto.arg(root.join("scripts/moto_server.py")).args(["--host", "127.0.0.1", "--port", &moto_port.to_string()]);
    state.start("moto", moto, Some((moto_port, Duration::from_secs(30))))?;
    let endpoint = format!("http://127.0.0.1:{moto_port}");
    eprintln!("moto server on {endpoint}");

    // 2. Resources from the template.
    let stack_json = dir.join("stack.json");
    let status = Command::new(venv_bin.join("python"))
        .arg(root.join("infra/local_provision.py"))
        .args(["--endpoint", &endpoint, "--stack-name", STACK_NAME, "--out"])
        .arg(&stack_json)
        .current_dir(&root)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .status()?;
    if !status.success() {
        bail!("provisioning the template on moto failed");
    }
    let stack = Stack::read(&stack_json)?;

    // 3. Environment for the functions (from the template) and for users of the stack.
    let aws_env = [
        ("AWS_ENDPOINT_URL", endpoint.clone()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_REGION", stack.region.clone()),
    ];
    // Local stand-ins for what AWS does differently: members-api requires this bearer token (API
    // Gateway's IAM authorisation does not exist here), and every function takes "now" from the
    // clock file while it exists (`omnilake local clock set`).
    let api_token = random_token();
    let clock = clock_path()?;
    if let Some(at) = read_clock(&clock)? {
        eprintln!("note: the local clock is set to {at}; `omnilake local clock reset` for system time");
    }
    let local_only_env =
        [("OMNILAKE_API_TOKEN", api_token.clone()), ("OMNILAKE_CLOCK_FILE", clock.display().to_string())];
    let mut function_env: Vec<(String, String)> = stack.function_env().into_iter().collect();
    function_env.extend(aws_env.iter().map(|(k, v)| (k.to_string(), v.clone())));
    function_env.extend(local_only_env.iter().map(|(k, v)| (k.to_string(), v.clone())));
    let functions_env_path = dir.join("functions.env");
    std::fs::write(&functions_env_path, render_env(&function_env))?;

    // 4. Functions under cargo lambda watch, built first so that no invocation waits for a
    // compiler (or times out behind one).
    build_functions(&root, stack.functions.keys())?;
    let watch_port = process::free_port()?;
    let path = format!("{}:{}", venv_bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut watch = Command::new(venv_bin.join("cargo-lambda"));
    watch
        .args(["lambda", "watch", "--ignore-changes", "-A", "127.0.0.1", "-P", &watch_port.to_string()])
        .args(["--concurrency", "4", "--env-file"])
        .arg(&functions_env_path)
        .current_dir(&root)
        .env("PATH", path);
    state.start("functions", watch, Some((watch_port, Duration::from_secs(120))))?;
    let lambda_base = format!("http://127.0.0.1:{watch_port}");

    // 5. What users (and the poller) read.
    let mut local_env: Vec<(String, String)> = aws_env.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    local_env.push(("OMNILAKE_BUCKET".into(), stack.bucket.clone()));
    local_env.push(("OMNILAKE_TABLE_PREFIX".into(), format!("{}-", stack.stack_name)));
    // ShopsTable → OMNILAKE_SHOPS_TABLE, PointsTable → OMNILAKE_POINTS_TABLE,
    // IdentityKeySecret → OMNILAKE_IDENTITY_KEY_SECRET (its ARN, as in the functions' env).
    for (logical, name) in stack.tables.iter().chain(&stack.secrets) {
        local_env.push((format!("OMNILAKE_{}", env_name(logical)), name.clone()));
    }
    local_env.push(("OMNILAKE_SECRET_PREFIX".into(), stack.secret_prefix.clone()));
    local_env.push(("OMNILAKE_LAMBDA_URL".into(), lambda_base.clone()));
    local_env.push(("OMNILAKE_WEBHOOK_URL".into(), format!("{lambda_base}/lambda-url/ingest-webhook")));
    let api_url = format!("{lambda_base}/lambda-url/members-api");
    local_env.push(("OMNILAKE_API_URL".into(), api_url.clone()));
    local_env.extend(local_only_env.iter().map(|(k, v)| (k.to_string(), v.clone())));
    std::fs::write(dir.join("local.env"), render_env(&local_env))?;

    // 6. The poller playing the event-source mappings.
    let mut poll = Command::new(&self_exe);
    poll.args(["local", "poll"]).current_dir(&root).env("OMNILAKE_STATE_DIR", &dir);
    state.start("poller", poll, None)?;

    eprintln!("local stack up in {:.1} s", started.elapsed().as_secs_f64());
    eprintln!("  bucket      {}", stack.bucket);
    eprintln!("  webhooks    {lambda_base}/lambda-url/ingest-webhook/webhooks/{{platform}}/{{shop_id}}");
    eprintln!("  members API {api_url}/members/{{member_id}} (Authorization: Bearer $OMNILAKE_API_TOKEN)");
    eprintln!("  settings    {}", dir.join("local.env").display());
    eprintln!("  logs        {}", dir.join("logs").display());
    Ok(())
}

/// 32 random bytes as hex: the local members API's bearer token, new at every `up`.
fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `<state dir>/clock`, absolute: the functions run from the repo root, the CLI from anywhere.
fn clock_path() -> anyhow::Result<PathBuf> {
    let dir = state_dir()?;
    let dir = if dir.is_dir() { dir.canonicalize()? } else { std::path::absolute(&dir)? };
    Ok(dir.join("clock"))
}

/// The clock file's instant, if it is set.
fn read_clock(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn clock(command: ClockCommand) -> anyhow::Result<()> {
    let path = clock_path()?;
    match command {
        ClockCommand::Set { at } => {
            let instant = chrono::DateTime::parse_from_rfc3339(at.trim())
                .with_context(|| format!("{at:?} is not an RFC 3339 date-time (e.g. 2027-12-01T00:00:00+08:00)"))?;
            let line = instant.to_rfc3339();
            // Written aside and renamed: a function reading the clock never sees half a line.
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, format!("{line}\n"))?;
            std::fs::rename(&tmp, &path)?;
            println!("local clock set to {line} ({})", path.display());
        }
        ClockCommand::Reset => {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
            }
            println!("local clock reset to system time");
        }
    }
    Ok(())
}

/// `ShopsTable` → `SHOPS_TABLE`.
fn env_name(logical_id: &str) -> String {
    let mut out = String::new();
    for (i, c) in logical_id.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn render_env(vars: &[(String, String)]) -> String {
    let mut text = String::from("# written by `omnilake local up`\n");
    for (k, v) in vars {
        text.push_str(&format!("{k}={v}\n"));
    }
    text
}

fn down() -> anyhow::Result<()> {
    let state = read_state()?;
    for service in state.services.iter().rev() {
        if process::is_alive(service.pid) {
            process::stop_group(service.pid);
            eprintln!("stopped {} ({})", service.name, service.pid);
        }
    }
    let path = state_path()?;
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    // A fake "now" belongs to the stack that was just stopped, not to the next one.
    let clock = state_dir()?.join("clock");
    if clock.exists() {
        std::fs::remove_file(clock)?;
        eprintln!("local clock reset to system time");
    }
    Ok(())
}

/// The queues something consumes, with their depth (visible + in flight).
async fn consumed_queue_depths(stack: &Stack, sqs: &aws_sdk_sqs::Client) -> anyhow::Result<Vec<(String, u64, u64)>> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let mut out = Vec::new();
    for m in &stack.event_source_mappings {
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&m.queue_url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .with_context(|| format!("reading queue {}", m.queue))?;
        let get = |a: A| attrs.attributes().and_then(|m| m.get(&a)).and_then(|v| v.parse().ok()).unwrap_or(0u64);
        let dlq = match stack.queues.get(&m.queue).and_then(|q| q.dlq_url.clone()) {
            Some(url) => sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(A::ApproximateNumberOfMessages)
                .send()
                .await
                .ok()
                .and_then(|a| {
                    a.attributes().and_then(|m| m.get(&A::ApproximateNumberOfMessages)).and_then(|v| v.parse().ok())
                })
                .unwrap_or(0),
            None => 0,
        };
        out.push((
            m.queue.clone(),
            get(A::ApproximateNumberOfMessages) + get(A::ApproximateNumberOfMessagesNotVisible),
            dlq,
        ));
    }
    Ok(out)
}

async fn sqs_client() -> anyhow::Result<(Stack, aws_sdk_sqs::Client)> {
    let stack = Stack::read(&state_dir()?.join("stack.json"))?;
    let env = StackEnv::load()?;
    Ok((stack, aws_sdk_sqs::Client::new(&env.sdk_config().await)))
}

async fn wait(timeout: Duration) -> anyhow::Result<()> {
    let (stack, sqs) = sqs_client().await?;
    let started = Instant::now();
    let mut quiet_rounds = 0;
    let mut last_report = Instant::now();
    loop {
        let depths = consumed_queue_depths(&stack, &sqs).await?;
        let pending: u64 = depths.iter().map(|d| d.1).sum();
        // Three quiet looks in a row: a function may be about to write the next stage's input.
        quiet_rounds = if pending == 0 { quiet_rounds + 1 } else { 0 };
        if quiet_rounds >= 3 {
            let dead: u64 = depths.iter().map(|d| d.2).sum();
            eprintln!(
                "queues drained in {:.1} s ({} message(s) in dead-letter queues)",
                started.elapsed().as_secs_f64(),
                dead
            );
            return Ok(());
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            let text: Vec<String> = depths.iter().map(|(q, n, _)| format!("{q}={n}")).collect();
            eprintln!("waiting: {}", text.join(" "));
            last_report = Instant::now();
        }
        if started.elapsed() > timeout {
            bail!("queues not drained after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}

async fn status() -> anyhow::Result<()> {
    let state = read_state()?;
    for service in &state.services {
        let alive = if process::is_alive(service.pid) { "running" } else { "stopped" };
        println!("{:<10} {alive} (pid {})", service.name, service.pid);
    }
    if state.is_running("moto") {
        let (stack, sqs) = sqs_client().await?;
        for (queue, depth, dlq) in consumed_queue_depths(&stack, &sqs).await? {
            println!("{queue:<22} {depth} pending, {dlq} dead-lettered");
        }
    }
    match read_clock(&clock_path()?)? {
        Some(at) => println!("{:<10} {at} (set; `omnilake local clock reset` for system time)", "clock"),
        None => println!("{:<10} system time", "clock"),
    }
    Ok(())
}
