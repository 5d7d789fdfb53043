//! `omnilake`: the operator CLI. Runs the local stack, registers shops, signs and sends
//! deliveries, generates demo data, replays quarantine.

mod demo;
mod env;
mod gen;
mod local;
mod points;
mod replay;
mod rollup;
mod send;
mod shop;

use clap::{Parser, Subcommand};

// The rollup allocates and frees millions of small order facts; mimalloc does that several
// times faster than glibc's allocator and returns memory more promptly.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc reads its options once, at process start: the rollup re-executes itself with
/// `MIMALLOC_PURGE_DELAY=-1` (unless the variable is set already), so memory it frees stays
/// mapped for the next allocation instead of being returned to the OS and faulted in again; on
/// a 5M-line day that re-faulting cost ~5 s of CPU. The deployed function sets the same variable
/// in the template. If re-executing fails, the run goes on with the default.
fn keep_freed_memory_mapped() {
    use std::os::unix::process::CommandExt;
    const VAR: &str = "MIMALLOC_PURGE_DELAY";
    if std::env::var_os(VAR).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    let error = std::process::Command::new(exe).args(std::env::args_os().skip(1)).env(VAR, "-1").exec();
    tracing::debug!(%error, "could not re-execute with {VAR}=-1; going on with mimalloc's default");
}

#[derive(Parser)]
#[command(name = "omnilake", version, about = "omnilake operator CLI")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The local stack: moto server, functions under `cargo lambda watch`, the SQS poller.
    Local {
        #[command(subcommand)]
        command: local::LocalCommand,
    },
    /// Shops and their secrets.
    Shop {
        #[command(subcommand)]
        command: shop::ShopCommand,
    },
    /// Sign payload files the way a platform would and POST them to the webhook route.
    Send(send::SendArgs),
    /// Write a seeded, realistic set of platform deliveries and feed files.
    Gen(gen::GenArgs),
    /// Up → generate → send → wait, then print what landed where.
    Demo(demo::DemoArgs),
    /// Check the points table's invariants and every order's award.
    Audit {
        #[command(subcommand)]
        command: points::AuditCommand,
    },
    /// Look up members and balances.
    Members {
        #[command(subcommand)]
        command: points::MembersCommand,
    },
    /// Points jobs (the nightly settlement, run by hand).
    Points {
        #[command(subcommand)]
        command: points::PointsCommand,
    },
    /// The nightly rollup by hand: `--date D` or `--from A --to B` (backfills in date order).
    Rollup(rollup::RollupArgs),
    /// Re-run quarantined items after a fix.
    Replay {
        #[command(subcommand)]
        command: replay::ReplayCommand,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    omnilake::telemetry::init_cli_logging();
    let cli = Cli::parse();
    if matches!(cli.command, Command::Rollup(_)) {
        keep_freed_memory_mapped();
    }
    match cli.command {
        Command::Local { command } => local::run(command).await,
        Command::Shop { command } => shop::run(command).await,
        Command::Send(args) => send::run(args).await,
        Command::Gen(args) => gen::run(args),
        Command::Demo(args) => demo::run(args).await,
        Command::Replay { command } => replay::run(command).await,
        Command::Rollup(args) => rollup::run(args).await,
        Command::Audit { command } => points::audit(command).await,
        Command::Members { command } => points::members(command).await,
        Command::Points { command } => points::settle(command).await,
    }
}
