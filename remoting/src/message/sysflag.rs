//! Message sysflag bits (Apache `MessageSysFlag`).

/// The body is compressed (the codec is in bits 8-10).
pub const COMPRESSED: i32 = 0x1;
/// The topic uses multi-tag filtering.
pub const MULTI_TAGS: i32 = 0x2;
/// Transaction type: not a transactional message.
pub const TRANSACTION_NOT_TYPE: i32 = 0x0;
/// Transaction type: prepared (half) message.
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x4;
/// Transaction type: committed message.
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x8;
/// Transaction type: rolled back message.
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0xC;
/// Mask of the transaction type bits.
pub const TRANSACTION_TYPE_MASK: i32 = 0xC;
/// The born host is an IPv6 address (16 bytes instead of 4).
pub const BORNHOST_V6: i32 = 0x10;
/// The store host is an IPv6 address (16 bytes instead of 4).
pub const STOREHOST_V6: i32 = 0x20;
/// Batch that must be unwrapped (internal).
pub const NEED_UNWRAP: i32 = 0x40;
/// Inner batch (internal).
pub const INNER_BATCH: i32 = 0x80;
/// Mask of the compression type bits (0x100 LZ4, 0x200 ZSTD, 0x300 ZLIB, 0 = zlib).
pub const COMPRESSION_TYPE_MASK: i32 = 0x700;

/// The transaction type bits of `sysflag`.
pub fn transaction_type(sysflag: i32) -> i32 {
    sysflag & TRANSACTION_TYPE_MASK
}

/// `sysflag` with its transaction type replaced by `ty`.
pub fn with_transaction_type(sysflag: i32, ty: i32) -> i32 {
    (sysflag & !TRANSACTION_TYPE_MASK) | (ty & TRANSACTION_TYPE_MASK)
}
