use std::sync::Arc;

use arrow::{
    array::{Array, Int32Array, Int64Array},
    datatypes::{DataType, Field, Schema},
};

use super::*;

const RULES: ClusterRules = ClusterRules {
    group_rows: 1000,
    mixed_rows: 300,
    budget_bytes: 64 << 10,
};

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("county_code", DataType::Int32, true),
        Field::new("row", DataType::Int64, false),
    ]))
}

/// Rows in scrambled county order: county `c` gets weight `c` (skewed sizes), some nulls.
fn batches(total: usize, per_batch: usize) -> Vec<RecordBatch> {
    let mut counties = Vec::new();
    let mut x = 7u64;
    for _ in 0..total {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let pick = (x >> 33) % 210; // 1+2+...+20 = 210
        let mut acc = 0;
        let county = (1..=20).find(|c| {
            acc += c;
            pick < acc
        });
        counties.push(county.map(|c| c as i32).filter(|c| *c != 3));
    }
    counties
        .chunks(per_batch)
        .enumerate()
        .map(|(b, chunk)| {
            let rows: Vec<i64> = (0..chunk.len())
                .map(|i| (b * per_batch + i) as i64)
                .collect();
            RecordBatch::try_new(
                schema(),
                vec![
                    Arc::new(Int32Array::from(chunk.to_vec())),
                    Arc::new(Int64Array::from(rows)),
                ],
            )
            .unwrap()
        })
        .collect()
}

/// A group's rows, read (the way the encoder reads them).
type Rows = Vec<RecordBatch>;

fn read(group: RowGroup) -> Rows {
    group.into_batches().collect::<Result<_>>().unwrap()
}

fn counties_of(group: &Rows) -> Vec<Option<i32>> {
    let mut out: Vec<Option<i32>> = group
        .iter()
        .flat_map(|b| {
            let c = b.column(0).as_any().downcast_ref::<Int32Array>().unwrap();
            (0..c.len())
                .map(|i| c.is_valid(i).then(|| c.value(i)))
                .collect::<Vec<_>>()
        })
        .collect();
    out.dedup();
    out
}

/// A spill place of its own for each test run, removed afterwards.
struct ScratchDir(std::path::PathBuf);

impl ScratchDir {
    fn new() -> Self {
        static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("lender-cluster-test-{}-{run}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        ScratchDir(dir)
    }

    fn place(&self) -> SpillPlace {
        SpillPlace {
            dir: self.0.clone(),
            prefix: "test".into(),
        }
    }

    fn files(&self) -> usize {
        std::fs::read_dir(&self.0).unwrap().count()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Clustered {
    groups: Vec<Rows>,
    peak_memory: usize,
    spill_files: u64,
    files_left: usize,
}

fn cluster_with(input: &[RecordBatch], rules: ClusterRules) -> Clustered {
    let scratch = ScratchDir::new();
    let mut clusterer =
        CountyClusterer::new(&schema(), "county_code", rules, scratch.place()).unwrap();
    let mut groups = Vec::new();
    let mut peak_memory = 0;
    for batch in input {
        groups.extend(clusterer.push(batch).unwrap().into_iter().map(read));
        peak_memory = peak_memory.max(clusterer.memory_bytes());
    }
    let spill_files = clusterer.spill_files();
    groups.extend(clusterer.finish().map(read));
    Clustered {
        groups,
        peak_memory,
        spill_files,
        files_left: scratch.files(),
    }
}

fn cluster(input: &[RecordBatch]) -> (Vec<Rows>, usize) {
    let clustered = cluster_with(input, RULES);
    (clustered.groups, clustered.peak_memory)
}

fn rows_of(group: &Rows) -> usize {
    group.iter().map(|b| b.num_rows()).sum()
}

#[test]
fn every_group_is_one_county_or_a_small_disjoint_mix() {
    let (groups, _) = cluster(&batches(20_000, 512));
    let mut mixed_ranges = Vec::new();
    for group in &groups {
        let rows = rows_of(group);
        let mut counties = counties_of(group);
        assert!(rows <= RULES.group_rows + 512, "group of {rows} rows");
        counties.sort();
        counties.dedup();
        if counties.len() > 1 {
            assert!(
                rows <= RULES.mixed_rows,
                "mixed group of {rows} rows: {counties:?}"
            );
            mixed_ranges.push((counties[0], counties[counties.len() - 1]));
        }
        // Rows of one county arrive together within a group (written in runs).
        assert_eq!(
            counties_of(group).len(),
            counties.len(),
            "{:?}",
            counties_of(group)
        );
    }
    mixed_ranges.sort();
    for pair in mixed_ranges.windows(2) {
        assert!(pair[0].1 < pair[1].0, "overlapping mixed groups {pair:?}");
    }
}

#[test]
fn keeps_every_row_once_in_arrival_order_per_county() {
    let input = batches(20_000, 512);
    let (groups, _) = cluster(&input);
    let mut seen: Vec<(Option<i32>, i64)> = Vec::new();
    for batch in groups.iter().flatten() {
        let c = batch
            .column(0)
            .as_any()
            .downcast_ref::<Int32Array>()
            .unwrap();
        let r = batch
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        for i in 0..batch.num_rows() {
            seen.push((c.is_valid(i).then(|| c.value(i)), r.value(i)));
        }
    }
    assert_eq!(seen.len(), 20_000);
    let mut per_county: BTreeMap<Option<i32>, Vec<i64>> = BTreeMap::new();
    for (county, row) in &seen {
        per_county.entry(*county).or_default().push(*row);
    }
    for (county, rows) in per_county {
        assert!(
            rows.windows(2).all(|w| w[0] < w[1]),
            "county {county:?} out of order"
        );
    }
}

#[test]
fn memory_stays_within_the_budget_whatever_the_size() {
    let (_, small) = cluster(&batches(20_000, 512));
    let (_, large) = cluster(&batches(200_000, 512));
    // One batch may land on top of a full budget before the flush.
    let ceiling = RULES.budget_bytes + batches(512, 512)[0].get_array_memory_size() * 4;
    assert!(
        small <= ceiling && large <= ceiling,
        "{small} {large} > {ceiling}"
    );
}

#[test]
fn a_tight_budget_spills_instead_of_cutting_small_groups() {
    let input = batches(20_000, 512);
    let roomy = cluster_with(&input, RULES);
    let tight = cluster_with(
        &input,
        ClusterRules {
            budget_bytes: 8 << 10,
            ..RULES
        },
    );
    assert!(
        tight.spill_files > 0,
        "nothing spilled under a tight budget"
    );
    assert_eq!(tight.files_left, 0, "spill files left behind");
    assert!(tight.peak_memory <= roomy.peak_memory);
    // The same groups, whatever the budget: a county is cut at group_rows, never sooner.
    let shape = |c: &Clustered| {
        c.groups
            .iter()
            .map(|g| (counties_of(g), rows_of(g)))
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&tight), shape(&roomy));
    // A county's rows are split only at group_rows: all its groups but the last are full.
    let mut sizes: BTreeMap<Option<i32>, Vec<usize>> = BTreeMap::new();
    for group in &tight.groups {
        if let [county] = counties_of(group)[..] {
            sizes.entry(county).or_default().push(rows_of(group));
        }
    }
    for (county, sizes) in sizes {
        let full = &sizes[..sizes.len() - 1];
        assert!(
            full.iter().all(|rows| *rows >= RULES.group_rows),
            "county {county:?} cut early: {sizes:?}"
        );
    }
}

#[test]
fn spill_files_are_removed_when_the_export_gives_up() {
    let scratch = ScratchDir::new();
    let rules = ClusterRules {
        budget_bytes: 8 << 10,
        ..RULES
    };
    let mut clusterer =
        CountyClusterer::new(&schema(), "county_code", rules, scratch.place()).unwrap();
    for batch in batches(5_000, 512) {
        clusterer.push(&batch).unwrap();
    }
    assert!(scratch.files() > 0);
    drop(clusterer);
    assert_eq!(scratch.files(), 0);
}
