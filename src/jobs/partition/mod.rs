//! CalcAvgLoan's work, one concern per file: `decide` chooses between reusing the county's
//! file and a partition job, `answer` performs that choice's I/O; this module is the job,
//! which cuts the county's rows out of the big file (`big_file`), writes
//! `/partitions/<county>.parquet` (encoded by `crate::parquet::CountyEncoder`, sent by
//! `county_file`) and answers from those rows (`create`, or `recreate` when the previous
//! file was lost with a DataNode).

mod amounts;
mod answer;
mod big_file;
mod county_file;
mod decide;

use std::{sync::Arc, time::Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

pub(super) use answer::Answer;
use answer::ReuseReads;
pub(super) use big_file::BigFileCache;
use big_file::{BigFile, current_generation};
use county_file::write_county;

use super::{
    ExportSwap, Jobs, PartitionArgs,
    runner::{
        Job,
        dispatch::Dispatcher,
        queue,
        tracking::{JobResult, Run, run_tracked},
    },
    services::Services,
    work_key,
};
use crate::{
    config::{EXPORT_PATH, partition_path},
    error::{Error, Result},
    loans::{AMOUNT_COLUMN, LoanSum},
    parquet::{CountyEncoder, EncodedCounty},
    store::{JobKind, PartitionRecord, history::AttemptReport, now_ms},
};

/// CalcAvgLoan reuse reads that run at once; more wait. A file's first read holds it whole
/// in memory (about 1 MB at 1x data, 10 MB at 10x), later ones its amount column (a few
/// percent of it): 16 keep that under 200 MB and both cores busy.
const REUSE_READS: usize = 16;

/// CalcAvgLoan's job: cut one county's file (`create` or `recreate`) and answer from it.
/// Every call about the county shares it.
pub(super) struct CountyJob {
    pub county: i32,
    pub source: Source,
}

impl Job for CountyJob {
    type Output = CountyAnswer;
    const KIND: JobKind = JobKind::Partition;

    fn key(&self) -> String {
        work_key::county(self.county)
    }

    fn describe(&self) -> String {
        format!("county={} source={}", self.county, self.source.as_str())
    }

    fn task(&self, job_id: String) -> queue::Task {
        queue::Task::Partition(PartitionArgs {
            job_id,
            county: self.county,
            source: self.source,
        })
    }

    fn dispatcher(jobs: &Jobs) -> &Dispatcher<CountyAnswer> {
        jobs.counties.dispatcher()
    }
}

impl PartitionArgs {
    /// The job these queued arguments run.
    fn job(&self) -> CountyJob {
        CountyJob {
            county: self.county,
            source: self.source,
        }
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
}

/// The partition side's state: the shared clients, the callers of each county's job, and
/// what CalcAvgLoan reads (county files, a few at once; the big file, under the swap lock).
pub(super) struct Counties {
    services: Arc<Services>,
    /// Which partition job does each county's work, and who waits on it.
    dispatcher: Dispatcher<CountyAnswer>,
    /// Taken for reading for a whole cut: the big file and its generation stay put.
    swap: ExportSwap,
    /// Footer of the current big file, keyed by generation.
    big_file: Arc<BigFileCache>,
    /// Reuse reads at once (a first read holds one county file in memory), see
    /// [`REUSE_READS`], and the county files' footers.
    reuse_reads: ReuseReads,
}

impl Counties {
    pub(super) fn new(
        services: Arc<Services>,
        swap: ExportSwap,
        big_file: Arc<BigFileCache>,
    ) -> Self {
        Counties {
            services,
            dispatcher: Dispatcher::default(),
            swap,
            big_file,
            reuse_reads: ReuseReads {
                slots: Semaphore::new(REUSE_READS),
                footers: Default::default(),
            },
        }
    }

    /// Which partition job does each county's work, and who waits on it.
    pub(super) fn dispatcher(&self) -> &Dispatcher<CountyAnswer> {
        &self.dispatcher
    }

    /// CalcAvgLoan's answer from the county's file, or the partition job that gives it.
    pub(super) async fn answer(&self, county: i32) -> Result<Answer> {
        answer::answer(&self.services, &self.reuse_reads, county).await
    }

    /// Runs one queued partition job: its attempts, with their bookkeeping.
    pub(super) async fn run_job(&self, args: PartitionArgs) -> Result<String> {
        let key = args.job().key();
        let described = args.job().describe();
        let job = Run {
            id: &args.job_id,
            kind: JobKind::Partition,
            key: &key,
            args: &described,
            max_attempts: 2,
        };
        run_tracked(&self.services.store, &self.dispatcher, job, |attempt| {
            self.cut_partition(&args, attempt)
        })
        .await
    }

    async fn cut_partition(&self, args: &PartitionArgs, attempt: u32) -> Result<CountyAnswer> {
        let Services { store, hdfs, .. } = &*self.services;
        let county = args.county;
        // Hold the read side for the whole cut: the big file and its generation stay put.
        let _swap = self.swap.read().await;
        let generation = current_generation(store, hdfs).await?;
        let fingerprint = store.exports().fingerprint(generation, county)?;
        let big = self.big_file.open(hdfs, generation).await?;
        let started = Instant::now();
        let path = partition_path(county);
        let (encoded, sum) = match self.encode_county(&big, args, attempt, &path).await {
            Ok(done) => done,
            Err(e) => {
                // Its list of failed nodes may be what failed us (a node came back while
                // its partner died): the next attempt opens a fresh reader.
                if !e.is_not_found() {
                    self.big_file.forget_reader().await;
                }
                return Err(e);
            }
        };
        let average = average_of(&sum)?;
        let (rows, bytes) = (encoded.rows, encoded.bytes);
        let read_ms = started.elapsed().as_millis() as u64;
        let tag = format!("{}-{attempt}", args.job_id);
        let host = write_county(&self.services, &path, &tag, &encoded).await?;
        let write_ms = started.elapsed().as_millis() as u64 - read_ms;
        tracing::debug!(county, rows, bytes, read_ms, write_ms, %host, "county file cut");
        let hosts = vec![host];
        store
            .partitions()
            .put(PartitionRecord {
                county,
                path,
                rows,
                bytes,
                generation,
                cut_generation: Some(generation),
                fingerprint,
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

    /// Streams the county's rows from the big file into a local county file, summing
    /// their loan amounts on the way: memory holds a batch, never the county.
    async fn encode_county(
        &self,
        big: &BigFile,
        args: &PartitionArgs,
        attempt: u32,
        path: &str,
    ) -> Result<(EncodedCounty, LoanSum)> {
        let config = &self.services.config;
        let mut rows = big.read_county(args.county, config.datanode_timeout)?;
        let mut encoder = CountyEncoder::create(
            &config.spool_dir,
            &args.job_id,
            attempt,
            big.schema.clone(),
            path,
            big.bytes(),
        )
        .await?;
        let mut sum = LoanSum::default();
        while let Some(batch) = rows.next().await? {
            let amounts = batch.column_by_name(AMOUNT_COLUMN).ok_or_else(|| {
                Error::BadData(format!("{EXPORT_PATH} has no {AMOUNT_COLUMN} column"))
            })?;
            sum.add(amounts)?;
            encoder.write(&batch)?;
        }
        let encoded = encoder.finish()?;
        if encoded.rows == 0 {
            return Err(Error::NotFound(format!("no loans in {EXPORT_PATH}")));
        }
        Ok((encoded, sum))
    }
}

fn average_of(sum: &LoanSum) -> Result<i64> {
    sum.average()
        .ok_or_else(|| Error::NotFound("its loans have no loan amounts".into()))
}
