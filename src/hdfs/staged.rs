//! Atomic publication: a file is written under a temporary name and renamed over its final
//! path only once complete, so a reader never sees half a file.

use super::client::Hdfs;
use crate::error::Result;

/// A complete file in its temporary place, not yet visible at its final path.
#[must_use = "a staged file must be published or discarded"]
pub struct Staged {
    tmp: String,
    path: String,
    /// The writer's byte count (HDFS's own figure replaces it on publication).
    written_bytes: u64,
}

impl Staged {
    pub fn new(tmp: String, path: &str, written_bytes: u64) -> Self {
        Staged {
            tmp,
            path: path.to_owned(),
            written_bytes,
        }
    }

    /// Renames the file over its final path (replacing what was there). The size (bytes)
    /// returned is the one HDFS reports for the published file (what `hdfs dfs -du` shows, footer
    /// included), not the writer's count, which misses the bytes written at close.
    pub async fn publish(self, hdfs: &Hdfs) -> Result<u64> {
        if let Err(e) = hdfs.rename_into_place(&self.tmp, &self.path).await {
            hdfs.remove_quietly(&self.tmp).await;
            return Err(e);
        }
        let bytes = match hdfs.stat(&self.path).await {
            Ok(Some(status)) => status.length as u64,
            // The file is in place; only the figure is missing: keep the writer's count.
            Ok(None) | Err(_) => {
                tracing::warn!(path = %self.path, "no file status after the rename; reporting the writer's byte count");
                self.written_bytes
            }
        };
        Ok(bytes)
    }

    pub async fn discard(self, hdfs: &Hdfs) {
        hdfs.remove_quietly(&self.tmp).await;
    }
}
