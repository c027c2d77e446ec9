//! The overview page: health, the pictures, the running export, the county files and the
//! recent jobs.

use std::fmt::Write;

use super::{
    error_box, esc,
    jobs::{job_link, jobs_table},
    page,
    pictures::pictures,
    word,
};
use crate::{
    jobs::HealthReport,
    store::{JobKind, JobRecord, JobState},
    views::{
        PartitionState, PartitionsReport, describe_progress, format_time,
        health::{export_summary, queue_summary, store_summary},
        latency::SourceLatency,
        thousands,
    },
};

/// How many jobs the overview lists.
const RECENT_JOBS: usize = 10;

/// `/`: health, the pictures, the running export, the county files map and the recent
/// jobs.
pub fn overview(
    health: &HealthReport,
    partitions: Result<&PartitionsReport, &str>,
    history: Result<&[JobRecord], &str>,
    latency: &[SourceLatency],
) -> String {
    let mut out = String::new();
    out.push_str(&health_section(health, partitions.ok()));
    out.push_str("<h2>At a glance</h2>\n");
    out.push_str(&pictures(partitions, history, latency));
    out.push_str("<h2>Running export</h2>\n");
    match history {
        Ok(jobs) => out.push_str(&export_progress(jobs, health)),
        Err(e) => out.push_str(&error_box(&format!("job history unavailable: {e}"))),
    }
    out.push_str("<h2>County files</h2>\n");
    match partitions {
        Ok(report) => out.push_str(&county_files(report)),
        Err(e) => out.push_str(&error_box(&format!("county files unavailable: {e}"))),
    }
    out.push_str("<h2>Recent jobs</h2>\n");
    match history {
        Ok(jobs) => {
            let recent: Vec<&JobRecord> = jobs.iter().take(RECENT_JOBS).collect();
            out.push_str(&jobs_table(&recent));
            out.push_str("<p><a href=\"/jobs\">every job, with filters</a></p>\n");
        }
        Err(e) => out.push_str(&error_box(&format!("job history unavailable: {e}"))),
    }
    page("overview", &out)
}

fn health_section(health: &HealthReport, partitions: Option<&PartitionsReport>) -> String {
    let mut out = String::from("<h2>Health</h2>\n<table id=\"health\">\n");
    for (name, check) in [("NameNode", &health.namenode), ("MySQL", &health.mysql)] {
        let _ = writeln!(
            out,
            "<tr><th>{name}</th><td class=\"{mark}\">{mark}</td><td class=\"text\">{}</td></tr>",
            esc(&check.detail),
            mark = check.mark(),
        );
    }
    for (name, value) in [
        ("queue", queue_summary(health)),
        ("export", export_summary(health)),
        ("store", store_summary(health)),
    ] {
        let _ = writeln!(
            out,
            "<tr><th>{name}</th><td colspan=\"2\" class=\"text\">{}</td></tr>",
            esc(&value)
        );
    }
    out.push_str("</table>\n<h3>DataNodes</h3>\n");
    if health.datanodes.is_empty() {
        out.push_str("<p>none known (the NameNode did not answer)</p>\n");
        return out;
    }
    out.push_str(
        "<table id=\"datanodes\"><tr><th>DataNode</th><th>state</th>\
         <th>county files lost if it died</th></tr>\n",
    );
    for (host, state) in &health.datanodes {
        let at_risk = partitions
            .and_then(|p| p.datanodes.iter().find(|d| &d.host == host))
            .map_or_else(|| "-".to_owned(), |d| d.county_files_at_risk.to_string());
        let _ = writeln!(
            out,
            "<tr class=\"datanode\" data-host=\"{host}\"><td>{host}</td><td class=\"{state}\">{state}</td>\
             <td class=\"num\">{at_risk}</td></tr>",
            host = esc(host),
            state = esc(state),
        );
    }
    out.push_str("</table>\n");
    out
}

fn export_progress(jobs: &[JobRecord], health: &HealthReport) -> String {
    let running = jobs.iter().find(|j| {
        j.kind == JobKind::Export && matches!(j.state, JobState::Queued | JobState::Running)
    });
    let Some(job) = running else {
        return format!(
            "<p>no export running; the current file: {}</p>\n",
            esc(&export_summary(health))
        );
    };
    let mut out = format!(
        "<p id=\"export-progress\">{} {} since {}",
        job_link(&job.id),
        word(job.state),
        format_time(job.submitted_ms)
    );
    match &job.progress {
        Some(p) => {
            let _ = writeln!(out, ": {}</p>", esc(&describe_progress(p)));
            if let Some(expected) = p.expected_rows.filter(|e| *e > 0) {
                let _ = writeln!(
                    out,
                    "<progress value=\"{}\" max=\"{expected}\"></progress>",
                    p.rows.min(expected)
                );
            }
        }
        None => out.push_str(": no rows read yet</p>\n"),
    }
    out
}

fn county_files(report: &PartitionsReport) -> String {
    let mut out = format!("<p>{}</p>\n", esc(&report.headline()));
    if report.partitions.is_empty() {
        out.push_str("<p>no county files yet (CalcAvgLoan makes them)</p>\n");
        return out;
    }
    out.push_str(
        "<table id=\"county-files\"><tr><th>county</th><th>state</th><th>rows</th>\
         <th>bytes</th><th>generation</th><th>DataNodes</th><th>path</th><th>written</th>\
         <th>job</th></tr>\n",
    );
    for p in &report.partitions {
        let generation = match (p.current, p.kept) {
            (true, true) => format!("{} (kept: rows unchanged)", p.generation),
            (true, false) => p.generation.to_string(),
            (false, _) => format!("{} (not current)", p.generation),
        };
        let hosts = if p.hosts.is_empty() {
            "-".to_owned()
        } else {
            p.hosts.join(", ")
        };
        let job = p.job_id.as_deref().map_or_else(|| "-".to_owned(), job_link);
        let _ = writeln!(
            out,
            "<tr class=\"county-file\" data-county=\"{county}\"><td class=\"num\">\
             <a href=\"/jobs?county={county}\">{county}</a></td><td class=\"{state}\">{state}</td>\
             <td class=\"num\">{rows}</td><td class=\"num\">{bytes}</td><td>{generation}</td>\
             <td>{hosts}</td><td><code>{path}</code></td><td class=\"when\">{written}</td><td>{job}</td></tr>",
            county = p.county,
            state = word(p.state),
            rows = thousands(p.rows),
            bytes = thousands(p.bytes),
            hosts = esc(&hosts),
            path = esc(&p.path),
            written = format_time(p.written_ms),
        );
    }
    out.push_str("</table>\n");
    if report.count(PartitionState::Stale) > 0 {
        out.push_str(
            "<p>not current: cut from an older export whose rows for the county changed (or \
             that recorded no fingerprint); the next call rebuilds it</p>\n",
        );
    }
    out
}
