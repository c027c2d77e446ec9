//! The work: export (DbToHdfs) and partition (cut one county's file) jobs, run by apalis
//! workers from the redb-backed queue, plus the CalcAvgLoan decision between reusing a
//! county file and (re)building it.
//!
//! A gRPC call enqueues a job and waits for it. The wait is push-based: the job publishes
//! its outcome on a watch channel the moment it ends, so callers do not poll the queue.
//! Concurrent calls that need the same work (the same county, or a second DbToHdfs while
//! one runs) join the job already queued instead of starting another.

mod cluster;
mod export;
mod health;
mod partition;
mod queue;
mod spill;
mod tracked;
mod upload;

use std::{collections::HashMap, sync::Arc};

use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock, watch};

use crate::{
    config::{Config, EXPORT_PATH},
    error::{Error, Result},
    hdfs::Hdfs,
    mysql::MySql,
    store::{JobKind, Store},
    webhdfs::WebHdfs,
};

pub use export::ExportOutcome;
pub use partition::{CountyAnswer, Source};

/// What a finished job hands to the callers waiting on it.
#[derive(Debug, Clone)]
pub enum Outcome {
    Export(ExportOutcome),
    County(CountyAnswer),
    Failed(Arc<Error>),
}

/// Everything the jobs need, shared by the workers and the API.
pub struct Jobs {
    config: Config,
    store: Store,
    hdfs: Hdfs,
    webhdfs: WebHdfs,
    mysql: MySql,
    queues: queue::Queues,
    /// Job id -> outcome channel, for callers waiting on a job.
    waiters: std::sync::Mutex<HashMap<String, watch::Sender<Option<Outcome>>>>,
    /// Work key ("export", "county:55001") -> job id of the queued or running job.
    in_flight: std::sync::Mutex<HashMap<String, String>>,
    /// Partition jobs read the big file under the read side; the export swaps the file in
    /// and bumps the generation under the write side, so a partition is never recorded
    /// with a generation other than the one it was cut from.
    export_swap: RwLock<()>,
    /// Footer of the current big file, keyed by generation.
    big_file: Mutex<Option<partition::BigFile>>,
    health: health::NodeHealth,
    /// Reuse reads at once (each holds one county file in memory), see [`REUSE_READS`].
    reuse_reads: tokio::sync::Semaphore,
    /// The running export's progress, for the job views.
    export_progress: std::sync::Mutex<Option<Arc<export::ExportProgress>>>,
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
            export_progress: std::sync::Mutex::new(None),
            config,
            store,
            queues,
            waiters: Default::default(),
            in_flight: Default::default(),
            export_swap: RwLock::new(()),
            big_file: Mutex::new(None),
        });
        jobs.clone().spawn_temp_cleanup();
        queue::spawn_workers(jobs.clone());
        // Job history and finished queue tasks: pruned now and every minute.
        queue::spawn_retention(jobs.clone());
        Ok(jobs)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn webhdfs(&self) -> &WebHdfs {
        &self.webhdfs
    }

    /// What the server depends on, as it sees it now (`lender health`).
    pub async fn health_report(&self) -> crate::health_view::HealthReport {
        crate::health_view::report(
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
            jobs_in_flight: lock(&self.in_flight).len(),
            county_files: [("current", current), ("stale", stale), ("lost", lost)],
            store_bytes: std::fs::metadata(&self.config.db_path).map_or(0, |m| m.len()),
        })
    }

    /// DataNodes this server failed to reach lately.
    pub fn suspect_datanodes(&self) -> Vec<String> {
        self.health.suspects()
    }

    /// DbToHdfs: runs (or joins) an export job and waits for it.
    pub async fn export(&self) -> Result<ExportOutcome> {
        match self
            .submit(
                work_key::EXPORT.into(),
                JobKind::Export,
                export::EXPORT_ARGS.into(),
                |job_id| queue::Task::Export(ExportArgs { job_id }),
            )
            .await?
        {
            Outcome::Export(outcome) => Ok(outcome),
            other => Err(unexpected(other)),
        }
    }

    /// Enqueues the job for `key` unless one is already in flight, then waits for its outcome.
    async fn submit(
        &self,
        key: String,
        kind: JobKind,
        args: String,
        task: impl FnOnce(String) -> queue::Task,
    ) -> Result<Outcome> {
        let (job_id, mut outcome, fresh) = self.join_or_reserve(&key);
        if fresh {
            // Enqueue first: a job is accepted once it is in the queue, and the history
            // follows the queue (a worker records the job itself if we stop in between).
            let pushed = async {
                self.queues.push(task(job_id.clone())).await?;
                self.store.job_submitted(&job_id, kind, args).await
            };
            if let Err(e) = pushed.await {
                let e = Arc::new(e);
                self.finish(&key, &job_id, Outcome::Failed(e.clone()));
                return Err(Error::Job(e));
            }
        }
        let wait = async {
            loop {
                if let Some(result) = outcome.borrow_and_update().clone() {
                    return Ok(result);
                }
                if outcome.changed().await.is_err() {
                    return Err(Error::Queue(format!(
                        "job {job_id} ended without an outcome"
                    )));
                }
            }
        };
        match tokio::time::timeout(self.config.job_wait, wait).await {
            Ok(Ok(Outcome::Failed(error))) => Err(Error::Job(error)),
            Ok(result) => result,
            Err(_) => Err(Error::Timeout(format!(
                "job {job_id} still running after {} s; see `lender jobs`",
                self.config.job_wait.as_secs()
            ))),
        }
    }

    /// Returns (job id, outcome receiver, whether the caller must enqueue the job).
    fn join_or_reserve(&self, key: &str) -> (String, watch::Receiver<Option<Outcome>>, bool) {
        let mut in_flight = lock(&self.in_flight);
        let mut waiters = lock(&self.waiters);
        if let Some(job_id) = in_flight.get(key)
            && let Some(sender) = waiters.get(job_id)
        {
            return (job_id.clone(), sender.subscribe(), false);
        }
        let job_id = uuid::Uuid::now_v7().to_string();
        let (sender, receiver) = watch::channel(None);
        waiters.insert(job_id.clone(), sender);
        in_flight.insert(key.to_owned(), job_id.clone());
        (job_id, receiver, true)
    }

    /// A job the queue runs without a caller having reserved it (resumed after a restart)
    /// becomes the one in flight for its work, so calls arriving meanwhile join it.
    fn adopt(&self, key: &str, job_id: &str) {
        let mut in_flight = lock(&self.in_flight);
        let mut waiters = lock(&self.waiters);
        if !waiters.contains_key(job_id) {
            waiters.insert(job_id.to_owned(), watch::channel(None).0);
        }
        if !in_flight.contains_key(key) {
            tracing::info!(
                job = job_id,
                key,
                "resumed job is now the one in flight for its work"
            );
            in_flight.insert(key.to_owned(), job_id.to_owned());
        }
    }

    /// Publishes a job's outcome to its waiters and forgets it.
    fn finish(&self, key: &str, job_id: &str, outcome: Outcome) {
        let mut in_flight = lock(&self.in_flight);
        if in_flight.get(key).is_some_and(|id| id == job_id) {
            in_flight.remove(key);
        }
        if let Some(sender) = lock(&self.waiters).remove(job_id) {
            sender.send_replace(Some(outcome));
        }
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
    /// a clean stop does not make the next start run finished work again.
    pub async fn drain(&self, limit: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while !lock(&self.in_flight).is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        // The worker acknowledges finished tasks to the queue on its next heartbeat.
        tokio::time::sleep(queue::HEARTBEAT + std::time::Duration::from_millis(300)).await;
    }

    fn spawn_temp_cleanup(self: Arc<Self>) {
        let started_ms = crate::store::now_ms();
        tokio::spawn(async move {
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
            export_progress: std::sync::Mutex::new(None),
            queues: queue::Queues::new(&store).unwrap_or_else(|e| panic!("test queues: {e}")),
            config,
            store,
            waiters: Default::default(),
            in_flight: Default::default(),
            export_swap: RwLock::new(()),
            big_file: Mutex::new(None),
        };
        (Arc::new(jobs), dir)
    }

    /// The job in flight for `key`, if any.
    pub(crate) fn in_flight_for(&self, key: &str) -> Option<String> {
        lock(&self.in_flight).get(key).cloned()
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn unexpected(outcome: Outcome) -> Error {
    Error::Queue(format!("job produced an unexpected outcome: {outcome:?}"))
}
