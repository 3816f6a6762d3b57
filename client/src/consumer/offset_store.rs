//! Consumer offsets: on the broker for clustering (Apache `RemoteBrokerOffsetStore`), in a
//! local file for broadcasting (Apache `LocalFileOffsetStore`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use remoting::protocol::body::{MessageQueue, ResetOffsetBody};
use tracing::{debug, warn};

use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;

/// Where [`OffsetStore::read_offset`] looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOffsetType {
    /// Only the in-memory table.
    Memory,
    /// Only the durable store (broker or file).
    Store,
    /// Memory, then the store when memory has nothing.
    MemoryThenStore,
}

/// Offset read result meaning "nothing stored".
pub const OFFSET_NONE: i64 = -1;
/// Offset read result meaning "the store could not be asked".
pub const OFFSET_ERROR: i64 = -2;

/// A consumer group's offsets: the next offset to consume for each queue.
#[async_trait]
pub trait OffsetStore: Send + Sync {
    /// Loads durable offsets into memory.
    async fn load(&self) -> Result<()>;
    /// Sets the offset of `mq`; with `increase_only`, never moves it back.
    fn update_offset(&self, mq: &MessageQueue, offset: i64, increase_only: bool);
    /// The offset of `mq`, [`OFFSET_NONE`] or [`OFFSET_ERROR`].
    async fn read_offset(&self, mq: &MessageQueue, ty: ReadOffsetType) -> i64;
    /// Makes the offsets of `mqs` durable; `wait` waits for the broker's answers.
    async fn persist_all(&self, mqs: &[MessageQueue], wait: bool);
    /// Makes the offset of one queue durable and waits for it.
    async fn persist(&self, mq: &MessageQueue) -> Result<()>;
    /// Forgets `mq` in memory.
    fn remove_offset(&self, mq: &MessageQueue);
    /// The in-memory table.
    fn offsets(&self) -> BTreeMap<MessageQueue, i64>;
}

#[derive(Default)]
struct Table(Mutex<BTreeMap<MessageQueue, i64>>);

impl Table {
    fn update(&self, mq: &MessageQueue, offset: i64, increase_only: bool) {
        let mut t = self.0.lock().unwrap();
        let e = t.entry(mq.clone()).or_insert(offset);
        if !increase_only || offset > *e {
            *e = offset;
        }
    }
    fn get(&self, mq: &MessageQueue) -> Option<i64> {
        self.0.lock().unwrap().get(mq).copied()
    }
}

/// Offsets kept by the broker.
pub struct RemoteOffsetStore {
    instance: Arc<ClientInstance>,
    group: String,
    table: Table,
}

impl RemoteOffsetStore {
    /// A store for `group` over the instance's brokers.
    pub fn new(instance: Arc<ClientInstance>, group: impl Into<String>) -> Self {
        RemoteOffsetStore {
            instance,
            group: group.into(),
            table: Table::default(),
        }
    }

    async fn commit(&self, mq: &MessageQueue, offset: i64, oneway: bool) -> Result<()> {
        let addr = self
            .instance
            .find_master_addr(&mq.broker_name, &mq.topic)
            .await?;
        self.instance
            .api()
            .update_consumer_offset(&addr, &self.group, mq, offset, oneway)
            .await
    }
}

#[async_trait]
impl OffsetStore for RemoteOffsetStore {
    async fn load(&self) -> Result<()> {
        Ok(())
    }

    fn update_offset(&self, mq: &MessageQueue, offset: i64, increase_only: bool) {
        self.table.update(mq, offset, increase_only);
    }

    async fn read_offset(&self, mq: &MessageQueue, ty: ReadOffsetType) -> i64 {
        if ty != ReadOffsetType::Store
            && let Some(o) = self.table.get(mq)
        {
            return o;
        }
        if ty == ReadOffsetType::Memory {
            return OFFSET_NONE;
        }
        let addr = match self
            .instance
            .find_master_addr(&mq.broker_name, &mq.topic)
            .await
        {
            Ok(a) => a,
            Err(_) => return OFFSET_ERROR,
        };
        match self
            .instance
            .api()
            .query_consumer_offset(&addr, &self.group, mq)
            .await
        {
            Ok(Some(o)) => {
                self.table.update(mq, o, false);
                o
            }
            Ok(None) | Err(ClientError::Broker { .. }) => OFFSET_NONE,
            Err(e) => {
                warn!(?mq, error = %e, "query consumer offset failed");
                OFFSET_ERROR
            }
        }
    }

    async fn persist_all(&self, mqs: &[MessageQueue], wait: bool) {
        let table = self.offsets();
        for mq in mqs {
            if let Some(&o) = table.get(mq)
                && let Err(e) = self.commit(mq, o, !wait).await
            {
                debug!(?mq, error = %e, "offset commit failed");
            }
        }
    }

    async fn persist(&self, mq: &MessageQueue) -> Result<()> {
        match self.table.get(mq) {
            Some(o) => self.commit(mq, o, false).await,
            None => Ok(()),
        }
    }

    fn remove_offset(&self, mq: &MessageQueue) {
        self.table.0.lock().unwrap().remove(mq);
    }

    fn offsets(&self) -> BTreeMap<MessageQueue, i64> {
        self.table.0.lock().unwrap().clone()
    }
}

/// Offsets kept in `<dir>/<clientId>/<group>/offsets.json` (Apache's layout and JSON).
pub struct LocalFileOffsetStore {
    path: PathBuf,
    table: Table,
    write_lock: tokio::sync::Mutex<()>,
}

impl LocalFileOffsetStore {
    /// A store under `dir` for `client_id` and `group`.
    pub fn new(dir: impl Into<PathBuf>, client_id: &str, group: &str) -> Self {
        let safe = |s: &str| s.replace(['/', '\\', ':'], "_");
        LocalFileOffsetStore {
            path: dir
                .into()
                .join(safe(client_id))
                .join(safe(group))
                .join("offsets.json"),
            table: Table::default(),
            write_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Apache's default directory: `~/.rocketmq_offsets` (or `rocketmq.client.localOffsetStoreDir`).
    pub fn default_dir() -> PathBuf {
        std::env::var("ROCKETMQ_CLIENT_LOCAL_OFFSET_STORE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| ".".into()))
                    .join(".rocketmq_offsets")
            })
    }

    /// The file path.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    fn read_file(&self) -> Result<BTreeMap<MessageQueue, i64>> {
        for p in [self.path.clone(), self.path.with_extension("json.bak")] {
            match std::fs::read(&p) {
                Ok(bytes) => match ResetOffsetBody::decode(&bytes) {
                    Ok(b) => return Ok(b.offset_table),
                    Err(e) => warn!(path = %p.display(), error = %e, "bad offset file"),
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(BTreeMap::new())
    }

    async fn write_file(&self) -> Result<()> {
        let _g = self.write_lock.lock().await;
        let body = ResetOffsetBody {
            offset_table: self.offsets(),
        };
        let bytes = body.encode();
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        if self.path.exists() {
            let _ = std::fs::copy(&self.path, self.path.with_extension("json.bak"));
        }
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &self.path)?;
        Ok(())
    }
}

#[async_trait]
impl OffsetStore for LocalFileOffsetStore {
    async fn load(&self) -> Result<()> {
        let loaded = self.read_file()?;
        let mut t = self.table.0.lock().unwrap();
        for (mq, o) in loaded {
            t.insert(mq, o);
        }
        Ok(())
    }

    fn update_offset(&self, mq: &MessageQueue, offset: i64, increase_only: bool) {
        self.table.update(mq, offset, increase_only);
    }

    async fn read_offset(&self, mq: &MessageQueue, ty: ReadOffsetType) -> i64 {
        if ty != ReadOffsetType::Store
            && let Some(o) = self.table.get(mq)
        {
            return o;
        }
        if ty == ReadOffsetType::Memory {
            return OFFSET_NONE;
        }
        match self.read_file() {
            Ok(t) => match t.get(mq) {
                Some(&o) => {
                    self.table.update(mq, o, false);
                    o
                }
                None => OFFSET_NONE,
            },
            Err(_) => OFFSET_ERROR,
        }
    }

    async fn persist_all(&self, _mqs: &[MessageQueue], _wait: bool) {
        if let Err(e) = self.write_file().await {
            warn!(path = %self.path.display(), error = %e, "cannot write offsets");
        }
    }

    async fn persist(&self, _mq: &MessageQueue) -> Result<()> {
        self.write_file().await
    }

    fn remove_offset(&self, mq: &MessageQueue) {
        self.table.0.lock().unwrap().remove(mq);
    }

    fn offsets(&self) -> BTreeMap<MessageQueue, i64> {
        self.table.0.lock().unwrap().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(q: i32) -> MessageQueue {
        MessageQueue {
            topic: "T".into(),
            broker_name: "b".into(),
            queue_id: q,
        }
    }

    #[tokio::test]
    async fn local_file_round_trip_and_increase_only() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalFileOffsetStore::new(dir.path(), "1.2.3.4@i", "g");
        assert_eq!(
            s.read_offset(&mq(0), ReadOffsetType::MemoryThenStore).await,
            OFFSET_NONE
        );
        s.update_offset(&mq(0), 10, false);
        s.update_offset(&mq(0), 5, true);
        s.update_offset(&mq(1), 7, true);
        assert_eq!(s.read_offset(&mq(0), ReadOffsetType::Memory).await, 10);
        s.persist_all(&[], false).await;
        let text = std::fs::read_to_string(s.path()).unwrap();
        assert!(text.starts_with("{\"offsetTable\":{{"), "{text}");

        let again = LocalFileOffsetStore::new(dir.path(), "1.2.3.4@i", "g");
        again.load().await.unwrap();
        assert_eq!(again.read_offset(&mq(0), ReadOffsetType::Memory).await, 10);
        assert_eq!(again.read_offset(&mq(1), ReadOffsetType::Store).await, 7);
        let other = LocalFileOffsetStore::new(dir.path(), "1.2.3.4@j", "g");
        assert_eq!(
            other.read_offset(&mq(0), ReadOffsetType::Store).await,
            OFFSET_NONE
        );
    }

    #[tokio::test]
    async fn corrupt_file_falls_back_to_backup() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalFileOffsetStore::new(dir.path(), "c", "g");
        s.update_offset(&mq(0), 3, false);
        s.persist(&mq(0)).await.unwrap();
        s.update_offset(&mq(0), 4, false);
        s.persist(&mq(0)).await.unwrap();
        std::fs::write(s.path(), b"{garbage").unwrap();
        let again = LocalFileOffsetStore::new(dir.path(), "c", "g");
        again.load().await.unwrap();
        assert_eq!(again.read_offset(&mq(0), ReadOffsetType::Memory).await, 3);
    }
}
