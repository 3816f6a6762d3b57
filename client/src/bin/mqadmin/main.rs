//! `mqadmin`: Apache RocketMQ's admin tool, over the Rust client.

mod cli;
mod output;
mod run;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use client::ClientConfig;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "off".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = cli::Cli::parse();
    let Some(ns) = cli.namesrv.filter(|s| !s.trim().is_empty()) else {
        eprintln!("mqadmin: no name server address: give -n host:port or set NAMESRV_ADDR");
        return ExitCode::from(2);
    };
    let mut client = ClientConfig::new(ns);
    client.request_timeout = Duration::from_millis(cli.timeout_ms);
    match run::run(client, cli.cmd).await {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            let _ = if cli.json {
                writeln!(
                    stdout,
                    "{}",
                    serde_json::to_string_pretty(&out.json).unwrap_or_default()
                )
            } else {
                write!(stdout, "{}", out.text)
            };
            ExitCode::SUCCESS
        }
        Err(e) => {
            let text = e.to_string();
            let reason: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            eprintln!("mqadmin: {}", reason.join(" "));
            ExitCode::FAILURE
        }
    }
}
