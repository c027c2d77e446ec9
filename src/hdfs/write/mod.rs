//! The one way a file reaches HDFS: a local spool file is sent through WebHDFS `CREATE` to
//! a DataNode we trust, under a temporary name, tried again through another DataNode when
//! one fails, and handed back staged for an atomic rename into place.
//!
//! Why WebHDFS: the DataNode that receives the bytes writes the file with the Java client,
//! which recovers a broken pipeline (drops the failed node, keeps writing) and excludes the
//! failed node when it asks for the next block. hdfs-native does neither, so with it a
//! DataNode death would cost the whole file. What we add on top: choosing the receiving
//! DataNode away from nodes we distrust, watching the write so that a dead or stalled
//! DataNode costs about one DataNode timeout rather than the Java client's minute, and
//! errors that name the DataNode that failed.
//!
//! Why one loop for every file: what a failed try teaches the next (which nodes to avoid,
//! when our suspicions are stale) is the same whatever the file; only how a try is watched
//! and how long to wait between tries depend on it, and those are options.
//!
//! Why a temporary name per try: a failed try's file may still be open on a DataNode that
//! went silent, and must not be overwritten or renamed by the next one; and a reader must
//! never see a partial file at the final path. The caller publishes ([`Staged`]) when the
//! file may appear: at once for a county file, under the export's swap lock for the export.

mod all_nodes;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use super::{
    client::{Hdfs, temp_path},
    probe::Unreachable,
    staged::Staged,
    webhdfs::{CreateOptions, Placement, WebHdfs},
};
use crate::{
    error::{Error, Result},
    spool::{Progress, Spool},
};

/// What a write knows of the DataNodes and tells back: the caller's memory of which nodes
/// failed lately, shared with its reads.
pub trait DataNodeHealth: Sync {
    /// Every host to keep away from now.
    fn avoid(&self, webhdfs: &WebHdfs) -> impl Future<Output = Vec<String>> + Send;
    /// Remembers that `host` failed us (how is not known).
    fn suspect(&self, host: &str);
    /// Remembers what a probe found: `node` did not accept a connection.
    fn suspect_unreachable(&self, node: &Unreachable);
    /// Whether a node suspected now was found silent (cut off rather than killed).
    fn any_silent(&self) -> bool;
    /// Drops every suspicion.
    fn forgive_all(&self);
}

/// How a try is watched while the DataNode writes.
#[derive(Debug, Clone, Copy)]
pub enum Watch {
    /// For a file still growing while it is sent: once bytes wait on the DataNode for a
    /// DataNode timeout, every live DataNode is probed, and the try is given up when the
    /// receiving node is gone, when a silent node may be in its pipeline, or after
    /// `patience` when every node answers. While a node is known silent the file is sent
    /// alone (replication 1) and raised to its replication once complete.
    AllDataNodes { patience: Duration },
    /// For a complete file: the receiving DataNode is probed every DataNode timeout, and a
    /// node that answers but takes no bytes (or does not confirm the file) for `stall` is
    /// busy: this write's next tries avoid it.
    Receiver { stall: Duration },
}

/// How long to wait before the next try.
#[derive(Debug, Clone, Copy)]
pub enum Backoff {
    /// After every failed try: `first`, doubling up to `max`.
    Doubling { first: Duration, max: Duration },
    /// `step` times the try number, and only after a failure that changes nothing for the
    /// next try: one that avoids a node the last one failed on needs no wait.
    Linear { step: Duration },
}

impl Backoff {
    /// The wait after failed try `try_number`; `changed` says whether the failure changed
    /// where the next try goes.
    fn after(self, try_number: u32, changed: bool) -> Option<Duration> {
        match self {
            Backoff::Doubling { first, max } => {
                let doublings = try_number.saturating_sub(1).min(16);
                Some(first.saturating_mul(1 << doublings).min(max))
            }
            Backoff::Linear { step } if !changed => Some(step.saturating_mul(try_number)),
            Backoff::Linear { .. } => None,
        }
    }
}

/// What a write is to produce and how hard it tries.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions<'a> {
    /// The complete file's replication.
    pub replication: u32,
    pub block_size: u64,
    /// Sends of the whole file before the write fails.
    pub tries: u32,
    pub backoff: Backoff,
    pub watch: Watch,
    /// Names the temporaries (`<tag>-<try>`): unique per job attempt, so that startup can
    /// tell a stopped process's leftovers and no two writers share a name.
    pub tag: &'a str,
}

/// What a write reaches: both HDFS clients, what we know of the DataNodes (it reads and adds
/// to it), and how long a DataNode may stay silent.
pub struct Writer<'a, H> {
    pub hdfs: &'a Hdfs,
    pub webhdfs: &'a WebHdfs,
    pub health: &'a H,
    pub datanode_timeout: Duration,
}

/// One try's file: where it goes, what it is, and how much of it the DataNode has taken.
struct OneTry<'a> {
    tmp: &'a str,
    source: &'a Spool,
    progress: &'a Progress,
    placement: Placement<'a>,
}

/// One try that went through: the DataNode that received the file, and the replication it
/// was sent with.
struct Sent {
    host: String,
    replication: u32,
}

impl<H: DataNodeHealth> Writer<'_, H> {
    /// Sends `source` (complete or still growing) to a temporary path next to `path`, as
    /// `options` say; returns it staged, for the caller to publish or discard. A failed
    /// write leaves no temporary behind.
    pub async fn write(
        &self,
        path: &str,
        source: &Spool,
        options: &WriteOptions<'_>,
    ) -> Result<Staged> {
        let mut last_error = None;
        // DataNodes too busy to take this file: avoided by this write's next tries only.
        let mut busy: Vec<String> = Vec::new();
        for try_number in 1..=options.tries {
            let tmp = try_temp_path(path, options.tag, try_number);
            let avoid = self.avoid(&busy).await;
            let started = Instant::now();
            let error = match self.send_once(source, &tmp, &avoid, options).await {
                Ok(Sent { host, replication }) => {
                    tracing::info!(path, tmp, %host, try_number, replication, ms = started.elapsed().as_millis() as u64, "upload complete");
                    return Ok(Staged::new(tmp, path, host));
                }
                Err(error) => error,
            };
            self.hdfs.remove_quietly(&tmp).await;
            if source.state().abandoned {
                // The encoder failed; its error is the one to report.
                return Err(error);
            }
            if !error.is_retryable() {
                return Err(error);
            }
            let changed = learn(self.health, path, try_number, &error, &avoid, &mut busy);
            if let Some(wait) = options.backoff.after(try_number, changed) {
                tokio::time::sleep(wait).await;
            }
            last_error = Some(error);
        }
        Err(last_error.unwrap_or_else(|| Error::Aborted(format!("writing {path}: no tries left"))))
    }

    /// The hosts the next try keeps away from: our suspicions, the NameNode's silent nodes,
    /// and the nodes this write found busy.
    async fn avoid(&self, busy: &[String]) -> Vec<String> {
        let mut avoid = self.health.avoid(self.webhdfs).await;
        for host in busy {
            if !avoid.contains(host) {
                avoid.push(host.clone());
            }
        }
        avoid
    }

    /// Sends the file once, to `tmp`, through a DataNode not in `avoid`, watched as the
    /// options say.
    async fn send_once(
        &self,
        source: &Spool,
        tmp: &str,
        avoid: &[String],
        options: &WriteOptions<'_>,
    ) -> Result<Sent> {
        let progress = Arc::new(Progress::default());
        let body = reqwest::Body::wrap_stream(source.follow(progress.clone()).await?);
        let replication = match options.watch {
            Watch::AllDataNodes { .. } => {
                send_replication(self.health.any_silent(), options.replication)
            }
            Watch::Receiver { .. } => options.replication,
        };
        let one = OneTry {
            tmp,
            source,
            progress: &progress,
            placement: Placement {
                replication,
                block_size: options.block_size,
                exclude: avoid,
            },
        };
        let host = match options.watch {
            Watch::AllDataNodes { patience } => {
                self.send_watching_all(&one, body, options.replication, patience)
                    .await?
            }
            Watch::Receiver { stall } => self.send_watching_receiver(&one, body, stall).await?,
        };
        Ok(Sent { host, replication })
    }

    /// One `CREATE` whose receiving DataNode alone is watched; a DataNode it blames is
    /// suspected, so that the next try and the reads avoid it.
    async fn send_watching_receiver(
        &self,
        one: &OneTry<'_>,
        body: reqwest::Body,
        stall: Duration,
    ) -> Result<String> {
        let options = CreateOptions {
            placement: one.placement,
            probe_every: self.datanode_timeout,
            stall,
        };
        let created = self
            .webhdfs
            .create(one.tmp, body, one.progress, &options)
            .await;
        if let Err(Error::DataNode { hosts, .. }) = &created {
            hosts.iter().for_each(|host| self.health.suspect(host));
        }
        created
    }
}

/// Takes in what a failed try teaches the next one, and says so in the log; returns
/// whether it changes where the next try goes.
fn learn(
    health: &impl DataNodeHealth,
    path: &str,
    try_number: u32,
    error: &Error,
    avoid: &[String],
    busy: &mut Vec<String>,
) -> bool {
    match error {
        Error::DataNode { hosts, message } => {
            tracing::warn!(path, try_number, ?hosts, %message, "DataNode failed the write; trying another");
            true
        }
        Error::Busy { host, message } => {
            tracing::warn!(path, try_number, host, %message, "DataNode too slow with the write; trying another");
            busy.push(host.clone());
            true
        }
        e if !avoid.is_empty() => {
            // The NameNode refuses when we exclude every node it has: our suspicions
            // are stale (a node came back). Forget them and let the NameNode choose.
            tracing::warn!(path, try_number, error = %e, ?avoid, "write refused; forgetting suspect DataNodes");
            health.forgive_all();
            busy.clear();
            true
        }
        e => {
            tracing::warn!(path, try_number, error = %e, "upload failed; sending the file again from the spool");
            false
        }
    }
}

/// The replication to send a file with now: 1 while a DataNode is known silent, so that no
/// pipeline can include it (the receiving DataNode would forward to it and wait 60 s per
/// block, and the NameNode keeps choosing it for about 90 s); otherwise the file's own,
/// since a killed node refuses at once and the receiving DataNode's client drops it from
/// the pipeline.
fn send_replication(any_silent: bool, replication: u32) -> u32 {
    if any_silent {
        all_nodes::SOLO_REPLICATION
    } else {
        replication
    }
}

/// The temporary name of try `try_number` of the write tagged `tag` to `path`.
fn try_temp_path(path: &str, tag: &str, try_number: u32) -> String {
    temp_path(path, &format!("{tag}-{try_number}"))
}

#[cfg(test)]
mod tests;
