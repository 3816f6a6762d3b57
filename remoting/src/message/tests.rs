//! Codec tests: the protocol.md §9.1 test vector and property-based round trips.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;

const VECTOR: &str = "\
0000008edaa320a758932aac0000000000000000000000000000000000000000\
00000000000000000000018bcfe568007f0000010000c3500000018bcfe56801\
7f00000100002a9f000000000000000000000000000000026869015400305441\
4753014102554e49515f4b455901374630303030303133303339313842344141\
4332303030303030303030303030";

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn vector_message() -> MessageExt {
    MessageExt {
        topic: "T".into(),
        born_timestamp: 1_700_000_000_000,
        born_host: "127.0.0.1:50000".parse().unwrap(),
        store_timestamp: 1_700_000_000_001,
        store_host: "127.0.0.1:10911".parse().unwrap(),
        body: Bytes::from_static(b"hi"),
        properties: [
            (properties::TAGS, "A"),
            (properties::UNIQ_KEY, "7F000001303918B4AAC2000000000000"),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    }
}

#[test]
fn test_vector_encodes_exactly() {
    let expected = unhex(VECTOR);
    assert_eq!(expected.len(), 0x8e);
    let mut buf = BytesMut::new();
    let n = encode_record(&vector_message(), &mut buf).unwrap();
    assert_eq!(n, 0x8e);
    assert_eq!(&buf[..], &expected[..]);
}

#[test]
fn test_vector_decodes() {
    let bytes = Bytes::from(unhex(VECTOR));
    let (m, n) = decode_record(&bytes).unwrap();
    assert_eq!(n, bytes.len());
    assert_eq!(m.body_crc, 0x58932AAC);
    assert_eq!(m.store_size, 0x8e);
    assert_eq!(m.tags(), Some("A"));
    assert_eq!(m.offset_msg_id(), "7F00000100002A9F0000000000000000");
    assert_eq!(m.msg_id(), "7F000001303918B4AAC2000000000000");
    let mut expected = vector_message();
    expected.store_size = 0x8e;
    expected.body_crc = 0x58932AAC;
    assert_eq!(m, expected);
    assert!(matches!(
        parse_record(&bytes, true).unwrap(),
        RawRecord::Message(_)
    ));
}

#[test]
fn truncation_is_reported_at_every_cut() {
    let bytes = unhex(VECTOR);
    for cut in 0..bytes.len() {
        let err = decode_record(&bytes[..cut]).unwrap_err();
        assert!(
            matches!(err, MessageDecodeError::Truncated { .. }),
            "cut {cut}: {err}"
        );
    }
    // Second record of a pull body truncated: position points at it.
    let mut two = bytes.clone();
    two.extend_from_slice(&bytes[..50]);
    let err = decode_records(&Bytes::from(two)).unwrap_err();
    assert_eq!(
        err,
        MessageDecodeError::Truncated {
            at: bytes.len(),
            needed: 8.max(bytes.len()),
            available: 50
        }
    );
}

#[test]
fn corruption_is_detected() {
    let good = unhex(VECTOR);
    let mut bad_magic = good.clone();
    bad_magic[5] ^= 0xFF;
    assert!(matches!(
        decode_record(&bad_magic),
        Err(MessageDecodeError::BadMagic { .. })
    ));
    let mut bad_body = good.clone();
    bad_body[88] ^= 1; // 'h'
    assert!(matches!(
        parse_record(&bad_body, true),
        Err(MessageDecodeError::CrcMismatch { .. })
    ));
    assert!(parse_record(&bad_body, false).is_ok());
    let mut bad_len = good.clone();
    bad_len[0x57] = 0x7F; // body length low byte
    assert!(decode_record(&bad_len).is_err());
    let mut blank = vec![0u8; 16];
    blank[..4].copy_from_slice(&16i32.to_be_bytes());
    blank[4..8].copy_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
    assert!(matches!(
        parse_record(&blank, true),
        Ok(RawRecord::Blank { size: 16 })
    ));
    assert!(matches!(
        decode_record(&blank),
        Err(MessageDecodeError::Blank { size: 16, .. })
    ));
}

#[test]
fn encode_rejects_bad_lengths() {
    let mut m = vector_message();
    m.topic = "x".repeat(128);
    assert_eq!(
        encode_record(&m, &mut BytesMut::new()),
        Err(MessageEncodeError::TopicLength(128))
    );
    let mut m = vector_message();
    m.properties.insert("big", "v".repeat(40_000));
    assert!(matches!(
        encode_record(&m, &mut BytesMut::new()),
        Err(MessageEncodeError::PropertiesLength(_))
    ));
}

fn arb_host() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(ip, p)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), p)),
        (any::<[u8; 16]>(), any::<u16>())
            .prop_map(|(ip, p)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), p)),
    ]
}

fn arb_props() -> impl Strategy<Value = properties::Properties> {
    let text = "[^\u{1}\u{2}]{1,12}";
    proptest::collection::vec((text, text), 0..6)
        .prop_map(|v| v.into_iter().collect::<properties::Properties>())
}

prop_compose! {
    fn arb_message()(
        topic in "[A-Za-z0-9_%-]{1,127}",
        queue_id in any::<i32>(), flag in any::<i32>(),
        queue_offset in any::<i64>(), commit_log_offset in any::<i64>(),
        sys_flag in any::<i32>(),
        born_timestamp in any::<i64>(), store_timestamp in any::<i64>(),
        born_host in arb_host(), store_host in arb_host(),
        reconsume_times in any::<i32>(), prepared in any::<i64>(),
        body in proptest::collection::vec(any::<u8>(), 0..300),
        properties in arb_props(),
    ) -> MessageExt {
        let mut sys_flag = sys_flag & !(sysflag::BORNHOST_V6 | sysflag::STOREHOST_V6);
        if born_host.is_ipv6() { sys_flag |= sysflag::BORNHOST_V6; }
        if store_host.is_ipv6() { sys_flag |= sysflag::STOREHOST_V6; }
        MessageExt {
            topic, queue_id, flag, queue_offset, commit_log_offset, sys_flag,
            born_timestamp, born_host, store_timestamp, store_host,
            reconsume_times, prepared_transaction_offset: prepared,
            body: Bytes::from(body), properties, store_size: 0, body_crc: 0,
        }
    }
}

proptest! {
    #[test]
    fn record_round_trip(msgs in proptest::collection::vec(arb_message(), 1..5)) {
        let mut buf = BytesMut::new();
        let mut expected = Vec::new();
        for m in &msgs {
            let n = encode_record(m, &mut buf).unwrap();
            let mut e = m.clone();
            e.store_size = n as i32;
            e.body_crc = body_crc(&m.body);
            expected.push(e);
        }
        let frozen = buf.freeze();
        let decoded = decode_records(&frozen).unwrap();
        prop_assert_eq!(&decoded, &expected);
        // Every record passes the CRC check and re-encodes to the same bytes.
        let mut again = BytesMut::new();
        for d in &decoded {
            encode_record(d, &mut again).unwrap();
        }
        prop_assert_eq!(&again[..], &frozen[..]);
        // Any strict prefix fails cleanly, never panics.
        for cut in [1usize, 7, 60, frozen.len() - 1] {
            if cut < frozen.len() {
                let _ = decode_records(&frozen.slice(..cut));
            }
        }
    }

    #[test]
    fn properties_round_trip(p in arb_props(), trailing in any::<bool>()) {
        let mut s = properties::encode(&p);
        if trailing { s.push('\u{2}'); }
        prop_assert_eq!(properties::decode(&s), p);
    }

    #[test]
    fn msg_id_round_trip(host in arb_host(), off in any::<i64>()) {
        let id = msg_id::offset_msg_id(host, off);
        prop_assert_eq!(msg_id::parse_offset_msg_id(&id).unwrap(), (host, off));
    }

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_records(&Bytes::from(data));
    }
}
