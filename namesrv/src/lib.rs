//! RocketMQ name server: broker registration, topic routes, KV config.

pub mod config;
pub mod kvconfig;
pub mod processor;
pub mod route;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use remoting::server::{RemotingServer, Router, ServerConfig};
use tokio::task::JoinHandle;
use tracing::info;

pub use config::NamesrvConfig;
use kvconfig::KvConfigManager;
use processor::NamesrvProcessor;
use route::RouteInfoManager;

/// A running name server.
pub struct Namesrv {
    server: RemotingServer,
    scan_task: JoinHandle<()>,
    /// The route tables (exposed for embedding and tests).
    pub routes: Arc<RouteInfoManager>,
}

impl Namesrv {
    /// Loads KV config, binds `listenHost:listenPort` and starts serving and scanning for
    /// silent brokers.
    pub async fn start(config: NamesrvConfig) -> std::io::Result<Namesrv> {
        let kv = Arc::new(KvConfigManager::load(&config.kv_config_path));
        let routes = Arc::new(RouteInfoManager::new());
        let scan_every = Duration::from_millis(config.scan_not_active_broker_interval.max(1));
        let expiry = Duration::from_millis(config.broker_channel_expired_time);
        let server_config = ServerConfig {
            max_frame_len: config.frame_max_length,
            idle_timeout: Duration::from_secs(config.server_channel_max_idle_time_seconds.max(1)),
        };
        let addr = format!("{}:{}", config.listen_host, config.listen_port);
        let processor = Arc::new(NamesrvProcessor {
            config: Arc::new(RwLock::new(config)),
            routes: routes.clone(),
            kv,
            route_cache: Default::default(),
        });
        let router = Router::new().route(processor::CODES, processor);
        let server = RemotingServer::start(&addr, server_config, Arc::new(router)).await?;
        let scan_routes = routes.clone();
        let scan_task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(scan_every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                scan_routes.scan_not_active_brokers(expiry);
            }
        });
        info!(addr = %server.local_addr(), "name server started");
        Ok(Namesrv {
            server,
            scan_task,
            routes,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Stops serving and scanning.
    pub async fn shutdown(self) {
        self.scan_task.abort();
        self.server.shutdown().await;
        info!("name server stopped");
    }
}
