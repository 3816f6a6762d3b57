use std::{path::PathBuf, sync::Arc, time::Duration};

use clap::{Parser, Subcommand};
use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, Client};
use rocketmq_operator::{
    controller::{self, Context},
    crd_yaml, http,
    leader::LeaseLock,
    load_cluster,
    metrics::Metrics,
    remote_admin::RemotingAdmin,
    resources,
};
use tracing::info;

#[derive(Parser)]
#[command(
    name = "rocketmq-operator",
    version,
    about = "Kubernetes operator for RocketMQ clusters"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the controller.
    Run {
        /// Watch only this namespace (all namespaces when unset).
        #[arg(long, env = "WATCH_NAMESPACE")]
        namespace: Option<String>,
        /// Address of the /metrics and /healthz endpoint.
        #[arg(long, default_value = "0.0.0.0:8080")]
        metrics_addr: String,
        /// Name of the leader-election Lease.
        #[arg(long, default_value = "rocketmq-operator")]
        lease_name: String,
        /// Namespace of the Lease (defaults to the pod's namespace).
        #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
        lease_namespace: String,
        /// Lease duration in seconds.
        #[arg(long, default_value_t = 15)]
        lease_duration: u64,
        /// Skip leader election (single replica, local development).
        #[arg(long)]
        no_leader_election: bool,
        /// Timeout of each request to a name server or broker, in milliseconds.
        #[arg(long, default_value_t = 3000)]
        admin_timeout_ms: u64,
    },
    /// Print the RocketMQCluster CRD as YAML.
    Crd,
    /// Print every object the operator would create for a RocketMQCluster manifest.
    Render {
        /// RocketMQCluster manifest ("-" for stdin).
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
    },
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Crd => print!("{}", crd_yaml()),
        Cmd::Render { file } => {
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&file)?
            };
            let rmq = load_cluster(&text)?;
            print!("{}", resources::render(&rmq));
        }
        Cmd::Run {
            namespace,
            metrics_addr,
            lease_name,
            lease_namespace,
            lease_duration,
            no_leader_election,
            admin_timeout_ms,
        } => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info,kube=warn".into()),
                )
                .init();
            let metrics = Arc::new(Metrics::default());
            let listener = tokio::net::TcpListener::bind(&metrics_addr).await?;
            info!(%metrics_addr, "serving /metrics and /healthz");
            tokio::spawn(http::serve(listener, metrics.clone()));

            let client = Client::try_default().await?;
            let admin = Arc::new(RemotingAdmin::new(Duration::from_millis(admin_timeout_ms)));
            let ctx = Arc::new(Context::new(client.clone(), admin, metrics));
            if no_leader_election {
                controller::run(client, namespace, ctx).await;
                return Ok(());
            }
            let identity = std::env::var("POD_NAME")
                .or_else(|_| std::env::var("HOSTNAME"))
                .unwrap_or_else(|_| format!("rocketmq-operator-{}", std::process::id()));
            let lock = LeaseLock {
                api: Api::<Lease>::namespaced(client.clone(), &lease_namespace),
                name: lease_name,
                identity,
                duration: Duration::from_secs(lease_duration),
            };
            lock.acquire().await;
            tokio::select! {
                _ = controller::run(client, namespace, ctx) => {}
                _ = lock.keep() => {
                    tracing::error!("lost leadership; exiting so another replica takes over");
                    std::process::exit(1);
                }
            }
        }
    }
    Ok(())
}
