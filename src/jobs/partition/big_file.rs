//! The big file as partition jobs read it: its footer once per export generation, one
//! reader shared by every job (it remembers DataNodes that failed it), and the read of one
//! county's rows through them ([`crate::parquet::read_county_rows`] fetches only the row
//! groups whose statistics admit the county).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use arrow::datatypes::SchemaRef;
use parquet::file::metadata::ParquetMetaData;

use crate::{
    config::EXPORT_PATH,
    error::{Error, Result},
    hdfs::Hdfs,
    parquet::{CountyRows, arrow_metadata, open_parquet, read_county_rows},
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
        let schema = arrow_metadata(&metadata, EXPORT_PATH)?.schema().clone();
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

    /// The county's rows, all columns, as a stream of batches (see
    /// [`crate::parquet::read_county_rows`]).
    pub(super) fn read_county(
        &self,
        county: i32,
        datanode_timeout: Duration,
    ) -> Result<CountyRows> {
        read_county_rows(
            self.reader.clone(),
            &self.metadata,
            &self.schema,
            EXPORT_PATH,
            county,
            datanode_timeout,
        )
    }
}
