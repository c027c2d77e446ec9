//! The CalcAvgLoan decision without its I/O: answer from the county's file while it is
//! current and readable (`reuse`), otherwise hand the county to a partition job that writes
//! the file afresh (`create`: there is no file worth keeping) or writes it again
//! (`recreate`: the file is there but cannot be read, e.g. lost with a DataNode).
//!
//! Each function takes what the last piece of I/O found and names the next [`Step`];
//! `answer` performs the steps and does nothing else, so the tests below cover every branch
//! without a cluster.

use super::Source;
use crate::{error::Error, store::PartitionRecord};

/// What `answer` does next.
#[derive(Debug, PartialEq)]
pub(super) enum Step<'a> {
    /// Answer from the county file; if that fails, [`after_failed_reuse`] names the next step.
    Reuse(&'a PartitionRecord),
    /// Ask the NameNode whether the county file is still there; [`after_stat`] names the
    /// next step.
    Stat(&'a PartitionRecord, Cause),
    /// The file is there but unreadable: suspect the DataNodes that held it (when one of
    /// them failed us), log `reason`, mark the record lost, then recreate the file.
    Rebuild {
        record: &'a PartitionRecord,
        suspect_hosts: bool,
        reason: String,
    },
    /// Fail the call with this `Unavailable` message.
    Unavailable(String),
    /// Hand the county to a partition job.
    Job(Source),
}

/// Why the NameNode is asked about the county file.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Cause {
    /// An earlier call found the file unreadable and marked it lost.
    LostEarlier,
    /// Reading it just failed: `datanode` when a DataNode failed us, `reason` the error.
    Unreadable { datanode: bool, reason: String },
}

/// What the NameNode said about the county file.
#[derive(Debug)]
pub(super) enum Stat {
    Present,
    Missing,
    /// It did not answer; the error's text.
    Unreachable(String),
}

impl Stat {
    /// Reads a `Hdfs::stat` result.
    pub(super) fn of<T>(stat: crate::error::Result<Option<T>>) -> Self {
        match stat {
            Ok(Some(_)) => Stat::Present,
            Ok(None) => Stat::Missing,
            Err(namenode) => Stat::Unreachable(namenode.to_string()),
        }
    }
}

/// The first step, from the county's stored record: only a file cut from the current
/// export may answer, and one marked lost is not read again.
pub(super) fn plan(record: Option<&PartitionRecord>, generation: u64) -> Step<'_> {
    match record {
        Some(record) if record.generation == generation && !record.lost => Step::Reuse(record),
        Some(record) if record.generation == generation => Step::Stat(record, Cause::LostEarlier),
        _ => Step::Job(Source::Create),
    }
}

/// After the county file could not be read. A file that is not there is simply created;
/// any other failure asks the NameNode before blaming the file: if it is down, nothing is
/// lost.
pub(super) fn after_failed_reuse<'a>(record: &'a PartitionRecord, error: &Error) -> Step<'a> {
    if error.is_not_found() {
        return Step::Job(Source::Create);
    }
    let cause = Cause::Unreadable {
        datanode: error.is_datanode_failure(),
        reason: error.to_string(),
    };
    Step::Stat(record, cause)
}

/// After the NameNode was asked about the county file. A file gone meanwhile is created.
/// One lost earlier is rebuilt again, even when the NameNode does not answer (the job then
/// finds out); one that just failed to read fails the call when the NameNode is down, and
/// is rebuilt when it is there.
pub(super) fn after_stat(record: &PartitionRecord, cause: Cause, stat: Stat) -> Step<'_> {
    match (cause, stat) {
        (_, Stat::Missing) => Step::Job(Source::Create),
        (Cause::LostEarlier, Stat::Present | Stat::Unreachable(_)) => Step::Job(Source::Recreate),
        (Cause::Unreadable { .. }, Stat::Unreachable(namenode)) => Step::Unavailable(format!(
            "cannot read {}: HDFS NameNode unreachable ({namenode})",
            record.path
        )),
        (Cause::Unreadable { datanode, reason }, Stat::Present) => Step::Rebuild {
            record,
            suspect_hosts: datanode,
            reason,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const GENERATION: u64 = 7;

    fn record(generation: u64, lost: bool) -> PartitionRecord {
        PartitionRecord {
            county: 55001,
            path: "/partitions/55001.parquet".into(),
            rows: 10,
            bytes: 1000,
            generation,
            cut_generation: Some(generation),
            fingerprint: None,
            written_ms: 0,
            hosts: vec!["dn1".into()],
            lost,
            job_id: None,
        }
    }

    /// Where a walk through the steps ends, without the data the steps carry.
    #[derive(Debug, PartialEq, Eq)]
    enum End {
        Answered,
        Job(Source),
        Rebuild { suspect_hosts: bool },
        Unavailable,
    }

    /// Follows the steps as `answer::answer` does, with the reuse's outcome and the
    /// NameNode's answer scripted; returns the I/O performed and where the walk ended.
    fn walk(
        record: Option<&PartitionRecord>,
        reuse: Result<(), Error>,
        stat: Stat,
    ) -> (Vec<&'static str>, End) {
        let (mut reuse, mut stat) = (Some(reuse), Some(stat));
        let mut io = Vec::new();
        let mut step = plan(record, GENERATION);
        loop {
            step = match step {
                Step::Reuse(record) => {
                    io.push("reuse");
                    match reuse.take().expect("one reuse") {
                        Ok(()) => return (io, End::Answered),
                        Err(e) => after_failed_reuse(record, &e),
                    }
                }
                Step::Stat(record, cause) => {
                    io.push("stat");
                    after_stat(record, cause, stat.take().expect("one stat"))
                }
                Step::Rebuild { suspect_hosts, .. } => {
                    return (io, End::Rebuild { suspect_hosts });
                }
                Step::Unavailable(_) => return (io, End::Unavailable),
                Step::Job(source) => return (io, End::Job(source)),
            }
        }
    }

    fn unreachable() -> Stat {
        Stat::Unreachable("connection refused".into())
    }

    fn not_found() -> Error {
        Error::NotFound("gone".into())
    }

    fn datanode() -> Error {
        Error::datanode("dn1", "connection reset")
    }

    /// Neither a missing file nor a DataNode's failure (e.g. a row count that disagrees).
    fn other() -> Error {
        Error::BadData("holds 9 rows, expected 10".into())
    }

    /// A row: its name, the stored record, the reuse's outcome, the NameNode's answer, then
    /// the I/O expected and where the decision ends.
    type Case<'a> = (
        &'a str,
        Option<&'a PartitionRecord>,
        Result<(), Error>,
        Stat,
        &'a [&'a str],
        End,
    );

    #[test]
    fn every_branch_of_the_decision() {
        let current = record(GENERATION, false);
        let lost = record(GENERATION, true);
        let older = record(GENERATION - 1, false);
        let older_lost = record(GENERATION - 1, true);
        let newer = record(GENERATION + 1, false);
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("no record", None, Ok(()), Stat::Present,
                &[], End::Job(Source::Create)),
            ("an older generation", Some(&older), Ok(()), Stat::Present,
                &[], End::Job(Source::Create)),
            ("an older generation, lost", Some(&older_lost), Ok(()), Stat::Present,
                &[], End::Job(Source::Create)),
            ("another generation", Some(&newer), Ok(()), Stat::Present,
                &[], End::Job(Source::Create)),
            ("current and readable", Some(&current), Ok(()), Stat::Present,
                &["reuse"], End::Answered),
            ("reuse: not found", Some(&current), Err(not_found()), Stat::Present,
                &["reuse"], End::Job(Source::Create)),
            ("reuse: a job's not found", Some(&current), Err(Error::Job(Arc::new(not_found()))), Stat::Present,
                &["reuse"], End::Job(Source::Create)),
            ("reuse: HDFS file not found", Some(&current), Err(Error::hdfs("read", hdfs_native::HdfsError::FileNotFound("x".into()))), Stat::Present,
                &["reuse"], End::Job(Source::Create)),
            ("reuse failed (DataNode), NameNode unreachable", Some(&current), Err(datanode()), unreachable(),
                &["reuse", "stat"], End::Unavailable),
            ("reuse failed (other), NameNode unreachable", Some(&current), Err(other()), unreachable(),
                &["reuse", "stat"], End::Unavailable),
            ("reuse failed (DataNode), file gone", Some(&current), Err(datanode()), Stat::Missing,
                &["reuse", "stat"], End::Job(Source::Create)),
            ("reuse failed (other), file gone", Some(&current), Err(other()), Stat::Missing,
                &["reuse", "stat"], End::Job(Source::Create)),
            ("reuse failed (DataNode), file present", Some(&current), Err(datanode()), Stat::Present,
                &["reuse", "stat"], End::Rebuild { suspect_hosts: true }),
            ("reuse timed out, file present", Some(&current), Err(Error::Timeout("block read".into())), Stat::Present,
                &["reuse", "stat"], End::Rebuild { suspect_hosts: true }),
            ("reuse failed (HDFS I/O), file present", Some(&current), Err(Error::hdfs("read", std::io::Error::other("reset").into())), Stat::Present,
                &["reuse", "stat"], End::Rebuild { suspect_hosts: true }),
            ("reuse failed (other), file present", Some(&current), Err(other()), Stat::Present,
                &["reuse", "stat"], End::Rebuild { suspect_hosts: false }),
            // Reuse's own check ("its DataNode is down"): the node is already suspected or
            // reported dead by the NameNode.
            ("reuse found its DataNode down, file present", Some(&current), Err(Error::Unavailable("down".into())), Stat::Present,
                &["reuse", "stat"], End::Rebuild { suspect_hosts: false }),
            ("lost earlier, file present", Some(&lost), Ok(()), Stat::Present,
                &["stat"], End::Job(Source::Recreate)),
            ("lost earlier, file gone", Some(&lost), Ok(()), Stat::Missing,
                &["stat"], End::Job(Source::Create)),
            ("lost earlier, NameNode unreachable", Some(&lost), Ok(()), unreachable(),
                &["stat"], End::Job(Source::Recreate)),
        ];
        for (name, record, reuse, stat, io, end) in cases {
            assert_eq!(walk(record, reuse, stat), (io.to_vec(), end), "{name}");
        }
    }

    #[test]
    fn a_down_namenode_fails_the_call_naming_the_file() {
        let current = record(GENERATION, false);
        let cause = Cause::Unreadable {
            datanode: false,
            reason: "x".into(),
        };
        assert_eq!(
            after_stat(&current, cause, unreachable()),
            Step::Unavailable(
                "cannot read /partitions/55001.parquet: HDFS NameNode unreachable \
                 (connection refused)"
                    .into()
            )
        );
    }

    #[test]
    fn a_rebuild_carries_the_record_and_why_it_failed() {
        let current = record(GENERATION, false);
        let Step::Stat(record, cause) = after_failed_reuse(&current, &datanode()) else {
            panic!("a DataNode failure asks the NameNode");
        };
        assert_eq!(
            after_stat(record, cause, Stat::Present),
            Step::Rebuild {
                record: &current,
                suspect_hosts: true,
                reason: "DataNode dn1: connection reset".into(),
            }
        );
    }

    #[test]
    fn a_stat_result_reads_as_present_missing_or_unreachable() {
        assert!(matches!(Stat::of(Ok(Some(()))), Stat::Present));
        assert!(matches!(Stat::of(Ok(None::<()>)), Stat::Missing));
        let down = Stat::of::<()>(Err(Error::Timeout("NameNode".into())));
        assert!(matches!(down, Stat::Unreachable(text) if text == "timed out: NameNode"));
    }
}
