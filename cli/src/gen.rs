pub fn run(_args: GenArgs) -> anyhow::Result<()> { Ok(()) }
#[derive(clap::Args)] pub struct GenArgs {}
