//! The export job (DbToHdfs): stream the loans join out of MySQL into one Parquet file,
//! clustered by county, then swap it in atomically and start a new generation.

mod cluster;
mod pipeline;
mod progress;
mod spill;
mod upload;

use std::{sync::Arc, time::Instant};

use self::{
    pipeline::{AttemptTasks, cluster_stage, encode_groups},
    progress::{ExportTracker, watch_progress},
    spill::SpillPlace,
    upload::upload_options,
};
use super::{
    ExportArgs, ExportSwap, Jobs,
    partition::BigFileCache,
    runner::{
        Job,
        dispatch::Dispatcher,
        queue,
        tracking::{JobResult, Run, run_tracked},
    },
    services::Services,
    work_key,
};
use crate::{
    config::{BLOCK_SIZE, EXPORT_PATH, EXPORT_REPLICATION},
    error::{Error, Result},
    mysql::EXPORT_QUERY,
    parquet::Written,
    spool::Spool,
    store::{JobKind, JobRecord, Renewal, history::AttemptReport},
};

/// DbToHdfs as a job: one export at a time, whoever asks.
pub(super) struct ExportJob;

impl Job for ExportJob {
    type Output = ExportOutcome;
    const KIND: JobKind = JobKind::Export;

    fn key(&self) -> String {
        work_key::EXPORT.to_owned()
    }

    fn describe(&self) -> String {
        EXPORT_ARGS.to_owned()
    }

    fn task(&self, job_id: String) -> queue::Task {
        queue::Task::Export(ExportArgs { job_id })
    }

    fn dispatcher(jobs: &Jobs) -> &Dispatcher<ExportOutcome> {
        jobs.exporter.dispatcher()
    }
}

/// How the history shows an export's arguments.
const EXPORT_ARGS: &str = "mysql loans+loan_types -> /hdma-wi-2021.parquet";

/// Rows per Arrow batch coming out of MySQL.
const BATCH_ROWS: usize = 8192;

#[derive(Debug, Clone)]
pub struct ExportOutcome {
    pub generation: u64,
    pub rows: u64,
    pub bytes: u64,
    /// Blocks as the NameNode reports them for the published file.
    pub blocks: u64,
    pub seconds: f64,
    /// The county files it kept and left stale.
    pub renewal: Option<Renewal>,
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
        ) + &self
            .renewal
            .as_ref()
            .map(|r| format!("; {}", r.summary()))
            .unwrap_or_default()
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
}

/// The export's state: the shared clients, its callers, its progress, and the two things it
/// shares with the partition side: the swap lock and the cached big file it makes stale.
pub(super) struct Exporter {
    services: Arc<Services>,
    /// Which export is in flight, and who waits on it.
    dispatcher: Dispatcher<ExportOutcome>,
    /// The running export's progress, for the job views.
    progress: ExportTracker,
    /// Taken for writing while the new file is swapped in.
    swap: ExportSwap,
    /// The partition side's big file: the export only ever forgets it.
    big_file: Arc<BigFileCache>,
}

impl Exporter {
    pub(super) fn new(
        services: Arc<Services>,
        swap: ExportSwap,
        big_file: Arc<BigFileCache>,
    ) -> Self {
        Exporter {
            services,
            dispatcher: Dispatcher::default(),
            progress: ExportTracker::default(),
            swap,
            big_file,
        }
    }

    /// Which export is in flight, and who waits on it.
    pub(super) fn dispatcher(&self) -> &Dispatcher<ExportOutcome> {
        &self.dispatcher
    }

    /// Fills in the running export's progress on its record (the job views show it).
    pub(super) fn attach_progress(&self, jobs: &mut [JobRecord]) {
        self.progress.attach(jobs);
    }

    /// Runs one queued export: its attempts, with their bookkeeping.
    pub(super) async fn run_job(&self, args: ExportArgs) -> Result<String> {
        let job = Run {
            id: &args.job_id,
            kind: JobKind::Export,
            key: work_key::EXPORT,
            args: EXPORT_ARGS,
            max_attempts: 3,
        };
        run_tracked(&self.services.store, &self.dispatcher, job, |attempt| {
            self.export_once(&args.job_id, attempt)
        })
        .await
    }

    /// One attempt: MySQL rows stream in table order, are clustered by county, encoded into
    /// a local spool file while the upload sends it to HDFS; each stage on its own task.
    /// A DataNode failure costs a re-send from the spool, never the query.
    async fn export_once(&self, job_id: &str, attempt: u32) -> Result<ExportOutcome> {
        let Services {
            config,
            store,
            hdfs,
            mysql,
            ..
        } = &*self.services;
        let started = Instant::now();
        let tag = format!("{job_id}-{attempt}");
        // The previous export's size sizes this one's progress and spool check.
        let previous = store.exports().current()?;
        let expected_rows = previous.as_ref().and_then(|e| e.rows);
        let progress = self.progress.track(job_id, expected_rows);
        let expected_bytes = previous.as_ref().and_then(|e| e.bytes);
        let (spool, sink) =
            Spool::create(&config.spool_dir, &format!("{tag}.parquet"), expected_bytes).await?;
        let (schema, batches, reader) = mysql.stream(EXPORT_QUERY, BATCH_ROWS).await?;
        let mut tasks = AttemptTasks::default();
        tasks.keep("MySQL reader", reader);
        let spill = SpillPlace {
            dir: config.spool_dir.clone(),
            prefix: tag.clone(),
        };
        // Whatever ends this attempt (an error, a give-up, a drop) stops its clusterer and
        // encoder threads too, and with them the MySQL reader: no retry runs beside them.
        let (groups, clusterer) =
            match cluster_stage(&schema, batches, spill, progress.clone(), tasks.stop_flag()) {
                Ok(stage) => stage,
                Err(e) => {
                    tasks.end().await;
                    return Err(e);
                }
            };
        tasks.keep("clusterer", clusterer);
        let (encoded_tx, encoded_rx) = tokio::sync::oneshot::channel();
        let stopped = tasks.stop_flag();
        let what = format!("the export spool for {EXPORT_PATH}");
        tasks.keep(
            "encoder",
            tokio::task::spawn_blocking(move || {
                let mut sink = sink;
                let encoded = encode_groups(&mut sink, &what, schema, groups, &stopped);
                if encoded.is_ok() {
                    sink.complete();
                }
                let _ = encoded_tx.send(encoded);
            }),
        );
        let encode = async {
            let encoded = encoded_rx.await.map_err(|_| {
                Error::Aborted("the export's encoder stopped without an answer".into())
            })??;
            tracing::info!(
                ms = started.elapsed().as_millis() as u64,
                "export encoded into the spool"
            );
            Ok(encoded)
        };
        let writer = self.services.writer();
        let options = upload_options(&tag);
        let work = async { tokio::try_join!(encode, writer.write(EXPORT_PATH, &spool, &options)) };
        let outcome = tokio::select! {
            done = work => done,
            never = watch_progress(&progress, &spool) => match never {},
        };
        // The stages have ended (or are told to now): wait for them before going on, so
        // a failed attempt's query, threads and files are gone before the next one starts.
        tasks.end().await;
        let (encoded, staged) = outcome?;

        // Swap under the write lock: no partition job reads the big file meanwhile, and
        // the generation is bumped before the rename (see store::export).
        let _swap = self.swap.write().await;
        let generation = match store
            .exports()
            .begin_generation(Some(job_id.to_owned()))
            .await
        {
            Ok(generation) => generation,
            Err(e) => {
                staged.discard(hdfs).await;
                return Err(e);
            }
        };
        let written = Written {
            bytes: staged.publish_measured(hdfs, encoded.written.bytes).await?,
            ..encoded.written
        };
        self.big_file.forget().await;
        let blocks = self.published_blocks(EXPORT_PATH, written.bytes).await;
        let seconds = started.elapsed().as_secs_f64();
        crate::telemetry::export_published(written.rows, written.bytes, seconds);
        let renewal = store
            .exports()
            .finish_generation(
                generation,
                written.rows,
                written.bytes,
                encoded.fingerprints,
            )
            .await?;
        if let Some(renewal) = &renewal {
            tracing::info!(
                generation,
                kept = renewal.kept.len(),
                stale = renewal.stale.len(),
                "county files whose rows did not change were kept"
            );
        }
        Ok(ExportOutcome {
            generation,
            rows: written.rows,
            bytes: written.bytes,
            blocks,
            seconds,
            renewal,
        })
    }

    /// The published file's block count as the NameNode reports it (WebHDFS), falling back
    /// to the count its size implies when the NameNode does not answer.
    async fn published_blocks(&self, path: &str, bytes: u64) -> u64 {
        match self.services.webhdfs.block_count(path).await {
            Ok(blocks) => blocks,
            Err(e) => {
                tracing::warn!(path, error = %e, "no block list after the rename; reporting the count its size implies");
                bytes.div_ceil(BLOCK_SIZE)
            }
        }
    }
}
