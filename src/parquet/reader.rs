//! Parquet's async reader over an HDFS file: ranged reads that go to the DataNodes in
//! parallel, near ranges coalesced into one read, and a footer that can be handed in.

use std::{ops::Range, sync::Arc};

use bytes::Bytes;
use futures::{FutureExt, future::BoxFuture};
use hdfs_native::file::FileReader;
use parquet::{
    arrow::{arrow_reader::ArrowReaderOptions, async_reader::AsyncFileReader},
    errors::ParquetError,
    file::metadata::{ParquetMetaData, ParquetMetaDataReader},
};

use super::writer::unwrap_external;
use crate::{
    error::{Error, Result},
    hdfs::Hdfs,
};

/// Opens a file and reads its Parquet footer (one ranged request in the common case).
/// The reader can be kept: it remembers DataNodes that failed it, so later reads go
/// straight to the other replica instead of waiting on a dead node again.
pub async fn open_parquet(
    hdfs: &Hdfs,
    path: &str,
) -> Result<(Arc<FileReader>, Arc<ParquetMetaData>)> {
    let reader = Arc::new(hdfs.open(path).await?);
    let mut parquet = ParquetFile::new(reader, path);
    let metadata = parquet
        .get_metadata(None)
        .await
        .map_err(|e| unwrap_external(e, || format!("reading footer of {path}")))?;
    Ok((parquet.reader, metadata))
}

fn external(path: &str, e: hdfs_native::HdfsError) -> ParquetError {
    ParquetError::External(Box::new(Error::hdfs(path.to_owned(), e)))
}

/// Parquet's async reader over an HDFS file. Ranged reads go to the DataNodes in parallel;
/// a footer already known (cached per export generation) saves the footer round trips.
pub struct ParquetFile {
    reader: Arc<FileReader>,
    path: String,
    metadata: Option<Arc<ParquetMetaData>>,
}

impl ParquetFile {
    pub fn new(reader: Arc<FileReader>, path: &str) -> Self {
        ParquetFile {
            reader,
            path: path.to_owned(),
            metadata: None,
        }
    }

    pub fn with_metadata(mut self, metadata: Arc<ParquetMetaData>) -> Self {
        self.metadata = Some(metadata);
        self
    }

    async fn range(&self, range: Range<u64>) -> parquet::errors::Result<Bytes> {
        // hdfs-native panics on a range past the end; a bad footer must give an error instead.
        let file_len = self.reader.file_length() as u64;
        if range.start > range.end || range.end > file_len {
            return Err(ParquetError::General(format!(
                "{}: byte range {range:?} is outside the file ({file_len} bytes)",
                self.path
            )));
        }
        let len = (range.end - range.start) as usize;
        self.reader
            .read_range(range.start as usize, len)
            .await
            .map_err(|e| external(&self.path, e))
    }
}

/// Ranges closer than this are fetched as one read: a row group's column chunks sit side by
/// side, and one DataNode request for all of them beats a hundred small ones.
const COALESCE_GAP: u64 = 256 * 1024;

/// Groups `ranges` into spans to read, merging ranges that overlap or lie within `gap` of
/// each other. Returns the spans in file order and, for each input range, the index of its span.
fn coalesce(ranges: &[Range<u64>], gap: u64) -> (Vec<Range<u64>>, Vec<usize>) {
    let mut order: Vec<usize> = (0..ranges.len()).collect();
    order.sort_by_key(|&i| ranges[i].start);
    let mut spans: Vec<Range<u64>> = Vec::new();
    let mut span_of = vec![0; ranges.len()];
    for i in order {
        let r = &ranges[i];
        match spans.last_mut() {
            Some(last) if r.start <= last.end.saturating_add(gap) => last.end = last.end.max(r.end),
            _ => spans.push(r.clone()),
        }
        span_of[i] = spans.len() - 1;
    }
    (spans, span_of)
}

/// Guess at the footer size: one read usually gets footer and page index together.
const FOOTER_PREFETCH: usize = 512 * 1024;

impl AsyncFileReader for ParquetFile {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move { self.range(range).await }.boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            let (spans, span_of) = coalesce(&ranges, COALESCE_GAP);
            let this = &*self;
            let data =
                futures::future::try_join_all(spans.iter().map(|span| this.range(span.clone())))
                    .await?;
            Ok(ranges
                .iter()
                .zip(span_of)
                .map(|(r, s)| {
                    data[s].slice(
                        (r.start - spans[s].start) as usize..(r.end - spans[s].start) as usize,
                    )
                })
                .collect())
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            if let Some(metadata) = &self.metadata {
                return Ok(metadata.clone());
            }
            let file_len = self.reader.file_length() as u64;
            let metadata = ParquetMetaDataReader::new()
                .with_prefetch_hint(Some(FOOTER_PREFETCH))
                .load_and_finish(&mut *self, file_len)
                .await?;
            let metadata = Arc::new(metadata);
            self.metadata = Some(metadata.clone());
            Ok(metadata)
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_ranges_share_a_span_and_far_ones_do_not() {
        let ranges = vec![500..600, 0..100, 150..200, 10_000..10_050];
        let (spans, span_of) = coalesce(&ranges, 100);
        assert_eq!(spans, vec![0..200, 500..600, 10_000..10_050]);
        assert_eq!(span_of, vec![1, 0, 0, 2]);
    }

    #[test]
    fn overlapping_and_nested_ranges_merge() {
        let ranges = vec![0..1000, 100..200, 900..1500, 1500..1500];
        let (spans, span_of) = coalesce(&ranges, 0);
        assert_eq!(spans, vec![0..1500]);
        assert_eq!(span_of, vec![0, 0, 0, 0]);
    }

    #[test]
    fn every_range_lies_inside_its_span() {
        let ranges: Vec<_> = (0..50u64)
            .map(|i| (i * 7919 % 1000) * 300..(i * 7919 % 1000) * 300 + 250)
            .collect();
        for gap in [0, 64, 1 << 20] {
            let (spans, span_of) = coalesce(&ranges, gap);
            assert!(
                spans.windows(2).all(|w| w[0].end + gap < w[1].start),
                "spans merged as far as the gap allows"
            );
            for (r, s) in ranges.iter().zip(&span_of) {
                assert!(spans[*s].start <= r.start && r.end <= spans[*s].end);
            }
        }
    }

    #[test]
    fn no_ranges_no_spans() {
        assert_eq!(coalesce(&[], 10), (vec![], vec![]));
    }
}
