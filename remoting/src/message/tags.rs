//! Tag hash codes as stored in consume-queue units.

/// Java `String.hashCode`: `h = 31*h + c` over UTF-16 code units with wrapping arithmetic.
pub fn java_string_hash_code(s: &str) -> i32 {
    let mut h: i32 = 0;
    for unit in s.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(unit as i32);
    }
    h
}

/// The consume-queue tags code of a normal message: the Java hash code of the tag
/// sign-extended to 64 bits, or 0 when there is no tag or it is empty.
pub fn tags_hash_code(tags: Option<&str>) -> i64 {
    match tags {
        Some(t) if !t.is_empty() => java_string_hash_code(t) as i64,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_jvm_values() {
        assert_eq!(tags_hash_code(Some("TagA")), 2598919);
        assert_eq!(tags_hash_code(Some("TagB")), 2598920);
        assert_eq!(tags_hash_code(Some("*")), 42);
        assert_eq!(tags_hash_code(Some("A")), 65);
        assert_eq!(tags_hash_code(Some("")), 0);
        assert_eq!(tags_hash_code(None), 0);
    }

    #[test]
    fn wraps_and_sign_extends() {
        // "polygenelubricants".hashCode() == Integer.MIN_VALUE in Java.
        assert_eq!(java_string_hash_code("polygenelubricants"), i32::MIN);
        assert_eq!(tags_hash_code(Some("polygenelubricants")), i32::MIN as i64);
        // Non-BMP characters hash as two UTF-16 surrogates.
        let expected = (0xD83Di32).wrapping_mul(31).wrapping_add(0xDE00);
        assert_eq!(java_string_hash_code("\u{1F600}"), expected);
    }
}
