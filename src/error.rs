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

    /// Data we read is not what it must be: a MySQL row or column the export cannot read,
    /// a Parquet file without the amount column, a county file with the wrong row count.
    /// Not retried: reading it again gives the same data.
    #[error("{0}")]
    BadData(String),

    /// Something the request needs does not exist yet (no export, no rows for a county).
    #[error("{0}")]
    NotFound(String),

    #[error("MySQL {context}: {source}")]
    MySql {
        context: String,
        #[source]
        source: MySqlError,
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

    /// Our redb tables (job history, partitions, export generation), with what we were
    /// doing and redb's, serde's or the file system's own error.
    #[error("job store: {context}: {source}")]
    Store {
        context: String,
        #[source]
        source: StoreError,
    },

    /// The export's local spool file (disk full, directory not writable), with the I/O error.
    #[error("local spool file: {context}: {source}")]
    Spool {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// The apalis queue (its tables share the store's file), with what we were doing.
    #[error("job queue: {context}: {source}")]
    Queue {
        context: String,
        #[source]
        source: QueueError,
    },

    /// A job's failure, shared by every caller that waited on the job; keeps its kind.
    #[error(transparent)]
    Job(std::sync::Arc<Error>),

    /// A dependency did not answer within its bound.
    #[error("timed out: {0}")]
    Timeout(String),

    /// DataNodes failed us (usually one); the caller may avoid them and try again.
    #[error("DataNode {}: {message}", hosts.join(", "))]
    DataNode { hosts: Vec<String>, message: String },

    /// A DataNode that answers probes but did not finish a small write within its bound
    /// (its threads wait on a silent node behind it, or it is overloaded). Worth another
    /// try through a different node, but not a reason to distrust it for reads.
    #[error("DataNode {host}: {message}")]
    Busy { host: String, message: String },

    /// A dependency stayed unreachable for as long as we were willing to wait.
    #[error("{0}")]
    Unavailable(String),

    /// A dependency stopped making progress (MySQL sent no row for the stall bound, or held
    /// a lock that long). Not retried within the job: a frozen server or a held lock does
    /// not clear in a backoff of seconds, and every caller joined to the job would wait on.
    #[error("{0}")]
    Stalled(String),

    /// The job's own code failed (a panic, a worker thread or task that ended without an
    /// answer), or its task was dropped before it finished: a bug, not a fault of a
    /// dependency, so never retried.
    #[error("{0}")]
    Aborted(String),
}

impl Error {
    /// One DataNode, `host`, failed us.
    pub fn datanode(host: impl Into<String>, message: impl Into<String>) -> Self {
        Error::DataNode {
            hosts: vec![host.into()],
            message: message.into(),
        }
    }

    /// An hdfs-native error with what we were doing. "All DataNodes failed" comes with a
    /// debug dump of every replica's DataNode (kilobytes): it becomes one sentence naming
    /// the DataNodes instead.
    pub fn hdfs(context: impl Into<String>, source: hdfs_native::HdfsError) -> Self {
        let context = context.into();
        if let hdfs_native::HdfsError::DataTransferError(message) = &source
            && let Some(replicas) = message.strip_prefix("All DataNodes failed: ")
        {
            return Error::DataNode {
                hosts: quoted_values(replicas, "host_name: \""),
                message: format!(
                    "{context}: every replica of the data is on these DataNodes and none of them answers; it can be read again once one of them is back"
                ),
            };
        }
        Error::Hdfs { context, source }
    }

    pub fn mysql(context: impl Into<String>, source: MySqlError) -> Self {
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

    pub fn store(context: impl Into<String>, source: impl Into<StoreError>) -> Self {
        Error::Store {
            context: context.into(),
            source: source.into(),
        }
    }

    pub fn spool(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Spool {
            context: context.into(),
            source,
        }
    }

    pub fn queue(context: impl Into<String>, source: impl Into<QueueError>) -> Self {
        Error::Queue {
            context: context.into(),
            source: source.into(),
        }
    }

    /// Worth another attempt: I/O that a DataNode failure or a dropped connection can break.
    pub fn is_retryable(&self) -> bool {
        if let Error::Job(inner) = self {
            return inner.is_retryable();
        }
        if let Error::MySql { source, .. } = self {
            return !source.is_permanent();
        }
        matches!(
            self,
            Error::Hdfs { .. }
                | Error::Parquet { .. }
                | Error::Timeout(_)
                | Error::WebHdfs { .. }
                | Error::DataNode { .. }
                | Error::Busy { .. }
        )
    }

    /// True when this is a DataNode failure naming `host` (among others, perhaps).
    pub fn names(&self, host: &str) -> bool {
        matches!(self, Error::DataNode { hosts, .. } if hosts.iter().any(|h| h == host))
    }

    /// True when the file (or directory) is simply absent, as opposed to unreadable.
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::Job(inner) => inner.is_not_found(),
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
            Error::Job(inner) => inner.is_datanode_failure(),
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

/// What went wrong on a MySQL connection (`src/mysql/wire.rs`), kept apart by what a person
/// or the start-up wait does about it: [`MySqlError::is_permanent`] refusals answer at once.
#[derive(Debug, Error)]
pub enum MySqlError {
    /// The server's own error (an ERR packet), as the mysql client prints it.
    #[error("ERROR {code} ({state}): {message}")]
    Server {
        code: u16,
        state: String,
        message: String,
    },

    /// The connection broke or could not be made (not up yet, reset, closed).
    #[error("{0}")]
    Io(#[from] std::io::Error),

    /// TLS could not be set up as the settings require: the certificate is not trusted,
    /// its name does not match, the server offers no TLS.
    #[error("TLS: {0}")]
    Tls(String),

    /// The server asked for something the settings refuse (an authentication method we
    /// do not speak, the password over plaintext without a trusted key).
    #[error("{0}")]
    Refused(String),

    /// The server sent bytes that are not the protocol (a packet over the limit, one that
    /// does not parse, one out of turn).
    #[error("{0}")]
    Protocol(String),
}

/// Server errors that no amount of waiting clears: the account, the database or the
/// transport is refused. ER_DBACCESS_DENIED_ERROR, ER_ACCESS_DENIED_ERROR, ER_BAD_DB_ERROR,
/// ER_HOST_NOT_PRIVILEGED, ER_NOT_SUPPORTED_AUTH_MODE, ER_PLUGIN_IS_NOT_LOADED,
/// ER_ACCESS_DENIED_NO_PASSWORD_ERROR, ER_MUST_CHANGE_PASSWORD_LOGIN,
/// ER_ACCOUNT_HAS_BEEN_LOCKED, ER_SECURE_TRANSPORT_REQUIRED.
const PERMANENT_SERVER_ERRORS: [u16; 10] =
    [1044, 1045, 1049, 1130, 1251, 1524, 1698, 1862, 3118, 3159];

impl MySqlError {
    /// True when connecting again cannot help: the server refused us for good, or the
    /// settings refuse the server. Only a server that is not reachable or not up yet
    /// (I/O errors, and server errors such as too many connections) is worth the wait.
    pub fn is_permanent(&self) -> bool {
        match self {
            MySqlError::Server { code, .. } => PERMANENT_SERVER_ERRORS.contains(code),
            MySqlError::Io(_) => false,
            MySqlError::Tls(_) | MySqlError::Refused(_) | MySqlError::Protocol(_) => true,
        }
    }

    /// The server's error code, if this is the server's error.
    pub fn server_code(&self) -> Option<u16> {
        match self {
            MySqlError::Server { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// The distinct values following `key` up to the next quote, in order: the host names in
/// a debug dump of DataNode records.
fn quoted_values(text: &str, key: &str) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for piece in text.split(key).skip(1) {
        if let Some((value, _)) = piece.split_once('"')
            && !values.iter().any(|v| v == value)
        {
            values.push(value.to_owned());
        }
    }
    values
}

/// What went wrong in our redb tables (`src/store/`): the library's own error, kept as the
/// source, so its kind and chain stay readable; [`Error::Store`] adds what we were doing.
/// The errors of 88 bytes are boxed, so that every `Result` of ours stays small.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error(transparent)]
    Redb(Box<redb::Error>),

    /// The database file could not be opened or created (held by another process, corrupt).
    #[error(transparent)]
    Database(#[from] redb::DatabaseError),

    #[error(transparent)]
    Transaction(#[from] redb::TransactionError),

    #[error(transparent)]
    Table(Box<redb::TableError>),

    /// Reading or writing the file itself.
    #[error(transparent)]
    Storage(#[from] redb::StorageError),

    #[error(transparent)]
    Commit(#[from] redb::CommitError),

    #[error(transparent)]
    SetDurability(#[from] redb::SetDurabilityError),

    /// A record that is not the JSON we write, or a value that cannot be written as JSON.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),

    /// Opening the file through apalis-redb, which the queue shares.
    #[error(transparent)]
    Open(Box<apalis_redb::Error>),

    /// The file's directory (creating it).
    #[error(transparent)]
    Io(#[from] std::io::Error),

    /// The blocking task running a write transaction panicked or was cancelled.
    #[error("write task failed: {0}")]
    Task(#[from] tokio::task::JoinError),

    /// A job the history must hold (its attempt ends) is not there.
    #[error("the job is not in the history")]
    UnknownJob,
}

/// What went wrong in the apalis queue: pushing a task, or our own reads and writes of its
/// tables (taking over the previous run's tasks, pruning finished ones).
#[derive(Debug, Error)]
pub enum QueueError {
    #[error(transparent)]
    Push(Box<apalis::prelude::TaskSinkError<apalis_redb::Error>>),

    #[error(transparent)]
    Tables(#[from] StoreError),
}

/// `From` for the boxed variants, as `#[from]` gives the others.
macro_rules! from_boxed {
    ($($t:ty => $e:ident :: $v:ident),* $(,)?) => {$(
        impl From<$t> for $e {
            fn from(e: $t) -> Self {
                $e::$v(Box::new(e))
            }
        }
    )*};
}
from_boxed!(
    redb::Error => StoreError::Redb,
    redb::TableError => StoreError::Table,
    apalis_redb::Error => StoreError::Open,
    apalis::prelude::TaskSinkError<apalis_redb::Error> => QueueError::Push,
);

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn all_datanodes_failed_reads_as_one_sentence_naming_them() {
        let dump = r#"All DataNodes failed: [DatanodeInfoProto { id: DatanodeIdProto { ip_addr: "10.213.0.11", host_name: "dn1", datanode_uuid: "a", xfer_port: 9866 }, capacity: Some(1) }, DatanodeInfoProto { id: DatanodeIdProto { ip_addr: "10.213.0.12", host_name: "dn2", datanode_uuid: "b", xfer_port: 9866 } }]"#;
        let error = Error::hdfs(
            "reading /partitions/55001.parquet",
            hdfs_native::HdfsError::DataTransferError(dump.into()),
        );
        let text = error.to_string();
        assert!(
            text.starts_with("DataNode dn1, dn2: reading /partitions/55001.parquet: every replica"),
            "{text}"
        );
        assert!(
            !text.contains("DatanodeInfoProto") && text.len() < 300,
            "{text}"
        );
        assert!(error.is_datanode_failure() && error.is_retryable());
        // The hosts are kept as a list: each is named, nothing is parsed back from text.
        assert!(matches!(&error, Error::DataNode { hosts, .. } if hosts == &["dn1", "dn2"]));
        assert!(error.names("dn1") && error.names("dn2") && !error.names("dn"));
    }

    #[test]
    fn other_hdfs_errors_keep_their_kind() {
        let error = Error::hdfs("stat /x", hdfs_native::HdfsError::FileNotFound("/x".into()));
        assert!(error.is_not_found(), "{error}");
    }
}
