"""`make soak`: `make bench`'s mixed load held at a fixed arrival rate for minutes, then the checks
that only a long run can make.

The stack is `make bench`'s (bench/stack.py: the embedded database, the FCM and SMS stand-ins,
gunicorn with 2 workers x 4 threads, the notification worker), all on 127.0.0.1. Families arrive
at `--rate` a second (bench/soak_locustfile.py) for `--minutes`, while one officer per department
works the queues; the officers stop once the families have and every queue is empty.

    .venv/bin/python -m bench.soak                  # 0.5 families a second, 10 minutes
    .venv/bin/python -m bench.soak --rate 80%       # 80 % of the capacity `make bench` measured
    .venv/bin/python -m bench.soak --short          # 2 minutes, to try a change

It reports the p95 of every answer per minute, the errors, each process's resident memory after
the first (warm-up) minute and at the end, how long the queues (open applications, outboxes of
notification intents, due deliveries) take to drain after the last family's last request, and
whether every notification reached its citizen's inbox exactly once and its push at most once.
The figures go to var/bench/soak-latest.json (and var/bench/soak/<time>/); the exit code is 1
when a criterion fails, 2 when the run broke.
"""
import argparse
import json
import math
import shutil
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack, suppress
from datetime import UTC, datetime

import psutil
import requests

from bench import report
from bench.figures import endpoints_of
from bench.processes import PYTHON, ROOT, VAR, Phases, say, write_result
from bench.scenarios import warm_up
from bench.stack import DATABASE, OFFICER_PREFIX, Stack
from common.embedded_db import stop_on_sigterm

P95_LIMIT_MS = 300.0
DRAIN_LIMIT_S = 30.0
MEMORY_GROWTH_LIMIT = report.MEMORY_GROWTH_LIMIT
OFFICERS = ["HealthOfficer", "CommunityHealthOfficer", "PublicSecurityOfficer",
            "MedicalInsuranceOfficer", "TaxationOfficer", "HrssOfficer"]
# The notifications a family's application sends its citizen: one per timeline event of these
# types (services/workflow: submission and handling write the event and the intent together).
CITIZEN_NOTICES = ("application_received", "task_routed", "task_completed",
                   "application_completed")


def rate_of(text: str) -> tuple[float, str]:
    """Families a second: a number, or a share of the capacity the last `make bench` measured."""
    if not text.endswith("%"):
        return float(text), "given"
    latest = VAR / "latest.json"
    try:
        capacity = json.loads(latest.read_text())["capacity"]
        per_day = capacity["births_per_day_at_full_load"]
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise SystemExit(f"--rate {text} needs the capacity of a `make bench` run in {latest} "
                         f"({type(exc).__name__}); run `make bench` first") from exc
    share = float(text[:-1]) / 100
    return per_day / 86_400 * share, (f"{text} of {per_day:,} births a day at full load "
                                      f"(make bench, {latest})")


# ── What is watched while it runs ─────────────────────────────────────────────────────────────

def queues(db) -> dict:
    """What is still to do: applications not finished, outboxes holding notification intents,
    deliveries due (or waiting for a retry). Each count is read through an index (the sampler
    runs every few seconds against the database it measures, and a count that read every
    application grew with the run): an open application holds its open_key until it ends."""
    return {"applications_open": db.applications.count_documents({"open_key": {"$gt": ""}}),
            "outboxes": db.applications.count_documents({"outbox_pending": True}),
            "deliveries_pending": db.notification_deliveries.count_documents(
                {"status": "pending"})}


def standby(db) -> int:
    """SMS fallbacks on standby: counted once, when the queues are drained (no index holds
    them, so the count reads every delivery)."""
    return db.notification_deliveries.count_documents({"status": "standby"})


def drained(sample: dict) -> bool:
    # A standby SMS fallback waits NOTIFICATION_SMS_FALLBACK_AFTER (10 minutes) by design: only
    # a push that failed turns it into a send. It is reported, not waited for.
    return not (sample["applications_open"] or sample["outboxes"]
                or sample["deliveries_pending"])


def processes(stack: Stack) -> dict[str, int]:
    """Each process of the stack and its pid."""
    found = {"gunicorn master": stack.api.pid, "notification worker": stack.worker.pid,
             "database": stack.database.process.pid}
    with suppress(psutil.Error):
        for n, child in enumerate(psutil.Process(stack.api.pid).children(), 1):
            found[f"gunicorn worker {n}"] = child.pid
    return found


def resident(pids: dict[str, int]) -> dict[str, int | None]:
    sizes: dict[str, int | None] = {}
    for name, pid in pids.items():
        try:
            sizes[name] = psutil.Process(pid).memory_info().rss
        except psutil.Error:
            sizes[name] = None
    return sizes


class Watch(threading.Thread):
    """Samples the queues every few seconds while the load runs (a light read: the database has
    one core and is part of what is measured)."""

    def __init__(self, stack: Stack, every: float):
        super().__init__(daemon=True)
        self.db, self.every = stack.mongo[DATABASE], every
        self.samples: list[dict] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.every):
            with suppress(Exception):  # a missed sample is only a gap in the record
                self.samples.append({"at": time.time(), **queues(self.db)})


# ── The run ───────────────────────────────────────────────────────────────────────────────────

def load(stack: Stack, rate: float, seconds: float, pacing: float, result: dict) -> dict:
    """The families and officers as one locust process; memory taken after the first minute."""
    families = max(1, round(rate * pacing))
    pacing = families / rate
    out, minutes_out = stack.run_dir / "locust-soak.json", stack.run_dir / "minutes.json"
    env = {**stack.plain_env(), "BENCH_OUT": str(out), "SOAK_MINUTES_OUT": str(minutes_out),
           "BENCH_SMS_URL": stack.sms_url, "BENCH_CITIZEN_SECONDS": str(seconds),
           "BENCH_MAX_BIRTHS": "1000000", "BENCH_OFFICER_PREFIX": OFFICER_PREFIX,
           "BENCH_OFFICER_PASSWORD": stack.officer_password, "BENCH_PHONE_PREFIX": "135",
           "SOAK_PACING_SECONDS": str(pacing)}
    # Families are spread over one pacing period (one every 1/rate seconds); the officers come
    # first so that the first applications find them at work.
    tail = 240  # the officers finish the queues; they end the run themselves when all are empty
    argv = [PYTHON, "-m", "locust", "-f", str(ROOT / "bench" / "soak_locustfile.py"),
            "--headless", "--users", str(families + len(OFFICERS)), "--spawn-rate",
            f"{rate:.4f}", "--run-time", f"{int(seconds + tail)}s", "--stop-timeout", "20",
            "--host", stack.api_url, "--only-summary", "--loglevel", "WARNING",
            "--exit-code-on-error", "0", *OFFICERS, "Family"]
    result["load"] = {"rate_per_s": round(rate, 4), "families": families,
                      "pacing_s": round(pacing, 1), "seconds": seconds}
    pids = processes(stack)
    begun = time.time()
    runner = stack.service("locust-soak", argv, env=env)
    warm_at = begun + min(60.0, seconds / 2)
    while runner.running():
        if "warm" not in result["memory"] and time.time() >= warm_at:
            result["memory"]["warm"] = resident(pids)
            result["memory"]["warm_at_s"] = round(time.time() - begun, 1)
        runner.wait(1)
        if time.time() - begun > seconds + tail + 90:
            say("locust overran its run time: stopped")
            break
    runner.stop(30)
    if not out.exists():
        raise RuntimeError(f"locust wrote no results:\n{runner.tail()}")
    recorded = json.loads(out.read_text())
    recorded["minutes"] = json.loads(minutes_out.read_text())["minutes"] if \
        minutes_out.exists() else {}
    recorded["pids"] = pids
    return recorded


def last_family_request(recorded: dict) -> float | None:
    """When the last family's last answer came (epoch s): the load stops there."""
    officer_routes = ("/workbench", "/auth/staff-login")
    times = [e["last"] for name, e in recorded["endpoints"].items()
             if e.get("last") and not any(r in name for r in officer_routes)]
    return max(times) if times else None


def wait_drained(stack: Stack, watch: Watch, timeout: float) -> dict | None:
    """Polls the queues every half second until all are empty; the first empty sample."""
    deadline = time.monotonic() + timeout
    db = stack.mongo[DATABASE]
    while time.monotonic() < deadline:
        sample = {"at": time.time(), **queues(db)}
        watch.samples.append(sample)
        if drained(sample):
            sample["sms_standby"] = standby(db)
            return sample
        time.sleep(0.5)
    return None


def first_drained_after(samples: list[dict], moment: float) -> dict | None:
    """The first sample after `moment` from which on every sample is drained."""
    found = None
    for sample in sorted(samples, key=lambda s: s["at"]):
        if sample["at"] < moment:
            continue
        found = (found or sample) if drained(sample) else None
    return found


def exactly_once(stack: Stack) -> dict:
    """Every notice an application's timeline promises its citizen is in their inbox exactly
    once; every push the FCM stand-in received came once per notification and device."""
    db = stack.mongo[DATABASE]
    expected: Counter = Counter()
    applicants: dict[str, str] = {}
    for application in db.applications.find({}, {"applicant": 1, "events.type": 1,
                                                 "events.task": 1}):
        key = str(application["_id"])
        applicants[key] = application["applicant"]
        for item in application.get("events") or []:
            if item["type"] in CITIZEN_NOTICES:
                expected[(key, item["type"], item.get("task"))] += 1
    found: Counter = Counter()
    for note in db.notifications.find({"type": {"$in": list(CITIZEN_NOTICES)}},
                                      {"application": 1, "type": 1, "task": 1, "recipient": 1}):
        if applicants.get(note.get("application")) == note["recipient"]:
            found[(note["application"], note["type"], note.get("task"))] += 1
    missing = sum(max(0, n - found[k]) for k, n in expected.items())
    duplicated = sum(max(0, n - expected[k]) for k, n in found.items())
    messages = requests.get(f"{stack.fcm_url}/_standin/messages", timeout=60).json()
    pushes = Counter(((m.get("data") or {}).get("notification_id"), m.get("token"))
                     for m in messages)
    push_statuses = Counter(d["status"] for d in db.notification_deliveries.find(
        {"channel": "push"}, {"status": 1}))
    return {"applications": len(applicants), "notices_expected": sum(expected.values()),
            "in_inbox": sum(found.values()), "missing": missing, "duplicated": duplicated,
            "pushes_received": len(messages),
            "pushes_duplicated": sum(n - 1 for n in pushes.values() if n > 1),
            "push_deliveries": dict(push_statuses),
            "met": missing == 0 and duplicated == 0
            and not any(n > 1 for n in pushes.values())}


# ── Figures and verdicts ──────────────────────────────────────────────────────────────────────

def per_minute(recorded: dict) -> list[dict]:
    rows = []
    for minute, entry in sorted(recorded["minutes"].items(), key=lambda kv: int(kv[0])):
        times = entry["times_ms"]
        rows.append({"minute": int(minute) + 1, "requests": len(times),
                     "p50_ms": report.percentile(times, .5),
                     "p95_ms": report.percentile(times, .95),
                     "max_ms": max(times) if times else None,
                     "failures": entry["failures"], "server_errors": entry["server_errors"],
                     "births_started": entry["births_started"]})
    return rows


def memory_growth(memory: dict) -> list[dict]:
    rows = []
    for name, warm in (memory.get("warm") or {}).items():
        end = (memory.get("end") or {}).get(name)
        growth = (end - warm) / warm if warm and end else None
        # The database holds what the run stored: its growth is data, not a leak; it is
        # reported, and the criterion is on the product's own processes.
        judged = name != "database"
        rows.append({"process": name, "warm_bytes": warm, "end_bytes": end,
                     "growth": None if growth is None else round(growth, 4), "judged": judged,
                     "ok": not judged or (growth is not None and growth < MEMORY_GROWTH_LIMIT)})
    return rows


def verdicts(result: dict) -> list[dict]:
    minutes = result.get("minutes") or []
    worst = max((m["p95_ms"] or 0 for m in minutes), default=None)
    drain = result.get("drain") or {}
    once = result.get("exactly_once") or {}
    errors = result.get("errors") or {}
    growth = [m for m in result["memory"].get("growth") or [] if m["judged"]]
    return [
        {"criterion": f"p95 < {P95_LIMIT_MS:.0f} ms in every minute", "issue": 20,
         "figure": f"worst minute {worst:.0f} ms" if worst is not None else "not measured",
         "ok": bool(minutes) and worst < P95_LIMIT_MS},
        {"criterion": f"queues drained within {DRAIN_LIMIT_S:.0f} s of the load stopping",
         "issue": 20, "figure": "never drained" if drain.get("seconds") is None else
         f"{drain['seconds']:.1f} s after the last family's last answer",
         "ok": drain.get("seconds") is not None and drain["seconds"] < DRAIN_LIMIT_S},
        {"criterion": "0 errors", "issue": 19,
         "figure": f"{errors.get('failures', '-')} failed requests, "
                   f"{errors.get('server_errors', '-')} 5xx",
         "ok": errors.get("failures") == 0 and errors.get("server_errors") == 0},
        {"criterion": f"memory growth < {MEMORY_GROWTH_LIMIT * 100:.0f} % after warm-up",
         "issue": 19, "figure": ", ".join(
             f"{m['process']} {m['growth'] * 100:+.1f}%" if m["growth"] is not None
             else f"{m['process']} -" for m in growth) or "not measured",
         "ok": bool(growth) and all(m["ok"] for m in growth)},
        {"criterion": "every notification in the inbox exactly once, every push at most once",
         "issue": 19, "figure": f"{once.get('in_inbox', '-')} of "
                                f"{once.get('notices_expected', '-')} in the inbox, "
                                f"{once.get('missing', '-')} missing, "
                                f"{once.get('duplicated', '-')} duplicated; "
                                f"{once.get('pushes_duplicated', '-')} pushes duplicated",
         "ok": bool(once.get("met"))},
    ]


def render(result: dict) -> str:
    out = []
    load_ = result.get("load") or {}
    out.append(f"soak: {load_.get('rate_per_s')} families a second ({result['run']['rate_from']})"
               f" for {load_.get('seconds', 0) / 60:g} minutes: {load_.get('families')} families"
               f" each starting a birth every {load_.get('pacing_s')} s, 6 officers")
    out.append(f"{'minute':>6}  {'requests':>8}  {'births':>6}  {'p50 ms':>7}  {'p95 ms':>7}  "
               f"{'max ms':>7}  {'failed':>6}  {'5xx':>4}")
    for m in result.get("minutes") or []:
        out.append(f"{m['minute']:>6}  {m['requests']:>8}  {m['births_started']:>6}  "
                   f"{m['p50_ms'] or 0:>7.0f}  {m['p95_ms'] or 0:>7.0f}  {m['max_ms'] or 0:>7.0f}  "
                   f"{m['failures']:>6}  {m['server_errors']:>4}")
    for row in result["memory"].get("growth") or []:
        warm, end = row["warm_bytes"], row["end_bytes"]
        out.append(f"memory {row['process']:<22} {(warm or 0) / 2**20:7.1f} MB after warm-up → "
                   f"{(end or 0) / 2**20:7.1f} MB at the end"
                   + ("" if row["growth"] is None else f" ({row['growth'] * 100:+.1f}%)")
                   + ("" if row["judged"] else " (holds the data: reported, not judged)"))
    drain = result.get("drain") or {}
    if drain:
        out.append(f"drain: {drain.get('seconds')} s after the last family's last answer "
                   f"({drain.get('after_arrivals_s')} s after the last arrival); at the load's "
                   f"end {drain.get('at_load_end')}")
    for verdict in result.get("verdicts") or []:
        out.append(f"{'PASS' if verdict['ok'] else 'FAIL'}  {verdict['criterion']} "
                   f"(issue {verdict['issue']}): {verdict['figure']}")
    return "\n".join(out)


def soak(stack: Stack, phases: Phases, args, rate: float, result: dict) -> None:
    stack.start(phases)
    result["warm_up"] = phases.run("warm up", warm_up, stack)
    watch = Watch(stack, every=5.0)
    watch.start()
    seconds = args.minutes * 60
    recorded = phases.run("families and officers", load, stack, rate, seconds, args.pacing,
                          result)
    load_end = last_family_request(recorded) or time.time()
    arrivals_end = recorded["started"] + seconds
    drained_sample = phases.run("drain the queues", wait_drained, stack, watch, args.drain_wait)
    watch.stop.set()
    result["memory"]["end"] = resident(recorded["pids"])
    result["memory"]["growth"] = memory_growth(result["memory"])
    first = first_drained_after(watch.samples, load_end) if drained_sample else None
    at_end = min((s for s in watch.samples if s["at"] >= load_end), key=lambda s: s["at"],
                 default=None)
    result["drain"] = {
        "seconds": None if first is None else round(max(0.0, first["at"] - load_end), 1),
        "after_arrivals_s": None if first is None else round(first["at"] - arrivals_end, 1),
        "at_load_end": {k: v for k, v in (at_end or {}).items() if k != "at"},
        "left": None if drained_sample else {k: v for k, v in watch.samples[-1].items()
                                             if k != "at"}}
    result["queues"] = [{**s, "at": round(s["at"] - recorded["started"], 1)}
                        for s in watch.samples]
    result["minutes"] = per_minute(recorded)
    seconds_run = recorded["ended"] - recorded["started"]
    result["endpoints"] = endpoints_of(recorded, seconds_run)
    result["errors"] = {"failures": sum(m["failures"] for m in result["minutes"]),
                        "server_errors": sum(m["server_errors"] for m in result["minutes"]),
                        "locust": recorded["errors"][:20]}
    result["births"] = recorded["state"]
    result["exactly_once"] = phases.run("check every notification", exactly_once, stack)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", default="0.5",
                        help="families a second, or a share of make bench's capacity ('80%%')")
    parser.add_argument("--minutes", type=float, default=10.0, help="how long families arrive")
    parser.add_argument("--short", action="store_true", help="two minutes, to try a change")
    parser.add_argument("--pacing", type=float, default=30.0,
                        help="seconds between a family's births (a birth takes ~15 s)")
    parser.add_argument("--drain-wait", type=float, default=180.0,
                        help="seconds to wait for the queues after the load, at most")
    args = parser.parse_args(argv)
    if args.short:
        args.minutes = 2.0
    rate, rate_from = rate_of(args.rate)
    if not math.isfinite(rate) or rate <= 0:
        raise SystemExit(f"--rate must be a positive number of families a second: {args.rate}")
    stop_on_sigterm()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = VAR / "soak" / stamp
    result: dict = {"run": {"started_at": stamp, "rate_from": rate_from,
                            "cores": psutil.cpu_count(), "argv": sys.argv[1:]},
                    "memory": {}}
    phases = Phases()
    try:
        with ExitStack() as stack:
            soak(Stack(run_dir, stack), phases, args, rate, result)
            phases.run("stop everything", stack.close)
    except (KeyboardInterrupt, SystemExit):
        result["failure"] = "interrupted"
    except Exception as exc:  # the run broke: say why, still write what was measured
        result["failure"] = f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(run_dir / "db", ignore_errors=True)
    result["run"]["phases"] = phases.took
    result["verdicts"] = verdicts(result) if not result.get("failure") else []
    write_result(result, run_dir, "soak-latest.json")
    print()
    print(render(result))
    if result.get("failure"):
        print(f"The run broke: {result['failure']}")
    print(f"Results: {VAR / 'soak-latest.json'} (logs in {run_dir / 'logs'})")
    if result.get("failure"):
        return 2
    return 0 if all(v["ok"] for v in result["verdicts"]) else 1


if __name__ == "__main__":
    sys.exit(main())
