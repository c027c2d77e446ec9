//! Our own redb tables, in the same database file as the apalis queue.
//!
//! * job history: every job with each attempt (start, end, outcome, error, rows, bytes),
//!   so a person can see what happened and a restart can mark interrupted attempts;
//! * partitions: which county files exist, which export generation they were cut from and
//!   where their blocks live, so lost files can be detected and rebuilt;
//! * the current export generation, bumped by every DbToHdfs.
//!
//! Values are JSON: the tables are small and a person may want to read them with other
//! tools. Writes are durable (redb's default `Immediate`); they run on the blocking pool.
//!
//! Each table is a borrowed handle with its own file ([`Store::history`],
//! [`Store::partitions`], [`Store::exports`]): `impl Store` is only here, and holds what the
//! tables share (the file, the transactions, JSON).

mod export;
pub mod history;
mod partitions;

use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, TableDefinition};
use serde::{Serialize, de::DeserializeOwned};

use crate::error::{Error, Result, StoreError};

pub use export::{ExportRecord, Exports};
pub use history::{HISTORY_SCAN, History, JobKind, JobRecord, JobState};
pub use partitions::{PartitionRecord, Partitions, Renewal};

const JOBS: TableDefinition<&str, &str> = TableDefinition::new("lender:jobs");
const PARTITIONS: TableDefinition<i32, &str> = TableDefinition::new("lender:partitions");
const META: TableDefinition<&str, &str> = TableDefinition::new("lender:meta");

/// Handle to the shared redb database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: apalis_redb::Connection,
}

impl Store {
    /// Opens (or creates) the database file. redb allows one open per process, so the queue
    /// gets its connection from here too ([`Store::connection`]).
    pub async fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::store(format!("creating {}", dir.display()), e))?;
        }
        let conn = apalis_redb::connect(path)
            .await
            .map_err(|e| Error::store(format!("opening {}", path.display()), e))?;
        let store = Store { conn };
        store.create_tables().await?;
        Ok(store)
    }

    /// Every job with its attempts.
    pub fn history(&self) -> History<'_> {
        History { store: self }
    }

    /// Which county files exist, and where.
    pub fn partitions(&self) -> Partitions<'_> {
        Partitions { store: self }
    }

    /// The current export generation.
    pub fn exports(&self) -> Exports<'_> {
        Exports { store: self }
    }

    pub fn connection(&self) -> apalis_redb::Connection {
        self.conn.clone()
    }

    fn db(&self) -> &Database {
        self.conn.database()
    }

    async fn create_tables(&self) -> Result<()> {
        self.write("creating the tables", |txn| {
            txn.open_table(JOBS)?;
            txn.open_table(PARTITIONS)?;
            txn.open_table(META)?;
            Ok(())
        })
        .await
    }

    /// Runs a write transaction on the blocking pool and commits it durably.
    /// `context` says what we were doing, for the error.
    async fn write<T: Send + 'static>(
        &self,
        context: impl Into<String>,
        f: impl FnOnce(&redb::WriteTransaction) -> StoreResult<T> + Send + 'static,
    ) -> Result<T> {
        self.write_with(Durability::Immediate, f)
            .await
            .map_err(|e| Error::store(context, e))
    }

    /// Like [`Store::write`], but without waiting for the disk (a durable commit costs an
    /// fsync, ~3 ms here): the next durable commit persists it. Only for records a crash may
    /// lose because something durable restores them, and that are always followed by a
    /// durable write in the normal course.
    async fn write_lazily<T: Send + 'static>(
        &self,
        context: impl Into<String>,
        f: impl FnOnce(&redb::WriteTransaction) -> StoreResult<T> + Send + 'static,
    ) -> Result<T> {
        self.write_with(Durability::None, f)
            .await
            .map_err(|e| Error::store(context, e))
    }

    async fn write_with<T: Send + 'static>(
        &self,
        durability: Durability,
        f: impl FnOnce(&redb::WriteTransaction) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut txn = conn.database().begin_write()?;
            txn.set_durability(durability)?;
            let out = f(&txn)?;
            txn.commit()?;
            Ok(out)
        })
        .await?
    }

    /// Runs a read transaction inline: redb reads are lock-free and take microseconds.
    fn read<T>(
        &self,
        context: impl Into<String>,
        f: impl FnOnce(&redb::ReadTransaction) -> StoreResult<T>,
    ) -> Result<T> {
        let read = || f(&self.db().begin_read()?);
        read().map_err(|e| Error::store(context, e))
    }
}

/// What a table's transaction gives: the library's error, before [`Store::read`] or
/// [`Store::write`] says what we were doing.
type StoreResult<T> = std::result::Result<T, StoreError>;

fn to_json<T: Serialize>(value: &T) -> StoreResult<String> {
    Ok(serde_json::to_string(value)?)
}

fn from_json<T: DeserializeOwned>(raw: &str) -> StoreResult<T> {
    Ok(serde_json::from_str(raw)?)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// Shared by tests: a store in a fresh temporary file.
#[cfg(test)]
pub(crate) async fn temp_store() -> (Store, std::sync::Arc<tempdir::TempDir>) {
    let dir = std::sync::Arc::new(tempdir::TempDir::new());
    let store = Store::open(&dir.path().join("test.redb")).await.unwrap();
    (store, dir)
}

#[cfg(test)]
pub(crate) mod tempdir {
    /// Minimal temp dir (avoids a dependency): removed on drop.
    pub struct TempDir(std::path::PathBuf);
    impl TempDir {
        pub fn new() -> Self {
            let p = std::env::temp_dir().join(format!("lender-test-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
