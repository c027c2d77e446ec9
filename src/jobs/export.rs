//! The export job (DbToHdfs): stream the loans join out of MySQL into one Parquet file,
//! clustered by county, then swap it in atomically and start a new generation.

use std::time::Instant;

use parquet::{
    basic::Compression,
    file::properties::{EnabledStatistics, WriterProperties},
};
use tokio_stream::wrappers::ReceiverStream;

use super::{
    ExportArgs, Jobs, Outcome,
    tracked::{Job, JobResult},
};
use crate::{
    config::{BLOCK_SIZE, EXPORT_PATH, EXPORT_REPLICATION},
    error::Result,
    hdfs::{Layout, Staged, write_parquet},
    loans::COUNTY_COLUMN,
    mysql::EXPORT_QUERY,
    spool::Spool,
    store::{JobKind, history::AttemptReport},
};

/// How the history shows an export's arguments.
pub(super) const EXPORT_ARGS: &str = "mysql loans+loan_types -> /hdma-wi-2021.parquet";

/// How often a running export logs its progress.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Rows per Arrow batch coming out of MySQL.
const BATCH_ROWS: usize = 8192;
/// A row group closes at the first county boundary after this many rows: small counties
/// share a group, a county rarely spans two, and a county read touches little else.
const TARGET_GROUP_ROWS: usize = 16 * 1024;
/// Hard cap so one huge county cannot make a huge row group (the writer holds the group in
/// progress in memory). 32k rather than 64k: the largest group is then the same size at 1x
/// and 10x data and the file a little smaller (14.2 vs 14.6 MiB); the export's peak RSS at
/// 10x was 118 MiB with either cap, so the cap is not what grows it (see BENCHMARKS.md).
const MAX_GROUP_ROWS: usize = 32 * 1024;

#[derive(Debug, Clone)]
pub struct ExportOutcome {
    pub generation: u64,
    pub rows: u64,
    pub bytes: u64,
    pub seconds: f64,
}

impl ExportOutcome {
    /// The DbToHdfs status text.
    pub fn status(&self) -> String {
        let blocks = self.bytes.div_ceil(BLOCK_SIZE);
        format!(
            "success: exported {} rows to {EXPORT_PATH} ({:.1} MiB, {blocks} blocks x {EXPORT_REPLICATION} replicas) in {:.1} s (generation {})",
            self.rows,
            self.bytes as f64 / (1024.0 * 1024.0),
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

fn export_layout() -> Layout {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(MAX_GROUP_ROWS))
        .build();
    Layout {
        props,
        cluster_by: Some(COUNTY_COLUMN),
        target_group_rows: TARGET_GROUP_ROWS,
    }
}

impl Jobs {
    pub(super) async fn run_export_job(&self, args: ExportArgs) -> Result<String> {
        let job = Job {
            id: &args.job_id,
            kind: JobKind::Export,
            key: "export",
            args: EXPORT_ARGS,
            max_attempts: 3,
        };
        self.run_tracked(job, |attempt| self.export_once(&args.job_id, attempt))
            .await
    }

    /// One attempt: MySQL rows are encoded into a local spool file while the upload sends
    /// it to HDFS; a DataNode failure costs a re-send from the spool, never the query.
    async fn export_once(&self, job_id: &str, attempt: u32) -> Result<ExportOutcome> {
        let started = Instant::now();
        let tag = format!("{job_id}-{attempt}");
        let (spool, sink) =
            Spool::create(&self.config.spool_dir, &format!("{tag}.parquet")).await?;
        let (schema, batches) = self.mysql.stream(EXPORT_QUERY, BATCH_ROWS).await?;
        let encode = async {
            let written = write_parquet(
                sink,
                &format!("the export spool for {EXPORT_PATH}"),
                schema,
                export_layout(),
                ReceiverStream::new(batches),
            )
            .await;
            tracing::info!(
                ms = started.elapsed().as_millis() as u64,
                "export encoded into the spool"
            );
            written
        };
        let work = async { tokio::try_join!(encode, self.upload_spool(&spool, EXPORT_PATH, &tag)) };
        let (written, tmp) = tokio::select! {
            done = work => done?,
            never = log_progress(job_id, &spool, started) => match never {},
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
        self.store
            .finish_generation(generation, written.rows, written.bytes)
            .await?;
        Ok(ExportOutcome {
            generation,
            rows: written.rows,
            bytes: written.bytes,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// Every few seconds, a log line with how far the export got: at 10x data it runs for
/// over a minute, and a person watching the log should see it move.
async fn log_progress(job_id: &str, spool: &Spool, started: Instant) -> std::convert::Infallible {
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    tick.tick().await; // the first tick is immediate
    loop {
        tick.tick().await;
        let state = spool.state();
        let mib = state.len as f64 / (1024.0 * 1024.0);
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(
            job = job_id,
            encoded_mib = format!("{mib:.1}"),
            mib_per_s = format!("{:.1}", mib / seconds),
            seconds = format!("{seconds:.0}"),
            "export progress"
        );
    }
}
