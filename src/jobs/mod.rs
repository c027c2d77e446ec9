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

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use crate::{
    config::{Config, EXPORT_PATH},
    error::{Error, Result},
    hdfs::{Hdfs, WebHdfs},
    mysql::MySql,
    store::{JobRecord, Store},
};

pub use export::ExportOutcome;
#[cfg(test)]
pub use health::Check;
pub use health::{HealthReport, check_dependencies};
pub use partition::{CountyAnswer, Source};
use runner::{Job, dispatch::Dispatcher, queue};

/// Everything the jobs need, shared by the workers and the API.
pub struct Jobs {
    config: Config,
    store: Store,
    hdfs: Hdfs,
    webhdfs: WebHdfs,
    mysql: MySql,
    queues: queue::Queues,
    /// Which export is in flight, and who waits on it.
    exports: Dispatcher<ExportOutcome>,
    /// Which partition job does each county's work, and who waits on it.
    counties: Dispatcher<CountyAnswer>,
    /// Partition jobs read the big file under the read side; the export swaps the file in
    /// and bumps the generation under the write side, so a partition is never recorded
    /// with a generation other than the one it was cut from.
    export_swap: RwLock<()>,
    /// Footer of the current big file, keyed by generation.
    big_file: partition::BigFileCache,
    health: health::NodeHealth,
    /// The workers, retention and cleanup tasks, stopped together at shutdown.
    background: runner::background::Background,
    /// Reuse reads at once (each holds one county file in memory), see [`REUSE_READS`].
    reuse_reads: tokio::sync::Semaphore,
    /// The running export's progress, for the job views.
    export_progress: export::ExportTracker,
}

/// CalcAvgLoan reuse reads that run at once; more wait. Each holds a county file in memory
/// (about 1 MB at 1x data, 10 MB at 10x): 16 keep that under 200 MB and both cores busy.
const REUSE_READS: usize = 16;

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
        let interrupted = store.mark_interrupted().await?;
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
        let jobs = Arc::new(Jobs {
            hdfs: Hdfs::connect(&config)?,
            webhdfs: WebHdfs::new(&config.webhdfs_url, &config.hdfs_user)?,
            mysql: MySql::new(&config)?,
            health: health::NodeHealth::default(),
            reuse_reads: tokio::sync::Semaphore::new(REUSE_READS),
            export_progress: Default::default(),
            background: Default::default(),
            config,
            store,
            queues,
            exports: Dispatcher::default(),
            counties: Dispatcher::default(),
            export_swap: RwLock::new(()),
            big_file: Default::default(),
        });
        jobs.clone().spawn_temp_cleanup();
        runner::spawn_workers(jobs.clone());
        // Job history and finished queue tasks: pruned now and every minute.
        runner::spawn_retention(jobs.clone());
        Ok(jobs)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn webhdfs(&self) -> &WebHdfs {
        &self.webhdfs
    }

    /// What the server depends on, as it sees it now (`lender health`).
    pub async fn health_report(&self) -> HealthReport {
        check_dependencies(
            &self.store,
            &self.webhdfs,
            &self.mysql,
            &self.config.db_path,
            &self.health.suspects(),
        )
        .await
    }

    /// The state the metrics show: jobs in flight, county files by state, store size.
    pub fn telemetry_snapshot(&self) -> Result<crate::telemetry::Snapshot> {
        let generation = self.store.export()?.map(|e| e.generation);
        let (mut current, mut stale, mut lost) = (0, 0, 0);
        for record in self.store.partitions()? {
            match (record.lost, Some(record.generation) == generation) {
                (true, _) => lost += 1,
                (false, true) => current += 1,
                (false, false) => stale += 1,
            }
        }
        Ok(crate::telemetry::Snapshot {
            jobs_in_flight: self.in_flight(),
            county_files: [("current", current), ("stale", stale), ("lost", lost)],
            store_bytes: std::fs::metadata(&self.config.db_path).map_or(0, |m| m.len()),
        })
    }

    /// Fills in the running export's progress on its record (the job views show it).
    pub fn attach_progress(&self, jobs: &mut [JobRecord]) {
        self.export_progress.attach(jobs);
    }

    /// DataNodes this server failed to reach lately.
    pub fn suspect_datanodes(&self) -> Vec<String> {
        self.health.suspects()
    }

    /// DbToHdfs: runs (or joins) an export job and waits for it.
    pub async fn export(&self) -> Result<ExportOutcome> {
        self.submit(export::ExportJob).await
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
                self.store
                    .job_submitted(&job_id, J::KIND, job.describe())
                    .await
            };
            if let Err(e) = pushed.await {
                let e = Arc::new(e);
                dispatcher.finish(&key, &job_id, Err(e.clone()));
                return Err(Error::Job(e));
            }
        }
        runner::dispatch::wait(outcome, &job_id, self.config.job_wait).await
    }

    /// Jobs queued or running, of every kind.
    fn in_flight(&self) -> usize {
        self.exports.in_flight() + self.counties.in_flight()
    }

    /// The generation of the big file, adopting a file some earlier run left in HDFS when
    /// the store has none (for example after the store volume was lost).
    async fn current_generation(&self) -> Result<u64> {
        if let Some(export) = self.store.export()? {
            return Ok(export.generation);
        }
        match self.hdfs.stat(EXPORT_PATH).await? {
            Some(_) => {
                tracing::info!(
                    path = EXPORT_PATH,
                    "adopting an export the store did not know"
                );
                self.store.begin_generation(None).await
            }
            None => Err(Error::NotFound(format!(
                "no export yet: run DbToHdfs first ({EXPORT_PATH} does not exist)"
            ))),
        }
    }

    /// On shutdown: lets running jobs end (bounded) and the queue record their results, so
    /// a clean stop does not make the next start run finished work again; then stops the
    /// workers and the other background tasks.
    pub async fn shutdown(&self, limit: std::time::Duration) {
        let idle = async {
            // Woken by each job's end, not polled; both kinds idle at once ends the wait.
            while self.in_flight() > 0 {
                self.exports.idle().await;
                self.counties.idle().await;
            }
        };
        let _ = tokio::time::timeout(limit, idle).await;
        // The worker acknowledges finished tasks to the queue on its next heartbeat.
        tokio::time::sleep(queue::HEARTBEAT + std::time::Duration::from_millis(300)).await;
        self.background.stop().await;
    }

    fn spawn_temp_cleanup(self: Arc<Self>) {
        let started_ms = crate::store::now_ms();
        let owner = self.clone();
        owner.background.spawn(async move {
            match self.hdfs.clean_temporaries(started_ms).await {
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
        let jobs = Jobs {
            hdfs: Hdfs::connect(&config).unwrap_or_else(|e| panic!("test hdfs client: {e}")),
            webhdfs: WebHdfs::new(&config.webhdfs_url, &config.hdfs_user)
                .unwrap_or_else(|e| panic!("test webhdfs client: {e}")),
            mysql: MySql::new(&config).unwrap_or_else(|e| panic!("test mysql client: {e}")),
            health: health::NodeHealth::default(),
            reuse_reads: tokio::sync::Semaphore::new(REUSE_READS),
            export_progress: Default::default(),
            background: Default::default(),
            queues: queue::Queues::new(&store).unwrap_or_else(|e| panic!("test queues: {e}")),
            config,
            store,
            exports: Dispatcher::default(),
            counties: Dispatcher::default(),
            export_swap: RwLock::new(()),
            big_file: Default::default(),
        };
        (Arc::new(jobs), dir)
    }
}
