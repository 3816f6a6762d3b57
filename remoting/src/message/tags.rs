//! Tag hash codes as stored in consume-queue units.

/// Java `String.hashCode`: `h = 31*h + c` over UTF-16 code units with wrapping arithmetic.
pub fn java_string_hash_code(s: &str) -> i32 {
    java_hash_continue(0, s)
}

/// Continues [`java_string_hash_code`] over `s`: given `h`, the hash of some string `a`,
/// returns the hash of `a` followed by `s` (no concatenated string is built).
pub fn java_hash_continue(mut h: i32, s: &str) -> i32 {
    if s.is_ascii() {
        // Every ASCII byte is one UTF-16 code unit of the same value.
        for &b in s.as_bytes() {
            h = h.wrapping_mul(31).wrapping_add(b as i32);
        }
    } else {
        for unit in s.encode_utf16() {
            h = h.wrapping_mul(31).wrapping_add(unit as i32);
        }
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

    #[test]
    fn continued_hash_equals_hash_of_concatenation() {
        for (a, b) in [
            ("Topic", "#key-1"),
            ("", "x"),
            ("héllo", "\u{1F600}!"),
            ("ab", ""),
        ] {
            assert_eq!(
                java_hash_continue(java_string_hash_code(a), b),
                java_string_hash_code(&format!("{a}{b}"))
            );
        }
    }
}
