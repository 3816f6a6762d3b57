//! JSON metadata files under `storePathRootDir/config/`, written like Apache's
//! `ConfigManager`: to a temporary file, then renamed, keeping the previous file as `.bak`.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::warn;

/// Reads `path` (or its `.bak` when `path` is missing or unreadable); `None` when neither is
/// usable.
pub fn load<T: DeserializeOwned>(path: &Path) -> Option<T> {
    for p in [path.to_path_buf(), bak(path)] {
        match std::fs::read(&p) {
            Ok(bytes) if !bytes.is_empty() => {
                match remoting::protocol::fastjson::from_slice(&bytes) {
                    Ok(v) => return Some(v),
                    Err(e) => warn!(path = %p.display(), error = %e, "cannot parse metadata file"),
                }
            }
            _ => {}
        }
    }
    None
}

/// Writes `value` as pretty JSON: previous file to `.bak`, new content via a temporary file.
pub fn store<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    store_bytes(path, &bytes)
}

/// Writes raw bytes the same way.
pub fn store_bytes(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes)?;
    if path.exists() {
        let _ = std::fs::copy(path, bak(path));
    }
    std::fs::rename(&tmp, path)
}

fn bak(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".bak");
    PathBuf::from(s)
}
