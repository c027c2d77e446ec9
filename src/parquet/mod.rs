//! Parquet over our I/O: the writer that encodes row groups on several threads into any
//! sink (a spool file), and the async reader over an HDFS file; and the Parquet side of
//! the jobs' files (one county's rows of the big file, the county file's encoder, the sum
//! of a file's amount column, the export's spill segments), so the jobs keep only their decisions.

mod amounts;
mod big_file;
mod county;
mod reader;
mod spill;
mod writer;

pub(crate) use amounts::{amount_ranges, read_footer, sum_amount_ranges, sum_amounts};
pub(crate) use big_file::{CountyRows, arrow_metadata, read_county_rows};
pub(crate) use county::{CountyEncoder, EncodedCounty};
pub use reader::open_parquet;
pub(crate) use spill::SpillFile;
pub use writer::{Written, write_parquet};
