//! The hdfs-native client: NameNode calls bounded in time (a NameNode that is down gives a
//! clear error, not minutes of retries), reads bounded per block (whole files or byte ranges), and the
//! renames and deletes that publication and cleanup need.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use hdfs_native::{Client, ClientBuilder, client::FileStatus, file::FileReader};

use crate::{
    config::{BLOCK_SIZE, Config, TMP_DIR},
    error::{Error, Result},
};

/// A file opened for reading; each read is bounded in time.
pub struct OpenFile {
    path: String,
    reader: FileReader,
    stall: Duration,
}

impl OpenFile {
    /// The file's length in bytes, as the NameNode gave it at opening.
    pub fn length(&self) -> u64 {
        self.reader.file_length() as u64
    }

    /// `len` bytes from `offset`, bounded by the stall given at opening: a healthy DataNode
    /// sends a block in milliseconds, a silent one is given up on.
    pub async fn read(&self, offset: u64, len: u64) -> Result<Bytes> {
        let what = || {
            format!(
                "reading {} at byte {offset} of {}",
                self.path,
                self.length()
            )
        };
        bounded(what(), self.stall, async {
            self.reader
                .read_range(offset as usize, len as usize)
                .await
                .map_err(|e| Error::hdfs(what(), e))
        })
        .await
    }

    /// The whole file, a block at a time, each read bounded by the stall: a healthy
    /// DataNode sends a block in milliseconds, a silent one is given up on after the stall
    /// however large the file. A file of one block is one request.
    pub async fn read_all(&self) -> Result<Bytes> {
        let len = self.length();
        // Only a file of several blocks needs a buffer to join them in.
        let mut whole = bytes::BytesMut::new();
        let mut offset = 0;
        loop {
            let want = BLOCK_SIZE.min(len - offset);
            let part = self.read(offset, want).await?;
            if want == len {
                return Ok(part);
            }
            if whole.is_empty() {
                whole.reserve(len as usize);
            }
            whole.extend_from_slice(&part);
            offset += want;
            if offset >= len {
                return Ok(whole.freeze());
            }
        }
    }
}

/// Shared HDFS client. Cheap to clone.
#[derive(Clone)]
pub struct Hdfs {
    client: Arc<Client>,
}

impl Hdfs {
    /// Connects as `config.hdfs_user`, the user WebHDFS requests name too: left alone,
    /// hdfs-native would run as `HADOOP_USER_NAME` or the process's login user, and files
    /// one path writes could then be unreadable or unremovable by the other.
    pub fn connect(config: &Config) -> Result<Self> {
        let timeout_ms = config.datanode_timeout.as_millis().to_string();
        let client = ClientBuilder::new()
            .with_url(config.hdfs_url.as_str())
            .with_user(config.hdfs_user.as_str())
            .with_config([
                // hdfs-native waits 60 s per replica by default; a dead node must cost far less.
                ("dfs.client.socket-timeout", timeout_ms.as_str()),
                // NameNode RPC: fail fast when the NameNode is down instead of retrying for minutes.
                ("ipc.client.connect.max.retries", "1"),
                ("ipc.client.connect.timeout", "3000"),
            ])
            .build()
            .map_err(|e| {
                Error::hdfs(
                    format!("connecting to {} as {}", config.hdfs_url, config.hdfs_user),
                    e,
                )
            })?;
        Ok(Hdfs {
            client: Arc::new(client),
        })
    }

    /// File status, or `None` when the path does not exist.
    pub async fn stat(&self, path: &str) -> Result<Option<FileStatus>> {
        match namenode(format!("stat {path}"), self.client.get_file_info(path)).await? {
            Ok(status) => Ok(Some(status)),
            Err(hdfs_native::HdfsError::FileNotFound(_)) => Ok(None),
            Err(e) => Err(Error::hdfs(format!("stat {path}"), e)),
        }
    }

    pub async fn open(&self, path: &str) -> Result<FileReader> {
        namenode(format!("opening {path}"), self.client.read(path))
            .await?
            .map_err(|e| Error::hdfs(format!("opening {path}"), e))
    }

    /// Opens `path` for reads each bounded by `stall` (see [`OpenFile::read`]). Opening it
    /// (a NameNode call) is bounded by `stall` too: a caller that asks the NameNode again
    /// after a failure must not spend two NameNode timeouts.
    pub async fn open_bounded(&self, path: &str, stall: Duration) -> Result<OpenFile> {
        let reader = bounded(format!("opening {path}"), stall, self.open(path)).await?;
        Ok(OpenFile {
            path: path.to_owned(),
            reader,
            stall,
        })
    }

    pub async fn delete(&self, path: &str) -> Result<bool> {
        namenode(format!("deleting {path}"), self.client.delete(path, true))
            .await?
            .map_err(|e| Error::hdfs(format!("deleting {path}"), e))
    }

    /// Removes leftovers of writes that never finished: temporary files older than
    /// `started_ms` (when this process started) belong to a previous, stopped process.
    pub async fn clean_temporaries(&self, started_ms: u64) -> Result<usize> {
        let entries = match namenode(
            format!("listing {TMP_DIR}"),
            self.client.list_status(TMP_DIR, false),
        )
        .await?
        {
            Ok(entries) => entries,
            Err(hdfs_native::HdfsError::FileNotFound(_)) => return Ok(0),
            Err(e) => return Err(Error::hdfs(format!("listing {TMP_DIR}"), e)),
        };
        let stale: Vec<_> = entries
            .iter()
            .filter(|e| e.modification_time < started_ms)
            .collect();
        for entry in &stale {
            self.delete(&entry.path).await?;
        }
        Ok(stale.len())
    }

    /// Renames a complete temporary file over its final path (creating the directory).
    pub async fn rename_into_place(&self, tmp: &str, path: &str) -> Result<()> {
        if let Some(parent) = path
            .rsplit_once('/')
            .map(|(dir, _)| dir)
            .filter(|d| !d.is_empty())
        {
            namenode(
                format!("creating directory {parent}"),
                self.client.mkdirs(parent, 0o755, true),
            )
            .await?
            .map_err(|e| Error::hdfs(format!("creating directory {parent}"), e))?;
        }
        namenode(
            format!("renaming {tmp} to {path}"),
            self.client.rename(tmp, path, true),
        )
        .await?
        .map_err(|e| Error::hdfs(format!("renaming {tmp} to {path}"), e))
    }

    /// Sets the replication of the (complete) file `path`. The NameNode records it at once
    /// (the file's status reports it) and copies or drops replicas in the background.
    pub async fn set_replication(&self, path: &str, replication: u32) -> Result<()> {
        let what = || format!("setting replication {replication} on {path}");
        let changed = namenode(what(), self.client.set_replication(path, replication))
            .await?
            .map_err(|e| Error::hdfs(what(), e))?;
        if changed {
            Ok(())
        } else {
            Err(Error::Unavailable(format!(
                "{}: the NameNode has no such file",
                what()
            )))
        }
    }

    pub async fn remove_quietly(&self, path: &str) {
        if let Err(e) = self.client.delete(path, false).await {
            tracing::warn!(path, error = %e, "could not remove temporary file");
        }
    }
}

/// `/partitions/55001.parquet` -> `/.lender-tmp/<job>-partitions-55001.parquet`
pub fn temp_path(path: &str, job_id: &str) -> String {
    let flat = path.trim_start_matches('/').replace('/', "-");
    format!("{TMP_DIR}/{job_id}-{flat}")
}

/// How long a NameNode metadata call may take: hdfs-native keeps retrying a NameNode that
/// is down, and a caller must get a clear error instead.
const NAMENODE_TIMEOUT: Duration = Duration::from_secs(5);

async fn namenode<T>(what: String, fut: impl Future<Output = T>) -> Result<T> {
    tokio::time::timeout(NAMENODE_TIMEOUT, fut)
        .await
        .map_err(|_| {
            Error::Unavailable(format!(
                "HDFS NameNode did not answer within {} s ({what})",
                NAMENODE_TIMEOUT.as_secs()
            ))
        })
}

/// Bounds one HDFS operation in time, turning a hang into a clear error.
pub async fn bounded<T>(
    what: impl Into<String>,
    limit: Duration,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result,
        Err(_) => Err(Error::Timeout(format!(
            "{} after {} ms",
            what.into(),
            limit.as_millis()
        ))),
    }
}
