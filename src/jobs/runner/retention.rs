//! Retention: the job history and the queues' finished tasks pruned to the configured
//! bounds, at startup and every minute.

use std::time::Duration;

use apalis_redb::Config as QueueConfig;
use redb::{ReadableDatabase, ReadableTable, TableDefinition, TableError};

use super::queue::{EXPORT_QUEUE, PARTITION_QUEUE, queue_config};
use crate::{
    error::{Error, Result, StoreError},
    jobs::{Jobs, services::Services},
    store::Store,
};

/// How often retention runs. A timer, not a count of submitted jobs, so the submit path stays
/// as it is; a pass with nothing to remove is two reads. Every minute: at a flood's pace
/// (one durable job record per ~5 ms) at most ~12,000 jobs arrive between two passes, which
/// bounds the history at `history_max_jobs` plus that.
const RETENTION_INTERVAL: Duration = Duration::from_secs(60);

/// Prunes the job history and the queues' finished tasks to the configured bounds, now (the
/// interval's first tick is immediate, so startup prunes) and every [`RETENTION_INTERVAL`].
pub fn spawn_retention(jobs: &Jobs) {
    let services = jobs.services.clone();
    jobs.background.spawn(async move {
        let mut every = tokio::time::interval(RETENTION_INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            retention_pass(&services).await;
        }
    });
}

async fn retention_pass(services: &Services) {
    let config = &services.config;
    let (max_jobs, max_age) = (config.history_max_jobs, config.history_max_age);
    let removed = |what: &str, result: Result<usize>| {
        result.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "retention of {what} failed; retrying next pass");
            0
        })
    };
    let history = removed(
        "job history",
        services.store.history().prune(max_jobs, max_age).await,
    );
    let tasks = removed(
        "queue tasks",
        prune_finished_tasks(&services.store, max_jobs, max_age).await,
    );
    if history + tasks > 0 {
        tracing::info!(
            jobs = history,
            queue_tasks = tasks,
            max_jobs,
            max_age_days = max_age.as_secs() / 86_400,
            "retention removed finished jobs beyond the bounds"
        );
    }
}

/// apalis-redb keeps every finished task (its arguments, metadata and an entry in the queue's
/// `done` or `dead` timeline) until it is vacuumed, and its `Vacuum` trait is not reachable
/// through `apalis`. Removing them ourselves is safe: our tasks run once (`max_attempts(1)`),
/// so a finished task is never fetched, retried or re-enqueued again, and nothing reads it
/// back (the job history is our record). Per queue, the oldest finished tasks beyond
/// `max_tasks` and those finished more than `max_age` ago go. Returns how many.
async fn prune_finished_tasks(store: &Store, max_tasks: usize, max_age: Duration) -> Result<usize> {
    let conn = store.connection();
    let cutoff_s = (crate::store::now_ms() / 1000).saturating_sub(max_age.as_secs());
    let prune = tokio::task::spawn_blocking(move || {
        let mut removed = 0;
        for queue in [EXPORT_QUEUE, PARTITION_QUEUE] {
            removed += prune_queue(conn.database(), &queue_config(queue), max_tasks, cutoff_s)?;
        }
        Ok(removed)
    });
    prune
        .await
        .unwrap_or_else(|task| Err(task.into()))
        .map_err(|e: StoreError| Error::queue("pruning finished tasks", e))
}

/// apalis-redb 0.1.1's tables for one queue (the version is pinned in Cargo.toml; the test
/// `finished_tasks_are_pruned_and_pending_ones_kept` fails if a new version moves them).
struct TaskTables {
    data: String,
    meta: String,
    done: String,
    dead: String,
}

impl TaskTables {
    fn of(config: &QueueConfig) -> Self {
        TaskTables {
            data: config.job_data_hash(),
            meta: config.job_meta_hash(),
            done: config.done_jobs_set(),
            dead: config.dead_jobs_set(),
        }
    }
}

/// A timeline (`done`, `dead`): (finished at, in seconds since the epoch; task id) -> ().
fn timeline(name: &str) -> TableDefinition<'_, (u64, &'static str), ()> {
    TableDefinition::new(name)
}

/// Finds the doomed tasks with a read (finished tasks never change, so the list stays true),
/// and writes only when there are some.
fn prune_queue(
    db: &redb::Database,
    config: &QueueConfig,
    max_tasks: usize,
    cutoff_s: u64,
) -> std::result::Result<usize, StoreError> {
    let tables = TaskTables::of(config);
    let mut finished = finished_tasks(db, &tables.done)?;
    finished.extend(finished_tasks(db, &tables.dead)?);
    let doomed = tasks_beyond_retention(finished, max_tasks, cutoff_s);
    if doomed.is_empty() {
        return Ok(0);
    }
    let txn = db.begin_write()?;
    {
        let data: TableDefinition<&str, &[u8]> = TableDefinition::new(&tables.data);
        let meta: TableDefinition<&str, &str> = TableDefinition::new(&tables.meta);
        let (mut data, mut meta) = (txn.open_table(data)?, txn.open_table(meta)?);
        let mut done = txn.open_table(timeline(&tables.done))?;
        let mut dead = txn.open_table(timeline(&tables.dead))?;
        for (finished_s, id) in &doomed {
            data.remove(id.as_str())?;
            meta.remove(id.as_str())?;
            done.remove((*finished_s, id.as_str()))?;
            dead.remove((*finished_s, id.as_str()))?;
        }
    }
    txn.commit()?;
    Ok(doomed.len())
}

/// Every entry of one timeline; none if apalis has not created it yet.
fn finished_tasks(
    db: &redb::Database,
    name: &str,
) -> std::result::Result<Vec<(u64, String)>, StoreError> {
    let txn = db.begin_read()?;
    let table = match txn.open_table(timeline(name)) {
        Ok(table) => table,
        Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut tasks = Vec::new();
    for entry in table.iter()? {
        let (key, _) = entry?;
        let (finished_s, id) = key.value();
        tasks.push((finished_s, id.to_owned()));
    }
    Ok(tasks)
}

/// The oldest finished tasks beyond `max_tasks`, and those finished at or before `cutoff_s`.
fn tasks_beyond_retention(
    mut finished: Vec<(u64, String)>,
    max_tasks: usize,
    cutoff_s: u64,
) -> Vec<(u64, String)> {
    finished.sort_unstable();
    let excess = finished.len().saturating_sub(max_tasks);
    let keep_from = finished
        .iter()
        .enumerate()
        .position(|(i, (finished_s, _))| i >= excess && *finished_s > cutoff_s)
        .unwrap_or(finished.len());
    finished.truncate(keep_from);
    finished
}

#[cfg(test)]
mod tests {
    use apalis::prelude::*;

    use super::*;
    use crate::jobs::{
        PartitionArgs, Source,
        runner::queue::{Queues, Task},
    };

    const MONTH: Duration = Duration::from_secs(30 * 24 * 60 * 60);

    fn task(county: i32) -> Task {
        Task::Partition(PartitionArgs {
            job_id: uuid::Uuid::now_v7().to_string(),
            county,
            source: Source::Create,
        })
    }

    fn rows(store: &Store, name: &str) -> usize {
        let txn = store.connection().database().begin_read().unwrap();
        let table: TableDefinition<&str, &str> = TableDefinition::new(name);
        let table = txn.open_table(table).unwrap();
        table.iter().unwrap().count()
    }

    fn finished(store: &Store) -> usize {
        let tables = TaskTables::of(&queue_config(PARTITION_QUEUE));
        let db = store.connection();
        let count = |name| finished_tasks(db.database(), name).unwrap().len();
        count(&tables.done) + count(&tables.dead)
    }

    /// Runs a real worker until `n` tasks are finished (done or failed) and acknowledged.
    async fn finish_tasks(store: &Store, queues: &Queues, n: usize) {
        let worker = WorkerBuilder::new("test-worker")
            .backend(queues.partition.clone())
            .build(|args: PartitionArgs| async move {
                match args.county {
                    0 => Err::<String, BoxDynError>("boom".into()),
                    _ => Ok("done".to_owned()),
                }
            });
        let running = tokio::spawn(worker.run());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while finished(store) < n && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        running.abort();
        assert_eq!(
            finished(store),
            n,
            "the worker did not finish the tasks in time"
        );
    }

    #[tokio::test]
    async fn finished_tasks_are_pruned_and_pending_ones_kept() {
        let (store, _dir) = crate::store::temp_store().await;
        let queues = Queues::new(&store).unwrap();
        for county in [0, 1, 2] {
            queues.push(task(county)).await.unwrap();
        }
        finish_tasks(&store, &queues, 3).await;
        queues.push(task(3)).await.unwrap();
        let meta = queue_config(PARTITION_QUEUE).job_meta_hash();
        assert_eq!(rows(&store, &meta), 4);

        assert_eq!(prune_finished_tasks(&store, 1, MONTH).await.unwrap(), 2);
        assert_eq!((finished(&store), rows(&store, &meta)), (1, 2));
        assert_eq!(prune_finished_tasks(&store, 1, MONTH).await.unwrap(), 0);
        // A zero age takes every finished task; the pending one stays whatever the bounds.
        assert_eq!(
            prune_finished_tasks(&store, 9, Duration::ZERO)
                .await
                .unwrap(),
            1
        );
        assert_eq!((finished(&store), rows(&store, &meta)), (0, 1));
        assert_eq!(
            prune_finished_tasks(&store, 0, Duration::ZERO)
                .await
                .unwrap(),
            0
        );
    }

    #[test]
    fn retention_takes_the_oldest_beyond_the_count_and_those_past_the_age() {
        let tasks = |stamps: &[u64]| stamps.iter().map(|s| (*s, format!("t{s}"))).collect();
        let stamps =
            |tasks: Vec<(u64, String)>| tasks.into_iter().map(|(s, _)| s).collect::<Vec<_>>();
        assert_eq!(
            stamps(tasks_beyond_retention(tasks(&[50, 10, 40, 30, 20]), 3, 0)),
            [10, 20]
        );
        assert_eq!(
            stamps(tasks_beyond_retention(tasks(&[50, 10, 40, 30, 20]), 9, 30)),
            [10, 20, 30]
        );
        assert_eq!(
            stamps(tasks_beyond_retention(tasks(&[50, 40]), 9, 30)),
            Vec::<u64>::new()
        );
    }
}
