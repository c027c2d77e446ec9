//! What the server depends on, as it sees it now: the NameNode, every DataNode as the
//! NameNode (and the server) sees it, MySQL, the queue, the current export and the store
//! file. The operator's `lender health` and the board render it.

use std::{collections::BTreeMap, path::Path};

use serde::{Deserialize, Serialize};

use crate::{
    hdfs::{NodeState, WebHdfs},
    mysql::MySql,
    store::{ExportRecord, HISTORY_SCAN, JobState, Store},
};

/// One dependency: reachable or not, and what we learned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HealthReport {
    pub namenode: Check,
    /// Host -> live / silent / dead (NameNode), or suspect (the server failed to reach it).
    pub datanodes: BTreeMap<String, String>,
    pub mysql: Check,
    pub queued_jobs: usize,
    pub running_jobs: usize,
    pub export: Option<ExportRecord>,
    pub store_path: String,
    pub store_bytes: u64,
}

pub async fn check_dependencies(
    store: &Store,
    webhdfs: &WebHdfs,
    mysql: &MySql,
    db_path: &Path,
    suspects: &[String],
) -> HealthReport {
    let (nodes, mysql_check) = tokio::join!(webhdfs.namenode().datanodes(), mysql.ping());
    let (namenode, datanodes) = match nodes {
        Ok(nodes) => {
            let live = nodes.values().filter(|s| **s == NodeState::Live).count();
            let detail = format!("reachable; {live} of {} DataNodes live", nodes.len());
            let states = nodes
                .into_iter()
                .map(|(host, state)| {
                    let word = if state == NodeState::Live && suspects.contains(&host) {
                        "suspect".to_owned()
                    } else {
                        format!("{state:?}").to_lowercase()
                    };
                    (host, word)
                })
                .collect();
            (Check { ok: true, detail }, states)
        }
        Err(e) => (
            Check {
                ok: false,
                detail: e.to_string(),
            },
            BTreeMap::new(),
        ),
    };
    let mysql = match mysql_check {
        Ok(version) => Check {
            ok: true,
            detail: format!("reachable (server {version})"),
        },
        Err(e) => Check {
            ok: false,
            detail: e.to_string(),
        },
    };
    let jobs = store.history().jobs(HISTORY_SCAN).unwrap_or_default();
    let count = |state| jobs.iter().filter(|j| j.state == state).count();
    HealthReport {
        namenode,
        datanodes,
        mysql,
        queued_jobs: count(JobState::Queued),
        running_jobs: count(JobState::Running),
        export: store.exports().current().ok().flatten(),
        store_path: db_path.display().to_string(),
        store_bytes: std::fs::metadata(db_path).map(|m| m.len()).unwrap_or(0),
    }
}

impl Check {
    /// `ok` or `DOWN`.
    pub fn mark(&self) -> &'static str {
        if self.ok { "ok" } else { "DOWN" }
    }
}
