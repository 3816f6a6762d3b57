//! The stored/pulled message record format (MessageDecoder layout), properties and message ids.
