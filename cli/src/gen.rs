//! `omnilake gen`: a seeded, realistic set of deliveries and feed files written to a folder.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::NaiveDate;
use clap::Args;
use omnilake::synth::{default_shops, generate, write_dir, SynthConfig, SynthOutput};

#[derive(Args)]
pub struct GenArgs {
    /// Orders to generate (each has 1–4 versions, plus duplicates and noise).
    #[arg(long, default_value_t = 1000)]
    pub orders: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long)]
    pub out: PathBuf,
    /// First business day.
    #[arg(long, default_value = "2026-11-20")]
    pub start_date: NaiveDate,
    #[arg(long, default_value_t = 1)]
    pub days: u32,
    /// Deliveries signed with a wrong secret, which must be refused.
    #[arg(long, default_value_t = 20)]
    pub forged: usize,
}

pub fn build(args: &GenArgs) -> SynthOutput {
    let cfg = SynthConfig {
        orders: args.orders,
        seed: args.seed,
        start_date: args.start_date,
        days: args.days,
        forged: args.forged,
    };
    generate(&cfg, &default_shops())
}

pub fn run(args: GenArgs) -> anyhow::Result<()> {
    let out = build(&args);
    write(&out, &args.out)
}

/// Writes a generated set to `dir` and says what it holds.
pub fn write(out: &SynthOutput, dir: &Path) -> anyhow::Result<()> {
    write_dir(out, dir).with_context(|| format!("writing {}", dir.display()))?;
    let e = &out.expected;
    println!(
        "wrote {} deliveries ({} unique authentic, {} duplicates, {} forged; {} order versions) and {} feed files to {}",
        out.deliveries.len(),
        e.unique_authentic_deliveries,
        e.duplicate_deliveries,
        e.forged_deliveries,
        e.order_versions.len(),
        out.feeds.len(),
        dir.display()
    );
    Ok(())
}
