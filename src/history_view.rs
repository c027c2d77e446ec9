//! `lender jobs`: the job history as a person reads it, newest first.

use std::fmt::Write;

use crate::store::{AttemptRecord, JobRecord};

pub fn render(jobs: &[JobRecord]) -> String {
    if jobs.is_empty() {
        return "no jobs yet\n".to_owned();
    }
    let mut out = String::new();
    for job in jobs {
        let total: u64 = job
            .attempts
            .iter()
            .filter_map(AttemptRecord::duration_ms)
            .sum();
        let _ = writeln!(
            out,
            "{}  {:<9}  {:<34}  {:<9}  attempts={}  {}  {}",
            format_time(job.submitted_ms),
            format!("{:?}", job.kind).to_lowercase(),
            job.args,
            format!("{:?}", job.state).to_lowercase(),
            job.attempts.len(),
            format_ms(total),
            job.summary.as_deref().unwrap_or(""),
        );
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

fn format_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// Epoch milliseconds as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn format_time(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Inverse of days-from-civil (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AttemptOutcome, JobKind, JobState};

    #[test]
    fn formats_utc_times() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00");
        assert_eq!(format_time(1_795_000_000_000), "2026-11-18 11:06:40");
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
        };
        let text = render(&[job]);
        assert!(text.contains("partition"), "{text}");
        assert!(text.contains("succeeded"), "{text}");
        assert!(text.contains("rows=10"), "{text}");
        assert!(text.contains("1.5 s"), "{text}");
        assert_eq!(render(&[]), "no jobs yet\n");
    }
}
