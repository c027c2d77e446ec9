//! The big file as partition jobs read it: its footer once per export generation, one
//! reader shared by every job (it remembers DataNodes that failed it), and the read of one
//! county's rows, fetching only the row groups whose statistics admit the county.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use arrow::{datatypes::SchemaRef, error::ArrowError, record_batch::RecordBatch};
use futures::TryStreamExt;
use parquet::{
    arrow::{
        ParquetRecordBatchStreamBuilder, ProjectionMask,
        arrow_reader::{ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, RowFilter},
        async_reader::ParquetRecordBatchStream,
    },
    file::metadata::ParquetMetaData,
};

use crate::{
    config::EXPORT_PATH,
    error::{Error, Result},
    hdfs::{Hdfs, bounded},
    loans::{COUNTY_COLUMN, county_mask, row_groups_for_county},
    parquet::{ParquetFile, open_parquet},
    store::{ExportRecord, Store},
};

/// The big file of one generation: its footer, and one reader shared by every partition
/// job, which remembers DataNodes that failed it (so only the first job after a failure
/// waits on a dead node).
#[derive(Clone)]
pub(in crate::jobs) struct BigFile {
    generation: u64,
    /// When `reader` was opened: its memory of dead nodes must not outlive their recovery.
    opened: Instant,
    reader: Arc<hdfs_native::file::FileReader>,
    metadata: Arc<ParquetMetaData>,
    pub(super) schema: SchemaRef,
}

/// The big file of the current generation, once a partition job opened it. The export
/// tells it only one thing: forget it (a new file was published).
#[derive(Default)]
pub(in crate::jobs) struct BigFileCache(tokio::sync::Mutex<Option<BigFile>>);

/// How long one reader of the big file (and its list of failed DataNodes) is kept.
const READER_LIFETIME: Duration = Duration::from_secs(30);

/// The generation of the big file, adopting a file some earlier run left in HDFS when
/// the store has none (for example after the store volume was lost).
pub(super) async fn current_generation(store: &Store, hdfs: &Hdfs) -> Result<u64> {
    generation_of(store.exports().current()?.as_ref(), store, hdfs).await
}

/// [`current_generation`] for a caller that has read the export record already.
pub(super) async fn generation_of(
    export: Option<&ExportRecord>,
    store: &Store,
    hdfs: &Hdfs,
) -> Result<u64> {
    match export {
        Some(export) => Ok(export.generation),
        None => adopt_export(store, hdfs).await,
    }
}

/// The store knows no export: a file left in HDFS becomes a new generation, or there is
/// nothing to answer from yet.
async fn adopt_export(store: &Store, hdfs: &Hdfs) -> Result<u64> {
    match hdfs.stat(EXPORT_PATH).await? {
        Some(_) => {
            tracing::info!(
                path = EXPORT_PATH,
                "adopting an export the store did not know"
            );
            store.exports().begin_generation(None).await
        }
        None => Err(Error::NotFound(format!(
            "no export yet: run DbToHdfs first ({EXPORT_PATH} does not exist)"
        ))),
    }
}

impl BigFileCache {
    /// Drops the cached file and its reader: the export published a new one.
    pub(in crate::jobs) async fn forget(&self) {
        *self.0.lock().await = None;
    }

    /// The big file's footer for `generation`, cached.
    pub(super) async fn open(&self, hdfs: &Hdfs, generation: u64) -> Result<BigFile> {
        let mut cached = self.0.lock().await;
        match cached.as_mut().filter(|b| b.generation == generation) {
            Some(big) if big.opened.elapsed() < READER_LIFETIME => return Ok(big.clone()),
            Some(big) => {
                big.reader = Arc::new(hdfs.open(EXPORT_PATH).await?);
                big.opened = Instant::now();
                return Ok(big.clone());
            }
            None => {}
        }
        let (reader, metadata) = open_parquet(hdfs, EXPORT_PATH).await.map_err(|e| {
            if e.is_not_found() {
                Error::NotFound(format!("{EXPORT_PATH} is missing: run DbToHdfs first"))
            } else {
                e
            }
        })?;
        let reader_metadata =
            ArrowReaderMetadata::try_new(metadata.clone(), ArrowReaderOptions::default())
                .map_err(|e| Error::parquet(format!("schema of {EXPORT_PATH}"), e))?;
        let schema = reader_metadata.schema().clone();
        let big = BigFile {
            generation,
            opened: Instant::now(),
            reader,
            metadata,
            schema,
        };
        *cached = Some(big.clone());
        Ok(big)
    }

    /// Ages the shared reader out: the next job opens a fresh one, with no memory of
    /// DataNodes that failed it.
    pub(super) async fn forget_reader(&self) {
        if let Some(big) = self.0.lock().await.as_mut() {
            big.opened -= READER_LIFETIME;
        }
    }
}

impl BigFile {
    /// The big file's size: no county file is larger.
    pub(super) fn bytes(&self) -> u64 {
        self.reader.file_length() as u64
    }

    /// The county's rows, all columns, as a stream of batches: only row groups whose
    /// statistics admit the county are fetched (their column chunks in parallel), and rows
    /// are filtered on county_code before the other columns are decoded.
    pub(super) fn read_county(
        &self,
        county: i32,
        datanode_timeout: Duration,
    ) -> Result<CountyRows> {
        let groups = row_groups_for_county(&self.metadata, &self.schema, county)?;
        if groups.is_empty() {
            return Err(Error::NotFound(format!("no loans in {EXPORT_PATH}")));
        }
        let file =
            ParquetFile::new(self.reader.clone(), EXPORT_PATH).with_metadata(self.metadata.clone());
        let reader_metadata =
            ArrowReaderMetadata::try_new(self.metadata.clone(), ArrowReaderOptions::default())
                .map_err(|e| Error::parquet(format!("schema of {EXPORT_PATH}"), e))?;
        let county_only = ProjectionMask::columns(
            self.metadata.file_metadata().schema_descr(),
            [COUNTY_COLUMN],
        );
        let predicate = ArrowPredicateFn::new(county_only, move |batch: RecordBatch| {
            county_mask(batch.column(0), county)
                .map_err(|e| ArrowError::ComputeError(e.to_string()))
        });
        let stream = ParquetRecordBatchStreamBuilder::new_with_metadata(file, reader_metadata)
            .with_row_groups(groups)
            .with_row_filter(RowFilter::new(vec![Box::new(predicate)]))
            .with_batch_size(16 * 1024)
            .build()
            .map_err(|e| {
                Error::parquet(format!("reading county {county} from {EXPORT_PATH}"), e)
            })?;
        Ok(CountyRows {
            stream,
            county,
            stall: datanode_timeout * 4 + Duration::from_secs(10),
        })
    }
}

/// One county's rows from the big file, a batch at a time.
pub(super) struct CountyRows {
    stream: ParquetRecordBatchStream<ParquetFile>,
    county: i32,
    /// Longest one batch may take: a read that hdfs-native retries on another replica after
    /// a dead DataNode (a few socket timeouts) fits; a stall does not. A bound per read, not
    /// per county: a large county takes as long as its rows need.
    stall: Duration,
}

impl CountyRows {
    /// The next batch, `None` at the end.
    pub(super) async fn next(&mut self) -> Result<Option<RecordBatch>> {
        let what = || format!("reading county {} from {EXPORT_PATH}", self.county);
        bounded(what(), self.stall, async {
            self.stream
                .try_next()
                .await
                .map_err(|e| Error::parquet(what(), e))
        })
        .await
    }
}
