//! `lender partitions`: every county file the store knows, where its blocks are now, and
//! what a DataNode failure has cost or would cost (the operator's `hdfs fsck -locations`).

use std::{collections::BTreeMap, fmt::Write};

use futures::{StreamExt, stream};
use serde::{Deserialize, Serialize};

use crate::{
    config::EXPORT_PATH,
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
    /// How many of its blocks each of `hosts` holds (the board draws them).
    #[serde(default)]
    pub blocks: BTreeMap<String, usize>,
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
    /// The big file's blocks per DataNode (`BlockLocations` of the export); empty before
    /// the first export or when the NameNode cannot locate it.
    #[serde(default)]
    pub big_file_blocks: BTreeMap<String, usize>,
}

/// One DataNode's share of the blocks: the big file's and all county files' together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataNodeBlocks {
    pub host: String,
    pub big_file: usize,
    pub county_files: usize,
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

    /// Blocks per DataNode, every known DataNode (even one holding nothing) and every host
    /// a block is on, by host name.
    pub fn blocks_per_datanode(&self) -> Vec<DataNodeBlocks> {
        fn on<'m, 'h>(
            out: &'m mut BTreeMap<&'h str, DataNodeBlocks>,
            host: &'h str,
        ) -> &'m mut DataNodeBlocks {
            out.entry(host).or_insert_with(|| DataNodeBlocks {
                host: host.to_owned(),
                big_file: 0,
                county_files: 0,
            })
        }
        let mut out = BTreeMap::new();
        for d in &self.datanodes {
            on(&mut out, &d.host);
        }
        for (host, blocks) in &self.big_file_blocks {
            on(&mut out, host).big_file += blocks;
        }
        for (host, blocks) in self.partitions.iter().flat_map(|p| &p.blocks) {
            on(&mut out, host).county_files += blocks;
        }
        out.into_values().collect()
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
            let blocks = blocks_of(webhdfs, &record.path).await;
            view(record, blocks, generation, &nodes)
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
    let big_file_blocks = match generation {
        Some(_) => blocks_of(webhdfs, EXPORT_PATH).await,
        None => BTreeMap::new(),
    };
    Ok(PartitionsReport {
        export_generation: generation,
        partitions,
        datanodes,
        big_file_blocks,
    })
}

/// How many of `path`'s blocks each DataNode holds; none when the NameNode cannot say.
async fn blocks_of(webhdfs: &WebHdfs, path: &str) -> BTreeMap<String, usize> {
    let mut blocks = BTreeMap::new();
    let located = webhdfs.block_locations(path).await.unwrap_or_default();
    for host in located.into_iter().flat_map(|b| b.hosts) {
        *blocks.entry(host).or_insert(0) += 1;
    }
    blocks
}

fn view(
    record: PartitionRecord,
    blocks: BTreeMap<String, usize>,
    generation: Option<u64>,
    nodes: &BTreeMap<String, NodeState>,
) -> PartitionView {
    let hosts: Vec<String> = blocks.keys().cloned().collect();
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
        blocks,
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
        let on = |h: &str| BTreeMap::from([(h.to_owned(), 1)]);
        let state = |r, hosts| view(r, hosts, Some(2), &nodes).state;
        assert_eq!(
            state(record(1, 2, false), on("dn1")),
            PartitionState::Healthy
        );
        assert_eq!(state(record(1, 1, false), on("dn1")), PartitionState::Stale);
        assert_eq!(state(record(1, 2, true), on("dn1")), PartitionState::Lost);
        assert_eq!(state(record(1, 2, false), on("dn2")), PartitionState::Lost);
        assert_eq!(state(record(1, 2, false), on("dn3")), PartitionState::Lost);
        assert_eq!(
            state(record(1, 2, false), BTreeMap::new()),
            PartitionState::Lost
        );
        let both = BTreeMap::from([("dn1".to_owned(), 1), ("dn2".to_owned(), 2)]);
        assert_eq!(state(record(1, 2, false), both), PartitionState::Healthy);
    }

    #[test]
    fn blocks_per_datanode_adds_the_county_files_and_keeps_empty_nodes() {
        let nodes = BTreeMap::from([
            ("dn1".to_owned(), NodeState::Live),
            ("dn2".to_owned(), NodeState::Live),
            ("dn3".to_owned(), NodeState::Dead),
        ]);
        let county = |c, host: &str, n| {
            view(
                record(c, 2, false),
                BTreeMap::from([(host.to_owned(), n)]),
                Some(2),
                &nodes,
            )
        };
        let report = PartitionsReport {
            export_generation: Some(2),
            partitions: vec![
                county(1, "dn1", 1),
                county(3, "dn1", 2),
                county(5, "dn4", 1),
            ],
            datanodes: ["dn1", "dn2", "dn3"]
                .map(|host| DataNodeView {
                    host: host.into(),
                    state: NodeState::Live,
                    county_files_at_risk: 0,
                })
                .to_vec(),
            big_file_blocks: BTreeMap::from([("dn1".to_owned(), 7), ("dn2".to_owned(), 8)]),
        };
        let got: Vec<(String, usize, usize)> = report
            .blocks_per_datanode()
            .into_iter()
            .map(|d| (d.host, d.big_file, d.county_files))
            .collect();
        let want = [("dn1", 7, 3), ("dn2", 8, 0), ("dn3", 0, 0), ("dn4", 0, 1)]
            .map(|(h, b, c)| (h.to_owned(), b, c));
        assert_eq!(got, want);
    }
}
