//! The NameNode's HTTP API (WebHDFS and JMX): where a file's blocks are, and which
//! DataNodes the NameNode considers alive. hdfs-native does not expose block locations.

use std::{collections::BTreeMap, time::Duration};

use reqwest::{StatusCode, Url};
use serde::Deserialize;

use crate::{
    error::{Error, Result},
    spool::Progress,
};

/// Longest path we accept; HDFS itself limits a path to 8000 bytes.
const MAX_PATH_LEN: usize = 4096;

/// Longest a DataNode writing a file through [`WebHdfs::create`] may take no bytes (or, after
/// the last one, not confirm the file) while it keeps answering our probes: far above a
/// healthy stock cluster's seconds to close a file, far below the NameNode's 90 s to declare
/// a node dead. A bound on a stall, not on the whole write: a large file takes as long as
/// its bytes need.
pub const CREATE_STALL: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct WebHdfs {
    http: reqwest::Client,
    /// For CREATE: we follow the NameNode's redirect ourselves, to see which DataNode it chose.
    no_redirect: reqwest::Client,
    base: Url,
    /// Sent as `user.name` on every request: with no user, stock Hadoop runs the request as
    /// `dr.who`, which permissions keep from writing anywhere we write.
    user: String,
}

/// Where the NameNode sent a CREATE: the DataNode that will write the file.
#[derive(Debug, Clone)]
pub struct CreateTarget {
    pub host: String,
    url: Url,
    path: String,
}

impl CreateTarget {
    /// "host:port" of the DataNode's HTTP server that receives the file, for probing it.
    fn probe_addr(&self) -> Option<String> {
        let host = self.url.host_str()?;
        let port = self.url.port_or_known_default()?;
        Some(format!("{host}:{port}"))
    }
}

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
async fn watch_datanode(target: &CreateTarget, every: Duration) -> Error {
    let Some(addr) = target.probe_addr() else {
        // Nothing to probe (a redirect without a port we can tell): CREATE_STALL bounds it.
        return std::future::pending().await;
    };
    loop {
        tokio::time::sleep(every).await;
        if let Some(lost) = probe_datanode(&target.host, &addr, every).await {
            tracing::warn!(host = %lost.host, reason = %lost.reason, path = %target.path, "DataNode stopped answering during CREATE");
            return Error::datanode(
                lost.host,
                format!(
                    "CREATE {}: stopped answering while writing the file: {}",
                    target.path, lost.reason
                ),
            );
        }
    }
}

/// Resolves once `progress` has not advanced for `limit`, with how long it has not.
async fn stalled(progress: &Progress, limit: Duration) -> Duration {
    loop {
        let idle = progress.idle();
        if idle >= limit {
            return idle;
        }
        tokio::time::sleep(limit - idle).await;
    }
}

/// One block and the DataNode hosts holding a replica.
#[derive(Debug, Clone, Deserialize)]
pub struct BlockLocation {
    pub hosts: Vec<String>,
}

#[derive(Deserialize)]
struct LocationsReply {
    #[serde(rename = "BlockLocations")]
    locations: LocationsInner,
}

#[derive(Deserialize)]
struct LocationsInner {
    #[serde(rename = "BlockLocation", default)]
    blocks: Vec<BlockLocation>,
}

#[derive(Deserialize)]
struct StatusReply {
    #[serde(rename = "FileStatus")]
    status: FileStatusJson,
}

#[derive(Deserialize)]
struct FileStatusJson {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct RemoteExceptionReply {
    #[serde(rename = "RemoteException")]
    exception: RemoteException,
}

#[derive(Deserialize)]
struct RemoteException {
    #[serde(default)]
    exception: String,
    #[serde(default)]
    message: String,
}

impl WebHdfs {
    /// A client for the NameNode at `base` whose requests run as HDFS user `user`.
    pub fn new(base: &str, user: &str) -> Result<Self> {
        let base = Url::parse(base).map_err(|e| Error::WebHdfs {
            context: format!("NameNode address {base}"),
            message: e.to_string(),
        })?;
        if user.trim().is_empty() {
            return Err(Error::WebHdfs {
                context: format!("NameNode address {base}"),
                message: "the HDFS user name is empty".into(),
            });
        }
        let build = |redirects| {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(30))
                .redirect(redirects)
                .build()
                .map_err(|e| Error::WebHdfs {
                    context: "building HTTP client".into(),
                    message: e.to_string(),
                })
        };
        Ok(WebHdfs {
            http: build(reqwest::redirect::Policy::default())?,
            no_redirect: build(reqwest::redirect::Policy::none())?,
            base,
            user: user.to_owned(),
        })
    }

    /// For each DataNode host, how many of the file's blocks it stores.
    pub async fn blocks_per_host(&self, path: &str) -> Result<BTreeMap<String, i32>> {
        let blocks = self.block_locations(path).await?;
        if blocks.is_empty() && self.is_directory(path).await? {
            return Err(Error::InvalidInput(format!(
                "{path} is a directory, not a file"
            )));
        }
        Ok(count_per_host(&blocks))
    }

    pub async fn block_locations(&self, path: &str) -> Result<Vec<BlockLocation>> {
        validate_path(path)?;
        let reply: LocationsReply = self.get_json(path, "GETFILEBLOCKLOCATIONS").await?;
        Ok(reply.locations.blocks)
    }

    /// How many blocks the NameNode lists for a file.
    pub async fn block_count(&self, path: &str) -> Result<u64> {
        Ok(self.block_locations(path).await?.len() as u64)
    }

    async fn is_directory(&self, path: &str) -> Result<bool> {
        let reply: StatusReply = self.get_json(path, "GETFILESTATUS").await?;
        Ok(reply.status.kind == "DIRECTORY")
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(&self, path: &str, op: &str) -> Result<T> {
        let url = self.op_url(path, op)?;
        let context = || format!("{op} {path}");
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| Error::WebHdfs {
                context: context(),
                message: format!("NameNode at {} unreachable: {e}", self.base),
            })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| Error::WebHdfs {
            context: context(),
            message: e.to_string(),
        })?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| Error::WebHdfs {
                context: context(),
                message: format!("unexpected reply: {e}"),
            });
        }
        let remote = serde_json::from_slice::<RemoteExceptionReply>(&body)
            .ok()
            .map(|r| r.exception);
        Err(match (status, remote) {
            (_, Some(remote)) if remote.message.starts_with("Path is not a file") => {
                Error::InvalidInput(format!("{path} is a directory, not a file"))
            }
            (StatusCode::NOT_FOUND, _) => Error::NotFound(format!("{path}: no such file in HDFS")),
            (_, Some(remote)) if remote.exception == "FileNotFoundException" => {
                Error::NotFound(format!("{path}: no such file in HDFS"))
            }
            (_, Some(remote)) => Error::WebHdfs {
                context: context(),
                message: format!("{}: {}", remote.exception, remote.message),
            },
            (status, None) => Error::WebHdfs {
                context: context(),
                message: format!("HTTP {status}"),
            },
        })
    }

    /// Asks the NameNode where to create `path` (overwriting): it picks a DataNode other than
    /// those in `exclude` (host names as in block locations), and that DataNode writes the
    /// file itself with the Java client, pipeline recovery included. hdfs-native can neither
    /// exclude nodes nor recover a pipeline, which matters while the NameNode still believes
    /// a dead node is alive.
    pub async fn create_target(
        &self,
        path: &str,
        replication: u32,
        block_size: u64,
        exclude: &[String],
    ) -> Result<CreateTarget> {
        let mut url = self.create_url(path, replication, block_size)?;
        if !exclude.is_empty() {
            let addresses = self.transfer_addresses().await.unwrap_or_default();
            let excluded: Vec<&str> = exclude
                .iter()
                .map(|h| addresses.get(h).map_or(h.as_str(), String::as_str))
                .collect();
            url.query_pairs_mut()
                .append_pair("excludedatanodes", &excluded.join(","));
        }
        let fail = |message: String| Error::WebHdfs {
            context: format!("CREATE {path}"),
            message,
        };
        let reply = self
            .no_redirect
            .put(url)
            .send()
            .await
            .map_err(|e| fail(format!("NameNode unreachable: {e}")))?;
        let location = reply
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| Url::parse(l).ok());
        match location {
            Some(url) => Ok(CreateTarget {
                host: url.host_str().unwrap_or_default().to_owned(),
                url,
                path: path.to_owned(),
            }),
            None => {
                let status = reply.status();
                let body = reply.text().await.unwrap_or_default();
                Err(fail(format!(
                    "NameNode answered {status} without choosing a DataNode: {}",
                    shorten(&body)
                )))
            }
        }
    }

    /// Creates `path` from `body` through a DataNode chosen as in
    /// [`WebHdfs::create_target`]; `progress` counts the bytes the body has handed over.
    /// Returns the DataNode's host.
    ///
    /// The write has no fixed deadline: a healthy DataNode of a stock cluster may take
    /// seconds to close a file (its pipeline, its disk), and a large file takes as long as
    /// its bytes need. Instead the DataNode is probed by a TCP connection every
    /// `probe_every` while it writes; when it stops accepting connections (killed or cut
    /// off), the write fails at once with [`Error::DataNode`] naming it, so the caller can
    /// exclude it next time. A DataNode that still answers but takes no bytes (or does not
    /// confirm the file) for [`CREATE_STALL`] fails the same way.
    #[allow(clippy::too_many_arguments)]
    pub async fn create(
        &self,
        path: &str,
        body: reqwest::Body,
        progress: &Progress,
        replication: u32,
        block_size: u64,
        exclude: &[String],
        probe_every: Duration,
    ) -> Result<String> {
        let target = self
            .create_target(path, replication, block_size, exclude)
            .await?;
        tokio::select! {
            sent = self.send(&target, body) => sent.map(|()| target.host),
            lost = watch_datanode(&target, probe_every) => Err(lost),
            idle = stalled(progress, CREATE_STALL) => Err(Error::datanode(
                target.host.clone(),
                format!(
                    "CREATE {path}: answers probes but took no bytes or did not confirm the file for {} s ({} bytes sent)",
                    idle.as_secs(),
                    progress.sent()
                ),
            )),
        }
    }

    /// Sends a file's bytes to the DataNode the NameNode chose; returns once the DataNode
    /// has closed the file. No time limit of its own: a streamed body may take minutes, so
    /// the caller watches progress instead.
    pub async fn send(&self, target: &CreateTarget, body: reqwest::Body) -> Result<()> {
        let host = &target.host;
        let context = || format!("CREATE {}", target.path);
        let reply = self
            .no_redirect
            .put(target.url.clone())
            .timeout(Duration::from_secs(24 * 3600))
            .body(body)
            .send()
            .await
            .map_err(|e| {
                let cause = std::error::Error::source(&e)
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default();
                if e.is_connect() {
                    Error::datanode(host, format!("{}: could not connect{cause}", context()))
                } else {
                    Error::datanode(
                        host,
                        format!("{}: the write broke off ({e}{cause})", context()),
                    )
                }
            })?;
        if reply.status() != StatusCode::CREATED {
            let status = reply.status();
            let body = reply.text().await.unwrap_or_default();
            return Err(Error::WebHdfs {
                context: context(),
                message: format!("DataNode {host} answered {status}: {}", shorten(&body)),
            });
        }
        Ok(())
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
    async fn transfer_addresses(&self) -> Result<std::collections::HashMap<String, String>> {
        let mut addresses = std::collections::HashMap::new();
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

    /// The NameNode URL of a `CREATE` that overwrites `path` with the given replication and
    /// block size (the DataNode exclusion, which needs the NameNode's view, is added later).
    fn create_url(&self, path: &str, replication: u32, block_size: u64) -> Result<Url> {
        let mut url = self.op_url(path, "CREATE")?;
        url.query_pairs_mut()
            .append_pair("overwrite", "true")
            .append_pair("replication", &replication.to_string())
            .append_pair("blocksize", &block_size.to_string());
        Ok(url)
    }

    /// The URL of WebHDFS operation `op` on `path`, naming our user (every request must).
    fn op_url(&self, path: &str, op: &str) -> Result<Url> {
        let mut url = self.base.clone();
        {
            let mut segments = url.path_segments_mut().map_err(|_| Error::WebHdfs {
                context: "NameNode address".into(),
                message: format!("{} cannot be a base URL", self.base),
            })?;
            segments.clear().push("webhdfs").push("v1");
            for segment in path.split('/').filter(|s| !s.is_empty()) {
                segments.push(segment);
            }
        }
        url.query_pairs_mut()
            .append_pair("op", op)
            .append_pair("user.name", &self.user);
        Ok(url)
    }
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

impl WebHdfs {
    /// DataNode hosts the NameNode reports dead, or has not heard from for a while.
    pub async fn silent_datanodes(&self) -> Result<std::collections::HashSet<String>> {
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
}

impl WebHdfs {
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

/// Rejects paths HDFS would misread or that are not absolute, before any request is sent.
pub fn validate_path(path: &str) -> Result<()> {
    let reject = |why: &str| {
        Err(Error::InvalidInput(format!(
            "invalid path {:?}: {why}",
            shorten(path)
        )))
    };
    if path.is_empty() {
        return reject("empty; give an absolute HDFS path such as /hdma-wi-2021.parquet");
    }
    if !path.starts_with('/') {
        return reject("not absolute; HDFS paths start with /");
    }
    if path.len() > MAX_PATH_LEN {
        return reject(&format!(
            "{} bytes long, the limit is {MAX_PATH_LEN}",
            path.len()
        ));
    }
    if path
        .chars()
        .any(|c| c.is_control() || c == char::REPLACEMENT_CHARACTER)
    {
        return reject("contains control or undecodable characters");
    }
    if path
        .split('/')
        .any(|s| s == "." || s == ".." || s.contains(':'))
    {
        return reject("'.', '..' and ':' are not allowed in HDFS path components");
    }
    Ok(())
}

fn shorten(path: &str) -> String {
    if path.len() <= 80 {
        return path.to_owned();
    }
    let cut = (0..=80)
        .rev()
        .find(|&i| path.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}...", &path[..cut])
}

fn count_per_host(blocks: &[BlockLocation]) -> BTreeMap<String, i32> {
    let mut counts = BTreeMap::new();
    for host in blocks.iter().flat_map(|b| &b.hosts) {
        *counts.entry(host.clone()).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_blocks_per_host() {
        let block = |hosts: &[&str]| BlockLocation {
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
        };
        let counts = count_per_host(&[block(&["a", "b"]), block(&["b", "c"]), block(&["a", "b"])]);
        assert_eq!(
            counts,
            BTreeMap::from([("a".into(), 2), ("b".into(), 3), ("c".into(), 1)])
        );
    }

    #[test]
    fn rejects_bad_paths_with_a_reason() {
        for bad in [
            "",
            "relative/path",
            "/../etc/passwd",
            "/a/./b",
            "/a\u{0}b",
            "/a\u{fffd}",
        ] {
            let err = validate_path(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid path"), "{bad:?}: {err}");
        }
        let long = format!("/{}", "x".repeat(10_000));
        assert!(
            validate_path(&long)
                .unwrap_err()
                .to_string()
                .contains("limit")
        );
        assert!(validate_path("/hdma-wi-2021.parquet").is_ok());
        assert!(validate_path("/partitions/55001.parquet").is_ok());
    }

    #[test]
    fn builds_encoded_urls() {
        let w = WebHdfs::new("http://boss:9870", "root").unwrap();
        let url = w.op_url("/dir/a b.parquet", "GETFILESTATUS").unwrap();
        assert_eq!(
            url.as_str(),
            "http://boss:9870/webhdfs/v1/dir/a%20b.parquet?op=GETFILESTATUS&user.name=root"
        );
    }

    fn query(url: &Url) -> BTreeMap<String, String> {
        url.query_pairs().into_owned().collect()
    }

    #[test]
    fn create_url_names_user_and_every_write_setting() {
        let w = WebHdfs::new("http://boss:9870", "alice").unwrap();
        let url = w
            .create_url("/.lender-tmp/x.parquet", 2, 1024 * 1024)
            .unwrap();
        assert_eq!(url.path(), "/webhdfs/v1/.lender-tmp/x.parquet");
        let expected: BTreeMap<String, String> = [
            ("op", "CREATE"),
            ("user.name", "alice"),
            ("overwrite", "true"),
            ("replication", "2"),
            ("blocksize", "1048576"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(query(&url), expected);
    }

    #[test]
    fn every_op_url_carries_the_user() {
        let w = WebHdfs::new("http://boss:9870", "root").unwrap();
        for op in ["GETFILEBLOCKLOCATIONS", "GETFILESTATUS", "CREATE", "DELETE"] {
            let url = w.op_url("/hdma-wi-2021.parquet", op).unwrap();
            let q = query(&url);
            assert_eq!(
                q.get("user.name").map(String::as_str),
                Some("root"),
                "{url}"
            );
            assert_eq!(q.get("op").map(String::as_str), Some(op), "{url}");
        }
    }

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

    #[test]
    fn a_create_target_is_probed_at_its_http_port() {
        let target = |url: &str| CreateTarget {
            host: "dn1".into(),
            url: Url::parse(url).unwrap(),
            path: "/x".into(),
        };
        let at = |url| target(url).probe_addr();
        assert_eq!(
            at("http://10.0.0.1:9864/webhdfs/v1/x?op=CREATE").as_deref(),
            Some("10.0.0.1:9864")
        );
        assert_eq!(at("http://dn1/webhdfs/v1/x").as_deref(), Some("dn1:80"));
    }

    #[test]
    fn an_empty_user_is_refused() {
        assert!(WebHdfs::new("http://boss:9870", " ").is_err());
    }
}
