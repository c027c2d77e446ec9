"""The export and CalcAvgLoan goals (issue 24), met or missed, for both databases, from the
figures the other benchmarks saved: bench/results/setups.json (floor (a), DbToHdfs, the peer,
peak RSS, create and reuse beside their floors, at 1x and 10x), ab-export-<flavour>.json (the
server's CPU per export before and after, same run) and soak.json (CalcAvgLoan under load).

    python3 bench/goals.py [--out bench/results/goals.md]

`just bench` runs it last. Only the course cluster (Hadoop's defaults) counts: it is what users
run. A goal whose figures were not measured says so; each row names the date of its figures.
A missed goal carries the reason measured for it and the next lever (LEVERS below, kept with
the figures that showed them).
"""
import argparse
import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
FLAVOURS = ("mariadb", "mysql")
SETUP = "course + {flavour}"

# Why a goal was missed when it was, and what to try next: from the profiles and heaptrack
# runs of 2026-12-03 (BENCHMARKS.md, "Dated measurements").
LEVERS = {
    "vs_floor": ("the tail after MySQL's last row: most counties' rows wait for it (spilled), then are read "
                 "back and encoded (~0.9 s of a 3 s export at 1x); at 10x the read-back competes with the stream",
                 "encode each county's waiting rows into its own column chunks as they arrive and copy the "
                 "chunks into the file at the end (no spill read-back, no second encode)"),
    "peer": ("the same tail; the peer does no clustering (one pass, ORDER BY nothing)",
             "the same lever"),
    "scale_time": ("at 10x the groups fill while MySQL still sends, so the tail is a smaller share",
                   "-"),
    "cpu": ("-", "-"),
    "rss": ("heap at peak: waiting rows 39 MB, MySQL batches in flight 28 MB, the open row group 24 MB, "
            "plus the allocator's share",
            "rows waiting as encoded pages (several times smaller than Arrow rows)"),
    "rss_scale": ("at 10x a county's spilled rows are read back while MySQL still sends (+20 MB of heap)",
                  "the same lever: no read-back at all"),
    "create": ("a create is at its floor (create / floor <= 1): writing the same bytes with hdfs-native and "
               "reading them back pays the same wait at close, where the NameNode completes a file only after "
               "the DataNode reported its block, and the writer asks again after 400 ms (the DataNode's Java "
               "client behind WebHDFS, ours) or 500 ms (hdfs-native, the floor's); about half the creates wait",
               "a client whose close asks again sooner (the retry delay is a constant in both clients), or answer "
               "from the big file while the county file is written"),
    "reuse": ("a NameNode round trip (the file's block locations) before the read, which the raw read of an "
              "open client also pays; the rest is gRPC and the job queue",
              "cache the county file's block locations per generation"),
    "soak_p99": ("-", "-"),
    "soak_max": ("every slow call is a create in the seconds after an export ends: the new generation makes "
                 "every county asked a create at once, 8 workers take them ~0.4 s each (the county file's close), "
                 "and the calls at the back of that queue wait 5-6 s",
                 "answer a county from the big file while its county file is written, or keep the previous "
                 "generation's county file answering until the new one is ready"),
}


def load(name):
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


def row(goal, key, value, met, text, target, date):
    """One goal's line: met / missed / not measured, with the figures behind it."""
    status = "not measured" if value is None else "met" if met else "MISSED"
    reason, lever = LEVERS[key] if value is not None and not met else ("", "")
    return {"goal": goal, "status": status, "figures": text if value is not None else "-", "target": target,
            "date": date or "-", "reason": reason, "lever": lever}


def export_goals(flavour, setups):
    one = setups.get(SETUP.format(flavour=flavour))
    ten = setups.get(SETUP.format(flavour=flavour) + ", 10x")
    rows = []
    for scale, r in (("1x", one), ("10x", ten)):
        date = r and r["date"]
        v = r and r.get("vs_floor_a")
        rows.append(row(f"DbToHdfs / floor (a), {scale}", "vs_floor", v, v is not None and v <= 1.2,
                        v and f"{v:.2f} ({r['db_to_hdfs_s']:.2f} s / {r['floor_a_s']:.2f} s)", "≤ 1.2", date))
        v = r and r.get("peer_over_ours")
        rows.append(row(f"peer / DbToHdfs, {scale}", "peer", v, v is not None and v >= 1.5,
                        v and f"{v:.2f} ({r['peer_s']:.2f} s / {r['db_to_hdfs_s']:.2f} s)", "≥ 1.5", date))
    both = one and ten
    v = both and ten["db_to_hdfs_s"] / one["db_to_hdfs_s"]
    rows.append(row("DbToHdfs time 10x / 1x", "scale_time", v or None, v and v <= 10.3,
                    both and f"{v:.2f} ({ten['db_to_hdfs_s']:.2f} s / {one['db_to_hdfs_s']:.2f} s)", "≤ 10.3",
                    both and ten["date"]))
    v = one and one.get("server_peak_rss_mib")
    rows.append(row("server peak RSS, 1x", "rss", v, v is not None and v <= 150, v and f"{v:.0f} MiB", "≤ 150 MiB",
                    one and one["date"]))
    v = both and ten.get("server_peak_rss_mib") and ten["server_peak_rss_mib"] / one["server_peak_rss_mib"]
    rows.append(row("server peak RSS 10x / 1x", "rss_scale", v or None, v and v <= 1.15,
                    both and f"{v:.2f} ({ten['server_peak_rss_mib']:.0f} / {one['server_peak_rss_mib']:.0f} MiB)",
                    "≤ 1.15", both and ten["date"]))
    return rows


def cpu_goal(flavour):
    ab = load(f"ab-export-{flavour}.json")
    if not ab:
        return row("server CPU per export, after / before", "cpu", None, None, "", "< 1 (same run)", None)
    a, b = ab["medians"]["A"]["cpu_s"], ab["medians"]["B"]["cpu_s"]
    v = ab["b_over_a"]["cpu_s"]
    rounds = len(ab["rounds"]["A"])
    return row("server CPU per export, after / before", "cpu", v, v < 1,
               f"{v:.2f} ({b:.2f} s with {ab['labels']['B']} / {a:.2f} s with {ab['labels']['A']}, "
               f"{rounds} alternating rounds)", "< 1 (same run)", ab["date"][:10])


def calc_goals(flavour, setups):
    r = setups.get(SETUP.format(flavour=flavour))
    date = r and r["date"]
    rows = []
    v = r and r.get("create_ms")
    floor = r and r.get("create_floor_ms")
    rows.append(row("CalcAvgLoan create, median", "create", v, v is not None and v <= 60,
                    v and f"{v:.0f} ms" + (f" (floor {floor:.0f} ms, create / floor {r['create_over_floor']:.2f})"
                                           if floor else ""), "≤ 60 ms", date))
    v = r and r.get("reuse_over_floor")
    rows.append(row("CalcAvgLoan reuse / its floor (raw read)", "reuse", v, v is not None and v <= 1.3,
                    v and f"{v:.2f} ({r['reuse_ms']:.1f} ms / {r['reuse_floor_ms']:.1f} ms)", "≤ 1.3", date))
    return rows


def soak_goals(flavour, soak):
    s = soak.get(SETUP.format(flavour=flavour))
    a = s and s["all"]
    date = s and s["date"]
    return [
        row("soak CalcAvgLoan p99", "soak_p99", a and a["p99_ms"], a and a["p99_ms"] <= 150,
            a and f"{a['p99_ms']:.1f} ms (p50 {a['p50_ms']:.1f}, {a['calls']:,} calls, {s['errors']} errors)",
            "≤ 150 ms", date),
        row("soak CalcAvgLoan max", "soak_max", a and a["max_ms"], a and a["max_ms"] <= 2000,
            a and f"{a['max_ms']:,.0f} ms", "≤ 2,000 ms", date),
    ]


def goals():
    """{flavour: [goal rows]} from the saved results."""
    setups, soak = load("setups.json") or {}, load("soak.json") or {}
    return {f: export_goals(f, setups) + [cpu_goal(f)] + calc_goals(f, setups) + soak_goals(f, soak)
            for f in FLAVOURS}


def summary(by_flavour):
    """One line per goal, one column per database: the figure's headline and met / MISSED."""
    names = {"mariadb": "MariaDB", "mysql": "Oracle MySQL"}
    lines = ["| goal | target | " + " | ".join(names[f] for f in by_flavour) + " |",
             "|---|---|" + "---|" * len(by_flavour)]
    flavours = list(by_flavour)
    for i, first in enumerate(by_flavour[flavours[0]]):
        cells = []
        for f in flavours:
            r = by_flavour[f][i]
            headline = r["figures"].split(" (")[0]
            cells.append(r["status"] if r["status"] == "not measured" else f"{headline} {r['status']}")
        lines.append(f"| {first['goal']} | {first['target']} | " + " | ".join(cells) + " |")
    return lines + [""]


def markdown(by_flavour):
    lines = summary(by_flavour)
    for flavour, rows in by_flavour.items():
        name = {"mariadb": "MariaDB", "mysql": "Oracle MySQL"}[flavour]
        lines += [f"### {name} (course cluster)", "",
                  "| goal | status | figures | target | date | measured reason | next lever |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {r['goal']} | {r['status']} | {r['figures']} | {r['target']} | {r['date']} | "
                  f"{r['reason']} | {r['lever']} |" for r in rows]
        lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=RESULTS / "goals.md")
    args = ap.parse_args()
    text = markdown(goals())
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
