//! The running export's progress, for the job views and the log.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use crate::{
    spool::Spool,
    store::{JobRecord, JobState, history::JobProgress},
};

/// How often a running export logs its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// How far the running export got: rows read from MySQL, bytes encoded.
pub(crate) struct ExportProgress {
    pub job_id: String,
    started: Instant,
    pub(super) rows: AtomicU64,
    bytes: AtomicU64,
    expected_rows: Option<u64>,
}

impl ExportProgress {
    pub(super) fn new(job_id: &str, expected_rows: Option<u64>) -> Self {
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
pub(super) async fn watch_progress(
    progress: &ExportProgress,
    spool: &Spool,
) -> std::convert::Infallible {
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

/// The running export's progress, registered when an attempt starts, for the job views.
#[derive(Default)]
pub(crate) struct ExportTracker(std::sync::Mutex<Option<Arc<ExportProgress>>>);

impl ExportTracker {
    /// Registers the progress of `job_id`'s attempt; `expected_rows` (the previous
    /// export's) gives the ETA.
    pub fn track(&self, job_id: &str, expected_rows: Option<u64>) -> Arc<ExportProgress> {
        let progress = Arc::new(ExportProgress::new(job_id, expected_rows));
        *crate::sync::lock(&self.0) = Some(progress.clone());
        progress
    }

    /// Fills in the running export's progress on its record (the job views show it).
    pub fn attach(&self, jobs: &mut [JobRecord]) {
        let Some(progress) = crate::sync::lock(&self.0).clone() else {
            return;
        };
        for job in jobs.iter_mut() {
            if job.id == progress.job_id && job.state == JobState::Running {
                job.progress = Some(progress.snapshot());
            }
        }
    }
}
