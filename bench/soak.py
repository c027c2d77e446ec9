"""CalcAvgLoan under a sustained load with faults: 16 clients ask random counties for some
minutes while DbToHdfs runs among them (a new export every --export-every seconds), one
DataNode is killed and later restored, then another is cut off (packets dropped) and
restored. Every answer is checked against the SQL oracle.

    PYTHONPATH=.local/py:pylib python3 bench/soak.py [--minutes 4] [--clients 16]

Prints p50/p99/max of CalcAvgLoan overall, per phase (calm, killed, cut) and per source
(create/reuse/recreate), the slowest calls with what was going on around them, and merges
the figures into bench/results/soak.json keyed by set-up. Goals (issue 24): p99 <= 150 ms,
max <= 2 s. Against whatever is running now (`just dev-up ...` and `just dev-serve`).
"""
import argparse
import datetime as dt
import json
import random
import threading
import time
from pathlib import Path

import grpc
import lenderdev as dev
from measure import percentile

RESULTS = Path(__file__).resolve().parent / "results" / "soak.json"
CALL_TIMEOUT = 60
KILLED, CUT = 2, 3


class Soak:
    """The shared record of every call: (start offset s, seconds, kind, source or error)."""

    def __init__(self, oracle, seconds):
        self.oracle = oracle
        self.counties = sorted(oracle)
        self.started = time.monotonic()
        self.deadline = self.started + seconds
        self.calls, self.wrong, self.events = [], [], []
        self.lock = threading.Lock()

    def now(self):
        return time.monotonic() - self.started

    def note(self, event):
        with self.lock:
            self.events.append((self.now(), event))
        print(f"{self.now():7.1f} s  {event}", flush=True)

    def record(self, at, seconds, kind, outcome):
        with self.lock:
            self.calls.append((at, seconds, kind, outcome))

    def ask(self, county):
        at, t0 = self.now(), time.monotonic()
        try:
            reply = dev.avg(county, timeout=CALL_TIMEOUT, shared=True)
            outcome = reply.source if reply.error == "" else f"error: {reply.error}"
            if reply.error == "" and reply.avg_loan != self.oracle[county][0]:
                with self.lock:
                    self.wrong.append((county, reply.avg_loan, self.oracle[county][0]))
        except grpc.RpcError as e:
            outcome = f"rpc {e.code().name}"
        self.record(at, time.monotonic() - t0, "avg", outcome)

    def client(self, seed):
        rng = random.Random(seed)
        while time.monotonic() < self.deadline:
            self.ask(rng.choice(self.counties))

    def exporter(self, every):
        while time.monotonic() + every < self.deadline:
            time.sleep(every)
            at, t0 = self.now(), time.monotonic()
            try:
                status = dev.export(timeout=600, shared=True)
                outcome = "ok" if status.startswith("success") else status
            except grpc.RpcError as e:
                outcome = f"rpc {e.code().name}"
            self.record(at, time.monotonic() - t0, "export", outcome)
            self.note(f"DbToHdfs took {time.monotonic() - t0:.1f} s: {outcome[:80]}")

    def faults(self, seconds):
        """Kill DataNode 2 at 20 %, restore it at 45 %; cut DataNode 3 at 55 %, restore at 80 %."""
        plan = [(0.20, "kill-dn", KILLED), (0.45, "restore-dn", KILLED),
                (0.55, "cut-dn", CUT), (0.80, "restore-dn", CUT)]
        for share, action, n in plan:
            delay = self.started + share * seconds - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            dev.cluster(action, n)
            self.note(f"{action} {n}")

    def phase(self, at):
        """calm / killed / cut, from the fault events before `at`."""
        state = "calm"
        for t, event in self.events:
            if t > at:
                break
            if event.startswith(("kill-dn", "cut-dn")):
                state = "killed" if event.startswith("kill") else "cut"
            elif event.startswith("restore-dn"):
                state = "calm"
        return state


def figures(latencies):
    ms = sorted(s * 1000 for s in latencies)
    return {"calls": len(ms), "p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99),
            "max_ms": ms[-1] if ms else None}


def summarize(soak, seconds):
    avgs = [c for c in soak.calls if c[2] == "avg"]
    errors = [c for c in avgs if c[3] not in ("create", "reuse", "recreate")]
    out = {"date": dt.date.today().isoformat(), "seconds": seconds,
           "requests_per_s": len(avgs) / seconds, "errors": len(errors), "wrong": len(soak.wrong),
           "all": figures([c[1] for c in avgs]),
           "phases": {p: figures([c[1] for c in avgs if soak.phase(c[0]) == p]) for p in ("calm", "killed", "cut")},
           "sources": {s: figures([c[1] for c in avgs if c[3] == s]) for s in ("create", "reuse", "recreate")},
           "exports": [{"at_s": round(c[0], 1), "seconds": round(c[1], 2), "outcome": c[3]}
                       for c in soak.calls if c[2] == "export"],
           "slowest": [{"at_s": round(c[0], 2), "ms": round(c[1] * 1000, 1), "outcome": c[3][:120],
                        "phase": soak.phase(c[0])} for c in sorted(avgs, key=lambda c: -c[1])[:15]],
           "error_samples": sorted({c[3][:160] for c in errors})[:10]}
    return out


def report(name, out):
    def line(label, f):
        if f["calls"]:
            print(f"  {label:10} {f['calls']:7,} calls  p50 {f['p50_ms']:7.1f}  "
                  f"p99 {f['p99_ms']:7.1f}  max {f['max_ms']:8.1f} ms")
    print(f"\nCalcAvgLoan soak, {name}: {out['requests_per_s']:.0f} req/s, {out['errors']} errors, "
          f"{out['wrong']} wrong answers")
    line("all", out["all"])
    for p, f in out["phases"].items():
        line(p, f)
    for s, f in out["sources"].items():
        line(s, f)
    print("  exports:", ", ".join(f"{e['at_s']} s: {e['seconds']} s {e['outcome'][:40]}" for e in out["exports"]))
    print("  slowest:")
    for c in out["slowest"]:
        print(f"    {c['at_s']:7.2f} s  {c['ms']:8.1f} ms  {c['phase']:6}  {c['outcome']}")
    for e in out["error_samples"]:
        print(f"  error: {e}")


def server_setting(name, default):
    """A setting as the running server got it from its environment."""
    environ = Path(f"/proc/{dev.server_pid()}/environ").read_bytes().split(b"\0")
    values = [v.split(b"=", 1)[1].decode() for v in environ if v.startswith(name.encode() + b"=")]
    return values[0] if values else default


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--export-every", type=float, default=30)
    args = parser.parse_args()
    seconds = args.minutes * 60
    name = f"{dev.hdfs_profile()} + {dev.mysql_flavour()}"
    if not dev.export(timeout=600).startswith("success"):
        raise SystemExit("the first DbToHdfs failed")
    soak = Soak(dev.oracle_averages(), seconds)
    threads = [threading.Thread(target=soak.client, args=(i,)) for i in range(args.clients)]
    threads += [threading.Thread(target=soak.exporter, args=(args.export_every,)),
                threading.Thread(target=soak.faults, args=(seconds,))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for n in (KILLED, CUT):
            dev.cluster("restore-dn", n, check=False)
    out = summarize(soak, soak.now())
    out["clients"], out["export_every_s"] = args.clients, args.export_every
    out["partition_workers"] = server_setting("LENDER_PARTITION_WORKERS", "8 (default)")
    out["server_peak_rss_mib"] = dev.peak_rss_mib(dev.server_pid())
    print(f"  server: LENDER_PARTITION_WORKERS={out['partition_workers']}, "
          f"peak RSS {out['server_peak_rss_mib']:.0f} MiB")
    report(name, out)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[name] = out
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    if out["wrong"]:
        raise SystemExit(f"{out['wrong']} wrong answers: {soak.wrong[:5]}")


if __name__ == "__main__":
    main()
