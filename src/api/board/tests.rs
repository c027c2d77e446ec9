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
            blocks: BTreeMap::from([(HOSTILE.to_owned(), 1)]),
            state: PartitionState::Stale,
            written_ms: 0,
            job_id: Some(HOSTILE.into()),
        }],
        datanodes: vec![DataNodeView {
            host: HOSTILE.into(),
            state: NodeState::Live,
            county_files_at_risk: 0,
        }],
        big_file_blocks: BTreeMap::from([(HOSTILE.to_owned(), 3)]),
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
            html::overview::overview(&health, Ok(&partitions), Ok(&history), &[]),
        ),
        (
            "overview with errors",
            html::overview::overview(&health, Err(HOSTILE), Err(HOSTILE), &[]),
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

/// A DataNode's name as the local cluster's NameNode reports it.
fn dn(n: usize) -> String {
    format!("127.0.0.{}:98{n}6", n + 1)
}

/// A cluster after a few exports and calls: 3 DataNodes, 16 blocks of the big file twice,
/// 72 one-block county files, 6 exports, answers from every source.
fn sample_overview() -> String {
    let ok = |detail: &str| Check {
        ok: true,
        detail: detail.into(),
    };
    let hosts: Vec<String> = (1..=3).map(dn).collect();
    let health = HealthReport {
        namenode: ok("3 live DataNodes"),
        datanodes: hosts
            .iter()
            .map(|h| (h.clone(), "live".to_owned()))
            .collect(),
        mysql: ok("MariaDB 11.8, 447,367 loans"),
        queued_jobs: 0,
        running_jobs: 0,
        export: None,
        store_path: ".local/server/lender.redb".into(),
        store_bytes: 5 << 20,
    };
    let partitions = PartitionsReport {
        export_generation: Some(6),
        partitions: (0..72)
            .map(|i| PartitionView {
                county: 55001 + 2 * i,
                path: format!("/partitions/{}.parquet", 55001 + 2 * i),
                rows: 2000 + 97 * i as u64,
                bytes: 90_000,
                generation: 6,
                current: true,
                kept: i % 4 != 0,
                hosts: vec![hosts[i as usize % 3].clone()],
                blocks: BTreeMap::from([(hosts[(i as usize * 7 / 5) % 3].clone(), 1)]),
                state: PartitionState::Healthy,
                written_ms: 1_795_000_000_000,
                job_id: None,
            })
            .collect(),
        datanodes: hosts
            .iter()
            .map(|h| DataNodeView {
                host: h.clone(),
                state: NodeState::Live,
                county_files_at_risk: 24,
            })
            .collect(),
        big_file_blocks: hosts.iter().cloned().zip([11, 10, 11]).collect(),
    };
    let history: Vec<JobRecord> = (0..6u64)
        .rev()
        .map(|i| {
            let start = 1_795_000_000_000 + i * 600_000;
            JobRecord {
                id: format!("0199a000-0000-7000-8000-00000000000{i}"),
                kind: JobKind::Export,
                args: "mysql loans+loan_types -> /hdma-wi-2021.parquet".into(),
                submitted_ms: start,
                state: JobState::Succeeded,
                attempts: vec![AttemptRecord {
                    number: 1,
                    started_ms: start,
                    ended_ms: Some(start + [5200, 4100, 3900, 4400, 3800, 3700][i as usize]),
                    outcome: AttemptOutcome::Succeeded,
                    error: None,
                    rows: Some(426_716 + 1000 * i),
                    bytes: Some(15_971_576),
                }],
                summary: Some("426,716 rows".into()),
                progress: None,
            }
        })
        .collect();
    let times = |label, total, ms: &[f64]| crate::telemetry::Times {
        label,
        total,
        seconds: ms.iter().map(|ms| ms / 1000.0).collect(),
    };
    let latency = crate::views::latency::by_source(&[
        times("create", 72, &[310.0, 350.0, 420.0, 380.0, 640.0]),
        times("reuse", 180, &[3.1, 4.2, 3.8, 9.0, 4.0]),
        times("recreate", 3, &[520.0, 610.0, 830.0]),
    ]);
    html::overview::overview(&health, Ok(&partitions), Ok(&history), &latency)
}

/// The `<svg id=...>...</svg>` of a page ('' when there is none).
fn svg_of<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<svg id=\"{id}\""))
        .unwrap_or(page.len());
    let end = page[start..].find("</svg>").map_or(start, |e| start + e);
    &page[start..end]
}

#[test]
fn the_overview_draws_blocks_exports_and_answer_times() {
    let page = sample_overview();
    // Set, the page goes to this file: open it in a browser (docs/board.png is made so).
    if let Ok(path) = std::env::var("LENDER_BOARD_SAMPLE_HTML") {
        std::fs::write(&path, &page).unwrap();
    }
    let bars = |id| svg_of(&page, id).matches("<rect class=\"bar\"").count();
    // two series per DataNode; one bar per export; median and p95 per source
    assert_eq!(bars("chart-blocks"), 6, "{page}");
    assert_eq!(bars("chart-export-seconds"), 6);
    assert_eq!(bars("chart-export-rows"), 6);
    assert_eq!(bars("chart-latency"), 6);
    let blocks = svg_of(&page, "chart-blocks");
    assert!(
        blocks.contains(&format!(
            "data-series=\"big file\" data-key=\"{}\" data-value=\"10\"",
            dn(2)
        )),
        "{blocks}"
    );
    assert!(
        blocks
            .contains("data-series=\"county files\" data-key=\"127.0.0.2:9816\" data-value=\"24\""),
        "{blocks}"
    );
    // the oldest export on the left
    let seconds = svg_of(&page, "chart-export-seconds");
    let first = seconds.split("<rect class=\"bar\"").nth(1).unwrap_or("");
    assert!(
        first.contains("data-key=\"0199a000-0000-7000-8000-000000000000\" data-value=\"5.2\""),
        "{seconds}"
    );
}

#[test]
fn an_empty_server_draws_empty_charts_that_say_why() {
    let health = HealthReport {
        namenode: Check {
            ok: false,
            detail: "down".into(),
        },
        datanodes: BTreeMap::new(),
        mysql: Check {
            ok: false,
            detail: "down".into(),
        },
        queued_jobs: 0,
        running_jobs: 0,
        export: None,
        store_path: "x".into(),
        store_bytes: 0,
    };
    let latency = crate::views::latency::by_source(&[]);
    let page = html::overview::overview(&health, Err("no NameNode"), Ok(&[]), &latency);
    for (id, says) in [
        ("chart-blocks", "block locations unavailable: no NameNode"),
        ("chart-export-seconds", "no export has succeeded yet"),
        (
            "chart-latency",
            "no CalcAvgLoan answered since the server started",
        ),
    ] {
        let svg = svg_of(&page, id);
        assert!(svg.contains(says), "{id}: {svg}");
        assert!(!svg.contains("<rect class=\"bar\""), "{id}: {svg}");
    }
}
