//! `lender jobs` and `lender job ID`: the job history as a person reads it, newest first,
//! and the filters that pick the jobs to show.

use std::{fmt::Write, time::Duration};

use thiserror::Error;

use super::format::{format_ms, format_time, thousands};
use crate::store::{JobKind, JobRecord, JobState, history::JobProgress, now_ms};

/// Which jobs to show; every set field must match.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub kind: Option<JobKind>,
    pub state: Option<JobState>,
    /// Partition jobs of this county.
    pub county: Option<i32>,
    /// Submitted at or after this time (epoch ms).
    pub since_ms: Option<u64>,
}

impl JobFilter {
    pub fn matches(&self, job: &JobRecord) -> bool {
        self.kind.is_none_or(|kind| job.kind == kind)
            && self.state.is_none_or(|state| job.state == state)
            && self.since_ms.is_none_or(|since| job.submitted_ms >= since)
            && self.county.is_none_or(|county| {
                let wanted = format!("county={county}");
                job.args.split_whitespace().any(|arg| arg == wanted)
            })
    }

    /// The first `limit` of `jobs` that match (newest first when `jobs` are).
    pub fn select<'a>(
        &'a self,
        jobs: &'a [JobRecord],
        limit: usize,
    ) -> impl Iterator<Item = &'a JobRecord> {
        jobs.iter().filter(|job| self.matches(job)).take(limit)
    }
}

/// The submission time (epoch ms) that a `since` of `ago` reaches back to.
pub fn since_ms(ago: Duration) -> u64 {
    now_ms().saturating_sub(u64::try_from(ago.as_millis()).unwrap_or(u64::MAX))
}

/// The one job whose id starts with `id` (`lender job ID`, the board's job page), or why
/// there is none.
pub fn find_job<'a>(jobs: &'a [JobRecord], id: &str) -> Result<&'a JobRecord, JobLookup> {
    let mut matching = jobs.iter().filter(|j| j.id.starts_with(id));
    match (matching.next(), matching.count()) {
        (Some(job), 0) => Ok(job),
        (None, _) => Err(JobLookup::Missing { id: id.to_owned() }),
        (Some(_), more) => Err(JobLookup::Ambiguous {
            id: id.to_owned(),
            matches: more + 1,
        }),
    }
}

/// Why `lender job ID` (or the board's job page) found no single job.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JobLookup {
    #[error("no job {id:?} in the history (see `lender jobs`)")]
    Missing { id: String },
    #[error("{id:?} matches {matches} jobs; give more of the id")]
    Ambiguous { id: String, matches: usize },
}

/// `90s`, `15m`, `2h`, `1d` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 90s, 15m, 2h or 1d"))?;
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (use s, m, h or d)"
            ));
        }
    };
    Ok(Duration::from_secs(number.saturating_mul(seconds)))
}

/// One job in full: every attempt with start, end, outcome, error, rows, bytes, duration.
pub fn render_one(job: &JobRecord) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "job       {}", job.id);
    let _ = writeln!(
        out,
        "kind      {}",
        format!("{:?}", job.kind).to_lowercase()
    );
    let _ = writeln!(out, "args      {}", job.args);
    let _ = writeln!(out, "submitted {}", format_time(job.submitted_ms));
    let _ = writeln!(
        out,
        "state     {}",
        format!("{:?}", job.state).to_lowercase()
    );
    let _ = writeln!(out, "summary   {}", job.summary.as_deref().unwrap_or("-"));
    if let Some(progress) = &job.progress {
        let _ = writeln!(out, "progress  {}", describe_progress(progress));
    }
    for a in &job.attempts {
        let _ = writeln!(
            out,
            "attempt {}: {}\n    started  {}\n    ended    {}\n    duration {}\n    rows     {}\n    bytes    {}\n    error    {}",
            a.number,
            format!("{:?}", a.outcome).to_lowercase(),
            format_time(a.started_ms),
            a.ended_ms.map(format_time).unwrap_or_else(|| "-".into()),
            a.duration_ms().map(format_ms).unwrap_or_else(|| "-".into()),
            a.rows.map(|r| r.to_string()).unwrap_or_else(|| "-".into()),
            a.bytes.map(|b| b.to_string()).unwrap_or_else(|| "-".into()),
            a.error.as_deref().unwrap_or("-"),
        );
    }
    out
}

pub fn render(jobs: &[JobRecord]) -> String {
    if jobs.is_empty() {
        return "no jobs yet\n".to_owned();
    }
    let mut out = String::new();
    for job in jobs {
        let _ = writeln!(
            out,
            "{}  {:<9}  {:<34}  {:<9}  attempts={}  {}  {}",
            format_time(job.submitted_ms),
            format!("{:?}", job.kind).to_lowercase(),
            job.args,
            format!("{:?}", job.state).to_lowercase(),
            job.attempts.len(),
            format_ms(job.duration_ms()),
            job.summary.as_deref().unwrap_or(""),
        );
        if let Some(progress) = &job.progress {
            let _ = writeln!(out, "    progress {}", describe_progress(progress));
        }
        for attempt in &job.attempts {
            let _ = writeln!(
                out,
                "    #{} {:<11} started {}  {}{}{}{}",
                attempt.number,
                format!("{:?}", attempt.outcome).to_lowercase(),
                format_time(attempt.started_ms),
                attempt
                    .duration_ms()
                    .map(format_ms)
                    .unwrap_or_else(|| "-".into()),
                attempt
                    .rows
                    .map(|r| format!("  rows={r}"))
                    .unwrap_or_default(),
                attempt
                    .bytes
                    .map(|b| format!("  bytes={b}"))
                    .unwrap_or_default(),
                attempt
                    .error
                    .as_deref()
                    .map(|e| format!("  error: {e}"))
                    .unwrap_or_default(),
            );
        }
        let _ = writeln!(out, "    id {}", job.id);
    }
    out
}

/// One finished export as the board draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRun {
    pub id: String,
    pub submitted_ms: u64,
    /// Its attempts' time together (a retried export took the retries too).
    pub seconds: f64,
    /// What the succeeding attempt wrote.
    pub rows: u64,
}

/// The newest `n` exports that succeeded, oldest first (left to right on a chart).
pub fn recent_exports(jobs: &[JobRecord], n: usize) -> Vec<ExportRun> {
    let mut runs: Vec<ExportRun> = jobs
        .iter()
        .filter(|j| j.kind == JobKind::Export && j.state == JobState::Succeeded)
        .take(n)
        .map(|j| ExportRun {
            id: j.id.clone(),
            submitted_ms: j.submitted_ms,
            seconds: j.duration_ms() as f64 / 1000.0,
            rows: j.attempts.iter().rev().find_map(|a| a.rows).unwrap_or(0),
        })
        .collect();
    runs.reverse();
    runs
}

/// `212,992 of 426,716 rows (50%), 7.9 MiB encoded, 52,310 rows/s, ETA 4 s`
pub fn describe_progress(p: &JobProgress) -> String {
    let rows = match p.expected_rows {
        // The data grew since the previous export: its count says nothing about this one.
        Some(expected) if p.rows > expected => format!(
            "{} rows (more than the previous export's {})",
            thousands(p.rows),
            thousands(expected)
        ),
        Some(expected) if expected > 0 => format!(
            "{} of ~{} rows ({:.0}%)",
            thousands(p.rows),
            thousands(expected),
            (p.rows as f64 / expected as f64 * 100.0).min(100.0)
        ),
        _ => format!("{} rows", thousands(p.rows)),
    };
    let eta = match p.eta_s {
        Some(s) => format!("ETA {s:.0} s"),
        None if p.expected_rows.is_some() => "no ETA (past the previous export's rows)".to_owned(),
        None => "no ETA (no earlier export)".to_owned(),
    };
    format!(
        "{rows}, {:.1} MiB encoded, {} rows/s, {eta}",
        p.bytes as f64 / (1024.0 * 1024.0),
        thousands(p.rows_per_s as u64)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{
        JobKind, JobState,
        history::{AttemptOutcome, AttemptRecord},
    };

    fn job(kind: JobKind, args: &str, state: JobState, submitted_ms: u64) -> JobRecord {
        JobRecord {
            id: format!("{args}-{submitted_ms}"),
            kind,
            args: args.into(),
            submitted_ms,
            state,
            attempts: vec![],
            summary: None,
            progress: None,
        }
    }

    #[test]
    fn filters_pick_exactly_the_matching_jobs() {
        let jobs = [
            job(JobKind::Export, "mysql -> x", JobState::Succeeded, 1_000),
            job(
                JobKind::Partition,
                "county=55001 source=create",
                JobState::Failed,
                2_000,
            ),
            job(
                JobKind::Partition,
                "county=55001 source=recreate",
                JobState::Succeeded,
                3_000,
            ),
            job(
                JobKind::Partition,
                "county=550011 source=create",
                JobState::Succeeded,
                4_000,
            ),
        ];
        let pick = |f: JobFilter| -> Vec<u64> {
            jobs.iter()
                .filter(|j| f.matches(j))
                .map(|j| j.submitted_ms)
                .collect()
        };
        assert_eq!(pick(JobFilter::default()), [1_000, 2_000, 3_000, 4_000]);
        let kind = Some(JobKind::Export);
        assert_eq!(
            pick(JobFilter {
                kind,
                ..Default::default()
            }),
            [1_000]
        );
        let state = Some(JobState::Failed);
        assert_eq!(
            pick(JobFilter {
                state,
                ..Default::default()
            }),
            [2_000]
        );
        let county = Some(55001);
        assert_eq!(
            pick(JobFilter {
                county,
                ..Default::default()
            }),
            [2_000, 3_000]
        );
        let since_ms = Some(3_000);
        assert_eq!(
            pick(JobFilter {
                since_ms,
                ..Default::default()
            }),
            [3_000, 4_000]
        );
    }

    #[test]
    fn a_job_is_found_by_a_unique_prefix_of_its_id() {
        let jobs = [
            job(JobKind::Export, "a", JobState::Succeeded, 1),
            job(JobKind::Export, "a", JobState::Succeeded, 2),
        ];
        assert_eq!(find_job(&jobs, "a-2").map(|j| j.submitted_ms), Ok(2));
        let ambiguous = find_job(&jobs, "a-").unwrap_err();
        assert_eq!(
            ambiguous,
            JobLookup::Ambiguous {
                id: "a-".into(),
                matches: 2
            }
        );
        assert!(ambiguous.to_string().contains("matches 2 jobs"));
        let missing = find_job(&jobs, "b").unwrap_err();
        assert!(missing.to_string().contains("no job \"b\""), "{missing}");
    }

    #[test]
    fn recent_exports_are_the_newest_successes_oldest_first() {
        let finished = |submitted_ms, ok: bool, rows| {
            let mut j = job(JobKind::Export, "x", JobState::Succeeded, submitted_ms);
            if !ok {
                j.state = JobState::Failed;
            }
            j.attempts = vec![AttemptRecord {
                number: 1,
                started_ms: submitted_ms,
                ended_ms: Some(submitted_ms + 2500),
                outcome: AttemptOutcome::Succeeded,
                error: None,
                rows: Some(rows),
                bytes: None,
            }];
            j
        };
        // newest first, as the history lists them
        let jobs = vec![
            finished(40, true, 4),
            job(JobKind::Partition, "county=1", JobState::Succeeded, 35),
            finished(30, false, 3),
            finished(20, true, 2),
            finished(10, true, 1),
        ];
        let runs = recent_exports(&jobs, 2);
        let got: Vec<(u64, u64)> = runs.iter().map(|r| (r.submitted_ms, r.rows)).collect();
        assert_eq!(got, [(20, 2), (40, 4)]);
        assert_eq!(runs[0].seconds, 2.5);
        assert!(recent_exports(&[], 10).is_empty());
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert!(parse_duration("2w").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn renders_jobs_with_attempts() {
        let job = JobRecord {
            id: "abc".into(),
            kind: JobKind::Partition,
            args: "county=55001 source=create".into(),
            submitted_ms: 0,
            state: JobState::Succeeded,
            attempts: vec![AttemptRecord {
                number: 1,
                started_ms: 0,
                ended_ms: Some(1500),
                outcome: AttemptOutcome::Succeeded,
                error: None,
                rows: Some(10),
                bytes: Some(20),
            }],
            summary: Some("county 55001 average 1".into()),
            progress: None,
        };
        let text = render(&[job]);
        assert!(text.contains("partition"), "{text}");
        assert!(text.contains("succeeded"), "{text}");
        assert!(text.contains("rows=10"), "{text}");
        assert!(text.contains("1.5 s"), "{text}");
        assert_eq!(render(&[]), "no jobs yet\n");
    }

    #[test]
    fn progress_reads_as_a_share_and_drops_the_eta_once_past_the_previous_export() {
        let mut p = JobProgress {
            rows: 212_992,
            bytes: 6 << 20,
            seconds: 2.0,
            rows_per_s: 106_496.0,
            expected_rows: Some(426_716),
            eta_s: Some(2.0),
        };
        let text = describe_progress(&p);
        assert!(text.starts_with("212,992 of ~426,716 rows (50%)"), "{text}");
        assert!(
            text.contains("106,496 rows/s") && text.ends_with("ETA 2 s"),
            "{text}"
        );
        p.rows = 1_515_520;
        p.eta_s = None;
        let text = describe_progress(&p);
        assert!(
            text.contains("more than the previous export's 426,716"),
            "{text}"
        );
        assert!(
            text.ends_with("no ETA (past the previous export's rows)"),
            "{text}"
        );
    }
}
