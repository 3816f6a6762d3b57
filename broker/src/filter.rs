//! Tag filtering for pulls: by tags hash code on the consume-queue unit, then by exact tag
//! on the stored message, so a hash collision never delivers another tag.

use std::collections::BTreeSet;

use remoting::message::{RawRecord, parse_record, properties};
use remoting::protocol::body::SubscriptionData;
use store::MessageFilter;

/// A TAG subscription as a store filter.
#[derive(Debug, Clone, Default)]
pub struct TagFilter {
    /// Accepted `(int)` tags hash codes; empty accepts everything (`*`).
    pub codes: Vec<i32>,
    /// Accepted tags; empty accepts everything.
    pub tags: BTreeSet<String>,
}

impl TagFilter {
    /// The filter for a subscription (`*` accepts everything).
    pub fn for_subscription(sub: &SubscriptionData) -> Self {
        if sub.is_all() {
            return TagFilter::default();
        }
        TagFilter {
            codes: sub.code_set.iter().copied().collect(),
            tags: sub.tags_set.clone(),
        }
    }
}

impl MessageFilter for TagFilter {
    fn is_matched_by_consume_queue(&self, tags_code: i64) -> bool {
        self.codes.is_empty() || self.codes.contains(&(tags_code as i32))
    }

    fn is_matched_by_commit_log(&self, record: &[u8]) -> bool {
        if self.tags.is_empty() {
            return true;
        }
        match parse_record(record, false) {
            Ok(RawRecord::Message(v)) => properties::find(v.properties, properties::TAGS)
                .is_some_and(|t| self.tags.contains(t)),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use remoting::message::{MessageExt, encode_record, java_string_hash_code};

    use super::*;

    fn record(tag: &str) -> BytesMut {
        let mut m = MessageExt {
            topic: "T".into(),
            ..Default::default()
        };
        m.properties.insert(properties::TAGS, tag);
        let mut buf = BytesMut::new();
        encode_record(&m, &mut buf).unwrap();
        buf
    }

    #[test]
    fn hash_collisions_are_caught_by_the_exact_tag() {
        // "Aa" and "BB" have the same Java hashCode.
        assert_eq!(java_string_hash_code("Aa"), java_string_hash_code("BB"));
        let f = TagFilter::for_subscription(&SubscriptionData::tag("T", "Aa", 1));
        assert!(f.is_matched_by_consume_queue(java_string_hash_code("BB") as i64));
        assert!(f.is_matched_by_commit_log(&record("Aa")));
        assert!(!f.is_matched_by_commit_log(&record("BB")));
        let all = TagFilter::for_subscription(&SubscriptionData::tag("T", "*", 1));
        assert!(
            all.is_matched_by_consume_queue(12345) && all.is_matched_by_commit_log(&record("BB"))
        );
    }
}
