//! Errors of the record codec.

/// Errors encoding a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageEncodeError {
    /// The topic is empty or longer than 127 bytes.
    #[error("topic length {0} not in 1..=127")]
    TopicLength(usize),
    /// The encoded properties are longer than 32767 bytes.
    #[error("properties length {0} exceeds 32767")]
    PropertiesLength(usize),
    /// The body does not fit an int32 length.
    #[error("body length {0} too large")]
    BodyLength(usize),
}

/// Errors decoding a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageDecodeError {
    /// The buffer ends before the record does.
    #[error("record truncated at byte {at}: needs {needed} bytes, {available} available")]
    Truncated {
        /// Position of the record in the decoded buffer.
        at: usize,
        /// Bytes the record needs.
        needed: usize,
        /// Bytes left in the buffer.
        available: usize,
    },
    /// Unknown magic code.
    #[error("bad magic code {magic:#010x} at byte {at}")]
    BadMagic {
        /// Position of the record.
        at: usize,
        /// Magic found.
        magic: u32,
    },
    /// A BLANK (end-of-file filler) record where a message was expected.
    #[error("blank record of {size} bytes at byte {at}")]
    Blank {
        /// Position of the record.
        at: usize,
        /// TOTALSIZE of the blank record.
        size: usize,
    },
    /// TOTALSIZE does not match the field lengths.
    #[error("record at byte {at}: total size {total} but fields need {computed}")]
    SizeMismatch {
        /// Position of the record.
        at: usize,
        /// TOTALSIZE field.
        total: usize,
        /// Size implied by the lengths inside.
        computed: usize,
    },
    /// A negative or absurd length field.
    #[error("record at byte {at}: bad {field} length {len}")]
    BadLength {
        /// Position of the record.
        at: usize,
        /// Field name.
        field: &'static str,
        /// Length found.
        len: i64,
    },
    /// The body CRC does not match.
    #[error("record at byte {at}: body crc {stored:#x} but computed {computed:#x}")]
    CrcMismatch {
        /// Position of the record.
        at: usize,
        /// BODYCRC field.
        stored: i32,
        /// CRC of the body bytes.
        computed: i32,
    },
    /// Topic or properties are not UTF-8.
    #[error("record at byte {at}: {field} is not UTF-8")]
    Utf8 {
        /// Position of the record.
        at: usize,
        /// Field name.
        field: &'static str,
    },
}

impl MessageDecodeError {
    /// Shifts the reported position by `base` (for records inside a larger buffer).
    pub fn offset_by(self, base: usize) -> Self {
        use MessageDecodeError::*;
        match self {
            Truncated {
                at,
                needed,
                available,
            } => Truncated {
                at: at + base,
                needed,
                available,
            },
            BadMagic { at, magic } => BadMagic {
                at: at + base,
                magic,
            },
            Blank { at, size } => Blank {
                at: at + base,
                size,
            },
            SizeMismatch {
                at,
                total,
                computed,
            } => SizeMismatch {
                at: at + base,
                total,
                computed,
            },
            BadLength { at, field, len } => BadLength {
                at: at + base,
                field,
                len,
            },
            CrcMismatch {
                at,
                stored,
                computed,
            } => CrcMismatch {
                at: at + base,
                stored,
                computed,
            },
            Utf8 { at, field } => Utf8 {
                at: at + base,
                field,
            },
        }
    }
}
