//! `omnilake rollup`: the nightly rollup run by hand, against the stack's bucket (default) or,
//! with `--input-dir`, against canonical files on local disk (the benchmark's mode).

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::Args;
use omnilake::aws::rollup::{load_shop_zones, run_days, DayReport, PointsSource, RollupProgress, RollupStore};
use omnilake::rollup::compute::{DayContext, ShopZone};
use omnilake::rollup::encode::{compute_and_encode_day, DayStep};
use omnilake::rollup::facts::InputKind;
use omnilake::rollup::parallel::{absorb_all, input_channel, InputObject, ReadStats};
use omnilake::rollup::plan::{dt, partition_day, plan_days, select_inputs, state_key, ObjectInfo};
use omnilake::rollup::state::CarriedState;
use omnilake::rollup::time::{day_of, Day};
use omnilake::rollup::RollupError;

use crate::env::StackEnv;

#[derive(Args)]
pub struct RollupArgs {
    /// Compute one business day (YYYY-MM-DD).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    date: Option<chrono::NaiveDate>,
    /// First day of a backfill (with --to).
    #[arg(long, requires = "to")]
    from: Option<chrono::NaiveDate>,
    /// Last day of a backfill.
    #[arg(long, requires = "from")]
    to: Option<chrono::NaiveDate>,
    /// Read canonical files from this directory (its `canonical/…` tree) instead of the bucket.
    #[arg(long, requires_all = ["shops", "output_dir"])]
    input_dir: Option<PathBuf>,
    /// With --input-dir: a JSON list of shops `{format, shop_id, time_zone, location_id}`.
    #[arg(long)]
    shops: Option<PathBuf>,
    /// With --input-dir: where the tables (and the carried state) are written.
    #[arg(long)]
    output_dir: Option<PathBuf>,
    /// Parser threads (default: the machine's cores).
    #[arg(long)]
    threads: Option<usize>,
}

pub async fn run(args: RollupArgs) -> anyhow::Result<()> {
    let (from, to) = match (args.date, args.from, args.to) {
        (Some(d), None, None) => (day_of(d), day_of(d)),
        (None, Some(a), Some(b)) => (day_of(a), day_of(b)),
        _ => bail!("give --date D, or --from A --to B"),
    };
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let started = Instant::now();
    let totals = match &args.input_dir {
        Some(dir) => {
            let shops = args.shops.as_deref().context("--shops is required with --input-dir")?;
            let out = args.output_dir.as_deref().context("--output-dir is required with --input-dir")?;
            run_local(dir, shops, out, from, to, threads)?
        }
        None => totals_of(&run_stack(from, to, threads).await?),
    };
    print_totals(&totals, started.elapsed().as_secs_f64());
    Ok(())
}

type Totals = Vec<(Day, Vec<(&'static str, u64)>, ReadStats, f64)>;

fn totals_of(reports: &[DayReport]) -> Totals {
    reports.iter().map(|r| (r.day, r.rows.clone(), r.read, r.seconds)).collect()
}

async fn run_stack(from: Day, to: Day, threads: usize) -> anyhow::Result<Vec<DayReport>> {
    let env = StackEnv::load()?;
    let config = env.sdk_config().await;
    let bucket = env.get("OMNILAKE_BUCKET")?.to_string();
    let shops_table = env.get("OMNILAKE_SHOPS_TABLE")?.to_string();
    let business_tz = business_tz(env.get_opt("OMNILAKE_BUSINESS_TZ"))?;
    let s3 = omnilake::aws::s3::DataBucket::client_from(&config);
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    let shops = load_shop_zones(&ddb, &shops_table).await?;
    let store = RollupStore::new(s3, &bucket);
    let context = DayContext { day: from, business_tz, shops, points: None };
    let progress = |p: RollupProgress<'_>| match p {
        RollupProgress::Planned { days, requested_from } => {
            if let (Some(first), true) = (days.first(), days.first().is_some_and(|f| *f < requested_from)) {
                println!(
                    "no rollup state for {}: computing the missing days from {} first",
                    dt(requested_from - 1),
                    dt(*first)
                );
            }
            println!("rollup of s3://{bucket}: {} day(s), {} parser thread(s)", days.len(), threads);
        }
        RollupProgress::DayStarted { day, index, of, objects, bytes } => {
            print!("{} {}  {objects} objects, {:.1} MB … ", bar(index, of), dt(day), bytes as f64 / 1e6);
            let _ = std::io::stdout().flush();
        }
        RollupProgress::DayDone(report) => {
            println!(
                "{} orders, {} lines read in {:.1}s",
                report.stats.orders_placed, report.read.lines, report.seconds
            );
        }
    };
    let points = env.points_table.clone().map(|table| PointsSource { client: ddb.clone(), table });
    Ok(run_days(&store, &context, from, to, threads, points.as_ref(), &progress).await?)
}

/// The demo's last step: roll up every day the demo's orders fall on, then print the KPIs and
/// the lines to explore the tables. False if nothing was rolled up.
pub async fn demo_rollup(env: &StackEnv) -> anyhow::Result<bool> {
    let config = env.sdk_config().await;
    let bucket = env.get("OMNILAKE_BUCKET")?.to_string();
    let endpoint = env.get("AWS_ENDPOINT_URL")?.to_string();
    let s3 = omnilake::aws::s3::DataBucket::client_from(&config);
    let store = RollupStore::new(s3, &bucket);
    let days: BTreeSet<Day> = store
        .list_inputs()
        .await?
        .iter()
        .filter(|o| InputKind::of_key(&o.key) == Some(InputKind::Orders))
        .filter_map(|o| partition_day(&o.key))
        .collect();
    let (Some(&from), Some(&to)) = (days.first(), days.last()) else {
        println!("\nno canonical orders: nothing to roll up");
        return Ok(false);
    };
    println!("\nnightly rollup of {} .. {}:", dt(from), dt(to));
    let started = Instant::now();
    let reports = run_stack(from, to, std::thread::available_parallelism().map_or(2, |n| n.get())).await?;
    print_totals(&totals_of(&reports), started.elapsed().as_secs_f64());
    println!("\nKPIs (all shops; money in each currency's units):");
    println!(
        "  {:<10} {:>7} {:>6} {:>16} {:>14} {:>7} {:>6} {:>9}",
        "day", "orders", "units", "net sales", "gross margin", "margin", "new", "returning"
    );
    for r in &reports {
        let k = &r.stats.kpis;
        for (i, (currency, net, margin)) in k.by_currency.iter().enumerate() {
            let pct = if *net != 0 { format!("{:.1}%", *margin as f64 * 100.0 / *net as f64) } else { "-".into() };
            let (day, orders, units, new, ret) = if i == 0 {
                (
                    dt(r.day),
                    r.stats.orders_counted.to_string(),
                    k.units_sold.to_string(),
                    k.new_customers.to_string(),
                    k.returning_customers.to_string(),
                )
            } else {
                Default::default()
            };
            println!(
                "  {day:<10} {orders:>7} {units:>6} {:>16} {:>14} {pct:>7} {new:>6} {ret:>9}",
                format!("{currency} {}", omnilake::Money::from_minor(*net)),
                omnilake::Money::from_minor(*margin).to_string(),
            );
        }
    }
    let storage = format!(
        "{{'aws_endpoint_url':'{endpoint}','aws_access_key_id':'testing','aws_secret_access_key':'testing','aws_region':'us-east-1','aws_allow_http':'true'}}"
    );
    println!("\nExplore the rollups (Parquet, Hive-partitioned by dt):");
    println!(
        "  .venv/bin/python -c \"import duckdb; duckdb.sql(\\\"SET s3_endpoint='{}'; SET s3_use_ssl=false; SET s3_url_style='path'; SET s3_access_key_id='testing'; SET s3_secret_access_key='testing'\\\"); print(duckdb.sql(\\\"SELECT dt, platform, sum(net_sales) net_sales, sum(gross_margin) margin FROM read_parquet('s3://{bucket}/rollups/sales_daily/*/*.parquet', hive_partitioning=true) GROUP BY ALL ORDER BY ALL\\\"))\"",
        endpoint.trim_start_matches("http://")
    );
    println!(
        "  .venv/bin/python -c \"import polars as pl; print(pl.scan_parquet('s3://{bucket}/rollups/inventory_daily/**/*.parquet', hive_partitioning=True, storage_options={storage}).filter(pl.col('closing_qty') < 5).collect())\""
    );
    Ok(reports.iter().any(|r| r.stats.orders_counted > 0))
}

fn bar(index: usize, of: usize) -> String {
    let width = 20;
    let done = (index + 1) * width / of.max(1);
    format!("[{}{}] {:>3}/{}", "#".repeat(done), "-".repeat(width - done), index + 1, of)
}

fn business_tz(name: Option<&str>) -> anyhow::Result<chrono_tz::Tz> {
    match name {
        Some(n) => omnilake::canonical::time::parse_time_zone(n).with_context(|| format!("unknown time zone {n}")),
        None => Ok(omnilake::canonical::time::DEFAULT_TIME_ZONE),
    }
}

fn print_totals(totals: &Totals, seconds: f64) {
    let mut by_table: Vec<(&str, u64)> = Vec::new();
    for (_, rows, _, _) in totals {
        for (table, n) in rows {
            match by_table.iter_mut().find(|(t, _)| t == table) {
                Some(e) => e.1 += n,
                None => by_table.push((table, *n)),
            }
        }
    }
    let read: u64 = totals.iter().map(|t| t.2.compressed_bytes).sum();
    let json: u64 = totals.iter().map(|t| t.2.json_bytes).sum();
    println!("\nrows written ({} day(s)):", totals.len());
    for (table, n) in by_table {
        println!("  {table:22} {n:>10}");
    }
    println!(
        "read {:.1} MB compressed, {:.1} MB JSON in {seconds:.2}s ({:.0} MB/s of JSON)",
        read as f64 / 1e6,
        json as f64 / 1e6,
        json as f64 / 1e6 / seconds.max(1e-9)
    );
}

// ------------------------------------------------------------------ local disk

#[derive(serde::Deserialize)]
struct LocalShop {
    format: String,
    shop_id: String,
    time_zone: String,
    #[serde(default)]
    location_id: Option<String>,
}

fn run_local(dir: &Path, shops: &Path, out: &Path, from: Day, to: Day, threads: usize) -> anyhow::Result<Totals> {
    let list: Vec<LocalShop> =
        serde_json::from_slice(&std::fs::read(shops).with_context(|| format!("read {}", shops.display()))?)
            .with_context(|| format!("{} is not a JSON list of shops", shops.display()))?;
    let mut zones = HashMap::new();
    for s in list {
        let time_zone = business_tz(Some(&s.time_zone))?;
        zones.insert((s.format, s.shop_id), ShopZone { time_zone, location_id: s.location_id });
    }
    let business_tz = business_tz(std::env::var("OMNILAKE_BUSINESS_TZ").ok().as_deref())?;
    let listing = list_local(dir)?;
    let states: BTreeSet<Day> = (from - 1..=to).filter(|d| out.join(state_key(*d)).is_file()).collect();
    let earliest = listing
        .iter()
        .filter(|o| matches!(InputKind::of_key(&o.key), Some(InputKind::Orders | InputKind::Inventory)))
        .filter_map(|o| partition_day(&o.key))
        .min();
    let days = plan_days(from, to, &states, earliest)?;
    let mut state = match days.first().map(|d| out.join(state_key(d - 1))) {
        Some(p) if p.is_file() => CarriedState::from_gzip_json(&std::fs::read(p)?)?,
        _ => CarriedState::default(),
    };
    let mut totals = Vec::new();
    for d in days {
        let started = Instant::now();
        let cpu_start = process_cpu_seconds();
        let inputs = select_inputs(&listing, d, business_tz);
        let (tx, rx) = input_channel();
        let root = dir.to_path_buf();
        let reader = std::thread::spawn(move || -> anyhow::Result<()> {
            for o in inputs {
                let body = std::fs::read(root.join(&o.key)).with_context(|| format!("read {}", o.key))?;
                let kind = InputKind::of_key(&o.key).context("input kind")?;
                if tx.blocking_send(InputObject { kind, key: o.key, body }).is_err() {
                    break;
                }
            }
            Ok(())
        });
        let (partial, read) = absorb_all(threads, rx)?;
        reader.join().map_err(|_| anyhow::anyhow!("reader thread panicked"))??;
        // Wall and CPU seconds and resident MiB at the end of each step, for the summary line.
        let mut marks = vec![("read+parse", started.elapsed().as_secs_f64(), process_cpu_seconds(), resident_mib())];
        let ctx = DayContext { day: d, business_tz, shops: zones.clone(), points: None };
        // Each Parquet part is written as soon as it is encoded.
        let write_part = |key: &str, bytes: Vec<u8>| -> Result<(), RollupError> {
            let path = out.join(key);
            let folder = path.parent().map_or(Ok(()), std::fs::create_dir_all);
            folder
                .and_then(|()| std::fs::write(&path, bytes))
                .map_err(|e| RollupError::Unwritable { key: path.display().to_string(), message: e.to_string() })
        };
        let day = compute_and_encode_day(std::mem::take(&mut state), partial, &ctx, &write_part, &mut |step| {
            let name = match step {
                DayStep::Fold => "fold",
                DayStep::OrderLines => "order lines",
                DayStep::Tables => "tables",
                DayStep::Encode => "parquet",
            };
            marks.push((name, started.elapsed().as_secs_f64(), process_cpu_seconds(), resident_mib()));
        })?;
        let rows: Vec<(&str, u64)> = day.tables.iter().map(|t| (t.name, t.rows)).collect();
        let state_path = out.join(state_key(d));
        std::fs::create_dir_all(state_path.parent().context("state path")?)?;
        std::fs::write(&state_path, day.state_bytes)?;
        state = day.state;
        marks.push(("state file", started.elapsed().as_secs_f64(), process_cpu_seconds(), resident_mib()));
        let seconds = started.elapsed().as_secs_f64();
        let mut steps = Vec::new();
        let (mut wall0, mut cpu0) = (0.0, cpu_start);
        for (name, wall, cpu, rss) in &marks {
            steps.push(format!("{name} {:.2}/{:.2}s {rss} MiB", wall - wall0, cpu - cpu0));
            (wall0, cpu0) = (*wall, *cpu);
        }
        println!(
            "{}  {} objects, {} lines, {} orders placed in {seconds:.2}s, {:.2}s CPU, peak {} MiB resident\n    (wall/CPU, resident after: {})",
            dt(d),
            read.objects,
            read.lines,
            day.stats.orders_placed,
            cpu0 - cpu_start,
            peak_resident_mib(),
            steps.join(", "),
        );
        totals.push((d, rows, read, seconds));
    }
    Ok(totals)
}

/// CPU seconds (user + system) this process has used so far, from `/proc/self/stat` (0 where
/// there is no procfs): phase timings show how well a phase uses the cores.
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // Fields after the command name (which is in parentheses and may hold spaces): utime and
    // stime are fields 14 and 15, i.e. the 12th and 13th after the closing parenthesis.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { return 0.0 };
    let ticks: f64 = rest.split_whitespace().skip(11).take(2).filter_map(|t| t.parse::<f64>().ok()).sum();
    ticks / 100.0
}

/// The process's resident memory now, in MiB, from `/proc/self/status` (0 without procfs).
fn resident_mib() -> u64 {
    status_kib("VmRSS:") / 1024
}

/// The process's peak resident memory so far, in MiB.
fn peak_resident_mib() -> u64 {
    status_kib("VmHWM:") / 1024
}

fn status_kib(field: &str) -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return 0 };
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Every file under `dir/canonical/`, keyed like the bucket, with its mtime as LastModified.
fn list_local(dir: &Path) -> anyhow::Result<Vec<ObjectInfo>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.join("canonical")];
    while let Some(p) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&p) else { continue };
        for e in entries {
            let e = e?;
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let meta = e.metadata()?;
            let key = path.strip_prefix(dir)?.to_string_lossy().replace('\\', "/");
            let modified = meta.modified()?.duration_since(UNIX_EPOCH).map_or(0, |t| t.as_micros() as i64);
            out.push(ObjectInfo {
                etag: format!("{}-{modified}", meta.len()),
                key,
                last_modified: modified,
                size: meta.len(),
            });
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}
