//! Clustering the export by county without asking MySQL to sort.
//!
//! MariaDB sorts the whole result before it sends the first row, which tripled the export's
//! time. The rows arrive in table order instead, and this module regroups them so that every
//! Parquet row group holds one county, or a few small counties next to each other, which is
//! what lets `CalcAvgLoan` read only a county's row groups (by their min/max statistics).
//!
//! Rows wait per county until their group is due; memory stays flat whatever the data size:
//! * a county with `group_rows` rows waiting becomes a row group of its own;
//! * over the memory budget, the counties holding the most bytes in memory move their
//!   waiting rows to a spill file on local disk ([`super::spill`]) until memory is back to
//!   three quarters of the budget; their rows still count towards their group;
//! * at the end, what is left goes out in county order, one group at a time, neighbours
//!   sharing a row group up to `mixed_rows` rows. Those mixed groups cover disjoint county
//!   ranges, so a county's read touches its own groups and at most one mixed group.

use std::collections::{BTreeMap, BTreeSet};

use arrow::{
    array::{ArrayRef, AsArray, UInt32Array},
    compute::{concat_batches, take_record_batch},
    datatypes::SchemaRef,
    record_batch::RecordBatch,
    row::{OwnedRow, RowConverter, SortField},
};

use super::spill::{SpillFile, SpillPlace};
use crate::error::{Error, Result};

/// How the export's row groups are cut.
#[derive(Debug, Clone, Copy)]
pub struct ClusterRules {
    /// A county with this many rows waiting is written as a row group of its own.
    pub group_rows: usize,
    /// Small counties share a row group up to this many rows.
    pub mixed_rows: usize,
    /// Bytes of Arrow data allowed to wait in memory; more waits in spill files.
    pub budget_bytes: usize,
}

/// The rows of one row group, handed to the encoder one batch at a time: spilled rows are
/// read from their file as the encoder gets to them, so a group is never whole in memory
/// (a 32k-row group is about 20 MB of Arrow; the encoder needs one batch at a time).
pub struct RowGroup {
    counties: Vec<Pending>,
}

impl RowGroup {
    /// The group's rows in order: county after county, each county's spilled rows first.
    pub fn into_batches(self) -> impl Iterator<Item = Result<RecordBatch>> + Send {
        self.counties.into_iter().flat_map(Pending::into_batches)
    }
}

/// One county's waiting rows: the older ones spilled to disk, the newer ones in memory.
#[derive(Default)]
struct Pending {
    spilled: Option<SpillFile>,
    batches: Vec<RecordBatch>,
    /// Bytes of `batches`.
    bytes: usize,
    /// Rows waiting, spilled or not.
    rows: usize,
}

impl Pending {
    /// The rows in arrival order: spilled ones first, read lazily.
    fn into_batches(self) -> Box<dyn Iterator<Item = Result<RecordBatch>> + Send> {
        let in_memory = self.batches.into_iter().map(Ok);
        match self.spilled.map(SpillFile::read_back) {
            None => Box::new(in_memory),
            Some(Ok(spilled)) => Box::new(spilled.chain(in_memory)),
            Some(Err(e)) => Box::new(std::iter::once(Err(e))),
        }
    }
}

/// Regroups batches of rows in any order into county-clustered row groups.
pub struct CountyClusterer {
    schema: SchemaRef,
    column: usize,
    rules: ClusterRules,
    keys: RowConverter,
    pending: BTreeMap<OwnedRow, Pending>,
    /// Every county key met so far (a few hundred at most).
    seen: BTreeSet<OwnedRow>,
    memory_bytes: usize,
    spill_place: SpillPlace,
    spill_files: u64,
}

impl CountyClusterer {
    pub fn new(
        schema: &SchemaRef,
        column_name: &str,
        rules: ClusterRules,
        spill_place: SpillPlace,
    ) -> Result<Self> {
        let column = schema
            .index_of(column_name)
            .map_err(|e| Error::arrow(format!("clustering by {column_name}"), e))?;
        let keys = RowConverter::new(vec![SortField::new(
            schema.field(column).data_type().clone(),
        )])
        .map_err(|e| Error::arrow(format!("clustering by {column_name}"), e))?;
        Ok(CountyClusterer {
            schema: schema.clone(),
            column,
            rules,
            keys,
            pending: BTreeMap::new(),
            seen: BTreeSet::new(),
            memory_bytes: 0,
            spill_place,
            spill_files: 0,
        })
    }

    /// Bytes of rows waiting in memory now.
    #[cfg(test)]
    fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }

    /// Spill files written so far.
    pub fn spill_files(&self) -> u64 {
        self.spill_files
    }

    /// The county codes met so far, ascending (null and non-numeric codes left out): the
    /// export records them, so a question about a county it does not hold costs no job.
    pub fn counties(&self) -> Result<Vec<i32>> {
        let keys = self
            .keys
            .convert_rows(self.seen.iter().map(OwnedRow::row))
            .map_err(|e| Error::arrow("listing the counties seen", e))?;
        let Some(column) = keys.first() else {
            return Ok(Vec::new());
        };
        let numbers = arrow::compute::cast(column, &arrow::datatypes::DataType::Int64)
            .map_err(|e| Error::arrow("county codes as numbers", e))?;
        let numbers = numbers.as_primitive::<arrow::datatypes::Int64Type>();
        let mut counties: Vec<i32> = numbers
            .iter()
            .flatten()
            .filter_map(|code| i32::try_from(code).ok())
            .collect();
        counties.sort_unstable();
        counties.dedup();
        Ok(counties)
    }

    /// Takes one batch; returns the row groups that became ready.
    pub fn push(&mut self, batch: &RecordBatch) -> Result<Vec<RowGroup>> {
        let mut ready = Vec::new();
        for (key, indices) in self.split_by_county(batch)? {
            let part = take_record_batch(batch, &UInt32Array::from(indices))
                .map_err(|e| Error::arrow("clustering rows by county", e))?;
            let bytes = part.get_array_memory_size();
            if !self.seen.contains(&key) {
                self.seen.insert(key.clone());
            }
            let pending = self.pending.entry(key.clone()).or_default();
            pending.rows += part.num_rows();
            pending.bytes += bytes;
            pending.batches.push(part);
            self.memory_bytes += bytes;
            if pending.rows >= self.rules.group_rows {
                ready.push(self.take_county(&key));
            }
        }
        if self.memory_bytes > self.rules.budget_bytes {
            while self.memory_bytes > self.rules.budget_bytes / 4 * 3 {
                let Some(largest) = self.largest_in_memory() else {
                    break;
                };
                self.spill(&largest)?;
            }
        }
        Ok(ready)
    }

    /// The rest, in county order, one group at a time (spilled rows are read back only
    /// when their group is next); neighbouring small counties share a row group.
    pub fn finish(mut self) -> impl Iterator<Item = RowGroup> {
        let mut plan: Vec<Vec<Pending>> = Vec::new();
        let mut mixed: Vec<Pending> = Vec::new();
        let mut mixed_rows = 0;
        for (_, pending) in std::mem::take(&mut self.pending) {
            if mixed_rows > 0 && mixed_rows + pending.rows > self.rules.mixed_rows {
                plan.push(std::mem::take(&mut mixed));
                mixed_rows = 0;
            }
            mixed_rows += pending.rows;
            mixed.push(pending);
        }
        if !mixed.is_empty() {
            plan.push(mixed);
        }
        plan.into_iter().map(|counties| RowGroup { counties })
    }

    /// Row indices of `batch` per county, in row order within each county.
    fn split_by_county(&self, batch: &RecordBatch) -> Result<Vec<(OwnedRow, Vec<u32>)>> {
        let column: ArrayRef = batch.column(self.column).clone();
        let rows = self
            .keys
            .convert_columns(&[column])
            .map_err(|e| Error::arrow("reading county keys", e))?;
        // A few dozen counties: a linear search with the last hit first beats hashing.
        let mut by_county: Vec<(OwnedRow, Vec<u32>)> = Vec::new();
        let mut last = 0;
        for (i, row) in rows.iter().enumerate() {
            let slot = match by_county.get(last) {
                Some((key, _)) if key.row() == row => last,
                _ => match by_county.iter().position(|(key, _)| key.row() == row) {
                    Some(slot) => slot,
                    None => {
                        by_county.push((row.owned(), Vec::new()));
                        by_county.len() - 1
                    }
                },
            };
            by_county[slot].1.push(i as u32);
            last = slot;
        }
        Ok(by_county)
    }

    fn largest_in_memory(&self) -> Option<OwnedRow> {
        self.pending
            .iter()
            .filter(|(_, p)| p.bytes > 0)
            .max_by_key(|(_, p)| p.bytes)
            .map(|(key, _)| key.clone())
    }

    /// Moves a county's rows in memory to the end of its spill file, as one batch.
    fn spill(&mut self, key: &OwnedRow) -> Result<()> {
        let Some(pending) = self.pending.get_mut(key) else {
            return Ok(());
        };
        let batch = concat_batches(&self.schema, &pending.batches)
            .map_err(|e| Error::arrow("joining a county's rows to spill them", e))?;
        let file = match &mut pending.spilled {
            Some(file) => file,
            None => {
                self.spill_files += 1;
                pending.spilled.insert(SpillFile::create(
                    &self.spill_place,
                    self.spill_files,
                    &self.schema,
                )?)
            }
        };
        file.append(&batch)?;
        self.memory_bytes -= pending.bytes;
        pending.bytes = 0;
        pending.batches.clear();
        Ok(())
    }

    fn take_county(&mut self, key: &OwnedRow) -> RowGroup {
        let pending = self.pending.remove(key).unwrap_or_default();
        self.memory_bytes -= pending.bytes;
        RowGroup {
            counties: vec![pending],
        }
    }
}

#[cfg(test)]
mod tests {
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
            let dir = std::env::temp_dir()
                .join(format!("lender-cluster-test-{}-{run}", std::process::id()));
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
}
