//! Parquet over our I/O: the writer that encodes row groups on several threads into any
//! sink (a spool file), and the async reader over an HDFS file; and the Parquet side of
//! the jobs' files (the county file's encoder), so the jobs keep only their decisions.

mod county;
mod reader;
mod writer;

pub(crate) use county::{CountyEncoder, EncodedCounty};
pub use reader::{ParquetFile, open_parquet};
pub use writer::{Written, write_parquet};
