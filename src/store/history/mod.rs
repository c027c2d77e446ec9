//! Job history: one record per job, with every attempt.
//!
//! Reached through [`Store::history`]: a handle of its own keeps this table's reads and
//! writes in this module, so `impl Store` (the transactions, the file) stays in `mod.rs`.

use std::time::Duration;

use redb::{ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};

use super::{JOBS, Store, StoreResult, from_json, now_ms, to_json};

/// How many of the newest job records a view looks through (the filters of `lender jobs`
/// and the board, the queue counts of `lender health`).
pub const HISTORY_SCAN: usize = 10_000;
use crate::error::{Result, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Export,
    Partition,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Export => "export",
            JobKind::Partition => "partition",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    Running,
    Succeeded,
    Failed,
    /// The server stopped (crash, kill) while the attempt ran; the queue runs the job again.
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub number: u32,
    pub started_ms: u64,
    pub ended_ms: Option<u64>,
    pub outcome: AttemptOutcome,
    pub error: Option<String>,
    pub rows: Option<u64>,
    pub bytes: Option<u64>,
}

impl AttemptRecord {
    pub fn duration_ms(&self) -> Option<u64> {
        self.ended_ms.map(|end| end.saturating_sub(self.started_ms))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// UUIDv7: sorts by submission time, so the table iterates oldest to newest.
    pub id: String,
    pub kind: JobKind,
    /// Human-readable arguments, e.g. `county=55001 reason=create generation=3`.
    pub args: String,
    pub submitted_ms: u64,
    pub state: JobState,
    pub attempts: Vec<AttemptRecord>,
    /// One-line summary of the final result (or error).
    pub summary: Option<String>,
    /// How far a running export got; filled in by the server for its views, never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<JobProgress>,
}

/// A running export's progress: rows read from MySQL and bytes encoded so far, the rate,
/// and an ETA from the previous export's row count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobProgress {
    pub rows: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub rows_per_s: f64,
    pub expected_rows: Option<u64>,
    pub eta_s: Option<f64>,
}

/// What a finished attempt produced.
#[derive(Debug, Clone, Default)]
pub struct AttemptReport {
    pub error: Option<String>,
    pub rows: Option<u64>,
    pub bytes: Option<u64>,
    pub summary: Option<String>,
    /// A failed attempt that will be tried again leaves the job running.
    pub will_retry: bool,
}

impl JobRecord {
    /// The time its ended attempts took, together (a running attempt counts once it ends).
    pub fn duration_ms(&self) -> u64 {
        self.attempts
            .iter()
            .filter_map(AttemptRecord::duration_ms)
            .sum()
    }

    fn queued(id: &str, kind: JobKind, args: String) -> Self {
        JobRecord {
            id: id.to_owned(),
            kind,
            args,
            submitted_ms: now_ms(),
            state: JobState::Queued,
            attempts: vec![],
            summary: None,
            progress: None,
        }
    }
}

/// The job history of a [`Store`]; see [`Store::history`].
#[derive(Clone, Copy)]
pub struct History<'a> {
    pub(super) store: &'a Store,
}

impl History<'_> {
    /// Records a job the queue has accepted, unless its worker already did (it may start
    /// the moment the task is enqueued).
    ///
    /// Lazily durable: the queue entry, committed durably just before, is what makes the job
    /// survive a crash, and the worker records the job itself if this record was lost.
    pub async fn job_submitted(&self, id: &str, kind: JobKind, args: String) -> Result<()> {
        let id = id.to_owned();
        let context = format!("recording job {id}");
        self.store
            .write_lazily(context, move |txn| {
                let raw = to_json(&JobRecord::queued(&id, kind, args))?;
                let mut table = txn.open_table(JOBS)?;
                if table.get(id.as_str())?.is_none() {
                    table.insert(id.as_str(), raw.as_str())?;
                }
                Ok(())
            })
            .await
    }

    /// Records the start of a new attempt and returns its number (1-based). Creates the
    /// record if the server stopped between enqueueing the job and recording it: the queue,
    /// not the history, decides what runs.
    pub async fn attempt_started(&self, id: &str, kind: JobKind, args: &str) -> Result<u32> {
        let args = args.to_owned();
        let fresh = move |id: &str| Ok(JobRecord::queued(id, kind, args));
        let context = format!("recording the start of an attempt of job {id}");
        self.upsert_job(context, id, fresh, |job| {
            let number = job.attempts.len() as u32 + 1;
            job.state = JobState::Running;
            job.attempts.push(AttemptRecord {
                number,
                started_ms: now_ms(),
                ended_ms: None,
                outcome: AttemptOutcome::Running,
                error: None,
                rows: None,
                bytes: None,
            });
            number
        })
        .await
    }

    pub async fn attempt_finished(&self, id: &str, report: AttemptReport) -> Result<()> {
        let context = format!("recording the end of an attempt of job {id}");
        self.update_job(context, id, move |job| {
            let failed = report.error.is_some();
            if let Some(attempt) = job.attempts.last_mut() {
                attempt.ended_ms = Some(now_ms());
                attempt.outcome = if failed {
                    AttemptOutcome::Failed
                } else {
                    AttemptOutcome::Succeeded
                };
                attempt.error = report.error.clone();
                attempt.rows = report.rows;
                attempt.bytes = report.bytes;
            }
            job.state = match (failed, report.will_retry) {
                (false, _) => JobState::Succeeded,
                (true, true) => JobState::Running,
                (true, false) => JobState::Failed,
            };
            job.summary = report.summary.or(report.error);
        })
        .await
    }

    /// At startup nothing runs yet: attempts still marked running were cut short by a crash.
    /// Returns how many were marked.
    pub async fn mark_interrupted(&self) -> Result<usize> {
        self.store
            .write("marking interrupted attempts", |txn| {
                let mut table = txn.open_table(JOBS)?;
                let mut changed = Vec::new();
                for entry in table.iter()? {
                    let (id, raw) = entry?;
                    let mut job: JobRecord = from_json(raw.value())?;
                    let mut touched = false;
                    for attempt in job.attempts.iter_mut() {
                        if attempt.outcome == AttemptOutcome::Running {
                            attempt.outcome = AttemptOutcome::Interrupted;
                            attempt.error = Some("server stopped during this attempt".into());
                            touched = true;
                        }
                    }
                    if touched {
                        job.state = JobState::Queued;
                        changed.push((id.value().to_owned(), to_json(&job)?));
                    }
                }
                for (id, raw) in &changed {
                    table.insert(id.as_str(), raw.as_str())?;
                }
                Ok(changed.len())
            })
            .await
    }

    /// Retention: removes the oldest finished jobs while the table holds more than
    /// `max_jobs`, and every finished job submitted more than `max_age` ago, in one write
    /// transaction. Queued and running jobs stay whatever their age: the queue and the callers
    /// waiting on them still need their records. Returns how many were removed.
    pub async fn prune(&self, max_jobs: usize, max_age: Duration) -> Result<usize> {
        let max_age_ms = u64::try_from(max_age.as_millis()).unwrap_or(u64::MAX);
        let cutoff_ms = now_ms().saturating_sub(max_age_ms);
        if !self.history_may_need_pruning(max_jobs, cutoff_ms)? {
            return Ok(0);
        }
        self.store
            .write("pruning the job history", move |txn| {
                let mut table = txn.open_table(JOBS)?;
                let doomed = jobs_beyond_retention(&table, max_jobs, cutoff_ms)?;
                for id in &doomed {
                    table.remove(id.as_str())?;
                }
                Ok(doomed.len())
            })
            .await
    }

    /// A lock-free read first, so a periodic pass with nothing to do costs no write (and no
    /// fsync): over the count, or the oldest record (keys sort by submission) is past the age.
    fn history_may_need_pruning(&self, max_jobs: usize, cutoff_ms: u64) -> Result<bool> {
        self.store
            .read("reading the size of the job history", |txn| {
                let table = txn.open_table(JOBS)?;
                if table.len()? > max_jobs as u64 {
                    return Ok(true);
                }
                match table.first()? {
                    Some((_, raw)) => {
                        Ok(from_json::<RetentionView>(raw.value())?.submitted_ms < cutoff_ms)
                    }
                    None => Ok(false),
                }
            })
    }

    #[cfg(test)]
    pub fn job(&self, id: &str) -> Result<Option<JobRecord>> {
        self.store.read(format!("reading job {id}"), |txn| {
            let table = txn.open_table(JOBS)?;
            let raw = table.get(id)?;
            raw.map(|raw| from_json(raw.value())).transpose()
        })
    }

    /// Newest first.
    pub fn jobs(&self, limit: usize) -> Result<Vec<JobRecord>> {
        self.store.read("listing the jobs", |txn| {
            let table = txn.open_table(JOBS)?;
            let mut jobs = Vec::with_capacity(limit.min(table.len()? as usize));
            for entry in table.iter()?.rev().take(limit) {
                let (_, raw) = entry?;
                jobs.push(from_json(raw.value())?);
            }
            Ok(jobs)
        })
    }

    async fn update_job<T: Send + 'static>(
        &self,
        context: String,
        id: &str,
        f: impl FnOnce(&mut JobRecord) -> T + Send + 'static,
    ) -> Result<T> {
        let missing = |_: &str| Err(StoreError::UnknownJob);
        self.upsert_job(context, id, missing, f).await
    }

    async fn upsert_job<T: Send + 'static>(
        &self,
        context: String,
        id: &str,
        fresh: impl FnOnce(&str) -> StoreResult<JobRecord> + Send + 'static,
        f: impl FnOnce(&mut JobRecord) -> T + Send + 'static,
    ) -> Result<T> {
        let id = id.to_owned();
        self.store
            .write(context, move |txn| {
                let mut table = txn.open_table(JOBS)?;
                let raw = table.get(id.as_str())?.map(|raw| raw.value().to_owned());
                let mut job: JobRecord = match raw {
                    Some(raw) => from_json(&raw)?,
                    None => fresh(&id)?,
                };
                let out = f(&mut job);
                table.insert(id.as_str(), to_json(&job)?.as_str())?;
                Ok(out)
            })
            .await
    }
}

/// The two fields retention looks at: serde skips the rest, so a pass parses little.
#[derive(Deserialize)]
struct RetentionView {
    state: JobState,
    submitted_ms: u64,
}

/// Ids of the finished jobs to remove, oldest first (see [`History::prune`]).
fn jobs_beyond_retention(
    table: &impl ReadableTable<&'static str, &'static str>,
    max_jobs: usize,
    cutoff_ms: u64,
) -> StoreResult<Vec<String>> {
    let mut excess = usize::try_from(table.len()?)
        .unwrap_or(usize::MAX)
        .saturating_sub(max_jobs);
    let mut doomed = Vec::new();
    for entry in table.iter()? {
        let (id, raw) = entry?;
        let job: RetentionView = from_json(raw.value())?;
        if !matches!(job.state, JobState::Succeeded | JobState::Failed) {
            continue;
        }
        if excess == 0 && job.submitted_ms >= cutoff_ms {
            // Keys sort by submission time: every later job is younger and within the count.
            break;
        }
        doomed.push(id.value().to_owned());
        excess = excess.saturating_sub(1);
    }
    Ok(doomed)
}

#[cfg(test)]
mod tests;
