//! All HDFS and Parquet I/O: one client, timeouts that bound how long a dead DataNode can
//! stall a call, Parquet readers and writers over HDFS files, and atomic publication
//! (write a temporary file, then rename it over the final path).

use std::{ops::Range, sync::Arc, time::Duration};

use arrow::{datatypes::SchemaRef, record_batch::RecordBatch};
use bytes::Bytes;
use futures::{FutureExt, future::BoxFuture};
use hdfs_native::{Client, ClientBuilder, client::FileStatus, file::FileReader};
use parquet::{
    arrow::{
        ArrowWriter,
        arrow_reader::ArrowReaderOptions,
        arrow_writer::{ArrowColumnChunk, ArrowColumnWriter, compute_leaves},
        async_reader::AsyncFileReader,
    },
    errors::ParquetError,
    file::{
        metadata::{ParquetMetaData, ParquetMetaDataReader},
        properties::WriterProperties,
    },
};

use crate::{
    config::{BLOCK_SIZE, Config, TMP_DIR},
    error::{Error, Result},
};

/// Shared HDFS client. Cheap to clone.
#[derive(Clone)]
pub struct Hdfs {
    client: Arc<Client>,
}

/// What a finished write produced.
#[derive(Debug, Clone, Copy, Default)]
pub struct Written {
    pub rows: u64,
    pub bytes: u64,
}

impl Hdfs {
    /// Connects as `config.hdfs_user`, the user WebHDFS requests name too: left alone,
    /// hdfs-native would run as `HADOOP_USER_NAME` or the process's login user, and files
    /// one path writes could then be unreadable or unremovable by the other.
    pub fn connect(config: &Config) -> Result<Self> {
        let timeout_ms = config.datanode_timeout.as_millis().to_string();
        let client = ClientBuilder::new()
            .with_url(config.hdfs_url.as_str())
            .with_user(config.hdfs_user.as_str())
            .with_config([
                // hdfs-native waits 60 s per replica by default; a dead node must cost far less.
                ("dfs.client.socket-timeout", timeout_ms.as_str()),
                // NameNode RPC: fail fast when the NameNode is down instead of retrying for minutes.
                ("ipc.client.connect.max.retries", "1"),
                ("ipc.client.connect.timeout", "3000"),
            ])
            .build()
            .map_err(|e| {
                Error::hdfs(
                    format!("connecting to {} as {}", config.hdfs_url, config.hdfs_user),
                    e,
                )
            })?;
        Ok(Hdfs {
            client: Arc::new(client),
        })
    }

    /// File status, or `None` when the path does not exist.
    pub async fn stat(&self, path: &str) -> Result<Option<FileStatus>> {
        match namenode(format!("stat {path}"), self.client.get_file_info(path)).await? {
            Ok(status) => Ok(Some(status)),
            Err(hdfs_native::HdfsError::FileNotFound(_)) => Ok(None),
            Err(e) => Err(Error::hdfs(format!("stat {path}"), e)),
        }
    }

    pub async fn open(&self, path: &str) -> Result<FileReader> {
        namenode(format!("opening {path}"), self.client.read(path))
            .await?
            .map_err(|e| Error::hdfs(format!("opening {path}"), e))
    }

    /// Reads a whole file, a block at a time, each read bounded by `stall`: a healthy
    /// DataNode sends a block in milliseconds, a silent one is given up on after `stall`
    /// however large the file. A file of one block is one request, as before. Opening it
    /// (a NameNode call) is bounded by `stall` too: a caller that asks the NameNode again
    /// after a failure must not spend two NameNode timeouts.
    pub async fn read_all(&self, path: &str, stall: Duration) -> Result<Bytes> {
        let reader = bounded(format!("opening {path}"), stall, self.open(path)).await?;
        let len = reader.file_length();
        let chunk = BLOCK_SIZE as usize;
        // Only a file of several blocks needs a buffer to join them in.
        let mut whole = bytes::BytesMut::new();
        let mut offset = 0;
        loop {
            let want = chunk.min(len - offset);
            let what = || format!("reading {path} at byte {offset} of {len}");
            let part = bounded(what(), stall, async {
                reader
                    .read_range(offset, want)
                    .await
                    .map_err(|e| Error::hdfs(what(), e))
            })
            .await?;
            if want == len {
                return Ok(part);
            }
            if whole.is_empty() {
                whole.reserve(len);
            }
            whole.extend_from_slice(&part);
            offset += want;
            if offset >= len {
                return Ok(whole.freeze());
            }
        }
    }

    pub async fn delete(&self, path: &str) -> Result<bool> {
        namenode(format!("deleting {path}"), self.client.delete(path, true))
            .await?
            .map_err(|e| Error::hdfs(format!("deleting {path}"), e))
    }

    /// Removes leftovers of writes that never finished: temporary files older than
    /// `started_ms` (when this process started) belong to a previous, stopped process.
    pub async fn clean_temporaries(&self, started_ms: u64) -> Result<usize> {
        let entries = match namenode(
            format!("listing {TMP_DIR}"),
            self.client.list_status(TMP_DIR, false),
        )
        .await?
        {
            Ok(entries) => entries,
            Err(hdfs_native::HdfsError::FileNotFound(_)) => return Ok(0),
            Err(e) => return Err(Error::hdfs(format!("listing {TMP_DIR}"), e)),
        };
        let stale: Vec<_> = entries
            .iter()
            .filter(|e| e.modification_time < started_ms)
            .collect();
        for entry in &stale {
            self.delete(&entry.path).await?;
        }
        Ok(stale.len())
    }

    /// Renames a complete temporary file over its final path (creating the directory).
    pub async fn rename_into_place(&self, tmp: &str, path: &str) -> Result<()> {
        if let Some(parent) = path
            .rsplit_once('/')
            .map(|(dir, _)| dir)
            .filter(|d| !d.is_empty())
        {
            namenode(
                format!("creating directory {parent}"),
                self.client.mkdirs(parent, 0o755, true),
            )
            .await?
            .map_err(|e| Error::hdfs(format!("creating directory {parent}"), e))?;
        }
        namenode(
            format!("renaming {tmp} to {path}"),
            self.client.rename(tmp, path, true),
        )
        .await?
        .map_err(|e| Error::hdfs(format!("renaming {tmp} to {path}"), e))
    }

    /// Sets the replication of the (complete) file `path`. The NameNode records it at once
    /// (the file's status reports it) and copies or drops replicas in the background.
    pub async fn set_replication(&self, path: &str, replication: u32) -> Result<()> {
        let what = || format!("setting replication {replication} on {path}");
        let changed = namenode(what(), self.client.set_replication(path, replication))
            .await?
            .map_err(|e| Error::hdfs(what(), e))?;
        if changed {
            Ok(())
        } else {
            Err(Error::Unavailable(format!(
                "{}: the NameNode has no such file",
                what()
            )))
        }
    }

    pub async fn remove_quietly(&self, path: &str) {
        if let Err(e) = self.client.delete(path, false).await {
            tracing::warn!(path, error = %e, "could not remove temporary file");
        }
    }

    /// Opens a file and reads its Parquet footer (one ranged request in the common case).
    /// The reader can be kept: it remembers DataNodes that failed it, so later reads go
    /// straight to the other replica instead of waiting on a dead node again.
    pub async fn open_parquet(
        &self,
        path: &str,
    ) -> Result<(Arc<FileReader>, Arc<ParquetMetaData>)> {
        let reader = Arc::new(self.open(path).await?);
        let mut parquet = ParquetFile::new(reader, path);
        let metadata = parquet
            .get_metadata(None)
            .await
            .map_err(|e| unwrap_external(e, || format!("reading footer of {path}")))?;
        Ok((parquet.reader, metadata))
    }
}

/// Encodes `groups` as Parquet into `sink` (`what` names it in errors) and closes it.
/// Each item becomes exactly one row group, so the caller decides the layout; a group's
/// batches are taken one at a time, so a group is never whole in memory.
///
/// A group's columns are encoded on several threads (column `i` on thread `i % threads`)
/// while this thread fetches the next batch: encoding is the export's largest CPU cost,
/// and once MySQL has sent its last row the groups still waiting to be written are the
/// only work left for every core. Blocking: run it off the async runtime.
pub fn write_parquet<W, G>(
    sink: W,
    what: &str,
    schema: SchemaRef,
    props: WriterProperties,
    groups: impl Iterator<Item = Result<G>>,
) -> Result<Written>
where
    W: std::io::Write + Send,
    G: IntoIterator<Item = Result<RecordBatch>>,
{
    let parquet_err = |e| unwrap_external(e, || format!("writing {what}"));
    let (mut file, factory) = ArrowWriter::try_new(sink, schema.clone(), Some(props))
        .and_then(ArrowWriter::into_serialized_writer)
        .map_err(|e| Error::parquet(format!("starting {what}"), e))?;
    let threads = encode_threads();
    let leaves = leaf_counts(&schema)?;
    let mut rows = 0u64;
    for (index, group) in groups.enumerate() {
        let writers = factory.create_column_writers(index).map_err(parquet_err)?;
        let (chunks, group_rows) =
            encode_columns(&schema, &leaves, writers, group?.into_iter(), threads, what)?;
        rows += group_rows;
        let mut row_group = file.next_row_group().map_err(parquet_err)?;
        for chunk in chunks {
            chunk
                .append_to_row_group(&mut row_group)
                .map_err(parquet_err)?;
        }
        row_group.close().map_err(parquet_err)?;
    }
    let bytes = file.bytes_written() as u64;
    file.close()
        .map_err(|e| unwrap_external(e, || format!("closing {what}")))?;
    Ok(Written { rows, bytes })
}

/// Threads that encode a row group's columns: the cores there are, at most four.
fn encode_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// One field's leaf column writers (one per Parquet leaf; one for a flat field).
type FieldWriters = (usize, Vec<ArrowColumnWriter>);

/// One field's encoded leaf columns.
type FieldChunks = (usize, Vec<ArrowColumnChunk>);

/// Encodes one row group's `batches` into column chunks, in the schema's leaf order, on
/// `threads` threads; returns them with the group's row count. Each thread gets every batch
/// (a cheap shared copy) through a one-slot channel: one batch is encoded while the next
/// is fetched, and no more than that waits.
fn encode_columns(
    schema: &SchemaRef,
    leaves: &[usize],
    writers: Vec<ArrowColumnWriter>,
    batches: impl Iterator<Item = Result<RecordBatch>>,
    threads: usize,
    what: &str,
) -> Result<(Vec<ArrowColumnChunk>, u64)> {
    let mut shares: Vec<Vec<FieldWriters>> = (0..threads).map(|_| Vec::new()).collect();
    let mut writers = writers.into_iter();
    for (index, leaves) in leaves.iter().enumerate() {
        shares[index % threads].push((index, writers.by_ref().take(*leaves).collect()));
    }
    let (fed, encoded) = std::thread::scope(|scope| {
        let mut feeds = Vec::new();
        let mut encoders = Vec::new();
        for share in shares {
            let (feed, batches) = std::sync::mpsc::sync_channel::<RecordBatch>(1);
            feeds.push(feed);
            encoders.push(scope.spawn(move || encode_fields(schema, share, batches, what)));
        }
        let fed = feed_batches(batches, &feeds);
        drop(feeds); // the encoders see the end of the group
        let encoded: Vec<Result<Vec<FieldChunks>>> = encoders
            .into_iter()
            .map(|encoder| {
                encoder.join().unwrap_or_else(|_| {
                    Err(Error::Unavailable(format!(
                        "encoding {what}: an encoding thread panicked"
                    )))
                })
            })
            .collect();
        (fed, encoded)
    });
    let mut by_field = Vec::new();
    for share in encoded {
        by_field.extend(share?);
    }
    let rows = fed?;
    by_field.sort_by_key(|(index, _)| *index);
    let chunks = by_field
        .into_iter()
        .flat_map(|(_, chunks)| chunks)
        .collect();
    Ok((chunks, rows))
}

/// Sends every batch to every encoder; the rows sent, or the batch source's error. Stops
/// early when an encoder gave up (its own error is the one reported).
fn feed_batches(
    batches: impl Iterator<Item = Result<RecordBatch>>,
    feeds: &[std::sync::mpsc::SyncSender<RecordBatch>],
) -> Result<u64> {
    let mut rows = 0u64;
    for batch in batches {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        if !feeds.iter().all(|feed| feed.send(batch.clone()).is_ok()) {
            break;
        }
    }
    Ok(rows)
}

/// Encodes every batch received into `share`'s column writers, then closes them.
fn encode_fields(
    schema: &SchemaRef,
    mut share: Vec<FieldWriters>,
    batches: std::sync::mpsc::Receiver<RecordBatch>,
    what: &str,
) -> Result<Vec<FieldChunks>> {
    let err = |e| unwrap_external(e, || format!("encoding {what}"));
    for batch in batches {
        for (index, writers) in share.iter_mut() {
            let leaves = compute_leaves(schema.field(*index), batch.column(*index)).map_err(err)?;
            for (leaf, writer) in leaves.iter().zip(writers.iter_mut()) {
                writer.write(leaf).map_err(err)?;
            }
        }
    }
    share
        .into_iter()
        .map(|(index, writers)| {
            let chunks = writers
                .into_iter()
                .map(|w| w.close())
                .collect::<parquet::errors::Result<Vec<_>>>()
                .map_err(err)?;
            Ok((index, chunks))
        })
        .collect()
}

/// How many Parquet leaf columns each field of `schema` becomes.
fn leaf_counts(schema: &SchemaRef) -> Result<Vec<usize>> {
    schema.fields().iter().map(|f| leaf_count(f)).collect()
}

/// How many Parquet leaf columns an Arrow field becomes.
fn leaf_count(field: &arrow::datatypes::Field) -> Result<usize> {
    let empty = arrow::array::new_empty_array(field.data_type());
    compute_leaves(field, &empty)
        .map(|leaves| leaves.len())
        .map_err(|e| Error::parquet(format!("the Parquet columns of {}", field.name()), e))
}

/// Our own errors raised inside a Parquet sink (async, or a `Write` passing them inside an
/// I/O error) come back as they were; others get `context`.
pub(crate) fn unwrap_external(e: ParquetError, context: impl FnOnce() -> String) -> Error {
    let inner = match e {
        ParquetError::External(inner) => inner,
        other => return Error::parquet(context(), other),
    };
    let inner = match inner.downcast::<std::io::Error>() {
        // Only an I/O error that carries one of ours is unwrapped; any other keeps its text.
        Ok(io) if io.get_ref().is_some_and(|e| e.is::<Error>()) => match io.into_inner() {
            Some(wrapped) => wrapped,
            None => return Error::Unavailable(context()),
        },
        Ok(io) => return Error::Unavailable(format!("{}: {io}", context())),
        Err(other) => other,
    };
    match inner.downcast::<Error>() {
        Ok(err) => *err,
        Err(other) => Error::Unavailable(format!("{}: {other}", context())),
    }
}

/// A complete file in its temporary place, not yet visible at its final path.
#[must_use = "a staged file must be published or discarded"]
pub struct Staged {
    tmp: String,
    path: String,
    pub written: Written,
}

impl Staged {
    pub fn new(tmp: String, path: &str, written: Written) -> Self {
        Staged {
            tmp,
            path: path.to_owned(),
            written,
        }
    }

    /// Renames the file over its final path (replacing what was there). The size returned is
    /// the one HDFS reports for the published file (what `hdfs dfs -du` shows, footer
    /// included), not the writer's count, which misses the bytes written at close.
    pub async fn publish(self, hdfs: &Hdfs) -> Result<Written> {
        if let Err(e) = hdfs.rename_into_place(&self.tmp, &self.path).await {
            hdfs.remove_quietly(&self.tmp).await;
            return Err(e);
        }
        let bytes = match hdfs.stat(&self.path).await {
            Ok(Some(status)) => status.length as u64,
            // The file is in place; only the figure is missing: keep the writer's count.
            Ok(None) | Err(_) => {
                tracing::warn!(path = %self.path, "no file status after the rename; reporting the writer's byte count");
                self.written.bytes
            }
        };
        Ok(Written {
            bytes,
            ..self.written
        })
    }

    pub async fn discard(self, hdfs: &Hdfs) {
        hdfs.remove_quietly(&self.tmp).await;
    }
}

/// `/partitions/55001.parquet` -> `/.lender-tmp/<job>-partitions-55001.parquet`
pub fn temp_path(path: &str, job_id: &str) -> String {
    let flat = path.trim_start_matches('/').replace('/', "-");
    format!("{TMP_DIR}/{job_id}-{flat}")
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

/// How long a NameNode metadata call may take: hdfs-native keeps retrying a NameNode that
/// is down, and a caller must get a clear error instead.
const NAMENODE_TIMEOUT: Duration = Duration::from_secs(5);

async fn namenode<T>(what: String, fut: impl Future<Output = T>) -> Result<T> {
    tokio::time::timeout(NAMENODE_TIMEOUT, fut)
        .await
        .map_err(|_| {
            Error::Unavailable(format!(
                "HDFS NameNode did not answer within {} s ({what})",
                NAMENODE_TIMEOUT.as_secs()
            ))
        })
}

/// Bounds one HDFS operation in time, turning a hang into a clear error.
pub async fn bounded<T>(
    what: impl Into<String>,
    limit: Duration,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result,
        Err(_) => Err(Error::Timeout(format!(
            "{} after {} ms",
            what.into(),
            limit.as_millis()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::{
        array::{Int64Array, StringArray},
        datatypes::{DataType, Field, Schema},
    };
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    #[test]
    fn columns_encoded_on_several_threads_read_back_as_written() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Utf8, true),
            Field::new("c", DataType::Int64, false),
        ]));
        let batch = |start: i64| {
            let a: Vec<Option<i64>> = (start..start + 100)
                .map(|i| (i % 7 != 0).then_some(i))
                .collect();
            let b: Vec<Option<String>> = (start..start + 100)
                .map(|i| (i % 5 != 0).then(|| format!("row {}", i % 13)))
                .collect();
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(a)),
                    Arc::new(StringArray::from(b)),
                    Arc::new(Int64Array::from_iter_values(start * 2..start * 2 + 100)),
                ],
            )
            .unwrap()
        };
        let groups = [
            vec![batch(0), batch(100)],
            vec![batch(200)],
            vec![batch(300)],
        ];
        for threads in [1, 2, 3] {
            let mut file = Vec::new();
            let props = WriterProperties::builder().build();
            let (mut writer, factory) =
                ArrowWriter::try_new(&mut file, schema.clone(), Some(props))
                    .and_then(ArrowWriter::into_serialized_writer)
                    .unwrap();
            for (index, group) in groups.iter().enumerate() {
                let writers = factory.create_column_writers(index).unwrap();
                let batches = group.iter().cloned().map(Ok);
                let leaves = leaf_counts(&schema).unwrap();
                let (chunks, rows) =
                    encode_columns(&schema, &leaves, writers, batches, threads, "a test").unwrap();
                assert_eq!(rows, group.iter().map(|b| b.num_rows() as u64).sum::<u64>());
                let mut row_group = writer.next_row_group().unwrap();
                for chunk in chunks {
                    chunk.append_to_row_group(&mut row_group).unwrap();
                }
                row_group.close().unwrap();
            }
            writer.close().unwrap();
            let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(file)).unwrap();
            assert_eq!(reader.metadata().num_row_groups(), 3);
            let read: Vec<RecordBatch> = reader.build().unwrap().map(|b| b.unwrap()).collect();
            let written: Vec<RecordBatch> = groups.iter().flatten().cloned().collect();
            assert_eq!(
                arrow::compute::concat_batches(&schema, &read).unwrap(),
                arrow::compute::concat_batches(&schema, &written).unwrap(),
                "{threads} threads"
            );
        }
    }

    #[test]
    fn write_parquet_cuts_one_row_group_per_item_and_counts_rows() {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let group = |n: i64| {
            Ok(vec![Ok(RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(Int64Array::from_iter_values(0..n))],
            )
            .unwrap())])
        };
        let mut file = Vec::new();
        let written = write_parquet(
            &mut file,
            "a test file",
            schema.clone(),
            WriterProperties::builder().build(),
            vec![group(10), group(20), group(5)].into_iter(),
        )
        .unwrap();
        assert_eq!(written.rows, 35);
        let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(file)).unwrap();
        let sizes: Vec<i64> = reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(sizes, vec![10, 20, 5]);
    }

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
