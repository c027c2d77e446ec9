"""The read-only web board (LENDER_BOARD_LISTEN) as an operator's browser shows it: the server
restarted with the board on, a real DbToHdfs and CalcAvgLoan, then the pages rendered by real
headless Debian chromium: the overview shows both jobs, the county file's row and the
DataNodes; its pictures (inline SVG) draw the big file's and the county files' blocks per
DataNode, the last exports' time and rows and CalcAvgLoan's answer time by source, with the
numbers the server gives elsewhere; a job's page shows every attempt; a filter picks the
county's job; a POST is refused and changes nothing; and a screenshot of the overview for
the README (docs/board.png)."""

import html
import re
import shutil
import struct
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections import Counter

import pytest
from support import (
    ROOT,
    avg,
    blocks,
    delete,
    export,
    jobs_json,
    live_datanode_hosts,
    serve,
    serve_with,
    wait_until,
)

# where this test turns the board on (the local server's other ports are 5000 and 9464, and
# dev/serve.sh's own board 8080)
BOARD = "127.0.0.1:8182"
BIG_FILE = "/hdma-wi-2021.parquet"
EXPORTS_DRAWN = 10  # the board's export charts show the newest ten successful exports
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT = ROOT / "docs" / "board.png"
WINDOW = (1280, 1400)


def url(path="/"):
    return f"http://{BOARD}{path}"


def chromium(*args, timeout=90):
    """Headless chromium with a profile of its own; its stdout."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"no {CHROMIUM}: install Debian's chromium (dev/bootstrap.sh does)")
    with tempfile.TemporaryDirectory(prefix="board-chromium-") as profile:
        proc = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"chromium {args}: exit {proc.returncode}\n{proc.stderr[-2000:]}"
    return proc.stdout


def dom(path):
    """The page at `path` as chromium parsed and rendered it."""
    return chromium("--dump-dom", url(path))


def row(page, css_class, key, value):
    """The <tr class=css_class key="value"> ... </tr> of a page ('' when there is none)."""
    found = re.search(rf'<tr class="{css_class}" {key}="{re.escape(str(value))}">.*?</tr>', page, re.S)
    return found.group(0) if found else ""


def svg(page, chart_id):
    """The <svg id=chart_id> ... </svg> of a page ('' when there is none)."""
    found = re.search(rf'<svg id="{re.escape(chart_id)}".*?</svg>', page, re.S)
    return found.group(0) if found else ""


def bars(page, chart_id):
    """The bars of a chart, each as its attributes: data-series, data-key, data-value, ..."""
    return [dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
            for tag in re.findall(r'<rect class="bar"([^>]*)>', svg(page, chart_id))]


def value(chart, series, key):
    """The number a chart's bar shows for (series, key); None when there is no such bar."""
    found = [b for b in chart if b.get("data-series") == series and html.unescape(b.get("data-key", "")) == key]
    assert len(found) <= 1, found
    return float(found[0]["data-value"]) if found else None


@pytest.fixture(scope="module", autouse=True)
def server_with_the_board():
    serve_with({"LENDER_BOARD_LISTEN": BOARD})
    yield
    serve("stop")
    serve("start")


@pytest.fixture(scope="module")
def ran(oracle):
    """A real export and one county's average; the two jobs as `lender jobs` lists them."""
    status = export()
    assert status.startswith("success"), status
    county = min(oracle)
    # A county file kept from an earlier export would answer without a job: cut it anew.
    delete(f"/partitions/{county}.parquet")
    reply = avg(county)
    assert (reply.error, reply.avg_loan) == ("", oracle[county][0]), reply
    again = avg(county)
    assert (again.error, again.source) == ("", "reuse"), again
    jobs = jobs_json(200)
    export_job = next(j for j in jobs if j["kind"] == "export")
    county_job = next(j for j in jobs if j["kind"] == "partition" and f"county={county}" in j["args"].split())
    assert county_job["submitted_ms"] >= export_job["submitted_ms"], (export_job, county_job)
    return {"county": county, "rows": oracle[county][1], "export": export_job, "county_job": county_job,
            "sources": Counter([reply.source, again.source])}


def test_the_overview_shows_the_run_the_county_file_and_the_datanodes(ran):
    county = ran["county"]
    path = f"/partitions/{county}.parquet"
    wanted = [f'data-job="{ran["export"]["id"]}"', f'data-job="{ran["county_job"]["id"]}"',
              f'data-county="{county}"']
    last = {}

    def shows_everything():
        last["page"] = dom("/")
        return all(w in last["page"] for w in wanted)
    # the board's views may be up to 1 s old
    wait_until(shows_everything, 20, "the overview to show the export, the county job and the county file",
               interval=0.5, detail=lambda: last.get("page", "")[-3000:])
    page = last["page"]
    file_row = row(page, "county-file", "data-county", county)
    assert path in file_row and f"{ran['rows']:,}" in file_row and ">healthy<" in file_row, file_row
    holders = set(blocks(path).block_entries)
    assert holders and all(host in file_row for host in holders), (holders, file_row)
    for host in live_datanode_hosts():
        assert ">live<" in row(page, "datanode", "data-host", host), (host, page)
    assert "MySQL</th><td class=\"ok\">ok<" in page and "NameNode</th><td class=\"ok\">ok<" in page, page


def test_the_pictures_draw_the_blocks_the_exports_and_the_answer_times(ran):
    """Every chart is there with one bar per number, and the numbers are the server's own:
    BlockLocations', `lender jobs`' and the calls this module made since it restarted the
    server (the answer times are kept in memory)."""
    county_path = f"/partitions/{ran['county']}.parquet"
    big = dict(blocks(BIG_FILE).block_entries)
    county = dict(blocks(county_path).block_entries)
    assert big and county, (big, county)
    exports = [j for j in jobs_json(200) if j["kind"] == "export" and j["state"] == "succeeded"][:EXPORTS_DRAWN]
    assert ran["export"]["id"] in [j["id"] for j in exports], exports
    last = {}

    def drawn():
        last["page"] = dom("/")
        keys = [b["data-key"] for b in bars(last["page"], "chart-export-rows")]
        answered = {b["data-key"] for b in bars(last["page"], "chart-latency")}
        return ran["export"]["id"] in keys and answered == set(ran["sources"])
    # the views may be up to 1 s old
    wait_until(drawn, 20, "the charts to show this module's export and calls", interval=0.5,
               detail=lambda: last.get("page", "")[-3000:])
    page = last["page"]

    # blocks: two bars per DataNode; the big file's as BlockLocations counts them, and at
    # least this county file's (the other county files count too)
    chart = bars(page, "chart-blocks")
    hosts = {html.unescape(b["data-key"]) for b in chart}
    assert set(live_datanode_hosts()) <= hosts and len(chart) == 2 * len(hosts), chart
    for host in hosts:
        assert value(chart, "big file", host) == big.get(host, 0), (host, big, chart)
        assert value(chart, "county files", host) >= county.get(host, 0), (host, county, chart)

    # the exports: the newest successful ones, oldest on the left, their rows and time
    for chart_id in ("chart-export-rows", "chart-export-seconds"):
        chart = bars(page, chart_id)
        assert [b["data-key"] for b in chart] == [j["id"] for j in reversed(exports)], (chart_id, chart)
    rows = {b["data-key"]: float(b["data-value"]) for b in bars(page, "chart-export-rows")}
    for job in exports:
        written = next(a["rows"] for a in reversed(job["attempts"]) if a.get("rows") is not None)
        assert rows[job["id"]] == written, (job, rows)
    assert all(float(b["data-value"]) > 0 for b in bars(page, "chart-export-seconds")), page

    # answer times: median and p95 for each source this module's calls got, none for others
    chart = bars(page, "chart-latency")
    assert Counter(b["data-key"] for b in chart) == {source: 2 for source in ran["sources"]}, chart
    for source in ran["sources"]:
        median, p95 = value(chart, "median", source), value(chart, "p95", source)
        assert 0 < median <= p95 < 120, (source, chart)
    assert ">recreate<" in svg(page, "chart-latency"), "every source is labelled, answered or not"


def test_a_job_page_shows_every_attempt(ran):
    for job in (ran["export"], ran["county_job"]):
        page = dom(f"/jobs/{job['id']}")
        assert job["id"] in page and html.escape(job["args"], quote=False) in page, page
        assert job["attempts"], job
        for attempt in job["attempts"]:
            line = row(page, "attempt", "data-attempt", attempt["number"])
            assert f">{attempt['outcome']}<" in line, (attempt, line)


def test_filters_pick_the_county_job(ran):
    page = dom(f"/jobs?kind=partition&county={ran['county']}")
    assert f'data-job="{ran["county_job"]["id"]}"' in page, page
    assert f'data-job="{ran["export"]["id"]}"' not in page, page
    assert "<option value=\"partition\" selected=\"\">" in page, page


def test_a_post_is_refused_and_changes_nothing(ran):
    before = [j["id"] for j in jobs_json(200)]
    for path in ("/", "/jobs", f"/jobs/{ran['export']['id']}"):
        request = urllib.request.Request(url(path), data=b"kind=export", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 405, (path, refused.value)
        assert "GET" in refused.value.headers.get("Allow", ""), refused.value.headers
    assert [j["id"] for j in jobs_json(200)] == before


def test_a_screenshot_of_the_overview_for_the_readme(ran):
    SCREENSHOT.unlink(missing_ok=True)
    chromium(f"--screenshot={SCREENSHOT}", f"--window-size={WINDOW[0]},{WINDOW[1]}", url("/"))
    data = SCREENSHOT.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert struct.unpack(">II", data[16:24]) == WINDOW, "not the window's size"
    assert len(data) > 40_000, f"{len(data)} bytes: an empty page?"
