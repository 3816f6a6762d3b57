//! RocketMQ 4.x remoting protocol: frames, codes, headers, JSON bodies, the stored-message
//! codec, and an async client and server.

pub mod message;
