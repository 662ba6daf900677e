"""The loads: warming the workers up, the locust runs (the journey, apply-only, the bare
baseline), letting the worker drain, the trace of database commands, the catalogue at 1x and
10x, the reform figures at two sizes of history."""
import json
import math
import resource
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psutil
import requests

from bench import report
from bench.figures import catalogue_rows
from bench.processes import HOST, PYTHON, ROOT, Phases, run_command, wait_http
from bench.settings import (
    APPLY_PER_CITIZEN,
    APPLY_PREPARED_RATE,
    APPLY_SECONDS,
    APPLY_USERS,
    CATALOGUE_REQUESTS,
    REFORM_SIZES,
)
from bench.stack import DATABASE, OFFICER_PREFIX, Stack
from common.embedded_db import free_port

BASELINE_DATABASE = "onething_baseline"



def locust(stack: Stack, name: str, host: str, classes: list[str], users: int, seconds: float,
           extra_env: dict, cpu: bool = False) -> dict:
    """One headless locust run as its own process; returns what the locustfile recorded, with
    (`cpu`) the cores each part of the stack used meanwhile."""
    if cpu:
        before, machine = stack.cpu_seconds(), psutil.cpu_times()
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.monotonic()
    out = stack.run_dir / f"locust-{name}.json"
    env = {**stack.plain_env(), "BENCH_OUT": str(out), "BENCH_SMS_URL": stack.sms_url,
           **{k: str(v) for k, v in extra_env.items()}}
    argv = [PYTHON, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
            "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{int(seconds)}s",
            "--stop-timeout", "10", "--host", host, "--only-summary", "--loglevel", "WARNING",
            "--exit-code-on-error", "0", *classes]
    runner = stack.service(f"locust-{name}", argv, env=env)
    code = runner.wait(seconds + 60)
    runner.stop(15)
    if not out.exists():
        raise RuntimeError(f"locust ({name}) wrote no results (exit {code}):\n{runner.tail()}")
    recorded = json.loads(out.read_text())
    if cpu:
        wall = time.monotonic() - wall
        after, now = stack.cpu_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
        cores = {part: (after[part] - before[part]) / wall for part in after}
        cores["load generator (locust)"] = (now.ru_utime + now.ru_stime - reaped.ru_utime
                                            - reaped.ru_stime) / wall
        spent = psutil.cpu_times()
        busy = sum(getattr(spent, f) - getattr(machine, f) for f in ("user", "system", "nice",
                                                                    "irq", "softirq", "steal"))
        total = busy + (spent.idle - machine.idle) + (spent.iowait - machine.iowait)
        recorded["cpu"] = {"cores_used": {k: round(v, 2) for k, v in cores.items()},
                           "cpu_seconds": {k: after[k] - before[k] for k in after},
                           "machine_busy": round(busy / total, 3) if total else None,
                           "cores": psutil.cpu_count(), "seconds": round(wall, 1)}
    return recorded



FIRST_TURNS = 4  # gunicorn's two workers: each is likely to take one of the first few


def sign_in(stack: Stack, session: requests.Session, phone: str, headers: dict) -> str:
    """A citizen signs in as on their phone: the code asked for, read from the SMS gateway's
    stand-in, given back; their access token."""
    session.post(f"{stack.api_url}/api/v1/auth/otp", json={"phone": phone}, headers=headers,
                 timeout=30).raise_for_status()
    code = None
    for _ in range(200):
        answer = session.get(f"{stack.sms_url}/_standin/code", params={"to": phone}, timeout=5)
        if answer.status_code == 200:
            code = answer.json()["code"]
            break
        time.sleep(0.05)
    tokens = session.post(f"{stack.api_url}/api/v1/auth/login", json={
        "phone": phone, "code": code}, headers=headers, timeout=30)
    tokens.raise_for_status()
    return tokens.json()["access_token"]


def warm_up(stack: Stack, turns: int = 12) -> dict:
    """What each server worker loads on first use (the assistant's language model, the catalogue
    index) is loaded before the figures are taken, as a deployment's smoke test would; the
    slowest of the first turns, each sent alone, is reported as the assistant's cold start."""
    headers = {"Accept-Language": "zh-CN", "X-Forwarded-For": "198.19.255.254"}
    headers["Authorization"] = "Bearer " + sign_in(
        stack, requests.Session(), f"134{secrets.randbelow(10**8):08d}", headers)

    def turn(_: int) -> tuple[int, float]:
        begun = time.monotonic()
        answer = requests.post(f"{stack.api_url}/api/v1/assistant/messages", headers=headers,
                               json={"text": "我家宝宝出生了，要办哪些手续？"}, timeout=120)
        took = (time.monotonic() - begun) * 1000
        requests.get(f"{stack.api_url}/api/v1/bundles?q=生孩子", headers=headers, timeout=60)
        return answer.status_code, took

    # The first turns after the start, one at a time (each worker's first, as a citizen meets
    # it), then the rest at once; a turn's time is its own answer's, not the search after it.
    first = [turn(n) for n in range(FIRST_TURNS)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = first + list(pool.map(turn, range(turns - FIRST_TURNS)))
    return {"requests": len(answers) * 2, "statuses": sorted({s for s, _ in answers}),
            "assistant_cold_turn_ms": round(max(ms for _, ms in first), 1),
            "assistant_warm_turn_ms": round(report.percentile([ms for _, ms in answers], 0.5),
                                            1)}



def drain(stack: Stack, timeout: float) -> dict:
    """Wait until the worker has relayed every outbox and delivered every due push."""
    db = stack.mongo[DATABASE]
    deadline = time.monotonic() + timeout
    while True:
        outboxes = db.applications.count_documents({"outbox_pending": True})
        pushes = db.notification_deliveries.count_documents(
            {"channel": "push", "status": "pending", "next_attempt_at": {"$lte": datetime.now(
                UTC)}})
        if (not outboxes and not pushes) or time.monotonic() > deadline:
            return {"outboxes_left": outboxes, "pushes_left": pushes}
        time.sleep(0.25)



def trace(stack: Stack) -> dict:
    out = stack.run_dir / "trace.json"
    run_command([PYTHON, "-m", "bench.trace", "--out", str(out), "--sms-url", stack.sms_url,
                 "--officer-prefix", OFFICER_PREFIX, "--officer-password",
                 stack.officer_password], stack.env, stack.logs, "trace", timeout=120)
    return json.loads(out.read_text())



def apply_only(stack: Stack, name: str, phone_prefix: str, users: int = APPLY_USERS,
               seconds: float = APPLY_SECONDS) -> dict:
    """The apply-only load on our API, with the cores each part used: citizens signed in and
    their materials uploaded first (not measured: the baseline does neither), enough for
    APPLY_PREPARED_RATE applications a second, then each applies APPLY_PER_CITIZEN times, as
    production's per-citizen limits allow."""
    citizens = math.ceil(seconds * APPLY_PREPARED_RATE / APPLY_PER_CITIZEN)
    ready = locust(stack, f"{name}-citizens", stack.api_url, ["PreparedCitizen"], users, 300,
                   {"BENCH_PHONE_PREFIX": phone_prefix, "BENCH_POOL_SIZE": citizens})
    pool = stack.run_dir / f"citizens-{name}.json"
    pool.write_text(json.dumps(ready["prepared"]))
    recorded = locust(stack, name, stack.api_url, ["Applicant"], users, seconds, {
        "BENCH_POOL": pool, "BENCH_APPLY_PER_CITIZEN": APPLY_PER_CITIZEN,
        "BENCH_PHONE_PREFIX": phone_prefix}, cpu=True)
    recorded["citizens"] = {"prepared": len(ready["prepared"]),
                            "applications_each": APPLY_PER_CITIZEN,
                            "signed_in_while_applying":
                                recorded["state"].get("signed_in_while_applying", 0)}
    return recorded


def baseline(stack: Stack) -> dict:
    port = free_port(HOST)
    env = {**stack.plain_env(), "MONGODB_URI": stack.database.uri,
           "MONGODB_DB": BASELINE_DATABASE}
    app = stack.service("gunicorn-baseline", [
        PYTHON, "-m", "gunicorn", "--workers", "2", "--threads", "4", "--bind",
        f"{HOST}:{port}", "--graceful-timeout", "3", "--access-logfile",
        str(stack.logs / "access-baseline.log"), "bench.baseline_app:app"], env=env)
    wait_http(f"http://{HOST}:{port}/healthz", app)
    try:
        return locust(stack, "baseline", f"http://{HOST}:{port}", ["BaselineApplicant"],
                      APPLY_USERS, APPLY_SECONDS, {"BENCH_APPLY_PER_CITIZEN": APPLY_PER_CITIZEN})
    finally:
        app.stop()



CATALOGUE_RUN = ("import json, sys; from bench.catalogue_bench import run; "
                 "json.dump(run([int(sys.argv[1])], int(sys.argv[2]), 20190316), "
                 "open(sys.argv[3], 'w'), ensure_ascii=False)")



def catalogue_scale(stack: Stack, phases: Phases, deadline: float) -> dict:
    """List and search at Zhejiang's size and ten times it, with the catalogue area's script
    (`bench/catalogue_bench.py`: generated catalogue, the whole Flask stack, no network). Each
    scale gets a fresh in-memory server of its own (the script's default): generating ten times
    Zhejiang's catalogue is half as fast on disk, and only reads are measured. 10x gets whatever
    is left of the five minutes."""
    scales: dict = {}
    for scale in (1, 10):
        out = stack.run_dir / f"catalogue-{scale}x.json"
        env = stack.plain_env()
        budget = max(30.0, deadline - phases.total)
        try:
            run_command([PYTHON, "-c", CATALOGUE_RUN, str(scale), str(CATALOGUE_REQUESTS),
                         str(out)], env, stack.logs, f"catalogue-{scale}x", timeout=budget)
            scales.update(json.loads(out.read_text())["scales"])
        except RuntimeError as exc:
            scales[f"{scale}x"] = {"error": str(exc).splitlines()[0][:300]}
    return {"scales": scales, "requests_per_scenario": CATALOGUE_REQUESTS,
            "rows": catalogue_rows(scales)}


def reform_scale(stack: Stack, phases: Phases, deadline: float) -> dict:
    """The reform figures' read at two sizes of history (`bench/reform_bench.py`, a fresh
    in-memory server of its own): the same commands and buckets per read at both."""
    out = stack.run_dir / "reform.json"
    budget = max(30.0, deadline - phases.total)
    try:
        run_command([PYTHON, "-m", "bench.reform_bench", "--sizes", REFORM_SIZES, "--requests",
                     "30", "--sample", "100", "--out", str(out)], stack.plain_env(), stack.logs,
                    "reform", timeout=budget)
    except RuntimeError as exc:
        return {"rows": [{"label": "reform figures", "figure": str(exc).splitlines()[0][:300]}]}
    return json.loads(out.read_text())
