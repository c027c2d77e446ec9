//! The overview's pictures: the views' numbers turned into [`svg`] charts. Each function
//! only picks numbers and words out of a view; the drawing is [`svg::bar_chart`]'s.

use super::svg::{self, Chart, Group, Unit};
use crate::store::JobRecord;
use crate::views::{
    ExportRun, PartitionsReport, format_time, latency::SourceLatency, recent_exports, thousands,
};

/// How many exports the export charts show.
const EXPORTS_DRAWN: usize = 10;

/// The four charts side by side: blocks per DataNode, the last exports' time and rows, and
/// CalcAvgLoan's answer times by source.
pub fn pictures(
    partitions: Result<&PartitionsReport, &str>,
    history: Result<&[JobRecord], &str>,
    latency: &[SourceLatency],
) -> String {
    let exports = history.map(|jobs| recent_exports(jobs, EXPORTS_DRAWN));
    let exports = exports.as_deref().map_err(|e| *e);
    let mut out = String::from("<div class=\"charts\">\n");
    out.push_str(&blocks(partitions));
    out.push_str(&export_seconds(exports));
    out.push_str(&export_rows(exports));
    out.push_str(&answer_times(latency));
    out.push_str("</div>\n");
    out
}

/// The big file's and the county files' blocks on each DataNode: an uneven spread, or a
/// node with nothing, shows at a glance.
fn blocks(partitions: Result<&PartitionsReport, &str>) -> String {
    let groups: Vec<Group> = partitions
        .map(PartitionsReport::blocks_per_datanode)
        .unwrap_or_default()
        .into_iter()
        .map(|node| Group {
            key: node.host.clone(),
            label: node.host,
            values: vec![Some(node.big_file as f64), Some(node.county_files as f64)],
            note: String::new(),
        })
        .collect();
    let empty = match partitions {
        Ok(_) => "no blocks located yet (run DbToHdfs)".to_owned(),
        Err(e) => format!("block locations unavailable: {e}"),
    };
    svg::bar_chart(&Chart {
        id: "chart-blocks",
        title: "Blocks per DataNode",
        axis: "blocks",
        unit: Unit::Count,
        series: &["big file", "county files"],
        groups: &groups,
        empty: &empty,
    })
}

/// One group per export, labelled with its start time (HH:MM), keyed by its job id.
fn export_groups(runs: &[ExportRun], value: impl Fn(&ExportRun) -> f64) -> Vec<Group> {
    runs.iter()
        .map(|run| {
            let when = format_time(run.submitted_ms);
            Group {
                key: run.id.clone(),
                label: when.get(11..16).unwrap_or(&when).to_owned(),
                values: vec![Some(value(run))],
                note: format!("export of {when} UTC, {} rows", thousands(run.rows)),
            }
        })
        .collect()
}

/// A chart of one number per recent export, or why there is none.
fn export_chart(
    exports: Result<&[ExportRun], &str>,
    (id, title, axis, unit): (&str, &str, &str, Unit),
    value: impl Fn(&ExportRun) -> f64,
) -> String {
    let groups = exports.map_or_else(|_| Vec::new(), |runs| export_groups(runs, value));
    let empty = match exports {
        Ok(_) => "no export has succeeded yet".to_owned(),
        Err(e) => format!("job history unavailable: {e}"),
    };
    svg::bar_chart(&Chart {
        id,
        title,
        axis,
        unit,
        series: &["export"],
        groups: &groups,
        empty: &empty,
    })
}

fn export_seconds(exports: Result<&[ExportRun], &str>) -> String {
    let chart = (
        "chart-export-seconds",
        "Last exports: time",
        "seconds",
        Unit::Seconds,
    );
    export_chart(exports, chart, |run| run.seconds)
}

fn export_rows(exports: Result<&[ExportRun], &str>) -> String {
    let chart = (
        "chart-export-rows",
        "Last exports: rows",
        "rows",
        Unit::Count,
    );
    export_chart(exports, chart, |run| run.rows as f64)
}

/// Median and 95th percentile per source: a reuse should be a sliver next to a create.
fn answer_times(latency: &[SourceLatency]) -> String {
    let groups: Vec<Group> = latency
        .iter()
        .map(|source| Group {
            key: source.source.to_owned(),
            label: source.source.to_owned(),
            values: vec![source.median, source.p95],
            note: format!(
                "{} answers since the server started",
                thousands(source.answers)
            ),
        })
        .collect();
    svg::bar_chart(&Chart {
        id: "chart-latency",
        title: "CalcAvgLoan answer time by source",
        axis: "seconds",
        unit: Unit::Seconds,
        series: &["median", "p95"],
        groups: &groups,
        empty: "no CalcAvgLoan answered since the server started",
    })
}
