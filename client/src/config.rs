//! Settings shared by every client instance (Apache `ClientConfig`).

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Settings of one client instance (one connection pool, one client id).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Name server addresses, `host:port` separated by `;` (Apache's `namesrvAddr`).
    pub namesrv_addr: String,
    /// Instance name; part of the client id, so two instances in one process must differ.
    pub instance_name: String,
    /// IP reported in the client id; found from the route to the name server when empty.
    pub client_ip: String,
    /// Timeout of ordinary requests (route lookups, offsets, admin calls).
    pub request_timeout: Duration,
    /// How often routes are refreshed from the name servers (Apache: 30 s).
    pub poll_name_server_interval: Duration,
    /// How often every broker gets a heartbeat (Apache: 30 s).
    pub heartbeat_broker_interval: Duration,
    /// How often consumer offsets are committed (Apache: 5 s).
    pub persist_consumer_offset_interval: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            namesrv_addr: std::env::var("NAMESRV_ADDR").unwrap_or_default(),
            instance_name: unique_instance_name(),
            client_ip: String::new(),
            request_timeout: Duration::from_secs(3),
            poll_name_server_interval: Duration::from_secs(30),
            heartbeat_broker_interval: Duration::from_secs(30),
            persist_consumer_offset_interval: Duration::from_secs(5),
        }
    }
}

impl ClientConfig {
    /// Default settings with the given name servers.
    pub fn new(namesrv_addr: impl Into<String>) -> Self {
        ClientConfig {
            namesrv_addr: namesrv_addr.into(),
            ..Default::default()
        }
    }

    /// The configured name servers, trimmed, empty entries dropped.
    pub fn namesrv_list(&self) -> Vec<String> {
        self.namesrv_addr
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// `clientIP@instanceName`, as Apache's `buildMQClientId`.
    pub fn client_id(&self) -> String {
        let ip = if self.client_ip.is_empty() {
            local_ip_towards(self.namesrv_list().first().map(String::as_str)).to_string()
        } else {
            self.client_ip.clone()
        };
        format!("{ip}@{}", self.instance_name)
    }
}

/// `pid#n`, unique inside this process (Apache replaces `DEFAULT` by the pid).
pub fn unique_instance_name() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}#{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The local address the OS would use to reach `peer` (no packet is sent); loopback if
/// that cannot be found.
pub fn local_ip_towards(peer: Option<&str>) -> IpAddr {
    let fallback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let Some(peer) = peer else { return fallback };
    let Ok(sock) = UdpSocket::bind("0.0.0.0:0") else {
        return fallback;
    };
    if sock.connect(peer).is_err() {
        return fallback;
    }
    sock.local_addr().map(|a| a.ip()).unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namesrv_list_and_client_id() {
        let mut c = ClientConfig::new(" 127.0.0.1:9876; ;10.0.0.1:9876");
        assert_eq!(c.namesrv_list(), ["127.0.0.1:9876", "10.0.0.1:9876"]);
        c.instance_name = "i1".into();
        assert_eq!(c.client_id(), "127.0.0.1@i1");
        assert_ne!(unique_instance_name(), unique_instance_name());
    }
}
