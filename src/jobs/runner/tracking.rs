//! Running a job with its bookkeeping: history records per attempt, one log line at the
//! start and end of each attempt (with its duration), bounded retries with backoff, and
//! publishing the outcome to the callers waiting on it.
//!
//! A job always finishes: a panic in an attempt becomes a failed attempt (the worker lives
//! on), and a job whose future is dropped midway still releases its work key, so later
//! calls for the same work start a new job instead of joining a dead one.

use std::{
    panic::AssertUnwindSafe,
    sync::Arc,
    time::{Duration, Instant},
};

use futures::FutureExt;

use super::dispatch::{Dispatcher, Outcome};
use crate::{
    error::{Error, Result},
    store::{JobKind, Store, history::AttemptReport},
};

/// What a job kind tells the bookkeeping about its result.
pub(in crate::jobs) trait JobResult: Clone {
    fn report(&self) -> AttemptReport;
}

/// One job as the bookkeeping sees it.
pub(in crate::jobs) struct Run<'a> {
    pub id: &'a str,
    pub kind: JobKind,
    /// Work key shared by callers that want the same work.
    pub key: &'a str,
    /// Arguments as the history shows them, e.g. "county=55001 source=create".
    pub args: &'a str,
    pub max_attempts: u32,
}

/// Runs `job`'s attempts (`work`, given the attempt number) with their bookkeeping, and
/// publishes its outcome through `dispatcher` to the callers waiting on it.
pub(in crate::jobs) async fn run_tracked<T, F, Fut>(
    store: &Store,
    dispatcher: &Dispatcher<T>,
    job: Run<'_>,
    mut work: F,
) -> Result<String>
where
    T: JobResult,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let label = format!("{:?} {}", job.kind, job.args).to_lowercase();
    let label = label.as_str();
    dispatcher.adopt(job.key, job.id);
    let unfinished = Unfinished {
        dispatcher,
        key: job.key,
        id: job.id,
        kind: job.kind,
        started: Instant::now(),
        armed: true,
    };
    let mut backoff = Duration::from_millis(250);
    for attempt in 1..=job.max_attempts {
        let number = match store
            .history()
            .attempt_started(job.id, job.kind, job.args)
            .await
        {
            Ok(number) => number,
            Err(e) => {
                tracing::warn!(job = job.id, error = %e, "could not record attempt start");
                attempt
            }
        };
        tracing::info!(job = job.id, what = label, attempt = number, "job start");
        let started = Instant::now();
        let result = AssertUnwindSafe(work(attempt))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                Err(Error::Aborted(format!(
                    "{label}: attempt {number} failed on a bug (panic: {})",
                    panic_text(panic.as_ref())
                )))
            });
        let ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(value) => {
                let report = value.report();
                let summary = report.summary.clone().unwrap_or_default();
                tracing::info!(job = job.id, what = label, attempt = number, ms, %summary, "job end: ok");
                record_end(store, job.id, report).await;
                unfinished.finish(Ok(value));
                return Ok(summary);
            }
            Err(error) => {
                let will_retry = attempt < job.max_attempts && error.is_retryable();
                let text = error.to_string();
                tracing::warn!(job = job.id, what = label, attempt = number, ms, error = %text, will_retry, "job end: failed");
                let report = AttemptReport {
                    error: Some(text.clone()),
                    will_retry,
                    ..Default::default()
                };
                record_end(store, job.id, report).await;
                if !will_retry {
                    let error = Arc::new(error);
                    unfinished.finish(Err(error.clone()));
                    return Err(Error::Job(error));
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(4));
            }
        }
    }
    let error = Arc::new(Error::Aborted(format!("{label}: no attempts allowed")));
    unfinished.finish(Err(error.clone()));
    Err(Error::Job(error))
}

async fn record_end(store: &Store, job_id: &str, report: AttemptReport) {
    if let Err(e) = store.history().attempt_finished(job_id, report).await {
        tracing::warn!(job = job_id, error = %e, "could not record attempt end");
    }
}

/// Armed while a job runs: if its future is dropped before it publishes an outcome (its
/// worker was cancelled), the drop publishes a failure and releases the work key.
struct Unfinished<'a, T> {
    dispatcher: &'a Dispatcher<T>,
    key: &'a str,
    id: &'a str,
    kind: JobKind,
    started: Instant,
    armed: bool,
}

impl<T> Unfinished<'_, T> {
    /// Publishes the job's outcome; the guard is done.
    fn finish(mut self, outcome: Outcome<T>) {
        self.armed = false;
        self.publish(outcome);
    }

    fn publish(&self, outcome: Outcome<T>) {
        let succeeded = outcome.is_ok();
        crate::telemetry::job_ended(self.kind.as_str(), succeeded, self.started.elapsed());
        self.dispatcher.finish(self.key, self.id, outcome);
    }
}

impl<T> Drop for Unfinished<'_, T> {
    fn drop(&mut self) {
        if self.armed {
            tracing::warn!(
                job = self.id,
                key = self.key,
                "job stopped before it finished; its work is released"
            );
            let error = Error::Aborted(format!(
                "job {} stopped before it finished (its task was cancelled); call again to run it anew",
                self.id
            ));
            self.publish(Err(Arc::new(error)));
        }
    }
}

/// The message a panic carried (`panic!` passes a `&str` or a `String`).
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{JobResult, Run, run_tracked};
    use crate::{
        error::{Error, Result},
        jobs::runner::dispatch::{Dispatcher, OutcomeReceiver},
        store::{JobKind, JobState, history::AttemptReport},
    };

    const KEY: &str = "county:55001";

    #[derive(Debug, Clone)]
    struct Done;
    impl JobResult for Done {
        fn report(&self) -> AttemptReport {
            AttemptReport::default()
        }
    }

    fn job(id: &str) -> Run<'_> {
        Run {
            id,
            kind: JobKind::Partition,
            key: KEY,
            args: "county=55001 source=create",
            max_attempts: 3,
        }
    }

    /// The failure the job's waiters were told, once it is published.
    async fn told(mut outcome: OutcomeReceiver<Done>) -> String {
        let wait = outcome.wait_for(Option::is_some);
        let told = tokio::time::timeout(Duration::from_secs(2), wait).await;
        match told.map(|told| told.map(|o| o.clone())) {
            Ok(Ok(Some(Err(error)))) => error.to_string(),
            other => panic!("waiters were told {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_panicking_job_fails_once_names_the_panic_and_releases_its_key() {
        let (store, _dir) = crate::store::temp_store().await;
        let dispatcher = Dispatcher::<Done>::default();
        let (id, outcome, fresh) = dispatcher.join_or_reserve(KEY);
        assert!(fresh);
        let mut attempts = 0;
        let result = run_tracked(&store, &dispatcher, job(&id), |_| {
            attempts += 1;
            async { panic!("county file exploded") as Result<Done> }
        })
        .await;
        let error = result.expect_err("a panic is a failure").to_string();
        assert!(error.contains("panic: county file exploded"), "{error}");
        assert_eq!(attempts, 1, "a bug is not retried");
        assert!(told(outcome).await.contains("county file exploded"));
        assert_eq!(
            dispatcher.in_flight_for(KEY),
            None,
            "the work key is free again"
        );
        let record = store
            .history()
            .job(&id)
            .unwrap()
            .expect("the job is recorded");
        assert_eq!(record.state, JobState::Failed);
        assert!(
            record.attempts[0]
                .error
                .as_deref()
                .unwrap_or("")
                .contains("panic")
        );
    }

    #[tokio::test]
    async fn a_job_dropped_midway_tells_its_waiters_and_releases_its_key() {
        let (store, _dir) = crate::store::temp_store().await;
        let dispatcher = Dispatcher::<Done>::default();
        let (id, outcome, _) = dispatcher.join_or_reserve(KEY);
        let run = run_tracked(&store, &dispatcher, job(&id), |_| {
            std::future::pending::<Result<Done>>()
        });
        let cut = tokio::time::timeout(Duration::from_millis(100), run).await;
        assert!(cut.is_err(), "the job never ends by itself");
        assert!(told(outcome).await.contains("stopped before it finished"));
        assert_eq!(dispatcher.in_flight_for(KEY), None);
        // The next call for the same work starts a job of its own instead of joining.
        let (next, _, fresh) = dispatcher.join_or_reserve(KEY);
        assert!(fresh && next != id);
    }

    #[tokio::test]
    async fn a_retryable_failure_is_tried_again_and_its_success_published() {
        let (store, _dir) = crate::store::temp_store().await;
        let dispatcher = Dispatcher::<Done>::default();
        let (id, mut outcome, _) = dispatcher.join_or_reserve(KEY);
        let mut attempts = 0;
        let result = run_tracked(&store, &dispatcher, job(&id), |attempt| {
            attempts += 1;
            async move {
                match attempt {
                    1 => Err(Error::Timeout("reading county 55001".into())),
                    _ => Ok(Done),
                }
            }
        })
        .await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(attempts, 2);
        assert!(matches!(*outcome.borrow_and_update(), Some(Ok(Done))));
        assert_eq!(dispatcher.in_flight_for(KEY), None);
        let record = store
            .history()
            .job(&id)
            .unwrap()
            .expect("the job is recorded");
        assert_eq!(record.state, JobState::Succeeded);
        assert_eq!(record.attempts.len(), 2);
    }

    /// Runs a job whose every attempt fails with `error`: its attempts and final error.
    async fn attempts_failing_with(error: fn() -> Error) -> (u32, String) {
        let (store, _dir) = crate::store::temp_store().await;
        let dispatcher = Dispatcher::<Done>::default();
        let (id, _, _) = dispatcher.join_or_reserve(KEY);
        let mut attempts = 0;
        let result = run_tracked(&store, &dispatcher, job(&id), |_| {
            attempts += 1;
            async move { Err::<Done, _>(error()) }
        })
        .await;
        assert_eq!(dispatcher.in_flight_for(KEY), None);
        let told = result.map(|_| ()).unwrap_err().to_string();
        (attempts, told)
    }

    #[tokio::test]
    async fn retries_stop_at_the_limit_and_a_non_retryable_failure_is_not_retried() {
        let (attempts, _) = attempts_failing_with(|| Error::Timeout("stalled".into())).await;
        assert_eq!(attempts, 3, "max_attempts bounds the retries");
        let (attempts, told) = attempts_failing_with(|| Error::NotFound("no loans".into())).await;
        assert!(told.contains("no loans"), "{told}");
        assert_eq!(attempts, 1, "a missing county is not retried");
    }
}
