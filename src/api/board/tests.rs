use std::{collections::BTreeMap, net::SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::{
    hdfs::NodeState,
    jobs::{Check, HealthReport, Jobs},
    store::{
        JobKind, JobState,
        history::{AttemptOutcome, AttemptRecord, AttemptReport},
    },
    views::partitions::{DataNodeView, PartitionState, PartitionView, PartitionsReport},
};

/// What a client, a job argument or an error text could smuggle into a page.
const HOSTILE: &str = "evil\"' onmouseover=x <script>alert(1)</script>\nforged line\r&amp;";

/// True when `page` carries `HOSTILE` only in escaped form.
fn inert(page: &str) -> bool {
    !page.contains("<script")
        && !page.contains("evil\"")
        && !page.contains("evil&quot;' ")
        && !page.contains("\nforged")
        && page.contains("evil&quot;&#39; onmouseover=x &lt;script&gt;alert(1)&lt;/script&gt;&#10;forged line&#13;&amp;amp;")
}

#[test]
fn escaping_leaves_no_markup_quote_or_line_break() {
    let escaped = html::esc(HOSTILE);
    for raw in ['<', '>', '"', '\'', '\n', '\r'] {
        assert!(!escaped.contains(raw), "{raw:?} left in {escaped}");
    }
    assert_eq!(html::esc("a\u{0}b\tc"), "a\u{FFFD}b\tc");
    assert_eq!(
        html::path_segment("01a2-x\"/><script>"),
        "01a2-x%22%2F%3E%3Cscript%3E"
    );
}

fn hostile_job() -> JobRecord {
    JobRecord {
        id: HOSTILE.into(),
        kind: JobKind::Partition,
        args: HOSTILE.into(),
        submitted_ms: 0,
        state: JobState::Failed,
        attempts: vec![AttemptRecord {
            number: 1,
            started_ms: 0,
            ended_ms: Some(10),
            outcome: AttemptOutcome::Failed,
            error: Some(HOSTILE.into()),
            rows: None,
            bytes: None,
        }],
        summary: Some(HOSTILE.into()),
        progress: None,
    }
}

#[test]
fn every_page_escapes_hostile_strings() {
    let job = hostile_job();
    let check = Check {
        ok: false,
        detail: HOSTILE.into(),
    };
    let health = HealthReport {
        namenode: check.clone(),
        datanodes: BTreeMap::from([(HOSTILE.to_owned(), "live".to_owned())]),
        mysql: check,
        queued_jobs: 0,
        running_jobs: 0,
        export: None,
        store_path: HOSTILE.into(),
        store_bytes: 0,
    };
    let partitions = PartitionsReport {
        export_generation: Some(2),
        partitions: vec![PartitionView {
            county: 55001,
            path: HOSTILE.into(),
            rows: 1,
            bytes: 2,
            generation: 1,
            current: false,
            kept: false,
            hosts: vec![HOSTILE.into()],
            state: PartitionState::Stale,
            written_ms: 0,
            job_id: Some(HOSTILE.into()),
        }],
        datanodes: vec![DataNodeView {
            host: HOSTILE.into(),
            state: NodeState::Live,
            county_files_at_risk: 0,
        }],
    };
    let history = [job.clone()];
    let form = html::jobs::FilterForm {
        since: Some(HOSTILE.into()),
        limit: 50,
        ..Default::default()
    };
    let pages = [
        ("job", html::jobs::job(&job)),
        ("jobs", html::jobs::jobs(&form, &[&job], 1)),
        (
            "overview",
            html::overview::overview(&health, Ok(&partitions), Ok(&history)),
        ),
        (
            "overview with errors",
            html::overview::overview(&health, Err(HOSTILE), Err(HOSTILE)),
        ),
        ("bad filter", html::jobs::bad_filter(HOSTILE)),
    ];
    for (name, page) in pages {
        assert!(inert(&page), "{name} page:\n{page}");
        // links to the job carry its id percent-encoded
        if name == "jobs" || name == "overview" {
            assert!(
                page.contains("href=\"/jobs/evil%22%27%20"),
                "{name}:\n{page}"
            );
        }
    }
}

/// Sends one HTTP/1.1 request; returns the status code, the header block and the body.
async fn request(addr: SocketAddr, method: &str, target: &str) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: board\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_lowercase(), body.to_owned())
}

/// A board over a real store in a temporary directory, on a port of its own.
async fn board() -> (SocketAddr, Arc<Views>, Arc<crate::store::tempdir::TempDir>) {
    let (jobs, dir) = Jobs::for_test().await;
    let views = Arc::new(Views::new(jobs));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    spawn(listener, views.clone());
    (addr, views, dir)
}

/// Records a job that ran `outcomes` attempts (true: succeeded); returns its id.
async fn record(views: &Views, kind: JobKind, args: &str, outcomes: &[bool]) -> String {
    let store = views.jobs_for_test().store();
    let id = uuid::Uuid::now_v7().to_string();
    store
        .history()
        .job_submitted(&id, kind, args.into())
        .await
        .unwrap();
    for (i, ok) in outcomes.iter().enumerate() {
        store
            .history()
            .attempt_started(&id, kind, args)
            .await
            .unwrap();
        let report = AttemptReport {
            error: (!ok).then(|| format!("attempt {} failed", i + 1)),
            will_retry: i + 1 < outcomes.len(),
            rows: ok.then_some(7),
            ..Default::default()
        };
        store.history().attempt_finished(&id, report).await.unwrap();
    }
    id
}

/// The ids of the job rows a page lists, in order.
fn listed(page: &str) -> Vec<String> {
    page.split("<tr class=\"job\" data-job=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn filters_select_the_right_jobs_from_the_store() {
    let (addr, views, _dir) = board().await;
    let export = record(&views, JobKind::Export, "mysql -> x", &[true]).await;
    let county = record(
        &views,
        JobKind::Partition,
        "county=55001 source=create",
        &[false, true],
    )
    .await;
    let failed = record(
        &views,
        JobKind::Partition,
        "county=55003 source=create",
        &[false],
    )
    .await;
    let other = record(
        &views,
        JobKind::Partition,
        "county=550011 source=create",
        &[],
    )
    .await;
    let ids = |list: &[&String]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let cases: [(&str, Vec<String>); 8] = [
        ("", ids(&[&other, &failed, &county, &export])),
        ("?kind=export", ids(&[&export])),
        ("?kind=partition&county=55001", ids(&[&county])),
        ("?state=failed", ids(&[&failed])),
        ("?state=queued&kind=partition", ids(&[&other])),
        ("?state=succeeded&limit=1", ids(&[&county])),
        ("?kind=&state=&county=+55003+&since=1h", ids(&[&failed])),
        ("?since=0s&kind=export", ids(&[])),
    ];
    for (query, want) in cases {
        let (status, _, body) = request(addr, "GET", &format!("/jobs{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(listed(&body), want, "/jobs{query}");
    }
    // the form shows what was asked
    let (_, _, body) = request(addr, "GET", "/jobs?kind=partition&county=55001").await;
    assert!(
        body.contains("<option value=\"partition\" selected>"),
        "{body}"
    );
    assert!(body.contains("name=\"county\" value=\"55001\""), "{body}");

    for (query, says) in [
        ("?kind=exports", "kind=\"exports\""),
        ("?state=done", "state=\"done\""),
        ("?county=Dane", "county=\"Dane\""),
        ("?since=soon", "soon"),
        ("?limit=-1", "limit=\"-1\""),
        ("?status=failed", "unknown filter \"status\""),
    ] {
        let (status, _, body) = request(addr, "GET", &format!("/jobs{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert!(body.contains(&html::esc(says)), "{query}: {body}");
    }
}

#[tokio::test]
async fn a_job_page_shows_every_attempt_and_an_id_prefix_finds_it() {
    let (addr, views, _dir) = board().await;
    let id = record(
        &views,
        JobKind::Partition,
        "county=55001 source=recreate",
        &[false, false, true],
    )
    .await;
    let (status, _, body) = request(addr, "GET", &format!("/jobs/{id}")).await;
    assert_eq!(status, 200, "{body}");
    for n in 1..=3 {
        assert!(
            body.contains(&format!("data-attempt=\"{n}\"")),
            "attempt {n}:\n{body}"
        );
    }
    assert!(
        body.contains("attempt 2 failed") && body.contains("succeeded"),
        "{body}"
    );
    let (status, _, prefixed) = request(addr, "GET", &format!("/jobs/{}", &id[..30])).await;
    assert_eq!(status, 200);
    assert!(prefixed.contains(&id));
    let (status, _, missing) = request(addr, "GET", "/jobs/no-such-job").await;
    assert_eq!(status, 404);
    assert!(missing.contains("no job"), "{missing}");
}

#[tokio::test]
async fn only_get_is_answered() {
    let (addr, _views, _dir) = board().await;
    for (method, target) in [
        ("POST", "/"),
        ("PUT", "/jobs"),
        ("DELETE", "/jobs/01a2"),
        ("PATCH", "/jobs?kind=export"),
        ("POST", "/no/such/page"),
    ] {
        let (status, head, body) = request(addr, method, target).await;
        assert_eq!(status, 405, "{method} {target}");
        assert!(
            head.contains("allow: get, head"),
            "{method} {target}: {head}"
        );
        assert!(body.contains("read-only"), "{body}");
    }
    let (status, head, _) = request(addr, "GET", "/jobs").await;
    assert_eq!(status, 200);
    assert!(
        head.contains("content-type: text/html; charset=utf-8"),
        "{head}"
    );
    assert!(
        head.contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    assert_eq!(request(addr, "GET", "/no/such/page").await.0, 404);
}
