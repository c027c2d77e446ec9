//! TCP probes of DataNodes: a connection, not a request. A DataNode busy writing may keep
//! a request waiting, but its kernel accepts connections as long as it runs; a killed node
//! refuses, a node cut off from the network stays silent.

use std::time::Duration;

use crate::{error::Error, spool::Progress};

/// A DataNode that did not accept a TCP connection, and how it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    pub host: String,
    /// What happened, for error texts ("10.0.0.1:9866 did not answer within 1500 ms").
    pub reason: String,
    /// The connection timed out: the host drops packets (cut off from the network), as
    /// opposed to refusing them (the process is gone but the host answers). A silent node
    /// stalls whoever writes to it until their own timeout; a refusing one fails them fast.
    pub silent: bool,
}

#[cfg(test)]
impl Unreachable {
    /// A probe's verdict for unit tests of what the server does with it.
    pub fn for_test(host: &str, silent: bool) -> Self {
        Unreachable {
            host: host.into(),
            reason: "a test".into(),
            silent,
        }
    }
}

/// Opens (and drops) a TCP connection to DataNode `host` at `addr`; `None` when it is
/// accepted within `timeout`. A connection, not a request: a DataNode busy writing may keep
/// a request waiting, but its kernel still accepts connections as long as it runs.
pub async fn probe_datanode(host: &str, addr: &str, timeout: Duration) -> Option<Unreachable> {
    let unreachable = |reason: String, silent| {
        Some(Unreachable {
            host: host.to_owned(),
            reason,
            silent,
        })
    };
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => unreachable(format!("{addr} refused the connection ({e})"), false),
        Err(_) => unreachable(
            format!("{addr} did not answer within {} ms", timeout.as_millis()),
            true,
        ),
    }
}

/// Resolves, with the error to report, once the DataNode receiving `target` stops
/// accepting connections; probes it every `every`. Never resolves while it answers.
pub(super) async fn watch_datanode(
    host: &str,
    addr: Option<String>,
    path: &str,
    every: Duration,
) -> Error {
    let Some(addr) = addr else {
        // Nothing to probe (a redirect without a port we can tell): the caller's stall bound bounds it.
        return std::future::pending().await;
    };
    loop {
        tokio::time::sleep(every).await;
        if let Some(lost) = probe_datanode(host, &addr, every).await {
            tracing::warn!(host = %lost.host, reason = %lost.reason, path = %path, "DataNode stopped answering during CREATE");
            return Error::datanode(
                lost.host,
                format!(
                    "CREATE {}: stopped answering while writing the file: {}",
                    path, lost.reason
                ),
            );
        }
    }
}

/// Resolves once `progress` has not advanced for `limit`, with how long it has not.
pub(super) async fn stalled(progress: &Progress, limit: Duration) -> Duration {
    loop {
        let idle = progress.idle();
        if idle >= limit {
            return idle;
        }
        tokio::time::sleep(limit - idle).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_probe_tells_a_refusing_node_from_an_answering_one() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap().to_string();
        assert_eq!(
            probe_datanode("dn1", &open, Duration::from_secs(1)).await,
            None
        );
        drop(listener);
        let refused = probe_datanode("dn1", &open, Duration::from_secs(1))
            .await
            .unwrap();
        assert!(!refused.silent && refused.host == "dn1", "{refused:?}");
        assert!(refused.reason.contains("refused"), "{refused:?}");
    }
}
