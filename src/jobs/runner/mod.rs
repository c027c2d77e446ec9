//! Running jobs: the apalis queues (`queue`) and their workers (`workers`), the dispatcher
//! that lets calls about the same work join one job (`dispatch`), the bookkeeping of each
//! run (`tracking`: history, retries, outcome) and the retention of finished jobs
//! (`retention`).

pub(super) mod background;
pub(super) mod dispatch;
pub(super) mod queue;
mod retention;
pub(super) mod tracking;
mod workers;

pub(super) use retention::spawn_retention;
pub(super) use workers::spawn_workers;

use self::{dispatch::Dispatcher, tracking::JobResult};
use super::Jobs;
use crate::store::JobKind;

/// A kind of job as the dispatcher sees it: the work it does (its key: calls with the same
/// key share one job), how the history shows it, the queue task that runs it, and the
/// dispatcher its callers wait on, which hands them the job's own output type.
pub(super) trait Job {
    type Output: JobResult + Send + Sync + 'static;
    const KIND: JobKind;
    fn key(&self) -> String;
    /// The arguments as the job history shows them.
    fn describe(&self) -> String;
    /// The queue task that runs this job as `job_id`.
    fn task(&self, job_id: String) -> queue::Task;
    fn dispatcher(jobs: &Jobs) -> &Dispatcher<Self::Output>;
}
