//! WebHDFS REST: where a file's blocks are (hdfs-native does not expose block locations),
//! and `CREATE` through a DataNode the NameNode chooses among those we trust, watched by
//! probes while it writes.

use std::{collections::BTreeMap, time::Duration};

use reqwest::{StatusCode, Url};
use serde::Deserialize;

use super::{
    namenode::NameNode,
    path::{shorten, validate_path},
    probe::{stalled, watch_datanode},
};
use crate::{
    error::{Error, Result},
    spool::Progress,
};

#[derive(Clone)]
pub struct WebHdfs {
    http: reqwest::Client,
    /// For CREATE: we follow the NameNode's redirect ourselves, to see which DataNode it chose.
    no_redirect: reqwest::Client,
    base: Url,
    /// Sent as `user.name` on every request: with no user, stock Hadoop runs the request as
    /// `dr.who`, which permissions keep from writing anywhere we write.
    user: String,
    /// The NameNode's JMX view of the DataNodes, on the same HTTP client.
    namenode: NameNode,
}

/// How HDFS is to store a file a `CREATE` writes, and which DataNodes must not receive it.
#[derive(Debug, Clone, Copy)]
pub struct Placement<'a> {
    pub replication: u32,
    pub block_size: u64,
    /// DataNode hosts (as in block locations) the NameNode must not choose.
    pub exclude: &'a [String],
}

/// A watched `CREATE` ([`WebHdfs::create`]): where the file goes, and how its receiving
/// DataNode is watched while it writes.
#[derive(Debug, Clone, Copy)]
pub struct CreateOptions<'a> {
    pub placement: Placement<'a>,
    /// How often the receiving DataNode is probed (a TCP connection) while it writes.
    pub probe_every: Duration,
    /// How long the DataNode may take no bytes, or not confirm the file, before it counts
    /// as busy.
    pub stall: Duration,
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
        let http = build(reqwest::redirect::Policy::default())?;
        Ok(WebHdfs {
            namenode: NameNode::new(http.clone(), base.clone()),
            http,
            no_redirect: build(reqwest::redirect::Policy::none())?,
            base,
            user: user.to_owned(),
        })
    }

    /// The NameNode's view of the DataNodes (JMX).
    pub fn namenode(&self) -> &NameNode {
        &self.namenode
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
    /// those `placement` excludes (host names as in block locations), and that DataNode writes the
    /// file itself with the Java client, pipeline recovery included. hdfs-native can neither
    /// exclude nodes nor recover a pipeline, which matters while the NameNode still believes
    /// a dead node is alive.
    pub async fn create_target(
        &self,
        path: &str,
        placement: &Placement<'_>,
    ) -> Result<CreateTarget> {
        let mut url = self.create_url(path, placement.replication, placement.block_size)?;
        if !placement.exclude.is_empty() {
            let addresses = self.namenode.transfer_addresses().await.unwrap_or_default();
            let excluded: Vec<&str> = placement
                .exclude
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
    /// The write has no fixed deadline: a large file takes as long as its bytes need.
    /// Instead the DataNode is probed by a TCP connection every `options.probe_every` while
    /// it writes; when it stops accepting connections (killed or cut off), the write fails
    /// at once with [`Error::DataNode`] naming it, so the caller can exclude it next time. A
    /// DataNode that still answers but takes no bytes (or does not confirm the file) for
    /// `options.stall` fails with [`Error::Busy`]: its request may be queued behind writes
    /// stuck on a silent node, which a stock DataNode gives up only after 60 s.
    pub async fn create(
        &self,
        path: &str,
        body: reqwest::Body,
        progress: &Progress,
        options: &CreateOptions<'_>,
    ) -> Result<String> {
        let target = self.create_target(path, &options.placement).await?;
        tokio::select! {
            sent = self.send(&target, body) => sent.map(|()| target.host),
            lost = watch_datanode(&target.host, target.probe_addr(), &target.path, options.probe_every) => Err(lost),
            idle = stalled(progress, options.stall) => Err(Error::Busy {
                host: target.host.clone(),
                message: format!(
                    "CREATE {path}: answers probes but took no bytes or did not confirm the file for {:.1} s ({} bytes sent)",
                    idle.as_secs_f64(),
                    progress.sent()
                ),
            }),
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

fn count_per_host(blocks: &[BlockLocation]) -> BTreeMap<String, i32> {
    let mut counts = BTreeMap::new();
    for host in blocks.iter().flat_map(|b| &b.hosts) {
        *counts.entry(host.clone()).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests;
