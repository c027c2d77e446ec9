//! The apalis side: one redb-backed queue per job kind, and crash recovery (a restarted
//! server takes over the tasks its previous run held).

use std::time::Duration;

use apalis::prelude::*;
use apalis_redb::{Config as QueueConfig, RedbStorage};
use redb::{ReadableTable, TableDefinition};

use crate::jobs::{ExportArgs, PartitionArgs};
use crate::{
    error::{Error, Result, StoreError},
    store::Store,
};

pub(super) const EXPORT_QUEUE: &str = "lender-export";
pub(super) const PARTITION_QUEUE: &str = "lender-partition";

pub enum Task {
    Export(ExportArgs),
    Partition(PartitionArgs),
}

pub struct Queues {
    pub(super) export: RedbStorage<ExportArgs>,
    pub(super) partition: RedbStorage<PartitionArgs>,
}

/// apalis-redb commits a finished task's acknowledgement on the worker's next heartbeat
/// (or next fetch): a short heartbeat keeps the window in which a stop makes a finished job
/// run again small.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

pub(super) fn queue_config(queue: &str) -> QueueConfig {
    QueueConfig::default()
        .queue(queue)
        .heartbeat_interval(HEARTBEAT)
}

impl Queues {
    /// Builds the queues on the store's database and makes every task a previous process
    /// held runnable again.
    pub fn new(store: &Store) -> Result<Self> {
        let conn = store.connection();
        for queue in [EXPORT_QUEUE, PARTITION_QUEUE] {
            expire_previous_workers(conn.database(), &queue_config(queue))
                .map_err(|e| Error::queue(format!("taking over the tasks of {queue}"), e))?;
        }
        Ok(Queues {
            export: RedbStorage::new(conn.clone()).with_config(queue_config(EXPORT_QUEUE)),
            partition: RedbStorage::new(conn).with_config(queue_config(PARTITION_QUEUE)),
        })
    }

    /// Durably enqueues a task; the worker is woken in-process at once.
    pub async fn push(&self, task: Task) -> Result<()> {
        let queue_err = |e: TaskSinkError<apalis_redb::Error>| Error::queue("enqueueing", e);
        match task {
            Task::Export(args) => {
                let task = build(args.job_id.clone(), args);
                self.export.clone().push_task(task).await.map_err(queue_err)
            }
            Task::Partition(args) => {
                let task = build(args.job_id.clone(), args);
                self.partition
                    .clone()
                    .push_task(task)
                    .await
                    .map_err(queue_err)
            }
        }
    }
}

/// Our jobs retry inside their own attempt loop (recorded in the job history), so the
/// queue runs each task once, and again only after a crash.
fn build<T>(job_id: String, args: T) -> apalis::prelude::Task<T> {
    TaskBuilder::new(args)
        .task_id(TaskId::from_string(job_id))
        .max_attempts(1)
        .build()
}

/// apalis-redb hands a crashed worker's tasks back only once that worker's heartbeat is
/// older than its orphan threshold (minutes), and refuses to register a worker of the same
/// name before then. No other process can hold this database (redb locks the file), so
/// every registered worker belongs to a process that is gone: mark them as long silent,
/// and the workers we start re-enqueue their in-flight tasks when they register.
fn expire_previous_workers(
    db: &redb::Database,
    config: &QueueConfig,
) -> std::result::Result<(), StoreError> {
    let table_name = config.workers_set();
    let table: TableDefinition<&str, &str> = TableDefinition::new(&table_name);
    let txn = db.begin_write()?;
    {
        let mut workers = txn.open_table(table)?;
        let mut expired = Vec::new();
        for entry in workers.iter()? {
            let (name, record) = entry?;
            let mut record: serde_json::Value = serde_json::from_str(record.value())?;
            record["last_seen"] = serde_json::Value::from(0u64);
            expired.push((name.value().to_owned(), record.to_string()));
        }
        for (name, record) in &expired {
            tracing::info!(queue = %config.queue, worker = %name, "taking over tasks of the previous run");
            workers.insert(name.as_str(), record.as_str())?;
        }
    }
    txn.commit()?;
    Ok(())
}
