//! fastjson compatibility: Java's RocketMQ writes `Map<Long, _>` keys without quotes
//! (`{"brokerAddrs":{0:"1.2.3.4:10911"}}`), which is not JSON. This module reads such
//! text and writes it for the fields where the Java server does.

use std::borrow::Cow;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Parses JSON that may contain unquoted numeric object keys.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    serde_json::from_slice(&quote_numeric_keys(bytes))
}

/// Rewrites unquoted numeric object keys (`{0:"a"}`) as quoted ones (`{"0":"a"}`); text that
/// has none is returned as it is.
pub fn quote_numeric_keys(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let mut stack: Vec<u8> = Vec::new();
    let mut expect_key = false;
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        match c {
            b'"' => {
                // Skip the whole string, escapes included.
                let start = i;
                i += 1;
                while i < input.len() && input[i] != b'"' {
                    i += if input[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(input.len());
                if let Some(o) = out.as_mut() {
                    o.extend_from_slice(&input[start..i]);
                }
                expect_key = false;
                continue;
            }
            b'{' if expect_key => {
                // fastjson writes Map<MessageQueue, _> with the key object itself as the key:
                // turn `{...}` into a string holding that text.
                let start = i;
                let end = balanced_object_end(input, i);
                let o = out.get_or_insert_with(|| {
                    let mut v = Vec::with_capacity(input.len() + 64);
                    v.extend_from_slice(&input[..start]);
                    v
                });
                let text = String::from_utf8_lossy(&input[start..end]);
                serde_json::to_writer(&mut *o, &text).expect("in-memory write");
                i = end;
                expect_key = false;
                continue;
            }
            b'{' => {
                stack.push(b'{');
                expect_key = true;
            }
            b'[' => {
                stack.push(b'[');
                expect_key = false;
            }
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
            }
            b',' => expect_key = stack.last() == Some(&b'{'),
            b'-' | b'0'..=b'9' if expect_key => {
                let start = i;
                while i < input.len() && matches!(input[i], b'-' | b'0'..=b'9') {
                    i += 1;
                }
                let o = out.get_or_insert_with(|| {
                    let mut v = Vec::with_capacity(input.len() + 16);
                    v.extend_from_slice(&input[..start]);
                    v
                });
                o.push(b'"');
                o.extend_from_slice(&input[start..i]);
                o.push(b'"');
                expect_key = false;
                continue;
            }
            c if c.is_ascii_whitespace() => {}
            _ => expect_key = false,
        }
        if let Some(o) = out.as_mut() {
            o.push(c);
        }
        i += 1;
    }
    match out {
        Some(v) => Cow::Owned(v),
        None => Cow::Borrowed(input),
    }
}

/// The index just past the object that starts at `start` (or the end of the input).
fn balanced_object_end(input: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < input.len() {
        match input[i] {
            b'"' => {
                i += 1;
                while i < input.len() && input[i] != b'"' {
                    i += if input[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    input.len()
}

/// Writes a map whose keys are objects the way fastjson does: `{{"k":1}:v,...}`.
pub fn write_object_key_map<K: Serialize, V: Serialize>(
    out: &mut Vec<u8>,
    entries: impl IntoIterator<Item = (K, V)>,
) {
    out.push(b'{');
    for (n, (k, v)) in entries.into_iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, &k).expect("in-memory write");
        out.push(b':');
        serde_json::to_writer(&mut *out, &v).expect("in-memory write");
    }
    out.push(b'}');
}

/// Serializes `value` compactly; when `standard` is false, the keys of objects found under
/// any field named in `long_key_fields` are written without quotes, as fastjson writes
/// `Map<Long, _>`.
pub fn to_vec<T: Serialize>(value: &T, long_key_fields: &[&str], standard: bool) -> Vec<u8> {
    if standard || long_key_fields.is_empty() {
        return serde_json::to_vec(value).expect("serializing to memory cannot fail");
    }
    let value = serde_json::to_value(value).expect("serializing to memory cannot fail");
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, &value, false, long_key_fields);
    out
}

fn write_value(out: &mut Vec<u8>, value: &Value, bare_keys: bool, fields: &[&str]) {
    match value {
        Value::Object(map) => {
            out.push(b'{');
            for (n, (k, v)) in map.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                if bare_keys && k.parse::<i64>().is_ok() {
                    out.extend_from_slice(k.as_bytes());
                } else {
                    serde_json::to_writer(&mut *out, k).expect("in-memory write");
                }
                out.push(b':');
                write_value(out, v, fields.contains(&k.as_str()), fields);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (n, v) in items.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_value(out, v, false, fields);
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar).expect("in-memory write"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_bare_numeric_keys_only_where_keys_are_expected() {
        let text = br#"{"a":{0:"x:1",1:"y,2"},"b":[1,-2],"c":"{0:1}",-5:true}"#;
        let fixed = quote_numeric_keys(text);
        assert_eq!(
            std::str::from_utf8(&fixed).unwrap(),
            r#"{"a":{"0":"x:1","1":"y,2"},"b":[1,-2],"c":"{0:1}","-5":true}"#
        );
        let plain = br#"{"a":[1,2],"b":"x"}"#;
        assert!(matches!(quote_numeric_keys(plain), Cow::Borrowed(_)));
    }

    #[test]
    fn escaped_quotes_inside_strings_are_skipped() {
        let text = br#"{"k":"a\"{1:2","m":{7:"v"}}"#;
        let v: Value = from_slice(text).unwrap();
        assert_eq!(v["m"]["7"], "v");
        assert_eq!(v["k"], "a\"{1:2");
    }

    #[test]
    fn object_keys_become_strings_holding_the_object() {
        let text = br#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:5,{"brokerName":"b","queueId":1,"topic":"t"}:{"x":1}}}"#;
        let v: Value = from_slice(text).unwrap();
        let table = v["offsetTable"].as_object().unwrap();
        assert_eq!(table[r#"{"brokerName":"b","queueId":0,"topic":"t"}"#], 5);
        assert_eq!(
            table[r#"{"brokerName":"b","queueId":1,"topic":"t"}"#]["x"],
            1
        );
        let mut out = Vec::new();
        write_object_key_map(&mut out, [(serde_json::json!({"a": 1}), 2)]);
        assert_eq!(out, br#"{{"a":1}:2}"#);
    }

    #[test]
    fn writes_bare_keys_for_named_fields_only() {
        let v = serde_json::json!({"brokerAddrs": {"0": "a", "1": "b"}, "table": {"0": "t"}});
        let text = to_vec(&v, &["brokerAddrs"], false);
        assert_eq!(
            std::str::from_utf8(&text).unwrap(),
            r#"{"brokerAddrs":{0:"a",1:"b"},"table":{"0":"t"}}"#
        );
        let std = to_vec(&v, &["brokerAddrs"], true);
        assert_eq!(
            std::str::from_utf8(&std).unwrap(),
            r#"{"brokerAddrs":{"0":"a","1":"b"},"table":{"0":"t"}}"#
        );
    }
}
