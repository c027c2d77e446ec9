//! CalcAvgLoan: answer from the county's own file when it is healthy and current (`reuse`),
//! otherwise run a partition job that cuts the county's rows out of the big file, writes
//! `/partitions/<county>.parquet` and answers from those rows (`create`, or `recreate` when
//! the previous file was lost with a DataNode).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use arrow::{datatypes::SchemaRef, error::ArrowError, record_batch::RecordBatch};
use bytes::Bytes;
use futures::TryStreamExt;
use parquet::{
    arrow::{
        ArrowWriter, ParquetRecordBatchStreamBuilder, ProjectionMask,
        arrow_reader::{
            ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions,
            ParquetRecordBatchReaderBuilder, RowFilter,
        },
    },
    basic::Compression,
    file::{metadata::ParquetMetaData, properties::WriterProperties},
};
use serde::{Deserialize, Serialize};

use super::{
    Jobs, Outcome, PartitionArgs, queue,
    tracked::{Job, JobResult},
};
use crate::{
    config::{BLOCK_SIZE, EXPORT_PATH, PARTITION_REPLICATION, partition_path},
    error::{Error, Result},
    hdfs::{ParquetFile, bounded, temp_path},
    loans::{AMOUNT_COLUMN, COUNTY_COLUMN, LoanSum, county_mask, row_groups_for_county},
    store::{JobKind, PartitionRecord, history::AttemptReport, now_ms},
};

impl PartitionArgs {
    /// The arguments as the job history shows them.
    pub fn describe(&self) -> String {
        format!("county={} source={}", self.county, self.source.as_str())
    }
}

/// Where an answer came from (the contract's `source` strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Create,
    Reuse,
    Recreate,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Create => "create",
            Source::Reuse => "reuse",
            Source::Recreate => "recreate",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CountyAnswer {
    pub county: i32,
    pub average: i64,
    pub source: Source,
    pub rows: u64,
    pub bytes: u64,
}

impl JobResult for CountyAnswer {
    fn report(&self) -> AttemptReport {
        AttemptReport {
            rows: Some(self.rows),
            bytes: Some(self.bytes),
            summary: Some(format!(
                "county {} average {} from {} rows ({})",
                self.county,
                self.average,
                self.rows,
                self.source.as_str()
            )),
            ..Default::default()
        }
    }

    fn into_outcome(self) -> Outcome {
        Outcome::County(self)
    }
}

/// The big file's footer, read once per generation.
/// The big file of one generation: its footer, and one reader shared by every partition
/// job, which remembers DataNodes that failed it (so only the first job after a failure
/// waits on a dead node).
#[derive(Clone)]
pub(super) struct BigFile {
    generation: u64,
    /// When `reader` was opened: its memory of dead nodes must not outlive their recovery.
    opened: Instant,
    reader: Arc<hdfs_native::file::FileReader>,
    metadata: Arc<ParquetMetaData>,
    schema: SchemaRef,
}

/// Writing a county file may be sent to a DataNode that just died (the NameNode hands it
/// out until it declares it dead): each try excludes every node that failed before.
const WRITE_TRIES: u32 = 4;

/// How long one reader of the big file (and its list of failed DataNodes) is kept.
const READER_LIFETIME: Duration = Duration::from_secs(30);

impl Jobs {
    pub async fn average_loan(&self, county: i32) -> Result<CountyAnswer> {
        if county <= 0 {
            return Err(Error::InvalidInput(
                "invalid county code: expected a positive 5-digit FIPS code such as 55001".into(),
            ));
        }
        let generation = self.current_generation().await?;
        let source = match self.store.partition(county)? {
            Some(record) if record.generation == generation && !record.lost => {
                match self.reuse(&record).await {
                    Ok(answer) => return Ok(answer),
                    Err(e) if e.is_not_found() => Source::Create,
                    // Ask the NameNode before blaming the file: if it is down, nothing is lost.
                    Err(e) => match self.hdfs.stat(&record.path).await {
                        Err(namenode) => {
                            return Err(Error::Unavailable(format!(
                                "cannot read {}: HDFS NameNode unreachable ({namenode})",
                                record.path
                            )));
                        }
                        Ok(None) => Source::Create,
                        Ok(Some(_)) => {
                            if e.is_datanode_failure() {
                                record.hosts.iter().for_each(|h| self.health.suspect(h));
                            }
                            tracing::warn!(county, error = %e, "county file unreadable; rebuilding it");
                            self.store.mark_partition_lost(county).await?;
                            Source::Recreate
                        }
                    },
                }
            }
            // Marked lost earlier: rebuilt again unless someone deleted the file meanwhile.
            Some(record) if record.generation == generation => {
                match self.hdfs.stat(&record.path).await {
                    Ok(None) => Source::Create,
                    _ => Source::Recreate,
                }
            }
            _ => Source::Create,
        };
        // A partition job needs the NameNode: when it is down, say so now rather than
        // queue work that can only fail slowly.
        if self.hdfs.stat(EXPORT_PATH).await?.is_none() {
            return Err(Error::NotFound(format!(
                "{EXPORT_PATH} is missing: run DbToHdfs first"
            )));
        }
        let outcome = self
            .submit(
                county_key(county),
                JobKind::Partition,
                PartitionArgs {
                    job_id: String::new(),
                    county,
                    source,
                }
                .describe(),
                |job_id| {
                    queue::Task::Partition(PartitionArgs {
                        job_id,
                        county,
                        source,
                    })
                },
            )
            .await?;
        match outcome {
            Outcome::County(answer) => Ok(answer),
            other => Err(super::unexpected(other)),
        }
    }

    /// Answers from the county file: one read of the whole (small) file, then only the
    /// loan_amount column is decoded.
    async fn reuse(&self, record: &PartitionRecord) -> Result<CountyAnswer> {
        if let Some(host) = self.health.first_down(&self.webhdfs, &record.hosts).await {
            return Err(Error::Unavailable(format!(
                "{}: its DataNode {host} is down",
                record.path
            )));
        }
        // A healthy county file reads in milliseconds. hdfs-native may spend up to three
        // socket timeouts on a silent node (two cached connections, then a new one), so
        // bound the read at about one timeout and rebuild the file instead.
        let limit = self.config.datanode_timeout + Duration::from_millis(500);
        let bytes = match bounded(
            format!("reading {}", record.path),
            limit,
            self.hdfs.read_all(&record.path),
        )
        .await
        {
            Ok(bytes) => bytes,
            Err(e) => return Err(e),
        };
        let (sum, rows) = sum_amounts(bytes, &record.path)?;
        if rows != record.rows {
            return Err(Error::InvalidInput(format!(
                "{} holds {rows} rows, expected {}",
                record.path, record.rows
            )));
        }
        let average = average_of(&sum)?;
        Ok(CountyAnswer {
            county: record.county,
            average,
            source: Source::Reuse,
            rows: record.rows,
            bytes: record.bytes,
        })
    }

    pub(super) async fn run_partition_job(&self, args: PartitionArgs) -> Result<String> {
        let key = county_key(args.county);
        let described = args.describe();
        let job = Job {
            id: &args.job_id,
            kind: JobKind::Partition,
            key: &key,
            args: &described,
            max_attempts: 2,
        };
        self.run_tracked(job, |attempt| self.cut_partition(&args, attempt))
            .await
    }

    async fn cut_partition(&self, args: &PartitionArgs, attempt: u32) -> Result<CountyAnswer> {
        let county = args.county;
        // Hold the read side for the whole cut: the big file and its generation stay put.
        let _swap = self.export_swap.read().await;
        let generation = self.current_generation().await?;
        let big = self.big_file(generation).await?;
        let started = Instant::now();
        let batches = match self.read_county(&big, county).await {
            Ok(batches) => batches,
            Err(e) => {
                // Its list of failed nodes may be what failed us (a node came back while
                // its partner died): the next attempt opens a fresh reader.
                self.forget_big_file_reader().await;
                return Err(e);
            }
        };
        let mut sum = LoanSum::default();
        for batch in &batches {
            let amounts = batch.column_by_name(AMOUNT_COLUMN).ok_or_else(|| {
                Error::InvalidInput(format!("{EXPORT_PATH} has no {AMOUNT_COLUMN} column"))
            })?;
            sum.add(amounts)?;
        }
        if batches.iter().all(|b| b.num_rows() == 0) {
            return Err(Error::NotFound(format!("no loans in {EXPORT_PATH}")));
        }
        let average = average_of(&sum)?;
        let path = partition_path(county);
        let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
        let read_ms = started.elapsed().as_millis() as u64;
        let (bytes, host) = self
            .write_county(&path, &args.job_id, attempt, big.schema.clone(), &batches)
            .await?;
        let write_ms = started.elapsed().as_millis() as u64 - read_ms;
        tracing::debug!(county, rows, bytes, read_ms, write_ms, %host, "county file cut");
        let hosts = vec![host];
        self.store
            .put_partition(PartitionRecord {
                county,
                path,
                rows,
                bytes,
                generation,
                written_ms: now_ms(),
                hosts,
                lost: false,
                job_id: Some(args.job_id.clone()),
            })
            .await?;
        Ok(CountyAnswer {
            county,
            average,
            source: args.source,
            rows,
            bytes,
        })
    }

    /// Writes the county file (temporary name, then rename) through a DataNode we trust;
    /// returns its size and the DataNode holding it.
    async fn write_county(
        &self,
        path: &str,
        job_id: &str,
        attempt: u32,
        schema: SchemaRef,
        batches: &[RecordBatch],
    ) -> Result<(u64, String)> {
        let encoding = Instant::now();
        let data = encode_parquet(schema, batches, path)?;
        tracing::debug!(
            path,
            bytes = data.len(),
            encode_ms = encoding.elapsed().as_millis() as u64,
            "county file encoded"
        );
        let tmp = temp_path(path, &format!("{job_id}-{attempt}"));
        let mut last_error = None;
        for try_number in 1..=WRITE_TRIES {
            let avoid = self.health.avoid(&self.webhdfs).await;
            let created = self
                .webhdfs
                .create(
                    &tmp,
                    data.clone(),
                    PARTITION_REPLICATION,
                    BLOCK_SIZE,
                    &avoid,
                    self.config.datanode_timeout,
                )
                .await;
            match created {
                Ok(host) => {
                    self.hdfs.rename_into_place(&tmp, path).await?;
                    return Ok((data.len() as u64, host));
                }
                Err(Error::DataNode { host, message }) => {
                    self.health.suspect(&host);
                    tracing::warn!(path, try_number, %host, %message, "DataNode failed the write; trying another");
                    last_error = Some(Error::DataNode { host, message });
                }
                Err(e) if !avoid.is_empty() => {
                    // The NameNode refuses when we exclude every node it has: our suspicions
                    // are stale (a node came back). Forget them and let the NameNode choose.
                    tracing::warn!(path, try_number, error = %e, ?avoid, "write refused; forgetting suspect DataNodes");
                    self.health.forgive_all();
                    last_error = Some(e);
                }
                Err(e) if e.is_retryable() => {
                    tracing::warn!(path, try_number, error = %e, "writing the county file failed; trying again");
                    last_error = Some(e);
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(try_number))).await;
                }
                Err(e) => return Err(e),
            }
        }
        self.hdfs.remove_quietly(&tmp).await;
        Err(last_error.unwrap_or_else(|| Error::Queue(format!("writing {path}: no tries left"))))
    }

    /// The big file's footer for `generation`, cached.
    async fn big_file(&self, generation: u64) -> Result<BigFile> {
        let mut cached = self.big_file.lock().await;
        match cached.as_mut().filter(|b| b.generation == generation) {
            Some(big) if big.opened.elapsed() < READER_LIFETIME => return Ok(big.clone()),
            Some(big) => {
                big.reader = Arc::new(self.hdfs.open(EXPORT_PATH).await?);
                big.opened = Instant::now();
                return Ok(big.clone());
            }
            None => {}
        }
        let (reader, metadata) = self.hdfs.open_parquet(EXPORT_PATH).await.map_err(|e| {
            if e.is_not_found() {
                Error::NotFound(format!("{EXPORT_PATH} is missing: run DbToHdfs first"))
            } else {
                e
            }
        })?;
        let reader_metadata =
            ArrowReaderMetadata::try_new(metadata.clone(), ArrowReaderOptions::default())
                .map_err(|e| Error::parquet(format!("schema of {EXPORT_PATH}"), e))?;
        let schema = reader_metadata.schema().clone();
        let big = BigFile {
            generation,
            opened: Instant::now(),
            reader,
            metadata,
            schema,
        };
        *cached = Some(big.clone());
        Ok(big)
    }

    async fn forget_big_file_reader(&self) {
        if let Some(big) = self.big_file.lock().await.as_mut() {
            big.opened -= READER_LIFETIME;
        }
    }

    /// The county's rows, all columns: only row groups whose statistics admit the county
    /// are fetched (their column chunks in parallel), and rows are filtered on county_code
    /// before the other columns are decoded.
    async fn read_county(&self, big: &BigFile, county: i32) -> Result<Vec<RecordBatch>> {
        let groups = row_groups_for_county(&big.metadata, &big.schema, county)?;
        if groups.is_empty() {
            return Err(Error::NotFound(format!("no loans in {EXPORT_PATH}")));
        }
        let file =
            ParquetFile::new(big.reader.clone(), EXPORT_PATH).with_metadata(big.metadata.clone());
        let reader_metadata =
            ArrowReaderMetadata::try_new(big.metadata.clone(), ArrowReaderOptions::default())
                .map_err(|e| Error::parquet(format!("schema of {EXPORT_PATH}"), e))?;
        let county_only =
            ProjectionMask::columns(big.metadata.file_metadata().schema_descr(), [COUNTY_COLUMN]);
        let predicate = ArrowPredicateFn::new(county_only, move |batch: RecordBatch| {
            county_mask(batch.column(0), county)
                .map_err(|e| ArrowError::ComputeError(e.to_string()))
        });
        let stream = ParquetRecordBatchStreamBuilder::new_with_metadata(file, reader_metadata)
            .with_row_groups(groups)
            .with_row_filter(RowFilter::new(vec![Box::new(predicate)]))
            .with_batch_size(16 * 1024)
            .build()
            .map_err(|e| {
                Error::parquet(format!("reading county {county} from {EXPORT_PATH}"), e)
            })?;
        let limit = self.config.datanode_timeout * 4 + Duration::from_secs(10);
        bounded(
            format!("reading county {county} from {EXPORT_PATH}"),
            limit,
            async {
                stream.try_collect().await.map_err(|e| {
                    Error::parquet(format!("reading county {county} from {EXPORT_PATH}"), e)
                })
            },
        )
        .await
    }
}

/// A county file is small (well under a block): encode it in memory, send it in one go.
fn encode_parquet(schema: SchemaRef, batches: &[RecordBatch], path: &str) -> Result<Bytes> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let perr = |e| Error::parquet(format!("encoding {path}"), e);
    let mut writer = ArrowWriter::try_new(Vec::new(), schema, Some(props)).map_err(perr)?;
    for batch in batches {
        writer.write(batch).map_err(perr)?;
    }
    Ok(Bytes::from(writer.into_inner().map_err(perr)?))
}

/// Sums loan_amount over a whole Parquet file held in memory; also returns its row count.
fn sum_amounts(bytes: Bytes, path: &str) -> Result<(LoanSum, u64)> {
    let perr = |e| Error::parquet(format!("decoding {path}"), e);
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(perr)?;
    let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
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
            .ok_or_else(|| Error::InvalidInput(format!("{path} has no {AMOUNT_COLUMN} column")))?;
        sum.add(amounts)?;
    }
    Ok((sum, rows))
}

/// The work key shared by every call about one county.
fn county_key(county: i32) -> String {
    format!("county:{county}")
}

fn average_of(sum: &LoanSum) -> Result<i64> {
    sum.average()
        .ok_or_else(|| Error::NotFound("its loans have no loan amounts".into()))
}
