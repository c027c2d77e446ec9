//! The board's pages as HTML: plain tables and a little inline CSS, no script. Every string
//! that reaches a page goes through [`esc`] (text and attribute values alike) or, in a link,
//! [`path_segment`]: county paths, job arguments, errors and host names may carry what a
//! client sent.

use std::fmt::{Debug, Write};

use crate::{
    health_view::HealthReport,
    history_view::{JobFilter, describe_progress, format_ms, format_time, thousands},
    partitions_view::{PartitionState, PartitionsReport},
    store::{JobKind, JobRecord, JobState, now_ms},
};

/// Seconds between the browser's reloads of a page.
pub const REFRESH_SECS: u32 = 5;

/// How many jobs the overview lists.
const RECENT_JOBS: usize = 10;

const KINDS: [JobKind; 2] = [JobKind::Export, JobKind::Partition];
const STATES: [JobState; 4] = [
    JobState::Queued,
    JobState::Running,
    JobState::Succeeded,
    JobState::Failed,
];

const STYLE: &str = "\
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2430;background:#f5f6f8}\
header{background:#1d2430;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:baseline}\
header a{color:#fff;font-weight:600;text-decoration:none}header .meta{color:#aab;margin-left:auto;font-size:12px}\
main{padding:8px 24px 24px}h1{font-size:18px;margin:0}h2{font-size:16px;margin:20px 0 6px}h3{font-size:14px;margin:14px 0 4px}\
table{border-collapse:collapse;background:#fff;margin:4px 0;font-size:13px}\
th,td{border:1px solid #dde;padding:3px 8px;text-align:left;vertical-align:top}th{background:#eef0f4}\
td.num{text-align:right;font-variant-numeric:tabular-nums}.id,code{font:12px ui-monospace,monospace}\
.id,.when{white-space:nowrap}\
.text{white-space:pre-wrap;max-width:560px;overflow-wrap:anywhere}\
.ok,.healthy,.live,.succeeded{color:#17702e;font-weight:600}.running,.queued{color:#1456a8;font-weight:600}\
.DOWN,.lost,.dead,.failed,.interrupted{color:#b3261e;font-weight:600}.stale,.silent,.suspect{color:#9a6200;font-weight:600}\
.error{background:#fdecea;border:1px solid #f3b8b2;padding:6px 10px;white-space:pre-wrap}\
progress{width:420px;height:14px}form{margin:6px 0}form label{margin-right:10px}input{width:90px}";

/// `text` made safe in HTML text and in a quoted attribute value: markup characters and
/// quotes become entities, newlines character references (a hostile value cannot end an
/// attribute, open a tag or forge a line), other control characters U+FFFD.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if c.is_control() && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `text` percent-encoded as one URL path segment (unreserved characters stay).
pub fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// A state or outcome as its lowercase word (`succeeded`, `lost`, `live`).
fn word(value: impl Debug) -> String {
    format!("{value:?}").to_lowercase()
}

/// A whole page around `body`; it reloads itself every [`REFRESH_SECS`].
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_SECS}\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>lender · {title}</title><style>{STYLE}</style></head>\n<body>\
         <header><h1>lender</h1><a href=\"/\">overview</a><a href=\"/jobs\">jobs</a>\
         <span class=\"meta\">read-only · reloads every {REFRESH_SECS} s · shows the server's \
         state up to 1 s old · {now} UTC</span></header>\n<main>{body}</main></body></html>\n",
        title = esc(title),
        now = format_time(now_ms()),
    )
}

/// An error box (the message escaped).
pub fn error_box(message: &str) -> String {
    format!("<p class=\"error\">{}</p>", esc(message))
}

/// `/`: health, the running export, the county files map and the recent jobs.
pub fn overview(
    health: &HealthReport,
    partitions: Result<&PartitionsReport, &str>,
    history: Result<&[JobRecord], &str>,
) -> String {
    let mut out = String::new();
    out.push_str(&health_section(health, partitions.ok()));
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
        ("queue", health.queue_summary()),
        ("export", health.export_summary()),
        ("store", health.store_summary()),
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
            esc(&health.export_summary())
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
        let generation = if p.current {
            p.generation.to_string()
        } else {
            format!("{} (not current)", p.generation)
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
        out.push_str("<p>not current: cut from an older export; the next call rebuilds it</p>\n");
    }
    out
}

/// A link to a job's page, showing its whole id.
fn job_link(id: &str) -> String {
    format!(
        "<a class=\"id\" href=\"/jobs/{}\">{}</a>",
        path_segment(id),
        esc(id)
    )
}

/// Jobs, newest first: one row each, the running export's progress under it.
fn jobs_table(jobs: &[&JobRecord]) -> String {
    if jobs.is_empty() {
        return "<p>no jobs</p>\n".to_owned();
    }
    let mut out = String::from(
        "<table class=\"jobs\"><tr><th>job</th><th>submitted</th><th>kind</th><th>args</th>\
         <th>state</th><th>attempts</th><th>time</th><th>summary</th></tr>\n",
    );
    for job in jobs {
        let _ = writeln!(
            out,
            "<tr class=\"job\" data-job=\"{id}\"><td>{link}</td><td class=\"when\">{submitted}</td><td>{kind}</td>\
             <td><code>{args}</code></td><td class=\"{state}\">{state}</td>\
             <td class=\"num\">{attempts}</td><td class=\"num\">{total}</td>\
             <td class=\"text\">{summary}</td></tr>",
            id = esc(&job.id),
            link = job_link(&job.id),
            submitted = format_time(job.submitted_ms),
            kind = job.kind.as_str(),
            args = esc(&job.args),
            state = word(job.state),
            attempts = job.attempts.len(),
            total = format_ms(job.duration_ms()),
            summary = esc(job.summary.as_deref().unwrap_or("")),
        );
        if let Some(p) = &job.progress {
            let _ = writeln!(
                out,
                "<tr class=\"progress\"><td></td><td colspan=\"7\">progress {}</td></tr>",
                esc(&describe_progress(p))
            );
        }
    }
    out.push_str("</table>\n");
    out
}

/// What `/jobs` was asked for, as the filter form shows it again.
#[derive(Debug, Default)]
pub struct FilterForm {
    pub filter: JobFilter,
    /// `since` as typed (`15m`).
    pub since: Option<String>,
    pub limit: usize,
}

/// `/jobs`: the filter form and the jobs it picks out of `scanned`.
pub fn jobs(form: &FilterForm, jobs: &[&JobRecord], scanned: usize) -> String {
    let mut out = String::from("<h2>Jobs</h2>\n");
    out.push_str(&filter_form(form));
    let _ = writeln!(
        out,
        "<p>{} shown, newest first, of the {scanned} newest jobs in the history</p>",
        jobs.len()
    );
    out.push_str(&jobs_table(jobs));
    page("jobs", &out)
}

/// `/jobs` with filters it could not read: the form again, empty, and why.
pub fn bad_filter(message: &str) -> String {
    let mut out = String::from("<h2>Jobs</h2>\n");
    out.push_str(&filter_form(&FilterForm::default()));
    out.push_str(&error_box(message));
    page("jobs", &out)
}

fn filter_form(form: &FilterForm) -> String {
    fn options<T: Copy + PartialEq + Debug>(all: &[T], chosen: Option<T>) -> String {
        let mut out = String::from("<option value=\"\">any</option>");
        for &value in all {
            let selected = if chosen == Some(value) {
                " selected"
            } else {
                ""
            };
            let _ = write!(
                out,
                "<option value=\"{w}\"{selected}>{w}</option>",
                w = word(value)
            );
        }
        out
    }
    let county = form
        .filter
        .county
        .map(|c| c.to_string())
        .unwrap_or_default();
    format!(
        "<form method=\"get\" action=\"/jobs\">\
         <label>kind <select name=\"kind\">{kinds}</select></label>\
         <label>state <select name=\"state\">{states}</select></label>\
         <label>county <input name=\"county\" value=\"{county}\" placeholder=\"55001\"></label>\
         <label>since <input name=\"since\" value=\"{since}\" placeholder=\"15m\"></label>\
         <label>limit <input name=\"limit\" value=\"{limit}\"></label>\
         <button type=\"submit\">show</button> <a href=\"/jobs\">clear</a></form>\n",
        kinds = options(&KINDS, form.filter.kind),
        states = options(&STATES, form.filter.state),
        since = esc(form.since.as_deref().unwrap_or("")),
        limit = form.limit,
    )
}

/// `/jobs/{id}`: one job with every attempt.
pub fn job(job: &JobRecord) -> String {
    let mut out = format!(
        "<h2>Job <span class=\"id\">{}</span></h2>\n<table id=\"job\">\n",
        esc(&job.id)
    );
    let progress = job.progress.as_ref().map(describe_progress);
    let rows = [
        ("kind", job.kind.as_str().to_owned()),
        ("args", job.args.clone()),
        ("submitted", format_time(job.submitted_ms)),
        ("state", word(job.state)),
        ("summary", job.summary.clone().unwrap_or_else(|| "-".into())),
    ];
    for (name, value) in rows.iter().chain(progress.map(|p| ("progress", p)).iter()) {
        let class = if *name == "state" {
            value.as_str()
        } else {
            "text"
        };
        let _ = writeln!(
            out,
            "<tr><th>{name}</th><td class=\"{}\">{}</td></tr>",
            esc(class),
            esc(value)
        );
    }
    out.push_str("</table>\n<h3>Attempts</h3>\n");
    if job.attempts.is_empty() {
        out.push_str("<p>none yet (queued)</p>\n");
        return page(&format!("job {}", job.id), &out);
    }
    out.push_str(
        "<table id=\"attempts\"><tr><th>#</th><th>outcome</th><th>started</th><th>ended</th>\
         <th>duration</th><th>rows</th><th>bytes</th><th>error</th></tr>\n",
    );
    let dash = || "-".to_owned();
    for a in &job.attempts {
        let _ = writeln!(
            out,
            "<tr class=\"attempt\" data-attempt=\"{n}\"><td class=\"num\">{n}</td>\
             <td class=\"{outcome}\">{outcome}</td><td class=\"when\">{started}</td>\
             <td class=\"when\">{ended}</td>\
             <td class=\"num\">{duration}</td><td class=\"num\">{rows}</td>\
             <td class=\"num\">{bytes}</td><td class=\"text\">{error}</td></tr>",
            n = a.number,
            outcome = word(a.outcome),
            started = format_time(a.started_ms),
            ended = a.ended_ms.map_or_else(dash, format_time),
            duration = a.duration_ms().map_or_else(dash, format_ms),
            rows = a.rows.map_or_else(dash, thousands),
            bytes = a.bytes.map_or_else(dash, thousands),
            error = esc(a.error.as_deref().unwrap_or("-")),
        );
    }
    out.push_str("</table>\n");
    page(&format!("job {}", job.id), &out)
}
