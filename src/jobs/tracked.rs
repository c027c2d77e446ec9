//! Running a job with its bookkeeping: history records per attempt, one log line at the
//! start and end of each attempt (with its duration), bounded retries with backoff, and
//! publishing the outcome to the callers waiting on it.

use std::time::{Duration, Instant};

use super::{Jobs, Outcome};
use crate::{
    error::{Error, Result},
    store::{JobKind, history::AttemptReport},
};

/// What a job kind tells the bookkeeping about its result.
pub(super) trait JobResult {
    fn report(&self) -> AttemptReport;
    fn into_outcome(self) -> Outcome;
}

pub(super) struct Job<'a> {
    pub id: &'a str,
    pub kind: JobKind,
    /// Work key shared by callers that want the same work.
    pub key: &'a str,
    /// Arguments as the history shows them, e.g. "county=55001 source=create".
    pub args: &'a str,
    pub max_attempts: u32,
}

impl Jobs {
    pub(super) async fn run_tracked<T, F, Fut>(&self, job: Job<'_>, mut work: F) -> Result<String>
    where
        T: JobResult,
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let label = format!("{:?} {}", job.kind, job.args).to_lowercase();
        let label = label.as_str();
        self.adopt(job.key, job.id);
        let mut backoff = Duration::from_millis(250);
        for attempt in 1..=job.max_attempts {
            let number = match self.store.attempt_started(job.id, job.kind, job.args).await {
                Ok(number) => number,
                Err(e) => {
                    tracing::warn!(job = job.id, error = %e, "could not record attempt start");
                    attempt
                }
            };
            tracing::info!(job = job.id, what = label, attempt = number, "job start");
            let started = Instant::now();
            let result = work(attempt).await;
            let ms = started.elapsed().as_millis() as u64;
            match result {
                Ok(value) => {
                    let report = value.report();
                    let summary = report.summary.clone().unwrap_or_default();
                    tracing::info!(job = job.id, what = label, attempt = number, ms, %summary, "job end: ok");
                    self.record_end(job.id, report).await;
                    self.finish(job.key, job.id, value.into_outcome());
                    return Ok(summary);
                }
                Err(error) => {
                    let will_retry = attempt < job.max_attempts && error.is_retryable();
                    let text = error.to_string();
                    tracing::warn!(job = job.id, what = label, attempt = number, ms, error = %text, will_retry, "job end: failed");
                    let report = AttemptReport {
                        error: Some(text.clone()),
                        will_retry,
                        ..Default::default()
                    };
                    self.record_end(job.id, report).await;
                    if !will_retry {
                        let error = std::sync::Arc::new(error);
                        self.finish(job.key, job.id, Outcome::Failed(error.clone()));
                        return Err(Error::Job(error));
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(4));
                }
            }
        }
        let error = std::sync::Arc::new(Error::Queue(format!("{label}: no attempts allowed")));
        self.finish(job.key, job.id, Outcome::Failed(error.clone()));
        Err(Error::Job(error))
    }

    async fn record_end(&self, job_id: &str, report: AttemptReport) {
        if let Err(e) = self.store.attempt_finished(job_id, report).await {
            tracing::warn!(job = job_id, error = %e, "could not record attempt end");
        }
    }
}
