//! Service configuration: environment variables with defaults that match the Compose
//! deployment (`mysql:3306`, `hdfs://boss:9000`, `http://boss:9870`). The local cluster
//! overrides them (see `dev/env.sh`).

use std::{path::PathBuf, time::Duration};

/// Where the big export lives (fixed by the contract).
pub const EXPORT_PATH: &str = "/hdma-wi-2021.parquet";
/// Directory of the per-county files (fixed by the contract).
pub const PARTITION_DIR: &str = "/partitions";
/// Temporary files are written here and renamed into place, so readers never see a torn file.
pub const TMP_DIR: &str = "/.lender-tmp";
pub const EXPORT_REPLICATION: u32 = 2;
pub const PARTITION_REPLICATION: u32 = 1;
pub const BLOCK_SIZE: u64 = 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Config {
    /// gRPC listen address.
    pub listen: String,
    /// `mysql://user:password@host:port/database`
    pub mysql_url: String,
    /// How long DbToHdfs keeps retrying to reach MySQL (it loads slowly at first start).
    pub mysql_wait: Duration,
    /// `hdfs://host:port`
    pub hdfs_url: String,
    /// NameNode HTTP base, `http://host:9870`
    pub webhdfs_url: String,
    /// Connect/read timeout towards one DataNode; bounds how long a dead node can stall us.
    pub datanode_timeout: Duration,
    /// redb file holding the queue, the job history and the partition table.
    pub db_path: PathBuf,
    /// How many partition jobs run at once.
    pub partition_workers: usize,
    /// Upper bound on how long a gRPC call waits for its job.
    pub job_wait: Duration,
}

impl Config {
    pub fn from_env() -> Self {
        Config {
            listen: env_or("LENDER_LISTEN", "0.0.0.0:5000"),
            mysql_url: env_or("LENDER_MYSQL_URL", "mysql://root:abc@mysql:3306/CS544"),
            mysql_wait: Duration::from_secs(env_num("LENDER_MYSQL_WAIT_SECS", 180)),
            hdfs_url: env_or("LENDER_HDFS_URL", "hdfs://boss:9000"),
            webhdfs_url: env_or("LENDER_WEBHDFS_URL", "http://boss:9870"),
            datanode_timeout: Duration::from_millis(env_num("LENDER_DATANODE_TIMEOUT_MS", 1500)),
            db_path: PathBuf::from(env_or("LENDER_DB", "/var/lib/lender/lender.redb")),
            partition_workers: env_num("LENDER_PARTITION_WORKERS", 4) as usize,
            job_wait: Duration::from_secs(env_num("LENDER_JOB_WAIT_SECS", 1800)),
        }
    }
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Final path of a county's file.
pub fn partition_path(county: i32) -> String {
    format!("{PARTITION_DIR}/{county}.parquet")
}
