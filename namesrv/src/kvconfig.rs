//! KV config: namespaced key/value pairs, persisted as `{"configTable":{ns:{k:v}}}`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};
use tracing::{info, warn};

#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KvConfigSerializeWrapper {
    config_table: HashMap<String, BTreeMap<String, String>>,
}

/// Namespaced key/value configuration (`KVConfigManager`).
pub struct KvConfigManager {
    path: PathBuf,
    table: RwLock<HashMap<String, BTreeMap<String, String>>>,
}

impl KvConfigManager {
    /// Loads `path` if it exists; a missing file is an empty table, an unreadable one is logged.
    pub fn load(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let table = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<KvConfigSerializeWrapper>(&bytes) {
                Ok(w) => {
                    info!(path = %path.display(), namespaces = w.config_table.len(), "KV config loaded");
                    w.config_table
                }
                Err(e) => {
                    warn!(path = %path.display(), error = %e, "KV config file is not valid; starting empty");
                    HashMap::new()
                }
            },
            Err(_) => HashMap::new(),
        };
        KvConfigManager {
            path,
            table: RwLock::new(table),
        }
    }

    /// Sets a value and persists.
    pub fn put(&self, namespace: &str, key: &str, value: &str) {
        let mut t = self.table.write().expect("kv lock");
        t.entry(namespace.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
        self.persist(&t);
    }

    /// Removes a value and persists.
    pub fn delete(&self, namespace: &str, key: &str) {
        let mut t = self.table.write().expect("kv lock");
        if let Some(ns) = t.get_mut(namespace) {
            ns.remove(key);
            if ns.is_empty() {
                t.remove(namespace);
            }
        }
        self.persist(&t);
    }

    /// One value.
    pub fn get(&self, namespace: &str, key: &str) -> Option<String> {
        self.table
            .read()
            .expect("kv lock")
            .get(namespace)?
            .get(key)
            .cloned()
    }

    /// Every pair of a namespace.
    pub fn list(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        self.table
            .read()
            .expect("kv lock")
            .get(namespace)
            .filter(|m| !m.is_empty())
            .cloned()
    }

    fn persist(&self, table: &HashMap<String, BTreeMap<String, String>>) {
        let wrapper = KvConfigSerializeWrapper {
            config_table: table.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&wrapper).expect("in-memory JSON");
        if let Err(e) = write_atomically(&self.path, &bytes) {
            warn!(path = %self.path.display(), error = %e, "cannot persist KV config");
        }
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
