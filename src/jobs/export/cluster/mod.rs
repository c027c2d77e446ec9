//! Clustering the export by county without asking MySQL to sort.
//!
//! With `ORDER BY`, MariaDB sorts the whole result before it sends the first row, so the
//! export would wait on the sort. The rows arrive in table order instead, and this module
//! regroups them so that every Parquet row group holds one county, or a few small counties
//! next to each other, which is what lets `CalcAvgLoan` read only a county's row groups (by
//! their min/max statistics).
//!
//! Rows wait per county until their group is due; memory stays flat whatever the data size:
//! * a county with `group_rows` rows waiting becomes a row group of its own;
//! * over the memory budget, the counties holding the most bytes in memory move their
//!   waiting rows to a spill file on local disk ([`super::spill`]) until memory is back to
//!   three quarters of the budget; their rows still count towards their group;
//! * at the end, what is left goes out in county order, one group at a time, neighbours
//!   sharing a row group up to `mixed_rows` rows. Those mixed groups cover disjoint county
//!   ranges, so a county's read touches its own groups and at most one mixed group.

use std::collections::BTreeMap;

use arrow::{
    array::{ArrayRef, UInt32Array},
    compute::{concat_batches, take_record_batch},
    datatypes::SchemaRef,
    record_batch::RecordBatch,
    row::{OwnedRow, RowConverter, SortField},
};

use super::spill::SpillPlace;
use crate::{
    error::{Error, Result},
    parquet::SpillFile,
};

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

    /// Takes one batch; returns the row groups that became ready.
    pub fn push(&mut self, batch: &RecordBatch) -> Result<Vec<RowGroup>> {
        let mut ready = Vec::new();
        for (key, indices) in self.split_by_county(batch)? {
            let part = take_record_batch(batch, &UInt32Array::from(indices))
                .map_err(|e| Error::arrow("clustering rows by county", e))?;
            let bytes = part.get_array_memory_size();
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
                pending
                    .spilled
                    .insert(self.spill_place.create(self.spill_files, &self.schema)?)
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
mod tests;
