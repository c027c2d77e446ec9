//! Watching a try of a file that grows while it is sent ([`Watch::AllDataNodes`]): bytes may
//! wait on the encoder rather than on HDFS, so progress alone cannot tell a stalled write,
//! and any DataNode of the pipeline may be the one that stalls it, so every live one is
//! probed.
//!
//! A DataNode cut off from the network (silent, packets dropped) is worse than a killed
//! one: on stock settings the NameNode keeps placing blocks on it for about 90 s, and the
//! receiving DataNode's pipeline waits 60 s per block towards it, while a killed node
//! refuses at once and is dropped from the pipeline. So while a node is known silent the
//! file is sent with replication 1 (the receiving DataNode writes alone, no pipeline can
//! reach the silent node), then raised to its replication once complete; the NameNode
//! copies its blocks in the background.
//!
//! [`Watch::AllDataNodes`]: super::Watch::AllDataNodes

use std::time::{Duration, Instant};

use super::{DataNodeHealth, OneTry, Writer};
use crate::{
    error::{Error, Result},
    hdfs::webhdfs::CreateTarget,
};

/// The replication a file is sent with while a DataNode is known silent: the receiving
/// DataNode writes alone.
pub(super) const SOLO_REPLICATION: u32 = 1;

/// Tries at raising a complete file's replication (a NameNode call) before its try counts
/// as failed; sending the file again costs far more than a short wait.
const RAISE_TRIES: u32 = 4;

impl<H: DataNodeHealth> Writer<'_, H> {
    /// Sends the file once as `one` says; a file sent with less than `replication` is
    /// raised to it once complete. Returns the receiving DataNode's host.
    pub(super) async fn send_watching_all(
        &self,
        one: &OneTry<'_>,
        body: reqwest::Body,
        replication: u32,
        patience: Duration,
    ) -> Result<String> {
        let target = self.webhdfs.create_target(one.tmp, &one.placement).await?;
        tokio::select! {
            sent = self.webhdfs.send(&target, body) => match sent {
                Ok(()) => Ok(()),
                Err(e) => Err(self.blame_datanodes(e).await),
            },
            stalled = self.watch_growing(one, &target, patience) => Err(stalled),
        }?;
        if one.placement.replication < replication {
            self.raise_replication(one.tmp, replication).await?;
        }
        Ok(target.host)
    }

    /// Raises the complete file `tmp` to `replication`: its status reports it at once, and
    /// the NameNode copies the blocks to nodes of its choosing in the background (nobody
    /// waits on a silent node for it). A few tries with backoff.
    async fn raise_replication(&self, tmp: &str, replication: u32) -> Result<()> {
        let mut backoff = Duration::from_millis(200);
        for try_number in 1..=RAISE_TRIES {
            match self.hdfs.set_replication(tmp, replication).await {
                Ok(()) => {
                    tracing::info!(
                        tmp,
                        replication,
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

    /// Resolves, with the error to report, once the try stalls: bytes are ready but the
    /// DataNode takes none for a DataNode timeout (or, after the last byte, does not confirm
    /// the file), and a probe finds a DataNode that does not answer. Sending again from the
    /// spool beats waiting when the receiving DataNode itself is gone, and soon also when
    /// another node is (the receiving node's client takes 12 s to give up on it). When every
    /// node answers, the machine is just slow: up to `patience` before we send again.
    async fn watch_growing(
        &self,
        one: &OneTry<'_>,
        target: &CreateTarget,
        patience: Duration,
    ) -> Error {
        let stall = self.datanode_timeout.max(Duration::from_millis(500));
        let mut pending_since: Option<Instant> = None;
        loop {
            tokio::time::sleep(stall / 4).await;
            let state = one.source.state();
            let sent = one.progress.sent();
            let closing = state.done && sent >= state.len;
            if sent >= state.len && !closing {
                pending_since = None; // waiting for the encoder, not for HDFS
                continue;
            }
            let since = *pending_since.get_or_insert_with(Instant::now);
            let idle = one.progress.idle().min(since.elapsed());
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
                // The receiving DataNode is gone: nobody will finish this try.
                Some(b) if b.names(&target.host) => true,
                // Another node is silent and may be in this try's pipeline, where the
                // receiving node's client waits 60 s per block on it: send again alone.
                Some(_)
                    if one.placement.replication > SOLO_REPLICATION && self.health.any_silent() =>
                {
                    true
                }
                // Another node refuses, probably in the pipeline: the receiving node's client
                // drops it and goes on; give it a moment before sending again.
                Some(_) => idle >= stall * 3,
                None => idle >= patience,
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

    /// After a failed try, finds the DataNodes that do not answer, remembers them as
    /// suspect, and names them in the error: the cause is the node, not the write.
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
