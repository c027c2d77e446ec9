//! The clients and settings the jobs share: one set, opened at startup, held in an `Arc` by
//! the front door ([`super::Jobs`]), the export and the partition side.

use crate::{
    config::Config,
    error::Result,
    hdfs::{Hdfs, WebHdfs, Writer},
    mysql::MySql,
    store::Store,
};

use super::health::NodeHealth;

/// What every kind of job reaches: the settings, the store, HDFS (both clients), MySQL, and
/// which DataNodes we distrust lately.
pub(super) struct Services {
    pub(super) config: Config,
    pub(super) store: Store,
    pub(super) hdfs: Hdfs,
    pub(super) webhdfs: WebHdfs,
    pub(super) mysql: MySql,
    pub(super) health: NodeHealth,
}

impl Services {
    /// Builds the clients over `store`. HDFS and MySQL need not be up yet: the clients
    /// connect lazily, per job.
    pub(super) fn connect(config: Config, store: Store) -> Result<Self> {
        Ok(Services {
            hdfs: Hdfs::connect(&config)?,
            webhdfs: WebHdfs::new(&config.webhdfs_url, &config.hdfs_user)?,
            mysql: MySql::new(&config)?,
            health: NodeHealth::default(),
            config,
            store,
        })
    }

    /// The HDFS write path over these clients and this DataNode health.
    pub(super) fn writer(&self) -> Writer<'_, NodeHealth> {
        Writer {
            hdfs: &self.hdfs,
            webhdfs: &self.webhdfs,
            health: &self.health,
            datanode_timeout: self.config.datanode_timeout,
        }
    }
}
