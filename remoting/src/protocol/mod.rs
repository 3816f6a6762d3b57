//! Protocol vocabulary: request and response codes, language and serialization types,
//! typed headers and the JSON bodies the name server and brokers exchange.

pub mod body;
pub mod codes;
pub mod fastjson;
pub mod header;
pub mod language;

pub use codes::{RequestCode, ResponseCode};
pub use language::{LanguageCode, SerializeType};

/// The `version` this server stamps on every frame it sends: the ordinal of RocketMQ 4.9.8.
pub const CURRENT_VERSION: i32 = 409;
