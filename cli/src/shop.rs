//! `omnilake shop add`: registers a shop (settings in the shops table, secret in Secrets Manager).

use anyhow::Context;
use clap::{Args, Subcommand};
use omnilake::aws::secrets::SecretStore;
use omnilake::aws::shops::ShopDirectory;
use omnilake::canonical::time::parse_time_zone;
use omnilake::platforms::Platform;
use omnilake::shop::{is_valid_shop_id, Shop};

use crate::env::StackEnv;

#[derive(Subcommand)]
pub enum ShopCommand {
    /// Register or update a shop.
    Add(AddArgs),
}

#[derive(Args, Clone)]
pub struct AddArgs {
    /// Sender format: shopify, woocommerce, youzan or standard.
    #[arg(long)]
    pub platform: Platform,
    #[arg(long)]
    pub shop: String,
    /// The shared secret (Standard Webhooks: `whsec_…`; Youzan: the app's client secret).
    #[arg(long)]
    pub secret: String,
    #[arg(long, default_value = "Asia/Shanghai")]
    pub timezone: String,
    #[arg(long, default_value = "CNY")]
    pub currency: String,
    /// Default region for phone numbers without a country code.
    #[arg(long, default_value = "CN")]
    pub country: String,
    /// Stock location that fulfils this shop's orders (default: the shop id).
    #[arg(long)]
    pub location: Option<String>,
}

pub async fn run(command: ShopCommand) -> anyhow::Result<()> {
    match command {
        ShopCommand::Add(args) => {
            let env = StackEnv::load()?;
            let shop = add(&env, &args).await?;
            println!("registered {} shop {} ({}, {})", shop.platform, shop.shop_id, shop.time_zone, shop.currency);
            Ok(())
        }
    }
}

/// Registers a shop; used by the demo too.
pub async fn add(env: &StackEnv, args: &AddArgs) -> anyhow::Result<Shop> {
    anyhow::ensure!(is_valid_shop_id(&args.shop), "shop id `{}` must be 1–64 of A-Z a-z 0-9 . _ -", args.shop);
    let time_zone =
        parse_time_zone(&args.timezone).with_context(|| format!("`{}` is not an IANA time zone", args.timezone))?;
    anyhow::ensure!(
        args.currency.len() == 3 && args.currency.bytes().all(|b| b.is_ascii_alphabetic()),
        "currency must be an ISO 4217 code"
    );
    if args.platform == Platform::Standard {
        omnilake::platforms::standard::secret_key(&args.secret)
            .map_err(|_| anyhow::anyhow!("a Standard Webhooks secret is `whsec_` followed by base64"))?;
    }
    let config = env.sdk_config().await;
    let secret_id = Shop::secret_name(env.get("OMNILAKE_SECRET_PREFIX")?, args.platform, &args.shop);
    SecretStore::new(aws_sdk_secretsmanager::Client::new(&config)).put(&secret_id, &args.secret).await?;
    let mut shop = Shop::with_defaults(args.platform, &args.shop, secret_id);
    shop.time_zone = time_zone;
    shop.currency = args.currency.to_ascii_uppercase();
    shop.country = args.country.to_ascii_uppercase();
    shop.location_id = args.location.clone().unwrap_or_else(|| args.shop.clone());
    ShopDirectory::new(aws_sdk_dynamodb::Client::new(&config), env.get("OMNILAKE_SHOPS_TABLE")?).put(&shop).await?;
    Ok(shop)
}
