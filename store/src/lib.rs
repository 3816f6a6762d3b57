//! RocketMQ storage engine.
