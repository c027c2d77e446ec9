//! `lender health`: the server's view of what it depends on, in one screen: the NameNode,
//! every DataNode as the NameNode (and the server) sees it, MySQL, the queue, the current
//! export and the store file.

use std::fmt::Write;

use super::format::format_time;
use crate::jobs::HealthReport;

/// `0 queued, 1 running`
pub fn queue_summary(report: &HealthReport) -> String {
    format!(
        "{} queued, {} running",
        report.queued_jobs, report.running_jobs
    )
}

/// `generation 104, 426716 rows, 15971576 bytes, finished 2026-12-01 00:42:23; county
/// files: 70 kept, 2 stale (55001, 55003)`
pub fn export_summary(report: &HealthReport) -> String {
    match &report.export {
        Some(e) => format!(
            "generation {}, {} rows, {} bytes, finished {}{}",
            e.generation,
            e.rows.map_or("-".into(), |r| r.to_string()),
            e.bytes.map_or("-".into(), |b| b.to_string()),
            e.finished_ms.map_or("-".into(), format_time),
            e.renewal
                .as_ref()
                .map_or_else(String::new, |r| format!("; {}", r.summary())),
        ),
        None => "none yet (run DbToHdfs)".to_owned(),
    }
}

/// `/var/lib/lender/lender.redb (5.6 MiB)`
pub fn store_summary(report: &HealthReport) -> String {
    format!(
        "{} ({:.1} MiB)",
        report.store_path,
        report.store_bytes as f64 / (1024.0 * 1024.0)
    )
}

pub fn render(report: &HealthReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "NameNode  {:<4}  {}",
        report.namenode.mark(),
        report.namenode.detail
    );
    for (host, state) in &report.datanodes {
        let _ = writeln!(out, "  DataNode {host:<24} {state}");
    }
    let _ = writeln!(
        out,
        "MySQL     {:<4}  {}",
        report.mysql.mark(),
        report.mysql.detail
    );
    let _ = writeln!(out, "queue     {}", queue_summary(report));
    let _ = writeln!(out, "export    {}", export_summary(report));
    let _ = writeln!(out, "store     {}", store_summary(report));
    out
}
