//! Parquet over our I/O: the writer that encodes row groups on several threads into any
//! sink (a spool file), and the async reader over an HDFS file; and the Parquet side of
//! the jobs' files (the county file's encoder, the sum of a file's amount column), so the jobs keep only their decisions.

mod amounts;
mod county;
mod reader;
mod writer;

pub(crate) use amounts::{amount_ranges, read_footer, sum_amount_ranges, sum_amounts};
pub(crate) use county::{CountyEncoder, EncodedCounty};
pub use reader::{ParquetFile, open_parquet};
pub use writer::{Written, write_parquet};
