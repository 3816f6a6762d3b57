//! RocketMQ broker: request processors over the message store, client and group
//! bookkeeping, and registration with the name servers.
//!
//! Data path: socket → `remoting` frame → a processor in [`processor`] → [`store`] → disk.
//! Processors never touch files; the store never sees a socket.

pub mod client;
pub mod config;
pub mod consumer_offset;
pub mod context;
pub mod filter;
pub mod long_polling;
pub mod namesrv_api;
pub mod persist;
pub mod processor;
pub mod subscription_group;
pub mod topic_config;

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::RwLock;
use remoting::server::{RemotingServer, ServerConfig};
use store::MessageStore;
use thiserror::Error;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use config::{BrokerConfig, BrokerStartupConfig};
use context::{BrokerContext, BrokerStats, now_millis};
use namesrv_api::{BrokerIdentity, NamesrvApi};

/// A broker that could not start.
#[derive(Debug, Error)]
pub enum BrokerError {
    /// The store could not be opened.
    #[error("cannot open the store: {0}")]
    Store(#[from] store::StoreError),
    /// The port could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// Address.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// `brokerIP1:listenPort` is not an address.
    #[error("brokerIP1 {0:?} is not an IP address")]
    BadBrokerIp(String),
}

/// A running broker.
pub struct Broker {
    ctx: Arc<BrokerContext>,
    server: RemotingServer,
    namesrv: Arc<NamesrvApi>,
    namesrvs: Vec<String>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Broker {
    /// Opens the store (recovering it if needed), loads metadata, starts serving on
    /// `listenPort` and registers with the name servers.
    pub async fn start(config: BrokerStartupConfig) -> Result<Broker, BrokerError> {
        let bc = config.broker.clone();
        let is_slave = config.is_slave();
        let store_config = config.store.clone();
        let config_dir = store_config.config_dir();
        let store = tokio::task::spawn_blocking(move || MessageStore::open(store_config))
            .await
            .expect("store open task")?;

        let bind = format!("{}:{}", bc.listen_host, bc.listen_port);
        let handler_slot: Arc<OnceLock<Arc<BrokerContext>>> = Arc::default();
        let router = processor::router_for(handler_slot.clone());
        let server_config = ServerConfig {
            max_frame_len: bc.frame_max_length,
            idle_timeout: Duration::from_secs(bc.server_channel_max_idle_time_seconds.max(1)),
        };
        let server = RemotingServer::start(&bind, server_config, Arc::new(router))
            .await
            .map_err(|source| BrokerError::Listen {
                addr: bind.clone(),
                source,
            })?;
        // With listenPort 0 (tests) the real port is only known now.
        let port = server.local_addr().port();
        let mut bc = bc;
        bc.listen_port = port;
        let store_host: SocketAddr = (bc.broker_ip1.as_str(), port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| BrokerError::BadBrokerIp(bc.broker_ip1.clone()))?;
        let identity = BrokerIdentity {
            cluster_name: bc.broker_cluster_name.clone(),
            broker_name: bc.broker_name.clone(),
            broker_id: bc.broker_id,
            broker_addr: bc.broker_addr(),
            ha_server_addr: bc.ha_server_addr(),
        };
        let ctx = Arc::new(BrokerContext {
            topics: topic_config::TopicConfigManager::load(config_dir.clone(), &bc),
            groups: subscription_group::SubscriptionGroupManager::load(config_dir.clone()),
            offsets: consumer_offset::ConsumerOffsetManager::load(config_dir),
            consumers: Default::default(),
            producers: Default::default(),
            locks: client::RebalanceLockManager::new(Duration::from_millis(
                bc.rebalance_lock_max_live_time,
            )),
            holds: Arc::default(),
            store: store.clone(),
            store_host,
            identity,
            boot_timestamp: now_millis(),
            send_permits: Semaphore::new(bc.send_thread_pool_queue_capacity.max(1)),
            register_now: Notify::new(),
            stats: BrokerStats::default(),
            is_slave,
            config: RwLock::new(bc.clone()),
        });
        let holds = ctx.holds.clone();
        store.set_arrival_listener(Some(Arc::new(move |ev| holds.on_arrival(ev))));
        let _ = handler_slot.set(ctx.clone());

        let stop = CancellationToken::new();
        let namesrv = Arc::new(NamesrvApi::default());
        let namesrvs = bc.namesrv_list();
        let tasks = vec![
            tokio::spawn(registration_loop(
                ctx.clone(),
                namesrv.clone(),
                namesrvs.clone(),
                stop.clone(),
            )),
            tokio::spawn(housekeeping_loop(ctx.clone(), stop.clone())),
        ];
        info!(
            addr = %server.local_addr(),
            broker = %bc.broker_name,
            id = bc.broker_id,
            cluster = %bc.broker_cluster_name,
            namesrv = %bc.namesrv_addr,
            "broker started"
        );
        Ok(Broker {
            ctx,
            server,
            namesrv,
            namesrvs,
            stop,
            tasks,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The shared state (for embedding and tests).
    pub fn context(&self) -> &Arc<BrokerContext> {
        &self.ctx
    }

    /// Graceful stop: stop accepting, unregister from the name servers, persist metadata,
    /// flush the store, write the checkpoint and remove the abort file.
    pub async fn shutdown(self) {
        self.stop.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
        self.server.shutdown().await;
        let timeout = Duration::from_millis(self.ctx.config.read().register_broker_timeout_mills);
        self.namesrv
            .unregister_all(&self.namesrvs, &self.ctx.identity, timeout)
            .await;
        self.ctx.offsets.flush();
        self.ctx.topics.flush();
        self.ctx.groups.flush();
        self.ctx.store.set_arrival_listener(None);
        let store = self.ctx.store.clone();
        let _ = tokio::task::spawn_blocking(move || store.shutdown()).await;
        info!("broker stopped");
    }
}

async fn registration_loop(
    ctx: Arc<BrokerContext>,
    api: Arc<NamesrvApi>,
    namesrvs: Vec<String>,
    stop: CancellationToken,
) {
    if namesrvs.is_empty() {
        warn!(
            "no name server address (namesrvAddr / -n / NAMESRV_ADDR); clients cannot find this broker"
        );
    }
    loop {
        let (period, timeout, compressed) = {
            let c = ctx.config.read();
            (
                Duration::from_millis(c.register_name_server_period.max(1000)),
                Duration::from_millis(c.register_broker_timeout_mills),
                c.compressed_register,
            )
        };
        if !namesrvs.is_empty() {
            let mut topics = ctx.topics.snapshot();
            // A broker without write permission advertises its topics read-only.
            let bperm = ctx.broker_permission();
            if bperm & remoting::protocol::body::perm::WRITE == 0 {
                for t in topics.topic_config_table.values_mut() {
                    t.perm &= bperm;
                }
            }
            api.register_all(
                &namesrvs,
                &ctx.identity,
                &topics,
                compressed,
                false,
                timeout,
            )
            .await;
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(period) => {}
            _ = ctx.register_now.notified() => {}
        }
    }
}

async fn housekeeping_loop(ctx: Arc<BrokerContext>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut seconds = 0u64;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        seconds += 1;
        let (flush_every, expiry) = {
            let c = ctx.config.read();
            (
                (c.flush_consumer_offset_interval / 1000).max(1),
                Duration::from_millis(c.channel_expired_timeout),
            )
        };
        if seconds.is_multiple_of(flush_every) {
            ctx.offsets.flush();
        }
        if seconds.is_multiple_of(10) {
            processor::client_manage::expire_channels(&ctx, expiry).await;
        }
    }
}
