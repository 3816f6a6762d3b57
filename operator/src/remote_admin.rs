//! [`RocketMqAdmin`] over the RocketMQ remoting protocol (the `remoting` crate's client).

use std::time::Duration;

use async_trait::async_trait;
use remoting::{
    RemotingCommand,
    client::{ClientConfig, RemotingClient},
    protocol::{
        RequestCode, ResponseCode,
        body::{self, ClusterInfo, ConsumeStats, SubscriptionGroupWrapper},
        header::{
            AddWritePermOfBrokerResponseHeader, BrokerNameRequestHeader,
            GetConsumeStatsRequestHeader, WipeWritePermOfBrokerResponseHeader,
        },
    },
};

use crate::admin::{AdminError, ClusterView, RocketMqAdmin};

/// Talks to name servers and brokers with one pooled connection per address.
pub struct RemotingAdmin {
    client: RemotingClient,
    timeout: Duration,
}

impl RemotingAdmin {
    /// `timeout` bounds every request (connect timeout is the client's default, 3 s).
    pub fn new(timeout: Duration) -> Self {
        Self {
            client: RemotingClient::new(ClientConfig::default()),
            timeout,
        }
    }

    async fn call(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<RemotingCommand, AdminError> {
        let resp = self
            .client
            .invoke(addr, request, self.timeout)
            .await
            .map_err(|e| {
                // drop a possibly broken connection; the next call reconnects
                self.client.close(addr);
                AdminError::Unreachable {
                    addr: addr.into(),
                    message: e.to_string(),
                }
            })?;
        if resp.code != ResponseCode::Success.code() {
            return Err(AdminError::Rejected {
                addr: addr.into(),
                code: resp.code,
                remark: resp.remark.unwrap_or_default(),
            });
        }
        Ok(resp)
    }
}

fn protocol(addr: &str, message: impl ToString) -> AdminError {
    AdminError::Protocol {
        addr: addr.into(),
        message: message.to_string(),
    }
}

/// Converts the name server's `ClusterInfo` into the operator's view.
pub fn view_of(info: ClusterInfo) -> ClusterView {
    ClusterView {
        brokers: info
            .broker_addr_table
            .into_iter()
            .map(|(name, data)| (name, data.broker_addrs))
            .collect(),
        clusters: info.cluster_addr_table.into_iter().collect(),
    }
}

#[async_trait]
impl RocketMqAdmin for RemotingAdmin {
    async fn cluster_info(&self, namesrv: &str) -> Result<ClusterView, AdminError> {
        let resp = self
            .call(
                namesrv,
                RemotingCommand::new_request(RequestCode::GetBrokerClusterInfo),
            )
            .await?;
        let body = resp
            .body
            .ok_or_else(|| protocol(namesrv, "empty cluster info body"))?;
        let info = ClusterInfo::from_json(&body).map_err(|e| protocol(namesrv, e))?;
        Ok(view_of(info))
    }

    async fn wipe_write_perm(&self, namesrv: &str, broker_name: &str) -> Result<u32, AdminError> {
        let header = BrokerNameRequestHeader {
            broker_name: broker_name.into(),
        };
        let resp = self
            .call(
                namesrv,
                RemotingCommand::request_with_header(RequestCode::WipeWritePermOfBroker, &header),
            )
            .await?;
        let h: WipeWritePermOfBrokerResponseHeader =
            resp.decode_header().map_err(|e| protocol(namesrv, e))?;
        Ok(h.wipe_topic_count.max(0) as u32)
    }

    async fn add_write_perm(&self, namesrv: &str, broker_name: &str) -> Result<u32, AdminError> {
        let header = BrokerNameRequestHeader {
            broker_name: broker_name.into(),
        };
        let resp = self
            .call(
                namesrv,
                RemotingCommand::request_with_header(RequestCode::AddWritePermOfBroker, &header),
            )
            .await?;
        let h: AddWritePermOfBrokerResponseHeader =
            resp.decode_header().map_err(|e| protocol(namesrv, e))?;
        Ok(h.add_topic_count.max(0) as u32)
    }

    async fn broker_backlog(&self, broker_addr: &str) -> Result<u64, AdminError> {
        let resp = self
            .call(
                broker_addr,
                RemotingCommand::new_request(RequestCode::GetAllSubscriptiongroupConfig),
            )
            .await?;
        let groups: SubscriptionGroupWrapper = resp
            .body
            .as_deref()
            .map(body::from_json)
            .transpose()
            .map_err(|e| protocol(broker_addr, e))?
            .unwrap_or_default();
        let mut total: u64 = 0;
        for group in groups.subscription_group_table.keys() {
            let header = GetConsumeStatsRequestHeader {
                consumer_group: group.clone(),
                topic: None,
            };
            let req = RemotingCommand::request_with_header(RequestCode::GetConsumeStats, &header);
            let stats = match self.call(broker_addr, req).await {
                Ok(r) => r,
                // a group without offsets on this broker has nothing to drain
                Err(AdminError::Rejected { .. }) => continue,
                Err(e) => return Err(e),
            };
            let Some(b) = stats.body else { continue };
            let stats = ConsumeStats::decode(&b).map_err(|e| protocol(broker_addr, e))?;
            total = total.saturating_add(stats.diff_total().max(0) as u64);
        }
        Ok(total)
    }
}
