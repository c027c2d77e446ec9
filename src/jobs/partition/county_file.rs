//! Writing a county file: encoded in memory (it is small), sent through WebHDFS `CREATE` to
//! a DataNode we trust, under a temporary name, then renamed into place.

use std::time::{Duration, Instant};

use arrow::{datatypes::SchemaRef, record_batch::RecordBatch};
use bytes::Bytes;
use parquet::{arrow::ArrowWriter, basic::Compression, file::properties::WriterProperties};

use crate::{
    config::{BLOCK_SIZE, PARTITION_REPLICATION},
    error::{Error, Result},
    hdfs::temp_path,
    jobs::Jobs,
};

/// Writing a county file may be sent to a DataNode that just died (the NameNode hands it
/// out until it declares it dead): each try excludes every node that failed before.
const WRITE_TRIES: u32 = 4;

impl Jobs {
    /// Writes the county file (temporary name, then rename) through a DataNode we trust;
    /// returns its size and the DataNode holding it.
    pub(super) async fn write_county(
        &self,
        path: &str,
        job_id: &str,
        attempt: u32,
        schema: SchemaRef,
        batches: &[RecordBatch],
    ) -> Result<(u64, String)> {
        let encoding = Instant::now();
        let data = encode_parquet(schema, batches, path)?;
        tracing::debug!(
            path,
            bytes = data.len(),
            encode_ms = encoding.elapsed().as_millis() as u64,
            "county file encoded"
        );
        let mut last_error = None;
        for try_number in 1..=WRITE_TRIES {
            // Each try its own name: a failed try's file may still be open on a DataNode that
            // went silent, and must not be overwritten or renamed by the next one.
            let tmp = try_temp_path(path, job_id, attempt, try_number);
            let avoid = self.health.avoid(&self.webhdfs).await;
            let created = self
                .webhdfs
                .create(
                    &tmp,
                    data.clone(),
                    PARTITION_REPLICATION,
                    BLOCK_SIZE,
                    &avoid,
                    self.config.datanode_timeout,
                )
                .await;
            let error = match created {
                Ok(host) => match self.hdfs.rename_into_place(&tmp, path).await {
                    Ok(()) => return Ok((data.len() as u64, host)),
                    Err(e) => {
                        self.hdfs.remove_quietly(&tmp).await;
                        return Err(e);
                    }
                },
                Err(e) => e,
            };
            self.hdfs.remove_quietly(&tmp).await;
            match error {
                Error::DataNode { host, message } => {
                    self.health.suspect(&host);
                    tracing::warn!(path, try_number, %host, %message, "DataNode failed the write; trying another");
                    last_error = Some(Error::DataNode { host, message });
                }
                e if !avoid.is_empty() => {
                    // The NameNode refuses when we exclude every node it has: our suspicions
                    // are stale (a node came back). Forget them and let the NameNode choose.
                    tracing::warn!(path, try_number, error = %e, ?avoid, "write refused; forgetting suspect DataNodes");
                    self.health.forgive_all();
                    last_error = Some(e);
                }
                e if e.is_retryable() => {
                    tracing::warn!(path, try_number, error = %e, "writing the county file failed; trying again");
                    last_error = Some(e);
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(try_number))).await;
                }
                e => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::Queue(format!("writing {path}: no tries left"))))
    }
}

/// The temporary name of one try of one attempt at writing `path`.
fn try_temp_path(path: &str, job_id: &str, attempt: u32, try_number: u32) -> String {
    temp_path(path, &format!("{job_id}-{attempt}-{try_number}"))
}

/// A county file is small (well under a block): encode it in memory, send it in one go.
fn encode_parquet(schema: SchemaRef, batches: &[RecordBatch], path: &str) -> Result<Bytes> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let perr = |e| Error::parquet(format!("encoding {path}"), e);
    let mut writer = ArrowWriter::try_new(Vec::new(), schema, Some(props)).map_err(perr)?;
    for batch in batches {
        writer.write(batch).map_err(perr)?;
    }
    Ok(Bytes::from(writer.into_inner().map_err(perr)?))
}

#[cfg(test)]
mod tests {
    use super::try_temp_path;

    #[test]
    fn every_try_writes_under_its_own_temporary_name() {
        let path = "/partitions/55001.parquet";
        let names: std::collections::HashSet<String> = (1..=2)
            .flat_map(|attempt| (1..=3).map(move |t| try_temp_path(path, "job", attempt, t)))
            .collect();
        assert_eq!(names.len(), 6);
        assert_eq!(
            try_temp_path(path, "job", 2, 3),
            "/.lender-tmp/job-2-3-partitions-55001.parquet"
        );
    }
}
