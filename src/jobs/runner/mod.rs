//! Running jobs: the apalis queues (`queue`) and their workers (`workers`), the dispatcher
//! that lets calls about the same work join one job (`dispatch`), the bookkeeping of each
//! run (`tracking`: history, retries, outcome) and the retention of finished jobs
//! (`retention`).

pub(super) mod dispatch;
pub(super) mod queue;
mod retention;
pub(super) mod tracking;
mod workers;

pub(super) use retention::spawn_retention;
pub(super) use workers::spawn_workers;
