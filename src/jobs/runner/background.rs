//! The server's own long-running tasks (the workers' supervisors, retention, the cleanup of
//! temporary files): each handle is kept, and one token stops them all at shutdown.

use std::sync::Mutex;

use tokio::{sync::watch, task::JoinHandle};

use crate::sync::lock;

/// Owns the background tasks: none is detached, and [`Background::stop`] ends them.
pub struct Background {
    /// The cancellation token: `true` once shutdown began.
    stopping: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Default for Background {
    fn default() -> Self {
        Background {
            stopping: watch::channel(false).0,
            tasks: Mutex::new(Vec::new()),
        }
    }
}

impl Background {
    /// Runs `task` until it ends or shutdown begins, whichever comes first.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut stopping = self.stopping.subscribe();
        let handle = tokio::spawn(async move {
            tokio::select! {
                () = task => {}
                _ = stopping.wait_for(|stop| *stop) => {}
            }
        });
        lock(&self.tasks).push(handle);
    }

    /// Signals every task to stop and waits until each has.
    pub async fn stop(&self) {
        self.stopping.send_replace(true);
        let tasks = std::mem::take(&mut *lock(&self.tasks));
        for task in tasks {
            if let Err(e) = task.await
                && e.is_panic()
            {
                tracing::error!(error = %e, "a background task panicked");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Background;

    #[tokio::test]
    async fn stop_ends_tasks_that_never_end_by_themselves() {
        let background = Background::default();
        background.spawn(std::future::pending());
        background.spawn(async {});
        tokio::time::timeout(Duration::from_secs(2), background.stop())
            .await
            .expect("every task stopped");
    }
}
