"""Cost against history: the officer queue, claim, complete and a citizen's list of applications
with 1,000, 10,000 and 100,000 applications in the database, on `make bench`'s stack.

The history is not made through the API (100,000 births at the API's pace would take hours): one
newborn application is made through the API, and generated documents cloned from its stored form
are bulk-inserted (insert_many) until the database holds each size. Each clone gets its own ids,
applicant, subject, materials and idempotency key, one of Zhejiang's 90 counties (its tasks in
that county, its city or the province, as routing would put them), a creation time within the
last year and a fate: mostly completed (every task completed, a timeline event per task), some
rejected or withdrawn, some still in progress (one task completed, one claimed, the rest
waiting). No cloned task is pending, so the officers' queues hold only the probe's own
applications while the query still has to find them among everything else.

At each size, one client measures in turn (sequentially: the cost of a request, not the machine's
contention): each department's queue, claiming and completing the probe's fresh tasks as they
reach each department, and the citizen's list. The p95 at the largest size is compared with the
smallest; the target is within 20 %.

    .venv/bin/python -m bench.history                       # 1,000 / 10,000 / 100,000
    .venv/bin/python -m bench.history --sizes 1000,10000    # quicker
"""
import argparse
import json
import random
import secrets
import sys
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import requests
from bson import ObjectId

from bench import report
from bench.processes import HOST, VAR, Phases, say, write_result
from bench.scenario_data import (
    MATERIALS,
    identity,
    material_file,
    multipart,
    newborn_form,
    outputs_for,
)
from bench.stack import DATABASE, DEPARTMENTS, OFFICER_PREFIX, Stack
from common.embedded_db import stop_on_sigterm
from services.regions import divisions

REGION = "330381"
TARGET_GROWTH = 0.20
CHUNK = 1000
FATES = (("completed", .80), ("rejected", .04), ("withdrawn", .03), ("in_progress", .13))
ROUTES = ("GET /api/v1/workbench/tasks", "POST /api/v1/workbench/tasks/{id}/claim",
          "POST /api/v1/workbench/tasks/{id}/complete", "GET /api/v1/applications")


# ── A citizen and the officers, over HTTP ─────────────────────────────────────────────────────

class Client:
    """One signed-in user; every answer's time is kept per route."""

    def __init__(self, base: str, times: dict[str, list[float]]):
        self.base, self.times = base, times
        self.session = requests.Session()
        self.headers = {"Accept-Language": "zh-CN",
                        "X-Forwarded-For": f"198.18.{secrets.randbelow(256)}."
                                           f"{secrets.randbelow(256)}"}

    def call(self, method: str, path: str, route: str | None = None,
             allow: tuple[int, ...] = (), **kwargs):
        begun = time.perf_counter()
        answer = self.session.request(method, self.base + path, headers={
            **self.headers, **kwargs.pop("headers", {})}, timeout=60, **kwargs)
        if route:
            self.times.setdefault(route, []).append((time.perf_counter() - begun) * 1000)
        if answer.status_code >= 400 and answer.status_code not in allow:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
        return answer

    def citizen(self, sms_url: str) -> "Client":
        phone = f"133{secrets.randbelow(10**8):08d}"
        self.call("POST", "/api/v1/auth/otp", json={"phone": phone})
        code = None
        for _ in range(200):
            found = requests.get(f"{sms_url}/_standin/code", params={"to": phone}, timeout=5)
            if found.status_code == 200:
                code = found.json()["code"]
                break
            time.sleep(0.05)
        tokens = self.call("POST", "/api/v1/auth/login", json={"phone": phone, "code": code})
        self.headers["Authorization"] = "Bearer " + tokens.json()["access_token"]
        self.identity = identity(phone)
        self.call("POST", "/api/v1/me/real-name", json={
            "name": self.identity["applicant_name"],
            "id_number": self.identity["applicant_id_number"]})
        self.rng = random.Random(phone)
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
        tokens = self.call("POST", "/api/v1/auth/staff-login", json={
            "username": OFFICER_PREFIX + department, "password": password})
        self.headers["Authorization"] = "Bearer " + tokens.json()["access_token"]
        bundle = self.call("GET", "/api/v1/bundles/newborn").json()
        self.steps = {step["matter"]: step for step in bundle["steps"]}
        self.rng = random.Random(department)
        return self


# ── The history ───────────────────────────────────────────────────────────────────────────────

def regions_to_use() -> list[str]:
    return list(divisions.codes("county")) or [REGION]


def task_region(template_task: dict, template_region: str, region: str) -> str | None:
    """Where routing puts a task of `region`: at the level its template task was worked at."""
    worked_at = template_task.get("region")
    if not worked_at or worked_at == template_region:
        return region
    level = divisions.find(worked_at).level if divisions.find(worked_at) else None
    return divisions.at_level(region, level) if level else worked_at


def clone(template: dict, rng: random.Random, now: datetime, counties: list[str],
          applicants: list[str]) -> dict:
    doc = {k: v for k, v in template.items() if k not in ("_id", "first_response")}
    fate = rng.choices([f for f, _ in FATES], [w for _, w in FATES])[0]
    region = rng.choice(counties)
    if fate == "in_progress" and region == REGION and rng.random() < .9:
        region = rng.choice(counties)  # fewer open ones in the measured county, none pending
    created = now - timedelta(minutes=rng.randint(60, 365 * 24 * 60))
    applicant = rng.choice(applicants)
    events, tasks = [dict(e, id=uuid.uuid4().hex, at=created) for e in template["events"]], []
    for position, task in enumerate(template["tasks"]):
        task = dict(task, id=uuid.uuid4().hex,
                    region=task_region(task, template["region"], region))
        if fate in ("completed", "rejected") or (fate == "in_progress" and position == 0):
            done = created + timedelta(hours=rng.randint(1, 96))
            task.update(status="completed", completed_at=done, claimed_at=done,
                        claimed_by=uuid.uuid4().hex[:24])
            events.append({"id": uuid.uuid4().hex, "type": "task_completed", "at": done,
                           "actor_role": "officer", "actor": task["claimed_by"],
                           "department": task["department"], "task": task["id"],
                           "matter": task["matter"], "data": {}})
        elif fate == "in_progress":
            task.update(status="claimed" if position == 1 else "waiting",
                        claimed_by=uuid.uuid4().hex[:24] if position == 1 else None)
        elif fate == "withdrawn":
            task.update(status="cancelled")
        tasks.append(task)
    if fate == "rejected":
        tasks[-1]["status"] = "rejected"
    doc.update(_id=ObjectId(), applicant=applicant, region=region, status=fate, tasks=tasks,
               events=events, outbox=[], outbox_pending=False, follow_ups=[],
               figures_batches=[], created_at=created, updated_at=created,
               subject={**(template.get("subject") or {}), "id": uuid.uuid4().hex},
               materials=[str(ObjectId()) for _ in template.get("materials") or []],
               idempotency_key=f"{applicant}:{uuid.uuid4().hex}",
               completed_at=created + timedelta(days=4) if fate == "completed" else None)
    doc["material_types"] = dict(zip(doc["materials"],
                                     (template.get("material_types") or {}).values(),
                                     strict=False))
    if fate == "in_progress":
        doc["open_key"] = f"newborn:{doc['subject']['id']}"
    else:
        doc.pop("open_key", None)
    return doc


def grow(stack: Stack, template: dict, size: int, rng: random.Random) -> dict:
    """Insert generated applications until the database holds `size`."""
    collection = stack.mongo[DATABASE].applications
    counties = regions_to_use()
    applicants = [str(ObjectId()) for _ in range(max(1, size // 5))]
    now = datetime.now(UTC)
    have = collection.estimated_document_count()
    begun = time.monotonic()
    inserted = 0
    while have + inserted < size:
        batch = [clone(template, rng, now, counties, applicants)
                 for _ in range(min(CHUNK, size - have - inserted))]
        collection.insert_many(batch, ordered=False)
        inserted += len(batch)
    seconds = time.monotonic() - begun
    return {"applications": collection.estimated_document_count(), "inserted": inserted,
            "insert_seconds": round(seconds, 1),
            "inserted_per_second": round(inserted / seconds, 1) if seconds else None}


# ── The measurement ───────────────────────────────────────────────────────────────────────────

def measure(stack: Stack, citizen: Client, officers: dict[str, Client], rounds: int,
            polls: int) -> dict:
    """`rounds` fresh applications worked by every department as they reach it; each department's
    queue read `polls` times; the citizen's list read `polls` times."""
    times = citizen.times
    times.clear()
    conflicts: list[str] = []
    for _ in range(rounds):
        citizen.apply()
    for _ in range(polls):
        citizen.call("GET", "/api/v1/applications", "GET /api/v1/applications")
    for _ in range(polls):
        for officer in officers.values():
            officer.call("GET", "/api/v1/workbench/tasks?status=pending&page_size=20",
                         "GET /api/v1/workbench/tasks")
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
    return {"claim_conflicts": len(conflicts)} | {route: {"requests": len(times.get(route, [])),
                    "p50_ms": _r(report.percentile(times.get(route, []), .5)),
                    "p95_ms": _r(report.percentile(times.get(route, []), .95))}
            for route in ROUTES}


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def comparison(sizes: dict) -> list[dict]:
    """Each route's p95 at the largest size against the smallest."""
    if len(sizes) < 2:
        return []
    ordered = sorted(sizes, key=int)
    small, large = sizes[ordered[0]]["routes"], sizes[ordered[-1]]["routes"]
    rows = []
    for route in ROUTES:
        a, b = small[route]["p95_ms"], large[route]["p95_ms"]
        growth = (b - a) / a if a and b is not None else None
        rows.append({"route": route, "small": int(ordered[0]), "large": int(ordered[-1]),
                     "p95_small_ms": a, "p95_large_ms": b,
                     "growth": None if growth is None else round(growth, 3),
                     "met": growth is not None and growth <= TARGET_GROWTH})
    return rows


def run(stack: Stack, phases: Phases, sizes: list[int], rounds: int, polls: int,
        found: dict) -> None:
    """Fills `found` as it goes, so that an interrupted run keeps its sizes measured so far."""
    phases.run("start database and stand-ins", lambda: (stack.start_database(),
                                                        stack.start_standins()))
    phases.run("seed the catalogue", stack.seed)
    phases.run("boot gunicorn and worker, create officers", stack.start_api)
    base = stack.api_url
    citizen = Client(base, {}).citizen(stack.sms_url)
    template_id = citizen.apply()
    template = stack.mongo[DATABASE].applications.find_one({"_id": ObjectId(template_id)})
    officers = {d: Client(base, citizen.times).officer(d, stack.officer_password)
                for d in DEPARTMENTS}
    phases.run("warm up at the start", measure, stack, citizen, officers, 2, 5)
    rng = random.Random(20_240_601)
    found.update(template_bytes=len(json.dumps(template, default=str)), sizes={})
    for size in sizes:
        grown = phases.run(f"insert history to {size:,}", grow, stack, template, size, rng)
        routes = phases.run(f"measure at {size:,}", measure, stack, citizen, officers, rounds,
                            polls)
        found["sizes"][str(size)] = {**grown, "routes": routes}
        found["comparison"] = comparison(found["sizes"])


def render(found: dict) -> str:
    sizes = sorted(found.get("sizes") or {}, key=int)
    out = [f"{'p95 ms at N applications':<46}" + "".join(f"{int(s):>10,}" for s in sizes)]
    for route in ROUTES:
        out.append(f"{route:<46}" + "".join(
            f"{found['sizes'][s]['routes'][route]['p95_ms'] or 0:>10.1f}" for s in sizes))
    out.append(f"{'inserted a second (insert_many)':<46}" + "".join(
        f"{found['sizes'][s]['inserted_per_second'] or 0:>10,.0f}" for s in sizes))
    for row in found.get("comparison") or []:
        growth = "-" if row["growth"] is None else f"{row['growth'] * 100:+.0f}%"
        out.append(f"{'PASS' if row['met'] else 'FAIL'}  {row['route']}: p95 {growth} from "
                   f"{row['small']:,} to {row['large']:,} applications (target within "
                   f"{TARGET_GROWTH * 100:.0f}%)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--rounds", type=int, default=8,
                        help="fresh applications worked through every department at each size")
    parser.add_argument("--polls", type=int, default=30,
                        help="reads of each queue and of the citizen's list at each size")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    stop_on_sigterm()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = VAR / "history" / stamp
    result: dict = {"run": {"started_at": stamp, "host": HOST, "sizes": sizes,
                            "rounds": args.rounds, "polls": args.polls}}
    phases = Phases()
    try:
        with ExitStack() as stack:
            run(Stack(run_dir, stack), phases, sizes, args.rounds, args.polls, result)
            phases.run("stop everything", stack.close)
    except (KeyboardInterrupt, SystemExit):
        result["failure"] = "interrupted"
    except Exception as exc:  # the run broke: say why, still write what was measured
        result["failure"] = f"{type(exc).__name__}: {exc}"
        say(result["failure"])
    result["run"]["phases"] = phases.took
    write_result(result, run_dir, "history-latest.json")
    print()
    if result.get("sizes"):
        print(render(result))
    print(f"Results: {VAR / 'history-latest.json'} (logs in {run_dir / 'logs'})")
    return 2 if result.get("failure") else 0


if __name__ == "__main__":
    sys.exit(main())
