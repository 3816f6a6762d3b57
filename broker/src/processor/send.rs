//! SEND_MESSAGE, SEND_MESSAGE_V2 and SEND_BATCH_MESSAGE (Apache `SendMessageProcessor`).

use std::net::SocketAddr;

use remoting::message::{MessageExt, Properties, properties, sysflag};
use remoting::protocol::body::{TopicConfig, TopicFilterType, perm};
use remoting::protocol::header::{
    SendMessageRequestHeader, SendMessageResponseHeader, decode_send_header,
};
use remoting::{Connection, RemotingCommand, RequestCode, ResponseCode};
use store::{PutMessageResult, PutMessageStatus};
use tracing::debug;

use crate::context::{BrokerContext, BrokerStats};
use crate::topic_config::{self, NOT_ALLOWED_SEND_TOPICS, RETRY_GROUP_TOPIC_PREFIX};
use remoting::message::batch::{BatchEntry, decode_batch_body, merge_batch_properties};

/// Serves the three send codes.
pub async fn process(
    ctx: &BrokerContext,
    conn: &Connection,
    req: &RemotingCommand,
) -> RemotingCommand {
    let Ok(_permit) = ctx.send_permits.try_acquire() else {
        BrokerStats::add(&ctx.stats.put_failures, 1);
        return RemotingCommand::error(
            req,
            ResponseCode::SystemBusy,
            "[OVERLOAD]system busy, start flow control for a while",
        );
    };
    let h = match decode_send_header(req.code, &req.ext_fields) {
        Ok(h) => h,
        Err(e) => return RemotingCommand::header_error(req, &e),
    };
    debug!(code = req.code, topic = %h.topic, queue_id = h.queue_id, body = req.body_len(), batch = ?h.batch, "send request");
    let tc = match check(ctx, conn, req, &h) {
        Ok(tc) => tc,
        Err(resp) => {
            BrokerStats::add(&ctx.stats.put_failures, 1);
            return *resp;
        }
    };
    let queue_id = if h.queue_id < 0 {
        fastrand::i32(0..tc.write_queue_nums.max(1))
    } else {
        h.queue_id
    };
    let props = properties::decode(h.properties.as_deref().unwrap_or(""));
    if props.get(properties::TRAN_MSG) == Some("true") {
        // Transactions (half messages, END_TRANSACTION, checks) arrive with their own issue.
        return RemotingCommand::error(
            req,
            ResponseCode::NoPermission,
            "transactional messages are not supported by this broker yet",
        );
    }
    if props
        .get(properties::DELAY)
        .and_then(|d| d.parse::<i32>().ok())
        .unwrap_or(0)
        > 0
    {
        // Scheduled delivery arrives with the delay-message issue; refuse rather than deliver early.
        return RemotingCommand::error(
            req,
            ResponseCode::MessageIllegal,
            "delay messages are not supported by this broker yet",
        );
    }
    let mut sys_flag = h.sys_flag;
    if tc.topic_filter_type == TopicFilterType::MultiTag {
        sys_flag |= sysflag::MULTI_TAGS;
    }
    let born_host = canonical(conn.peer_addr());
    let cluster = ctx.identity.cluster_name.clone();
    let body = req.body.clone().unwrap_or_default();

    let declared_batch = req.code == RequestCode::SendBatchMessage.code() || h.batch == Some(true);
    let cpp_batch = if declared_batch {
        None
    } else {
        cpp_batch_quirk(req, &props, sys_flag, &body)
    };
    let result = if declared_batch || cpp_batch.is_some() {
        sys_flag &= !sysflag::COMPRESSED;
        let entries = match cpp_batch
            .map_or_else(|| decode_batch_body(&body).map_err(|e| e.to_string()), Ok)
        {
            Ok(e) => e,
            Err(e) => {
                return RemotingCommand::error(
                    req,
                    ResponseCode::MessageIllegal,
                    format!("bad batch body: {e}"),
                );
            }
        };
        let mut batch_props = props.clone();
        batch_props.remove(properties::WAIT);
        batch_props.remove(properties::UNIQ_KEY);
        batch_props.insert(properties::CLUSTER, cluster.as_str());
        let batch_props = properties::encode(&batch_props);
        let msgs: Vec<MessageExt> = entries
            .into_iter()
            .map(|e| {
                let p = properties::decode(&merge_batch_properties(&e.properties, &batch_props));
                message(
                    &h,
                    &tc.topic_name,
                    queue_id,
                    sys_flag,
                    e.flag,
                    born_host,
                    ctx.store_host,
                    e.body,
                    p,
                )
            })
            .collect();
        let n = msgs.len() as u64;
        let r = ctx.store.put_messages(&msgs).await;
        if r.is_stored() {
            BrokerStats::add(&ctx.stats.put_messages, n);
        }
        r
    } else {
        let mut p: Properties = props;
        if p.get(properties::WAIT) != Some("false") {
            p.remove(properties::WAIT);
        }
        p.insert(properties::CLUSTER, cluster.as_str());
        let msg = message(
            &h,
            &tc.topic_name,
            queue_id,
            sys_flag,
            h.flag,
            born_host,
            ctx.store_host,
            body,
            p,
        );
        let r = ctx.store.put_message(msg).await;
        if r.is_stored() {
            BrokerStats::add(&ctx.stats.put_messages, 1);
        }
        r
    };
    if !result.is_stored() {
        BrokerStats::add(&ctx.stats.put_failures, 1);
    }
    respond(ctx, req, queue_id, result)
}

/// The Apache C++ client 2.x sends `send_batch` as a plain SEND_MESSAGE_V2 with `batch=false`
/// (its `typeid` check for `BatchMessage` fails): the body is the batch encoding, possibly
/// zlib-compressed, and the only properties are `WAIT` and a fresh `UNIQ_KEY`. Such a request
/// is stored as the batch it is; anything else is a normal message.
fn cpp_batch_quirk(
    req: &RemotingCommand,
    props: &Properties,
    sys_flag: i32,
    body: &bytes::Bytes,
) -> Option<Vec<BatchEntry>> {
    if req.language != remoting::protocol::LanguageCode::Cpp
        || props
            .keys()
            .any(|k| k != properties::WAIT && k != properties::UNIQ_KEY)
    {
        return None;
    }
    let raw = if sys_flag & sysflag::COMPRESSED != 0 {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(&body[..])
            .read_to_end(&mut out)
            .ok()?;
        bytes::Bytes::from(out)
    } else {
        body.clone()
    };
    let entries = decode_batch_body(&raw).ok()?;
    client_written(&raw).then_some(entries)
}

/// True when every entry of a well-formed batch body has MAGICCODE and BODYCRC 0, as clients
/// write them: with that, the body is a batch encoding beyond reasonable doubt.
fn client_written(body: &[u8]) -> bool {
    let mut pos = 0;
    while pos + 12 <= body.len() {
        let total = i32::from_be_bytes(body[pos..pos + 4].try_into().expect("4 bytes")) as usize;
        if body[pos + 4..pos + 12].iter().any(|b| *b != 0) || total == 0 {
            return false;
        }
        pos += total;
    }
    pos == body.len()
}

/// Validates the request and finds (or auto-creates) its topic, as `msgCheck` does.
fn check(
    ctx: &BrokerContext,
    conn: &Connection,
    req: &RemotingCommand,
    h: &SendMessageRequestHeader,
) -> Result<TopicConfig, Box<RemotingCommand>> {
    let err = |code, remark: String| Err(Box::new(RemotingCommand::error(req, code, remark)));
    if ctx.is_slave {
        return err(
            ResponseCode::ServiceNotAvailable,
            "the broker is a slave, it does not accept messages".into(),
        );
    }
    if !perm::is_writeable(ctx.broker_permission()) {
        return err(
            ResponseCode::NoPermission,
            format!(
                "the broker[{}] sending message is forbidden",
                ctx.identity.broker_addr
            ),
        );
    }
    if let Err(why) = topic_config::validate_topic(&h.topic) {
        return err(ResponseCode::SystemError, why);
    }
    if NOT_ALLOWED_SEND_TOPICS.contains(&h.topic.as_str()) {
        return err(
            ResponseCode::NoPermission,
            format!("Sending message to topic[{}] is forbidden.", h.topic),
        );
    }
    let auto_create = ctx.config.read().auto_create_topic_enable;
    let tc = match ctx.topics.get(&h.topic) {
        Some(tc) => tc,
        None => {
            let sys = if h.unit_mode == Some(true) { 1 } else { 0 };
            let created = ctx
                .topics
                .create_in_send(
                    &h.topic,
                    &h.default_topic,
                    h.default_topic_queue_nums,
                    sys,
                    auto_create,
                )
                .or_else(|| {
                    h.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX).then(|| {
                        ctx.topics
                            .create_internal(&h.topic, 1, perm::READ | perm::WRITE)
                            .0
                    })
                });
            match created {
                Some(tc) => {
                    debug!(topic = %h.topic, peer = %conn.peer_addr(), "topic auto-created");
                    ctx.topics_changed();
                    tc
                }
                None => {
                    return err(
                        ResponseCode::TopicNotExist,
                        format!(
                            "topic[{}] not exist, apply first please! See http://rocketmq.apache.org/docs/faq/",
                            h.topic
                        ),
                    );
                }
            }
        }
    };
    if !perm::is_writeable(tc.perm) {
        return err(
            ResponseCode::NoPermission,
            format!("the topic[{}] sending message is forbidden", h.topic),
        );
    }
    let queues = tc.read_queue_nums.max(tc.write_queue_nums);
    if h.queue_id >= queues {
        return err(
            ResponseCode::SystemError,
            format!(
                "request queueId[{}] is illegal, {} Producer: {}",
                h.queue_id,
                tc.topic_name,
                conn.peer_addr()
            ),
        );
    }
    Ok(tc)
}

#[allow(clippy::too_many_arguments)]
fn message(
    h: &SendMessageRequestHeader,
    topic: &str,
    queue_id: i32,
    sys_flag: i32,
    flag: i32,
    born_host: SocketAddr,
    store_host: SocketAddr,
    body: bytes::Bytes,
    properties: Properties,
) -> MessageExt {
    MessageExt {
        topic: topic.to_owned(),
        queue_id,
        flag,
        sys_flag,
        born_timestamp: h.born_timestamp,
        born_host,
        store_host,
        reconsume_times: h.reconsume_times.unwrap_or(0),
        body,
        properties,
        ..Default::default()
    }
}

fn respond(
    ctx: &BrokerContext,
    req: &RemotingCommand,
    queue_id: i32,
    r: PutMessageResult,
) -> RemotingCommand {
    use PutMessageStatus::*;
    let code = match r.status {
        PutOk => ResponseCode::Success,
        FlushDiskTimeout => ResponseCode::FlushDiskTimeout,
        FlushSlaveTimeout => ResponseCode::FlushSlaveTimeout,
        SlaveNotAvailable => ResponseCode::SlaveNotAvailable,
        ServiceNotAvailable => {
            let why = if ctx.store.is_disk_full() {
                "the disk is full"
            } else {
                "the store is not writable"
            };
            return RemotingCommand::error(
                req,
                ResponseCode::ServiceNotAvailable,
                format!("service not available now: {why}"),
            );
        }
        CreateMappedFileFailed => {
            return RemotingCommand::error(
                req,
                ResponseCode::SystemError,
                "create mapped file failed, server is busy or broken.",
            );
        }
        MessageIllegal | PropertiesSizeExceeded => {
            let max = ctx.store.config().max_message_size;
            return RemotingCommand::error(
                req,
                ResponseCode::MessageIllegal,
                format!(
                    "the message is illegal, maybe msg body or properties length not matched. msg body length limit {max}B, properties length limit 32767B"
                ),
            );
        }
        OsPageCacheBusy => {
            return RemotingCommand::error(
                req,
                ResponseCode::SystemBusy,
                "[PC_SYNCHRONIZED]broker busy, start flow control for a while",
            );
        }
        UnknownError => {
            return RemotingCommand::error(req, ResponseCode::SystemError, "UNKNOWN_ERROR");
        }
    };
    let Some(a) = r.append else {
        return RemotingCommand::error(req, ResponseCode::SystemError, "message not stored");
    };
    let (region, trace_on) = {
        let c = ctx.config.read();
        (c.region_id.clone(), c.trace_on)
    };
    RemotingCommand::response_to(req, code)
        .with_header(&SendMessageResponseHeader {
            msg_id: a.msg_id,
            queue_id,
            queue_offset: a.logics_offset,
            transaction_id: None,
        })
        .with_ext(properties::MSG_REGION, region)
        .with_ext(properties::TRACE_ON, trace_on)
}

/// IPv4-mapped IPv6 peers become IPv4 (C++ consumers read only 4-byte hosts).
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

#[cfg(test)]
mod tests {
    use bytes::{Bytes, BytesMut};
    use remoting::message::batch::{BatchEntry, encode_batch_body};

    use super::client_written;

    #[test]
    fn only_bodies_shaped_like_client_batches_count() {
        let entries = vec![
            BatchEntry {
                flag: 0,
                body: Bytes::from_static(b"a"),
                properties: "TAGS\u{1}X".into(),
            },
            BatchEntry {
                flag: 3,
                body: Bytes::from_static(b"bb"),
                properties: String::new(),
            },
        ];
        let mut buf = BytesMut::new();
        encode_batch_body(&entries, &mut buf);
        assert!(client_written(&buf));
        let mut magic = buf.to_vec();
        magic[4] = 0xDA; // a stored-record magic code is not what a client writes
        assert!(!client_written(&magic));
        assert!(!client_written(&buf[..buf.len() - 1]));
        assert!(!client_written(b"plain message body"));
    }
}
