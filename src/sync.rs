//! The one way we take a std mutex.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, taking the value even if a thread panicked while holding it: every value
/// we keep under a std mutex stays consistent between statements (a map, a timestamp), so
/// a panic elsewhere must not turn into a panic here.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
