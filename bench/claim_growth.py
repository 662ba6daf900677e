"""Where a claim's cost goes as history grows: at each size, a loop of claims only, each one's
answer time and the database's CPU meanwhile, the claim's read replayed alone, and (--profile)
py-spy sampling the database process during the loop.

The stack and the history are `make bench-growth`'s (bench/history.py, bench/history_data.py);
the pending tasks are fresh applications of a few citizens, claimed one after another by their
departments' officers. Heavy at 100,000 (minutes of inserting): use few sizes.

    .venv/bin/python -m bench.claim_growth --sizes 1000,100000 --profile /tmp/claim-profiles
    .venv/bin/python -m bench.claim_growth --sizes 1000,100000 --cache-size 1G
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

from bench import history, history_data, report
from bench.processes import VAR, Phases, write_result
from bench.stack import DATABASE, DEPARTMENTS, Stack, new_run, run_on_stack
from common.embedded_db import stop_on_sigterm
from services.workflow.recent import EXCLUDED

# py-spy is no dependency of the project: installed apart, named by PY_SPY or found on PATH.
PY_SPY = os.environ.get("PY_SPY") or shutil.which("py-spy") or "py-spy"
QUEUE = "/api/v1/workbench/tasks?status=pending&page_size=100"
PER_CITIZEN = 15  # under production's 20 applications an hour


def pending(officers: dict[str, history.Client]) -> list[tuple[history.Client, str]]:
    return [(officer, item["id"]) for officer in officers.values()
            for item in officer.call("GET", QUEUE).json()]


def replay_reads(stack: Stack, record: history.Record, task_ids: list[str]) -> dict:
    """The claim's read (the application holding the task, by the task's id) sent alone."""
    applications = stack.mongo[DATABASE].applications
    projection = dict.fromkeys(EXCLUDED, 0)
    wall, cpu = [], []
    for task_id in task_ids:
        before, begun = record.database_cpu_ms(), time.perf_counter()
        applications.find_one({"tasks.id": task_id}, projection)
        wall.append((time.perf_counter() - begun) * 1000)
        cpu.append(record.database_cpu_ms() - before)
    return {"reads": len(wall), "p50_ms": round(report.percentile(wall, .5), 2),
            "p95_ms": round(report.percentile(wall, .95), 2),
            "database_cpu_ms": round(sum(cpu) / len(cpu), 2) if cpu else None}


def claims(stack: Stack, work: list[tuple[history.Client, str]], record: history.Record,
           profile: Path | None, idle: bool) -> dict:
    spy = None
    if profile is not None:
        profile.parent.mkdir(parents=True, exist_ok=True)
        spy = subprocess.Popen([PY_SPY, "record", "-p", str(stack.database.process.pid), "-r",
                                "200", "--nonblocking", "-f", "raw", "-o", str(profile),
                                *(["--idle"] if idle else [])],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # py-spy attaches
    record.clear()
    route = "POST /api/v1/workbench/tasks/{id}/claim"
    before = stack.cpu_seconds()
    for officer, task_id in work:
        officer.call("POST", f"/api/v1/workbench/tasks/{task_id}/claim", route)
    after = stack.cpu_seconds()
    if spy is not None:
        spy.send_signal(signal.SIGINT)  # py-spy writes what it sampled and leaves
        spy.wait(60)
    return {**record.figures(route), "cpu_ms_a_claim": {
        part: round((after[part] - before[part]) / max(1, len(work)) * 1000, 2)
        for part in after}}


def run(stack: Stack, phases: Phases, sizes: list[int], citizens: int, profiles: Path | None,
        idle: bool, found: dict) -> None:
    stack.start(phases)
    database = psutil.Process(stack.database.process.pid)
    record = history.Record(database)
    officers = {d: history.Client(stack.api_url, record).officer(d, stack.officer_password)
                for d in DEPARTMENTS}
    made = phases.run("warm up, make the templates", history.templates,
                      history.Client(stack.api_url, record).citizen(stack), officers, stack)
    now = datetime.now(UTC)
    found["sizes"] = {}
    for size in sizes:
        phases.run(f"insert history to {size:,}", history_data.grow,
                   stack.mongo[DATABASE].applications, made, size, 20_240_601, now)
        for department, officer in officers.items():  # the insert may outlast their tokens
            officer.staff_login(department, stack.officer_password)
        makers = [history.Client(stack.api_url, record).citizen(stack) for _ in range(citizens)]
        phases.run(f"settle at {size:,}", history.measure, makers[0], officers, 1, 2)
        for maker in makers:
            for _ in range(PER_CITIZEN - 1):
                maker.apply()
        work = pending(officers)
        reads = phases.run(f"reads alone at {size:,}", replay_reads, stack, record,
                           [task_id for _, task_id in work])
        profile = profiles / f"claims-{size}.txt" if profiles else None
        figures = phases.run(f"claims at {size:,}", claims, stack, work, record, profile, idle)
        found["sizes"][str(size)] = {
            "claim": figures, "claim_read_alone": reads, "profile": str(profile or ""),
            "database_rss_mb": round(database.memory_info().rss / 2**20),
            "folder_mb": round(sum(f.stat().st_size for f in (stack.run_dir / "db").rglob("*")
                                   if f.is_file()) / 2**20),
            "load_average": [round(n, 1) for n in os.getloadavg()]}
        print(json.dumps({size: found["sizes"][str(size)]}), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--citizens", type=int, default=3, help=f"{PER_CITIZEN} applications each")
    parser.add_argument("--cache-size", help="the database's cache (default: make run's)")
    parser.add_argument("--profile", type=Path, help="folder for py-spy's raw samples")
    parser.add_argument("--idle", action="store_true",
                        help="profile waiting threads too (where a claim's wall time goes)")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    stamp, run_dir = new_run("claim-growth")
    result: dict = {"run": {"started_at": stamp, "sizes": args.sizes,
                            "cache_size": args.cache_size}}
    run_on_stack(run_dir, result, lambda stack, phases: run(
        stack, phases, sorted(int(s) for s in args.sizes.split(",")), args.citizens,
        args.profile, args.idle, result), cache_size=args.cache_size)
    write_result(result, run_dir, "claim-growth-latest.json")
    print(json.dumps(result, indent=1))
    print(f"Results: {VAR / 'claim-growth-latest.json'}")
    return 2 if result.get("failure") else 0


if __name__ == "__main__":
    sys.exit(main())
