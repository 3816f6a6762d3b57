//! `mqbroker`: a drop-in for Apache RocketMQ's broker start-up script.

use std::path::PathBuf;
use std::process::ExitCode;

use broker::{Broker, BrokerStartupConfig};
use clap::Parser;
use remoting::config::{load_config_file, render_properties};
use tracing::{error, info};

/// RocketMQ broker.
#[derive(Parser)]
#[command(name = "mqbroker", version, about)]
struct Cli {
    /// Broker config file (Java properties: brokerClusterName, brokerName, brokerId,
    /// brokerRole, flushDiskType, listenPort, brokerIP1, storePathRootDir, ...).
    #[arg(short = 'c', long = "configFile")]
    config_file: Option<PathBuf>,
    /// Name servers, e.g. "ns1:9876;ns2:9876" (else namesrvAddr, else NAMESRV_ADDR).
    #[arg(short = 'n', long = "namesrvAddr")]
    namesrv_addr: Option<String>,
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
    let mut config = BrokerStartupConfig::default();
    if let Some(path) = &cli.config_file
        && let Err(e) = load_config_file(path, |props| config.apply(props))
    {
        eprintln!("mqbroker: {e}");
        return ExitCode::from(255);
    }
    if let Some(ns) = cli.namesrv_addr {
        config.broker.namesrv_addr = ns;
    }
    if cli.print_config {
        print!("{}", render_properties(config.to_properties()));
        return ExitCode::SUCCESS;
    }
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(async move {
        let broker = match Broker::start(config).await {
            Ok(b) => b,
            Err(e) => {
                error!(error = %e, "cannot start the broker");
                eprintln!("mqbroker: {e}");
                return ExitCode::from(1);
            }
        };
        println!(
            "The broker boot success. serializeType=JSON, address {}",
            broker.local_addr()
        );
        remoting::server::shutdown_signal().await;
        info!("shutdown signal received");
        broker.shutdown().await;
        ExitCode::SUCCESS
    })
}
