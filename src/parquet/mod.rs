//! Parquet over our I/O: the writer that encodes row groups on several threads into any
//! sink (a spool file), and the async reader over an HDFS file.

mod reader;
mod writer;

pub use reader::{ParquetFile, open_parquet};
pub(crate) use writer::unwrap_external;
pub use writer::{Written, write_parquet};
