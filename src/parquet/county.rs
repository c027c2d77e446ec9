//! Encoding a county file: its rows are encoded batch by batch into a local spool file, so
//! memory holds one batch and one row group, whatever the county's size. Sending it to HDFS
//! is the partition job's.

use std::path::Path;

use arrow::{datatypes::SchemaRef, record_batch::RecordBatch};
use parquet::{arrow::ArrowWriter, basic::Compression, file::properties::WriterProperties};

use super::writer::unwrap_external;
use crate::{
    error::{Error, Result},
    spool::{Spool, SpoolWriter},
};

/// Rows per row group of a county file. The writer holds one row group's encoded pages
/// until it is complete: this bounds that memory (a few MiB) for the largest county, while
/// every county of the 1x data still fits in one group.
const ROW_GROUP_ROWS: usize = 64 * 1024;

/// A county file being encoded into a local spool file.
pub(crate) struct CountyEncoder {
    writer: ArrowWriter<SpoolWriter>,
    spool: Spool,
    path: String,
    rows: u64,
}

/// A complete county file on local disk, ready to send.
pub(crate) struct EncodedCounty {
    spool: Spool,
    pub rows: u64,
    pub bytes: u64,
}

impl EncodedCounty {
    /// The local file holding it, for the write path to send.
    pub(crate) fn spool(&self) -> &Spool {
        &self.spool
    }
}

impl CountyEncoder {
    /// Starts the county file for `path` in `spool_dir`, named after the job's attempt (so
    /// startup cleans what a stopped process left). `at_most` is an upper bound of its size
    /// (the big file's), checked against free space.
    pub(crate) async fn create(
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

    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer
            .write(batch)
            .map_err(|e| unwrap_external(e, || format!("encoding {}", self.path)))?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Bytes the writer holds in memory now (its unfinished row group).
    #[cfg(test)]
    fn memory_size(&self) -> usize {
        self.writer.memory_size()
    }

    /// Writes the footer; the file is complete on local disk.
    pub(crate) fn finish(self) -> Result<EncodedCounty> {
        let CountyEncoder {
            writer,
            spool,
            path,
            rows,
        } = self;
        let mut sink = writer
            .into_inner()
            .map_err(|e| unwrap_external(e, || format!("encoding {path}")))?;
        sink.complete();
        let bytes = spool.state().len;
        Ok(EncodedCounty { spool, rows, bytes })
    }
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
    use crate::spool::Progress;

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
