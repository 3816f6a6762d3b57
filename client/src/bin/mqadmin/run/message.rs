//! Message subcommands: queries by id, key, offset and unique key; send; consume.

use client::admin::Admin;
use client::admin::table::Table;
use client::consumer::PullConsumer;
use client::{ClientConfig, ClientError, Message, MessageQueue, Producer, ProducerConfig, Result};
use serde_json::Value;

use super::invalid;
use crate::output::{Output, message};

/// `queryMsgById -g -d`: have one consumer client consume the message directly.
pub(super) async fn query_msg_by_id_directly(
    admin: &Admin,
    msg_id: String,
    group: String,
    client_id: String,
) -> Result<Output> {
    let r = admin
        .consume_message_directly(&group, &client_id, &msg_id)
        .await?;
    let text = format!("ConsumeMessageDirectlyResult: {r}\n");
    Ok(Output { text, json: r })
}

/// `queryMsgById`: view a message by offset message id, falling back to a topic query.
pub(super) async fn query_msg_by_id(
    admin: &Admin,
    msg_id: String,
    topic: Option<String>,
) -> Result<Output> {
    match admin.view_message(&msg_id).await {
        Ok(m) => Ok(message(&m)),
        Err(ClientError::Invalid(_)) if topic.is_some() => {
            let topic = topic.unwrap_or_default();
            let found = admin
                .query_message(&topic, &msg_id, 32, 0, i64::MAX, true)
                .await?;
            let m = found
                .first()
                .ok_or_else(|| invalid(format!("message {msg_id} not found")))?;
            Ok(message(m))
        }
        Err(e) => Err(e),
    }
}

/// `queryMsgByKey`: messages of a topic carrying a key.
pub(super) async fn query_msg_by_key(
    admin: &Admin,
    topic: String,
    key: String,
    begin: i64,
    end: i64,
    max: i32,
) -> Result<Output> {
    let found = admin
        .query_message(&topic, &key, max, begin, end, false)
        .await?;
    let mut t = Table::new(["Message ID", "QID", "Offset"]);
    for m in found
        .iter()
        .filter(|m| m.properties.keys().any(|k| k == key))
    {
        t.row([
            m.msg_id(),
            m.queue_id.to_string(),
            m.queue_offset.to_string(),
        ]);
    }
    Ok(Output::table(t))
}

/// `queryMsgByOffset`: the message at one offset of one queue.
pub(super) async fn query_msg_by_offset(
    client: ClientConfig,
    topic: String,
    broker: String,
    queue: i32,
    offset: i64,
) -> Result<Output> {
    let pc = PullConsumer::start(client, "TOOLS_CONSUMER");
    let mq = MessageQueue {
        topic,
        broker_name: broker,
        queue_id: queue,
    };
    pc.fetch_subscribe_message_queues(&mq.topic).await?;
    let r = pc.pull(&mq, "*", offset, 1).await?;
    pc.shutdown();
    let m = r
        .messages
        .first()
        .ok_or_else(|| invalid(format!("no message at offset {offset} of {mq:?}")))?;
    Ok(message(m))
}

/// `queryMsgByUniqueKey`: messages of a topic by unique (client) message id.
pub(super) async fn query_msg_by_unique_key(
    admin: &Admin,
    msg_id: String,
    topic: String,
    all: bool,
) -> Result<Output> {
    let found = admin
        .query_message(&topic, &msg_id, 32, 0, i64::MAX, true)
        .await?;
    let found: Vec<_> = found.into_iter().filter(|m| m.msg_id() == msg_id).collect();
    if found.is_empty() {
        return Err(invalid(format!(
            "message {msg_id} not found in topic {topic}"
        )));
    }
    if !all {
        return Ok(message(&found[0]));
    }
    let outs: Vec<Output> = found.iter().map(message).collect();
    Ok(Output {
        text: outs
            .iter()
            .map(|o| o.text.clone())
            .collect::<Vec<_>>()
            .join("\n"),
        json: Value::Array(outs.into_iter().map(|o| o.json).collect()),
    })
}

/// `sendMessage`: send one message, to a chosen queue or by the default selection.
pub(super) async fn send_message(
    client: ClientConfig,
    topic: String,
    body: String,
    keys: Option<String>,
    tags: Option<String>,
    broker: Option<String>,
    qid: Option<i32>,
) -> Result<Output> {
    let p = Producer::start(
        client,
        ProducerConfig {
            group: "TOOLS_PRODUCER".into(),
            ..Default::default()
        },
    )
    .await?;
    let mut m = Message::new(topic.clone(), body.into_bytes());
    if let Some(k) = keys {
        m = m.with_keys(k.split(' '));
    }
    if let Some(t) = tags {
        m = m.with_tags(t);
    }
    let r = match broker {
        Some(b) => {
            let mq = MessageQueue {
                topic,
                broker_name: b,
                queue_id: qid.unwrap_or(0),
            };
            p.send_to_queue(m, &mq).await
        }
        None => p.send(m).await,
    };
    p.shutdown().await;
    let r = r?;
    let mut t = Table::new(["Broker Name", "QID", "Send Result", "MsgId", "OffsetMsgId"]);
    t.row([
        r.queue.broker_name.clone(),
        r.queue.queue_id.to_string(),
        r.status.name().into(),
        r.msg_id.clone(),
        r.offset_msg_id.clone(),
    ]);
    Ok(Output::table(t))
}

/// `consumeMessage`: pull messages from the matching queues and list them.
#[allow(clippy::too_many_arguments)]
pub(super) async fn consume_message(
    client: ClientConfig,
    topic: String,
    broker: Option<String>,
    queue: Option<i32>,
    offset: Option<i64>,
    group: String,
    begin: Option<i64>,
    end: Option<i64>,
    count: usize,
) -> Result<Output> {
    let pc = PullConsumer::start(client, group);
    let mut mqs = pc.fetch_subscribe_message_queues(&topic).await?;
    mqs.retain(|q| {
        broker.as_ref().is_none_or(|b| &q.broker_name == b) && queue.is_none_or(|i| q.queue_id == i)
    });
    if mqs.is_empty() {
        return Err(invalid("no queue matches -b/-i"));
    }
    let mut t = Table::new(["Broker Name", "QID", "Offset", "MsgId", "Tags", "Body"]);
    'queues: for mq in &mqs {
        let mut next = match (offset, begin) {
            (Some(o), _) => o,
            (None, Some(ts)) => pc.search_offset(mq, ts).await?,
            (None, None) => pc.min_offset(mq).await?,
        };
        loop {
            let r = pc.pull(mq, "*", next, 32).await?;
            if r.messages.is_empty() {
                break;
            }
            next = r.next_begin_offset;
            for m in &r.messages {
                if end.is_some_and(|e| m.store_timestamp >= e) {
                    continue 'queues;
                }
                if t.len() >= count {
                    break 'queues;
                }
                t.row([
                    mq.broker_name.clone(),
                    mq.queue_id.to_string(),
                    m.queue_offset.to_string(),
                    m.msg_id(),
                    m.tags().unwrap_or("").into(),
                    String::from_utf8_lossy(&m.body).into_owned(),
                ]);
            }
        }
    }
    pc.shutdown();
    Ok(Output::table(t))
}
