//! `lender health`: the server's view of what it depends on, in one screen: the NameNode,
//! every DataNode as the NameNode (and the server) sees it, MySQL, the queue, the current
//! export and the store file.

use std::{collections::BTreeMap, fmt::Write, path::Path};

use serde::{Deserialize, Serialize};

use crate::{
    history_view::format_time,
    mysql::MySql,
    store::{ExportRecord, JobState, Store},
    webhdfs::{NodeState, WebHdfs},
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

/// How many history records the queue counts look through.
const HISTORY_SCAN: usize = 10_000;

pub async fn report(
    store: &Store,
    webhdfs: &WebHdfs,
    mysql: &MySql,
    db_path: &Path,
    suspects: &[String],
) -> HealthReport {
    let (nodes, mysql_check) = tokio::join!(webhdfs.datanodes(), mysql.ping());
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
    let jobs = store.jobs(HISTORY_SCAN).unwrap_or_default();
    let count = |state| jobs.iter().filter(|j| j.state == state).count();
    HealthReport {
        namenode,
        datanodes,
        mysql,
        queued_jobs: count(JobState::Queued),
        running_jobs: count(JobState::Running),
        export: store.export().ok().flatten(),
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

impl HealthReport {
    /// `0 queued, 1 running`
    pub fn queue_summary(&self) -> String {
        format!("{} queued, {} running", self.queued_jobs, self.running_jobs)
    }

    /// `generation 104, 426716 rows, 15971576 bytes, finished 2026-12-01 00:42:23`
    pub fn export_summary(&self) -> String {
        match &self.export {
            Some(e) => format!(
                "generation {}, {} rows, {} bytes, finished {}",
                e.generation,
                e.rows.map_or("-".into(), |r| r.to_string()),
                e.bytes.map_or("-".into(), |b| b.to_string()),
                e.finished_ms.map_or("-".into(), format_time),
            ),
            None => "none yet (run DbToHdfs)".to_owned(),
        }
    }

    /// `/var/lib/lender/lender.redb (5.6 MiB)`
    pub fn store_summary(&self) -> String {
        format!(
            "{} ({:.1} MiB)",
            self.store_path,
            self.store_bytes as f64 / (1024.0 * 1024.0)
        )
    }
}

pub fn render(report: &HealthReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "NameNode  {:<4}  {}",
        report.namenode.mark(),
        report.namenode.detail
    );
    for (host, state) in &report.datanodes {
        let _ = writeln!(out, "  DataNode {host:<24} {state}");
    }
    let _ = writeln!(
        out,
        "MySQL     {:<4}  {}",
        report.mysql.mark(),
        report.mysql.detail
    );
    let _ = writeln!(out, "queue     {}", report.queue_summary());
    let _ = writeln!(out, "export    {}", report.export_summary());
    let _ = writeln!(out, "store     {}", report.store_summary());
    out
}
