//! The apalis workers that run our tasks, each under a supervisor that restarts it.

use std::{sync::Arc, time::Duration};

use apalis::prelude::*;

use crate::jobs::{ExportArgs, Jobs, PartitionArgs, export::Exporter, partition::Counties};

/// Stable worker names: a restarted server takes over the tasks its previous run held.
const EXPORT_WORKER: &str = "export-worker";
const PARTITION_WORKER: &str = "partition-worker";

/// Starts the workers, each under a supervisor that restarts it if it stops: the export's
/// runs on the [`Exporter`], the partition jobs' on [`Counties`].
pub fn spawn_workers(jobs: &Jobs) {
    let (export_queue, exporter) = (jobs.queues.export.clone(), jobs.exporter.clone());
    jobs.background.spawn(supervise(EXPORT_WORKER, move || {
        WorkerBuilder::new(EXPORT_WORKER)
            .backend(export_queue.clone())
            .data(exporter.clone())
            .concurrency(1)
            .build(run_export)
            .run()
    }));
    let workers = jobs.services.config.partition_workers.max(1);
    let (partition_queue, counties) = (jobs.queues.partition.clone(), jobs.counties.clone());
    jobs.background.spawn(supervise(PARTITION_WORKER, move || {
        WorkerBuilder::new(PARTITION_WORKER)
            .backend(partition_queue.clone())
            .data(counties.clone())
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
    exporter: Data<Arc<Exporter>>,
) -> std::result::Result<String, BoxDynError> {
    exporter.run_job(args).await.map_err(Into::into)
}

async fn run_partition(
    args: PartitionArgs,
    counties: Data<Arc<Counties>>,
) -> std::result::Result<String, BoxDynError> {
    counties.run_job(args).await.map_err(Into::into)
}
