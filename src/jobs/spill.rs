//! Rows that wait for their county's row group on local disk, not in memory.
//!
//! Why: rows arrive in table order, so a county's rows trickle in over the whole export.
//! Holding 32k rows of every county in memory would hold more than the whole file; cutting
//! small row groups instead (the memory-only way) made the file a third larger and the
//! Parquet writer's metadata, kept until the file closes, grow with the data. A county's
//! waiting rows go to a spill file next to the export's spool (Arrow IPC: written and read
//! back without encoding, mostly from the page cache) and come back when its group is due.

use std::{
    fs::File,
    io::{BufReader, BufWriter, Write},
    path::PathBuf,
};

use arrow::{
    datatypes::SchemaRef,
    ipc::{reader::StreamReader, writer::StreamWriter},
    record_batch::RecordBatch,
};

use crate::error::{Error, Result};

/// Where spill files go: a directory and a name prefix unique to one export attempt, so
/// that [`crate::spool::Spool::clean_dir`] removes what a crashed process left.
#[derive(Debug, Clone)]
pub struct SpillPlace {
    pub dir: PathBuf,
    pub prefix: String,
}

impl SpillPlace {
    fn path(&self, n: u64) -> PathBuf {
        self.dir.join(format!("{}.spill-{n}.arrows", self.prefix))
    }
}

/// One county's rows on disk, in the order they were appended; removed when dropped.
pub struct SpillFile {
    path: PathBuf,
    writer: StreamWriter<BufWriter<File>>,
}

impl SpillFile {
    /// Creates the `n`th spill file of `place`.
    pub fn create(place: &SpillPlace, n: u64, schema: &SchemaRef) -> Result<Self> {
        let path = place.path(n);
        let file = File::create(&path).map_err(|e| spill_error("creating", &path, e))?;
        let writer = StreamWriter::try_new(BufWriter::new(file), schema)
            .map_err(|e| Error::arrow(format!("starting the spill file {}", path.display()), e))?;
        Ok(SpillFile { path, writer })
    }

    pub fn append(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer
            .write(batch)
            .map_err(|e| Error::arrow(format!("writing the spill file {}", self.path.display()), e))
    }

    /// Reads back every batch appended, in order, one at a time. The file's name is removed
    /// now; the open reader keeps its data until the last batch is read.
    pub fn read_back(mut self) -> Result<SpillReader> {
        let context = |what: &str| format!("{what} the spill file {}", self.path.display());
        self.writer
            .finish()
            .map_err(|e| Error::arrow(context("finishing"), e))?;
        self.writer
            .get_mut()
            .flush()
            .map_err(|e| spill_error("flushing", &self.path, e))?;
        let file = File::open(&self.path).map_err(|e| spill_error("opening", &self.path, e))?;
        let batches = StreamReader::try_new(BufReader::new(file), None)
            .map_err(|e| read_back_error(&self.path, e))?;
        Ok(SpillReader {
            path: self.path.clone(),
            batches,
        })
    }
}

/// A spill file's batches, read back in order.
pub struct SpillReader {
    path: PathBuf,
    batches: StreamReader<BufReader<File>>,
}

impl Iterator for SpillReader {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.batches.next()?;
        Some(next.map_err(|e| read_back_error(&self.path, e)))
    }
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "could not remove a spill file");
        }
    }
}

fn spill_error(what: &str, path: &std::path::Path, e: std::io::Error) -> Error {
    Error::Spool(format!("{what} the spill file {}: {e}", path.display()))
}

fn read_back_error(path: &std::path::Path, e: arrow::error::ArrowError) -> Error {
    Error::arrow(format!("reading back the spill file {}", path.display()), e)
}
