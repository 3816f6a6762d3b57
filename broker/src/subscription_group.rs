//! `SubscriptionGroupManager`: consumer-group settings, persisted in
//! `config/subscriptionGroup.json`.

use std::path::PathBuf;

use parking_lot::RwLock;
use remoting::protocol::body::{DataVersion, SubscriptionGroupConfig, SubscriptionGroupWrapper};
use tracing::{info, warn};

use crate::persist;

/// Groups the broker knows from the start.
const SYSTEM_GROUPS: &[&str] = &[
    "TOOLS_CONSUMER",
    "FILTERSRV_CONSUMER",
    "__MONITOR_CONSUMER",
    "CLIENT_INNER_PRODUCER",
    "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY",
    "CID_ONSAPI_PULL",
    "CID_ONSAPI_PERMISSION",
    "CID_ONSAPI_OWNER",
];

/// The broker's consumer groups.
pub struct SubscriptionGroupManager {
    path: PathBuf,
    inner: RwLock<SubscriptionGroupWrapper>,
}

impl SubscriptionGroupManager {
    /// Loads `subscriptionGroup.json` from `config_dir` and adds the system groups.
    pub fn load(config_dir: PathBuf) -> Self {
        let path = config_dir.join("subscriptionGroup.json");
        let mut w: SubscriptionGroupWrapper =
            persist::load(&path).unwrap_or_else(|| SubscriptionGroupWrapper {
                data_version: DataVersion::now(),
                ..Default::default()
            });
        for g in SYSTEM_GROUPS {
            w.subscription_group_table
                .entry((*g).to_owned())
                .or_insert_with(|| SubscriptionGroupConfig {
                    group_name: (*g).to_owned(),
                    ..Default::default()
                });
        }
        SubscriptionGroupManager {
            path,
            inner: RwLock::new(w),
        }
    }

    /// A group's config.
    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.inner
            .read()
            .subscription_group_table
            .get(group)
            .cloned()
    }

    /// A group's config, created with defaults when `auto_create` (Apache
    /// `findSubscriptionGroupConfig`).
    pub fn find_or_create(
        &self,
        group: &str,
        auto_create: bool,
    ) -> Option<SubscriptionGroupConfig> {
        if let Some(c) = self.get(group) {
            return Some(c);
        }
        if !auto_create || crate::topic_config::validate_topic(group).is_err() {
            return None;
        }
        let c = SubscriptionGroupConfig {
            group_name: group.to_owned(),
            ..Default::default()
        };
        self.update(c.clone());
        Some(c)
    }

    /// Creates or replaces a group.
    pub fn update(&self, c: SubscriptionGroupConfig) {
        let mut w = self.inner.write();
        info!(group = %c.group_name, "subscription group updated");
        w.subscription_group_table.insert(c.group_name.clone(), c);
        w.data_version.next();
        self.persist(&w);
    }

    /// Removes a group; true when it existed.
    pub fn delete(&self, group: &str) -> bool {
        let mut w = self.inner.write();
        let existed = w.subscription_group_table.remove(group).is_some();
        if existed {
            w.data_version.next();
            self.persist(&w);
        }
        existed
    }

    /// A copy of the table.
    pub fn snapshot(&self) -> SubscriptionGroupWrapper {
        self.inner.read().clone()
    }

    /// Persists now.
    pub fn flush(&self) {
        self.persist(&self.inner.read());
    }

    fn persist(&self, w: &SubscriptionGroupWrapper) {
        if let Err(e) = persist::store(&self.path, w) {
            warn!(path = %self.path.display(), error = %e, "cannot persist subscriptionGroup.json");
        }
    }
}
