//! The name server's request processor (`DefaultRequestProcessor`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;

use async_trait::async_trait;
use remoting::command::RemotingCommand;
use remoting::config::{parse_properties, render_properties};
use remoting::protocol::body::{self, DataVersion, KvTable, RegisterBrokerBody, TopicList};
use remoting::protocol::header::*;
use remoting::{Connection, RequestCode, RequestHandler, ResponseCode};
use tracing::{info, warn};

use crate::config::{CONFIG_BLACK_LIST, NamesrvConfig};
use crate::kvconfig::{KvConfigManager, write_atomically};
use crate::route::{Registration, RouteInfoManager};

/// KV namespace holding ordered-topic configuration.
pub const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";
/// First client version (4.9.4) that is sent standard JSON routes.
const STANDARD_JSON_VERSION: i32 = 401;
/// Brokers older than this (3.0.11) send a bare topic wrapper when registering.
const REGISTER_BODY_VERSION: i32 = 37;

/// Every request code the name server serves.
pub const CODES: &[RequestCode] = &[
    RequestCode::PutKvConfig,
    RequestCode::GetKvConfig,
    RequestCode::DeleteKvConfig,
    RequestCode::GetKvlistByNamespace,
    RequestCode::QueryDataVersion,
    RequestCode::RegisterBroker,
    RequestCode::UnregisterBroker,
    RequestCode::GetRouteinfoByTopic,
    RequestCode::GetBrokerClusterInfo,
    RequestCode::WipeWritePermOfBroker,
    RequestCode::AddWritePermOfBroker,
    RequestCode::GetAllTopicListFromNameserver,
    RequestCode::DeleteTopicInNamesrv,
    RequestCode::GetTopicsByCluster,
    RequestCode::GetSystemTopicListFromNs,
    RequestCode::GetUnitTopicList,
    RequestCode::GetHasUnitSubTopicList,
    RequestCode::GetHasUnitSubUnunitTopicList,
    RequestCode::UpdateNamesrvConfig,
    RequestCode::GetNamesrvConfig,
];

/// Serves the name-server request codes from the route table and KV config.
pub struct NamesrvProcessor {
    /// Effective configuration (updatable at runtime).
    pub config: Arc<RwLock<NamesrvConfig>>,
    /// Routes.
    pub routes: Arc<RouteInfoManager>,
    /// KV config.
    pub kv: Arc<KvConfigManager>,
    /// Encoded route bodies by (topic, standard JSON), valid for the table version stored
    /// with them.
    pub route_cache: RwLock<HashMap<(String, bool), (u64, Bytes)>>,
}

/// Most cached route bodies kept before the cache is emptied.
const ROUTE_CACHE_MAX: usize = 100_000;

type Reply = RemotingCommand;

macro_rules! header_or_reply {
    ($req:expr, $t:ty) => {
        match $req.decode_header::<$t>() {
            Ok(h) => h,
            Err(e) => return RemotingCommand::header_error($req, &e),
        }
    };
}

#[async_trait]
impl RequestHandler for NamesrvProcessor {
    async fn handle(&self, conn: &Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        let Some(code) = req.request_code() else {
            return Some(RemotingCommand::not_supported(&req));
        };
        Some(match code {
            RequestCode::PutKvConfig => self.put_kv(&req),
            RequestCode::GetKvConfig => self.get_kv(&req),
            RequestCode::DeleteKvConfig => self.delete_kv(&req),
            RequestCode::GetKvlistByNamespace => self.kv_list(&req),
            RequestCode::QueryDataVersion => self.query_data_version(&req),
            RequestCode::RegisterBroker => self.register_broker(conn, &req),
            RequestCode::UnregisterBroker => self.unregister_broker(&req),
            RequestCode::GetRouteinfoByTopic => self.route_by_topic(&req),
            RequestCode::GetBrokerClusterInfo => {
                RemotingCommand::success(&req).with_body(self.routes.cluster_info().encode())
            }
            RequestCode::WipeWritePermOfBroker => self.wipe_write_perm(&req),
            RequestCode::AddWritePermOfBroker => self.add_write_perm(&req),
            RequestCode::GetAllTopicListFromNameserver => {
                topic_list(&req, self.routes.all_topics())
            }
            RequestCode::DeleteTopicInNamesrv => self.delete_topic(&req),
            RequestCode::GetTopicsByCluster => self.topics_by_cluster(&req),
            RequestCode::GetSystemTopicListFromNs => topic_list(&req, self.routes.system_topics()),
            RequestCode::GetUnitTopicList => topic_list(&req, self.routes.unit_topics()),
            RequestCode::GetHasUnitSubTopicList => {
                topic_list(&req, self.routes.has_unit_sub_topics())
            }
            RequestCode::GetHasUnitSubUnunitTopicList => {
                topic_list(&req, self.routes.has_unit_sub_ununit_topics())
            }
            RequestCode::UpdateNamesrvConfig => self.update_config(&req),
            RequestCode::GetNamesrvConfig => {
                let text =
                    render_properties(self.config.read().expect("config lock").to_properties());
                RemotingCommand::success(&req).with_body(text)
            }
            _ => RemotingCommand::not_supported(&req),
        })
    }

    fn on_close(&self, conn: &Connection) {
        self.routes.on_connection_closed(conn.id());
    }
}

fn topic_list(req: &RemotingCommand, list: TopicList) -> Reply {
    RemotingCommand::success(req).with_body(body::to_json(&list))
}

impl NamesrvProcessor {
    fn put_kv(&self, req: &RemotingCommand) -> Reply {
        let h = header_or_reply!(req, PutKvConfigRequestHeader);
        self.kv.put(&h.namespace, &h.key, &h.value);
        RemotingCommand::success(req)
    }

    fn get_kv(&self, req: &RemotingCommand) -> Reply {
        let h = header_or_reply!(req, KvConfigKeyRequestHeader);
        match self.kv.get(&h.namespace, &h.key) {
            Some(value) => RemotingCommand::success(req)
                .with_header(&GetKvConfigResponseHeader { value: Some(value) }),
            None => RemotingCommand::error(
                req,
                ResponseCode::QueryNotFound,
                format!("No config item, Namespace: {} Key: {}", h.namespace, h.key),
            ),
        }
    }

    fn delete_kv(&self, req: &RemotingCommand) -> Reply {
        let h = header_or_reply!(req, KvConfigKeyRequestHeader);
        self.kv.delete(&h.namespace, &h.key);
        RemotingCommand::success(req)
    }

    fn kv_list(&self, req: &RemotingCommand) -> Reply {
        let h = header_or_reply!(req, GetKvListByNamespaceRequestHeader);
        match self.kv.list(&h.namespace) {
            Some(table) => {
                RemotingCommand::success(req).with_body(body::to_json(&KvTable { table }))
            }
            None => RemotingCommand::error(
                req,
                ResponseCode::QueryNotFound,
                format!("No config item, Namespace: {}", h.namespace),
            ),
        }
    }

    fn query_data_version(&self, req: &RemotingCommand) -> Reply {
        let h = header_or_reply!(req, QueryDataVersionRequestHeader);
        let version: DataVersion = match req.body.as_deref().map(body::from_json).transpose() {
            Ok(v) => v.unwrap_or_default(),
            Err(e) => {
                return RemotingCommand::error(
                    req,
                    ResponseCode::SystemError,
                    format!("bad data version body: {e}"),
                );
            }
        };
        let (changed, stored) = self.routes.query_data_version(&h.broker_addr, &version);
        let mut resp =
            RemotingCommand::success(req).with_header(&QueryDataVersionResponseHeader { changed });
        if let Some(v) = stored {
            resp = resp.with_body(body::to_json(&v));
        }
        resp
    }

    fn register_broker(&self, conn: &Connection, req: &RemotingCommand) -> Reply {
        let h = header_or_reply!(req, RegisterBrokerRequestHeader);
        let raw = req.body.as_deref().unwrap_or_default();
        if let Some(expected) = h.body_crc32.filter(|c| *c != 0) {
            let actual = (crc32fast::hash(raw) & 0x7FFF_FFFF) as i32;
            if actual != expected {
                warn!(broker = %h.broker_addr, expected, actual, "register body CRC mismatch");
                return RemotingCommand::error(req, ResponseCode::SystemError, "crc32 not match");
            }
        }
        let body = if raw.is_empty() {
            RegisterBrokerBody::default()
        } else {
            match RegisterBrokerBody::decode(
                raw,
                h.compressed.unwrap_or(false),
                req.version < REGISTER_BODY_VERSION,
            ) {
                Ok(b) => b,
                Err(e) => {
                    return RemotingCommand::error(req, ResponseCode::SystemError, e.to_string());
                }
            }
        };
        let result = self.routes.register_broker(Registration {
            cluster_name: &h.cluster_name,
            broker_addr: &h.broker_addr,
            broker_name: &h.broker_name,
            broker_id: h.broker_id,
            ha_server_addr: &h.ha_server_addr,
            topics: &body.topic_config_serialize_wrapper,
            filter_server_list: &body.filter_server_list,
            conn: Some(conn.clone()),
        });
        let mut resp = RemotingCommand::success(req).with_header(&RegisterBrokerResponseHeader {
            ha_server_addr: result.ha_server_addr,
            master_addr: result.master_addr,
        });
        if let Some(table) = self.kv.list(ORDER_TOPIC_CONFIG) {
            resp = resp.with_body(body::to_json(&KvTable { table }));
        }
        resp
    }

    fn unregister_broker(&self, req: &RemotingCommand) -> Reply {
        let h = header_or_reply!(req, UnRegisterBrokerRequestHeader);
        self.routes
            .unregister_broker(&h.cluster_name, &h.broker_addr, &h.broker_name, h.broker_id);
        RemotingCommand::success(req)
    }

    fn route_by_topic(&self, req: &RemotingCommand) -> Reply {
        let h = header_or_reply!(req, GetRouteInfoRequestHeader);
        let standard =
            req.version >= STANDARD_JSON_VERSION || h.accept_standard_json_only == Some(true);
        let order_conf = self
            .config
            .read()
            .expect("config lock")
            .order_message_enable;
        let key = (h.topic, standard);
        if !order_conf
            && let Some((v, body)) = self.route_cache.read().expect("cache lock").get(&key)
            && *v == self.routes.version()
        {
            return RemotingCommand::success(req).with_body(body.clone());
        }
        let (version, route) = self.routes.topic_route_versioned(&key.0);
        match route {
            Some(mut route) => {
                if order_conf {
                    route.order_topic_conf = self.kv.get(ORDER_TOPIC_CONFIG, &key.0);
                    return RemotingCommand::success(req).with_body(route.encode(standard));
                }
                let body = Bytes::from(route.encode(standard));
                let mut cache = self.route_cache.write().expect("cache lock");
                if cache.len() >= ROUTE_CACHE_MAX {
                    cache.clear();
                }
                cache.insert(key, (version, body.clone()));
                RemotingCommand::success(req).with_body(body)
            }
            None => RemotingCommand::error(
                req,
                ResponseCode::TopicNotExist,
                format!(
                    "No topic route info in name server for the topic: {}\nSee http://rocketmq.apache.org/docs/faq/ for further details.",
                    key.0
                ),
            ),
        }
    }

    fn wipe_write_perm(&self, req: &RemotingCommand) -> Reply {
        let h = header_or_reply!(req, BrokerNameRequestHeader);
        let wipe_topic_count = self.routes.wipe_write_perm(&h.broker_name);
        info!(broker = %h.broker_name, topics = wipe_topic_count, "write permission wiped");
        RemotingCommand::success(req)
            .with_header(&WipeWritePermOfBrokerResponseHeader { wipe_topic_count })
    }

    fn add_write_perm(&self, req: &RemotingCommand) -> Reply {
        let h = header_or_reply!(req, BrokerNameRequestHeader);
        let add_topic_count = self.routes.add_write_perm(&h.broker_name);
        info!(broker = %h.broker_name, topics = add_topic_count, "write permission added");
        RemotingCommand::success(req)
            .with_header(&AddWritePermOfBrokerResponseHeader { add_topic_count })
    }

    fn topics_by_cluster(&self, req: &RemotingCommand) -> Reply {
        let h = header_or_reply!(req, GetTopicsByClusterRequestHeader);
        topic_list(req, self.routes.topics_by_cluster(&h.cluster))
    }

    fn delete_topic(&self, req: &RemotingCommand) -> Reply {
        let h = header_or_reply!(req, DeleteTopicFromNamesrvRequestHeader);
        self.routes
            .delete_topic(&h.topic, h.cluster_name.as_deref());
        RemotingCommand::success(req)
    }

    fn update_config(&self, req: &RemotingCommand) -> Reply {
        let text = String::from_utf8_lossy(req.body.as_deref().unwrap_or_default()).into_owned();
        let props = match parse_properties(&text) {
            Ok(p) => p,
            Err(e) => return RemotingCommand::error(req, ResponseCode::SystemError, e.to_string()),
        };
        if let Some(k) = props
            .keys()
            .find(|k| CONFIG_BLACK_LIST.contains(&k.as_str()))
        {
            return RemotingCommand::error(
                req,
                ResponseCode::NoPermission,
                format!("Can not update config in black list: {k}"),
            );
        }
        let mut candidate = self.config.read().expect("config lock").clone();
        let unknown = match candidate.apply(&props) {
            Ok(u) => u,
            Err(e) => return RemotingCommand::error(req, ResponseCode::SystemError, e.to_string()),
        };
        if !unknown.is_empty() {
            warn!(?unknown, "UPDATE_NAMESRV_CONFIG: unknown keys ignored");
        }
        let path = candidate.config_store_path.clone();
        let text = render_properties(candidate.to_properties());
        *self.config.write().expect("config lock") = candidate;
        if let Err(e) = write_atomically(std::path::Path::new(&path), text.as_bytes()) {
            warn!(%path, error = %e, "cannot persist name-server config");
        }
        info!(keys = ?props.keys().collect::<Vec<_>>(), "name-server config updated");
        RemotingCommand::success(req)
    }
}
