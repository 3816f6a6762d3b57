//! The subcommands, each over [`client::admin::Admin`].
//!
//! [`run`] routes each [`Cmd`] to one function in a family module; the
//! helpers shared between families live here.

mod cluster;
mod group;
mod message;
mod topic;

use client::admin::Admin;
use client::{ClientConfig, ClientError, Result};

use crate::cli::{Cmd, Target};
use crate::output::Output;

fn invalid(msg: impl Into<String>) -> ClientError {
    ClientError::Invalid(msg.into())
}

/// Broker addresses chosen by `-b` or `-c`.
async fn targets(admin: &Admin, t: &Target) -> Result<Vec<String>> {
    match (&t.broker, &t.cluster) {
        (Some(b), _) => Ok(vec![b.clone()]),
        (None, Some(c)) => Ok(admin
            .broker_addrs(Some(c), true)
            .await?
            .into_iter()
            .map(|b| b.addr)
            .collect()),
        (None, None) => Err(invalid("give a broker address (-b) or a cluster name (-c)")),
    }
}

/// Master addresses serving `topic`.
async fn topic_masters(admin: &Admin, topic: &str) -> Result<Vec<(String, String)>> {
    let route = admin.topic_route(topic).await?;
    Ok(route
        .broker_datas
        .iter()
        .filter_map(|b| {
            b.master_addr()
                .map(|a| (b.broker_name.clone(), a.to_owned()))
        })
        .collect())
}

pub async fn run(client: ClientConfig, cmd: Cmd) -> Result<Output> {
    let admin = Admin::new(client.clone());
    match cmd {
        Cmd::ClusterList { cluster, more } => cluster::cluster_list(&admin, cluster, more).await,
        Cmd::TopicList { cluster_model } => topic::topic_list(&admin, cluster_model).await,
        Cmd::TopicRoute { topic, list } => topic::topic_route(&admin, topic, list).await,
        Cmd::TopicStatus { topic } => topic::topic_status(&admin, topic).await,
        Cmd::UpdateTopic {
            target,
            topic,
            read,
            write,
            perm,
            order,
            unit,
            has_unit_sub,
        } => {
            topic::update_topic(
                &admin,
                target,
                topic,
                read,
                write,
                perm,
                order,
                unit,
                has_unit_sub,
            )
            .await
        }
        Cmd::DeleteTopic { topic, cluster } => topic::delete_topic(&admin, topic, cluster).await,
        Cmd::UpdateSubGroup {
            target,
            group,
            consume_enable,
            from_min,
            broadcast,
            retry_queues,
            retry_max,
            broker_id,
            slow_broker,
            notify,
        } => {
            group::update_sub_group(
                &admin,
                target,
                group,
                consume_enable,
                from_min,
                broadcast,
                retry_queues,
                retry_max,
                broker_id,
                slow_broker,
                notify,
            )
            .await
        }
        Cmd::DeleteSubGroup {
            target,
            group,
            remove_offset,
        } => group::delete_sub_group(&admin, target, group, remove_offset).await,
        Cmd::BrokerStatus { target } => cluster::broker_status(&admin, target).await,
        Cmd::GetBrokerConfig { target } => cluster::get_broker_config(&admin, target).await,
        Cmd::UpdateBrokerConfig { target, key, value } => {
            cluster::update_broker_config(&admin, target, key, value).await
        }
        Cmd::ConsumerProgress {
            group: Some(group),
            topic,
        } => group::consumer_progress(&admin, group, topic).await,
        Cmd::ConsumerProgress { group: None, .. } => group::consumer_progress_all(&admin).await,
        Cmd::ConsumerConnection { group, broker } => {
            group::consumer_connection(&admin, group, broker).await
        }
        Cmd::ProducerConnection { group, topic } => {
            group::producer_connection(&admin, group, topic).await
        }
        Cmd::QueryMsgById {
            msg_id,
            group: Some(group),
            client_id: Some(client_id),
            ..
        } => message::query_msg_by_id_directly(&admin, msg_id, group, client_id).await,
        Cmd::QueryMsgById { msg_id, topic, .. } => {
            message::query_msg_by_id(&admin, msg_id, topic).await
        }
        Cmd::QueryMsgByKey {
            topic,
            key,
            begin,
            end,
            max,
        } => message::query_msg_by_key(&admin, topic, key, begin, end, max).await,
        Cmd::QueryMsgByOffset {
            topic,
            broker,
            queue,
            offset,
        } => message::query_msg_by_offset(client, topic, broker, queue, offset).await,
        Cmd::QueryMsgByUniqueKey { msg_id, topic, all } => {
            message::query_msg_by_unique_key(&admin, msg_id, topic, all).await
        }
        Cmd::SendMessage {
            topic,
            body,
            keys,
            tags,
            broker,
            qid,
        } => message::send_message(client, topic, body, keys, tags, broker, qid).await,
        Cmd::ConsumeMessage {
            topic,
            broker,
            queue,
            offset,
            group,
            begin,
            end,
            count,
        } => {
            message::consume_message(
                client, topic, broker, queue, offset, group, begin, end, count,
            )
            .await
        }
        Cmd::ResetOffsetByTime {
            group,
            topic,
            timestamp,
            force,
        } => group::reset_offset_by_time(&admin, group, topic, timestamp, force).await,
        Cmd::WipeWritePerm { broker } => cluster::wipe_write_perm(&admin, broker).await,
        Cmd::AddWritePerm { broker } => cluster::add_write_perm(&admin, broker).await,
        Cmd::UpdateKvConfig {
            namespace,
            key,
            value,
        } => cluster::update_kv_config(&admin, namespace, key, value).await,
        Cmd::DeleteKvConfig { namespace, key } => {
            cluster::delete_kv_config(&admin, namespace, key).await
        }
        Cmd::GetNamesrvConfig => cluster::get_namesrv_config(&admin).await,
        Cmd::UpdateNamesrvConfig { key, value } => {
            cluster::update_namesrv_config(&admin, key, value).await
        }
    }
}
