//! The JSON header, as fastjson (Java), jsoncpp (C++) and Go write it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::command::{ExtFields, RemotingCommand};
use crate::error::FrameError;
use crate::protocol::{LanguageCode, SerializeType};

/// Read side: every field optional, ext values of any JSON scalar type, unknown keys ignored.
#[derive(Deserialize)]
struct JsonHeaderIn {
    #[serde(default)]
    code: i32,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    version: i32,
    #[serde(default)]
    opaque: i32,
    #[serde(default)]
    flag: i32,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default, rename = "extFields")]
    ext_fields: Option<serde_json::Map<String, Value>>,
}

/// Write side, keys in fastjson's alphabetical order.
#[derive(Serialize)]
struct JsonHeaderOut<'a> {
    code: i32,
    #[serde(rename = "extFields", skip_serializing_if = "ExtFields::is_empty")]
    ext_fields: &'a ExtFields,
    flag: i32,
    language: &'static str,
    opaque: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    remark: Option<&'a str>,
    #[serde(rename = "serializeTypeCurrentRPC")]
    serialize_type: &'static str,
    version: i32,
}

/// Decodes a JSON header (trailing whitespace, unknown keys, numeric and boolean ext values
/// are all accepted) into a command without body.
pub(crate) fn decode(bytes: &[u8]) -> Result<RemotingCommand, FrameError> {
    let h: JsonHeaderIn = serde_json::from_slice(bytes)?;
    let mut ext_fields = ExtFields::new();
    for (k, v) in h.ext_fields.unwrap_or_default() {
        let text = match v {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            other => other.to_string(),
        };
        ext_fields.insert(k, text);
    }
    Ok(RemotingCommand {
        code: h.code,
        language: h
            .language
            .as_deref()
            .map_or(LanguageCode::Other, LanguageCode::from_name),
        version: h.version,
        opaque: h.opaque,
        flag: h.flag,
        remark: h.remark,
        ext_fields,
        body: None,
        body_segments: Vec::new(),
        serialize_type: SerializeType::Json,
    })
}

/// Appends the compact JSON header of `cmd` to `out`.
pub(crate) fn encode(cmd: &RemotingCommand, out: &mut Vec<u8>) {
    let h = JsonHeaderOut {
        code: cmd.code,
        ext_fields: &cmd.ext_fields,
        flag: cmd.flag,
        language: cmd.language.name(),
        opaque: cmd.opaque,
        remark: cmd.remark.as_deref(),
        serialize_type: SerializeType::Json.name(),
        version: cmd.version,
    };
    serde_json::to_writer(out, &h).expect("serializing a header to memory cannot fail");
}
