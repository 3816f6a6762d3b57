//! Integration tests against an in-process `mqnamesrv` + `mqbroker` from this repository.

mod cluster;
mod consume_from;
mod producer;
mod pull;
mod push;
mod tools;
