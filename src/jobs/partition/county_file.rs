//! Writing a county file: its rows are encoded batch by batch into a local spool file (so
//! memory holds one batch and one row group, whatever the county's size), which is then
//! sent through WebHDFS `CREATE` to a DataNode we trust, under a temporary name, and
//! renamed into place.

use std::{path::Path, sync::Arc, time::Duration};

use arrow::{datatypes::SchemaRef, record_batch::RecordBatch};
use parquet::{arrow::ArrowWriter, basic::Compression, file::properties::WriterProperties};

use crate::{
    config::{BLOCK_SIZE, PARTITION_REPLICATION},
    error::{Error, Result},
    hdfs::temp_path,
    jobs::services::Services,
    spool::{Progress, Spool, SpoolWriter},
};

/// Writing a county file may be sent to a DataNode that just died (the NameNode hands it
/// out until it declares it dead): each try excludes every node that failed before.
const WRITE_TRIES: u32 = 4;

/// Longest a DataNode that answers probes may take no bytes of a county file, or not
/// confirm it after the last one. A healthy stock DataNode confirms a county file (a few
/// hundred KiB) within about a second, two NameNode round trips included; one whose
/// request threads wait on a silent node behind it would keep us for a minute, and every
/// CalcAvgLoan for a new county waits on the partition workers meanwhile. The next try
/// goes through another DataNode.
const COUNTY_WRITE_STALL: Duration = Duration::from_secs(5);

/// Rows per row group of a county file. The writer holds one row group's encoded pages
/// until it is complete: this bounds that memory (a few MiB) for the largest county, while
/// every county of the 1x data still fits in one group.
const ROW_GROUP_ROWS: usize = 64 * 1024;

/// A county file being encoded into a local spool file.
pub(super) struct CountyEncoder {
    writer: ArrowWriter<SpoolWriter>,
    spool: Spool,
    path: String,
    rows: u64,
}

/// A complete county file on local disk, ready to send.
pub(super) struct EncodedCounty {
    spool: Spool,
    pub rows: u64,
    pub bytes: u64,
}

impl CountyEncoder {
    /// Starts the county file for `path` in `spool_dir`, named after the job's attempt (so
    /// startup cleans what a stopped process left). `at_most` is an upper bound of its size
    /// (the big file's), checked against free space.
    pub(super) async fn create(
        spool_dir: &Path,
        job_id: &str,
        attempt: u32,
        schema: SchemaRef,
        path: &str,
        at_most: u64,
    ) -> Result<Self> {
        let (spool, sink) = Spool::create(
            spool_dir,
            &format!("{job_id}-{attempt}.parquet"),
            Some(at_most),
        )
        .await?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        let writer = ArrowWriter::try_new(sink, schema, Some(props))
            .map_err(|e| Error::parquet(format!("encoding {path}"), e))?;
        Ok(CountyEncoder {
            writer,
            spool,
            path: path.to_owned(),
            rows: 0,
        })
    }

    pub(super) fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer.write(batch).map_err(|e| {
            crate::parquet::unwrap_external(e, || format!("encoding {}", self.path))
        })?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Bytes the writer holds in memory now (its unfinished row group).
    #[cfg(test)]
    fn memory_size(&self) -> usize {
        self.writer.memory_size()
    }

    /// Writes the footer; the file is complete on local disk.
    pub(super) fn finish(self) -> Result<EncodedCounty> {
        let CountyEncoder {
            writer,
            spool,
            path,
            rows,
        } = self;
        let mut sink = writer
            .into_inner()
            .map_err(|e| crate::parquet::unwrap_external(e, || format!("encoding {path}")))?;
        sink.complete();
        let bytes = spool.state().len;
        Ok(EncodedCounty { spool, rows, bytes })
    }
}

/// Writes the county file (temporary name, then rename) through a DataNode we trust;
/// returns the DataNode holding it.
pub(super) async fn write_county(
    services: &Services,
    path: &str,
    job_id: &str,
    attempt: u32,
    county: &EncodedCounty,
) -> Result<String> {
    let mut last_error = None;
    // DataNodes too busy to take this file: avoided by this write's next tries only.
    let mut busy: Vec<String> = Vec::new();
    for try_number in 1..=WRITE_TRIES {
        // Each try its own name: a failed try's file may still be open on a DataNode that
        // went silent, and must not be overwritten or renamed by the next one.
        let tmp = try_temp_path(path, job_id, attempt, try_number);
        let mut avoid = services.health.avoid(&services.webhdfs).await;
        for host in &busy {
            if !avoid.contains(host) {
                avoid.push(host.clone());
            }
        }
        let progress = Arc::new(Progress::default());
        let body = reqwest::Body::wrap_stream(county.spool.follow(progress.clone()).await?);
        let created = services
            .webhdfs
            .create(
                &tmp,
                body,
                &progress,
                PARTITION_REPLICATION,
                BLOCK_SIZE,
                &avoid,
                services.config.datanode_timeout,
                COUNTY_WRITE_STALL,
            )
            .await;
        let error = match created {
            Ok(host) => match services.hdfs.rename_into_place(&tmp, path).await {
                Ok(()) => return Ok(host),
                Err(e) => {
                    services.hdfs.remove_quietly(&tmp).await;
                    return Err(e);
                }
            },
            Err(e) => e,
        };
        services.hdfs.remove_quietly(&tmp).await;
        match error {
            Error::DataNode { hosts, message } => {
                hosts.iter().for_each(|host| services.health.suspect(host));
                tracing::warn!(path, try_number, ?hosts, %message, "DataNode failed the write; trying another");
                last_error = Some(Error::DataNode { hosts, message });
            }
            Error::Busy { host, message } => {
                tracing::warn!(path, try_number, host, %message, "DataNode too slow with the write; trying another");
                busy.push(host.clone());
                last_error = Some(Error::Busy { host, message });
            }
            e if !avoid.is_empty() => {
                // The NameNode refuses when we exclude every node it has: our suspicions
                // are stale (a node came back). Forget them and let the NameNode choose.
                tracing::warn!(path, try_number, error = %e, ?avoid, "write refused; forgetting suspect DataNodes");
                services.health.forgive_all();
                busy.clear();
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
    Err(last_error.unwrap_or_else(|| Error::Aborted(format!("writing {path}: no tries left"))))
}

/// The temporary name of one try of one attempt at writing `path`.
fn try_temp_path(path: &str, job_id: &str, attempt: u32, try_number: u32) -> String {
    temp_path(path, &format!("{job_id}-{attempt}-{try_number}"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::{
        array::{Int32Array, Int64Array, StringArray},
        datatypes::{DataType, Field, Schema},
    };
    use futures::TryStreamExt;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

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

    fn batch(schema: &SchemaRef, first: i64, rows: usize) -> RecordBatch {
        let ids = Int64Array::from_iter_values(first..first + rows as i64);
        let amounts =
            Int32Array::from_iter_values((0..rows).map(|i| 30_001 + (i as i32 * 7919) % 700_000));
        let notes =
            StringArray::from_iter_values((0..rows).map(|i| format!("loan note {}", i % 977)));
        RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(ids), Arc::new(amounts), Arc::new(notes)],
        )
        .unwrap()
    }

    /// Encodes `batches` batches of 16k rows into a county file; returns the encoder's
    /// peak memory, and checks the file reads back whole and leaves no spool file behind.
    async fn encode_county_of(batches: usize) -> usize {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("loan_amount", DataType::Int32, false),
            Field::new("note", DataType::Utf8, false),
        ]));
        let dir = std::env::temp_dir().join(format!("lender-county-{}", uuid::Uuid::now_v7()));
        let job = uuid::Uuid::now_v7().to_string();
        let mut encoder = CountyEncoder::create(
            &dir,
            &job,
            1,
            schema.clone(),
            "/partitions/1.parquet",
            1 << 20,
        )
        .await
        .unwrap();
        let rows_each = 16 * 1024;
        let mut peak = 0;
        for b in 0..batches {
            encoder
                .write(&batch(&schema, (b * rows_each) as i64, rows_each))
                .unwrap();
            peak = peak.max(encoder.memory_size());
        }
        let encoded = encoder.finish().unwrap();
        assert_eq!(encoded.rows, (batches * rows_each) as u64);
        let bytes: Vec<u8> = encoded
            .spool
            .follow(Arc::new(Progress::default()))
            .await
            .unwrap()
            .map_ok(|b| b.to_vec())
            .try_concat()
            .await
            .unwrap();
        assert_eq!(bytes.len() as u64, encoded.bytes);
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).unwrap();
        let read: usize = reader.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
        assert_eq!(read, batches * rows_each);
        drop(encoded);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "spool file left"
        );
        let _ = std::fs::remove_dir_all(&dir);
        peak
    }

    /// Memory follows the row group, not the county: a county twice as large (up to 1.5
    /// times the largest of the 10x data) is encoded in the same memory.
    #[tokio::test]
    async fn a_county_is_encoded_in_memory_independent_of_its_size() {
        let small = encode_county_of(20).await;
        let large = encode_county_of(40).await;
        assert!(
            large * 10 < small * 12,
            "the encoder held {small} bytes for 20 batches but {large} for 40"
        );
    }
}
