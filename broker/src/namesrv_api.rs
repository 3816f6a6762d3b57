//! `BrokerOuterAPI`: registration with every name server.

use std::time::Duration;

use futures::future::join_all;
use remoting::RemotingCommand;
use remoting::client::{ClientConfig, RemotingClient};
use remoting::protocol::body::{RegisterBrokerBody, TopicConfigSerializeWrapper};
use remoting::protocol::header::{RegisterBrokerRequestHeader, UnRegisterBrokerRequestHeader};
use remoting::protocol::{RequestCode, ResponseCode};
use tracing::{debug, warn};

/// Who this broker is, as registered.
#[derive(Debug, Clone)]
pub struct BrokerIdentity {
    /// Cluster.
    pub cluster_name: String,
    /// Broker group.
    pub broker_name: String,
    /// Broker id.
    pub broker_id: i64,
    /// `ip:port`.
    pub broker_addr: String,
    /// `ip:haPort`.
    pub ha_server_addr: String,
}

/// What a name server answered a registration with.
#[derive(Debug, Clone, Default)]
pub struct RegisterResult {
    /// The master's address (for slaves).
    pub master_addr: Option<String>,
    /// The master's HA address (for slaves).
    pub ha_server_addr: Option<String>,
}

/// Talks to the name servers.
pub struct NamesrvApi {
    client: RemotingClient,
}

impl Default for NamesrvApi {
    fn default() -> Self {
        NamesrvApi {
            client: RemotingClient::new(ClientConfig::default()),
        }
    }
}

impl NamesrvApi {
    /// Registers with every name server at once; results in `namesrvs` order.
    pub async fn register_all(
        &self,
        namesrvs: &[String],
        me: &BrokerIdentity,
        topics: &TopicConfigSerializeWrapper,
        compressed: bool,
        oneway: bool,
        timeout: Duration,
    ) -> Vec<Result<RegisterResult, String>> {
        let body = RegisterBrokerBody {
            filter_server_list: Vec::new(),
            topic_config_serialize_wrapper: topics.clone(),
        }
        .encode(compressed);
        let header = RegisterBrokerRequestHeader {
            broker_name: me.broker_name.clone(),
            broker_addr: me.broker_addr.clone(),
            cluster_name: me.cluster_name.clone(),
            ha_server_addr: me.ha_server_addr.clone(),
            broker_id: me.broker_id,
            compressed: Some(compressed),
            body_crc32: Some((crc32fast::hash(&body) & 0x7FFF_FFFF) as i32),
        };
        let calls = namesrvs.iter().map(|ns| {
            let req = RemotingCommand::request_with_header(RequestCode::RegisterBroker, &header)
                .with_body(body.clone());
            async move {
                if oneway {
                    return self
                        .client
                        .invoke_oneway(ns, req)
                        .await
                        .map(|_| RegisterResult::default())
                        .map_err(|e| e.to_string());
                }
                match self.client.invoke(ns, req, timeout).await {
                    Ok(r) if r.code == ResponseCode::Success.code() => {
                        debug!(namesrv = %ns, "registered");
                        Ok(RegisterResult {
                            master_addr: r.ext("masterAddr").map(str::to_owned),
                            ha_server_addr: r.ext("haServerAddr").map(str::to_owned),
                        })
                    }
                    Ok(r) => Err(format!("code {} {}", r.code, r.remark.unwrap_or_default())),
                    Err(e) => Err(e.to_string()),
                }
            }
        });
        let results = join_all(calls).await;
        for (ns, r) in namesrvs.iter().zip(&results) {
            if let Err(e) = r {
                warn!(namesrv = %ns, error = %e, "register broker failed");
            }
        }
        results
    }

    /// Unregisters from every name server.
    pub async fn unregister_all(
        &self,
        namesrvs: &[String],
        me: &BrokerIdentity,
        timeout: Duration,
    ) {
        let header = UnRegisterBrokerRequestHeader {
            broker_name: me.broker_name.clone(),
            broker_addr: me.broker_addr.clone(),
            cluster_name: me.cluster_name.clone(),
            broker_id: me.broker_id,
        };
        let calls = namesrvs.iter().map(|ns| {
            let req = RemotingCommand::request_with_header(RequestCode::UnregisterBroker, &header);
            async move {
                if let Err(e) = self.client.invoke(ns, req, timeout).await {
                    warn!(namesrv = %ns, error = %e, "unregister broker failed");
                }
            }
        });
        join_all(calls).await;
    }
}
