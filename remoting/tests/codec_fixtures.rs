//! The frame codec against byte fixtures from the protocol facts and real client captures.

use bytes::{Bytes, BytesMut};
use remoting::codec::RemotingCodec;
use remoting::protocol::{LanguageCode, RequestCode, SerializeType};
use remoting::{FrameError, RemotingCommand};
use tokio_util::codec::{Decoder, Encoder};

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .filter(|t| *t != "|")
        .map(|t| u8::from_str_radix(t, 16).unwrap())
        .collect()
}

fn decode_one(bytes: &[u8]) -> RemotingCommand {
    let mut buf = BytesMut::from(bytes);
    let cmd = RemotingCodec::default()
        .decode(&mut buf)
        .unwrap()
        .expect("a whole frame");
    assert!(buf.is_empty(), "frame fully consumed");
    cmd
}

fn encode(cmd: RemotingCommand) -> Vec<u8> {
    let mut buf = BytesMut::new();
    RemotingCodec::default().encode(cmd, &mut buf).unwrap();
    buf.to_vec()
}

/// Captured from the Apache C++ client 2.x (librocketmq.so) sending GET_ROUTEINFO_BY_TOPIC.
const CPP_ROUTE_HEADER: &str = "{\"code\":105,\"extFields\":{\"AccessKey\":\"\",\"OnsChannel\":\"ALIYUN\",\"Signature\":\"i7zev+pFknVi1Qq3m8JK/8cqtns=\",\"topic\":\"TopicDbg\"},\"flag\":0,\"language\":\"CPP\",\"opaque\":0,\"remark\":\"\",\"version\":333}\n";

#[test]
fn captured_cpp_route_request_decodes() {
    assert_eq!(CPP_ROUTE_HEADER.len(), 189);
    let mut frame = Vec::new();
    frame.extend_from_slice(&193u32.to_be_bytes());
    frame.extend_from_slice(&0xbdu32.to_be_bytes());
    frame.extend_from_slice(CPP_ROUTE_HEADER.as_bytes());
    let cmd = decode_one(&frame);
    assert_eq!(cmd.request_code(), Some(RequestCode::GetRouteinfoByTopic));
    assert_eq!(cmd.language, LanguageCode::Cpp);
    assert_eq!(cmd.version, 333);
    assert_eq!(cmd.opaque, 0);
    assert_eq!(cmd.remark.as_deref(), Some(""));
    assert_eq!(cmd.ext("topic"), Some("TopicDbg"));
    assert_eq!(cmd.ext("AccessKey"), Some(""));
    assert_eq!(cmd.serialize_type, SerializeType::Json);
    assert!(!cmd.is_response() && !cmd.is_oneway());
    assert!(cmd.body.is_none());
}

#[test]
fn binary_header_worked_example_both_ways() {
    let bytes = hex(
        "00 00 00 25 | 01 00 00 21 | 00 69 | 00 | 01 99 | 00 00 00 01 | 00 00 00 00 | 00 00 00 00 | 00 00 00 0c | 00 05 74 6f 70 69 63 | 00 00 00 01 54",
    );
    let cmd = decode_one(&bytes);
    assert_eq!(cmd.code, 105);
    assert_eq!(cmd.language, LanguageCode::Java);
    assert_eq!(cmd.version, 409);
    assert_eq!(cmd.opaque, 1);
    assert_eq!(cmd.remark, None);
    assert_eq!(cmd.ext("topic"), Some("T"));
    assert_eq!(cmd.serialize_type, SerializeType::RocketMq);
    assert_eq!(encode(cmd), bytes);
}

#[test]
fn java_json_header_example_encodes_byte_for_byte() {
    let mut cmd =
        RemotingCommand::new_request(RequestCode::GetRouteinfoByTopic).with_ext("topic", "T");
    cmd.opaque = 1;
    let bytes = encode(cmd);
    let json = r#"{"code":105,"extFields":{"topic":"T"},"flag":0,"language":"JAVA","opaque":1,"serializeTypeCurrentRPC":"JSON","version":409}"#;
    assert_eq!(json.len(), 123);
    assert_eq!(&bytes[..8], &hex("00 00 00 7f 00 00 00 7b")[..]);
    assert_eq!(&bytes[8..], json.as_bytes());
}

#[test]
fn cpp_numeric_and_boolean_ext_values_become_text() {
    let header = r#"{"code":11,"extFields":{"queueId":3,"maxMsgNums":32,"jstackEnable":false,"queueOffset":"7","x":null},"flag":0,"language":"CPP","opaque":5,"remark":"","version":333}"#;
    let mut frame = Vec::new();
    frame.extend_from_slice(&((4 + header.len()) as u32).to_be_bytes());
    frame.extend_from_slice(&(header.len() as u32).to_be_bytes());
    frame.extend_from_slice(header.as_bytes());
    let cmd = decode_one(&frame);
    assert_eq!(cmd.ext("queueId"), Some("3"));
    assert_eq!(cmd.ext("maxMsgNums"), Some("32"));
    assert_eq!(cmd.ext("jstackEnable"), Some("false"));
    assert_eq!(cmd.ext("queueOffset"), Some("7"));
    assert_eq!(cmd.ext("x"), None);
}

#[test]
fn flags_response_and_oneway_bits() {
    let req = RemotingCommand::new_request(RequestCode::UpdateConsumerOffset).oneway();
    assert!(req.is_oneway() && !req.is_response());
    let resp = RemotingCommand::success(&req);
    assert!(resp.is_response());
    // Only bit 0 decides: flag 3 is a response with the oneway bit also set.
    let mut odd = RemotingCommand::new_request(0);
    odd.flag = 3;
    assert!(odd.is_response() && odd.is_oneway());
}

#[test]
fn empty_and_non_ascii_values_in_both_serializations() {
    for st in [SerializeType::Json, SerializeType::RocketMq] {
        let mut cmd = RemotingCommand::new_request(RequestCode::PutKvConfig)
            .with_ext("namespace", "名前空間")
            .with_ext("key", "ключ")
            .with_ext("value", "")
            .with_remark("ошибка ✓")
            .with_body(Bytes::from_static(&[0, 1, 2, 255]));
        cmd.serialize_type = st;
        cmd.opaque = 77;
        let back = decode_one(&encode(cmd.clone()));
        assert_eq!(back.ext("namespace"), Some("名前空間"));
        assert_eq!(back.ext("key"), Some("ключ"));
        assert_eq!(back.remark.as_deref(), Some("ошибка ✓"));
        assert_eq!(back.body.as_deref(), Some(&[0u8, 1, 2, 255][..]));
        assert_eq!(back.serialize_type, st);
        match st {
            // JSON keeps an empty value; the binary form reads an empty string as null (Java).
            SerializeType::Json => assert_eq!(back.ext("value"), Some("")),
            SerializeType::RocketMq => assert_eq!(back.ext("value"), None),
        }
    }
}

#[test]
fn response_uses_the_requests_serialization() {
    let mut req = RemotingCommand::new_request(RequestCode::GetKvConfig);
    req.serialize_type = SerializeType::RocketMq;
    req.opaque = 9;
    let resp = RemotingCommand::success(&req);
    assert_eq!(resp.serialize_type, SerializeType::RocketMq);
    assert_eq!(resp.opaque, 9);
    let bytes = encode(resp);
    assert_eq!(bytes[4], 1, "serialize-type byte");
}

#[test]
fn body_segments_follow_the_body_in_the_frame() {
    let mut cmd =
        RemotingCommand::new_request(RequestCode::PullMessage).with_body(Bytes::from_static(b"ab"));
    cmd.body_segments = vec![Bytes::from_static(b"cd"), Bytes::from_static(b"e")];
    let back = decode_one(&encode(cmd));
    assert_eq!(back.body.as_deref(), Some(&b"abcde"[..]));
}

#[test]
fn partial_frames_wait_for_more_bytes() {
    let bytes =
        encode(RemotingCommand::new_request(RequestCode::HeartBeat).with_body(vec![7u8; 100]));
    let mut codec = RemotingCodec::default();
    let mut buf = BytesMut::new();
    for (i, b) in bytes.iter().enumerate() {
        buf.extend_from_slice(&[*b]);
        let r = codec.decode(&mut buf).unwrap();
        assert_eq!(r.is_some(), i == bytes.len() - 1);
    }
}

#[test]
fn oversize_and_malformed_frames_are_errors() {
    let mut codec = RemotingCodec::new(1024);
    let mut buf = BytesMut::from(&hex("00 00 10 00 00 00 00 02")[..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(FrameError::TooLarge {
            len: 4096,
            max: 1024
        })
    ));
    // header length larger than the frame
    let mut buf = BytesMut::from(&hex("00 00 00 06 00 00 00 09 7b 7d")[..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(FrameError::Malformed(_))
    ));
    // unknown serialize type
    let mut buf = BytesMut::from(&hex("00 00 00 06 05 00 00 02 7b 7d")[..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(FrameError::UnknownSerializeType(5))
    ));
    // not JSON
    let mut buf = BytesMut::from(&hex("00 00 00 06 00 00 00 02 7b 7b")[..]);
    assert!(matches!(codec.decode(&mut buf), Err(FrameError::Json(_))));
    // total length too small to hold the header-length field
    let mut buf = BytesMut::from(&hex("00 00 00 02 00 00")[..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(FrameError::Malformed(_))
    ));
}
