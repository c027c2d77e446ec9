//! Atomic publication: a file is written under a temporary name and renamed over its final
//! path only once complete, so a reader never sees half a file.

use super::client::Hdfs;
use crate::error::Result;

/// A complete file in its temporary place, not yet visible at its final path.
#[must_use = "a staged file must be published or discarded"]
pub struct Staged {
    tmp: String,
    path: String,
    /// The DataNode that received the file.
    host: String,
}

impl Staged {
    pub(super) fn new(tmp: String, path: &str, host: String) -> Self {
        Staged {
            tmp,
            path: path.to_owned(),
            host,
        }
    }

    /// The DataNode that received the file (and, for a file of replication 1, holds it).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Renames the file over its final path (replacing what was there). A failed rename
    /// removes the temporary file: nothing half-done is left at either name.
    pub async fn publish(self, hdfs: &Hdfs) -> Result<()> {
        if let Err(e) = hdfs.rename_into_place(&self.tmp, &self.path).await {
            hdfs.remove_quietly(&self.tmp).await;
            return Err(e);
        }
        Ok(())
    }

    /// Publishes as [`Staged::publish`] and returns the size (bytes) HDFS reports for the
    /// published file (what `hdfs dfs -du` shows, footer included), not `written_bytes`, the
    /// writer's count, which misses the bytes written at close; that count is kept only when
    /// the NameNode gives no figure.
    pub async fn publish_measured(self, hdfs: &Hdfs, written_bytes: u64) -> Result<u64> {
        let path = self.path.clone();
        self.publish(hdfs).await?;
        let bytes = match hdfs.stat(&path).await {
            Ok(Some(status)) => status.length as u64,
            // The file is in place; only the figure is missing: keep the writer's count.
            Ok(None) | Err(_) => {
                tracing::warn!(path = %path, "no file status after the rename; reporting the writer's byte count");
                written_bytes
            }
        };
        Ok(bytes)
    }

    pub async fn discard(self, hdfs: &Hdfs) {
        hdfs.remove_quietly(&self.tmp).await;
    }
}
