//! Typed requests to name servers and brokers (Apache `MQClientAPIImpl`): one function per
//! request code, each turning a non-success answer into [`ClientError::Broker`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use remoting::client::RemotingClient;
use remoting::message::{MessageExt, decode_records, sysflag};
use remoting::protocol::body::{
    ConsumerListByGroupResponseBody, HeartbeatData, LockBatchRequestBody, LockBatchResponseBody,
    MessageQueue, TopicRouteData, from_json, to_json,
};
use remoting::protocol::header::*;
use remoting::{RemotingCommand, RequestCode, ResponseCode};

use crate::error::{ClientError, Result};

/// Response codes a send counts as stored (the status tells how well).
const SEND_STORED: [i32; 4] = [0, 10, 11, 12];

/// Requests over one [`RemotingClient`], with the name-server list of the instance.
pub struct ClientApi {
    remoting: Arc<RemotingClient>,
    namesrv: Vec<String>,
    namesrv_index: AtomicUsize,
    timeout: Duration,
}

/// What a pull returned (Apache `PullStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    /// Messages were found.
    Found,
    /// The queue has no message at that offset yet.
    NoNewMsg,
    /// Messages exist but none matched the filter.
    NoMatchedMsg,
    /// The offset is outside the queue; continue from `next_begin_offset`.
    OffsetIllegal,
}

/// The answer to a pull.
#[derive(Debug, Clone)]
pub struct PullResult {
    /// Status.
    pub status: PullStatus,
    /// Offset to pull from next.
    pub next_begin_offset: i64,
    /// Smallest offset of the queue.
    pub min_offset: i64,
    /// Next offset the queue will write.
    pub max_offset: i64,
    /// Broker id the broker suggests pulling from next.
    pub suggest_which_broker_id: i64,
    /// Decoded messages (bodies decompressed), before client-side tag filtering.
    pub messages: Vec<MessageExt>,
}

/// The raw answer to a send that was stored.
#[derive(Debug, Clone)]
pub struct SendResponse {
    /// Response code (0, 10, 11 or 12).
    pub code: i32,
    /// Decoded header.
    pub header: SendMessageResponseHeader,
    /// `MSG_REGION` ext field.
    pub region_id: Option<String>,
    /// `TRACE_ON` ext field.
    pub trace_on: Option<bool>,
}

fn check(addr: &str, resp: RemotingCommand) -> Result<RemotingCommand> {
    if resp.code == ResponseCode::Success.code() {
        Ok(resp)
    } else {
        Err(broker_error(addr, &resp))
    }
}

/// The error for a refusing response.
pub fn broker_error(addr: &str, resp: &RemotingCommand) -> ClientError {
    ClientError::Broker {
        addr: addr.to_owned(),
        code: resp.code,
        remark: resp.remark.clone().unwrap_or_default(),
    }
}

fn body_of(resp: &RemotingCommand) -> &[u8] {
    resp.body.as_deref().unwrap_or(&[])
}

/// Inflates zlib-compressed bodies in place; other codecs are left as stored.
pub fn decompress_bodies(messages: &mut [MessageExt]) {
    use std::io::Read;
    for m in messages {
        if m.sys_flag & sysflag::COMPRESSED == 0 {
            continue;
        }
        let codec = m.sys_flag & sysflag::COMPRESSION_TYPE_MASK;
        if codec != 0 && codec != 0x300 {
            tracing::warn!(codec, "unsupported compression type; body left compressed");
            continue;
        }
        let mut out = Vec::new();
        if flate2::read::ZlibDecoder::new(&m.body[..])
            .read_to_end(&mut out)
            .is_ok()
        {
            m.body = Bytes::from(out);
            m.sys_flag &= !sysflag::COMPRESSED;
        }
    }
}

impl ClientApi {
    /// Requests over `remoting` to the name servers `namesrv`, `timeout` for ordinary calls.
    pub fn new(remoting: Arc<RemotingClient>, namesrv: Vec<String>, timeout: Duration) -> Self {
        ClientApi {
            remoting,
            namesrv,
            namesrv_index: AtomicUsize::new(0),
            timeout,
        }
    }

    /// The name-server addresses.
    pub fn namesrv_addrs(&self) -> &[String] {
        &self.namesrv
    }

    /// The default request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The underlying transport.
    pub fn remoting(&self) -> &Arc<RemotingClient> {
        &self.remoting
    }

    /// Sends `cmd` to `addr` and returns the answer whatever its code.
    pub async fn invoke_raw(
        &self,
        addr: &str,
        cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand> {
        Ok(self.remoting.invoke(addr, cmd, timeout).await?)
    }

    /// Sends `cmd` to `addr`; a non-success answer is an error.
    pub async fn invoke(&self, addr: &str, cmd: RemotingCommand) -> Result<RemotingCommand> {
        let resp = self.invoke_raw(addr, cmd, self.timeout).await?;
        check(addr, resp)
    }

    /// Sends `cmd` to `addr` as a oneway request.
    pub async fn invoke_oneway(&self, addr: &str, cmd: RemotingCommand) -> Result<()> {
        Ok(self.remoting.invoke_oneway(addr, cmd).await?)
    }

    /// Sends `cmd` to one name server, trying the next on transport failures. A server's
    /// refusal is returned as is (the next server would say the same).
    pub async fn invoke_namesrv(&self, cmd: RemotingCommand) -> Result<RemotingCommand> {
        if self.namesrv.is_empty() {
            return Err(ClientError::NoNameServer);
        }
        let start = self.namesrv_index.load(Ordering::Relaxed);
        let mut last = None;
        for i in 0..self.namesrv.len() {
            let idx = (start + i) % self.namesrv.len();
            let addr = &self.namesrv[idx];
            match self.invoke_raw(addr, cmd.clone(), self.timeout).await {
                Ok(resp) => {
                    self.namesrv_index.store(idx, Ordering::Relaxed);
                    return check(addr, resp);
                }
                Err(e) => {
                    tracing::debug!(%addr, error = %e, "name server unreachable");
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or(ClientError::NoNameServer))
    }

    /// GET_ROUTEINFO_BY_TOPIC.
    pub async fn get_topic_route(&self, topic: &str) -> Result<TopicRouteData> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::GetRouteinfoByTopic,
            &GetRouteInfoRequestHeader {
                topic: topic.into(),
                accept_standard_json_only: None,
            },
        );
        let resp = self.invoke_namesrv(cmd).await?;
        Ok(from_json(body_of(&resp))?)
    }

    /// SEND_MESSAGE_V2 or SEND_BATCH_MESSAGE (when `header.batch` is set), waiting for
    /// the answer.
    pub async fn send_message(
        &self,
        addr: &str,
        header: SendMessageRequestHeader,
        body: Bytes,
        timeout: Duration,
    ) -> Result<SendResponse> {
        let code = if header.batch == Some(true) {
            RequestCode::SendBatchMessage
        } else {
            RequestCode::SendMessageV2
        };
        let cmd = RemotingCommand::request_with_header(
            code,
            &SendMessageRequestHeaderV2::from_v1(header),
        )
        .with_body(body);
        let resp = self.invoke_raw(addr, cmd, timeout).await?;
        if !SEND_STORED.contains(&resp.code) {
            return Err(broker_error(addr, &resp));
        }
        Ok(SendResponse {
            code: resp.code,
            header: resp.decode_header()?,
            region_id: resp
                .ext(remoting::message::properties::MSG_REGION)
                .map(str::to_owned),
            trace_on: resp
                .ext(remoting::message::properties::TRACE_ON)
                .map(|v| v == "true"),
        })
    }

    /// SEND_MESSAGE_V2 as a oneway request.
    pub async fn send_message_oneway(
        &self,
        addr: &str,
        header: SendMessageRequestHeader,
        body: Bytes,
    ) -> Result<()> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::SendMessageV2,
            &SendMessageRequestHeaderV2::from_v1(header),
        )
        .with_body(body)
        .oneway();
        self.invoke_oneway(addr, cmd).await
    }

    /// PULL_MESSAGE; `timeout` must exceed the header's suspend time for long polls.
    pub async fn pull_message(
        &self,
        addr: &str,
        header: PullMessageRequestHeader,
        timeout: Duration,
    ) -> Result<PullResult> {
        let cmd = RemotingCommand::request_with_header(RequestCode::PullMessage, &header);
        let resp = self.invoke_raw(addr, cmd, timeout).await?;
        let status = match ResponseCode::from_code(resp.code) {
            Some(ResponseCode::Success) => PullStatus::Found,
            Some(ResponseCode::PullNotFound) => PullStatus::NoNewMsg,
            Some(ResponseCode::PullRetryImmediately) => PullStatus::NoMatchedMsg,
            Some(ResponseCode::PullOffsetMoved) => PullStatus::OffsetIllegal,
            _ => return Err(broker_error(addr, &resp)),
        };
        let h: PullMessageResponseHeader = resp.decode_header()?;
        let mut messages = match (&status, &resp.body) {
            (PullStatus::Found, Some(body)) => decode_records(body)?,
            _ => Vec::new(),
        };
        decompress_bodies(&mut messages);
        Ok(PullResult {
            status,
            next_begin_offset: h.next_begin_offset,
            min_offset: h.min_offset,
            max_offset: h.max_offset,
            suggest_which_broker_id: h.suggest_which_broker_id,
            messages,
        })
    }

    /// QUERY_CONSUMER_OFFSET: `Ok(None)` when the broker has no offset (code 22).
    pub async fn query_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        mq: &MessageQueue,
    ) -> Result<Option<i64>> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::QueryConsumerOffset,
            &QueryConsumerOffsetRequestHeader {
                consumer_group: group.into(),
                topic: mq.topic.clone(),
                queue_id: mq.queue_id,
            },
        );
        let resp = self.invoke_raw(addr, cmd, self.timeout).await?;
        if resp.code == ResponseCode::QueryNotFound.code() {
            return Ok(None);
        }
        let resp = check(addr, resp)?;
        Ok(Some(resp.decode_header::<OffsetResponseHeader>()?.offset))
    }

    /// UPDATE_CONSUMER_OFFSET, oneway (periodic commits) or waiting (shutdown, rebalance).
    pub async fn update_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        mq: &MessageQueue,
        offset: i64,
        oneway: bool,
    ) -> Result<()> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::UpdateConsumerOffset,
            &UpdateConsumerOffsetRequestHeader {
                consumer_group: group.into(),
                topic: mq.topic.clone(),
                queue_id: mq.queue_id,
                commit_offset: offset,
            },
        );
        if oneway {
            self.invoke_oneway(addr, cmd.oneway()).await
        } else {
            self.invoke(addr, cmd).await.map(drop)
        }
    }

    async fn queue_offset(&self, addr: &str, code: RequestCode, mq: &MessageQueue) -> Result<i64> {
        let cmd = RemotingCommand::request_with_header(
            code,
            &TopicQueueRequestHeader {
                topic: mq.topic.clone(),
                queue_id: mq.queue_id,
            },
        );
        let resp = self.invoke(addr, cmd).await?;
        Ok(resp.decode_header::<OffsetResponseHeader>()?.offset)
    }

    /// GET_MAX_OFFSET: the next offset the queue will write.
    pub async fn get_max_offset(&self, addr: &str, mq: &MessageQueue) -> Result<i64> {
        self.queue_offset(addr, RequestCode::GetMaxOffset, mq).await
    }

    /// GET_MIN_OFFSET.
    pub async fn get_min_offset(&self, addr: &str, mq: &MessageQueue) -> Result<i64> {
        self.queue_offset(addr, RequestCode::GetMinOffset, mq).await
    }

    /// SEARCH_OFFSET_BY_TIMESTAMP.
    pub async fn search_offset(
        &self,
        addr: &str,
        mq: &MessageQueue,
        timestamp: i64,
    ) -> Result<i64> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::SearchOffsetByTimestamp,
            &SearchOffsetRequestHeader {
                topic: mq.topic.clone(),
                queue_id: mq.queue_id,
                timestamp,
            },
        );
        let resp = self.invoke(addr, cmd).await?;
        Ok(resp.decode_header::<OffsetResponseHeader>()?.offset)
    }

    /// GET_EARLIEST_MSG_STORETIME.
    pub async fn earliest_msg_store_time(&self, addr: &str, mq: &MessageQueue) -> Result<i64> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::GetEarliestMsgStoretime,
            &TopicQueueRequestHeader {
                topic: mq.topic.clone(),
                queue_id: mq.queue_id,
            },
        );
        let resp = self.invoke(addr, cmd).await?;
        Ok(resp.decode_header::<TimestampResponseHeader>()?.timestamp)
    }

    /// HEART_BEAT; returns the broker's version.
    pub async fn heartbeat(&self, addr: &str, data: &HeartbeatData) -> Result<i32> {
        let cmd = RemotingCommand::new_request(RequestCode::HeartBeat).with_body(to_json(data));
        Ok(self.invoke(addr, cmd).await?.version)
    }

    /// UNREGISTER_CLIENT.
    pub async fn unregister_client(
        &self,
        addr: &str,
        client_id: &str,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) -> Result<()> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::UnregisterClient,
            &UnregisterClientRequestHeader {
                client_id: client_id.into(),
                producer_group: producer_group.map(str::to_owned),
                consumer_group: consumer_group.map(str::to_owned),
            },
        );
        self.invoke(addr, cmd).await.map(drop)
    }

    /// GET_CONSUMER_LIST_BY_GROUP: the client ids of the group's live consumers.
    pub async fn get_consumer_id_list(&self, addr: &str, group: &str) -> Result<Vec<String>> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::GetConsumerListByGroup,
            &ConsumerGroupRequestHeader {
                consumer_group: group.into(),
            },
        );
        let resp = self.invoke(addr, cmd).await?;
        let body: ConsumerListByGroupResponseBody = from_json(body_of(&resp))?;
        Ok(body.consumer_id_list)
    }

    /// LOCK_BATCH_MQ: the queues now locked by `client_id`.
    pub async fn lock_batch_mq(
        &self,
        addr: &str,
        body: &LockBatchRequestBody,
    ) -> Result<Vec<MessageQueue>> {
        let cmd = RemotingCommand::new_request(RequestCode::LockBatchMq).with_body(to_json(body));
        let resp = self.invoke(addr, cmd).await?;
        let locked: LockBatchResponseBody = from_json(body_of(&resp))?;
        Ok(locked.lock_ok_mq_set.into_iter().collect())
    }

    /// UNLOCK_BATCH_MQ.
    pub async fn unlock_batch_mq(&self, addr: &str, body: &LockBatchRequestBody) -> Result<()> {
        let cmd = RemotingCommand::new_request(RequestCode::UnlockBatchMq).with_body(to_json(body));
        self.invoke(addr, cmd).await.map(drop)
    }

    /// CONSUMER_SEND_MSG_BACK: hands a message back for a delayed retry.
    pub async fn consumer_send_msg_back(
        &self,
        addr: &str,
        header: ConsumerSendMsgBackRequestHeader,
    ) -> Result<()> {
        let cmd = RemotingCommand::request_with_header(RequestCode::ConsumerSendMsgBack, &header);
        self.invoke(addr, cmd).await.map(drop)
    }

    /// VIEW_MESSAGE_BY_ID: the record stored at `offset` on the broker `addr`.
    pub async fn view_message(&self, addr: &str, offset: i64) -> Result<MessageExt> {
        let cmd = RemotingCommand::request_with_header(
            RequestCode::ViewMessageById,
            &ViewMessageRequestHeader { offset },
        );
        let resp = self.invoke(addr, cmd).await?;
        let mut msgs = decode_records(resp.body.as_ref().unwrap_or(&Bytes::new()))?;
        decompress_bodies(&mut msgs);
        msgs.into_iter().next().ok_or_else(|| ClientError::Broker {
            addr: addr.into(),
            code: ResponseCode::SystemError.code(),
            remark: "empty VIEW_MESSAGE_BY_ID body".into(),
        })
    }

    /// QUERY_MESSAGE by key (or by unique key): matching records, empty when none.
    pub async fn query_message(
        &self,
        addr: &str,
        header: QueryMessageRequestHeader,
        unique_key: bool,
        timeout: Duration,
    ) -> Result<Vec<MessageExt>> {
        let cmd = RemotingCommand::request_with_header(RequestCode::QueryMessage, &header)
            .with_ext("_UNIQUE_KEY_QUERY", unique_key);
        let resp = self.invoke_raw(addr, cmd, timeout).await?;
        if resp.code == ResponseCode::QueryNotFound.code() {
            return Ok(Vec::new());
        }
        let resp = check(addr, resp)?;
        let mut msgs = decode_records(resp.body.as_ref().unwrap_or(&Bytes::new()))?;
        decompress_bodies(&mut msgs);
        Ok(msgs)
    }
}
