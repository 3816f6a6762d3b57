//! Admin calls (Apache `DefaultMQAdminExt`): cluster and topic inspection, topic and group
//! management, offsets, connections, KV and server configuration. `mqadmin` is a thin CLI
//! over this module.

pub mod table;
pub mod time;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use remoting::config::parse_properties;
use remoting::message::MessageExt;
use remoting::protocol::body::{
    ClusterInfo, ConsumeStats, ConsumerConnection, KvTable, MessageQueue, ProducerConnection,
    ResetOffsetBody, SubscriptionGroupConfig, SubscriptionGroupWrapper, TopicConfig,
    TopicConfigSerializeWrapper, TopicList, TopicRouteData, TopicStatsTable, from_json, to_json,
};
use remoting::protocol::header::*;
use remoting::{RemotingCommand, RequestCode};

use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;

/// An admin client.
pub struct Admin {
    instance: Arc<ClientInstance>,
}

fn body(resp: &RemotingCommand) -> &[u8] {
    resp.body.as_deref().unwrap_or(&[])
}

/// A broker's master address with its name and cluster.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BrokerAddr {
    /// Cluster name.
    pub cluster: String,
    /// Broker group name.
    pub broker_name: String,
    /// Broker id (0 = master).
    pub broker_id: i64,
    /// `ip:port`.
    pub addr: String,
}

impl Admin {
    /// An admin client on a new instance.
    pub fn new(client: ClientConfig) -> Admin {
        Admin {
            instance: ClientInstance::new(client),
        }
    }

    /// The instance.
    pub fn instance(&self) -> &Arc<ClientInstance> {
        &self.instance
    }

    async fn namesrv(&self, cmd: RemotingCommand) -> Result<RemotingCommand> {
        self.instance.api().invoke_namesrv(cmd).await
    }

    async fn broker(&self, addr: &str, cmd: RemotingCommand) -> Result<RemotingCommand> {
        self.instance.api().invoke(addr, cmd).await
    }

    /// Sends `cmd` to every name server; one result per server.
    async fn all_namesrv(&self, cmd: RemotingCommand) -> Vec<(String, Result<RemotingCommand>)> {
        let api = self.instance.api();
        let addrs = api.namesrv_addrs().to_vec();
        let mut out = Vec::new();
        for addr in addrs {
            let r = api.invoke(&addr, cmd.clone()).await;
            out.push((addr, r));
        }
        out
    }

    fn first_error(results: Vec<(String, Result<RemotingCommand>)>) -> Result<Vec<String>> {
        if results.is_empty() {
            return Err(ClientError::NoNameServer);
        }
        let mut ok = Vec::new();
        for (addr, r) in results {
            r?;
            ok.push(addr);
        }
        Ok(ok)
    }

    /// GET_BROKER_CLUSTER_INFO.
    pub async fn cluster_info(&self) -> Result<ClusterInfo> {
        let resp = self
            .namesrv(RemotingCommand::new_request(
                RequestCode::GetBrokerClusterInfo,
            ))
            .await?;
        Ok(ClusterInfo::from_json(body(&resp))?)
    }

    /// Every broker address of the cluster(s), sorted; masters only when `masters_only`.
    pub async fn broker_addrs(
        &self,
        cluster: Option<&str>,
        masters_only: bool,
    ) -> Result<Vec<BrokerAddr>> {
        let info = self.cluster_info().await?;
        let mut out = Vec::new();
        for (cname, brokers) in &info.cluster_addr_table {
            if cluster.is_some_and(|c| c != cname) {
                continue;
            }
            for b in brokers {
                if let Some(bd) = info.broker_addr_table.get(b) {
                    for (id, addr) in &bd.broker_addrs {
                        if !masters_only || *id == 0 {
                            out.push(BrokerAddr {
                                cluster: cname.clone(),
                                broker_name: b.clone(),
                                broker_id: *id,
                                addr: addr.clone(),
                            });
                        }
                    }
                }
            }
        }
        if let Some(c) = cluster
            && out.is_empty()
        {
            return Err(ClientError::Invalid(format!("cluster {c} has no broker")));
        }
        out.sort();
        Ok(out)
    }

    /// GET_ALL_TOPIC_LIST_FROM_NAMESERVER.
    pub async fn topic_list(&self) -> Result<TopicList> {
        let resp = self
            .namesrv(RemotingCommand::new_request(
                RequestCode::GetAllTopicListFromNameserver,
            ))
            .await?;
        Ok(from_json(body(&resp))?)
    }

    /// GET_TOPICS_BY_CLUSTER.
    pub async fn topics_by_cluster(&self, cluster: &str) -> Result<TopicList> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::GetTopicsByCluster,
            &GetTopicsByClusterRequestHeader {
                cluster: cluster.into(),
            },
        );
        Ok(from_json(body(&self.namesrv(cmd).await?))?)
    }

    /// GET_ROUTEINFO_BY_TOPIC.
    pub async fn topic_route(&self, topic: &str) -> Result<TopicRouteData> {
        self.instance.api().get_topic_route(topic).await
    }

    /// GET_TOPIC_STATS_INFO on one broker.
    pub async fn topic_stats(&self, addr: &str, topic: &str) -> Result<TopicStatsTable> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::GetTopicStatsInfo,
            &TopicRequestHeader {
                topic: topic.into(),
            },
        );
        Ok(TopicStatsTable::decode(body(
            &self.broker(addr, cmd).await?,
        ))?)
    }

    /// UPDATE_AND_CREATE_TOPIC on one broker.
    pub async fn create_topic(&self, addr: &str, tc: &TopicConfig) -> Result<()> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::UpdateAndCreateTopic,
            &CreateTopicRequestHeader {
                topic: tc.topic_name.clone(),
                default_topic: "TBW102".into(),
                read_queue_nums: tc.read_queue_nums,
                write_queue_nums: tc.write_queue_nums,
                perm: tc.perm,
                topic_filter_type: tc.topic_filter_type.name().into(),
                topic_sys_flag: Some(tc.topic_sys_flag),
                order: tc.order,
            },
        );
        self.broker(addr, cmd).await.map(drop)
    }

    /// Creates `tc` on every master of `cluster` and waits until the name server routes it.
    pub async fn create_topic_in_cluster(
        &self,
        cluster: &str,
        tc: &TopicConfig,
    ) -> Result<Vec<String>> {
        let masters = self.broker_addrs(Some(cluster), true).await?;
        for b in &masters {
            self.create_topic(&b.addr, tc).await?;
        }
        Ok(masters.into_iter().map(|b| b.addr).collect())
    }

    /// DELETE_TOPIC_IN_BROKER.
    pub async fn delete_topic_in_broker(&self, addr: &str, topic: &str) -> Result<()> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::DeleteTopicInBroker,
            &TopicRequestHeader {
                topic: topic.into(),
            },
        );
        self.broker(addr, cmd).await.map(drop)
    }

    /// DELETE_TOPIC_IN_NAMESRV on every name server.
    pub async fn delete_topic_in_namesrv(
        &self,
        topic: &str,
        cluster: Option<&str>,
    ) -> Result<Vec<String>> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::DeleteTopicInNamesrv,
            &DeleteTopicFromNamesrvRequestHeader {
                topic: topic.into(),
                cluster_name: cluster.map(str::to_owned),
            },
        );
        Self::first_error(self.all_namesrv(cmd).await)
    }

    /// GET_ALL_TOPIC_CONFIG of one broker.
    pub async fn all_topic_config(&self, addr: &str) -> Result<TopicConfigSerializeWrapper> {
        let resp = self
            .broker(
                addr,
                RemotingCommand::new_request(RequestCode::GetAllTopicConfig),
            )
            .await?;
        Ok(from_json(body(&resp))?)
    }

    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP.
    pub async fn create_subscription_group(
        &self,
        addr: &str,
        cfg: &SubscriptionGroupConfig,
    ) -> Result<()> {
        let cmd = RemotingCommand::new_request(RequestCode::UpdateAndCreateSubscriptiongroup)
            .with_body(to_json(cfg));
        self.broker(addr, cmd).await.map(drop)
    }

    /// DELETE_SUBSCRIPTIONGROUP.
    pub async fn delete_subscription_group(
        &self,
        addr: &str,
        group: &str,
        remove_offset: bool,
    ) -> Result<()> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::DeleteSubscriptiongroup,
            &DeleteSubscriptionGroupRequestHeader {
                group_name: group.into(),
                remove_offset: Some(remove_offset),
            },
        );
        self.broker(addr, cmd).await.map(drop)
    }

    /// GET_ALL_SUBSCRIPTIONGROUP_CONFIG.
    pub async fn all_subscription_groups(&self, addr: &str) -> Result<SubscriptionGroupWrapper> {
        let resp = self
            .broker(
                addr,
                RemotingCommand::new_request(RequestCode::GetAllSubscriptiongroupConfig),
            )
            .await?;
        Ok(from_json(body(&resp))?)
    }

    /// GET_BROKER_RUNTIME_INFO.
    pub async fn broker_runtime_info(&self, addr: &str) -> Result<BTreeMap<String, String>> {
        let resp = self
            .broker(
                addr,
                RemotingCommand::new_request(RequestCode::GetBrokerRuntimeInfo),
            )
            .await?;
        let t: KvTable = from_json(body(&resp))?;
        Ok(t.table)
    }

    /// GET_BROKER_CONFIG.
    pub async fn broker_config(&self, addr: &str) -> Result<BTreeMap<String, String>> {
        let resp = self
            .broker(
                addr,
                RemotingCommand::new_request(RequestCode::GetBrokerConfig),
            )
            .await?;
        parse_properties(&String::from_utf8_lossy(body(&resp)))
            .map_err(|e| ClientError::Invalid(e.to_string()))
    }

    /// UPDATE_BROKER_CONFIG.
    pub async fn update_broker_config(
        &self,
        addr: &str,
        props: &BTreeMap<String, String>,
    ) -> Result<()> {
        let text: String = props.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        let cmd = RemotingCommand::new_request(RequestCode::UpdateBrokerConfig)
            .with_body(text.into_bytes());
        self.broker(addr, cmd).await.map(drop)
    }

    /// GET_CONSUME_STATS of a group on one broker.
    pub async fn consume_stats(
        &self,
        addr: &str,
        group: &str,
        topic: Option<&str>,
    ) -> Result<ConsumeStats> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::GetConsumeStats,
            &GetConsumeStatsRequestHeader {
                consumer_group: group.into(),
                topic: topic.map(str::to_owned),
            },
        );
        Ok(ConsumeStats::decode(body(&self.broker(addr, cmd).await?))?)
    }

    /// GET_CONSUMER_CONNECTION_LIST.
    pub async fn consumer_connection(&self, addr: &str, group: &str) -> Result<ConsumerConnection> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::GetConsumerConnectionList,
            &ConsumerGroupRequestHeader {
                consumer_group: group.into(),
            },
        );
        Ok(from_json(body(&self.broker(addr, cmd).await?))?)
    }

    /// GET_PRODUCER_CONNECTION_LIST.
    pub async fn producer_connection(&self, addr: &str, group: &str) -> Result<ProducerConnection> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::GetProducerConnectionList,
            &ProducerGroupRequestHeader {
                producer_group: group.into(),
            },
        );
        Ok(from_json(body(&self.broker(addr, cmd).await?))?)
    }

    /// INVOKE_BROKER_TO_RESET_OFFSET: moves the group's offsets of `topic` to the first
    /// message stored at or after `timestamp`; returns the new offsets.
    pub async fn reset_offset_by_time(
        &self,
        addr: &str,
        topic: &str,
        group: &str,
        timestamp: i64,
        force: bool,
    ) -> Result<BTreeMap<MessageQueue, i64>> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::InvokeBrokerToResetOffset,
            &ResetOffsetRequestHeader {
                topic: topic.into(),
                group: group.into(),
                timestamp,
                is_force: force,
            },
        );
        let resp = self
            .instance
            .api()
            .invoke_raw(addr, cmd, Duration::from_secs(10))
            .await?;
        if resp.code != 0 {
            return Err(crate::api::broker_error(addr, &resp));
        }
        Ok(ResetOffsetBody::decode(body(&resp))?.offset_table)
    }

    /// VIEW_MESSAGE_BY_ID with an offset message id.
    pub async fn view_message(&self, offset_msg_id: &str) -> Result<MessageExt> {
        let (host, offset) = remoting::message::msg_id::parse_offset_msg_id(offset_msg_id)
            .map_err(|e| ClientError::Invalid(format!("{offset_msg_id}: {e}")))?;
        self.instance
            .api()
            .view_message(&host.to_string(), offset)
            .await
    }

    /// CONSUME_MESSAGE_DIRECTLY through the broker that stores `offset_msg_id`: the consumer
    /// `client_id` of `group` runs its listener on the message; returns its result JSON.
    pub async fn consume_message_directly(
        &self,
        group: &str,
        client_id: &str,
        offset_msg_id: &str,
    ) -> Result<serde_json::Value> {
        let (host, _) = remoting::message::msg_id::parse_offset_msg_id(offset_msg_id)
            .map_err(|e| ClientError::Invalid(format!("{offset_msg_id}: {e}")))?;
        let cmd = RemotingCommand::request_with_header(
            RequestCode::ConsumeMessageDirectly,
            &ConsumeMessageDirectlyRequestHeader {
                consumer_group: group.into(),
                client_id: Some(client_id.into()),
                msg_id: Some(offset_msg_id.into()),
                broker_name: None,
            },
        );
        let resp = self
            .instance
            .api()
            .invoke_raw(&host.to_string(), cmd, Duration::from_secs(15))
            .await?;
        if resp.code != 0 {
            return Err(crate::api::broker_error(&host.to_string(), &resp));
        }
        Ok(serde_json::from_slice(body(&resp))?)
    }

    /// QUERY_MESSAGE on every master serving `topic`.
    pub async fn query_message(
        &self,
        topic: &str,
        key: &str,
        max_num: i32,
        begin: i64,
        end: i64,
        unique_key: bool,
    ) -> Result<Vec<MessageExt>> {
        let route = self.topic_route(topic).await?;
        let mut out = Vec::new();
        for bd in &route.broker_datas {
            let Some(addr) = bd.master_addr() else {
                continue;
            };
            let header = QueryMessageRequestHeader {
                topic: topic.into(),
                key: key.into(),
                max_num,
                begin_timestamp: begin,
                end_timestamp: end,
            };
            out.extend(
                self.instance
                    .api()
                    .query_message(addr, header, unique_key, Duration::from_secs(15))
                    .await?,
            );
        }
        Ok(out)
    }

    /// PUT_KV_CONFIG on every name server.
    pub async fn put_kv_config(
        &self,
        namespace: &str,
        key: &str,
        value: &str,
    ) -> Result<Vec<String>> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::PutKvConfig,
            &PutKvConfigRequestHeader {
                namespace: namespace.into(),
                key: key.into(),
                value: value.into(),
            },
        );
        Self::first_error(self.all_namesrv(cmd).await)
    }

    /// DELETE_KV_CONFIG on every name server.
    pub async fn delete_kv_config(&self, namespace: &str, key: &str) -> Result<Vec<String>> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::DeleteKvConfig,
            &KvConfigKeyRequestHeader {
                namespace: namespace.into(),
                key: key.into(),
            },
        );
        Self::first_error(self.all_namesrv(cmd).await)
    }

    /// GET_KV_CONFIG from the name servers; `None` when absent.
    pub async fn get_kv_config(&self, namespace: &str, key: &str) -> Result<Option<String>> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::GetKvConfig,
            &KvConfigKeyRequestHeader {
                namespace: namespace.into(),
                key: key.into(),
            },
        );
        match self.namesrv(cmd).await {
            Ok(r) => Ok(r.decode_header::<GetKvConfigResponseHeader>()?.value),
            Err(ClientError::Broker { code: 22, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// GET_NAMESRV_CONFIG of every name server.
    pub async fn namesrv_config(&self) -> Result<Vec<(String, BTreeMap<String, String>)>> {
        let mut out = Vec::new();
        for (addr, r) in self
            .all_namesrv(RemotingCommand::new_request(RequestCode::GetNamesrvConfig))
            .await
        {
            let text = String::from_utf8_lossy(body(&r?)).to_string();
            let props = parse_properties(&text).map_err(|e| ClientError::Invalid(e.to_string()))?;
            out.push((addr, props));
        }
        if out.is_empty() {
            return Err(ClientError::NoNameServer);
        }
        Ok(out)
    }

    /// UPDATE_NAMESRV_CONFIG on every name server.
    pub async fn update_namesrv_config(
        &self,
        props: &BTreeMap<String, String>,
    ) -> Result<Vec<String>> {
        let text: String = props.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        let cmd = RemotingCommand::new_request(RequestCode::UpdateNamesrvConfig)
            .with_body(text.into_bytes());
        Self::first_error(self.all_namesrv(cmd).await)
    }

    /// WIPE_WRITE_PERM_OF_BROKER on every name server: (server, topics changed).
    pub async fn wipe_write_perm(&self, broker_name: &str) -> Result<Vec<(String, i32)>> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::WipeWritePermOfBroker,
            &BrokerNameRequestHeader {
                broker_name: broker_name.into(),
            },
        );
        let mut out = Vec::new();
        for (addr, r) in self.all_namesrv(cmd).await {
            let h: WipeWritePermOfBrokerResponseHeader = r?.decode_header()?;
            out.push((addr, h.wipe_topic_count));
        }
        Ok(out)
    }

    /// ADD_WRITE_PERM_OF_BROKER on every name server: (server, topics changed).
    pub async fn add_write_perm(&self, broker_name: &str) -> Result<Vec<(String, i32)>> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::AddWritePermOfBroker,
            &BrokerNameRequestHeader {
                broker_name: broker_name.into(),
            },
        );
        let mut out = Vec::new();
        for (addr, r) in self.all_namesrv(cmd).await {
            let h: AddWritePermOfBrokerResponseHeader = r?.decode_header()?;
            out.push((addr, h.add_topic_count));
        }
        Ok(out)
    }
}
