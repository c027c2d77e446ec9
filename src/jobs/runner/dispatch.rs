//! Which job does the work of each key, and who waits on it: calls about the same work
//! (the same county, or a second DbToHdfs while one runs) join the job in flight instead of
//! starting another, and every caller is told its outcome the moment it ends.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::watch;

use crate::{
    error::{Error, Result},
    sync::lock,
};

/// How a job of output `T` ended, as its callers receive it.
pub type Outcome<T> = std::result::Result<T, Arc<Error>>;

/// A job's outcome as its callers receive it: `None` while it runs.
pub type OutcomeReceiver<T> = watch::Receiver<Option<Outcome<T>>>;

/// The jobs in flight of one kind, whose output is `T` (one dispatcher per kind, so a
/// caller receives its job's own output type). One lock for one invariant: a key in
/// flight names a job that has an outcome channel, until that job finishes.
pub struct Dispatcher<T> {
    flights: Mutex<Flights<T>>,
    /// How many keys are in flight, published on every change (shutdown waits for 0).
    count: watch::Sender<usize>,
}

impl<T> Default for Dispatcher<T> {
    fn default() -> Self {
        Dispatcher {
            flights: Mutex::new(Flights {
                waiters: HashMap::new(),
                in_flight: HashMap::new(),
            }),
            count: watch::channel(0).0,
        }
    }
}

struct Flights<T> {
    /// Job id -> outcome channel, for callers waiting on a job.
    waiters: HashMap<String, watch::Sender<Option<Outcome<T>>>>,
    /// Work key ("export", "county:55001") -> job id of the queued or running job.
    in_flight: HashMap<String, String>,
}

impl<T> Dispatcher<T> {
    /// Returns (job id, outcome receiver, whether the caller must enqueue the job).
    pub fn join_or_reserve(&self, key: &str) -> (String, OutcomeReceiver<T>, bool) {
        let mut flights = lock(&self.flights);
        if let Some(job_id) = flights.in_flight.get(key)
            && let Some(sender) = flights.waiters.get(job_id)
        {
            return (job_id.clone(), sender.subscribe(), false);
        }
        let job_id = uuid::Uuid::now_v7().to_string();
        let (sender, receiver) = watch::channel(None);
        flights.waiters.insert(job_id.clone(), sender);
        flights.in_flight.insert(key.to_owned(), job_id.clone());
        self.count.send_replace(flights.in_flight.len());
        (job_id, receiver, true)
    }

    /// A job the queue runs without a caller having reserved it (resumed after a restart)
    /// becomes the one in flight for its work, so calls arriving meanwhile join it.
    pub fn adopt(&self, key: &str, job_id: &str) {
        let mut flights = lock(&self.flights);
        if !flights.waiters.contains_key(job_id) {
            flights
                .waiters
                .insert(job_id.to_owned(), watch::channel(None).0);
        }
        if !flights.in_flight.contains_key(key) {
            tracing::info!(
                job = job_id,
                key,
                "resumed job is now the one in flight for its work"
            );
            flights.in_flight.insert(key.to_owned(), job_id.to_owned());
            self.count.send_replace(flights.in_flight.len());
        }
    }

    /// Publishes a job's outcome to its waiters and forgets it.
    pub fn finish(&self, key: &str, job_id: &str, outcome: Outcome<T>) {
        let mut flights = lock(&self.flights);
        if flights.in_flight.get(key).is_some_and(|id| id == job_id) {
            flights.in_flight.remove(key);
            self.count.send_replace(flights.in_flight.len());
        }
        if let Some(sender) = flights.waiters.remove(job_id) {
            sender.send_replace(Some(outcome));
        }
    }

    /// How many keys have a job queued or running.
    pub fn in_flight(&self) -> usize {
        lock(&self.flights).in_flight.len()
    }

    /// Resolves once no key is in flight.
    pub async fn idle(&self) {
        let mut count = self.count.subscribe();
        // The sender lives as long as `self`, so the wait cannot fail while we borrow it.
        let _ = count.wait_for(|n| *n == 0).await;
    }

    /// The job in flight for `key`, if any.
    #[cfg(test)]
    pub fn in_flight_for(&self, key: &str) -> Option<String> {
        lock(&self.flights).in_flight.get(key).cloned()
    }
}

/// Waits up to `limit` for job `job_id`'s outcome.
pub async fn wait<T: Clone>(
    mut outcome: OutcomeReceiver<T>,
    job_id: &str,
    limit: Duration,
) -> Result<T> {
    let wait = async {
        loop {
            if let Some(result) = outcome.borrow_and_update().clone() {
                return Ok(result);
            }
            if outcome.changed().await.is_err() {
                return Err(Error::Aborted(format!(
                    "job {job_id} ended without an outcome"
                )));
            }
        }
    };
    match tokio::time::timeout(limit, wait).await {
        Ok(Ok(Ok(output))) => Ok(output),
        Ok(Ok(Err(error))) => Err(Error::Job(error)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(Error::Timeout(format!(
            "job {job_id} still running after {} s; see `lender jobs`",
            limit.as_secs()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use super::{Dispatcher, wait};
    use crate::error::Error;

    const KEY: &str = "county:55001";
    const WAIT: Duration = Duration::from_secs(2);

    #[tokio::test]
    async fn a_second_submit_of_the_same_key_joins_the_job_in_flight() {
        let dispatcher = Dispatcher::<u32>::default();
        let (first, first_outcome, fresh) = dispatcher.join_or_reserve(KEY);
        assert!(fresh, "the first caller enqueues the job");
        let (second, second_outcome, fresh) = dispatcher.join_or_reserve(KEY);
        assert!(!fresh, "the second caller enqueues nothing");
        assert_eq!(first, second, "both wait on one job");
        let (other, _, fresh) = dispatcher.join_or_reserve("county:55003");
        assert!(fresh && other != first, "other work is another job");
        assert_eq!(dispatcher.in_flight(), 2);

        dispatcher.finish(KEY, &first, Ok(7));
        assert_eq!(wait(first_outcome, &first, WAIT).await.unwrap(), 7);
        assert_eq!(wait(second_outcome, &second, WAIT).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn finishing_releases_the_key_and_the_next_call_starts_a_new_job() {
        let dispatcher = Dispatcher::<u32>::default();
        let (id, outcome, _) = dispatcher.join_or_reserve(KEY);
        let error = Arc::new(Error::NotFound("no loans".into()));
        dispatcher.finish(KEY, &id, Err(error));
        let told = wait(outcome, &id, WAIT).await.unwrap_err().to_string();
        assert!(told.contains("no loans"), "{told}");
        assert_eq!(dispatcher.in_flight_for(KEY), None);
        assert_eq!(dispatcher.in_flight(), 0);
        let (next, _, fresh) = dispatcher.join_or_reserve(KEY);
        assert!(fresh && next != id);
    }

    #[tokio::test]
    async fn a_job_resumed_after_a_restart_is_adopted_and_joined() {
        let dispatcher = Dispatcher::<u32>::default();
        // The queue runs a job no caller of this process reserved.
        dispatcher.adopt(KEY, "resumed-job");
        assert_eq!(
            dispatcher.in_flight_for(KEY).as_deref(),
            Some("resumed-job")
        );
        let (joined, outcome, fresh) = dispatcher.join_or_reserve(KEY);
        assert!(!fresh && joined == "resumed-job");
        dispatcher.finish(KEY, "resumed-job", Ok(3));
        assert_eq!(wait(outcome, &joined, WAIT).await.unwrap(), 3);
        assert_eq!(dispatcher.in_flight_for(KEY), None);
    }

    #[test]
    fn adopting_keeps_the_job_a_caller_already_reserved() {
        let dispatcher = Dispatcher::<u32>::default();
        let (reserved, _, _) = dispatcher.join_or_reserve(KEY);
        dispatcher.adopt(KEY, &reserved);
        dispatcher.adopt(KEY, "stray-job");
        assert_eq!(dispatcher.in_flight_for(KEY), Some(reserved));
    }

    #[test]
    fn a_stale_finish_does_not_release_the_key_of_a_newer_job() {
        let dispatcher = Dispatcher::<u32>::default();
        let (newer, _, _) = dispatcher.join_or_reserve(KEY);
        dispatcher.finish(KEY, "older-job", Ok(1));
        assert_eq!(dispatcher.in_flight_for(KEY), Some(newer));
    }

    #[tokio::test]
    async fn a_caller_stops_waiting_after_its_limit_and_says_where_to_look() {
        let dispatcher = Dispatcher::<u32>::default();
        let (id, outcome, _) = dispatcher.join_or_reserve(KEY);
        let error = wait(outcome, &id, Duration::from_millis(20))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("still running after 0 s; see `lender jobs`"),
            "{error}"
        );
        assert_eq!(dispatcher.in_flight_for(KEY), Some(id), "the job goes on");
    }
}
