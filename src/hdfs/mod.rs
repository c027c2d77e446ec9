//! Everything that talks to HDFS: the hdfs-native client ([`Hdfs`]), atomic publication of
//! a finished file ([`Staged`]), the NameNode's HTTP API ([`WebHdfs`] for WebHDFS REST,
//! [`NameNode`] for its JMX view of the DataNodes), and TCP probes of DataNodes.
//! hdfs-native does not expose block locations or the NameNode's view of the DataNodes,
//! hence the HTTP side.

mod client;
mod namenode;
mod path;
mod probe;
mod staged;
mod webhdfs;

pub use client::{Hdfs, bounded, temp_path};
pub use namenode::NodeState;
pub use probe::Unreachable;
pub use staged::Staged;
pub use webhdfs::{CreateTarget, WebHdfs};
