//! Everything that talks to HDFS: the hdfs-native client ([`Hdfs`]), the one write path
//! ([`Writer`]: a spool file to a temporary name, tried through DataNodes we trust), atomic
//! publication of a finished file ([`staged::Staged`]), the NameNode's HTTP API ([`WebHdfs`] for WebHDFS REST,
//! [`NameNode`] for its JMX view of the DataNodes), and TCP probes of DataNodes.
//! hdfs-native does not expose block locations or the NameNode's view of the DataNodes,
//! hence the HTTP side.

mod client;
mod namenode;
mod path;
mod probe;
mod staged;
mod webhdfs;
mod write;

pub use client::{Hdfs, bounded};
pub use namenode::NodeState;
pub use probe::Unreachable;
pub use webhdfs::WebHdfs;
pub use write::{Backoff, DataNodeHealth, Watch, WriteOptions, Writer};
