//! Bar charts as inline SVG, drawn on the server. The board runs no script (its CSP forbids
//! it), yet some facts read faster as a picture than as a table: how evenly the blocks sit
//! on the DataNodes, whether the last exports got slower, how much a `reuse` saves over a
//! `create`. SVG inside the page needs nothing but the HTML we already send.
//!
//! [`bar_chart`] takes plain numbers and returns markup: one `<rect class="bar">` per value
//! (with `data-series`, `data-key` and `data-value`, so a test can count and check them),
//! a `<title>` tooltip on each bar, a value axis with its unit, the group labels, a legend,
//! and the same numbers as a table under a `<details>` for readers who cannot see the
//! picture. Every string goes through [`esc`], like the rest of the board.

use std::fmt::Write;

use super::esc;
use crate::views::thousands;

const WIDTH: f64 = 272.0;
const HEIGHT: f64 = 210.0;
/// Room for the value axis (ticks and the unit) on the left.
const LEFT: f64 = 56.0;
const RIGHT: f64 = 8.0;
/// Room for the legend above the bars.
const TOP: f64 = 22.0;
/// Room for the group labels under the bars.
const BOTTOM: f64 = 26.0;
/// Roughly how wide one character of a 10 px label is: longer labels are cut to fit.
const CHAR_WIDTH: f64 = 6.0;
/// Series colours, in order (a third series would reuse the first).
const COLOURS: [&str; 2] = ["#3b6fb6", "#e39b2d"];

/// What the numbers count, which decides how they read on the axis and in tooltips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Whole things (blocks, rows): `1,234,567` exactly, `1.2M` on the axis.
    Count,
    /// Durations in seconds: `850.0 ms`, `12.3 s`, `2.5 min`.
    Seconds,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Count => "count",
            Unit::Seconds => "time",
        }
    }

    /// The value as a tooltip or the table shows it.
    pub fn exact(self, value: f64) -> String {
        match self {
            Unit::Count => thousands(value as u64),
            Unit::Seconds => seconds(value),
        }
    }

    /// The value as an axis tick shows it: short.
    pub fn tick(self, value: f64) -> String {
        match self {
            Unit::Count => compact(value),
            // `500 ms`, not `500.0 ms`: the axis has little room
            Unit::Seconds => seconds(value).replace(".0 ", " "),
        }
    }
}

/// One group of bars: one per series, side by side, over one label.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// What identifies the group in `data-key` (a host, a job id, a source).
    pub key: String,
    /// Under the bars (cut to fit; the tooltip has it whole).
    pub label: String,
    /// One per series; `None` (or a value that is not a finite number >= 0): no bar.
    pub values: Vec<Option<f64>>,
    /// Appended to each bar's tooltip, e.g. `3 answers`.
    pub note: String,
}

/// A chart: an id for the page (and tests), a title, what the values count, the series'
/// names and the groups, left to right.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    pub id: &'a str,
    pub title: &'a str,
    /// The value axis's label, e.g. `blocks` or `seconds`.
    pub axis: &'a str,
    pub unit: Unit,
    pub series: &'a [&'a str],
    pub groups: &'a [Group],
    /// Said instead of bars when no group has a value.
    pub empty: &'a str,
}

/// The chart as a `<figure>`: caption, SVG, and the numbers as a table.
pub fn bar_chart(chart: &Chart) -> String {
    let top = nice_ceiling(max_value(chart.groups));
    let mut svg = format!(
        "<svg id=\"{id}\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" \
         width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         aria-labelledby=\"{id}-title\"><title id=\"{id}-title\">{title}</title>",
        id = esc(chart.id),
        title = esc(chart.title),
    );
    svg.push_str(&value_axis(chart, top));
    match top {
        Some(top) => {
            svg.push_str(&bars(chart, top));
            svg.push_str(&legend(chart.series));
        }
        None => {
            let _ = write!(
                svg,
                "<text class=\"empty\" x=\"{x}\" y=\"{y}\" text-anchor=\"middle\" font-size=\"12\" \
                 fill=\"#667\">{}</text>",
                esc(chart.empty),
                x = LEFT + plot_width() / 2.0,
                y = TOP + plot_height() / 2.0,
            );
        }
    }
    svg.push_str(&group_labels(chart.groups));
    svg.push_str("</svg>");
    format!(
        "<figure class=\"chart\"><figcaption>{}</figcaption>{svg}{}</figure>\n",
        esc(chart.title),
        numbers_table(chart)
    )
}

fn plot_width() -> f64 {
    WIDTH - LEFT - RIGHT
}

fn plot_height() -> f64 {
    HEIGHT - TOP - BOTTOM
}

/// A value that can be drawn: finite and not negative.
fn drawable(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite() && *v >= 0.0)
}

/// The largest drawable value, `None` when there is none or all are zero.
fn max_value(groups: &[Group]) -> Option<f64> {
    groups
        .iter()
        .flat_map(|g| g.values.iter().copied().filter_map(drawable))
        .fold(None, |max: Option<f64>, v| {
            Some(max.map_or(v, |m| m.max(v)))
        })
        .filter(|max| *max > 0.0)
}

/// The axis's top: the smallest 1, 2, 2.5 or 5 times a power of ten at or above `max`, so
/// the ticks at its halves read as round numbers.
fn nice_ceiling(max: Option<f64>) -> Option<f64> {
    let max = max?;
    let power = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|step| step * power)
        .find(|top| *top >= max)
        .or(Some(max))
}

/// The value axis: a line, ticks at 0, half and the top with light grid lines, the unit.
fn value_axis(chart: &Chart, top: Option<f64>) -> String {
    let bottom = TOP + plot_height();
    let mut out = format!(
        "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{bottom}\" stroke=\"#889\"/>\
         <line x1=\"{LEFT}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" stroke=\"#889\"/>\
         <text class=\"axis-label\" transform=\"translate(9 {middle}) rotate(-90)\" \
         text-anchor=\"middle\" font-size=\"10\" fill=\"#445\">{axis}</text>",
        right = WIDTH - RIGHT,
        middle = TOP + plot_height() / 2.0,
        axis = esc(chart.axis),
    );
    let Some(top) = top else {
        return out;
    };
    for share in [0.0, 0.5, 1.0] {
        let y = bottom - share * plot_height();
        if share > 0.0 {
            let _ = write!(
                out,
                "<line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{right}\" y2=\"{y}\" stroke=\"#dde\"/>",
                right = WIDTH - RIGHT,
            );
        }
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{x}\" y=\"{y}\" text-anchor=\"end\" dominant-baseline=\"middle\" \
             font-size=\"10\" fill=\"#445\">{}</text>",
            esc(&chart.unit.tick(top * share)),
            x = LEFT - 4.0,
        );
    }
    out
}

/// One `<rect>` per drawable value, its height a share of `top`.
fn bars(chart: &Chart, top: f64) -> String {
    let slot = plot_width() / chart.groups.len().max(1) as f64;
    let series = chart.series.len().max(1) as f64;
    let width = (slot * 0.8 / series).max(1.0);
    let mut out = String::new();
    for (g, group) in chart.groups.iter().enumerate() {
        let start = LEFT + slot * g as f64 + slot * 0.1;
        for (s, value) in group.values.iter().enumerate() {
            let Some(value) = drawable(*value) else {
                continue;
            };
            // A value too small for one pixel still shows as one: zero is not "small".
            let mut height = value / top * plot_height();
            if value > 0.0 {
                height = height.max(1.0);
            }
            let name = chart.series.get(s).copied().unwrap_or("");
            let _ = write!(
                out,
                "<rect class=\"bar\" data-series=\"{series}\" data-key=\"{key}\" data-value=\"{value}\" \
                 x=\"{x:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{height:.1}\" fill=\"{fill}\">\
                 <title>{tip}</title></rect>",
                series = esc(name),
                key = esc(&group.key),
                x = start + width * s as f64,
                y = TOP + plot_height() - height,
                fill = COLOURS[s % COLOURS.len()],
                tip = esc(&tooltip(chart.unit, group, name, value)),
            );
        }
    }
    out
}

/// `dn1 · big file: 12 (3 answers)`
fn tooltip(unit: Unit, group: &Group, series: &str, value: f64) -> String {
    let mut text = format!("{} · {series}: {}", group.label, unit.exact(value));
    if !group.note.is_empty() {
        let _ = write!(text, " ({})", group.note);
    }
    text
}

/// The group labels under the bars, each cut to its slot's width.
fn group_labels(groups: &[Group]) -> String {
    let slot = plot_width() / groups.len().max(1) as f64;
    let fits = ((slot / CHAR_WIDTH) as usize).max(2);
    let mut out = String::new();
    for (g, group) in groups.iter().enumerate() {
        let _ = write!(
            out,
            "<text class=\"group\" x=\"{x:.1}\" y=\"{y}\" text-anchor=\"middle\" font-size=\"10\" \
             fill=\"#223\">{label}<title>{whole}</title></text>",
            x = LEFT + slot * (g as f64 + 0.5),
            y = HEIGHT - BOTTOM + 14.0,
            label = esc(&cut(&group.label, fits)),
            whole = esc(&group.label),
        );
    }
    out
}

/// Coloured squares with the series' names, above the plot (none for a single series).
fn legend(series: &[&str]) -> String {
    if series.len() < 2 {
        return String::new();
    }
    let mut out = String::new();
    let mut x = LEFT;
    for (s, name) in series.iter().enumerate() {
        let _ = write!(
            out,
            "<rect class=\"legend\" x=\"{x}\" y=\"6\" width=\"10\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{tx}\" y=\"15\" font-size=\"10\" fill=\"#223\">{}</text>",
            COLOURS[s % COLOURS.len()],
            esc(name),
            tx = x + 14.0,
        );
        x += 24.0 + CHAR_WIDTH * name.chars().count() as f64;
    }
    out
}

/// The chart's numbers as a table, folded away: the picture's text for those without it.
fn numbers_table(chart: &Chart) -> String {
    let mut out = String::from("<details><summary>numbers</summary><table><tr><th></th>");
    for name in chart.series {
        let _ = write!(out, "<th>{}</th>", esc(name));
    }
    out.push_str("</tr>");
    for group in chart.groups {
        let _ = write!(out, "<tr><th>{}</th>", esc(&group.label));
        for value in &group.values {
            let text = drawable(*value).map_or_else(|| "-".to_owned(), |v| chart.unit.exact(v));
            let _ = write!(out, "<td class=\"num\">{}</td>", esc(&text));
        }
        out.push_str("</tr>");
    }
    let _ = write!(
        out,
        "</table><p>values: {}</p></details>",
        chart.unit.name()
    );
    out
}

/// At most `chars` characters of `text`, the cut marked with `…`.
fn cut(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `950`, `1.5k`, `12M`, `3.4G`, and so on up to `E` (what an u64 reaches).
pub fn compact(value: f64) -> String {
    const PREFIXES: [&str; 7] = ["", "k", "M", "G", "T", "P", "E"];
    let mut value = value;
    let mut prefix = 0;
    while value.abs() >= 1000.0 && prefix + 1 < PREFIXES.len() {
        value /= 1000.0;
        prefix += 1;
    }
    let digits = if value.fract() == 0.0 || value >= 100.0 {
        0
    } else {
        1
    };
    format!("{value:.digits$}{}", PREFIXES[prefix])
}

/// `0 s`, `850.0 ms`, `12.3 s`, `2.5 min`
pub fn seconds(value: f64) -> String {
    if value == 0.0 {
        "0 s".to_owned()
    } else if value < 1.0 {
        format!("{:.1} ms", value * 1000.0)
    } else if value < 120.0 {
        format!("{value:.1} s")
    } else {
        format!("{:.1} min", value / 60.0)
    }
}

#[cfg(test)]
mod tests;
