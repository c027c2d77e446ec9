//! The `lender` binary: the allocator, then the command line (`lender::cli`).

use std::process::ExitCode;

/// jemalloc: the export allocates many small values per MySQL row (millions per export),
/// and glibc's allocator spends a large share of the export's CPU time on them.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Freed pages go back to the OS quickly, so the resident size follows the live data
/// (the export's memory is bounded by design; the allocator should not hide that). 200 ms
/// keeps the peak lower than a longer decay at no measurable CPU cost.
/// One arena: the export's stages run on different threads, and with jemalloc's default
/// (4 arenas a core) memory one stage frees stays dirty in its arena while the next stage's
/// thread takes fresh pages from another. One arena lowers an export's peak RSS at both
/// scales without costing CPU (BENCHMARKS.md).
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static MALLOC_CONF: &[u8] =
    b"background_thread:true,narenas:1,dirty_decay_ms:200,muzzy_decay_ms:0\0";

#[tokio::main]
async fn main() -> ExitCode {
    lender::cli::run().await
}
