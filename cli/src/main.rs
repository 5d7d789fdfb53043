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

/// mimalloc's settings for the rollup (see [`tune_allocator_for_rollup`]).
const ROLLUP_ALLOCATOR_ENV: [(&str, &str); 2] = [
    // Memory it frees stays mapped for the next allocation instead of being returned to the OS
    // and faulted in again: on a 5M-line day that re-faulting cost ~5 s of CPU.
    ("MIMALLOC_PURGE_DELAY", "-1"),
    // No transparent huge pages: on these VMs a 2 MiB page costs 0.1–3 s per GiB to fault in
    // (it varies with the host), 4 KiB pages a steady ~0.55 s; over 8 alternating runs of the
    // 5M-line day the rollup used ~2 s less system CPU and ~50 MiB less memory without them.
    ("MIMALLOC_ALLOW_THP", "0"),
];

/// mimalloc reads its options once, at process start: the rollup re-executes itself with
/// [`ROLLUP_ALLOCATOR_ENV`] (a variable already set is left as it is). The deployed function
/// sets the same variables in the template. If re-executing fails, the run goes on with the
/// defaults.
fn tune_allocator_for_rollup() {
    use std::os::unix::process::CommandExt;
    let missing: Vec<_> = ROLLUP_ALLOCATOR_ENV.iter().filter(|(var, _)| std::env::var_os(var).is_none()).collect();
    if missing.is_empty() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    let mut command = std::process::Command::new(exe);
    command.args(std::env::args_os().skip(1));
    for (var, value) in missing {
        command.env(var, value);
    }
    let error = command.exec();
    tracing::debug!(%error, "could not re-execute with mimalloc's settings; going on with its defaults");
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
        tune_allocator_for_rollup();
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
