//! Property tests: the decoder never panics on arbitrary bytes, and every command
//! survives an encode/decode round trip in both serializations.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use remoting::RemotingCommand;
use remoting::codec::RemotingCodec;
use remoting::protocol::{LanguageCode, SerializeType};
use tokio_util::codec::{Decoder, Encoder};

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn decoder_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut codec = RemotingCodec::new(4096);
        let mut buf = BytesMut::from(&data[..]);
        // Decode until it wants more bytes or reports an error; either is fine, a panic is not.
        while let Ok(Some(_)) = codec.decode(&mut buf) {}
    }

    #[test]
    fn decoder_never_panics_on_framed_garbage(
        st in 0u8..3,
        header in proptest::collection::vec(any::<u8>(), 0..300),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut frame = Vec::new();
        frame.extend_from_slice(&((4 + header.len() + body.len()) as u32).to_be_bytes());
        frame.extend_from_slice(&(((st as u32) << 24) | header.len() as u32).to_be_bytes());
        frame.extend_from_slice(&header);
        frame.extend_from_slice(&body);
        let _ = RemotingCodec::default().decode(&mut BytesMut::from(&frame[..]));
    }

    #[test]
    fn round_trip(
        code in any::<i16>(),
        opaque in any::<i32>(),
        flag in 0i32..4,
        remark in proptest::option::of("[^\u{0}]{1,20}"),
        ext in proptest::collection::btree_map("[a-zA-Z]{1,8}", "\\PC{1,12}", 0..6),
        body in proptest::option::of(proptest::collection::vec(any::<u8>(), 1..100)),
        binary in any::<bool>(),
    ) {
        let cmd = RemotingCommand {
            code: code.into(),
            language: LanguageCode::Go,
            version: 317,
            opaque,
            flag,
            remark,
            ext_fields: ext,
            body: body.map(Bytes::from),
            body_segments: Vec::new(),
            serialize_type: if binary { SerializeType::RocketMq } else { SerializeType::Json },
        };
        let mut buf = BytesMut::new();
        RemotingCodec::default().encode(cmd.clone(), &mut buf).unwrap();
        let back = RemotingCodec::default().decode(&mut buf).unwrap().unwrap();
        prop_assert_eq!(back, cmd);
    }
}
