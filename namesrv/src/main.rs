//! `mqnamesrv`: a drop-in for Apache RocketMQ's name server start-up script.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use namesrv::{Namesrv, NamesrvConfig};
use remoting::config::{load_config_file, render_properties};
use tracing::{error, info};

/// RocketMQ name server.
#[derive(Parser)]
#[command(name = "mqnamesrv", version, about)]
struct Cli {
    /// Name-server config file (Java properties: listenPort, kvConfigPath, orderMessageEnable, ...).
    #[arg(short = 'c', long = "configFile")]
    config_file: Option<PathBuf>,
    /// Print the effective configuration and exit.
    #[arg(short = 'p', long = "printConfigItem")]
    print_config: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let mut config = NamesrvConfig::default();
    if let Some(path) = &cli.config_file
        && let Err(e) = load_config_file(path, |props| config.apply(props))
    {
        eprintln!("mqnamesrv: {e}");
        return ExitCode::from(255);
    }
    if cli.print_config {
        print!("{}", render_properties(config.to_properties()));
        return ExitCode::SUCCESS;
    }
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(async move {
        let srv = match Namesrv::start(config).await {
            Ok(s) => s,
            Err(e) => {
                error!(error = %e, "cannot start the name server");
                return ExitCode::from(1);
            }
        };
        println!(
            "The Name Server boot success. serializeType=JSON, address {}",
            srv.local_addr()
        );
        remoting::server::shutdown_signal().await;
        info!("shutdown signal received");
        srv.shutdown().await;
        ExitCode::SUCCESS
    })
}
