//! The export job (DbToHdfs): stream the loans join out of MySQL into one Parquet file,
//! clustered by county, then swap it in atomically and start a new generation.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use arrow::datatypes::SchemaRef;

use parquet::{
    basic::Compression,
    file::{
        metadata::KeyValue,
        properties::{EnabledStatistics, WriterProperties},
    },
};
use tokio::sync::mpsc;

use super::{
    ExportArgs, Jobs, Outcome,
    cluster::{ClusterRules, CountyClusterer, RowGroup},
    spill::SpillPlace,
    tracked::{Job, JobResult},
    work_key,
};
use crate::{
    config::{BLOCK_SIZE, EXPORT_PATH, EXPORT_REPLICATION},
    error::{Error, Result},
    hdfs::{Staged, Written, write_parquet},
    loans::COUNTY_COLUMN,
    mysql::{Delivery, EXPORT_QUERY},
    spool::Spool,
    store::{
        JobKind, JobRecord, JobState,
        history::{AttemptReport, JobProgress},
    },
};

/// How the history shows an export's arguments.
pub(super) const EXPORT_ARGS: &str = "mysql loans+loan_types -> /hdma-wi-2021.parquet";

/// How often a running export logs its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Rows per Arrow batch coming out of MySQL.
const BATCH_ROWS: usize = 8192;

/// Row groups of the export. 32k rows per county group keeps the largest group the same at
/// 1x and 10x data; small counties share groups of up to 16k rows; 24 MiB of rows may wait
/// in memory to be clustered, the rest waits in spill files, whatever the data's size (the
/// export's peak memory stays flat).
pub(crate) const CLUSTER_RULES: ClusterRules = ClusterRules {
    group_rows: 32 * 1024,
    mixed_rows: 16 * 1024,
    budget_bytes: 24 << 20,
};

/// The export file says how it is laid out (footer key-value metadata), so a reader or a
/// test can check the layout against the rule the writer followed.
const LAYOUT_KEY: &str = "lender.layout";

#[derive(Debug, Clone)]
pub struct ExportOutcome {
    pub generation: u64,
    pub rows: u64,
    pub bytes: u64,
    /// Blocks as the NameNode reports them for the published file.
    pub blocks: u64,
    pub seconds: f64,
}

impl ExportOutcome {
    /// The DbToHdfs status text.
    pub fn status(&self) -> String {
        format!(
            "success: exported {} rows to {EXPORT_PATH} ({} bytes = {:.1} MiB, {} blocks x {EXPORT_REPLICATION} replicas) in {:.1} s (generation {})",
            self.rows,
            self.bytes,
            self.bytes as f64 / (1024.0 * 1024.0),
            self.blocks,
            self.seconds,
            self.generation
        )
    }
}

impl JobResult for ExportOutcome {
    fn report(&self) -> AttemptReport {
        AttemptReport {
            rows: Some(self.rows),
            bytes: Some(self.bytes),
            summary: Some(self.status()),
            ..Default::default()
        }
    }

    fn into_outcome(self) -> Outcome {
        Outcome::Export(self)
    }
}

fn export_props() -> WriterProperties {
    let layout = format!(
        "clustered by {COUNTY_COLUMN}: a row group holds one county, or neighbouring counties \
         in at most {} rows, those mixed groups covering disjoint ranges",
        CLUSTER_RULES.mixed_rows
    );
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(None)
        // Pages of 8k rows: the dictionary encoder holds a page's indices until it closes.
        .set_data_page_row_count_limit(8192)
        .set_key_value_metadata(Some(vec![KeyValue::new(LAYOUT_KEY.to_owned(), layout)]))
        .build()
}

impl Jobs {
    pub(super) async fn run_export_job(&self, args: ExportArgs) -> Result<String> {
        let job = Job {
            id: &args.job_id,
            kind: JobKind::Export,
            key: work_key::EXPORT,
            args: EXPORT_ARGS,
            max_attempts: 3,
        };
        self.run_tracked(job, |attempt| self.export_once(&args.job_id, attempt))
            .await
    }

    /// One attempt: MySQL rows stream in table order, are clustered by county, encoded into
    /// a local spool file while the upload sends it to HDFS; each stage on its own task.
    /// A DataNode failure costs a re-send from the spool, never the query.
    async fn export_once(&self, job_id: &str, attempt: u32) -> Result<ExportOutcome> {
        let started = Instant::now();
        let tag = format!("{job_id}-{attempt}");
        let progress = self.track_export(job_id)?;
        let expected_bytes = self.store.export()?.and_then(|e| e.bytes);
        let (spool, sink) = Spool::create(
            &self.config.spool_dir,
            &format!("{tag}.parquet"),
            expected_bytes,
        )
        .await?;
        let (schema, batches) = self.mysql.stream(EXPORT_QUERY, BATCH_ROWS).await?;
        let spill = SpillPlace {
            dir: self.config.spool_dir.clone(),
            prefix: tag.clone(),
        };
        // Whatever ends this attempt (an error, a give-up, a drop) stops its clusterer and
        // encoder threads too, and with them the MySQL reader: no retry runs beside them.
        let stop = StopOnDrop::default();
        let groups = cluster_stage(&schema, batches, spill, progress.clone(), stop.flag())?;
        let stopped = stop.flag();
        let encode = async {
            let what = format!("the export spool for {EXPORT_PATH}");
            let encoded = tokio::task::spawn_blocking(move || {
                let mut sink = sink;
                let encoded = encode_groups(&mut sink, &what, schema, groups, &stopped)?;
                sink.complete();
                Ok(encoded)
            })
            .await
            .map_err(|e| Error::Aborted(format!("the export's encoder stopped: {e}")))?;
            tracing::info!(
                ms = started.elapsed().as_millis() as u64,
                "export encoded into the spool"
            );
            encoded
        };
        let work = async { tokio::try_join!(encode, self.upload_spool(&spool, EXPORT_PATH, &tag)) };
        let (encoded, tmp) = tokio::select! {
            done = work => done?,
            never = watch_progress(&progress, &spool) => match never {},
        };
        let staged = Staged::new(tmp, EXPORT_PATH, encoded.written);

        // Swap under the write lock: no partition job reads the big file meanwhile, and
        // the generation is bumped before the rename (see store::export).
        let _swap = self.export_swap.write().await;
        let generation = match self.store.begin_generation(Some(job_id.to_owned())).await {
            Ok(generation) => generation,
            Err(e) => {
                staged.discard(&self.hdfs).await;
                return Err(e);
            }
        };
        let written = staged.publish(&self.hdfs).await?;
        *self.big_file.lock().await = None;
        let blocks = self.published_blocks(EXPORT_PATH, written.bytes).await;
        let seconds = started.elapsed().as_secs_f64();
        crate::telemetry::export_published(written.rows, written.bytes, seconds);
        self.store
            .finish_generation(generation, written.rows, written.bytes, encoded.counties)
            .await?;
        Ok(ExportOutcome {
            generation,
            rows: written.rows,
            bytes: written.bytes,
            blocks,
            seconds,
        })
    }
}

impl Jobs {
    /// Registers the running export's progress for `lender jobs`; the expected row count is
    /// the previous export's.
    fn track_export(&self, job_id: &str) -> Result<Arc<ExportProgress>> {
        let expected_rows = self.store.export()?.and_then(|e| e.rows);
        let progress = Arc::new(ExportProgress::new(job_id, expected_rows));
        if let Ok(mut current) = self.export_progress.lock() {
            *current = Some(progress.clone());
        }
        Ok(progress)
    }

    /// Fills in the running export's progress on its record (the job views show it).
    pub fn attach_progress(&self, jobs: &mut [JobRecord]) {
        let Some(progress) = self.export_progress.lock().ok().and_then(|p| p.clone()) else {
            return;
        };
        for job in jobs.iter_mut() {
            if job.id == progress.job_id && job.state == JobState::Running {
                job.progress = Some(progress.snapshot());
            }
        }
    }

    /// The published file's block count as the NameNode reports it (WebHDFS), falling back
    /// to the count its size implies when the NameNode does not answer.
    async fn published_blocks(&self, path: &str, bytes: u64) -> u64 {
        match self.webhdfs.block_count(path).await {
            Ok(blocks) => blocks,
            Err(e) => {
                tracing::warn!(path, error = %e, "no block list after the rename; reporting the count its size implies");
                bytes.div_ceil(BLOCK_SIZE)
            }
        }
    }
}

/// What the clusterer hands the encoder: row groups, then the end of the data with the
/// rows it clustered and the counties it saw. A channel that closes without `End` means the
/// clusterer died: the encoder then refuses to finish the file.
enum Clustered {
    Group(RowGroup),
    End { rows: u64, counties: Vec<i32> },
}

/// Set when an export attempt ends, however it ends; its stages poll it and stop.
#[derive(Default)]
struct StopOnDrop(Arc<AtomicBool>);

impl StopOnDrop {
    fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn attempt_ended() -> Error {
    Error::Aborted("the export attempt ended before its data did".into())
}

/// The clustering stage on a thread of its own (it writes spill files): takes MySQL's
/// batches in table order, hands the encoder county-clustered row groups. The hand-over is
/// a rendezvous: the next group waits here while the encoder reads the one before, batch
/// by batch, so no more than one group's in-memory rows are out of the clusterer's budget.
fn cluster_stage(
    schema: &SchemaRef,
    batches: mpsc::Receiver<Result<Delivery>>,
    spill: SpillPlace,
    progress: Arc<ExportProgress>,
    stop: Arc<AtomicBool>,
) -> Result<std::sync::mpsc::Receiver<Result<Clustered>>> {
    let clusterer = CountyClusterer::new(schema, COUNTY_COLUMN, CLUSTER_RULES, spill)?;
    let (tx, rx) = std::sync::mpsc::sync_channel(0);
    tokio::task::spawn_blocking(move || {
        // false: the encoder gave up
        let send = |item: Result<Clustered>| tx.send(item).is_ok();
        if let Err(e) = cluster_all(clusterer, batches, &progress, &stop, &send) {
            send(Err(e));
        }
    });
    Ok(rx)
}

/// Clusters every batch up to the reader's `End`, checks that every row it announced
/// arrived, sends the groups and then its own `End`. Dropping `batches` on the way out
/// stops the MySQL reader.
fn cluster_all(
    mut clusterer: CountyClusterer,
    mut batches: mpsc::Receiver<Result<Delivery>>,
    progress: &ExportProgress,
    stop: &AtomicBool,
    send: &dyn Fn(Result<Clustered>) -> bool,
) -> Result<()> {
    let started = Instant::now();
    let mut rows = 0u64;
    let announced = loop {
        if stop.load(Ordering::Relaxed) {
            return Err(attempt_ended());
        }
        let batch = match batches.blocking_recv() {
            Some(Ok(Delivery::Batch(batch))) => batch,
            Some(Ok(Delivery::End { rows })) => break rows,
            Some(Err(e)) => return Err(e),
            None => {
                return Err(Error::Aborted(format!(
                    "the MySQL reader stopped after {rows} rows without reaching the end of the data"
                )));
            }
        };
        rows += batch.num_rows() as u64;
        progress.rows.store(rows, Ordering::Relaxed);
        for group in clusterer.push(&batch)? {
            if !send(Ok(Clustered::Group(group))) {
                return Ok(());
            }
        }
    };
    drop(batches);
    if announced != rows {
        return Err(Error::Aborted(format!(
            "MySQL announced {announced} rows but the clusterer received {rows}"
        )));
    }
    let counties = clusterer.counties()?;
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        rows,
        counties = counties.len(),
        spill_files = clusterer.spill_files(),
        "export read every row from MySQL"
    );
    for group in clusterer.finish() {
        if stop.load(Ordering::Relaxed) {
            return Err(attempt_ended());
        }
        if !send(Ok(Clustered::Group(group))) {
            return Ok(());
        }
    }
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        "export rows clustered"
    );
    send(Ok(Clustered::End { rows, counties }));
    Ok(())
}

/// What the encoder wrote, and the counties the file holds.
struct Encoded {
    written: Written,
    counties: Vec<i32>,
}

/// Encodes the clustered groups into `sink`. Refuses to finish the file unless the
/// clusterer said the data ended, and unless every row it clustered was written.
fn encode_groups(
    sink: &mut (impl std::io::Write + Send),
    what: &str,
    schema: SchemaRef,
    groups: std::sync::mpsc::Receiver<Result<Clustered>>,
    stop: &AtomicBool,
) -> Result<Encoded> {
    let mut end = None;
    let feed = std::iter::from_fn(|| {
        if end.is_some() {
            return None;
        }
        if stop.load(Ordering::Relaxed) {
            return Some(Err(attempt_ended()));
        }
        match groups.recv() {
            Ok(Ok(Clustered::Group(group))) => Some(Ok(group.into_batches())),
            Ok(Ok(Clustered::End { rows, counties })) => {
                end = Some((rows, counties));
                None
            }
            Ok(Err(e)) => Some(Err(e)),
            Err(_) => Some(Err(Error::Aborted(
                "the export's clusterer stopped without reaching the end of the data".into(),
            ))),
        }
    });
    let written = write_parquet(sink, what, schema, export_props(), feed)?;
    let Some((rows, counties)) = end else {
        return Err(Error::Aborted(format!(
            "{what}: the data ended without its end mark"
        )));
    };
    if rows != written.rows {
        return Err(Error::Aborted(format!(
            "{what}: the clusterer sent {rows} rows but {} were encoded",
            written.rows
        )));
    }
    Ok(Encoded { written, counties })
}

/// How far the running export got: rows read from MySQL, bytes encoded.
pub(crate) struct ExportProgress {
    pub job_id: String,
    started: Instant,
    rows: AtomicU64,
    bytes: AtomicU64,
    expected_rows: Option<u64>,
}

impl ExportProgress {
    fn new(job_id: &str, expected_rows: Option<u64>) -> Self {
        ExportProgress {
            job_id: job_id.to_owned(),
            started: Instant::now(),
            rows: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            expected_rows,
        }
    }

    /// A snapshot for the job views: rate, and an ETA from the previous export's rows.
    pub fn snapshot(&self) -> JobProgress {
        let rows = self.rows.load(Ordering::Relaxed);
        let seconds = self.started.elapsed().as_secs_f64();
        let rows_per_s = if seconds > 0.0 {
            rows as f64 / seconds
        } else {
            0.0
        };
        // No ETA once past the previous export's rows: the data grew, the guess is gone.
        let eta_s = self.expected_rows.and_then(|expected| {
            (rows_per_s > 0.0 && rows <= expected).then(|| (expected - rows) as f64 / rows_per_s)
        });
        JobProgress {
            rows,
            bytes: self.bytes.load(Ordering::Relaxed),
            seconds,
            rows_per_s,
            expected_rows: self.expected_rows,
            eta_s,
        }
    }
}

/// Keeps the encoded byte count current and, every few seconds, logs a progress line: at
/// 10x data an export runs for over a minute, and a person watching the log should see it
/// move.
async fn watch_progress(progress: &ExportProgress, spool: &Spool) -> std::convert::Infallible {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut next_log = Instant::now() + PROGRESS_EVERY;
    loop {
        tick.tick().await;
        progress.bytes.store(spool.state().len, Ordering::Relaxed);
        if Instant::now() >= next_log {
            next_log += PROGRESS_EVERY;
            let p = progress.snapshot();
            tracing::info!(
                job = %progress.job_id,
                rows = p.rows,
                encoded_mib = format!("{:.1}", p.bytes as f64 / (1024.0 * 1024.0)),
                rows_per_s = format!("{:.0}", p.rows_per_s),
                eta_s = p.eta_s.map(|s| format!("{s:.0}")).unwrap_or_else(|| "-".into()),
                "export progress"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, atomic::AtomicBool};

    use arrow::{
        array::{Int32Array, Int64Array},
        datatypes::{DataType, Field, Schema, SchemaRef},
        record_batch::RecordBatch,
    };
    use tokio::sync::mpsc;

    use super::{Encoded, ExportProgress, cluster_stage, encode_groups};
    use crate::{
        error::Result,
        jobs::spill::SpillPlace,
        loans::{AMOUNT_COLUMN, COUNTY_COLUMN},
        mysql::Delivery,
        store::tempdir::TempDir,
    };

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new(COUNTY_COLUMN, DataType::Int32, true),
            Field::new(AMOUNT_COLUMN, DataType::Int64, false),
        ]))
    }

    fn batch(counties: &[i32]) -> RecordBatch {
        let amounts: Vec<i64> = (0..counties.len() as i64).map(|i| 50_000 + i).collect();
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int32Array::from(counties.to_vec())),
                Arc::new(Int64Array::from(amounts)),
            ],
        )
        .unwrap()
    }

    /// Runs the clusterer and the encoder over what a reader delivered (the reader's
    /// channel closes after the last delivery); the Parquet bytes go nowhere.
    async fn export_of(deliveries: Vec<Delivery>) -> Result<Encoded> {
        let dir = TempDir::new();
        let (tx, rx) = mpsc::channel(deliveries.len() + 1);
        for delivery in deliveries {
            tx.send(Ok(delivery)).await.unwrap();
        }
        drop(tx);
        let place = SpillPlace {
            dir: dir.path().to_owned(),
            prefix: "test".into(),
        };
        let progress = Arc::new(ExportProgress::new("test", None));
        let stop = Arc::new(AtomicBool::new(false));
        let groups = cluster_stage(&schema(), rx, place, progress, stop.clone())?;
        tokio::task::spawn_blocking(move || {
            encode_groups(&mut Vec::new(), "test file", schema(), groups, &stop)
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_complete_delivery_encodes_every_row_and_names_its_counties() {
        let encoded = export_of(vec![
            Delivery::Batch(batch(&[55003, 55001, 55003])),
            Delivery::Batch(batch(&[55001])),
            Delivery::End { rows: 4 },
        ])
        .await
        .unwrap();
        assert_eq!(encoded.written.rows, 4);
        assert_eq!(encoded.counties, vec![55001, 55003]);
    }

    #[tokio::test]
    async fn a_reader_that_dies_after_one_batch_fails_the_export() {
        let error = export_of(vec![Delivery::Batch(batch(&[55001, 55003]))])
            .await
            .err()
            .expect("a cut-short delivery must not make a file")
            .to_string();
        assert!(
            error.contains("stopped after 2 rows without reaching the end of the data"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn rows_announced_but_not_delivered_fail_the_export() {
        let error = export_of(vec![
            Delivery::Batch(batch(&[55001])),
            Delivery::End { rows: 2 },
        ])
        .await
        .err()
        .expect("a row count mismatch must not make a file")
        .to_string();
        assert!(error.contains("announced 2 rows"), "{error}");
    }
}
