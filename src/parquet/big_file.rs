//! Reading one county's rows out of the big file: only row groups whose statistics admit the
//! county are fetched (their column chunks in parallel), and rows are filtered on
//! county_code before the other columns are decoded, so a county costs its own row groups,
//! not the file. Which footer and reader to use (one per export generation, shared by the
//! partition jobs) is the partition job's.

use std::{sync::Arc, time::Duration};

use arrow::{datatypes::SchemaRef, error::ArrowError, record_batch::RecordBatch};
use futures::TryStreamExt;
use hdfs_native::file::FileReader;
use parquet::{
    arrow::{
        ParquetRecordBatchStreamBuilder, ProjectionMask,
        arrow_reader::{ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, RowFilter},
        async_reader::ParquetRecordBatchStream,
    },
    file::metadata::ParquetMetaData,
};

use super::reader::ParquetFile;
use crate::{
    error::{Error, Result},
    hdfs::bounded,
    loans::{COUNTY_COLUMN, county_mask, row_groups_for_county},
};

/// The Arrow view of a file's footer (its schema, among others).
pub(crate) fn arrow_metadata(
    metadata: &Arc<ParquetMetaData>,
    path: &str,
) -> Result<ArrowReaderMetadata> {
    ArrowReaderMetadata::try_new(metadata.clone(), ArrowReaderOptions::default())
        .map_err(|e| Error::parquet(format!("schema of {path}"), e))
}

/// The county's rows of the file at `path`, all columns, as a stream of batches, through
/// `reader` and the file's footer (`metadata`, whose Arrow schema is `schema`). Each batch
/// may take a few `datanode_timeout`s: hdfs-native retries a dead DataNode's read on
/// another replica.
pub(crate) fn read_county_rows(
    reader: Arc<FileReader>,
    metadata: &Arc<ParquetMetaData>,
    schema: &SchemaRef,
    path: &str,
    county: i32,
    datanode_timeout: Duration,
) -> Result<CountyRows> {
    let groups = row_groups_for_county(metadata, schema, county)?;
    if groups.is_empty() {
        return Err(Error::NotFound(format!("no loans in {path}")));
    }
    let file = ParquetFile::new(reader, path).with_metadata(metadata.clone());
    let reader_metadata = arrow_metadata(metadata, path)?;
    let county_only =
        ProjectionMask::columns(metadata.file_metadata().schema_descr(), [COUNTY_COLUMN]);
    let predicate = ArrowPredicateFn::new(county_only, move |batch: RecordBatch| {
        county_mask(batch.column(0), county).map_err(|e| ArrowError::ComputeError(e.to_string()))
    });
    let stream = ParquetRecordBatchStreamBuilder::new_with_metadata(file, reader_metadata)
        .with_row_groups(groups)
        .with_row_filter(RowFilter::new(vec![Box::new(predicate)]))
        .with_batch_size(16 * 1024)
        .build()
        .map_err(|e| Error::parquet(format!("reading county {county} from {path}"), e))?;
    Ok(CountyRows {
        stream,
        path: path.to_owned(),
        county,
        stall: datanode_timeout * 4 + Duration::from_secs(10),
    })
}

/// One county's rows from a file, a batch at a time.
pub(crate) struct CountyRows {
    stream: ParquetRecordBatchStream<ParquetFile>,
    path: String,
    county: i32,
    /// Longest one batch may take: a read that hdfs-native retries on another replica after
    /// a dead DataNode (a few socket timeouts) fits; a stall does not. A bound per read, not
    /// per county: a large county takes as long as its rows need.
    stall: Duration,
}

impl CountyRows {
    /// The next batch, `None` at the end.
    pub(crate) async fn next(&mut self) -> Result<Option<RecordBatch>> {
        let what = || format!("reading county {} from {}", self.county, self.path);
        bounded(what(), self.stall, async {
            self.stream
                .try_next()
                .await
                .map_err(|e| Error::parquet(what(), e))
        })
        .await
    }
}
