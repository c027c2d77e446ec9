//! CalcAvgLoan's front door: answer from the county's own file when it is healthy and
//! current (`reuse`), otherwise hand the county to a partition job (`create`, or `recreate`
//! when the previous file was lost with a DataNode). Which of these is `decide`'s; this
//! file performs the I/O each step asks for.

use std::time::Duration;

use tokio::sync::Semaphore;

use super::{
    CountyAnswer, CountyJob, Source,
    amounts::{CountyFooters, read_amounts},
    average_of,
    big_file::generation_of,
    decide::{Stat, Step, after_failed_reuse, after_stat, plan},
};
use crate::{
    config::EXPORT_PATH,
    error::{Error, Result},
    jobs::services::Services,
    store::{ExportRecord, PartitionRecord},
};

/// What a reuse read needs beside the services: a slot among the reads at once, and the
/// footers of county files read before.
pub(super) struct ReuseReads {
    pub(super) slots: Semaphore,
    pub(super) footers: CountyFooters,
}

/// How CalcAvgLoan answers a county: at once, from its file, or by the partition job
/// that (re)builds the file.
pub(in crate::jobs) enum Answer {
    Now(CountyAnswer),
    ByJob(CountyJob),
}

/// Walks `decide`'s steps for `county` up to an answer or the job to submit; reuse reads
/// wait for one of `reuse_reads`' slots.
pub(super) async fn answer(
    services: &Services,
    reuse_reads: &ReuseReads,
    county: i32,
) -> Result<Answer> {
    if county <= 0 {
        return Err(Error::InvalidInput(
            "invalid county code: expected a positive 5-digit FIPS code such as 55001".into(),
        ));
    }
    let Services {
        store,
        hdfs,
        health,
        ..
    } = services;
    // One read of the export record serves both the generation and the county check.
    let export = store.exports().current()?;
    let generation = generation_of(export.as_ref(), store, hdfs).await?;
    check_exported(export.as_ref(), county)?;
    let record = store.partitions().get(county)?;
    let mut step = plan(record.as_ref(), generation);
    // Only I/O here: what follows each piece of it is `decide`'s. The walk is short:
    // at most a read of the county file, then a question to the NameNode.
    let source = loop {
        step = match step {
            Step::Reuse(record) => match reuse(services, reuse_reads, record).await {
                Ok(answer) => return Ok(Answer::Now(answer)),
                Err(e) => after_failed_reuse(record, &e),
            },
            Step::Stat(record, cause) => {
                let stat = Stat::of(hdfs.stat(&record.path).await);
                after_stat(record, cause, stat)
            }
            Step::Rebuild {
                record,
                suspect_hosts,
                reason,
            } => {
                if suspect_hosts {
                    record.hosts.iter().for_each(|h| health.suspect(h));
                }
                tracing::warn!(county, error = %reason, "county file unreadable; rebuilding it");
                store.partitions().mark_lost(county).await?;
                break Source::Recreate;
            }
            Step::Unavailable(message) => return Err(Error::Unavailable(message)),
            Step::Job(source) => break source,
        }
    };
    // A partition job needs the NameNode: when it is down, say so now rather than
    // queue work that can only fail slowly.
    if hdfs.stat(EXPORT_PATH).await?.is_none() {
        return Err(Error::NotFound(format!(
            "{EXPORT_PATH} is missing: run DbToHdfs first"
        )));
    }
    Ok(Answer::ByJob(CountyJob { county, source }))
}

/// A county the current export does not hold is answered at once: no job, nothing
/// durable, however many such calls arrive. Unknown when the export did not record its
/// counties (an adopted file): then the partition job finds out.
fn check_exported(export: Option<&ExportRecord>, county: i32) -> Result<()> {
    let Some(export) = export else {
        return Ok(());
    };
    match (export.holds(county), export.counties.as_deref()) {
        (Some(false), Some(counties)) => Err(Error::NotFound(format!(
            "no loans in {EXPORT_PATH} (generation {} holds {} counties, from {} to {})",
            export.generation,
            counties.len(),
            counties.first().copied().unwrap_or_default(),
            counties.last().copied().unwrap_or_default(),
        ))),
        _ => Ok(()),
    }
}

/// Answers from the county file, of which only the loan_amount column is read and decoded
/// once its footer is known (see [`super::amounts`]).
async fn reuse(
    services: &Services,
    reuse_reads: &ReuseReads,
    record: &PartitionRecord,
) -> Result<CountyAnswer> {
    // A first read holds a whole county file in memory: a burst of calls waits its turn.
    let _slot = reuse_reads
        .slots
        .acquire()
        .await
        .map_err(|_| Error::Unavailable("the server is shutting down".into()))?;
    if let Some(host) = services
        .health
        .first_down(&services.webhdfs, &record.hosts)
        .await
    {
        return Err(Error::Unavailable(format!(
            "{}: its DataNode {host} is down",
            record.path
        )));
    }
    // A healthy county file reads a block in milliseconds. hdfs-native may spend up to
    // three socket timeouts on a silent node (two cached connections, then a new one),
    // so bound each block's read at about one timeout and rebuild the file instead.
    let stall = services.config.datanode_timeout + Duration::from_millis(500);
    let (sum, rows) = read_amounts(&services.hdfs, &reuse_reads.footers, record, stall).await?;
    if rows != record.rows {
        return Err(Error::BadData(format!(
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
