//! The NameNode's JMX view of the DataNodes: which are live, silent or dead, and where
//! each takes data (its transfer address), plus TCP probes of the live ones.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    time::Duration,
};

use reqwest::Url;
use serde::Deserialize;

use super::probe::{Unreachable, probe_datanode};
use crate::error::{Error, Result};

/// The NameNode's JMX endpoint, on the same HTTP client as WebHDFS.
#[derive(Clone)]
pub struct NameNode {
    http: reqwest::Client,
    base: Url,
}

/// How the NameNode sees a DataNode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    Live,
    /// Listed as live, but no heartbeat for a while (the NameNode waits up to 90 s to say dead).
    Silent,
    Dead,
}

/// A DataNode is treated as down once this many seconds pass without a heartbeat
/// (heartbeats come every 1 to 3 s; the NameNode itself waits up to 90 s to say "dead").
const SILENT_AFTER_SECS: i64 = 6;

#[derive(Deserialize)]
struct JmxReply {
    beans: Vec<NameNodeInfo>,
}

#[derive(Deserialize)]
struct NameNodeInfo {
    #[serde(rename = "LiveNodes", default)]
    live_nodes: String,
    #[serde(rename = "DeadNodes", default)]
    dead_nodes: String,
}

#[derive(Deserialize)]
struct NodeInfo {
    #[serde(rename = "lastContact", default)]
    last_contact: i64,
    #[serde(default)]
    xferaddr: Option<String>,
}

impl NameNode {
    pub(super) fn new(http: reqwest::Client, base: Url) -> Self {
        NameNode { http, base }
    }

    /// DataNodes the NameNode lists as live that do not accept a TCP connection on their
    /// data transfer port within `timeout`, with what happened: a killed node refuses, a
    /// cut-off one stays silent. A connection, not a request: a live DataNode busy writing
    /// may leave an HTTP request waiting, but its kernel still accepts the connection.
    pub async fn unreachable_datanodes(&self, timeout: Duration) -> Result<Vec<Unreachable>> {
        let mut nodes = Vec::new();
        for bean in self.namenode_info().await? {
            let live: BTreeMap<String, NodeInfo> =
                serde_json::from_str(&bean.live_nodes).unwrap_or_default();
            for (name, info) in live {
                if let Some(addr) = info.xferaddr {
                    nodes.push((host_of(&name).to_owned(), addr));
                }
            }
        }
        let probes = nodes
            .iter()
            .map(|(host, addr)| probe_datanode(host, addr, timeout));
        Ok(futures::future::join_all(probes)
            .await
            .into_iter()
            .flatten()
            .collect())
    }

    /// Host name -> "ip:transfer port" of every DataNode the NameNode knows.
    pub(super) async fn transfer_addresses(&self) -> Result<HashMap<String, String>> {
        let mut addresses = HashMap::new();
        for bean in self.namenode_info().await? {
            for nodes in [bean.live_nodes, bean.dead_nodes] {
                let nodes: BTreeMap<String, NodeInfo> =
                    serde_json::from_str(&nodes).unwrap_or_default();
                for (name, info) in nodes {
                    if let Some(addr) = info.xferaddr {
                        addresses.insert(host_of(&name).to_owned(), addr);
                    }
                }
            }
        }
        Ok(addresses)
    }

    /// DataNode hosts the NameNode reports dead, or has not heard from for a while.
    pub async fn silent_datanodes(&self) -> Result<HashSet<String>> {
        Ok(self
            .datanodes()
            .await?
            .into_iter()
            .filter(|(_, state)| *state != NodeState::Live)
            .map(|(host, _)| host)
            .collect())
    }

    /// Every DataNode the NameNode knows, with how it sees it.
    pub async fn datanodes(&self) -> Result<BTreeMap<String, NodeState>> {
        let mut nodes = BTreeMap::new();
        for bean in self.namenode_info().await? {
            let live: BTreeMap<String, NodeInfo> =
                serde_json::from_str(&bean.live_nodes).unwrap_or_default();
            let dead: BTreeMap<String, NodeInfo> =
                serde_json::from_str(&bean.dead_nodes).unwrap_or_default();
            for (name, info) in live {
                let state = if info.last_contact > SILENT_AFTER_SECS {
                    NodeState::Silent
                } else {
                    NodeState::Live
                };
                nodes.insert(host_of(&name).to_owned(), state);
            }
            for (name, _) in dead {
                nodes.insert(host_of(&name).to_owned(), NodeState::Dead);
            }
        }
        Ok(nodes)
    }

    async fn namenode_info(&self) -> Result<Vec<NameNodeInfo>> {
        let mut url = self.base.clone();
        url.set_path("/jmx");
        url.set_query(Some("qry=Hadoop:service=NameNode,name=NameNodeInfo"));
        let fail = |message: String| Error::WebHdfs {
            context: "NameNode JMX".into(),
            message,
        };
        let reply: JmxReply = self
            .http
            .get(url)
            .timeout(Duration::from_millis(500))
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?
            .json()
            .await
            .map_err(|e| fail(e.to_string()))?;
        Ok(reply.beans)
    }
}

/// "dn1:9866" -> "dn1"
fn host_of(node: &str) -> &str {
    node.rsplit_once(':').map_or(node, |(host, _)| host)
}
