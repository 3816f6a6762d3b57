//! The message properties string: `name \x01 value` pairs separated by `\x02`.
//!
//! [`encode`] writes no trailing separator (as Java does); [`decode`] accepts one (as C++ and
//! Go write it) and drops segments without a separator, with an empty name or an empty value.

/// Separator between a property name and its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Separator between two properties.
pub const PROPERTY_SEPARATOR: char = '\u{2}';

/// Message keys, several separated by [`KEY_SEPARATOR`]; indexed by the store.
pub const KEYS: &str = "KEYS";
/// Separator of several keys inside [`KEYS`].
pub const KEY_SEPARATOR: &str = " ";
/// The message tag.
pub const TAGS: &str = "TAGS";
/// `"true"`/`"false"`: whether the producer waits for the store (sync flush).
pub const WAIT: &str = "WAIT";
/// Delay level 1..18.
pub const DELAY: &str = "DELAY";
/// Original topic of a retried message.
pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
/// Real topic of a delayed or half message.
pub const REAL_TOPIC: &str = "REAL_TOPIC";
/// Real queue id of a delayed or half message.
pub const REAL_QID: &str = "REAL_QID";
/// `"true"` on prepared transactional messages.
pub const TRAN_MSG: &str = "TRAN_MSG";
/// Producer group of a transactional message.
pub const PGROUP: &str = "PGROUP";
/// Client side: min offset of the queue after a pull.
pub const MIN_OFFSET: &str = "MIN_OFFSET";
/// Client side: max offset of the queue after a pull.
pub const MAX_OFFSET: &str = "MAX_OFFSET";
/// Legacy.
pub const BUYER_ID: &str = "BUYER_ID";
/// First message id of a message sent back for retry.
pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
/// Legacy.
pub const TRANSFER_FLAG: &str = "TRANSFER_FLAG";
/// Legacy.
pub const CORRECTION_FLAG: &str = "CORRECTION_FLAG";
/// Legacy.
pub const MQ2_FLAG: &str = "MQ2_FLAG";
/// Reconsume count of a client fallback send-back.
pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
/// Region of the broker.
pub const MSG_REGION: &str = "MSG_REGION";
/// Trace switch.
pub const TRACE_ON: &str = "TRACE_ON";
/// Client-generated unique message id; indexed by the store.
pub const UNIQ_KEY: &str = "UNIQ_KEY";
/// Max reconsume times of a client fallback send-back.
pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
/// Client side consume start time.
pub const CONSUME_START_TIME: &str = "CONSUME_START_TIME";
/// Transaction internals: queue offset of the prepared message.
pub const TRAN_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
/// Number of transaction checks of a half message.
pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
/// Delay of the first transaction check, seconds.
pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
/// Client namespace.
pub const INSTANCE_ID: &str = "INSTANCE_ID";
/// Request/reply correlation id.
pub const CORRELATION_ID: &str = "CORRELATION_ID";
/// Request/reply: client to reply to.
pub const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
/// Request/reply time to live.
pub const TTL: &str = "TTL";
/// Request/reply arrive time.
pub const ARRIVE_TIME: &str = "ARRIVE_TIME";
/// Request/reply push time.
pub const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
/// `"reply"` for reply messages.
pub const MSG_TYPE: &str = "MSG_TYPE";
/// Cluster name, added by the broker on every send.
pub const CLUSTER: &str = "CLUSTER";
/// LMQ multi dispatch.
pub const INNER_MULTI_DISPATCH: &str = "INNER_MULTI_DISPATCH";
/// LMQ multi queue offset.
pub const INNER_MULTI_QUEUE_OFFSET: &str = "INNER_MULTI_QUEUE_OFFSET";
/// Java client user property on half messages.
pub const TRANSACTION_ID: &str = "__transactionId__";

/// Ordered message properties (insertion order is kept so encoding is deterministic).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    entries: Vec<(String, String)>,
}

impl Properties {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `key` to `value`, replacing an existing value in place.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(e) => e.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// Removes `key` and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let pos = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(pos).1)
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no properties.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Iterates over `(name, value)` in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The `KEYS` entries split on spaces, empty ones skipped.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        split_keys(self.get(KEYS).unwrap_or(""))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Properties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut p = Properties::new();
        for (k, v) in iter {
            p.insert(k, v);
        }
        p
    }
}

/// Encodes properties as `name\x01value` joined by `\x02`, without a trailing separator.
/// Pairs with an empty name or value are skipped (they would not survive decoding).
pub fn encode(props: &Properties) -> String {
    let mut out = String::new();
    for (k, v) in props.iter() {
        if k.is_empty() || v.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(PROPERTY_SEPARATOR);
        }
        out.push_str(k);
        out.push(NAME_VALUE_SEPARATOR);
        out.push_str(v);
    }
    out
}

/// Length in bytes of [`encode`]'s output, without building it.
pub fn encoded_len(props: &Properties) -> usize {
    let mut n = 0;
    let mut first = true;
    for (k, v) in props.iter() {
        if k.is_empty() || v.is_empty() {
            continue;
        }
        if !first {
            n += 1;
        }
        first = false;
        n += k.len() + 1 + v.len();
    }
    n
}

/// Appends [`encode`]'s output to `out` without an intermediate string.
pub fn encode_into(props: &Properties, out: &mut Vec<u8>) {
    let mut first = true;
    for (k, v) in props.iter() {
        if k.is_empty() || v.is_empty() {
            continue;
        }
        if !first {
            out.push(PROPERTY_SEPARATOR as u8);
        }
        first = false;
        out.extend_from_slice(k.as_bytes());
        out.push(NAME_VALUE_SEPARATOR as u8);
        out.extend_from_slice(v.as_bytes());
    }
}

/// Decodes a properties string. Tolerates a trailing `\x02`; skips segments without a `\x01`
/// and pairs with an empty name or value. A later duplicate name replaces an earlier one.
pub fn decode(s: &str) -> Properties {
    let mut props = Properties::new();
    for seg in s.split(PROPERTY_SEPARATOR) {
        if let Some((k, v)) = seg.split_once(NAME_VALUE_SEPARATOR)
            && !k.is_empty()
            && !v.is_empty()
        {
            props.insert(k, v);
        }
    }
    props
}

/// Finds the value of `key` in an encoded properties string without building a map.
pub fn find<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    pairs(s).find_map(|(k, v)| (k == key).then_some(v))
}

/// The keys of a `KEYS` value ([`KEY_SEPARATOR`]-separated), empty ones skipped.
pub fn split_keys(keys: &str) -> impl Iterator<Item = &str> {
    // A char pattern: a one-byte `&str` pattern builds a substring searcher on every call.
    const SEP: char = ' ';
    const _: () = assert!(KEY_SEPARATOR.len() == 1 && KEY_SEPARATOR.as_bytes()[0] == SEP as u8);
    keys.split(SEP).filter(|k| !k.is_empty())
}

/// The `(name, value)` pairs of an encoded properties string, in order, without building a
/// map; malformed segments and empty values are skipped (as [`decode`] does).
pub fn pairs(s: &str) -> impl Iterator<Item = (&str, &str)> {
    // The separators are ASCII, so every split point is a char boundary.
    s.as_bytes()
        .split(|b| *b == PROPERTY_SEPARATOR as u8)
        .filter_map(move |seg| {
            let eq = seg.iter().position(|b| *b == NAME_VALUE_SEPARATOR as u8)?;
            let base = seg.as_ptr() as usize - s.as_ptr() as usize;
            let k = &s[base..base + eq];
            let v = &s[base + eq + 1..base + seg.len()];
            (!k.is_empty() && !v.is_empty()).then_some((k, v))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tolerance() {
        let p: Properties = [("TAGS", "A"), ("KEYS", "k1 k2")].into_iter().collect();
        let s = encode(&p);
        assert_eq!(s, "TAGS\u{1}A\u{2}KEYS\u{1}k1 k2");
        assert_eq!(decode(&s), p);
        assert_eq!(decode(&(s.clone() + "\u{2}")), p);
        assert_eq!(
            decode("\u{2}x\u{2}\u{1}v\u{2}k\u{1}\u{2}TAGS\u{1}A"),
            decode("TAGS\u{1}A")
        );
        assert_eq!(find(&s, KEYS), Some("k1 k2"));
        assert_eq!(find(&s, UNIQ_KEY), None);
        assert_eq!(p.keys().collect::<Vec<_>>(), vec!["k1", "k2"]);
        assert_eq!(encoded_len(&p), s.len());
        let mut v = Vec::new();
        encode_into(&p, &mut v);
        assert_eq!(v, s.as_bytes());
    }

    #[test]
    fn insert_remove() {
        let mut p = Properties::new();
        p.insert(WAIT, "true");
        p.insert(WAIT, "false");
        assert_eq!(p.len(), 1);
        assert_eq!(p.get(WAIT), Some("false"));
        assert_eq!(p.remove(WAIT).as_deref(), Some("false"));
        assert!(p.is_empty());
    }
}
