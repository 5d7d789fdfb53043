pub async fn run(_args: DemoArgs) -> anyhow::Result<()> { Ok(()) }
#[derive(clap::Args)] pub struct DemoArgs {}
