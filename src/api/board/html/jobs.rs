//! The job pages: the filtered list and one job with its attempts.

use std::fmt::{Debug, Write};

use super::{error_box, esc, page, path_segment, word};
use crate::{
    store::{JobKind, JobRecord, JobState},
    views::{JobFilter, describe_progress, format_ms, format_time, thousands},
};

const KINDS: [JobKind; 2] = [JobKind::Export, JobKind::Partition];
const STATES: [JobState; 4] = [
    JobState::Queued,
    JobState::Running,
    JobState::Succeeded,
    JobState::Failed,
];

/// A link to a job's page, showing its whole id.
pub(super) fn job_link(id: &str) -> String {
    format!(
        "<a class=\"id\" href=\"/jobs/{}\">{}</a>",
        path_segment(id),
        esc(id)
    )
}

/// Jobs, newest first: one row each, the running export's progress under it.
pub(super) fn jobs_table(jobs: &[&JobRecord]) -> String {
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
