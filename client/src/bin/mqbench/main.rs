//! `mqbench`: producer and consumer benchmarks in the style of Apache's benchmark tools.

mod consumer;
mod histogram;
mod producer;
mod report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// RocketMQ benchmark tool.
#[derive(Debug, Parser)]
#[command(name = "mqbench", version, about)]
struct Cli {
    /// Name server address list (or NAMESRV_ADDR).
    #[arg(short = 'n', long = "namesrvAddr", global = true, env = "NAMESRV_ADDR")]
    namesrv: Option<String>,
    /// Print one JSON document with the samples and the summary.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Send messages as fast as the workers can and report TPS and latency.
    Producer(producer::Args),
    /// Consume messages and report TPS and end-to-end latency.
    Consumer(consumer::Args),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let Some(ns) = cli.namesrv.filter(|s| !s.trim().is_empty()) else {
        eprintln!("mqbench: no name server address: give -n host:port or set NAMESRV_ADDR");
        return ExitCode::from(2);
    };
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let r = rt.block_on(async {
        match cli.cmd {
            Cmd::Producer(a) => producer::run(&ns, a, cli.json).await,
            Cmd::Consumer(a) => consumer::run(&ns, a, cli.json).await,
        }
    });
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqbench: {}", e.to_string().replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
