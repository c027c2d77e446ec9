//! Which DataNodes to distrust. The NameNode needs up to 90 s to declare a node dead; our
//! own failed reads and the NameNode's "last contact" ages tell us much sooner, so a lost
//! county file is rebuilt without first waiting on a dead node.

use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
    time::{Duration, Instant},
};

mod report;

#[cfg(test)]
pub use report::Check;
pub use report::{HealthReport, check_dependencies};

use crate::{
    hdfs::{DataNodeHealth, Unreachable, WebHdfs},
    sync::lock,
};

/// How long a host we failed to reach stays suspect without new evidence.
const SUSPECT_FOR: Duration = Duration::from_secs(30);
/// How often we ask the NameNode, at most.
const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// Why we distrust a host, and since when.
#[derive(Debug, Clone, Copy)]
struct Suspicion {
    since: Instant,
    /// Our last probe of it timed out (packets dropped), as opposed to being refused. A
    /// silent node stalls any pipeline that includes it for the Java client's socket
    /// timeout (60 s on stock settings) instead of failing it at once.
    silent: bool,
}

#[derive(Default)]
pub struct NodeHealth {
    suspects: Mutex<HashMap<String, Suspicion>>,
    namenode_view: Mutex<Option<(Instant, HashSet<String>)>>,
}

impl NodeHealth {
    /// Remembers that `host` failed us. Says nothing about how, so a node a probe found
    /// silent stays silent (until its suspicion expires or a probe says otherwise).
    pub fn suspect(&self, host: &str) {
        tracing::warn!(host, "DataNode unreachable; avoiding it for a while");
        crate::telemetry::datanode_suspected(host);
        let mut suspects = lock(&self.suspects);
        let silent = fresh(&mut suspects)
            .get(host)
            .is_some_and(|known| known.silent);
        suspects.insert(
            host.to_owned(),
            Suspicion {
                since: Instant::now(),
                silent,
            },
        );
    }

    /// Remembers what a probe found: `node` did not accept a connection, silently or not.
    pub fn suspect_unreachable(&self, node: &Unreachable) {
        tracing::warn!(host = %node.host, silent = node.silent, reason = %node.reason, "DataNode does not answer probes; avoiding it for a while");
        crate::telemetry::datanode_suspected(&node.host);
        lock(&self.suspects).insert(
            node.host.clone(),
            Suspicion {
                since: Instant::now(),
                silent: node.silent,
            },
        );
    }

    /// Hosts suspected now.
    pub fn suspects(&self) -> Vec<String> {
        fresh(&mut lock(&self.suspects)).keys().cloned().collect()
    }

    /// Whether a host suspected now was found silent (cut off rather than killed): writes
    /// must then keep it out of their pipelines, which only a replication of 1 guarantees.
    pub fn any_silent(&self) -> bool {
        fresh(&mut lock(&self.suspects))
            .values()
            .any(|suspicion| suspicion.silent)
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
        let suspects: HashSet<String> = self.suspects().into_iter().collect();
        // The NameNode is asked only when our own suspicions name none of the hosts.
        if let Some(host) = first_down_among(hosts, &suspects, &HashSet::new()) {
            return Some(host);
        }
        let down = self.namenode_down(webhdfs).await;
        first_down_among(hosts, &suspects, &down)
    }

    /// Every host to keep away from: suspected by us or silent to the NameNode.
    pub async fn avoid(&self, webhdfs: &WebHdfs) -> Vec<String> {
        let suspects = self.suspects();
        avoid_list(suspects, self.namenode_down(webhdfs).await)
    }

    async fn namenode_down(&self, webhdfs: &WebHdfs) -> HashSet<String> {
        if let Some((at, down)) = lock(&self.namenode_view).as_ref()
            && at.elapsed() < REFRESH_EVERY
        {
            return down.clone();
        }
        // A NameNode that does not answer tells us nothing; keep going with what we know.
        let down = webhdfs
            .namenode()
            .silent_datanodes()
            .await
            .unwrap_or_default();
        *lock(&self.namenode_view) = Some((Instant::now(), down.clone()));
        down
    }
}

/// The write path's view: what we distrust, and what its tries teach us.
impl DataNodeHealth for NodeHealth {
    fn avoid(&self, webhdfs: &WebHdfs) -> impl Future<Output = Vec<String>> + Send {
        NodeHealth::avoid(self, webhdfs)
    }

    fn suspect(&self, host: &str) {
        NodeHealth::suspect(self, host);
    }

    fn suspect_unreachable(&self, node: &Unreachable) {
        NodeHealth::suspect_unreachable(self, node);
    }

    fn any_silent(&self) -> bool {
        NodeHealth::any_silent(self)
    }

    fn forgive_all(&self) {
        NodeHealth::forgive_all(self);
    }
}

/// The watchdog's read decision, from what it observed: the first of `hosts` that we
/// suspect, or else that the NameNode reports dead or silent.
fn first_down_among<'a>(
    hosts: &'a [String],
    suspects: &HashSet<String>,
    namenode_down: &HashSet<String>,
) -> Option<&'a String> {
    hosts
        .iter()
        .find(|h| suspects.contains(*h))
        .or_else(|| hosts.iter().find(|h| namenode_down.contains(*h)))
}

/// The watchdog's write decision: every host suspected by us or down to the NameNode, once.
fn avoid_list(suspects: Vec<String>, namenode_down: HashSet<String>) -> Vec<String> {
    let mut hosts: HashSet<String> = suspects.into_iter().collect();
    hosts.extend(namenode_down);
    hosts.into_iter().collect()
}

/// Drops suspicions older than [`SUSPECT_FOR`]; what is left.
fn fresh(suspects: &mut HashMap<String, Suspicion>) -> &mut HashMap<String, Suspicion> {
    suspects.retain(|_, suspicion| suspicion.since.elapsed() < SUSPECT_FOR);
    suspects
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_probe_makes_the_health_silent_and_a_refusal_does_not() {
        let health = NodeHealth::default();
        assert!(!health.any_silent());
        health.suspect_unreachable(&Unreachable::for_test("dn1", false));
        health.suspect("dn2");
        assert!(!health.any_silent());
        health.suspect_unreachable(&Unreachable::for_test("dn3", true));
        assert!(health.any_silent());
        let mut suspects = health.suspects();
        suspects.sort();
        assert_eq!(suspects, ["dn1", "dn2", "dn3"]);
    }

    #[test]
    fn a_plain_suspicion_keeps_a_node_silent_and_a_probe_can_clear_it() {
        let health = NodeHealth::default();
        health.suspect_unreachable(&Unreachable::for_test("dn1", true));
        health.suspect("dn1");
        assert!(health.any_silent());
        health.suspect_unreachable(&Unreachable::for_test("dn1", false));
        assert!(!health.any_silent());
    }

    #[test]
    fn silence_expires_with_the_suspicion_and_with_forgiveness() {
        let health = NodeHealth::default();
        health.suspect_unreachable(&Unreachable::for_test("dn1", true));
        health.forgive_all();
        assert!(!health.any_silent());
        let long_ago = Instant::now().checked_sub(SUSPECT_FOR + Duration::from_secs(1));
        if let Some(since) = long_ago {
            lock(&health.suspects).insert(
                "dn1".into(),
                Suspicion {
                    since,
                    silent: true,
                },
            );
            assert!(!health.any_silent());
            assert!(health.suspects().is_empty());
        }
    }

    fn hosts(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn set(names: &[&str]) -> HashSet<String> {
        hosts(names).into_iter().collect()
    }

    #[test]
    fn a_read_avoids_our_suspect_first_then_what_the_namenode_reports_down() {
        let replicas = hosts(&["dn1", "dn2", "dn3"]);
        let cases: [(&[&str], &[&str], Option<&str>); 5] = [
            (&[], &[], None),
            (&["dn2"], &[], Some("dn2")),
            (&[], &["dn3"], Some("dn3")),
            // Our own suspicion wins over the NameNode's order of hosts.
            (&["dn3"], &["dn1"], Some("dn3")),
            // Hosts that hold no replica do not matter.
            (&["dn9"], &["dn8"], None),
        ];
        for (suspects, namenode_down, expected) in cases {
            let down = first_down_among(&replicas, &set(suspects), &set(namenode_down));
            assert_eq!(
                down.map(String::as_str),
                expected,
                "suspects {suspects:?}, NameNode down {namenode_down:?}"
            );
        }
    }

    #[test]
    fn a_write_avoids_every_host_either_side_distrusts_once() {
        let mut avoid = avoid_list(hosts(&["dn1", "dn2"]), set(&["dn2", "dn3"]));
        avoid.sort();
        assert_eq!(avoid, hosts(&["dn1", "dn2", "dn3"]));
        assert!(avoid_list(vec![], HashSet::new()).is_empty());
    }
}
