//! Summing a Parquet file's loan_amount column, decoding that column only: from the whole
//! file, or from that column's byte ranges alone once the file's footer is known.
//!
//! Why the ranges: a county file holds every column of its rows, and CalcAvgLoan needs one.
//! Reading only those ranges needs the footer from an earlier read; which footer to trust
//! for which file is the partition job's.

use bytes::Bytes;
use parquet::{
    arrow::{
        ProjectionMask,
        arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder},
    },
    errors::ParquetError,
    file::reader::{ChunkReader, Length},
};

use crate::{
    error::{Error, Result},
    loans::{AMOUNT_COLUMN, LoanSum},
};

/// The footer of a whole file's bytes, decoded.
pub(crate) fn read_footer(bytes: &Bytes, path: &str) -> Result<ArrowReaderMetadata> {
    ArrowReaderMetadata::load(bytes, ArrowReaderOptions::new())
        .map_err(|e| Error::parquet(format!("decoding {path}"), e))
}

/// [`sum_amounts`] over the amount column's byte ranges alone: `parts` are the ranges of
/// [`amount_ranges`] read at their offsets, `len` the file's length.
pub(crate) fn sum_amount_ranges(
    len: u64,
    parts: Vec<(u64, Bytes)>,
    metadata: ArrowReaderMetadata,
    path: &str,
) -> Result<(LoanSum, u64)> {
    sum_amounts(Ranges { len, parts }, metadata, path)
}

/// The byte ranges (offset, length) of the amount column in each row group.
pub(crate) fn amount_ranges(metadata: &ArrowReaderMetadata, path: &str) -> Result<Vec<(u64, u64)>> {
    let column = amount_column(metadata, path)?;
    Ok(metadata
        .metadata()
        .row_groups()
        .iter()
        .map(|group| group.column(column).byte_range())
        .collect())
}

/// The index of the amount column among the file's leaf columns.
fn amount_column(metadata: &ArrowReaderMetadata, path: &str) -> Result<usize> {
    let schema = metadata.metadata().file_metadata().schema_descr();
    (0..schema.num_columns())
        .find(|&i| schema.column(i).name() == AMOUNT_COLUMN)
        .ok_or_else(|| Error::BadData(format!("{path} has no {AMOUNT_COLUMN} column")))
}

/// Sums loan_amount over a county file's rows (decoding that column only); also returns
/// the file's row count.
pub(crate) fn sum_amounts<R: ChunkReader + 'static>(
    input: R,
    metadata: ArrowReaderMetadata,
    path: &str,
) -> Result<(LoanSum, u64)> {
    let perr = |e| Error::parquet(format!("decoding {path}"), e);
    let rows = metadata.metadata().file_metadata().num_rows().max(0) as u64;
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(input, metadata);
    let amount_only = ProjectionMask::columns(builder.parquet_schema(), [AMOUNT_COLUMN]);
    let reader = builder
        .with_projection(amount_only)
        .with_batch_size(64 * 1024)
        .build()
        .map_err(perr)?;
    let mut sum = LoanSum::default();
    for batch in reader {
        let batch = batch.map_err(|e| Error::arrow(format!("decoding {path}"), e))?;
        let amounts = batch
            .column_by_name(AMOUNT_COLUMN)
            .ok_or_else(|| Error::BadData(format!("{path} has no {AMOUNT_COLUMN} column")))?;
        sum.add(amounts)?;
    }
    Ok((sum, rows))
}

/// Parts of a file read at their offsets: what the Parquet reader asks for must lie
/// within one of them.
struct Ranges {
    len: u64,
    parts: Vec<(u64, Bytes)>,
}

impl Ranges {
    fn slice(&self, start: u64, length: Option<usize>) -> parquet::errors::Result<Bytes> {
        self.parts
            .iter()
            .find_map(|(offset, part)| {
                let from = usize::try_from(start.checked_sub(*offset)?).ok()?;
                let to = match length {
                    Some(length) => from.checked_add(length)?,
                    None => part.len(),
                };
                (from <= to && to <= part.len()).then(|| part.slice(from..to))
            })
            .ok_or_else(|| {
                ParquetError::General(format!(
                    "bytes {start}..+{length:?} were not read (only the {AMOUNT_COLUMN} column is)"
                ))
            })
    }
}

impl Length for Ranges {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for Ranges {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        use bytes::Buf;
        Ok(self.slice(start, None)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.slice(start, Some(length))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::{
        array::{Float64Array, Int32Array, StringArray},
        datatypes::{DataType, Field, Schema},
        record_batch::RecordBatch,
    };
    use parquet::arrow::ArrowWriter;

    use super::*;

    /// A county-file-like Parquet file: text and codes around the amount column, two row
    /// groups, some amounts null.
    /// The file, the average of its amounts (whole dollars, rounded down) and its rows.
    fn county_file() -> (Bytes, i64, u64) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("county_code", DataType::Int32, false),
            Field::new("lei", DataType::Utf8, false),
            Field::new(AMOUNT_COLUMN, DataType::Float64, true),
            Field::new("income", DataType::Float64, true),
        ]));
        let rows = 3000;
        let amounts: Vec<Option<f64>> = (0..rows)
            .map(|i| (i % 7 != 0).then_some(5_000.0 + (i * 10_000 % 790_000) as f64))
            .collect();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int32Array::from(vec![55001; rows])),
                Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|i| format!("lei-{i:06}")),
                )),
                Arc::new(Float64Array::from(amounts.clone())),
                Arc::new(Float64Array::from_iter_values((0..rows).map(|i| i as f64))),
            ],
        )
        .unwrap();
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(2000))
            .build();
        let mut file = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut file, schema, Some(props)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let present: Vec<f64> = amounts.iter().flatten().copied().collect();
        let average = present.iter().sum::<f64>() / present.len() as f64;
        (Bytes::from(file), average.floor() as i64, rows as u64)
    }

    #[test]
    fn the_amount_ranges_alone_give_the_same_sum_as_the_whole_file() {
        let (file, average, rows) = county_file();
        let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).unwrap();
        let (whole, whole_rows) = sum_amounts(file.clone(), metadata.clone(), "test").unwrap();
        let ranges = amount_ranges(&metadata, "test").unwrap();
        assert_eq!(ranges.len(), 2, "one range per row group");
        let read: u64 = ranges.iter().map(|(_, len)| len).sum();
        assert!(
            read * 4 < file.len() as u64,
            "{read} of {} bytes",
            file.len()
        );
        let parts = Ranges {
            len: file.len() as u64,
            parts: ranges
                .iter()
                .map(|&(offset, len)| {
                    (offset, file.slice(offset as usize..(offset + len) as usize))
                })
                .collect(),
        };
        let (partial, partial_rows) = sum_amounts(parts, metadata, "test").unwrap();
        assert_eq!(whole_rows, rows);
        assert_eq!(partial_rows, rows);
        assert_eq!(whole.average(), Some(average));
        assert_eq!(partial.average(), Some(average));
        assert_eq!(whole.count(), partial.count());
    }

    #[test]
    fn a_byte_outside_the_parts_read_is_an_error_not_a_guess() {
        let (file, _, _) = county_file();
        let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).unwrap();
        // Only the first row group's amount range: the second one's is missing.
        let (offset, len) = amount_ranges(&metadata, "test").unwrap()[0];
        let parts = Ranges {
            len: file.len() as u64,
            parts: vec![(offset, file.slice(offset as usize..(offset + len) as usize))],
        };
        let error = sum_amounts(parts, metadata, "/partitions/55001.parquet")
            .expect_err("a missing range must fail")
            .to_string();
        assert!(error.contains("/partitions/55001.parquet"), "{error}");
        assert!(error.contains("were not read"), "{error}");
    }
}
