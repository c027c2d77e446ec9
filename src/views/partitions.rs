//! `lender partitions`: every county file the store knows, where its blocks are now, and
//! what a DataNode failure has cost or would cost (the operator's `hdfs fsck -locations`).

use std::{collections::BTreeMap, fmt::Write};

use futures::{StreamExt, stream};
use serde::{Deserialize, Serialize};

use crate::{
    error::Result,
    hdfs::{NodeState, WebHdfs},
    store::{PartitionRecord, Store},
};

use super::format::format_time;

/// How many county files' block locations are asked of the NameNode at once: one request
/// per file, so a report over hundreds of files must not open hundreds of connections.
const LOCATION_LOOKUPS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartitionState {
    /// Cut from the current export, readable.
    Healthy,
    /// Cut from an older export: the next call for the county rebuilds it.
    Stale,
    /// Missing, marked unreadable, or every replica on a dead or silent DataNode.
    Lost,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartitionView {
    pub county: i32,
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
    pub generation: u64,
    /// Whether `generation` is the current export's.
    pub current: bool,
    /// Cut from an earlier export and kept by a later one: its county's rows were unchanged.
    #[serde(default)]
    pub kept: bool,
    /// DataNodes holding its blocks now, as the NameNode reports them.
    pub hosts: Vec<String>,
    pub state: PartitionState,
    pub written_ms: u64,
    pub job_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DataNodeView {
    pub host: String,
    pub state: NodeState,
    /// County files whose only replicas are on this node: lost if it dies.
    pub county_files_at_risk: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartitionsReport {
    pub export_generation: Option<u64>,
    pub partitions: Vec<PartitionView>,
    pub datanodes: Vec<DataNodeView>,
}

impl PartitionsReport {
    /// How many county files are in `state`.
    pub fn count(&self, state: PartitionState) -> usize {
        self.partitions.iter().filter(|p| p.state == state).count()
    }

    /// `72 county files (export generation 104): 72 healthy, 0 stale, 0 lost; 70 kept
    /// from earlier exports (their rows did not change)`
    pub fn headline(&self) -> String {
        let generation = self
            .export_generation
            .map_or_else(|| "none".to_owned(), |g| g.to_string());
        format!(
            "{} county files (export generation {generation}): {} healthy, {} stale, {} lost; \
             {} kept from earlier exports (their rows did not change)",
            self.partitions.len(),
            self.count(PartitionState::Healthy),
            self.count(PartitionState::Stale),
            self.count(PartitionState::Lost),
            self.partitions
                .iter()
                .filter(|p| p.kept && p.current)
                .count(),
        )
    }
}

/// Builds the report from the store and the NameNode. `suspects` are DataNodes the server
/// itself failed to reach lately (treated like silent ones).
pub async fn report(
    store: &Store,
    webhdfs: &WebHdfs,
    suspects: &[String],
) -> Result<PartitionsReport> {
    let generation = store.exports().current()?.map(|e| e.generation);
    let mut nodes = webhdfs.namenode().datanodes().await?;
    for host in suspects {
        nodes.entry(host.clone()).and_modify(|s| {
            if *s == NodeState::Live {
                *s = NodeState::Silent;
            }
        });
    }
    let mut partitions: Vec<PartitionView> = stream::iter(store.partitions().all()?)
        .map(|record| async {
            // A file the NameNode cannot locate has no hosts: it counts as lost.
            let hosts = hosts_of(webhdfs, &record.path).await;
            view(record, hosts, generation, &nodes)
        })
        .buffer_unordered(LOCATION_LOOKUPS)
        .collect()
        .await;
    partitions.sort_by_key(|p| p.county);
    let datanodes = nodes
        .iter()
        .map(|(host, state)| DataNodeView {
            host: host.clone(),
            state: *state,
            county_files_at_risk: partitions
                .iter()
                .filter(|p| p.state != PartitionState::Lost && p.hosts == [host.clone()])
                .count(),
        })
        .collect();
    Ok(PartitionsReport {
        export_generation: generation,
        partitions,
        datanodes,
    })
}

async fn hosts_of(webhdfs: &WebHdfs, path: &str) -> Vec<String> {
    let mut hosts: Vec<String> = webhdfs
        .block_locations(path)
        .await
        .unwrap_or_default()
        .into_iter()
        .flat_map(|b| b.hosts)
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

fn view(
    record: PartitionRecord,
    hosts: Vec<String>,
    generation: Option<u64>,
    nodes: &BTreeMap<String, NodeState>,
) -> PartitionView {
    let current = generation == Some(record.generation);
    let kept = record.kept();
    let up = |h: &String| nodes.get(h).is_some_and(|s| *s == NodeState::Live);
    let state = if record.lost || !hosts.iter().any(up) {
        PartitionState::Lost
    } else if !current {
        PartitionState::Stale
    } else {
        PartitionState::Healthy
    };
    PartitionView {
        county: record.county,
        path: record.path,
        rows: record.rows,
        bytes: record.bytes,
        generation: record.generation,
        current,
        kept,
        hosts,
        state,
        written_ms: record.written_ms,
        job_id: record.job_id,
    }
}

pub fn render(report: &PartitionsReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", report.headline());
    for p in &report.partitions {
        let _ = writeln!(
            out,
            "  {:>6}  {:<8}  {:>7} rows  {:>9} bytes  gen {:<3}{}{}  on {:<28}  written {}  job {}",
            p.county,
            format!("{:?}", p.state).to_lowercase(),
            p.rows,
            p.bytes,
            p.generation,
            if p.current { " " } else { "*" },
            if p.kept { " kept" } else { "     " },
            if p.hosts.is_empty() {
                "-".to_owned()
            } else {
                p.hosts.join(",")
            },
            format_time(p.written_ms),
            p.job_id.as_deref().unwrap_or("-"),
        );
    }
    for d in &report.datanodes {
        let _ = writeln!(
            out,
            "DataNode {:<24} {:<6}  {} county files would be lost if it died",
            d.host,
            format!("{:?}", d.state).to_lowercase(),
            d.county_files_at_risk,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(county: i32, generation: u64, lost: bool) -> PartitionRecord {
        PartitionRecord {
            county,
            path: format!("/partitions/{county}.parquet"),
            rows: 10,
            bytes: 100,
            generation,
            cut_generation: Some(generation),
            fingerprint: None,
            written_ms: 0,
            hosts: vec![],
            lost,
            job_id: None,
        }
    }

    #[test]
    fn state_follows_generation_marks_and_where_the_blocks_are() {
        let nodes = BTreeMap::from([
            ("dn1".to_owned(), NodeState::Live),
            ("dn2".to_owned(), NodeState::Dead),
            ("dn3".to_owned(), NodeState::Silent),
        ]);
        let on = |h: &str| vec![h.to_owned()];
        let state = |r, hosts| view(r, hosts, Some(2), &nodes).state;
        assert_eq!(
            state(record(1, 2, false), on("dn1")),
            PartitionState::Healthy
        );
        assert_eq!(state(record(1, 1, false), on("dn1")), PartitionState::Stale);
        assert_eq!(state(record(1, 2, true), on("dn1")), PartitionState::Lost);
        assert_eq!(state(record(1, 2, false), on("dn2")), PartitionState::Lost);
        assert_eq!(state(record(1, 2, false), on("dn3")), PartitionState::Lost);
        assert_eq!(state(record(1, 2, false), vec![]), PartitionState::Lost);
        let both = vec!["dn1".to_owned(), "dn2".to_owned()];
        assert_eq!(state(record(1, 2, false), both), PartitionState::Healthy);
    }
}
