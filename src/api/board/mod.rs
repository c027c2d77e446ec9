//! The read-only web board (`LENDER_BOARD_LISTEN`): the facts of `lender health`,
//! `lender partitions`, `lender jobs` and `lender job ID` as server-rendered pages, on a
//! listener of its own.
//!
//! * `/`: health (NameNode, DataNodes, MySQL, queue, export, store), pictures (blocks per
//!   DataNode, the last exports' time and rows, CalcAvgLoan's answer time by source), the
//!   running export's progress, the county files map and the recent jobs;
//! * `/jobs?kind=&state=&county=&since=&limit=`: the job history, filtered as `lender jobs`
//!   filters it;
//! * `/jobs/{id}`: one job (an id prefix is enough) with every attempt.
//!
//! It changes nothing: GET (and HEAD) only, any other method is answered 405. Its data comes
//! from [`Views`], the admin service's views and caches, so a flood of reloads costs one
//! refresh a second.

mod html;

use std::{net::SocketAddr, sync::Arc};

use tokio::task::JoinHandle;

use axum::{
    Router,
    extract::{Path, RawQuery, State},
    http::{HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::{Deserialize, de::value::StrDeserializer};

use crate::{
    store::{HISTORY_SCAN, JobRecord},
    views::{Views, find_job, parse_duration, since_ms},
};

/// Jobs `/jobs` lists when no limit is asked for (as `lender jobs`).
const DEFAULT_LIMIT: usize = 50;

/// No script, no frames, no third-party anything: the pages are tables and inline CSS.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Binds `addr` and serves the board on the running runtime until the returned task is
/// aborted; a port that cannot be bound is an error naming the setting.
pub async fn serve(addr: SocketAddr, views: Arc<Views>) -> Result<JoinHandle<()>, String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("web board on {addr} (LENDER_BOARD_LISTEN): {e}"))?;
    tracing::info!(%addr, "read-only web board on http://{addr}/");
    Ok(spawn(listener, views))
}

fn spawn(listener: tokio::net::TcpListener, views: Arc<Views>) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(views)).await {
            tracing::error!(error = %e, "web board stopped");
        }
    })
}

fn router(views: Arc<Views>) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/jobs", get(jobs))
        .route("/jobs/{id}", get(job))
        .method_not_allowed_fallback(read_only)
        .fallback(not_found)
        .with_state(views)
}

async fn overview(State(views): State<Arc<Views>>) -> Response {
    let (health, partitions, history) =
        tokio::join!(views.health(), views.partitions(), views.history());
    let body = html::overview::overview(
        &health,
        partitions.as_deref().map_err(String::as_str),
        history
            .as_deref()
            .map(Vec::as_slice)
            .map_err(String::as_str),
        &views.latency(),
    );
    page(StatusCode::OK, body)
}

async fn jobs(State(views): State<Arc<Views>>, RawQuery(query): RawQuery) -> Response {
    let form = match parse_filters(query.as_deref().unwrap_or("")) {
        Ok(form) => form,
        Err(e) => return page(StatusCode::BAD_REQUEST, html::jobs::bad_filter(&e)),
    };
    match views.history().await {
        Ok(history) => {
            let shown: Vec<&JobRecord> = form.filter.select(&history, form.limit).collect();
            page(
                StatusCode::OK,
                html::jobs::jobs(&form, &shown, history.len()),
            )
        }
        Err(e) => unavailable(&e),
    }
}

async fn job(State(views): State<Arc<Views>>, Path(id): Path<String>) -> Response {
    match views.history().await {
        Ok(history) => match find_job(&history, &id) {
            Ok(job) => page(StatusCode::OK, html::jobs::job(job)),
            Err(e) => page(
                StatusCode::NOT_FOUND,
                html::page("no such job", &html::error_box(&e.to_string())),
            ),
        },
        Err(e) => unavailable(&e),
    }
}

/// Any method but GET (and HEAD) on a page: nothing here changes anything.
async fn read_only() -> Response {
    let body = html::page(
        "read-only",
        &html::error_box("this board is read-only: only GET is answered"),
    );
    let mut response = page(StatusCode::METHOD_NOT_ALLOWED, body);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

async fn not_found(method: Method) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return read_only().await;
    }
    let links = "<p>pages: <a href=\"/\">overview</a>, <a href=\"/jobs\">jobs</a></p>";
    page(StatusCode::NOT_FOUND, html::page("not found", links))
}

fn unavailable(error: &str) -> Response {
    let body = html::error_box(&format!("job history unavailable: {error}"));
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        html::page("unavailable", &body),
    )
}

/// An HTML response that nothing caches and that may run no script.
fn page(status: StatusCode, body: String) -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    ];
    (status, headers, body).into_response()
}

/// `/jobs`'s query: `kind` (export, partition), `state` (queued, running, succeeded,
/// failed), `county`, `since` (90s, 15m, 2h, 1d) and `limit`, as `lender jobs` takes them;
/// an empty value means any. Anything else is an error naming the parameter.
fn parse_filters(query: &str) -> Result<html::jobs::FilterForm, String> {
    let mut form = html::jobs::FilterForm {
        limit: DEFAULT_LIMIT,
        ..Default::default()
    };
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match key.as_ref() {
            "kind" => form.filter.kind = Some(named(&key, value)?),
            "state" => form.filter.state = Some(named(&key, value)?),
            "county" => {
                let county = value
                    .parse()
                    .map_err(|_| format!("county={value:?} is not a county code such as 55001"))?;
                form.filter.county = Some(county);
            }
            "since" => {
                let since = parse_duration(value)?;
                form.filter.since_ms = Some(since_ms(since));
                form.since = Some(value.to_owned());
            }
            "limit" => {
                let limit: usize = value
                    .parse()
                    .map_err(|_| format!("limit={value:?} is not a whole number"))?;
                form.limit = limit.clamp(1, HISTORY_SCAN);
            }
            other => {
                return Err(format!(
                    "unknown filter {other:?} (use kind, state, county, since, limit)"
                ));
            }
        }
    }
    Ok(form)
}

/// A kind or state from its name as the JSON views spell it (`partition`, `failed`).
fn named<'de, T: Deserialize<'de>>(key: &str, value: &'de str) -> Result<T, String> {
    T::deserialize(StrDeserializer::<serde::de::value::Error>::new(value))
        .map_err(|e| format!("{key}={value:?}: {e}"))
}

#[cfg(test)]
mod tests;
