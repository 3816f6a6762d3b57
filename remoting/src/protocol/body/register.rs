//! `RegisterBrokerBody`, in its JSON and zlib-compressed forms.

use std::io::{Read, Write};

use bytes::{Buf, BufMut};
use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{DataVersion, TopicConfig, TopicConfigSerializeWrapper, TopicFilterType};

/// A REGISTER_BROKER body that could not be read.
#[derive(Debug, Error)]
pub enum RegisterBrokerBodyError {
    /// Bad JSON.
    #[error("bad register body JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Bad compressed stream.
    #[error("bad compressed register body: {0}")]
    Compressed(String),
}

/// The body of REGISTER_BROKER: the broker's topics and filter servers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RegisterBrokerBody {
    /// Filter-server addresses.
    pub filter_server_list: Vec<String>,
    /// Topics with their data version.
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
}

impl RegisterBrokerBody {
    /// Encodes as JSON, or as Apache's compressed form when `compressed`.
    pub fn encode(&self, compressed: bool) -> Vec<u8> {
        if !compressed {
            return super::to_json(self);
        }
        let mut raw = Vec::new();
        put_chunk(
            &mut raw,
            &super::to_json(&self.topic_config_serialize_wrapper.data_version),
        );
        let topics = &self.topic_config_serialize_wrapper.topic_config_table;
        raw.put_i32(topics.len() as i32);
        for t in topics.values() {
            let line = format!(
                "{} {} {} {} {}",
                t.topic_name,
                t.read_queue_nums,
                t.write_queue_nums,
                t.perm,
                t.topic_filter_type.name()
            );
            put_chunk(&mut raw, line.as_bytes());
        }
        put_chunk(&mut raw, &super::to_json(&self.filter_server_list));
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::best());
        enc.write_all(&raw).expect("in-memory write");
        enc.finish().expect("in-memory write")
    }

    /// Decodes a body; `compressed` comes from the request header. Very old brokers
    /// (version < 37) send a bare `TopicConfigSerializeWrapper`; `legacy` selects that form.
    pub fn decode(
        bytes: &[u8],
        compressed: bool,
        legacy: bool,
    ) -> Result<Self, RegisterBrokerBodyError> {
        if compressed {
            return Self::decode_compressed(bytes);
        }
        if legacy {
            let wrapper: TopicConfigSerializeWrapper = super::from_json(bytes)?;
            return Ok(RegisterBrokerBody {
                filter_server_list: Vec::new(),
                topic_config_serialize_wrapper: wrapper,
            });
        }
        Ok(super::from_json(bytes)?)
    }

    fn decode_compressed(bytes: &[u8]) -> Result<Self, RegisterBrokerBodyError> {
        let bad = |m: &str| RegisterBrokerBodyError::Compressed(m.to_owned());
        let mut raw = Vec::new();
        ZlibDecoder::new(bytes)
            .read_to_end(&mut raw)
            .map_err(|e| bad(&e.to_string()))?;
        let mut buf = raw.as_slice();
        let data_version: DataVersion =
            super::from_json(take_chunk(&mut buf).ok_or_else(|| bad("data version"))?)?;
        if buf.remaining() < 4 {
            return Err(bad("topic count"));
        }
        let count = buf.get_i32();
        let mut wrapper = TopicConfigSerializeWrapper {
            data_version,
            ..Default::default()
        };
        for _ in 0..count.max(0) {
            let line = take_chunk(&mut buf).ok_or_else(|| bad("topic entry"))?;
            let line = std::str::from_utf8(line).map_err(|_| bad("topic entry is not UTF-8"))?;
            let t = parse_topic_line(line).ok_or_else(|| bad(&format!("topic entry {line:?}")))?;
            wrapper.topic_config_table.insert(t.topic_name.clone(), t);
        }
        let filter_server_list = match take_chunk(&mut buf) {
            Some(json) => super::from_json(json)?,
            None => Vec::new(),
        };
        Ok(RegisterBrokerBody {
            filter_server_list,
            topic_config_serialize_wrapper: wrapper,
        })
    }
}

fn parse_topic_line(line: &str) -> Option<TopicConfig> {
    let mut it = line.split(' ');
    let topic_name = it.next()?.to_owned();
    let read_queue_nums = it.next()?.parse().ok()?;
    let write_queue_nums = it.next()?.parse().ok()?;
    let perm = it.next()?.parse().ok()?;
    let topic_filter_type = match it.next()? {
        "MULTI_TAG" => TopicFilterType::MultiTag,
        _ => TopicFilterType::SingleTag,
    };
    Some(TopicConfig {
        topic_name,
        read_queue_nums,
        write_queue_nums,
        perm,
        topic_filter_type,
        ..Default::default()
    })
}

fn put_chunk(out: &mut Vec<u8>, data: &[u8]) {
    out.put_i32(data.len() as i32);
    out.put_slice(data);
}

fn take_chunk<'a>(buf: &mut &'a [u8]) -> Option<&'a [u8]> {
    if buf.remaining() < 4 {
        return None;
    }
    let len = usize::try_from(buf.get_i32()).ok()?;
    if buf.len() < len {
        return None;
    }
    let (chunk, rest) = buf.split_at(len);
    *buf = rest;
    Some(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RegisterBrokerBody {
        let mut b = RegisterBrokerBody::default();
        b.topic_config_serialize_wrapper.data_version = DataVersion {
            counter: 3,
            timestamp: 1700000000000,
        };
        for (name, q, ft) in [
            ("TopicTest", 4, TopicFilterType::SingleTag),
            ("M", 2, TopicFilterType::MultiTag),
        ] {
            let mut t = TopicConfig::new(name, q);
            t.topic_filter_type = ft;
            b.topic_config_serialize_wrapper
                .topic_config_table
                .insert(name.into(), t);
        }
        b.filter_server_list = vec!["10.0.0.1:1".into()];
        b
    }

    #[test]
    fn json_form_matches_fastjson_sample() {
        let mut b = sample();
        b.filter_server_list.clear();
        b.topic_config_serialize_wrapper
            .topic_config_table
            .remove("M");
        assert_eq!(
            String::from_utf8(b.encode(false)).unwrap(),
            r#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":3,"timestamp":1700000000000},"topicConfigTable":{"TopicTest":{"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4}}}}"#
        );
    }

    #[test]
    fn compressed_round_trip() {
        let b = sample();
        let bytes = b.encode(true);
        assert_eq!(&bytes[..1], &[0x78], "zlib wrapper");
        assert_eq!(RegisterBrokerBody::decode(&bytes, true, false).unwrap(), b);
    }

    #[test]
    fn garbage_compressed_body_is_an_error() {
        assert!(RegisterBrokerBody::decode(b"not zlib", true, false).is_err());
    }
}
