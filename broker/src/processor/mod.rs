//! Request processors: one handler for every broker request code, dispatching to the
//! module that serves it.

pub mod admin;
pub mod client_manage;
pub mod consumer_manage;
pub mod pull;
pub mod query;
pub mod send;

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use remoting::server::Router;
use remoting::{Connection, RemotingCommand, RequestCode, RequestHandler, ResponseCode};

use crate::context::BrokerContext;

/// Decodes a typed header or returns the error response naming the missing field.
macro_rules! header_or_reply {
    ($req:expr, $t:ty) => {
        match $req.decode_header::<$t>() {
            Ok(h) => h,
            Err(e) => return remoting::RemotingCommand::header_error($req, &e),
        }
    };
}
pub(crate) use header_or_reply;

/// Every request code the broker serves.
pub const CODES: &[RequestCode] = &[
    RequestCode::SendMessage,
    RequestCode::SendMessageV2,
    RequestCode::SendBatchMessage,
    RequestCode::PullMessage,
    RequestCode::QueryMessage,
    RequestCode::ViewMessageById,
    RequestCode::QueryConsumerOffset,
    RequestCode::UpdateConsumerOffset,
    RequestCode::GetMaxOffset,
    RequestCode::GetMinOffset,
    RequestCode::SearchOffsetByTimestamp,
    RequestCode::GetEarliestMsgStoretime,
    RequestCode::HeartBeat,
    RequestCode::UnregisterClient,
    RequestCode::CheckClientConfig,
    RequestCode::GetConsumerListByGroup,
    RequestCode::LockBatchMq,
    RequestCode::UnlockBatchMq,
    RequestCode::UpdateAndCreateTopic,
    RequestCode::DeleteTopicInBroker,
    RequestCode::GetAllTopicConfig,
    RequestCode::UpdateAndCreateSubscriptiongroup,
    RequestCode::DeleteSubscriptiongroup,
    RequestCode::GetAllSubscriptiongroupConfig,
    RequestCode::GetBrokerRuntimeInfo,
    RequestCode::GetTopicStatsInfo,
    RequestCode::GetConsumeStats,
    RequestCode::GetConsumerConnectionList,
    RequestCode::GetProducerConnectionList,
    RequestCode::GetBrokerConfig,
    RequestCode::UpdateBrokerConfig,
    RequestCode::GetAllConsumerOffset,
    RequestCode::GetConsumerRunningInfo,
    RequestCode::ConsumeMessageDirectly,
    RequestCode::InvokeBrokerToResetOffset,
    RequestCode::GetSystemTopicListFromBroker,
];

/// Serves the broker's request codes once the context is set.
pub struct BrokerProcessor {
    ctx: Arc<OnceLock<Arc<BrokerContext>>>,
}

/// The router with every broker code going to one [`BrokerProcessor`].
pub fn router_for(ctx: Arc<OnceLock<Arc<BrokerContext>>>) -> Router {
    Router::new().route(CODES, Arc::new(BrokerProcessor { ctx }))
}

#[async_trait]
impl RequestHandler for BrokerProcessor {
    async fn handle(&self, conn: &Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        let Some(ctx) = self.ctx.get() else {
            return Some(RemotingCommand::error(
                &req,
                ResponseCode::SystemBusy,
                "broker is starting",
            ));
        };
        let Some(code) = req.request_code() else {
            return Some(RemotingCommand::not_supported(&req));
        };
        use RequestCode::*;
        Some(match code {
            SendMessage | SendMessageV2 | SendBatchMessage => send::process(ctx, conn, &req).await,
            PullMessage => return pull::process(ctx.clone(), conn, req, true),
            QueryMessage => query::query_message(ctx, &req),
            ViewMessageById => query::view_message_by_id(ctx, &req),
            GetMaxOffset => query::max_offset(ctx, &req),
            GetMinOffset => query::min_offset(ctx, &req),
            SearchOffsetByTimestamp => query::search_offset(ctx, &req),
            GetEarliestMsgStoretime => query::earliest_store_time(ctx, &req),
            QueryConsumerOffset => consumer_manage::query_offset(ctx, &req),
            UpdateConsumerOffset => consumer_manage::update_offset(ctx, &req),
            GetConsumerListByGroup => consumer_manage::consumer_list(ctx, &req),
            HeartBeat => client_manage::heartbeat(ctx, conn, &req).await,
            UnregisterClient => client_manage::unregister(ctx, conn, &req).await,
            CheckClientConfig => client_manage::check_client_config(ctx, &req),
            LockBatchMq => consumer_manage::lock_batch(ctx, &req),
            UnlockBatchMq => consumer_manage::unlock_batch(ctx, &req),
            UpdateAndCreateTopic => admin::create_topic(ctx, &req),
            DeleteTopicInBroker => admin::delete_topic(ctx, &req),
            GetAllTopicConfig => admin::all_topic_config(ctx, &req),
            UpdateAndCreateSubscriptiongroup => admin::create_group(ctx, &req),
            DeleteSubscriptiongroup => admin::delete_group(ctx, &req),
            GetAllSubscriptiongroupConfig => admin::all_group_config(ctx, &req),
            GetBrokerRuntimeInfo => admin::runtime_info(ctx, &req),
            GetTopicStatsInfo => admin::topic_stats(ctx, &req),
            GetConsumeStats => admin::consume_stats(ctx, &req),
            GetConsumerConnectionList => admin::consumer_connections(ctx, &req),
            GetProducerConnectionList => admin::producer_connections(ctx, &req),
            GetBrokerConfig => admin::get_broker_config(ctx, &req),
            UpdateBrokerConfig => admin::update_broker_config(ctx, &req),
            GetAllConsumerOffset => admin::all_consumer_offset(ctx, &req),
            GetConsumerRunningInfo | ConsumeMessageDirectly => {
                admin::relay_to_client(ctx, &req).await
            }
            InvokeBrokerToResetOffset => admin::reset_offset(ctx, &req).await,
            GetSystemTopicListFromBroker => admin::system_topics(ctx, &req),
            _ => RemotingCommand::not_supported(&req),
        })
    }

    fn on_close(&self, conn: &Connection) {
        if let Some(ctx) = self.ctx.get() {
            client_manage::on_connection_closed(ctx, conn);
        }
    }
}
