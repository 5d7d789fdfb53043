//! `omnilake audit points`, `omnilake members …` and `omnilake points settle`: the points
//! pieces' operator commands, run against the stack `local.env` (or the environment) names.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use clap::Subcommand;
use omnilake::aws::points::{self, MemberView, PointsStore};
use omnilake::aws::s3::DataBucket;
use omnilake::aws::shops::ShopDirectory;
use omnilake::canonical::CanonicalOrder;
use omnilake::clock::Clock;
use omnilake::normalize::read_jsonl_gz;
use omnilake::points::audit::AuditReport;
use omnilake::points::events::{points_events_of, PointsEvent};
use omnilake::points::ShopPoints;

use crate::env::StackEnv;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Prove Σ ledger = available + pending − debt for every member and that every order's
    /// award is the rule on its latest version in `canonical/orders/`; exit 1 on a mismatch.
    Points {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum MembersCommand {
    /// The members with the most points.
    Top {
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// One member by id, phone or email (JSON, as the members API answers it).
    Show {
        #[arg(long, conflicts_with_all = ["phone", "email"])]
        id: Option<String>,
        #[arg(long, conflicts_with = "email")]
        phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Region for phone numbers without `+`.
        #[arg(long, default_value = "CN")]
        country: String,
    },
}

#[derive(Subcommand)]
pub enum PointsCommand {
    /// Run the nightly settlement now (pending points mature, lots expire), at the stack's clock.
    Settle,
}

async fn open(env: &StackEnv) -> anyhow::Result<PointsStore> {
    let config = env.sdk_config().await;
    let table = env.points_table.clone().context("OMNILAKE_POINTS_TABLE is not set: run `omnilake local up`")?;
    let secret = env.identity_key_secret.clone().context("OMNILAKE_IDENTITY_KEY_SECRET is not set")?;
    Ok(points::connect(&config, table, &secret, points::policy_from_env()?).await?)
}

/// "Now" as the stack's functions see it (its clock file, if set).
fn stack_clock(env: &StackEnv) -> Clock {
    env.clock_file.clone().map_or(Clock::System, |f| Clock::File(f.into()))
}

pub async fn audit(command: AuditCommand) -> anyhow::Result<()> {
    let AuditCommand::Points { json } = command;
    let env = StackEnv::load()?;
    let config = env.sdk_config().await;
    let bucket = DataBucket::new(DataBucket::client_from(&config), env.get("OMNILAKE_BUCKET")?);
    let (report, files) = audit_stack(&env, &bucket).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_audit(&report, files);
    }
    if !report.mismatches.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}

/// Audits the stack's points table against every order version in `canonical/orders/`.
async fn audit_stack(env: &StackEnv, bucket: &DataBucket) -> anyhow::Result<(AuditReport, usize)> {
    let store = open(env).await?;
    let config = env.sdk_config().await;
    let shops = ShopDirectory::new(aws_sdk_dynamodb::Client::new(&config), env.get("OMNILAKE_SHOPS_TABLE")?);
    let mut orders: Vec<(CanonicalOrder, ShopPoints)> = Vec::new();
    let mut settings: BTreeMap<(Option<String>, String), ShopPoints> = BTreeMap::new();
    let keys = bucket.list("canonical/orders/").await?;
    for key in &keys {
        let lines = read_jsonl_gz(&bucket.get(key).await?.body).with_context(|| format!("reading {key}"))?;
        let (events, bad) = points_events_of(key, &lines);
        if let Some(b) = bad.first() {
            bail!("cannot audit: {b}");
        }
        for event in events {
            let PointsEvent::Order(order) = &event else { continue };
            let slot = (event.sender_format(), order.shop_id.clone());
            if !settings.contains_key(&slot) {
                let shop = shops.points_settings(slot.0.as_deref(), &slot.1, store.business_tz()).await?;
                settings.insert(slot.clone(), shop);
            }
            orders.push(((**order).clone(), settings[&slot].clone()));
        }
    }
    let report = store.audit(orders.iter().map(|(o, s)| (o, s))).await?;
    Ok((report, keys.len()))
}

fn print_audit(report: &AuditReport, files: usize) {
    println!(
        "points audit: {} members ({} aliases), {} ledger entries, {} awards, {} orders from {files} canonical files checked, {} points outstanding",
        report.members,
        report.aliases,
        report.ledger_entries,
        report.awards,
        report.orders_checked,
        report.points_outstanding
    );
    for m in report.mismatches.iter().take(50) {
        println!("  MISMATCH {}", serde_json::to_string(m).unwrap_or_default());
    }
    println!("{} mismatches", report.mismatches.len());
}

/// The demo's members section: top members, a lookup by the phone on a real order, the audit.
/// False if the audit finds a mismatch.
pub async fn demo_members(env: &StackEnv, bucket: &DataBucket) -> anyhow::Result<bool> {
    let store = open(env).await?;
    let now = stack_clock(env).now();
    println!("\nMembers and points (one member per person across platforms)");
    println!("Top members:");
    for view in top_members(&store, 5, now).await? {
        print_member_line(&view);
    }
    let mut phone_order = None;
    'files: for key in bucket.list("canonical/orders/").await? {
        let lines = read_jsonl_gz(&bucket.get(&key).await?.body)?;
        for event in points_events_of(&key, &lines).0 {
            if let PointsEvent::Order(o) = event {
                if o.customer.phone.is_some() && o.platform != "shopify" {
                    phone_order = Some(o);
                    break 'files;
                }
            }
        }
    }
    if let Some(order) = phone_order {
        let phone = order.customer.phone.clone().unwrap_or_default();
        let masked: String = phone
            .chars()
            .enumerate()
            .map(|(i, c)| if (3..phone.len() - 4).contains(&i) && c.is_ascii_digit() { '*' } else { c })
            .collect();
        println!(
            "Lookup by the phone on {} order {} ({masked}), as `GET /members?phone=…` answers:",
            order.platform, order.order_id
        );
        match store.member_by_phone(&phone, "CN", now).await? {
            Some(view) => print_member_line(&view),
            None => println!("  (no member)"),
        }
    }
    let (report, files) = audit_stack(env, bucket).await?;
    print_audit(&report, files);
    Ok(report.mismatches.is_empty())
}

pub async fn members(command: MembersCommand) -> anyhow::Result<()> {
    let env = StackEnv::load()?;
    let store = open(&env).await?;
    let now = stack_clock(&env).now();
    match command {
        MembersCommand::Top { limit } => {
            for view in top_members(&store, limit, now).await? {
                print_member_line(&view);
            }
        }
        MembersCommand::Show { id, phone, email, country } => {
            let found = match (id, phone, email) {
                (Some(id), _, _) => store.member(&id, now).await?,
                (_, Some(phone), _) => store.member_by_phone(&phone, &country, now).await?,
                (_, _, Some(email)) => store.member_by_email(&email, now).await?,
                _ => bail!("give --id, --phone or --email"),
            };
            match found {
                Some(view) => println!("{}", serde_json::to_string_pretty(&view)?),
                None => bail!("no such member"),
            }
        }
    }
    Ok(())
}

pub async fn settle(command: PointsCommand) -> anyhow::Result<()> {
    let PointsCommand::Settle = command;
    let env = StackEnv::load()?;
    let store = open(&env).await?;
    let report = store.settle_all(stack_clock(&env).now()).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// Live members by available + pending points, highest first.
pub async fn top_members(
    store: &PointsStore,
    limit: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Vec<MemberView>> {
    let contents = store.scan_all().await?;
    let mut live: Vec<MemberView> = contents
        .members
        .into_iter()
        .filter(|m| m.merged_into.is_none())
        .map(|mut m| {
            m.settle(now, store.policy());
            MemberView::of(&m)
        })
        .collect();
    live.sort_by_key(|v| std::cmp::Reverse((v.available_points + v.pending_points, v.member_id.clone())));
    live.truncate(limit);
    Ok(live)
}

pub fn print_member_line(view: &MemberView) {
    let platforms: Vec<String> = view.platforms.iter().map(|p| format!("{}/{}", p.platform, p.shop_id)).collect();
    println!(
        "  {}  available {:>6}  pending {:>6}  debt {:>4}  {}",
        view.member_id,
        view.available_points,
        view.pending_points,
        view.debt_points,
        platforms.join(", ")
    );
}
