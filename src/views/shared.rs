//! The operator views as the running server serves them, shared by the admin gRPC service
//! (`lender jobs/health/partitions`) and the web board: one set of caches, so the CLI and a
//! browser reloading the board share one refresh a second.

use std::{sync::Arc, time::Duration};

use super::{cache::Cached, partitions::PartitionsReport};
use crate::{
    jobs::{HealthReport, Jobs},
    store::{HISTORY_SCAN, JobRecord},
};

/// How old a cached view may be. Health and Partitions ask MySQL (a new connection) and the
/// NameNode (once per county file); calls within this interval share one answer.
const VIEW_REFRESH: Duration = Duration::from_secs(1);

/// A view, or why it could not be made (shared for the interval like the view itself).
pub type View<T> = Result<Arc<T>, String>;

pub struct Views {
    jobs: Arc<Jobs>,
    health: Cached<Arc<HealthReport>>,
    partitions: Cached<View<PartitionsReport>>,
    history: Cached<View<Vec<JobRecord>>>,
}

impl Views {
    pub fn new(jobs: Arc<Jobs>) -> Self {
        Views {
            jobs,
            health: Cached::new(VIEW_REFRESH),
            partitions: Cached::new(VIEW_REFRESH),
            history: Cached::new(VIEW_REFRESH),
        }
    }

    /// `lender health`, up to [`VIEW_REFRESH`] old.
    pub async fn health(&self) -> Arc<HealthReport> {
        self.health
            .get_or_refresh(|| async { Arc::new(self.jobs.health_report().await) })
            .await
    }

    /// `lender partitions`, up to [`VIEW_REFRESH`] old.
    pub async fn partitions(&self) -> View<PartitionsReport> {
        self.partitions
            .get_or_refresh(|| async {
                super::partitions::report(
                    self.jobs.store(),
                    self.jobs.webhdfs(),
                    &self.jobs.suspect_datanodes(),
                )
                .await
                .map(Arc::new)
                .map_err(|e| e.to_string())
            })
            .await
    }

    /// The newest `limit` jobs as they are now, a running export with its progress: `lender
    /// jobs` right after a call must show the job it ran.
    pub fn jobs(&self, limit: usize) -> crate::error::Result<Vec<JobRecord>> {
        let mut jobs = self.jobs.store().history().jobs(limit)?;
        self.jobs.attach_progress(&mut jobs);
        Ok(jobs)
    }

    /// CalcAvgLoan's answer times by source, as they are now (kept in memory: no cache).
    pub fn latency(&self) -> Vec<super::latency::SourceLatency> {
        super::latency::by_source(&self.jobs.answer_times())
    }

    /// The newest [`HISTORY_SCAN`] jobs, up to [`VIEW_REFRESH`] old: what the board filters.
    pub async fn history(&self) -> View<Vec<JobRecord>> {
        self.history
            .get_or_refresh(|| async {
                self.jobs(HISTORY_SCAN)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .await
    }
}

#[cfg(test)]
impl Views {
    /// The jobs behind the views (tests record jobs in its store).
    pub(crate) fn jobs_for_test(&self) -> &Arc<Jobs> {
        &self.jobs
    }
}
