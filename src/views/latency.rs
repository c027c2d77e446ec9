//! CalcAvgLoan's answer times by source, as the board draws them: what a `reuse` costs
//! next to a `create` or a `recreate` is the point of keeping county files at all.

use crate::{jobs::Source, telemetry::Times};

/// The sources in the order people read them: first call, later calls, after a loss.
const SOURCES: [Source; 3] = [Source::Create, Source::Reuse, Source::Recreate];

/// One source's answer times (seconds), over its latest answers.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceLatency {
    pub source: &'static str,
    /// Answers since the server started.
    pub answers: u64,
    /// Over the latest answers kept; `None` when there were none.
    pub median: Option<f64>,
    pub p95: Option<f64>,
    pub max: Option<f64>,
}

/// Every source, the ones never answered from too (the chart shows them empty).
pub fn by_source(times: &[Times]) -> Vec<SourceLatency> {
    SOURCES
        .iter()
        .map(|source| {
            let label = source.as_str();
            let kept = times.iter().find(|t| t.label == label);
            let mut seconds = kept.map(|t| t.seconds.clone()).unwrap_or_default();
            seconds.sort_by(f64::total_cmp);
            SourceLatency {
                source: label,
                answers: kept.map_or(0, |t| t.total),
                median: percentile(&seconds, 50),
                p95: percentile(&seconds, 95),
                max: seconds.last().copied(),
            }
        })
        .collect()
}

/// The nearest-rank percentile of sorted `values`.
fn percentile(sorted: &[f64], pct: usize) -> Option<f64> {
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_with_median_p95_and_max() {
        let times = [Times {
            label: "reuse",
            total: 120,
            seconds: (1..=100).rev().map(|ms| ms as f64 / 1000.0).collect(),
        }];
        let got = by_source(&times);
        let sources: Vec<&str> = got.iter().map(|l| l.source).collect();
        assert_eq!(sources, ["create", "reuse", "recreate"]);
        let reuse = &got[1];
        assert_eq!(reuse.answers, 120);
        assert_eq!(
            (reuse.median, reuse.p95, reuse.max),
            (Some(0.05), Some(0.095), Some(0.1))
        );
        assert_eq!((got[0].answers, got[0].median), (0, None));
        assert_eq!(percentile(&[3.0], 95), Some(3.0));
    }
}
