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
        let tmp = temp_path(path, &format!("{job_id}-{attempt}"));
        let mut last_error = None;
        for try_number in 1..=WRITE_TRIES {
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
            match created {
                Ok(host) => {
                    self.hdfs.rename_into_place(&tmp, path).await?;
                    return Ok((data.len() as u64, host));
                }
                Err(Error::DataNode { host, message }) => {
                    self.health.suspect(&host);
                    tracing::warn!(path, try_number, %host, %message, "DataNode failed the write; trying another");
                    last_error = Some(Error::DataNode { host, message });
                }
                Err(e) if !avoid.is_empty() => {
                    // The NameNode refuses when we exclude every node it has: our suspicions
                    // are stale (a node came back). Forget them and let the NameNode choose.
                    tracing::warn!(path, try_number, error = %e, ?avoid, "write refused; forgetting suspect DataNodes");
                    self.health.forgive_all();
                    last_error = Some(e);
                }
                Err(e) if e.is_retryable() => {
                    tracing::warn!(path, try_number, error = %e, "writing the county file failed; trying again");
                    last_error = Some(e);
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(try_number))).await;
                }
                Err(e) => return Err(e),
            }
        }
        self.hdfs.remove_quietly(&tmp).await;
        Err(last_error.unwrap_or_else(|| Error::Queue(format!("writing {path}: no tries left"))))
    }
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
