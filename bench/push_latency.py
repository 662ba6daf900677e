"""Push latency and the notification worker's database work, before and after a change, side by
side: the bench's journey (citizens applying, officers completing tasks) on a fresh stack whose
notification worker runs from an earlier commit, then from this checkout, in turns; each reports
completion → FCM stand-in p50 / p99 and the worker's commands and server milliseconds per birth
(the database's profiler, bench.db_profile). The API is this checkout's in both, so only the
worker differs.

Rerun: `.venv/bin/python -m bench.push_latency --before main --turns 1` (the bench's settings
apply: BENCH_JOURNEY_SECONDS, BENCH_CITIZENS; `--no-profile` leaves the profiler off, which costs
every command some server time, for the latency alone).
"""
import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.db_profile import journey
from bench.processes import ROOT, VAR, checkout, say, write_result

WORKER = "notification worker"


def figures(result: dict) -> dict:
    """The row of one run."""
    push, births = result["push"], max(1, result["births"])
    worker = result["by_part"].get(WORKER, {})
    return {
        "births": result["births"], "completions": push.get("completions"),
        "missing": push.get("missing"), "p50_ms": push.get("p50_ms"),
        "p99_ms": push.get("p99_ms"), "max_ms": push.get("max_ms"),
        "commit_to_relay_ms": push.get("commit_to_relay_ms"),
        "relay_to_fcm_ms": push.get("relay_to_fcm_ms"),
        "worker_commands_per_birth": worker.get("commands_per_birth"),
        "worker_millis_per_birth": worker.get("millis_per_birth"),
        "database_cpu_s_per_birth": round(result["database_cpu_seconds"] / births, 3),
        "worker_cores": (result.get("cpu") or {}).get("cores_used", {}).get(WORKER),
        "load_average": [round(x, 2) for x in result["load_average"]],
        "worker_by_command": [row for row in result["by_command"] if row["part"] == WORKER],
    }


def line(label: str, row: dict) -> str:
    relay, send = row["commit_to_relay_ms"] or {}, row["relay_to_fcm_ms"] or {}
    return (f"{label:<8} births {row['births']:3d}  push p50 {row['p50_ms'] or 0:6.1f} "
            f"p99 {row['p99_ms'] or 0:6.1f} max {row['max_ms'] or 0:6.1f} ms "
            f"(relay p50 {relay.get('p50') or 0:5.0f} p99 {relay.get('p99') or 0:5.0f}; "
            f"send p50 {send.get('p50') or 0:5.0f} p99 {send.get('p99') or 0:5.0f})  "
            f"worker {row['worker_commands_per_birth'] or 0:5.1f} commands "
            f"{row['worker_millis_per_birth'] or 0:6.1f} ms a birth  database "
            f"{row['database_cpu_s_per_birth']:.3f} CPU-s a birth  load {row['load_average']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main", help="the commit whose worker is 'before'")
    parser.add_argument("--turns", type=int, default=1, help="before/after pairs, in turns")
    parser.add_argument("--no-profile", action="store_true",
                        help="leave the database's profiler off (no command counts)")
    args = parser.parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = VAR / f"push-latency-{stamp}"
    rows: dict[str, list[dict]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as folder:
        trees = {"before": checkout(args.before, Path(folder)), "after": ROOT}
        for turn in range(args.turns):
            for label, tree in trees.items():
                say(f"turn {turn + 1}: the worker of {label} ({tree})")
                result = journey(run_dir / f"{label}-{turn + 1}", tree,
                                 profile=not args.no_profile)
                rows[label].append(figures(result))
                print(line(label, rows[label][-1]), flush=True)
    path = write_result({"before": args.before, "rows": rows}, run_dir,
                        "push-latency-latest.json")
    for label, runs in rows.items():
        for row in runs:
            print(line(label, row))
            for command in row["worker_by_command"][:12]:
                print(f"    {command['command']:<14} {command['collection']:<26} "
                      f"{command['commands'] / max(1, row['births']):6.1f} a birth "
                      f"{command['millis'] / max(1, row['births']):7.1f} ms a birth")
    print(f"Results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
