"""Cost against history: the officer queue and its counts, claim, complete and a citizen's list
of applications with 1,000, 10,000 and 100,000 applications in the database, on `make bench`'s
stack.

The history is not made through the API (100,000 births at the API's pace would take hours): two
newborn applications are made through the API (one left as submitted, one worked to completion
by every department), and generated documents cloned from their stored form are bulk-inserted
until the database holds each size (bench/history_data.py).

At each size, a citizen new to it and the officers measure in turn (sequentially: the cost of a
request, not the machine's contention): each department's queue, claiming and completing the
citizen's fresh tasks as they reach each department, and the citizen's list (as long at every
size). The p95 at the largest size is compared with the smallest; the target is within 20 %.

    .venv/bin/python -m bench.history                       # 1,000 / 10,000 / 100,000
    .venv/bin/python -m bench.history --sizes 1000,10000    # quicker
"""
import argparse
import os
import random
import secrets
import sys
import time
import uuid
from datetime import UTC, datetime

import bson
import psutil
import requests
from bson import ObjectId

from bench import history_data, report
from bench.processes import HOST, VAR, Phases, write_result
from bench.scenario_data import (
    MATERIALS,
    identity,
    material_file,
    multipart,
    newborn_form,
    outputs_for,
)
from bench.scenarios import sign_in
from bench.stack import DATABASE, DEPARTMENTS, OFFICER_PREFIX, Stack, new_run, run_on_stack
from common.embedded_db import stop_on_sigterm

REGION = history_data.REGION
TARGET_GROWTH = 0.20
# The embedded server's cache for this bench: the working set at the largest size must fit it,
# as a production database's does (docs/scaling.md, "The server's cache and its oplog").
# 100,000 stored applications are ≈ 1.5 GB of documents and ≈ 0.14 GB of indexes; with make
# run's 512M (or the server's 1G) more of each request's reads at 100,000 go to disk, which
# measures the cache's size, not the application's cost.
CACHE_SIZE = "4G"
# A request that refreshes a process's ETA medians aggregates 90 days of completions: over a
# minute with 100,000 applications stored. It is measured, not cut short.
TIMEOUT = 900
ROUTES = ("GET /api/v1/workbench/tasks", "GET /api/v1/workbench/tasks/counts",
          "POST /api/v1/workbench/tasks/{id}/claim",
          "POST /api/v1/workbench/tasks/{id}/complete", "GET /api/v1/applications")


# ── A citizen and the officers, over HTTP ─────────────────────────────────────────────────────

class Record:
    """Per route, each measured answer's wall-clock time and the CPU time the database spent
    meanwhile (requests go one at a time: what the database did in between was mostly that
    request's work). Other jobs on the machine stretch the first far more than the second."""

    def __init__(self, database: psutil.Process):
        self.database = database
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def database_cpu_ms(self) -> float:
        spent = self.database.cpu_times()
        return (spent.user + spent.system) * 1000

    def clear(self) -> None:
        self.wall.clear()
        self.cpu.clear()

    def figures(self, route: str) -> dict:
        wall, cpu = self.wall.get(route, []), self.cpu.get(route, [])
        return {"requests": len(wall), "p50_ms": _r(report.percentile(wall, .5)),
                "p95_ms": _r(report.percentile(wall, .95)), "max_ms": _r(max(wall, default=None)),
                "database_cpu_ms": _r(sum(cpu) / len(cpu), 2) if cpu else None}


class Client:
    """One signed-in user; every answer's time is kept per route."""

    def __init__(self, base: str, record: Record):
        self.base, self.record = base, record
        self.session = requests.Session()
        self.headers = {"Accept-Language": "zh-CN",
                        "X-Forwarded-For": f"198.18.{secrets.randbelow(256)}."
                                           f"{secrets.randbelow(256)}"}

    def call(self, method: str, path: str, route: str | None = None,
             allow: tuple[int, ...] = (), **kwargs):
        cpu, begun = self.record.database_cpu_ms(), time.perf_counter()
        answer = self.session.request(method, self.base + path, headers={
            **self.headers, **kwargs.pop("headers", {})}, timeout=TIMEOUT, **kwargs)
        if route:
            self.record.wall.setdefault(route, []).append((time.perf_counter() - begun) * 1000)
            self.record.cpu.setdefault(route, []).append(self.record.database_cpu_ms() - cpu)
        if answer.status_code >= 400 and answer.status_code not in allow:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
        return answer

    def citizen(self, stack: Stack) -> "Client":
        phone = f"133{secrets.randbelow(10**8):08d}"
        self.headers["Authorization"] = "Bearer " + sign_in(stack, self.session, phone,
                                                              self.headers)
        self.identity = identity(phone)
        self.call("POST", "/api/v1/me/real-name", json={
            "name": self.identity["applicant_name"],
            "id_number": self.identity["applicant_id_number"]})
        self.rng = random.Random(phone)
        self.finished: list[str] = []  # its applications, worked to completion once measured
        self.materials = []
        for position, (kind, filename, content_type) in enumerate(MATERIALS):
            body, header = multipart({"type": kind}, "file", filename,
                                     material_file(position, content_type, self.rng),
                                     content_type)
            self.materials.append(self.call("POST", "/api/v1/materials", data=body,
                                            headers={"Content-Type": header}).json()["id"])
        return self

    def apply(self) -> str:
        return self.call("POST", "/api/v1/applications", headers={
            "Idempotency-Key": uuid.uuid4().hex}, json={
            "bundle": "newborn", "subject": {"kind": "newborn"}, "region": REGION,
            "form": {**newborn_form(self.rng), **self.identity},
            "materials": self.materials}).json()["id"]

    def officer(self, department: str, password: str) -> "Client":
        self.staff_login(department, password)
        bundle = self.call("GET", "/api/v1/bundles/newborn").json()
        self.steps = {step["matter"]: step for step in bundle["steps"]}
        self.rng = random.Random(department)
        return self

    def staff_login(self, department: str, password: str) -> None:
        tokens = self.call("POST", "/api/v1/auth/staff-login", json={
            "username": OFFICER_PREFIX + department, "password": password})
        self.headers["Authorization"] = "Bearer " + tokens.json()["access_token"]


# ── The measurement ───────────────────────────────────────────────────────────────────────────

def measure(citizen: Client, officers: dict[str, Client], rounds: int, polls: int) -> dict:
    """`rounds` fresh applications worked by every department as they reach it; each department's
    queue read `polls` times; the citizen's list read `polls` times."""
    citizen.record.clear()
    conflicts: list[str] = []
    for _ in range(rounds):
        citizen.finished.append(citizen.apply())
    for _ in range(polls):
        citizen.call("GET", "/api/v1/applications", "GET /api/v1/applications")
    for _ in range(polls):
        for officer in officers.values():
            officer.call("GET", "/api/v1/workbench/tasks?status=pending&page_size=20",
                         "GET /api/v1/workbench/tasks")
    for _ in range(polls // 3):  # the workbench's counts: each time its queue page is opened
        for officer in officers.values():
            officer.call("GET", "/api/v1/workbench/tasks/counts",
                         "GET /api/v1/workbench/tasks/counts")
    busy = True
    while busy:
        busy = False
        for officer in officers.values():
            queue = officer.call("GET", "/api/v1/workbench/tasks?status=pending&page_size=20",
                                 "GET /api/v1/workbench/tasks").json()
            for item in queue:
                busy = True
                claimed = officer.call("POST", f"/api/v1/workbench/tasks/{item['id']}/claim",
                                       "POST /api/v1/workbench/tasks/{id}/claim", allow=(409,))
                if claimed.status_code == 409:
                    # A claim whose answer was lost and retried by the driver finds the task
                    # claimed already (by itself): counted, and the task is left.
                    conflicts.append(item["id"])
                    continue
                outputs = outputs_for(officer.steps.get(item["matter"]) or {}, officer.rng)
                officer.call("POST", f"/api/v1/workbench/tasks/{item['id']}/complete",
                             "POST /api/v1/workbench/tasks/{id}/complete",
                             json={"outputs": outputs})
    return {"claim_conflicts": len(conflicts)} | {route: citizen.record.figures(route)
                                                   for route in ROUTES}


def cpu_per_request(before: dict, after: dict, routes: dict) -> dict:
    """CPU milliseconds of the database and of the API per measured request: what a request
    costs, which other jobs on the machine change far less than its wall-clock time (the
    database's share includes what it does meanwhile for the worker and the event streams)."""
    requests_ = sum(r["requests"] for r in routes.values() if isinstance(r, dict))
    return {part: round((after[part] - before[part]) / requests_ * 1000, 2) if requests_ else None
            for part in ("database", "api (gunicorn)")}


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _growth(small: float | None, large: float | None) -> float | None:
    return round((large - small) / small, 3) if small and large is not None else None


def comparison(sizes: dict) -> list[dict]:
    """Each route's p95 at the largest size against the smallest."""
    if len(sizes) < 2:
        return []
    ordered = sorted(sizes, key=int)
    small, large = sizes[ordered[0]]["routes"], sizes[ordered[-1]]["routes"]
    rows = []
    for route in ROUTES:
        a, b = small[route]["p95_ms"], large[route]["p95_ms"]
        growth = _growth(a, b)
        cpu_a, cpu_b = small[route].get("database_cpu_ms"), large[route].get("database_cpu_ms")
        rows.append({"route": route, "small": int(ordered[0]), "large": int(ordered[-1]),
                     "p95_small_ms": a, "p95_large_ms": b, "growth": growth,
                     "met": growth is not None and growth <= TARGET_GROWTH,
                     "database_cpu_small_ms": cpu_a, "database_cpu_large_ms": cpu_b,
                     "database_cpu_growth": _growth(cpu_a, cpu_b)})
    return rows


def templates(citizen: Client, officers: dict[str, Client], stack: Stack
              ) -> history_data.Templates:
    """Two applications made through the API, as stored: one just submitted, one worked to
    completion by every department."""
    stored = stack.mongo[DATABASE].applications
    submitted = stored.find_one({"_id": ObjectId(citizen.apply())})
    measure(citizen, officers, 1, 5)  # works that one too, and warms every route up
    finished = stored.find_one({"_id": ObjectId(citizen.finished[-1])})
    if finished["status"] != "completed":
        raise RuntimeError(f"the template was not completed: {finished['status']}")
    return history_data.Templates(submitted=submitted, finished=finished)


def run(stack: Stack, phases: Phases, sizes: list[int], rounds: int, polls: int,
        found: dict, deadline: float | None = None) -> None:
    """Fills `found` as it goes, so that an interrupted run keeps its sizes measured so far."""
    stack.start(phases)
    record = Record(psutil.Process(stack.database.process.pid))
    officers = {d: Client(stack.api_url, record).officer(d, stack.officer_password)
                for d in DEPARTMENTS}
    made = phases.run("warm up, make the templates", templates,
                      Client(stack.api_url, record).citizen(stack), officers, stack)
    found.update(template_bytes={"submitted": len(bson.encode(made.submitted)),
                                 "finished": len(bson.encode(made.finished))}, sizes={})
    now = datetime.now(UTC)
    for size in sizes:
        cpu = record.database_cpu_ms()
        grown = phases.run(f"insert history to {size:,}", history_data.grow,
                           stack.mongo[DATABASE].applications, made, size, 20_240_601, now,
                           deadline)
        size = grown["applications"]  # what it holds: fewer if the insert was cut short
        # The server's own cost of storing one (its CPU), whatever else shares the machine.
        grown["database_cpu_ms_per_application"] = round(
            (record.database_cpu_ms() - cpu) / max(1, grown["inserted"]), 2)
        # An insert can outlast an access token (15 minutes): the officers sign in again.
        for department, officer in officers.items():
            officer.staff_login(department, stack.officer_password)
        citizen = phases.run(f"a citizen new to {size:,}", Client(stack.api_url, record).citizen,
                             stack)
        # What the insert left to do (the server's checkpoint, the caches: each process's ETA
        # medians, stale by now, are aggregated again on its first apply or completion) is done
        # before the figures are taken, by one application worked; its times are kept apart.
        settled = phases.run(f"settle at {size:,}", measure, citizen, officers, 1, 2)
        before = stack.cpu_seconds()
        routes = phases.run(f"measure at {size:,}", measure, citizen, officers, rounds, polls)
        # What was measured here is the past at the next size: its present (the open work, the
        # last days' completions the workbench shows) is this one's, behind more history.
        history_data.age(stack.mongo[DATABASE].applications, [
            ObjectId(i) for i in citizen.finished], history_data.RECENT_DAYS + 1)
        found["sizes"][str(size)] = {**grown, "routes": routes, "settling": settled,
                                     "cpu_ms_per_request": cpu_per_request(
                                         before, stack.cpu_seconds(), routes),
                                     # What the server holds in memory (its cache is most of
                                     # it): the working set at this size, up to the cache.
                                     "database_rss_mb": round(
                                         record.database.memory_info().rss / 2**20),
                                     # Other jobs on the machine: wall-clock times move with it.
                                     "load_average": [round(n, 1) for n in os.getloadavg()]}
        found["comparison"] = comparison(found["sizes"])


def slowest(routes: dict) -> float:
    return max((r.get("max_ms") or 0 for r in routes.values() if isinstance(r, dict)),
               default=0)


def render(found: dict) -> str:
    sizes = sorted(found.get("sizes") or {}, key=int)
    out = [f"The embedded server's cache: {found.get('run', {}).get('cache_size') or 'default'}",
           f"{'p95 ms at N applications':<58}" + "".join(f"{int(s):>10,}" for s in sizes)]
    for route in ROUTES:
        out.append(f"{route:<58}" + "".join(
            f"{found['sizes'][s]['routes'][route]['p95_ms'] or 0:>10.1f}" for s in sizes))
    for route in ROUTES:
        out.append(f"{'database CPU ms, ' + route.split(' ', 1)[1]:<58}" + "".join(
            f"{found['sizes'][s]['routes'][route].get('database_cpu_ms') or 0:>10.2f}"
            for s in sizes))
    for part in ("database", "api (gunicorn)"):
        out.append(f"{'CPU ms a request, ' + part:<58}" + "".join(
            f"{found['sizes'][s].get('cpu_ms_per_request', {}).get(part) or 0:>10.2f}"
            for s in sizes))
    out.append(f"{'slowest answer settling (ETA medians refreshed), ms':<58}" + "".join(
        f"{slowest(found['sizes'][s].get('settling') or {}):>10.0f}" for s in sizes))
    out.append(f"{'database process memory (RSS) after measuring, MB':<58}" + "".join(
        f"{found['sizes'][s].get('database_rss_mb') or 0:>10,}" for s in sizes))
    out.append(f"{'load average (1 min) after measuring':<58}" + "".join(
        f"{(found['sizes'][s].get('load_average') or [0])[0]:>10.1f}" for s in sizes))
    out.append(f"{'inserted a second (insert_many)':<58}" + "".join(
        f"{found['sizes'][s]['inserted_per_second'] or 0:>10,.0f}" for s in sizes))
    out.append(f"{'database CPU ms to store one (insert_many)':<58}" + "".join(
        f"{found['sizes'][s].get('database_cpu_ms_per_application') or 0:>10.2f}"
        for s in sizes))
    for row in found.get("comparison") or []:
        growth = "-" if row["growth"] is None else f"{row['growth'] * 100:+.0f}%"
        out.append(f"{'PASS' if row['met'] else 'FAIL'}  {row['route']}: p95 {growth} from "
                   f"{row['small']:,} to {row['large']:,} applications (target within "
                   f"{TARGET_GROWTH * 100:.0f}%)" + (
                       "" if row.get("database_cpu_growth") is None else
                       f"; the database's CPU a request {row['database_cpu_growth'] * 100:+.0f}%"))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    # A p95 of 56 claims is their third slowest, of 30 lists the second: one hiccup of the
    # machine moved it by a third. 112 claims and completions, 60 lists and 360 queue reads
    # keep it to the sixth and the third slowest, for 10-20 s more at each size.
    parser.add_argument("--rounds", type=int, default=16,
                        help="fresh applications worked through every department at each size")
    parser.add_argument("--polls", type=int, default=60,
                        help="reads of each queue and of the citizen's list at each size")
    parser.add_argument("--insert-minutes", type=float,
                        help="minutes after the start when no more history is inserted; the "
                             "size reached is measured (a busy machine stores far fewer a second)")
    parser.add_argument("--cache-size", default=CACHE_SIZE,
                        help=f"the embedded server's cache (default {CACHE_SIZE}: the working set "
                             "of 100,000 applications fits)")
    parser.add_argument("--keep-database", action="store_true",
                        help="leave the database's folder (GBs at 100,000) to look into after")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    stop_on_sigterm()
    stamp, run_dir = new_run("history")
    result: dict = {"run": {"started_at": stamp, "host": HOST, "sizes": sizes,
                            "rounds": args.rounds, "polls": args.polls,
                            "cache_size": args.cache_size}}
    deadline = time.monotonic() + args.insert_minutes * 60 if args.insert_minutes else None
    run_on_stack(run_dir, result, lambda stack, phases: run(
        stack, phases, sizes, args.rounds, args.polls, result, deadline),
        keep_database=args.keep_database, cache_size=args.cache_size)
    write_result(result, run_dir, "history-latest.json")
    print()
    if result.get("sizes"):
        print(render(result))
    print(f"Results: {VAR / 'history-latest.json'} (logs in {run_dir / 'logs'})")
    return 2 if result.get("failure") else 0


if __name__ == "__main__":
    sys.exit(main())
