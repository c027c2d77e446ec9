//! Which DataNodes to distrust. The NameNode needs up to 90 s to declare a node dead; our
//! own failed reads and the NameNode's "last contact" ages tell us much sooner, so a lost
//! county file is rebuilt without first waiting on a dead node.

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::webhdfs::WebHdfs;

/// How long a host we failed to reach stays suspect without new evidence.
const SUSPECT_FOR: Duration = Duration::from_secs(30);
/// How often we ask the NameNode, at most.
const REFRESH_EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct NodeHealth {
    suspects: Mutex<HashMap<String, Instant>>,
    namenode_view: Mutex<Option<(Instant, HashSet<String>)>>,
}

impl NodeHealth {
    /// Remembers that `host` failed us.
    pub fn suspect(&self, host: &str) {
        tracing::warn!(host, "DataNode unreachable; avoiding it for a while");
        lock(&self.suspects).insert(host.to_owned(), Instant::now());
    }

    /// Hosts suspected now.
    pub fn suspects(&self) -> Vec<String> {
        let mut suspects = lock(&self.suspects);
        suspects.retain(|_, since| since.elapsed() < SUSPECT_FOR);
        suspects.keys().cloned().collect()
    }

    /// Drops every suspicion (used when they contradict what the NameNode can do).
    pub fn forgive_all(&self) {
        lock(&self.suspects).clear();
    }

    /// The first of `hosts` that is known or suspected to be down.
    pub async fn first_down<'a>(
        &self,
        webhdfs: &WebHdfs,
        hosts: &'a [String],
    ) -> Option<&'a String> {
        {
            let mut suspects = lock(&self.suspects);
            suspects.retain(|_, since| since.elapsed() < SUSPECT_FOR);
            if let Some(host) = hosts.iter().find(|h| suspects.contains_key(*h)) {
                return Some(host);
            }
        }
        let down = self.namenode_down(webhdfs).await;
        hosts.iter().find(|h| down.contains(*h))
    }

    /// Every host to keep away from: suspected by us or silent to the NameNode.
    pub async fn avoid(&self, webhdfs: &WebHdfs) -> Vec<String> {
        let mut hosts: HashSet<String> = {
            let mut suspects = lock(&self.suspects);
            suspects.retain(|_, since| since.elapsed() < SUSPECT_FOR);
            suspects.keys().cloned().collect()
        };
        hosts.extend(self.namenode_down(webhdfs).await);
        hosts.into_iter().collect()
    }

    async fn namenode_down(&self, webhdfs: &WebHdfs) -> HashSet<String> {
        if let Some((at, down)) = lock(&self.namenode_view).as_ref()
            && at.elapsed() < REFRESH_EVERY
        {
            return down.clone();
        }
        // A NameNode that does not answer tells us nothing; keep going with what we know.
        let down = webhdfs.silent_datanodes().await.unwrap_or_default();
        *lock(&self.namenode_view) = Some((Instant::now(), down.clone()));
        down
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
