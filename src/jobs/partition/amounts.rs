//! Reading a county file's loan amounts for a reuse.
//!
//! Why not the whole file: a county file holds every column of its rows, and CalcAvgLoan needs
//! one. On the largest county of the 1x data the loan_amount column is 39 KB of a 1.65 MB file
//! (24 KB of it footer). The first reuse of a file reads it whole and keeps its footer; later
//! reuses read only the amount column's byte ranges, which still go to the DataNode holding
//! them, so a dead or silent DataNode is still found by the read. Decoding the column is
//! [`crate::parquet`]'s; this module reads the bytes and keeps the footers.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use parquet::arrow::arrow_reader::ArrowReaderMetadata;

use crate::{
    error::Result,
    hdfs::Hdfs,
    loans::LoanSum,
    parquet::{amount_ranges, read_footer, sum_amount_ranges, sum_amounts},
    store::PartitionRecord,
    sync::lock,
};

/// Footers kept: more than an export's counties (72 in Wisconsin), so a full set stays
/// cached; each is a county file's decoded footer (24 KB on disk, a few times that in
/// memory), so this bounds them near 10 MB.
const FOOTERS_KEPT: usize = 128;

/// The footers of county files read before, per county, each with the file it belongs to.
#[derive(Default)]
pub(super) struct CountyFooters(Mutex<HashMap<i32, Footer>>);

/// A county file's footer and what identifies that file: a file re-created for a new
/// generation or after a loss is another file, whose footer is read anew.
#[derive(Clone)]
struct Footer {
    file: FileIdentity,
    metadata: ArrowReaderMetadata,
}

#[derive(Clone, PartialEq, Eq)]
struct FileIdentity {
    path: String,
    generation: u64,
    written_ms: u64,
    bytes: u64,
}

impl FileIdentity {
    fn of(record: &PartitionRecord) -> Self {
        FileIdentity {
            path: record.path.clone(),
            generation: record.generation,
            written_ms: record.written_ms,
            bytes: record.bytes,
        }
    }
}

impl CountyFooters {
    fn get(&self, record: &PartitionRecord) -> Option<ArrowReaderMetadata> {
        let file = FileIdentity::of(record);
        lock(&self.0)
            .get(&record.county)
            .filter(|footer| footer.file == file)
            .map(|footer| footer.metadata.clone())
    }

    fn keep(&self, record: &PartitionRecord, metadata: ArrowReaderMetadata) {
        let mut footers = lock(&self.0);
        if footers.len() >= FOOTERS_KEPT && !footers.contains_key(&record.county) {
            footers.clear();
        }
        let file = FileIdentity::of(record);
        footers.insert(record.county, Footer { file, metadata });
    }
}

/// The sum of the county file's loan amounts and its row count: from the amount column's
/// bytes alone when its footer is known and the file still has the length it had, from the
/// whole file otherwise. Each read is bounded by `stall`.
pub(super) async fn read_amounts(
    hdfs: &Hdfs,
    footers: &CountyFooters,
    record: &PartitionRecord,
    stall: Duration,
) -> Result<(LoanSum, u64)> {
    let path = &record.path;
    let file = hdfs.open_bounded(path, stall).await?;
    if let Some(metadata) = footers.get(record)
        && file.length() == record.bytes
    {
        let mut parts = Vec::new();
        for (offset, len) in amount_ranges(&metadata, path)? {
            parts.push((offset, file.read(offset, len).await?));
        }
        return sum_amount_ranges(file.length(), parts, metadata, path);
    }
    let bytes = file.read_all().await?;
    let metadata = read_footer(&bytes, path)?;
    footers.keep(record, metadata.clone());
    sum_amounts(bytes, metadata, path)
}
