//! The export job (DbToHdfs): stream the loans join out of MySQL into one Parquet file,
//! clustered by county, then swap it in atomically and start a new generation.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use arrow::{datatypes::SchemaRef, record_batch::RecordBatch};

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
    hdfs::{Staged, write_parquet},
    loans::COUNTY_COLUMN,
    mysql::EXPORT_QUERY,
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
        let (spool, sink) =
            Spool::create(&self.config.spool_dir, &format!("{tag}.parquet")).await?;
        let (schema, batches) = self.mysql.stream(EXPORT_QUERY, BATCH_ROWS).await?;
        let spill = SpillPlace {
            dir: self.config.spool_dir.clone(),
            prefix: tag.clone(),
        };
        let groups = cluster_stage(&schema, batches, spill, progress.clone())?;
        let encode = async {
            let what = format!("the export spool for {EXPORT_PATH}");
            let written = tokio::task::spawn_blocking(move || {
                let mut sink = sink;
                let groups = groups.into_iter().map(|g| g.map(RowGroup::into_batches));
                let written = write_parquet(&mut sink, &what, schema, export_props(), groups)?;
                sink.complete();
                Ok(written)
            })
            .await
            .map_err(|e| Error::Unavailable(format!("the export's encoder stopped: {e}")))?;
            tracing::info!(
                ms = started.elapsed().as_millis() as u64,
                "export encoded into the spool"
            );
            written
        };
        let work = async { tokio::try_join!(encode, self.upload_spool(&spool, EXPORT_PATH, &tag)) };
        let (written, tmp) = tokio::select! {
            done = work => done?,
            never = watch_progress(&progress, &spool) => match never {},
        };
        let staged = Staged::new(tmp, EXPORT_PATH, written);

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
        self.store
            .finish_generation(generation, written.rows, written.bytes)
            .await?;
        Ok(ExportOutcome {
            generation,
            rows: written.rows,
            bytes: written.bytes,
            blocks,
            seconds: started.elapsed().as_secs_f64(),
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

/// The clustering stage on a thread of its own (it writes spill files): takes MySQL's
/// batches in table order, hands the encoder county-clustered row groups. The hand-over is
/// a rendezvous: the next group waits here while the encoder reads the one before, batch
/// by batch, so no more than one group's in-memory rows are out of the clusterer's budget.
fn cluster_stage(
    schema: &SchemaRef,
    mut batches: mpsc::Receiver<Result<RecordBatch>>,
    spill: SpillPlace,
    progress: Arc<ExportProgress>,
) -> Result<std::sync::mpsc::Receiver<Result<RowGroup>>> {
    let mut clusterer = CountyClusterer::new(schema, COUNTY_COLUMN, CLUSTER_RULES, spill)?;
    let (tx, rx) = std::sync::mpsc::sync_channel(0);
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let send = |group| tx.send(group).is_ok(); // false: the encoder gave up
        while let Some(batch) = batches.blocking_recv() {
            let ready = batch.and_then(|batch| {
                progress
                    .rows
                    .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
                clusterer.push(&batch)
            });
            match ready {
                Ok(groups) => {
                    if !groups.into_iter().all(|group| send(Ok(group))) {
                        return;
                    }
                }
                Err(e) => {
                    send(Err(e));
                    return;
                }
            }
        }
        let spill_files = clusterer.spill_files();
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            rows = progress.rows.load(Ordering::Relaxed),
            spill_files,
            "export read every row from MySQL"
        );
        for group in clusterer.finish() {
            if !send(Ok(group)) {
                return;
            }
        }
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            "export rows clustered"
        );
    });
    Ok(rx)
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
