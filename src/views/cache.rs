//! A value recomputed at most once per interval, so a burst of admin calls costs one round
//! of MySQL and NameNode requests, not one per call.

use std::time::Duration;

use tokio::{sync::Mutex, time::Instant};

/// The last value and when it was computed. The refresh runs under the lock: callers that
/// arrive during it wait and share its result instead of starting their own.
pub struct Cached<T> {
    max_age: Duration,
    slot: Mutex<Option<(Instant, T)>>,
}

impl<T: Clone> Cached<T> {
    pub fn new(max_age: Duration) -> Self {
        Cached {
            max_age,
            slot: Mutex::new(None),
        }
    }

    /// The cached value if it is younger than `max_age`, else a fresh one from `refresh`.
    pub async fn get_or_refresh<F: Future<Output = T>>(&self, refresh: impl FnOnce() -> F) -> T {
        let mut slot = self.slot.lock().await;
        if let Some((at, value)) = slot.as_ref()
            && at.elapsed() < self.max_age
        {
            return value.clone();
        }
        let value = refresh().await;
        *slot = Some((Instant::now(), value.clone()));
        value
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use super::*;

    /// A refresh that counts its runs and returns the run number.
    async fn counted(runs: &AtomicUsize, takes: Duration) -> usize {
        tokio::time::sleep(takes).await;
        runs.fetch_add(1, Ordering::SeqCst) + 1
    }

    #[tokio::test]
    async fn calls_within_the_interval_share_one_refresh() {
        let (cache, runs) = (Cached::new(Duration::from_secs(1)), AtomicUsize::new(0));
        let first = cache
            .get_or_refresh(|| counted(&runs, Duration::ZERO))
            .await;
        let second = cache
            .get_or_refresh(|| counted(&runs, Duration::ZERO))
            .await;
        assert_eq!((first, second, runs.load(Ordering::SeqCst)), (1, 1, 1));
    }

    #[tokio::test]
    async fn a_call_after_the_interval_refreshes_again() {
        let (cache, runs) = (Cached::new(Duration::from_millis(100)), AtomicUsize::new(0));
        assert_eq!(
            cache
                .get_or_refresh(|| counted(&runs, Duration::ZERO))
                .await,
            1
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(
            cache
                .get_or_refresh(|| counted(&runs, Duration::ZERO))
                .await,
            2
        );
        assert_eq!(
            cache
                .get_or_refresh(|| counted(&runs, Duration::ZERO))
                .await,
            2
        );
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_refresh() {
        let cache = Arc::new(Cached::new(Duration::from_secs(1)));
        let runs = Arc::new(AtomicUsize::new(0));
        let callers = (0..8).map(|_| {
            let (cache, runs) = (cache.clone(), runs.clone());
            tokio::spawn(async move {
                cache
                    .get_or_refresh(|| counted(&runs, Duration::from_millis(50)))
                    .await
            })
        });
        let answers = futures::future::join_all(callers).await;
        assert!(answers.into_iter().all(|a| a.is_ok_and(|n| n == 1)));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}
