//! RocketMQ 4.x remoting protocol.
