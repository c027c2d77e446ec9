//! One error type for the whole service.
//!
//! Every variant carries the context a person needs to act on it (which path, which county,
//! which dependency), because these texts travel verbatim into gRPC `error`/`status` fields
//! and into the job history.

use thiserror::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum Error {
    /// The request itself is unusable (bad path, bad county code).
    #[error("{0}")]
    InvalidInput(String),

    /// Something the request needs does not exist yet (no export, no rows for a county).
    #[error("{0}")]
    NotFound(String),

    #[error("MySQL {context}: {source}")]
    MySql {
        context: String,
        #[source]
        source: mysql_async::Error,
    },

    #[error("HDFS {context}: {source}")]
    Hdfs {
        context: String,
        #[source]
        source: hdfs_native::HdfsError,
    },

    #[error("WebHDFS {context}: {message}")]
    WebHdfs { context: String, message: String },

    #[error("Parquet {context}: {source}")]
    Parquet {
        context: String,
        #[source]
        source: parquet::errors::ParquetError,
    },

    #[error("Arrow {context}: {source}")]
    Arrow {
        context: String,
        #[source]
        source: arrow::error::ArrowError,
    },

    #[error("job store: {0}")]
    Store(String),

    #[error("job queue: {0}")]
    Queue(String),

    /// A dependency did not answer within its bound.
    #[error("timed out: {0}")]
    Timeout(String),

    /// One DataNode failed us; the caller may avoid it and try again.
    #[error("DataNode {host}: {message}")]
    DataNode { host: String, message: String },

    /// A dependency stayed unreachable for as long as we were willing to wait.
    #[error("{0}")]
    Unavailable(String),
}

impl Error {
    pub fn hdfs(context: impl Into<String>, source: hdfs_native::HdfsError) -> Self {
        Error::Hdfs {
            context: context.into(),
            source,
        }
    }

    pub fn mysql(context: impl Into<String>, source: mysql_async::Error) -> Self {
        Error::MySql {
            context: context.into(),
            source,
        }
    }

    pub fn parquet(context: impl Into<String>, source: parquet::errors::ParquetError) -> Self {
        Error::Parquet {
            context: context.into(),
            source,
        }
    }

    pub fn arrow(context: impl Into<String>, source: arrow::error::ArrowError) -> Self {
        Error::Arrow {
            context: context.into(),
            source,
        }
    }

    pub fn store(e: impl std::fmt::Display) -> Self {
        Error::Store(e.to_string())
    }

    /// Worth another attempt: I/O that a DataNode failure or a dropped connection can break.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Hdfs { .. }
                | Error::Parquet { .. }
                | Error::MySql { .. }
                | Error::Timeout(_)
                | Error::WebHdfs { .. }
                | Error::DataNode { .. }
        )
    }

    /// True when the file (or directory) is simply absent, as opposed to unreadable.
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::NotFound(_) => true,
            Error::Hdfs { source, .. } => match source {
                hdfs_native::HdfsError::FileNotFound(_) => true,
                hdfs_native::HdfsError::RPCError(class, _) => {
                    class.ends_with("FileNotFoundException")
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// True when a DataNode did not answer (refused, timed out, dropped the connection),
    /// as opposed to the NameNode saying no or the data being bad.
    pub fn is_datanode_failure(&self) -> bool {
        match self {
            Error::DataNode { .. } | Error::Timeout(_) => true,
            Error::Hdfs { source, .. } => matches!(
                source,
                hdfs_native::HdfsError::IOError(_)
                    | hdfs_native::HdfsError::DataTransferError(_)
                    | hdfs_native::HdfsError::BlocksNotFound(_)
            ),
            _ => false,
        }
    }
}

macro_rules! store_error_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self { Error::store(e) }
        }
    )*};
}
store_error_from!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError,
    serde_json::Error
);
