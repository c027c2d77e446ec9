//! The export's upload: the spool file goes to HDFS through the write path
//! ([`crate::hdfs::Writer`]) while it grows, and when a DataNode fails it goes again, from its
//! first byte, through another DataNode. What is particular to the export is here: a file
//! still growing is watched by probing every DataNode, and it may be sent many times, since
//! a failed send costs a few DataNode timeouts while failing the attempt would cost its
//! whole MySQL query.

use std::time::Duration;

use crate::{
    config::{BLOCK_SIZE, EXPORT_REPLICATION},
    hdfs::{Backoff, Watch, WriteOptions},
};

/// Sends of the whole file before the attempt fails. A failed send costs a few DataNode
/// timeouts at most; the next one avoids the nodes that failed, and keeps a silent node out
/// of its pipeline by going alone (stock NameNodes keep placing blocks on a stale node).
const UPLOAD_TRIES: u32 = 8;

/// How long an upload may stall while every DataNode answers our probes (a busy machine, a
/// long garbage collection) before we send the file again anyway.
const PATIENCE: Duration = Duration::from_secs(12);

/// Between sends: short at first (the next send avoids the node that failed), longer when
/// sends keep failing (the NameNode may be restarting).
const UPLOAD_BACKOFF: Backoff = Backoff::Doubling {
    first: Duration::from_millis(200),
    max: Duration::from_secs(2),
};

/// How the export's spool is written: at its replication, watched as a growing file, its
/// temporaries named after the attempt (`tag`).
pub(super) fn upload_options(tag: &str) -> WriteOptions<'_> {
    WriteOptions {
        replication: EXPORT_REPLICATION,
        block_size: BLOCK_SIZE,
        tries: UPLOAD_TRIES,
        backoff: UPLOAD_BACKOFF,
        watch: Watch::AllDataNodes { patience: PATIENCE },
        tag,
    }
}
