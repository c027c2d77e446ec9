//! The board's pages as HTML: plain tables and a little inline CSS, no script. Every string
//! that reaches a page goes through [`esc`] (text and attribute values alike) or, in a link,
//! [`path_segment`]: county paths, job arguments, errors and host names may carry what a
//! client sent.
//!
//! The pages live in [`jobs`] and [`overview`] (its charts in `pictures`, drawn by `svg`);
//! this file holds what they share (escaping,
//! the page frame, the error box), and the board calls the pages in their modules, so the
//! pages import this file and this file imports no page.

pub mod jobs;
pub mod overview;
mod pictures;
mod svg;

use std::fmt::{Debug, Write};

use crate::{store::now_ms, views::format_time};

/// Seconds between the browser's reloads of a page.
pub const REFRESH_SECS: u32 = 5;

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
progress{width:420px;height:14px}\
.charts{display:flex;flex-wrap:wrap;gap:10px}figure.chart{margin:0;background:#fff;border:1px solid #dde;padding:6px 8px}\
figcaption{font-weight:600;font-size:13px}details{font-size:12px;color:#445}form{margin:6px 0}form label{margin-right:10px}input{width:90px}";

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
