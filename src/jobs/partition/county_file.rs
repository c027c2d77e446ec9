//! Writing a county file: once its rows are encoded into a local spool file
//! ([`crate::parquet::CountyEncoder`], so memory holds one batch and one row group, whatever
//! the county's size), it is sent through the write path ([`crate::hdfs::Writer`]) to a DataNode we trust, under a
//! temporary name, and renamed into place.

use std::time::Duration;

use crate::{
    config::{BLOCK_SIZE, PARTITION_REPLICATION},
    error::Result,
    hdfs::{Backoff, Watch, WriteOptions},
    jobs::services::Services,
    parquet::EncodedCounty,
};

/// Writing a county file may be sent to a DataNode that just died (the NameNode hands it
/// out until it declares it dead): each try excludes every node that failed before.
const WRITE_TRIES: u32 = 4;

/// Longest a DataNode that answers probes may take no bytes of a county file, or not
/// confirm it after the last one. A healthy stock DataNode confirms a county file (a few
/// hundred KiB) within about a second, two NameNode round trips included; one whose
/// request threads wait on a silent node behind it would keep us for a minute, and every
/// CalcAvgLoan for a new county waits on the partition workers meanwhile. The next try
/// goes through another DataNode.
const COUNTY_WRITE_STALL: Duration = Duration::from_secs(5);

/// Between tries, only when the next one would go the same way (a failure that names no
/// DataNode): one that avoids the node that failed goes at once.
const WRITE_BACKOFF: Backoff = Backoff::Linear {
    step: Duration::from_millis(100),
};

/// Writes the county file (temporary name, then rename) through a DataNode we trust;
/// returns the DataNode holding it.
pub(super) async fn write_county(
    services: &Services,
    path: &str,
    tag: &str,
    county: &EncodedCounty,
) -> Result<String> {
    let staged = services
        .writer()
        .write(path, county.spool(), &county_options(tag))
        .await?;
    let host = staged.host().to_owned();
    staged.publish(&services.hdfs).await?;
    Ok(host)
}

/// How a county file is written: at its replication, watched at its receiving DataNode with
/// a short stall bound, its temporaries named after the job's attempt (`tag`).
fn county_options(tag: &str) -> WriteOptions<'_> {
    WriteOptions {
        replication: PARTITION_REPLICATION,
        block_size: BLOCK_SIZE,
        tries: WRITE_TRIES,
        backoff: WRITE_BACKOFF,
        watch: Watch::Receiver {
            stall: COUNTY_WRITE_STALL,
        },
        tag,
    }
}
