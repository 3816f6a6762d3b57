//! One client instance (Apache `MQClientInstance`): the connection pool, the route and
//! broker-address tables, periodic route refresh and heartbeats, and the handler of
//! requests brokers send to clients.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use async_trait::async_trait;
use remoting::client::{ClientConfig as RemotingConfig, RemotingClient};
use remoting::message::MessageExt;
use remoting::protocol::body::{
    ConsumerData, HeartbeatData, MessageQueue, ProducerData, ResetOffsetBody, TopicRouteData,
};
use remoting::protocol::header::{
    ConsumeMessageDirectlyRequestHeader, ConsumerGroupRequestHeader, ResetOffsetRequestHeader,
};
use remoting::{Connection, RemotingCommand, RequestCode, RequestHandler};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::api::ClientApi;
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::route::{TopicPublishInfo, subscribe_queues};

/// What the instance needs from a consumer registered with it.
#[async_trait]
pub trait ConsumerHandle: Send + Sync {
    /// The consumer group.
    fn group(&self) -> String;
    /// The consumer's part of a heartbeat.
    fn consumer_data(&self) -> ConsumerData;
    /// Topics whose routes the consumer needs.
    fn subscribed_topics(&self) -> Vec<String>;
    /// Asks for a rebalance as soon as possible (NOTIFY_CONSUMER_IDS_CHANGED).
    fn rebalance_now(&self);
    /// Moves the group's offsets of `topic` to the given values (RESET_CONSUMER_CLIENT_OFFSET).
    async fn reset_offset(&self, topic: &str, offsets: BTreeMap<MessageQueue, i64>);
    /// A JSON summary for GET_CONSUMER_RUNNING_INFO.
    fn running_info(&self) -> serde_json::Value;
    /// Runs the listener on one message (CONSUME_MESSAGE_DIRECTLY) and returns Apache's
    /// `ConsumeMessageDirectlyResult` JSON.
    async fn consume_directly(&self, message: MessageExt, broker_name: &str) -> serde_json::Value;
}

/// Extension point for transactional producers: answers CHECK_TRANSACTION_STATE.
#[async_trait]
pub trait TransactionCheckHandler: Send + Sync {
    /// Called with the broker that asked, the request's ext fields and the half message.
    async fn check_transaction_state(
        &self,
        broker_addr: &str,
        request: &RemotingCommand,
        message: MessageExt,
    );
}

struct TopicEntry {
    route: TopicRouteData,
    publish: Arc<TopicPublishInfo>,
    subscribe: Arc<Vec<MessageQueue>>,
}

/// A client instance shared by the producers and consumers created on it.
pub struct ClientInstance {
    config: ClientConfig,
    client_id: String,
    api: ClientApi,
    topics: RwLock<HashMap<String, TopicEntry>>,
    brokers: RwLock<HashMap<String, BTreeMap<i64, String>>>,
    producer_groups: Mutex<BTreeSet<String>>,
    consumers: Mutex<HashMap<String, Weak<dyn ConsumerHandle>>>,
    tx_handlers: Mutex<HashMap<String, Arc<dyn TransactionCheckHandler>>>,
    stop: CancellationToken,
    started: AtomicBool,
    heartbeat_now: Arc<tokio::sync::Notify>,
}

struct InstanceHandler {
    instance: std::sync::OnceLock<Weak<ClientInstance>>,
}

impl ClientInstance {
    /// Creates an instance (no connection is made until it is used).
    pub fn new(config: ClientConfig) -> Arc<ClientInstance> {
        let handler = Arc::new(InstanceHandler {
            instance: std::sync::OnceLock::new(),
        });
        let remoting = Arc::new(RemotingClient::with_handler(
            RemotingConfig::default(),
            handler.clone(),
        ));
        let instance = Arc::new(ClientInstance {
            client_id: config.client_id(),
            api: ClientApi::new(remoting, config.namesrv_list(), config.request_timeout),
            config,
            topics: RwLock::default(),
            brokers: RwLock::default(),
            producer_groups: Mutex::default(),
            consumers: Mutex::default(),
            tx_handlers: Mutex::default(),
            stop: CancellationToken::new(),
            started: AtomicBool::new(false),
            heartbeat_now: Arc::default(),
        });
        let _ = handler.instance.set(Arc::downgrade(&instance));
        instance
    }

    /// The client id (`ip@instance`).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The settings.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The typed request layer.
    pub fn api(&self) -> &ClientApi {
        &self.api
    }

    /// A token cancelled at shutdown.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Starts the periodic route refresh and heartbeat tasks (once).
    pub fn start(self: &Arc<Self>) {
        if self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak = Arc::downgrade(self);
        let stop = self.stop.clone();
        let every = self.config.poll_name_server_interval;
        tokio::spawn(periodic(
            stop.clone(),
            every,
            None,
            weak.clone(),
            |i| async move { i.refresh_all_routes().await },
        ));
        let every = self.config.heartbeat_broker_interval;
        let wake = Some(self.heartbeat_now.clone());
        tokio::spawn(periodic(stop, every, wake, weak, |i| async move {
            i.send_heartbeat_to_all().await
        }));
    }

    /// Registers a producer group (sent in heartbeats).
    pub fn register_producer(&self, group: &str) {
        self.producer_groups
            .lock()
            .unwrap()
            .insert(group.to_owned());
    }

    /// Registers a consumer; the instance keeps only a weak reference.
    pub fn register_consumer(&self, consumer: Weak<dyn ConsumerHandle>) -> Result<()> {
        let group = consumer
            .upgrade()
            .map(|c| c.group())
            .ok_or(ClientError::Shutdown)?;
        let mut map = self.consumers.lock().unwrap();
        if map.get(&group).is_some_and(|w| w.strong_count() > 0) {
            return Err(ClientError::Invalid(format!(
                "consumer group {group} is already registered on this instance"
            )));
        }
        map.insert(group, consumer);
        Ok(())
    }

    /// Registers the transaction-check handler of a producer group.
    pub fn register_transaction_handler(
        &self,
        group: &str,
        handler: Arc<dyn TransactionCheckHandler>,
    ) {
        self.tx_handlers
            .lock()
            .unwrap()
            .insert(group.to_owned(), handler);
    }

    fn consumer(&self, group: &str) -> Option<Arc<dyn ConsumerHandle>> {
        self.consumers.lock().unwrap().get(group)?.upgrade()
    }

    fn live_consumers(&self) -> Vec<Arc<dyn ConsumerHandle>> {
        self.consumers
            .lock()
            .unwrap()
            .values()
            .filter_map(Weak::upgrade)
            .collect()
    }

    /// Fetches the route of `topic` and stores it. `Ok(false)` when the name server has no
    /// route for it (TOPIC_NOT_EXIST).
    pub async fn update_route(&self, topic: &str) -> Result<bool> {
        match self.api.get_topic_route(topic).await {
            Ok(route) => {
                self.store_route(topic, route);
                Ok(true)
            }
            Err(ClientError::Broker { code: 17, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn store_route(&self, topic: &str, route: TopicRouteData) {
        {
            let mut brokers = self.brokers.write().unwrap();
            let mut new_master = false;
            for bd in &route.broker_datas {
                let old = brokers.insert(bd.broker_name.clone(), bd.broker_addrs.clone());
                new_master |= old.as_ref().and_then(|a| a.get(&0)) != bd.broker_addrs.get(&0);
            }
            if new_master {
                // Brokers learn about this client's groups without waiting 30 s.
                self.heartbeat_now.notify_one();
            }
        }
        let changed = self
            .topics
            .read()
            .unwrap()
            .get(topic)
            .is_none_or(|e| e.route != route);
        if changed {
            debug!(topic, "route updated");
            let entry = TopicEntry {
                publish: Arc::new(TopicPublishInfo::from_route(topic, &route)),
                subscribe: Arc::new(subscribe_queues(topic, &route)),
                route,
            };
            self.topics.write().unwrap().insert(topic.to_owned(), entry);
        }
    }

    /// Refreshes the route of every topic known to this instance and every subscription.
    pub async fn refresh_all_routes(&self) {
        let mut topics: BTreeSet<String> = self.topics.read().unwrap().keys().cloned().collect();
        for c in self.live_consumers() {
            topics.extend(c.subscribed_topics());
        }
        for topic in topics {
            if let Err(e) = self.update_route(&topic).await {
                debug!(%topic, error = %e, "route refresh failed");
            }
        }
    }

    /// The stored route of `topic`.
    pub fn route(&self, topic: &str) -> Option<TopicRouteData> {
        self.topics
            .read()
            .unwrap()
            .get(topic)
            .map(|e| e.route.clone())
    }

    /// The stored publish info of `topic`.
    pub fn publish_info(&self, topic: &str) -> Option<Arc<TopicPublishInfo>> {
        self.topics
            .read()
            .unwrap()
            .get(topic)
            .map(|e| e.publish.clone())
    }

    /// Publish info of `topic`, fetching its route if unknown; a topic the name server
    /// does not know is sent through the route of `default_topic` (auto-creation).
    pub async fn find_publish_info(
        &self,
        topic: &str,
        default_topic: &str,
        default_queue_nums: i32,
    ) -> Result<Arc<TopicPublishInfo>> {
        if let Some(p) = self.publish_info(topic).filter(|p| p.ok()) {
            return Ok(p);
        }
        if self.update_route(topic).await?
            && let Some(p) = self.publish_info(topic).filter(|p| p.ok())
        {
            return Ok(p);
        }
        let default_route = match self.api.get_topic_route(default_topic).await {
            Ok(r) => r,
            Err(ClientError::Broker { code: 17, .. }) => {
                return Err(ClientError::NoRoute(topic.to_owned()));
            }
            Err(e) => return Err(e),
        };
        {
            let mut brokers = self.brokers.write().unwrap();
            for bd in &default_route.broker_datas {
                brokers.insert(bd.broker_name.clone(), bd.broker_addrs.clone());
            }
        }
        let info = TopicPublishInfo::from_default_route(topic, &default_route, default_queue_nums);
        if !info.ok() {
            return Err(ClientError::NoRoute(topic.to_owned()));
        }
        Ok(Arc::new(info))
    }

    /// The readable queues of `topic`, fetching its route if unknown.
    pub async fn find_subscribe_queues(&self, topic: &str) -> Result<Arc<Vec<MessageQueue>>> {
        if let Some(q) = self.subscribe_queues(topic) {
            return Ok(q);
        }
        if !self.update_route(topic).await? {
            return Err(ClientError::NoRoute(topic.to_owned()));
        }
        self.subscribe_queues(topic)
            .ok_or_else(|| ClientError::NoRoute(topic.to_owned()))
    }

    /// The stored readable queues of `topic`.
    pub fn subscribe_queues(&self, topic: &str) -> Option<Arc<Vec<MessageQueue>>> {
        self.topics
            .read()
            .unwrap()
            .get(topic)
            .map(|e| e.subscribe.clone())
    }

    /// The master address of `broker_name`, if known.
    pub fn master_addr(&self, broker_name: &str) -> Option<String> {
        self.brokers
            .read()
            .unwrap()
            .get(broker_name)?
            .get(&0)
            .cloned()
    }

    /// The master address of `broker_name`, refreshing the route of `topic` if unknown.
    pub async fn find_master_addr(&self, broker_name: &str, topic: &str) -> Result<String> {
        if let Some(a) = self.master_addr(broker_name) {
            return Ok(a);
        }
        self.update_route(topic).await?;
        self.master_addr(broker_name)
            .ok_or_else(|| ClientError::NoBrokerAddr(broker_name.to_owned()))
    }

    /// Any broker address serving `topic` (for group-wide questions).
    pub fn any_broker_addr_of(&self, topic: &str) -> Option<String> {
        let topics = self.topics.read().unwrap();
        let route = &topics.get(topic)?.route;
        route
            .broker_datas
            .iter()
            .find_map(|b| b.master_addr().map(str::to_owned))
    }

    fn heartbeat_data(&self) -> HeartbeatData {
        let mut producer_data_set: Vec<ProducerData> = self
            .producer_groups
            .lock()
            .unwrap()
            .iter()
            .map(|g| ProducerData {
                group_name: g.clone(),
            })
            .collect();
        producer_data_set.push(ProducerData {
            group_name: "CLIENT_INNER_PRODUCER".into(),
        });
        HeartbeatData {
            client_id: self.client_id.clone(),
            consumer_data_set: self
                .live_consumers()
                .iter()
                .map(|c| c.consumer_data())
                .collect(),
            producer_data_set,
        }
    }

    /// Sends a heartbeat to every known master broker.
    pub async fn send_heartbeat_to_all(&self) {
        let data = self.heartbeat_data();
        let addrs: BTreeSet<String> = self
            .brokers
            .read()
            .unwrap()
            .values()
            .filter_map(|a| a.get(&0).cloned())
            .collect();
        for addr in addrs {
            if let Err(e) = self.api.heartbeat(&addr, &data).await {
                warn!(%addr, error = %e, "heartbeat failed");
            }
        }
    }

    /// Tells every known broker that a group of this client leaves.
    pub async fn unregister(&self, producer_group: Option<&str>, consumer_group: Option<&str>) {
        if let Some(g) = producer_group {
            self.producer_groups.lock().unwrap().remove(g);
        }
        if let Some(g) = consumer_group {
            self.consumers.lock().unwrap().remove(g);
        }
        let addrs: BTreeSet<String> = self
            .brokers
            .read()
            .unwrap()
            .values()
            .filter_map(|a| a.get(&0).cloned())
            .collect();
        for addr in addrs {
            if let Err(e) = self
                .api
                .unregister_client(&addr, &self.client_id, producer_group, consumer_group)
                .await
            {
                debug!(%addr, error = %e, "unregister failed");
            }
        }
    }

    /// Stops the periodic tasks.
    pub fn shutdown(&self) {
        self.stop.cancel();
    }

    async fn handle_request(
        &self,
        conn: &Connection,
        req: RemotingCommand,
    ) -> Option<RemotingCommand> {
        match req.request_code() {
            Some(RequestCode::NotifyConsumerIdsChanged) => {
                if let Ok(h) = req.decode_header::<ConsumerGroupRequestHeader>() {
                    info!(group = %h.consumer_group, "consumer ids changed; rebalancing");
                    if let Some(c) = self.consumer(&h.consumer_group) {
                        c.rebalance_now();
                    }
                }
                None
            }
            Some(RequestCode::ResetConsumerClientOffset) => {
                let h = match req.decode_header::<ResetOffsetRequestHeader>() {
                    Ok(h) => h,
                    Err(e) => return Some(RemotingCommand::header_error(&req, &e)),
                };
                let body = req.body.as_deref().unwrap_or(&[]);
                match ResetOffsetBody::decode(body) {
                    Ok(b) => {
                        if let Some(c) = self.consumer(&h.group) {
                            c.reset_offset(&h.topic, b.offset_table).await;
                        }
                    }
                    Err(e) => warn!(error = %e, "bad reset-offset body"),
                }
                Some(RemotingCommand::success(&req))
            }
            Some(RequestCode::GetConsumerRunningInfo) => {
                let group = req.ext("consumerGroup").unwrap_or_default();
                match self.consumer(group) {
                    Some(c) => Some(
                        RemotingCommand::success(&req)
                            .with_body(serde_json::to_vec(&c.running_info()).unwrap_or_default()),
                    ),
                    None => Some(RemotingCommand::error(
                        &req,
                        remoting::ResponseCode::SystemError,
                        format!("The Consumer Group <{group}> not exist in this consumer"),
                    )),
                }
            }
            Some(RequestCode::ConsumeMessageDirectly) => {
                let h = match req.decode_header::<ConsumeMessageDirectlyRequestHeader>() {
                    Ok(h) => h,
                    Err(e) => return Some(RemotingCommand::header_error(&req, &e)),
                };
                let msg = req
                    .body
                    .as_ref()
                    .and_then(|b| remoting::message::decode_records(b).ok())
                    .and_then(|v| v.into_iter().next());
                match (self.consumer(&h.consumer_group), msg) {
                    (Some(c), Some(mut m)) => {
                        crate::api::decompress_bodies(std::slice::from_mut(&mut m));
                        let broker = h.broker_name.unwrap_or_default();
                        let result = c.consume_directly(m, &broker).await;
                        Some(
                            RemotingCommand::success(&req)
                                .with_body(serde_json::to_vec(&result).unwrap_or_default()),
                        )
                    }
                    (None, _) => Some(RemotingCommand::error(
                        &req,
                        remoting::ResponseCode::SystemError,
                        format!(
                            "The Consumer Group <{}> not exist in this consumer",
                            h.consumer_group
                        ),
                    )),
                    (_, None) => Some(RemotingCommand::error(
                        &req,
                        remoting::ResponseCode::SystemError,
                        "no message in the request body",
                    )),
                }
            }
            Some(RequestCode::CheckTransactionState) => {
                let msg = req
                    .body
                    .as_ref()
                    .and_then(|b| remoting::message::decode_records(b).ok())
                    .and_then(|v| v.into_iter().next());
                let group = msg
                    .as_ref()
                    .and_then(|m| m.properties.get(remoting::message::properties::PGROUP))
                    .map(str::to_owned);
                let handler = group.and_then(|g| self.tx_handlers.lock().unwrap().get(&g).cloned());
                match (handler, msg) {
                    (Some(h), Some(m)) => {
                        let addr = conn.peer_addr().to_string();
                        h.check_transaction_state(&addr, &req, m).await;
                    }
                    _ => debug!("transaction check with no handler"),
                }
                None
            }
            _ => Some(RemotingCommand::not_supported(&req)),
        }
    }
}

async fn periodic<F, Fut>(
    stop: CancellationToken,
    every: std::time::Duration,
    wake: Option<Arc<tokio::sync::Notify>>,
    weak: Weak<ClientInstance>,
    job: F,
) where
    F: Fn(Arc<ClientInstance>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        let woken = async {
            match &wake {
                Some(n) => n.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
            _ = woken => {}
        }
        let Some(instance) = weak.upgrade() else {
            return;
        };
        job(instance).await;
    }
}

#[async_trait]
impl RequestHandler for InstanceHandler {
    async fn handle(&self, conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        let instance = self.instance.get().and_then(Weak::upgrade)?;
        instance.handle_request(conn, request).await
    }
}
