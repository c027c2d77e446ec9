//! The apalis workers that run our tasks, each under a supervisor that restarts it.

use std::{sync::Arc, time::Duration};

use apalis::prelude::*;

use crate::jobs::{ExportArgs, Jobs, PartitionArgs};

/// Stable worker names: a restarted server takes over the tasks its previous run held.
const EXPORT_WORKER: &str = "export-worker";
const PARTITION_WORKER: &str = "partition-worker";

/// Starts the workers, each under a supervisor that restarts it if it stops.
pub fn spawn_workers(jobs: Arc<Jobs>) {
    let export_jobs = jobs.clone();
    jobs.background.spawn(supervise(EXPORT_WORKER, move || {
        WorkerBuilder::new(EXPORT_WORKER)
            .backend(export_jobs.queues.export.clone())
            .data(export_jobs.clone())
            .concurrency(1)
            .build(run_export)
            .run()
    }));
    let workers = jobs.config.partition_workers.max(1);
    let partition_jobs = jobs.clone();
    jobs.background.spawn(supervise(PARTITION_WORKER, move || {
        WorkerBuilder::new(PARTITION_WORKER)
            .backend(partition_jobs.queues.partition.clone())
            .data(partition_jobs.clone())
            .concurrency(workers)
            .build(run_partition)
            .run()
    }));
}

async fn supervise<F, Fut, E>(name: &'static str, start: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = std::result::Result<(), E>>,
    E: std::fmt::Display,
{
    loop {
        match start().await {
            Ok(()) => tracing::warn!(worker = name, "worker stopped; restarting"),
            Err(e) => tracing::error!(worker = name, error = %e, "worker failed; restarting"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn run_export(
    args: ExportArgs,
    jobs: Data<Arc<Jobs>>,
) -> std::result::Result<String, BoxDynError> {
    jobs.run_export_job(args).await.map_err(Into::into)
}

async fn run_partition(
    args: PartitionArgs,
    jobs: Data<Arc<Jobs>>,
) -> std::result::Result<String, BoxDynError> {
    jobs.run_partition_job(args).await.map_err(Into::into)
}
