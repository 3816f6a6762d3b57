//! Offset message ids: upper-case hex of store-host IP + port (int32) + commit-log offset.
//!
//! 16 bytes (32 hex chars) for an IPv4 store host, 28 bytes (56 hex chars) for IPv6.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Error parsing an offset message id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MsgIdError {
    /// The id is neither 32 (IPv4) nor 56 (IPv6) hex characters long.
    #[error("offset message id has length {0}, expected 32 or 56")]
    BadLength(usize),
    /// The id contains a non-hex character.
    #[error("offset message id is not hex")]
    NotHex,
}

/// Builds the offset message id of a record stored at `commit_log_offset` by `store_host`.
pub fn offset_msg_id(store_host: SocketAddr, commit_log_offset: i64) -> String {
    let mut s = String::with_capacity(56);
    write_offset_msg_id(&mut s, store_host, commit_log_offset);
    s
}

/// Appends the offset message id to `out` (no intermediate allocation).
pub fn write_offset_msg_id(out: &mut String, store_host: SocketAddr, commit_log_offset: i64) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    // 16 (IPv6) + 4 + 8 bytes, two hex digits each.
    let mut buf = [0u8; 56];
    let mut n = 0;
    let mut push = |bytes: &[u8]| {
        for b in bytes {
            buf[n] = HEX[(b >> 4) as usize];
            buf[n + 1] = HEX[(b & 0xF) as usize];
            n += 2;
        }
    };
    match store_host.ip() {
        IpAddr::V4(ip) => push(&ip.octets()),
        IpAddr::V6(ip) => push(&ip.octets()),
    }
    push(&(store_host.port() as i32).to_be_bytes());
    push(&commit_log_offset.to_be_bytes());
    out.push_str(std::str::from_utf8(&buf[..n]).expect("hex digits are ASCII"));
}

/// Parses an offset message id back into the store host and the commit-log offset.
/// Lower-case hex is accepted.
pub fn parse_offset_msg_id(id: &str) -> Result<(SocketAddr, i64), MsgIdError> {
    let ip_len = match id.len() {
        32 => 4,
        56 => 16,
        n => return Err(MsgIdError::BadLength(n)),
    };
    let mut bytes = Vec::with_capacity(id.len() / 2);
    for pair in id.as_bytes().chunks(2) {
        let hi = (pair[0] as char).to_digit(16).ok_or(MsgIdError::NotHex)?;
        let lo = (pair[1] as char).to_digit(16).ok_or(MsgIdError::NotHex)?;
        bytes.push((hi * 16 + lo) as u8);
    }
    let ip = if ip_len == 4 {
        IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
    } else {
        let mut o = [0u8; 16];
        o.copy_from_slice(&bytes[..16]);
        IpAddr::V6(Ipv6Addr::from(o))
    };
    let port = i32::from_be_bytes(bytes[ip_len..ip_len + 4].try_into().unwrap());
    let offset = i64::from_be_bytes(bytes[ip_len + 4..ip_len + 12].try_into().unwrap());
    Ok((SocketAddr::new(ip, port as u16), offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_example() {
        let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        assert_eq!(offset_msg_id(host, 0), "7F00000100002A9F0000000000000000");
        assert_eq!(
            parse_offset_msg_id("7F00000100002A9F0000000000000000").unwrap(),
            (host, 0)
        );
    }

    #[test]
    fn ipv6_round_trip() {
        let host: SocketAddr = "[fe80::1]:10911".parse().unwrap();
        let id = offset_msg_id(host, 1 << 40);
        assert_eq!(id.len(), 56);
        assert_eq!(parse_offset_msg_id(&id).unwrap(), (host, 1 << 40));
        assert_eq!(
            parse_offset_msg_id(&id.to_lowercase()).unwrap(),
            (host, 1 << 40)
        );
    }

    #[test]
    fn errors() {
        assert_eq!(parse_offset_msg_id("ABC"), Err(MsgIdError::BadLength(3)));
        assert_eq!(
            parse_offset_msg_id("7F00000100002A9F000000000000000G"),
            Err(MsgIdError::NotHex)
        );
    }
}
