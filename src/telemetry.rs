//! Prometheus metrics, through the `metrics` facade and its Prometheus exporter: the server
//! records, the exporter serves `/metrics` on its own port (`LENDER_METRICS_LISTEN`; off when
//! unset, then every record is a no-op). Names follow Prometheus conventions: a `lender_`
//! prefix, the unit in the name, `_total` on counters.
//!
//! The exporter's histograms cannot be read back, and are off without the listener, so the
//! answer times the web board draws are also kept here, in [`RecentTimes`].

use std::{
    collections::{BTreeMap, VecDeque},
    net::SocketAddr,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use metrics::{counter, gauge, histogram};

/// Jobs that ended, by `kind` (export, partition) and `outcome` (succeeded, failed).
const JOBS: &str = "lender_jobs_total";
/// Time from a job's first attempt to its outcome, by `kind` and `outcome`.
const JOB_SECONDS: &str = "lender_job_duration_seconds";
/// gRPC calls by `method` and `outcome` (ok, error: the contract puts errors in the reply).
const RPC_SECONDS: &str = "lender_rpc_duration_seconds";
/// CalcAvgLoan answers by `source` (create, reuse, recreate): a reuse is a file read, a
/// create a job, and one histogram over both would hide either.
const AVG_LOAN_SECONDS: &str = "lender_calc_avg_loan_duration_seconds";
/// Jobs queued or running now.
const JOBS_IN_FLIGHT: &str = "lender_jobs_in_flight";
/// Rows and bytes the exports published.
const EXPORT_ROWS: &str = "lender_export_rows_total";
const EXPORT_BYTES: &str = "lender_export_bytes_total";
/// Rows per second of the last export, end to end.
const EXPORT_ROWS_PER_SECOND: &str = "lender_export_rows_per_second";
/// Times a DataNode was found unreachable, by `host`.
const DATANODE_SUSPICIONS: &str = "lender_datanode_suspicions_total";
/// County files by `state`: current, stale (an older export's), lost (with a DataNode).
const COUNTY_FILES: &str = "lender_county_files";
/// Size of the job store file.
const STORE_BYTES: &str = "lender_store_size_bytes";

/// Buckets for call and job durations: from a reuse answer (ms) to a 10x export (minutes).
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0,
];

/// Starts the exporter's HTTP listener on `addr` (on the running tokio runtime).
pub fn serve(addr: SocketAddr) -> Result<(), String> {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets(SECONDS_BUCKETS)
        .and_then(|builder| builder.install())
        .map_err(|e| format!("metrics on {addr}: {e}"))?;
    tracing::info!(%addr, "Prometheus metrics on http://{addr}/metrics");
    Ok(())
}

pub fn job_ended(kind: &'static str, succeeded: bool, took: Duration) {
    let outcome = if succeeded { "succeeded" } else { "failed" };
    counter!(JOBS, "kind" => kind, "outcome" => outcome).increment(1);
    histogram!(JOB_SECONDS, "kind" => kind, "outcome" => outcome).record(took.as_secs_f64());
}

pub fn rpc_answered(method: &'static str, ok: bool, took: Duration) {
    let outcome = if ok { "ok" } else { "error" };
    histogram!(RPC_SECONDS, "method" => method, "outcome" => outcome).record(took.as_secs_f64());
}

pub fn avg_loan_answered(source: &'static str, took: Duration) {
    histogram!(AVG_LOAN_SECONDS, "source" => source).record(took.as_secs_f64());
}

pub fn export_published(rows: u64, bytes: u64, seconds: f64) {
    counter!(EXPORT_ROWS).increment(rows);
    counter!(EXPORT_BYTES).increment(bytes);
    if seconds > 0.0 {
        gauge!(EXPORT_ROWS_PER_SECOND).set(rows as f64 / seconds);
    }
}

pub fn datanode_suspected(host: &str) {
    counter!(DATANODE_SUSPICIONS, "host" => host.to_owned()).increment(1);
}

/// The state gauges, refreshed by a periodic task (they are read from the store).
pub struct Snapshot {
    pub jobs_in_flight: usize,
    pub county_files: [(&'static str, usize); 3],
    pub store_bytes: u64,
}

pub fn state(snapshot: &Snapshot) {
    gauge!(JOBS_IN_FLIGHT).set(snapshot.jobs_in_flight as f64);
    for (state, count) in snapshot.county_files {
        gauge!(COUNTY_FILES, "state" => state).set(count as f64);
    }
    gauge!(STORE_BYTES).set(snapshot.store_bytes as f64);
}

/// How many of the latest times [`RecentTimes`] keeps per label: enough for a median and a
/// 95th percentile that follow what happens now, bounded whatever the traffic.
pub const RECENT_TIMES: usize = 256;

/// The latest durations per label (e.g. CalcAvgLoan's sources), and how many there were in
/// all, since the server started.
#[derive(Default)]
pub struct RecentTimes {
    labels: Mutex<BTreeMap<&'static str, Recent>>,
}

#[derive(Default)]
struct Recent {
    total: u64,
    seconds: VecDeque<f64>,
}

/// One label's times at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Times {
    pub label: &'static str,
    /// Every time recorded since the start.
    pub total: u64,
    /// The latest [`RECENT_TIMES`] of them, in seconds, oldest first.
    pub seconds: Vec<f64>,
}

impl RecentTimes {
    pub fn record(&self, label: &'static str, took: Duration) {
        // A panic elsewhere while holding the lock leaves whole numbers: keep using them.
        let mut labels = self.labels.lock().unwrap_or_else(PoisonError::into_inner);
        let recent = labels.entry(label).or_default();
        recent.total += 1;
        if recent.seconds.len() == RECENT_TIMES {
            recent.seconds.pop_front();
        }
        recent.seconds.push_back(took.as_secs_f64());
    }

    /// Every label's times, by label.
    pub fn snapshot(&self) -> Vec<Times> {
        let labels = self.labels.lock().unwrap_or_else(PoisonError::into_inner);
        labels
            .iter()
            .map(|(label, recent)| Times {
                label,
                total: recent.total,
                seconds: recent.seconds.iter().copied().collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_times_keep_the_latest_and_count_them_all() {
        let times = RecentTimes::default();
        for ms in 0..(RECENT_TIMES as u64 + 10) {
            times.record("reuse", Duration::from_millis(ms));
        }
        times.record("create", Duration::from_secs(2));
        let snapshot = times.snapshot();
        assert_eq!(snapshot.len(), 2);
        assert_eq!((snapshot[0].label, snapshot[0].total), ("create", 1));
        assert_eq!(snapshot[0].seconds, [2.0]);
        let reuse = &snapshot[1];
        assert_eq!(reuse.total, RECENT_TIMES as u64 + 10);
        assert_eq!(reuse.seconds.len(), RECENT_TIMES);
        assert_eq!(reuse.seconds.first(), Some(&0.010));
    }
}
