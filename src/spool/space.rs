//! Local disk is bounded: an export that would not fit is refused before it starts.

use std::{ffi::CString, os::unix::ffi::OsStrExt, path::Path};

use crate::error::{Error, Result};

/// Local disk one export may take, as a multiple of the Parquet file it writes: the spool
/// (1x) plus the clusterer's spill files, which hold nearly every row until the end of the
/// input at 1x. Spills are dictionary-encoded Parquet segments ([`crate::jobs::export::spill`]),
/// smaller than the file they become, so the peak stays under twice the file at 1x, and
/// further under at 10x, where more counties fill a group of their own before the end
/// (measured peaks: BENCHMARKS.md).
pub const SPOOL_MULTIPLE: u64 = 2;

/// Bytes kept free beyond the export's share on the spool's file system, for the job store
/// (by default the spool is a subdirectory of the store's directory) and the log: a full
/// disk must fail the export, never the store.
pub const SPOOL_RESERVE_BYTES: u64 = 256 << 20;

/// The Parquet file's size assumed before any export succeeded: twice the 1x file
/// (15.6 MiB), so a first export at up to 2x data is checked against what it will take.
pub const DEFAULT_EXPECTED_BYTES: u64 = 32 << 20;

/// Refuses an export whose spool and spill files would not fit in `dir`'s file system:
/// [`SPOOL_MULTIPLE`] times `expected_bytes` (or [`DEFAULT_EXPECTED_BYTES`]) plus
/// [`SPOOL_RESERVE_BYTES`] must be free.
pub(super) fn check_free_space(dir: &Path, expected_bytes: Option<u64>) -> Result<()> {
    let expected = expected_bytes.unwrap_or(DEFAULT_EXPECTED_BYTES);
    let needed = expected
        .saturating_mul(SPOOL_MULTIPLE)
        .saturating_add(SPOOL_RESERVE_BYTES);
    let free = free_bytes(dir)?;
    if free < needed {
        return Err(Error::Unavailable(format!(
            "local disk: {} has {free} bytes ({}) free, an export needs {needed} bytes ({}): \
             {SPOOL_MULTIPLE}x the expected {expected}-byte Parquet file for its spool and spill \
             files plus {SPOOL_RESERVE_BYTES} bytes kept free for the job store; free some space \
             or point LENDER_SPOOL_DIR at a larger file system",
            dir.display(),
            mib(free),
            mib(needed),
        )));
    }
    Ok(())
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Bytes an unprivileged process may still write on `dir`'s file system (statvfs).
fn free_bytes(dir: &Path) -> Result<u64> {
    let context =
        |e: std::io::Error| Error::spool(format!("reading the free space of {}", dir.display()), e);
    let c_path = CString::new(dir.as_os_str().as_bytes())
        .map_err(|e| context(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
    // SAFETY: `c_path` is a valid NUL-terminated string; statvfs fills the zeroed struct.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return Err(context(std::io::Error::last_os_error()));
    }
    // The field types differ between platforms (u32 or u64).
    #[allow(clippy::unnecessary_cast)]
    Ok((stat.f_bavail as u64).saturating_mul(stat.f_frsize as u64))
}
