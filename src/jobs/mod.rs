//! The work: export (DbToHdfs) and partition (cut one county's file) jobs, run by apalis
//! workers from the redb-backed queue, plus the CalcAvgLoan decision between reusing a
//! county file and (re)building it.
//!
//! A gRPC call enqueues a job and waits for it. The wait is push-based: the job publishes
//! its outcome on a watch channel the moment it ends, so callers do not poll the queue.
//! Concurrent calls that need the same work (the same county, or a second DbToHdfs while
//! one runs) join the job already queued instead of starting another.

mod export;
mod health;
mod partition;
mod runner;
mod services;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use crate::{
    config::Config,
    error::{Error, Result},
    hdfs::WebHdfs,
    store::{JobRecord, Store},
};

pub use export::ExportOutcome;
#[cfg(test)]
pub use health::Check;
pub use health::{HealthReport, check_dependencies};
pub use partition::{CountyAnswer, Source};
use runner::{Job, queue};

use export::Exporter;
use partition::{Answer, BigFileCache, Counties};
use services::Services;

/// The front door of the jobs, for the API and the CLI: it submits each job to its queue
/// and waits for it; the export ([`Exporter`]) and the partition side ([`Counties`]) each
/// hold their own state.
pub struct Jobs {
    services: Arc<Services>,
    queues: queue::Queues,
    exporter: Arc<Exporter>,
    counties: Arc<Counties>,
    /// CalcAvgLoan's latest answer times by source, for the web board.
    answer_times: crate::telemetry::RecentTimes,
    /// The workers, retention and cleanup tasks, stopped together at shutdown.
    background: runner::background::Background,
}

/// Partition jobs read the big file under the read side; the export swaps the file in
/// and bumps the generation under the write side, so a partition is never recorded
/// with a generation other than the one it was cut from.
type ExportSwap = Arc<RwLock<()>>;

/// Work keys: calls about the same work share one job ("export", "county:55001").
pub(crate) mod work_key {
    /// The export's key: one export at a time.
    pub const EXPORT: &str = "export";

    /// The key shared by every call about one county.
    pub fn county(county: i32) -> String {
        format!("county:{county}")
    }
}

/// Arguments of an export job (the job id doubles as the apalis task id).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportArgs {
    pub job_id: String,
}

/// Arguments of a partition job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartitionArgs {
    pub job_id: String,
    pub county: i32,
    pub source: Source,
}

impl Jobs {
    /// Opens the store and the clients, recovers what a crash left behind and starts the
    /// workers. HDFS and MySQL need not be up yet: they are reached per job.
    pub async fn start(config: Config) -> Result<Arc<Self>> {
        let store = Store::open(&config.db_path).await?;
        let interrupted = store.history().mark_interrupted().await?;
        if interrupted > 0 {
            tracing::warn!(
                interrupted,
                "attempts cut short by the previous shutdown; their jobs run again"
            );
        }
        let spooled = crate::spool::Spool::clean_dir(&config.spool_dir);
        if spooled > 0 {
            tracing::info!(removed = spooled, dir = %config.spool_dir.display(), "removed spool files of interrupted exports");
        }
        let queues = queue::Queues::new(&store)?;
        let jobs = Arc::new(Jobs::new(Services::connect(config, store)?, queues));
        jobs.spawn_temp_cleanup();
        runner::spawn_workers(&jobs);
        // Job history and finished queue tasks: pruned now and every minute.
        runner::spawn_retention(&jobs);
        Ok(jobs)
    }

    /// The front door over `services`, with the export and the partition side sharing the
    /// big file's swap lock and cache; no background task runs yet.
    fn new(services: Services, queues: queue::Queues) -> Self {
        let services = Arc::new(services);
        let swap = ExportSwap::default();
        let big_file = Arc::new(BigFileCache::default());
        Jobs {
            exporter: Arc::new(Exporter::new(
                services.clone(),
                swap.clone(),
                big_file.clone(),
            )),
            counties: Arc::new(Counties::new(services.clone(), swap, big_file)),
            services,
            queues,
            answer_times: Default::default(),
            background: Default::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.services.store
    }

    pub fn webhdfs(&self) -> &WebHdfs {
        &self.services.webhdfs
    }

    /// What the server depends on, as it sees it now (`lender health`).
    pub async fn health_report(&self) -> HealthReport {
        let services = &self.services;
        check_dependencies(
            &services.store,
            &services.webhdfs,
            &services.mysql,
            &services.config.db_path,
            &services.health.suspects(),
        )
        .await
    }

    /// The state the metrics show: jobs in flight, county files by state, store size.
    pub fn telemetry_snapshot(&self) -> Result<crate::telemetry::Snapshot> {
        let store = &self.services.store;
        let generation = store.exports().current()?.map(|e| e.generation);
        let (mut current, mut stale, mut lost) = (0, 0, 0);
        for record in store.partitions().all()? {
            match (record.lost, Some(record.generation) == generation) {
                (true, _) => lost += 1,
                (false, true) => current += 1,
                (false, false) => stale += 1,
            }
        }
        Ok(crate::telemetry::Snapshot {
            jobs_in_flight: self.in_flight(),
            county_files: [("current", current), ("stale", stale), ("lost", lost)],
            store_bytes: std::fs::metadata(&self.services.config.db_path).map_or(0, |m| m.len()),
        })
    }

    /// Fills in the running export's progress on its record (the job views show it).
    pub fn attach_progress(&self, jobs: &mut [JobRecord]) {
        self.exporter.attach_progress(jobs);
    }

    /// DataNodes this server failed to reach lately.
    pub fn suspect_datanodes(&self) -> Vec<String> {
        self.services.health.suspects()
    }

    /// DbToHdfs: runs (or joins) an export job and waits for it.
    pub async fn export(&self) -> Result<ExportOutcome> {
        self.submit(export::ExportJob).await
    }

    /// CalcAvgLoan: answers from the county's own file when it can, otherwise runs (or
    /// joins) the partition job that cuts the file, and waits for it.
    pub async fn average_loan(&self, county: i32) -> Result<CountyAnswer> {
        let started = std::time::Instant::now();
        let answer = match self.counties.answer(county).await? {
            Answer::Now(answer) => answer,
            Answer::ByJob(job) => self.submit(job).await?,
        };
        let (source, took) = (answer.source.as_str(), started.elapsed());
        crate::telemetry::avg_loan_answered(source, took);
        self.answer_times.record(source, took);
        Ok(answer)
    }

    /// CalcAvgLoan's latest answer times by source (the web board's picture of them).
    pub fn answer_times(&self) -> Vec<crate::telemetry::Times> {
        self.answer_times.snapshot()
    }

    /// The one front door of every job: enqueues `job` unless one with its key is already
    /// in flight, then waits for that job's output.
    async fn submit<J: Job>(&self, job: J) -> Result<J::Output> {
        let dispatcher = J::dispatcher(self);
        let key = job.key();
        let (job_id, outcome, fresh) = dispatcher.join_or_reserve(&key);
        if fresh {
            // Enqueue first: a job is accepted once it is in the queue, and the history
            // follows the queue (a worker records the job itself if we stop in between).
            let pushed = async {
                self.queues.push(job.task(job_id.clone())).await?;
                self.services
                    .store
                    .history()
                    .job_submitted(&job_id, J::KIND, job.describe())
                    .await
            };
            if let Err(e) = pushed.await {
                let e = Arc::new(e);
                dispatcher.finish(&key, &job_id, Err(e.clone()));
                return Err(Error::Job(e));
            }
        }
        runner::dispatch::wait(outcome, &job_id, self.services.config.job_wait).await
    }

    /// Jobs queued or running, of every kind.
    fn in_flight(&self) -> usize {
        self.exporter.dispatcher().in_flight() + self.counties.dispatcher().in_flight()
    }

    /// On shutdown: lets running jobs end (bounded) and the queue record their results, so
    /// a clean stop does not make the next start run finished work again; then stops the
    /// workers and the other background tasks.
    pub async fn shutdown(&self, limit: std::time::Duration) {
        let idle = async {
            // Woken by each job's end, not polled; both kinds idle at once ends the wait.
            while self.in_flight() > 0 {
                self.exporter.dispatcher().idle().await;
                self.counties.dispatcher().idle().await;
            }
        };
        let _ = tokio::time::timeout(limit, idle).await;
        // The worker acknowledges finished tasks to the queue on its next heartbeat.
        tokio::time::sleep(queue::HEARTBEAT + std::time::Duration::from_millis(300)).await;
        self.background.stop().await;
    }

    fn spawn_temp_cleanup(&self) {
        let started_ms = crate::store::now_ms();
        let services = self.services.clone();
        self.background.spawn(async move {
            match services.hdfs.clean_temporaries(started_ms).await {
                Ok(0) => {}
                Ok(removed) => {
                    tracing::info!(removed, "removed temporary files of interrupted jobs")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not clean temporary files (HDFS down?)")
                }
            }
        });
    }
}

#[cfg(test)]
impl Jobs {
    /// Jobs over a store in a temporary file, with clients that point nowhere (they connect
    /// lazily) and no workers: for tests of the bookkeeping.
    pub(crate) async fn for_test() -> (Arc<Self>, Arc<crate::store::tempdir::TempDir>) {
        let (store, dir) = crate::store::temp_store().await;
        let mut config = Config::from_env().unwrap_or_else(|e| panic!("test config: {e}"));
        config.db_path = dir.path().join("test.redb");
        config.spool_dir = dir.path().join("spool");
        let queues = queue::Queues::new(&store).unwrap_or_else(|e| panic!("test queues: {e}"));
        let services =
            Services::connect(config, store).unwrap_or_else(|e| panic!("test clients: {e}"));
        (Arc::new(Jobs::new(services, queues)), dir)
    }
}
