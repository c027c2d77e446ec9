//! The spill file's format: a county's waiting rows (see the export job's spill module for
//! why they wait on disk), appended as segments and read back in order.
//!
//! Each spill is written as a small self-contained Parquet file (dictionary-encoded, not
//! compressed), appended to the county's spill file as a segment. At 1x nearly every row waits
//! on disk until the end of the export, so the spill's form sets the export's disk peak.
//! Dictionaries do what a general-purpose codec cannot on columns of a few codes: this form
//! takes about half the disk of compressed Arrow IPC for the same CPU (BENCHMARKS.md). One
//! segment per spill, closed at once, keeps no Parquet metadata in memory between spills.

use std::{
    collections::VecDeque,
    fs::File,
    io::{BufWriter, Read, Write},
    path::PathBuf,
};

use arrow::{datatypes::SchemaRef, record_batch::RecordBatch};
use bytes::Bytes;
use parquet::{
    arrow::{
        ArrowWriter,
        arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder},
    },
    basic::Compression,
    errors::ParquetError,
    file::properties::{EnabledStatistics, WriterProperties},
};

use crate::error::{Error, Result};

/// Rows per batch read back: what the encoder takes at a time.
const READ_BACK_ROWS: usize = 8192;

/// How a spill segment is encoded: dictionaries on, no compression, no statistics (nobody
/// reads a spill by range). See the module's comment for the figures behind the choice.
fn spill_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::UNCOMPRESSED)
        .set_dictionary_enabled(true)
        .set_statistics_enabled(EnabledStatistics::None)
        .build()
}

/// One county's rows on disk, in the order they were appended; removed when dropped.
pub(crate) struct SpillFile {
    path: PathBuf,
    schema: SchemaRef,
    file: BufWriter<File>,
    /// The byte length of every segment (one per append), in order.
    segments: VecDeque<usize>,
}

impl SpillFile {
    /// Creates a spill file at `path` for rows of `schema`.
    pub(crate) fn create(path: PathBuf, schema: &SchemaRef) -> Result<Self> {
        let file = File::create(&path).map_err(|e| spill_error("creating", &path, e))?;
        Ok(SpillFile {
            path,
            schema: schema.clone(),
            file: BufWriter::new(file),
            segments: VecDeque::new(),
        })
    }

    /// Appends `batch` as one more segment.
    pub(crate) fn append(&mut self, batch: &RecordBatch) -> Result<()> {
        let segment = encode_segment(&self.schema, batch)
            .map_err(|e| parquet_error("writing", &self.path, e))?;
        self.file
            .write_all(&segment)
            .map_err(|e| spill_error("writing", &self.path, e))?;
        self.segments.push_back(segment.len());
        Ok(())
    }

    /// Reads back every batch appended, in order, one segment at a time. The file's name is
    /// removed now; the open reader keeps its data until the last batch is read.
    pub(crate) fn read_back(mut self) -> Result<SpillReader> {
        self.file
            .flush()
            .map_err(|e| spill_error("flushing", &self.path, e))?;
        let file = File::open(&self.path).map_err(|e| spill_error("opening", &self.path, e))?;
        Ok(SpillReader {
            path: self.path.clone(),
            schema: self.schema.clone(),
            file,
            segments: std::mem::take(&mut self.segments),
            current: None,
        })
    }
}

/// `batch` as a complete Parquet file in memory: a spill's rows, a few MiB at most.
fn encode_segment(
    schema: &SchemaRef,
    batch: &RecordBatch,
) -> std::result::Result<Vec<u8>, ParquetError> {
    let mut writer = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(spill_properties()))?;
    writer.write(batch)?;
    writer.into_inner()
}

/// A spill file's batches, read back in order.
pub(crate) struct SpillReader {
    path: PathBuf,
    schema: SchemaRef,
    file: File,
    segments: VecDeque<usize>,
    current: Option<ParquetRecordBatchReader>,
}

impl SpillReader {
    /// Opens the next segment, or `None` after the last one.
    fn next_segment(&mut self) -> Option<Result<ParquetRecordBatchReader>> {
        let len = self.segments.pop_front()?;
        let mut bytes = vec![0; len];
        if let Err(e) = self.file.read_exact(&mut bytes) {
            return Some(Err(spill_error("reading back", &self.path, e)));
        }
        let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes))
            .and_then(|builder| builder.with_batch_size(READ_BACK_ROWS).build())
            .map_err(|e| parquet_error("reading back", &self.path, e));
        Some(reader)
    }

    /// A batch read back, under the exact schema it was spilled with (a Parquet round trip
    /// may differ in metadata, which the export's writer would refuse).
    fn restore(&self, batch: RecordBatch) -> Result<RecordBatch> {
        RecordBatch::try_new(self.schema.clone(), batch.columns().to_vec())
            .map_err(|e| Error::arrow(self.reading_back(), e))
    }

    fn reading_back(&self) -> String {
        format!("reading back the spill file {}", self.path.display())
    }
}

impl Iterator for SpillReader {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(reader) = &mut self.current {
                match reader.next() {
                    Some(Ok(batch)) => return Some(self.restore(batch)),
                    Some(Err(e)) => {
                        return Some(Err(Error::arrow(self.reading_back(), e)));
                    }
                    None => self.current = None,
                }
            }
            match self.next_segment()? {
                Ok(reader) => self.current = Some(reader),
                Err(e) => return Some(Err(e)),
            }
        }
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
    Error::spool(format!("{what} the spill file {}", path.display()), e)
}

fn parquet_error(what: &str, path: &std::path::Path, e: ParquetError) -> Error {
    Error::parquet(format!("{what} the spill file {}", path.display()), e)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::{
        array::{ArrayRef, Float64Array, Int32Array, StringArray},
        datatypes::{DataType, Field, Schema},
    };

    use super::*;

    /// A directory of its own, removed afterwards.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir()
                .join(format!("lender-spill-test-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Rows shaped like the loans export: mostly small integer codes (some null), short
    /// strings from small vocabularies, a census tract, a lender id and two amounts.
    fn loans_like(rows: usize, seed: u64) -> RecordBatch {
        let mut x = seed;
        let mut next = move |n: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % n
        };
        let mut fields = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        for c in 0..60u64 {
            let values: Vec<Option<i32>> = (0..rows)
                .map(|_| (next(10) >= c % 4).then(|| next(2 + c % 9) as i32))
                .collect();
            fields.push(Field::new(format!("code_{c}"), DataType::Int32, true));
            columns.push(Arc::new(Int32Array::from(values)));
        }
        let vocab = [
            "NA",
            "Exempt",
            "20%-<30%",
            "35-44",
            "360",
            "1",
            "Sex Not Available",
        ];
        for c in 0..32u64 {
            let distinct = if c < 8 { 2000 } else { vocab.len() as u64 };
            let values: Vec<Option<String>> = (0..rows)
                .map(|_| {
                    let v = next(distinct);
                    (next(10) > 0).then(|| match vocab.get(v as usize) {
                        Some(word) if c >= 8 => (*word).to_owned(),
                        _ => format!("{}.{:03}", 2 + v / 400, v % 1000),
                    })
                })
                .collect();
            fields.push(Field::new(format!("text_{c}"), DataType::Utf8, true));
            columns.push(Arc::new(StringArray::from(values)));
        }
        let tract: Vec<String> = (0..rows)
            .map(|_| format!("55{:03}{:06}", next(72), next(1500)))
            .collect();
        let lei: Vec<String> = (0..rows)
            .map(|_| format!("549300{:014}", next(600) * 7919))
            .collect();
        let amount: Vec<f64> = (0..rows)
            .map(|_| (next(80) * 10_000 + 5_000) as f64)
            .collect();
        let income: Vec<Option<f64>> = (0..rows)
            .map(|_| (next(8) > 0).then(|| next(400) as f64))
            .collect();
        fields.push(Field::new("census_tract", DataType::Utf8, false));
        columns.push(Arc::new(StringArray::from(tract)));
        fields.push(Field::new("lei", DataType::Utf8, false));
        columns.push(Arc::new(StringArray::from(lei)));
        fields.push(Field::new("loan_amount", DataType::Float64, false));
        columns.push(Arc::new(Float64Array::from(amount)));
        fields.push(Field::new("income", DataType::Float64, true));
        columns.push(Arc::new(Float64Array::from(income)));
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
    }

    #[test]
    fn spill_files_give_back_every_row_exactly_in_a_fraction_of_the_bytes() {
        let scratch = Scratch::new("segments");
        let batches: Vec<RecordBatch> = (0..6)
            .map(|i| loans_like(4096 + 77 * i as usize, i + 1))
            .collect();
        let schema = batches[0].schema();
        let arrow_bytes: usize = batches.iter().map(|b| b.get_array_memory_size()).sum();
        let path = scratch.0.join("1.spill.parquet");
        let mut file = SpillFile::create(path.clone(), &schema).unwrap();
        for batch in &batches {
            file.append(batch).unwrap();
        }
        file.file.flush().unwrap();
        let spilled = std::fs::metadata(&path).unwrap().len() as usize;
        let back: Vec<RecordBatch> = file.read_back().unwrap().map(|b| b.unwrap()).collect();
        let expected = arrow::compute::concat_batches(&schema, &batches).unwrap();
        let got = arrow::compute::concat_batches(&schema, &back).unwrap();
        assert_eq!(
            got, expected,
            "rows changed on their way through the spill file"
        );
        assert!(back.iter().all(|b| b.schema() == schema));
        println!("spill: {arrow_bytes} bytes of Arrow -> {spilled} bytes on disk");
        // Random synthetic values compress less than the real rows (8% there).
        assert!(
            spilled * 3 < arrow_bytes,
            "spill file not under a third of the Arrow bytes: {spilled} of {arrow_bytes}"
        );
        assert!(!path.exists(), "read back leaves no name behind");
    }
}
