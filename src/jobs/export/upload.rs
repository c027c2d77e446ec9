//! The export's upload: the spool file goes to HDFS through WebHDFS while it grows, and when
//! a DataNode fails it goes again, from its first byte, through another DataNode.
//!
//! Why WebHDFS: the DataNode that receives the bytes writes the file with the Java client,
//! which recovers a broken pipeline (drops the failed node, keeps writing) and excludes the
//! failed node when it asks for the next block. hdfs-native does neither, so with it a
//! DataNode death would cost the whole export. What we add on top: choosing the receiving
//! DataNode away from nodes we distrust, a watchdog that notices a stalled write within
//! about one DataNode timeout (not 60 s), and errors that name the DataNode that failed.
//!
//! A DataNode cut off from the network (silent, packets dropped) is worse than a killed
//! one: on stock settings the NameNode keeps placing blocks on it for about 90 s, and the
//! receiving DataNode's pipeline waits 60 s per block towards it, while a killed node
//! refuses at once and is dropped from the pipeline. So while a node is known silent the
//! file is sent with replication 1 (the receiving DataNode writes alone, no pipeline can
//! reach the silent node), then raised to its replication once complete; the NameNode
//! copies its blocks in the background.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use crate::jobs::{health::NodeHealth, services::Services};
use crate::{
    config::{BLOCK_SIZE, EXPORT_REPLICATION},
    error::{Error, Result},
    hdfs::{CreateTarget, Hdfs, WebHdfs, temp_path},
    spool::{Progress, Spool},
};

/// Sends of the whole file before the attempt fails. A failed send costs a few DataNode
/// timeouts at most; the next one avoids the nodes that failed, and keeps a silent node out
/// of its pipeline by going alone (stock NameNodes keep placing blocks on a stale node).
const UPLOAD_TRIES: u32 = 8;

/// The replication an upload uses while a DataNode is known silent: the receiving DataNode
/// writes alone.
const SOLO_REPLICATION: u32 = 1;

/// Tries at raising a complete file's replication (a NameNode call) before its upload
/// counts as failed; sending the file again costs far more than a short wait.
const RAISE_TRIES: u32 = 4;

/// How long an upload may stall while every DataNode answers our probes (a busy machine, a
/// long garbage collection) before we send the file again anyway.
const PATIENCE: Duration = Duration::from_secs(12);

/// What an upload reaches: both HDFS clients, what we know of the DataNodes (it reads and
/// adds to it), and how long a DataNode may stay silent.
pub(super) struct Uploader<'a> {
    hdfs: &'a Hdfs,
    webhdfs: &'a WebHdfs,
    health: &'a NodeHealth,
    datanode_timeout: Duration,
}

impl<'a> Uploader<'a> {
    pub(super) fn new(services: &'a Services) -> Self {
        Uploader {
            hdfs: &services.hdfs,
            webhdfs: &services.webhdfs,
            health: &services.health,
            datanode_timeout: services.config.datanode_timeout,
        }
    }

    /// Uploads the (growing) spool to a temporary path next to `path`; returns that path.
    pub(super) async fn upload_spool(
        &self,
        spool: &Spool,
        path: &str,
        tag: &str,
    ) -> Result<String> {
        let mut last_error = None;
        let mut backoff = Duration::from_millis(200);
        for try_number in 1..=UPLOAD_TRIES {
            let tmp = temp_path(path, &format!("{tag}-{try_number}"));
            let avoid = self.health.avoid(self.webhdfs).await;
            let replication = upload_replication(self.health);
            let started = Instant::now();
            let error = match self.upload_once(spool, &tmp, &avoid, replication).await {
                Ok(host) => {
                    tracing::info!(path, tmp, %host, try_number, replication, ms = started.elapsed().as_millis() as u64, "upload complete");
                    return Ok(tmp);
                }
                Err(error) => error,
            };
            self.hdfs.remove_quietly(&tmp).await;
            if spool.state().abandoned {
                // The encoder failed; its error is the one to report.
                return Err(error);
            }
            if !error.is_retryable() {
                return Err(error);
            }
            if !avoid.is_empty() && !matches!(error, Error::DataNode { .. }) {
                // The NameNode refuses when we exclude every node it has: our suspicions
                // are stale (a node came back). Forget them and let the NameNode choose.
                self.health.forgive_all();
            }
            tracing::warn!(path, try_number, error = %error, "upload failed; sending the file again from the spool");
            last_error = Some(error);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
        Err(last_error
            .unwrap_or_else(|| Error::Aborted(format!("uploading {path}: no tries left"))))
    }

    /// Sends the spool once, to `tmp` with `replication`, through a DataNode not in
    /// `avoid`; a file sent with less than [`EXPORT_REPLICATION`] is raised to it once
    /// complete. Returns the receiving DataNode's host.
    async fn upload_once(
        &self,
        spool: &Spool,
        tmp: &str,
        avoid: &[String],
        replication: u32,
    ) -> Result<String> {
        let target = self
            .webhdfs
            .create_target(tmp, replication, BLOCK_SIZE, avoid)
            .await?;
        let progress = Arc::new(Progress::default());
        let body = reqwest::Body::wrap_stream(spool.follow(progress.clone()).await?);
        tokio::select! {
            sent = self.webhdfs.send(&target, body) => match sent {
                Ok(()) => Ok(()),
                Err(e) => Err(self.blame_datanodes(e).await),
            },
            stalled = self.watch_upload(spool, &progress, &target, replication) => Err(stalled),
        }?;
        if replication < EXPORT_REPLICATION {
            self.raise_replication(tmp).await?;
        }
        Ok(target.host)
    }

    /// Raises the complete file `tmp` to [`EXPORT_REPLICATION`]: its status reports it at
    /// once, and the NameNode copies the blocks to nodes of its choosing in the background
    /// (nobody waits on a silent node for it). A few tries with backoff.
    async fn raise_replication(&self, tmp: &str) -> Result<()> {
        let mut backoff = Duration::from_millis(200);
        for try_number in 1..=RAISE_TRIES {
            match self.hdfs.set_replication(tmp, EXPORT_REPLICATION).await {
                Ok(()) => {
                    tracing::info!(
                        tmp,
                        replication = EXPORT_REPLICATION,
                        "replication raised; the NameNode copies the blocks"
                    );
                    return Ok(());
                }
                Err(e) if e.is_retryable() && try_number < RAISE_TRIES => {
                    tracing::warn!(tmp, try_number, error = %e, "raising the replication failed; trying again");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::Aborted(format!(
            "raising the replication of {tmp}: no tries left"
        )))
    }

    /// Resolves, with the error to report, once the upload stalls: bytes are ready but the
    /// DataNode takes none for a DataNode timeout (or, after the last byte, does not confirm
    /// the file), and a probe finds a DataNode that does not answer. Sending again from the
    /// spool beats waiting when the receiving DataNode itself is gone, and soon also when
    /// another node is (the receiving node's client takes 12 s to give up on it). When every
    /// node answers, the machine is just slow: up to `PATIENCE` before we send again.
    async fn watch_upload(
        &self,
        spool: &Spool,
        progress: &Progress,
        target: &CreateTarget,
        replication: u32,
    ) -> Error {
        let stall = self.datanode_timeout.max(Duration::from_millis(500));
        let mut pending_since: Option<Instant> = None;
        loop {
            tokio::time::sleep(stall / 4).await;
            let state = spool.state();
            let sent = progress.sent();
            let closing = state.done && sent >= state.len;
            if sent >= state.len && !closing {
                pending_since = None; // waiting for the encoder, not for HDFS
                continue;
            }
            let since = *pending_since.get_or_insert_with(Instant::now);
            let idle = progress.idle().min(since.elapsed());
            if idle < stall {
                continue;
            }
            let what = if closing {
                format!(
                    "DataNode {} has not confirmed the file {} ms after its last byte",
                    target.host,
                    idle.as_millis()
                )
            } else {
                format!(
                    "DataNode {} took no data for {} ms ({sent} of {} bytes sent)",
                    target.host,
                    idle.as_millis(),
                    state.len
                )
            };
            let blamed = self.probe_datanodes(&what).await;
            let give_up = match &blamed {
                // The receiving DataNode is gone: nobody will finish this upload.
                Some(b) if b.names(&target.host) => true,
                // Another node is silent and may be in this upload's pipeline, where the
                // receiving node's client waits 60 s per block on it: send again alone.
                Some(_) if replication > SOLO_REPLICATION && self.health.any_silent() => true,
                // Another node refuses, probably in the pipeline: the receiving node's client
                // drops it and goes on; give it a moment before sending again.
                Some(_) => idle >= stall * 3,
                None => idle >= PATIENCE,
            };
            if give_up {
                return blamed.unwrap_or_else(|| {
                    self.health.suspect(&target.host);
                    Error::datanode(
                        target.host.clone(),
                        format!("{what}, although every DataNode answers"),
                    )
                });
            }
        }
    }

    /// After a failed upload, finds the DataNodes that do not answer, remembers them as
    /// suspect, and names them in the error: the cause is the node, not the upload.
    async fn blame_datanodes(&self, error: Error) -> Error {
        if !error.is_datanode_failure() {
            return error;
        }
        match self.probe_datanodes(&error.to_string()).await {
            Some(blamed) => blamed,
            None => {
                if let Error::DataNode { hosts, .. } = &error {
                    hosts.iter().for_each(|host| self.health.suspect(host));
                }
                error
            }
        }
    }

    /// Probes every DataNode the NameNode lists as live; if some do not answer, suspects
    /// them and returns an error naming them, with `symptom` (what we saw) for context.
    async fn probe_datanodes(&self, symptom: &str) -> Option<Error> {
        let down = self
            .webhdfs
            .namenode()
            .unreachable_datanodes(self.datanode_timeout)
            .await
            .unwrap_or_default();
        if down.is_empty() {
            return None;
        }
        for node in &down {
            self.health.suspect_unreachable(node);
        }
        let reasons: Vec<&str> = down.iter().map(|n| n.reason.as_str()).collect();
        Some(Error::DataNode {
            hosts: down.iter().map(|n| n.host.clone()).collect(),
            message: format!("{} ({symptom})", reasons.join("; ")),
        })
    }
}

/// The replication to send the export with now: [`SOLO_REPLICATION`] while a DataNode is
/// known silent, so that no pipeline can include it (the receiving DataNode would forward
/// to it and wait 60 s per block, and the NameNode keeps choosing it for about 90 s);
/// otherwise [`EXPORT_REPLICATION`], since a killed node refuses at once and the receiving
/// DataNode's client drops it from the pipeline.
fn upload_replication(health: &NodeHealth) -> u32 {
    if health.any_silent() {
        SOLO_REPLICATION
    } else {
        EXPORT_REPLICATION
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hdfs::Unreachable;

    #[test]
    fn a_silent_node_makes_the_upload_go_alone_and_a_killed_one_does_not() {
        let health = NodeHealth::default();
        assert_eq!(upload_replication(&health), EXPORT_REPLICATION);
        health.suspect_unreachable(&Unreachable::for_test("dn1", false));
        assert_eq!(upload_replication(&health), EXPORT_REPLICATION);
        health.suspect_unreachable(&Unreachable::for_test("dn2", true));
        assert_eq!(upload_replication(&health), SOLO_REPLICATION);
        health.forgive_all();
        assert_eq!(upload_replication(&health), EXPORT_REPLICATION);
    }
}
