//! CalcAvgLoan: answer from the county's own file when it is healthy and current (`reuse`),
//! otherwise run a partition job that cuts the county's rows out of the big file, writes
//! `/partitions/<county>.parquet` and answers from those rows (`create`, or `recreate` when
//! the previous file was lost with a DataNode).

use std::{sync::Arc, time::Duration};

use arrow::{datatypes::SchemaRef, error::ArrowError, record_batch::RecordBatch};
use bytes::Bytes;
use futures::TryStreamExt;
use parquet::{
    arrow::{
        ParquetRecordBatchStreamBuilder, ProjectionMask,
        arrow_reader::{
            ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
            RowFilter,
        },
    },
    basic::Compression,
    file::{metadata::ParquetMetaData, properties::WriterProperties},
};
use serde::{Deserialize, Serialize};

use super::{Jobs, Outcome, PartitionArgs, queue, tracked::{Job, JobResult}};
use crate::{
    config::{EXPORT_PATH, PARTITION_REPLICATION, partition_path},
    error::{Error, Result},
    hdfs::{Layout, ParquetFile, Target, bounded},
    loans::{AMOUNT_COLUMN, COUNTY_COLUMN, LoanSum, county_mask, row_groups_for_county},
    store::{JobKind, PartitionRecord, history::AttemptReport, now_ms},
};

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
#[derive(Clone)]
pub(super) struct BigFile {
    generation: u64,
    metadata: Arc<ParquetMetaData>,
    schema: SchemaRef,
}

/// Writing a county file may land on a DataNode that just died (the NameNode keeps handing
/// it out until it declares it dead, and hdfs-native cannot exclude it): retry the whole
/// file a few times.
const WRITE_TRIES: u32 = 4;

impl Jobs {
    pub async fn average_loan(&self, county: i32) -> Result<CountyAnswer> {
        if county <= 0 {
            return Err(Error::InvalidInput(format!(
                "invalid county code {county}: expected a positive 5-digit FIPS code such as 55001"
            )));
        }
        let generation = self.current_generation().await?;
        let source = match self.store.partition(county)? {
            Some(record) if record.generation == generation && !record.lost => {
                match self.reuse(&record).await {
                    Ok(answer) => return Ok(answer),
                    Err(e) if e.is_not_found() => Source::Create,
                    Err(e) => {
                        tracing::warn!(county, error = %e, "county file unreadable; rebuilding it");
                        self.store.mark_partition_lost(county).await?;
                        Source::Recreate
                    }
                }
            }
            Some(record) if record.generation == generation => Source::Recreate,
            _ => Source::Create,
        };
        let outcome = self
            .submit(
                format!("county:{county}"),
                JobKind::Partition,
                format!("county={county} source={}", source.as_str()),
                |job_id| queue::Task::Partition(PartitionArgs { job_id, county, source }),
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
            return Err(Error::Unavailable(format!("{}: its DataNode {host} is down", record.path)));
        }
        let limit = self.config.datanode_timeout * 2 + Duration::from_secs(1);
        let bytes = match bounded(format!("reading {}", record.path), limit, self.hdfs.read_all(&record.path)).await {
            Ok(bytes) => bytes,
            Err(e) => {
                if !e.is_not_found() {
                    record.hosts.iter().for_each(|h| self.health.suspect(h));
                }
                return Err(e);
            }
        };
        let (sum, rows) = sum_amounts(bytes, &record.path)?;
        if rows != record.rows {
            return Err(Error::InvalidInput(format!(
                "{} holds {rows} rows, expected {}",
                record.path, record.rows
            )));
        }
        let average = average_of(&sum, record.county)?;
        Ok(CountyAnswer {
            county: record.county,
            average,
            source: Source::Reuse,
            rows: record.rows,
            bytes: record.bytes,
        })
    }

    pub(super) async fn run_partition_job(&self, args: PartitionArgs) -> Result<String> {
        let key = format!("county:{}", args.county);
        let label = format!("partition county={} source={}", args.county, args.source.as_str());
        let job = Job { id: &args.job_id, key: &key, label: &label, max_attempts: 2 };
        self.run_tracked(job, |attempt| self.cut_partition(&args, attempt)).await
    }

    async fn cut_partition(&self, args: &PartitionArgs, attempt: u32) -> Result<CountyAnswer> {
        let county = args.county;
        // Hold the read side for the whole cut: the big file and its generation stay put.
        let _swap = self.export_swap.read().await;
        let generation = self.current_generation().await?;
        let big = self.big_file(generation).await?;
        let batches = self.read_county(&big, county).await?;
        let mut sum = LoanSum::default();
        for batch in &batches {
            let amounts = batch.column_by_name(AMOUNT_COLUMN).ok_or_else(|| {
                Error::InvalidInput(format!("{EXPORT_PATH} has no {AMOUNT_COLUMN} column"))
            })?;
            sum.add(amounts)?;
        }
        if batches.iter().all(|b| b.num_rows() == 0) {
            return Err(Error::NotFound(format!("no loans for county {county} in {EXPORT_PATH}")));
        }
        let average = average_of(&sum, county)?;
        let path = partition_path(county);
        let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
        let bytes = self.write_county(&path, &args.job_id, attempt, big.schema.clone(), &batches).await?;
        let hosts = match self.webhdfs.block_locations(&path).await {
            Ok(blocks) => blocks.into_iter().flat_map(|b| b.hosts).collect(),
            Err(e) => {
                tracing::warn!(county, error = %e, "could not learn where the county file lives");
                vec![]
            }
        };
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
            })
            .await?;
        Ok(CountyAnswer { county, average, source: args.source, rows, bytes })
    }

    async fn write_county(
        &self,
        path: &str,
        job_id: &str,
        attempt: u32,
        schema: SchemaRef,
        batches: &[RecordBatch],
    ) -> Result<u64> {
        let mut last_error = None;
        for try_number in 1..=WRITE_TRIES {
            let target = Target { path, replication: PARTITION_REPLICATION };
            let stream = futures::stream::iter(batches.iter().cloned().map(Ok));
            let tmp_id = format!("{job_id}-{attempt}-{try_number}");
            let limit = self.config.datanode_timeout * 3 + Duration::from_secs(5);
            let written = bounded(
                format!("writing {path}"),
                limit,
                async {
                    let staged =
                        self.hdfs.write_parquet(target, &tmp_id, schema.clone(), county_layout(), stream).await?;
                    staged.publish(&self.hdfs).await
                },
            )
            .await;
            match written {
                Ok(written) => return Ok(written.bytes),
                Err(e) if e.is_retryable() => {
                    tracing::warn!(path, try_number, error = %e, "writing the county file failed; trying again");
                    last_error = Some(e);
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(try_number))).await;
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::Queue(format!("writing {path}: no tries left"))))
    }

    /// The big file's footer for `generation`, cached.
    async fn big_file(&self, generation: u64) -> Result<BigFile> {
        let mut cached = self.big_file.lock().await;
        if let Some(big) = cached.as_ref().filter(|b| b.generation == generation) {
            return Ok(big.clone());
        }
        let (_, metadata) = self.hdfs.parquet_metadata(EXPORT_PATH).await.map_err(|e| {
            if e.is_not_found() {
                Error::NotFound(format!("{EXPORT_PATH} is missing: run DbToHdfs first"))
            } else {
                e
            }
        })?;
        let reader_metadata = ArrowReaderMetadata::try_new(metadata.clone(), ArrowReaderOptions::default())
            .map_err(|e| Error::parquet(format!("schema of {EXPORT_PATH}"), e))?;
        let big = BigFile { generation, metadata, schema: reader_metadata.schema().clone() };
        *cached = Some(big.clone());
        Ok(big)
    }

    /// The county's rows, all columns: only row groups whose statistics admit the county
    /// are fetched (their column chunks in parallel), and rows are filtered on county_code
    /// before the other columns are decoded.
    async fn read_county(&self, big: &BigFile, county: i32) -> Result<Vec<RecordBatch>> {
        let groups = row_groups_for_county(&big.metadata, &big.schema, county)?;
        if groups.is_empty() {
            return Err(Error::NotFound(format!("no loans for county {county} in {EXPORT_PATH}")));
        }
        let reader = self.hdfs.open(EXPORT_PATH).await?;
        let file = ParquetFile::new(reader, EXPORT_PATH).with_metadata(big.metadata.clone());
        let reader_metadata = ArrowReaderMetadata::try_new(big.metadata.clone(), ArrowReaderOptions::default())
            .map_err(|e| Error::parquet(format!("schema of {EXPORT_PATH}"), e))?;
        let county_only = ProjectionMask::columns(big.metadata.file_metadata().schema_descr(), [COUNTY_COLUMN]);
        let predicate = ArrowPredicateFn::new(county_only, move |batch: RecordBatch| {
            county_mask(batch.column(0), county).map_err(|e| ArrowError::ComputeError(e.to_string()))
        });
        let stream = ParquetRecordBatchStreamBuilder::new_with_metadata(file, reader_metadata)
            .with_row_groups(groups)
            .with_row_filter(RowFilter::new(vec![Box::new(predicate)]))
            .with_batch_size(16 * 1024)
            .build()
            .map_err(|e| Error::parquet(format!("reading county {county} from {EXPORT_PATH}"), e))?;
        let limit = self.config.datanode_timeout * 4 + Duration::from_secs(10);
        bounded(format!("reading county {county} from {EXPORT_PATH}"), limit, async {
            stream
                .try_collect()
                .await
                .map_err(|e| Error::parquet(format!("reading county {county} from {EXPORT_PATH}"), e))
        })
        .await
    }
}

fn county_layout() -> Layout {
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    Layout { props, cluster_by: None, target_group_rows: 0 }
}

/// Sums loan_amount over a whole Parquet file held in memory; also returns its row count.
fn sum_amounts(bytes: Bytes, path: &str) -> Result<(LoanSum, u64)> {
    let perr = |e| Error::parquet(format!("decoding {path}"), e);
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(perr)?;
    let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
    let amount_only = ProjectionMask::columns(builder.parquet_schema(), [AMOUNT_COLUMN]);
    let reader = builder.with_projection(amount_only).with_batch_size(64 * 1024).build().map_err(perr)?;
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

fn average_of(sum: &LoanSum, county: i32) -> Result<i64> {
    sum.average().ok_or_else(|| Error::NotFound(format!("no loan amounts for county {county}")))
}
