"""Smoke test of the benchmark (bench/bench.py --quick): it completes against the local cluster
and writes a well-formed result file. It never checks that a time is under a bound."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0


def _ensure_bench_packages():
    probe = "import pandas, matplotlib, hdfs_native, pymysql, sqlalchemy, connectorx"
    if subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode != 0:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-r", str(ROOT / "requirements-dev.txt")], check=True, timeout=900)


def test_bench_quick_writes_well_formed_results(tmp_path, pytestconfig):
    _ensure_bench_packages()
    # the benchmark imports from where the tests do (pytest.ini's pythonpath), however pytest was started
    paths = [*map(str, pytestconfig.getini("pythonpath")), *filter(None, os.environ.get("PYTHONPATH", "").split(":"))]
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "bench.py"), "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=900, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=":".join(paths)))
    assert proc.returncode == 0, proc.stderr[-4000:]
    files = list(tmp_path.glob("*-quick.json"))
    assert len(files) == 1, list(tmp_path.iterdir())
    r = json.loads(files[0].read_text())

    assert r["kind"] == "quick"
    for key in ("nproc", "memory_gib", "cpu_model"):
        assert key in r["machine"]
    e = r["export"]
    for key in ("seconds", "rows_per_s", "server_peak_rss_mib", "vs_max_floor", "vs_sum_floors",
                "floor_a_seconds", "vs_floor_a"):
        assert _number(e[key]), (key, e[key])
    # floor (a) ran in the same rounds as lender, and the ratio pairs them
    assert len(e["floor_a_runs"]) == len(e["runs"])
    assert isinstance(e["rows"], int) and e["rows"] > 0
    for key in ("mariadb_stream_seconds", "hdfs_put_seconds", "hdfs_put_warm_seconds", "max_seconds", "sum_seconds"):
        assert _number(r["floors"][key]), key
    p = r["python_export"]
    assert _number(p["seconds"]) and _number(p["peak_rss_mib"]) and p["rows"] == e["rows"]

    counties = r["counties"]
    assert counties and all(isinstance(c, int) for c in counties)
    for impl in (r["calc"], r["python_calc"]):
        for phase in ("create", "reuse"):
            assert _number(impl[phase]["median_ms"])
            assert set(impl[phase]["per_county_ms"]) == {str(c) for c in counties}
            assert all(_number(v) for v in impl[phase]["per_county_ms"].values())
        assert isinstance(impl["answers_match_mysql"], bool)
    assert _number(r["reuse_floor"]["hdfs_native_read"]["median_ms"])

    levels = [t["concurrency"] for t in r["throughput"]]
    assert levels == [1, 8, 64]
    for t in r["throughput"]:
        assert _number(t["requests_per_s"]) and isinstance(t["requests"], int)

    assert r["targets_status"], "targets evaluated"
    for t in r["targets_status"]:
        assert isinstance(t["target"], str) and isinstance(t["text"], str)
        assert t["met"] in (True, False, None)
    assert (tmp_path / "calc_latency.png").stat().st_size > 0
    assert (tmp_path / "export_time_memory.png").stat().st_size > 0
