"""`make bench`: start the stack as production runs it, load it over HTTP, print one table.

Everything listens on 127.0.0.1 and runs in its own process group; every exit path (an error,
Ctrl+C, SIGTERM) stops what was started. Sizes are set for a 2-core machine and a run of under
five minutes; each can be changed from the environment (BENCH_CITIZENS, BENCH_JOURNEY_SECONDS,
BENCH_APPLY_USERS, BENCH_APPLY_SECONDS, BENCH_MAX_BIRTHS). BENCH_TRACE=1 prints the database
commands of every endpoint, not only of those over their budget.
"""
import base64
import ctypes
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pymongo
import requests

from bench import report
from common.embedded_db import EmbeddedDatabase, free_port, stop_on_sigterm

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
PYTHON = sys.executable
HOST = "127.0.0.1"
DATABASE = "onething_bench"
BASELINE_DATABASE = "onething_baseline"
OFFICER_PREFIX = "bench.officer."
DEPARTMENTS = ("health", "community_health", "public_security", "medical_insurance", "taxation",
               "hrss")


def setting(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


CITIZENS = int(setting("BENCH_CITIZENS", 6))
JOURNEY_SECONDS = setting("BENCH_JOURNEY_SECONDS", 45)
TAIL_SECONDS = setting("BENCH_TAIL_SECONDS", 20)  # officers finish the queues after citizens stop
APPLY_USERS = int(setting("BENCH_APPLY_USERS", 6))
APPLY_SECONDS = setting("BENCH_APPLY_SECONDS", 15)
MAX_BIRTHS = int(setting("BENCH_MAX_BIRTHS", 400))
DRAIN_SECONDS = setting("BENCH_DRAIN_SECONDS", 20)
TRACE_ALL = os.environ.get("BENCH_TRACE", "") not in ("", "0", "false")
TIME_LIMIT = setting("BENCH_TIME_LIMIT", 270)  # seconds: with installing, under five minutes


def die_with_parent() -> None:
    """In the child before exec: the kernel sends it SIGTERM if the bench dies, even by SIGKILL,
    so nothing it started outlives it."""
    with suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def say(text: str) -> None:
    print(f"[bench] {text}", flush=True)


# ── Processes ──────────────────────────────────────────────────────────────────────────────────

class Service:
    """A child process in its own process group (stopped as a group), output to a log file; it
    dies with us even if we are killed outright."""

    def __init__(self, name: str, argv: list[str], env: dict, logs: Path):
        self.name = name
        self.log_path = logs / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.stopped = False
        self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                        stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True, preexec_fn=die_with_parent)

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def tail(self, size: int = 3000) -> str:
        with suppress(OSError):
            return self.log_path.read_bytes()[-size:].decode(errors="replace")
        return ""

    def wait(self, timeout: float) -> int | None:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to the whole group (graceful), SIGKILL to whatever is left after `timeout`."""
        if self.stopped:
            return
        self.stopped = True
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGTERM)
        if self.wait(timeout) is None:
            say(f"{self.name} still busy {timeout:.0f}s after SIGTERM: killed")
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # stragglers of the group, if any
        self.process.wait()
        self._log.close()


class Phases:
    def __init__(self):
        self.took: dict[str, float] = {}
        self.started = time.monotonic()

    def run(self, name: str, action, *args, **kwargs):
        begun = time.monotonic()
        say(f"{name} …")
        try:
            return action(*args, **kwargs)
        finally:
            self.took[name] = round(time.monotonic() - begun, 1)
            say(f"{name} took {self.took[name]:.1f}s")

    @property
    def total(self) -> float:
        return round(time.monotonic() - self.started, 1)


def wait_http(url: str, service: Service, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.running():
            raise RuntimeError(f"{service.name} exited at start:\n{service.tail()}")
        with suppress(requests.RequestException):
            if requests.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{service.name} did not answer {url} within {timeout:.0f}s")


def run_command(argv: list[str], env: dict, logs: Path, name: str, timeout: float = 120) -> str:
    """A one-shot command (flask CLI), in its own group, killed if it overruns."""
    service = Service(name, argv, env, logs)
    try:
        code = service.wait(timeout)
        output = service.tail(20_000)
    finally:
        service.stop(5)
    if code is None:
        raise RuntimeError(f"{name} did not finish within {timeout:.0f}s")
    if code != 0:
        raise RuntimeError(f"{name} failed ({code}):\n{output[-3000:]}")
    return output


# ── The stack ──────────────────────────────────────────────────────────────────────────────────

def fresh_secrets() -> dict:
    """Production refuses development keys: every run gets its own."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "JWT_KEYS": json.dumps({"bench": secrets.token_urlsafe(48)}),
        "JWT_ACTIVE_KID": "bench",
        "DATA_KEYS": json.dumps({"bench": base64.urlsafe_b64encode(
            secrets.token_bytes(32)).decode()}),
        "DATA_ACTIVE_KID": "bench",
        "BLIND_INDEX_KEY": secrets.token_urlsafe(48),
    }


class Stack:
    """The database, the stand-ins, the API (gunicorn), the notification worker."""

    def __init__(self, run_dir: Path, stack: ExitStack):
        self.run_dir, self.exit = run_dir, stack
        self.logs = run_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.officer_password = secrets.token_urlsafe(18)
        self.sms_key, self.sms_secret = secrets.token_hex(8), secrets.token_urlsafe(24)

    def service(self, name: str, argv: list[str], env: dict | None = None) -> Service:
        started = Service(name, argv, env or self.env, self.logs)
        self.exit.callback(started.stop)
        return started

    def start_database(self) -> None:
        self.database = EmbeddedDatabase(self.run_dir / "db", host=HOST)
        self.database.start()
        self.exit.callback(self.database.stop)
        self.mongo = pymongo.MongoClient(self.database.uri, tz_aware=True)
        self.exit.callback(self.mongo.close)

    def start_standins(self) -> None:
        self.fcm_port, self.sms_port = free_port(HOST), free_port(HOST)
        credentials = self.run_dir / "fcm-service-account.json"
        self.fcm = self.service("fcm-standin", [PYTHON, "-m", "standins.fcm", "--port",
                                                str(self.fcm_port), "--credentials-out",
                                                str(credentials)], env=self.plain_env())
        self.sms = self.service("sms-standin", [
            # "--opt=value": a generated value may start with "-", which argparse would take
            # for an option.
            PYTHON, "-m", "standins.sms_gateway", f"--port={self.sms_port}",
            f"--key={self.sms_key}", f"--secret={self.sms_secret}"], env=self.plain_env())
        wait_http(f"{self.fcm_url}/_standin/stats", self.fcm)
        wait_http(f"{self.sms_url}/_standin/stats", self.sms)
        self.env = {
            **self.plain_env(), **fresh_secrets(),
            "APP_ENV": "production", "FLASK_APP": "wsgi",
            "MONGODB_URI": self.database.uri, "MONGODB_DB": DATABASE,
            "DB_COMMAND_COUNTING": "true",
            "SMS_ADAPTER": "http", "SMS_GATEWAY_URL": self.sms_url,
            "SMS_GATEWAY_KEY": self.sms_key, "SMS_GATEWAY_SECRET": self.sms_secret,
            "FCM_CREDENTIALS": str(credentials), "FCM_BASE_URL": self.fcm_url,
            # One load balancer in front, as in production: the client address is the one it saw.
            "TRUSTED_PROXY_COUNT": "1",
        }

    @staticmethod
    def plain_env() -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MONGODB_", "APP_", "FLASK_", "BENCH_"))}
        return {**env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}

    @property
    def fcm_url(self) -> str:
        return f"http://{HOST}:{self.fcm_port}"

    @property
    def sms_url(self) -> str:
        return f"http://{HOST}:{self.sms_port}"

    def seed(self) -> None:
        """The catalogue, as an operator seeds production (`flask seed`)."""
        run_command([PYTHON, "-m", "flask", "seed"], self.env, self.logs, "flask-seed")

    def start_api(self) -> None:
        """gunicorn and the notification worker, while one officer per department is created
        (`flask users create-staff`, as an operator does)."""
        creating = [self.service(f"create-staff-{d}", [
            PYTHON, "-m", "flask", "users", "create-staff", "--username", OFFICER_PREFIX + d,
            "--role", "officer", "--department", d, "--region", "330381",
            "--password", self.officer_password]) for d in DEPARTMENTS]
        self.boot_api()
        failed = [f"{service.name}:\n{service.tail()}" for service in creating
                  if service.wait(120) != 0]
        for service in creating:
            service.stop(5)
        if failed:
            raise RuntimeError("creating the officers failed: " + "\n".join(failed))

    def boot_api(self) -> None:
        self.api_port = free_port(HOST)
        self.api = self.service("gunicorn", [
            PYTHON, "-m", "gunicorn", "--workers", "2", "--threads", "4", "--bind",
            f"{HOST}:{self.api_port}", "--graceful-timeout", "3", "--access-logfile",
            str(self.logs / "access.log"), "wsgi:app"])
        self.worker = self.service("notifications-worker",
                                   [PYTHON, "-m", "flask", "notifications", "worker"])
        wait_http(f"{self.api_url}/readyz", self.api, timeout=90)
        if not self.worker.running():
            raise RuntimeError(f"the notification worker exited:\n{self.worker.tail()}")

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    def workers_rss(self) -> dict[int, int]:
        master = psutil.Process(self.api.pid)
        return {child.pid: child.memory_info().rss for child in master.children()}

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) used so far by each part of the stack, children included."""
        parts = {"api (gunicorn)": [self.api.pid], "database": [self.database.process.pid],
                 "notification worker": [self.worker.pid],
                 "stand-ins": [self.fcm.pid, self.sms.pid]}
        used = {}
        for part, pids in parts.items():
            total = 0.0
            for pid in pids:
                with suppress(psutil.Error):
                    process = psutil.Process(pid)
                    for member in [process, *process.children(recursive=True)]:
                        with suppress(psutil.Error):
                            times = member.cpu_times()
                            total += times.user + times.system
            used[part] = total
        return used

    def stop_api(self) -> None:
        # The worker finishes its round before leaving on SIGTERM; a round can be long when it
        # fell behind, and what it leaves is safe (leases expire, delivery is at least once).
        self.worker.stop(timeout=3)
        self.api.stop()


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
                           "machine_busy": round(busy / total, 3) if total else None,
                           "cores": psutil.cpu_count(), "seconds": round(wall, 1)}
    return recorded


# ── Measures ───────────────────────────────────────────────────────────────────────────────────

def endpoints_of(recorded: dict, seconds: float) -> list[dict]:
    rows = []
    for name, entry in sorted(recorded["endpoints"].items(), key=lambda kv: _route_order(kv[0])):
        if name.startswith("("):
            continue
        times = entry["times_ms"]
        requests_made = sum(entry["statuses"].values())
        rows.append({
            "name": name, "requests": requests_made,
            "rps": round(requests_made / seconds, 2) if seconds else None,
            "p50_ms": report.percentile(times, 0.50), "p95_ms": report.percentile(times, 0.95),
            "p99_ms": report.percentile(times, 0.99), "errors": entry["errors"],
            "statuses": entry["statuses"],
            "db_commands": report.db_commands(entry["db_commands"], report.BUDGETS.get(name)),
        })
    return rows


ORDER = ("/auth", "/assistant", "/me/devices", "/bundles", "/materials", "/applications",
         "/me/notifications", "/workbench")


def _route_order(name: str) -> tuple:
    path = name.split(" ", 1)[-1]
    rank = next((i for i, part in enumerate(ORDER) if part in path), len(ORDER))
    return rank, path, name


def apply_rate(recorded: dict, name: str) -> float | None:
    """Applications per second while applying: from the first answer to the last."""
    entry = recorded["endpoints"].get(name)
    if not entry or len(entry["times_ms"]) < 2 or entry["last"] <= entry["first"]:
        return None
    return (len(entry["times_ms"]) - 1) / (entry["last"] - entry["first"])


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


def notification_latency(stack: Stack) -> dict:
    """Commit of each task completion (its intent's `at`) → the FCM stand-in's receipt."""
    db = stack.mongo[DATABASE]
    notes = {n["_id"]: n for n in db.notifications.find(
        {"type": "task_completed"}, {"at": 1, "created_at": 1})}
    deliveries = {d["notification"]: d for d in db.notification_deliveries.find(
        {"type": "task_completed", "channel": "push"},
        {"notification": 1, "status": 1, "delivered_at": 1, "attempts": 1, "last_error": 1})}
    messages = requests.get(f"{stack.fcm_url}/_standin/messages", timeout=30).json()
    receipts: dict[str, float] = {}
    for message in messages:
        nid = (message.get("data") or {}).get("notification_id")
        if nid and nid not in receipts:
            receipts[nid] = message["at"]
    completions = {nid: n["at"].timestamp() for nid, n in notes.items()}
    figures = report.notification_latency(completions, receipts)
    # Where the time goes: waiting for the worker to relay the outbox, then sending.
    relay = [(n["created_at"] - n["at"]).total_seconds() * 1000 for n in notes.values()]
    send = [(receipts[nid] - n["created_at"].timestamp()) * 1000 for nid, n in notes.items()
            if nid in receipts]
    figures["commit_to_relay_ms"] = {"p50": report.percentile(relay, 0.5),
                                     "p99": report.percentile(relay, 0.99)}
    figures["relay_to_fcm_ms"] = {"p50": report.percentile(send, 0.5),
                                  "p99": report.percentile(send, 0.99)}
    statuses: dict[str, int] = {}
    for delivery in deliveries.values():
        statuses[delivery["status"]] = statuses.get(delivery["status"], 0) + 1
    figures["push_statuses"] = statuses
    figures["retried"] = sum(1 for d in deliveries.values() if d.get("attempts", 0) > 1)
    figures["fcm_stats"] = requests.get(f"{stack.fcm_url}/_standin/stats", timeout=5).json()
    figures["worker_rounds"] = worker_rounds(stack.worker.log_path)
    figures["cause"] = latency_cause(figures, stack.env)
    return figures


ROUND = re.compile(r"relayed (\d+), handled (\d+) deliveries")


def worker_rounds(log_path: Path) -> dict:
    """How long the worker's busy rounds took, from its log: a completion waits for the round
    in progress to end and for its own round to relay and send it."""
    stamps, sizes = [], []
    with suppress(OSError):
        for line in log_path.read_text(errors="replace").splitlines():
            with suppress(ValueError, KeyError):
                entry = json.loads(line)
                found = ROUND.search(entry["message"])
                if found:
                    stamps.append(datetime.fromisoformat(entry["time"]).timestamp())
                    sizes.append(int(found.group(1)) + int(found.group(2)))
    gaps = [(b - a) * 1000 for a, b in zip(stamps, stamps[1:], strict=False)]
    return {"busy_rounds": len(stamps), "p50_ms": report.percentile(gaps, 0.5),
            "max_ms": max(gaps) if gaps else None,
            "items_p50": report.percentile(sizes, 0.5), "items_max": max(sizes, default=None)}


def latency_cause(figures: dict, env: dict) -> str:
    """Where a completion's push spends its time, in numbers, when the target is missed."""
    if figures["p99_ms"] is None:
        return "no completion was pushed: see the notification worker's log"
    if figures["met"]:
        return ""
    relay, send = figures["commit_to_relay_ms"], figures["relay_to_fcm_ms"]
    rounds = figures.get("worker_rounds") or {}
    poll = float(env.get("NOTIFICATION_POLL_SECONDS") or 1.0)
    parts = []
    if figures["missing"]:
        parts.append(f"{figures['missing']} completions never reached FCM "
                     f"(push deliveries: {figures['push_statuses']})")
    parts.append(f"commit → inbox (relay) p50 {relay['p50'] or 0:.0f} ms, p99 "
                 f"{relay['p99'] or 0:.0f} ms; inbox → FCM p50 {send['p50'] or 0:.0f} ms, p99 "
                 f"{send['p99'] or 0:.0f} ms")
    if rounds.get("busy_rounds"):
        parts.append(f"one worker works in rounds (relay every pending outbox intent by intent, "
                     f"then send) that took p50 {rounds['p50_ms'] or 0:.0f} ms, max "
                     f"{rounds['max_ms'] or 0:.0f} ms for p50 {rounds['items_p50'] or 0:.0f} "
                     f"intents+deliveries: a completion waits for the round in progress, then "
                     f"for its own")
    parts.append(f"an idle worker sleeps NOTIFICATION_POLL_SECONDS={poll:g} s between rounds")
    return "; ".join(parts)


CATALOGUE_REQUESTS = int(setting("BENCH_CATALOGUE_REQUESTS", 60))
CATALOGUE_RUN = ("import json, sys; from bench.catalogue_bench import run; "
                 "json.dump(run([int(sys.argv[1])], int(sys.argv[2]), 20190316), "
                 "open(sys.argv[3], 'w'), ensure_ascii=False)")
LIST, LIST_FILTERED = "list (page n of all)", "list filtered"
SEARCHES = {"search zh word": "zh word", "search zh phrase": "zh phrase",
            "search zh colloquial": "zh colloquial", "search en": "en",
            "search + filter": "with filters", "bundles by words": "bundles"}


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


def catalogue_rows(scales: dict) -> list[dict]:
    one, ten = scales.get("1x") or {}, scales.get("10x") or {}

    def p95(scale: dict, scenario: str) -> str:
        figure = ((scale.get("latency") or {}).get(scenario) or {}).get("p95_ms")
        return "-" if figure is None else f"{figure:,.0f}"

    rows = []
    for scale in (one, ten):
        if scale.get("error"):
            rows.append({"label": "catalogue scale", "figure": f"not measured: {scale['error']}"})
    if not one.get("latency") and not ten.get("latency"):
        return rows
    sizes = f"{one.get('matters', 0):,} → {ten.get('matters', 0):,} matters"
    rows.append({"label": "catalogue list p95, 1x → 10x",
                 "figure": f"{p95(one, LIST)} → {p95(ten, LIST)} ms; filtered "
                           f"{p95(one, LIST_FILTERED)} → {p95(ten, LIST_FILTERED)} ms ({sizes})"})
    rows.append({"label": "catalogue search p95, 1x → 10x",
                 "figure": ", ".join(f"{label} {p95(one, key)} → {p95(ten, key)}"
                                     for key, label in SEARCHES.items()) + " ms"})
    if ten.get("generate_s") is not None:
        first = one.get("index_build_s", 0)
        rows.append({"label": "catalogue at 10x, once",
                     "figure": f"generated in {ten['generate_s']:.0f} s; the first request of "
                               f"a fresh process builds the search index in "
                               f"{ten['index_build_s']:.1f} s (1x: {first:.1f} s)"})
    return rows


def assistant_figures(endpoints: list[dict]) -> dict | None:
    row = next((e for e in endpoints if e["name"] == "POST /api/v1/assistant/messages"), None)
    if row is None:
        return None
    return {"p50_ms": row["p50_ms"], "p95_ms": row["p95_ms"], "turns": row["requests"],
            "errors": row["errors"], "via": "POST /api/v1/assistant/messages under load"}


def warm_up(stack: Stack, turns: int = 12) -> dict:
    """What each server worker loads on first use (the assistant's language model, the catalogue
    index) is loaded before the figures are taken, as a deployment's smoke test would; the
    slowest of these first answers is reported as the cold start."""
    session = requests.Session()
    phone = f"134{secrets.randbelow(10**8):08d}"
    headers = {"Accept-Language": "zh-CN", "X-Forwarded-For": "198.19.255.254"}
    session.post(f"{stack.api_url}/api/v1/auth/otp", json={"phone": phone}, headers=headers,
                 timeout=30).raise_for_status()
    code = None
    for _ in range(100):
        answer = session.get(f"{stack.sms_url}/_standin/code", params={"to": phone}, timeout=5)
        if answer.status_code == 200:
            code = answer.json()["code"]
            break
        time.sleep(0.05)
    tokens = session.post(f"{stack.api_url}/api/v1/auth/login", json={
        "phone": phone, "code": code}, headers=headers, timeout=30)
    tokens.raise_for_status()
    headers["Authorization"] = "Bearer " + tokens.json()["access_token"]

    def turn(_: int) -> tuple[int, float]:
        begun = time.monotonic()
        answer = requests.post(f"{stack.api_url}/api/v1/assistant/messages", headers=headers,
                               json={"text": "我家宝宝出生了，要办哪些手续？"}, timeout=120)
        requests.get(f"{stack.api_url}/api/v1/bundles?q=生孩子", headers=headers, timeout=60)
        return answer.status_code, (time.monotonic() - begun) * 1000

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(turn, range(turns)))
    slowest = sorted(ms for _, ms in answers)
    return {"requests": len(answers) * 2, "statuses": sorted({s for s, _ in answers}),
            "assistant_cold_turn_ms": round(slowest[-1], 1),
            "assistant_warm_turn_ms": round(report.percentile(slowest, 0.5), 1)}


def trace(stack: Stack) -> dict:
    out = stack.run_dir / "trace.json"
    run_command([PYTHON, "-m", "bench.trace", "--out", str(out), "--sms-url", stack.sms_url,
                 "--officer-prefix", OFFICER_PREFIX, "--officer-password",
                 stack.officer_password], stack.env, stack.logs, "trace", timeout=120)
    return json.loads(out.read_text())


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
                      APPLY_USERS, APPLY_SECONDS, {})
    finally:
        app.stop()


# ── The run ────────────────────────────────────────────────────────────────────────────────────

def measure(stack: Stack, phases: Phases, result: dict) -> None:
    phases.run("start database and stand-ins", lambda: (stack.start_database(),
                                                        stack.start_standins()))
    phases.run("seed the catalogue", stack.seed)
    phases.run("boot gunicorn and worker, create officers", stack.start_api)
    rss_start = stack.workers_rss()
    result["warm_up"] = phases.run("warm up", warm_up, stack)

    journey = phases.run("journey load", locust, stack, "journey", stack.api_url, [
        "Citizen", "HealthOfficer", "CommunityHealthOfficer", "PublicSecurityOfficer",
        "MedicalInsuranceOfficer", "TaxationOfficer", "HrssOfficer"], CITIZENS + 6,
        JOURNEY_SECONDS + TAIL_SECONDS, {
            "BENCH_CITIZEN_SECONDS": JOURNEY_SECONDS, "BENCH_MAX_BIRTHS": MAX_BIRTHS,
            "BENCH_OFFICER_PREFIX": OFFICER_PREFIX,
            "BENCH_OFFICER_PASSWORD": stack.officer_password, "BENCH_PHONE_PREFIX": "137"},
        cpu=True)
    rss_warm = stack.workers_rss()
    seconds = journey["ended"] - journey["started"]
    result["cpu"] = {"journey": journey.get("cpu")}
    result["endpoints"] = endpoints_of(journey, seconds)
    result["journey"] = {"seconds": round(seconds, 1), **journey["state"],
                         "errors": journey["errors"]}
    result["budgets"] = report.budget_verdicts(result["endpoints"])
    result["capacity"] = capacity(journey, result["endpoints"])
    result["assistant"] = assistant_figures(result["endpoints"])
    if result["assistant"]:
        result["assistant"]["cold_turn_ms"] = result["warm_up"]["assistant_cold_turn_ms"]

    result["drain"] = phases.run("deliver remaining pushes", drain, stack, DRAIN_SECONDS)
    result["journey"]["applications"] = {
        row["_id"]: row["n"] for row in stack.mongo[DATABASE].applications.aggregate(
            [{"$group": {"_id": "$status", "n": {"$sum": 1}}}])}
    result["notifications"] = notification_latency(stack)
    try:
        result["db_command_trace"] = phases.run("trace database commands", trace, stack)
    except RuntimeError as exc:  # a diagnosis: its failure must not hide the figures
        result["db_command_trace"] = {"error": str(exc)[:2000]}
        say(f"the trace failed: {str(exc).splitlines()[0]}")

    # Both apply-only runs compare the request path alone: the notification worker, which the
    # baseline does not have, is paused meanwhile (it would take the database's one core).
    os.kill(stack.worker.pid, signal.SIGSTOP)
    ours = phases.run("apply-only load (ours)", locust, stack, "apply", stack.api_url,
                      ["Applicant"], APPLY_USERS, APPLY_SECONDS, {"BENCH_PHONE_PREFIX": "136"},
                      cpu=True)
    result["cpu"]["apply"] = ours.get("cpu")
    backlog = list(stack.mongo[DATABASE].applications.aggregate([
        {"$match": {"outbox_pending": True}},
        {"$group": {"_id": None, "intents": {"$sum": {"$size": "$outbox"}}}}]))
    rss_end = stack.workers_rss()
    result["memory"] = {"workers": report.memory_verdicts([
        {"pid": pid, "start_bytes": rss, "warm_bytes": rss_warm.get(pid),
         "end_bytes": rss_end.get(pid)} for pid, rss in rss_start.items()]),
        "limit": report.MEMORY_GROWTH_LIMIT}
    # Resumed so that it can leave cleanly; stopping our API stops it too, so the baseline
    # runs without it as well.
    with suppress(ProcessLookupError):
        os.kill(stack.worker.pid, signal.SIGCONT)
    phases.run("stop our API", stack.stop_api)
    bare = phases.run("apply-only load (baseline)", baseline, stack)
    result["overhead"] = {
        **report.overhead(apply_rate(ours, "POST /api/v1/applications"),
                          apply_rate(bare, "POST /apply (baseline)")),
        "users": APPLY_USERS, "seconds": APPLY_SECONDS,
        "worker_backlog_intents": backlog[0]["intents"] if backlog else 0,
        "ours_errors": (ours["endpoints"].get("POST /api/v1/applications") or {}).get("errors"),
        "baseline_errors": (bare["endpoints"].get("POST /apply (baseline)") or {}).get("errors"),
        "ours_p50_ms": report.percentile(
            (ours["endpoints"].get("POST /api/v1/applications") or {}).get("times_ms") or [], .5),
        "baseline_p50_ms": report.percentile(
            (bare["endpoints"].get("POST /apply (baseline)") or {}).get("times_ms") or [], .5),
    }
    result["catalogue"] = phases.run("catalogue at 1x and 10x", catalogue_scale, stack, phases,
                                     TIME_LIMIT)


ZHEJIANG_BIRTHS_A_YEAR = 400_000
PRODUCT = ("api (gunicorn)", "database", "notification worker")


def capacity(journey: dict, endpoints: list[dict]) -> dict | None:
    """What one birth costs this machine (API, database and worker, from the journey's CPU
    time and births), and so how many births a day one such machine carries at full load: all
    its cores busy, or the database's one core busy (the embedded server is one Python
    process), whichever comes first."""
    cpu, births = journey.get("cpu"), journey["state"].get("births_applied") or 0
    if not cpu or not births:
        return None
    used = cpu["cores_used"]
    per_birth = sum(used.get(part, 0) for part in PRODUCT) * cpu["seconds"] / births
    database_per_birth = used.get("database", 0) * cpu["seconds"] / births
    requests_made = sum(e["requests"] for e in endpoints
                        if e["name"] != "POST /api/v1/auth/staff-login")
    polls = sum(e["requests"] for e in endpoints if e["name"] == "GET /api/v1/workbench/tasks")
    limits = {"all cores": 86_400 * (cpu.get("cores") or 1) / per_birth}
    if database_per_birth:
        limits["the database's one core"] = 86_400 / database_per_birth
    bound = min(limits, key=limits.get)
    daily = ZHEJIANG_BIRTHS_A_YEAR / 365
    return {"births": births, "cpu_seconds_per_birth": round(per_birth, 2),
            "database_cpu_seconds_per_birth": round(database_per_birth, 2),
            "requests_per_birth": round(requests_made / births, 1),
            "queue_polls_per_birth": round(polls / births, 1),
            "births_per_day_at_full_load": round(limits[bound]), "bound_by": bound,
            "zhejiang_births_per_day": round(daily),
            "zhejiang_share_of_one_machine": round(daily / limits[bound], 4)}


def explain_budgets(result: dict) -> list[str]:
    """The commands behind each endpoint over budget, and behind relaying one intent when the
    notification target is missed (everything with BENCH_TRACE=1)."""
    traced = result.get("db_command_trace") or {}
    over = {v["endpoint"] for v in result.get("budgets") or [] if not v["ok"]}
    shown = {e: c for e, c in (traced.get("summary") or {}).items() if TRACE_ALL or e in over}
    relay = traced.get("relay")
    if relay and (TRACE_ALL or not (result.get("notifications") or {}).get("met")):
        shown[relay["endpoint"]] = relay["commands"]
    lines = []
    for endpoint, commands in shown.items():
        mark = " (over budget)" if endpoint in over else ""
        lines.append(f"{endpoint}{mark}: {len(commands)} database commands")
        lines += [f"    {n + 1}. {c}" for n, c in enumerate(commands)]
    return lines


def prune_old_runs(keep: int) -> None:
    """Each run leaves its logs and figures in var/bench/<time>/; the last few are kept."""
    runs = sorted(p for p in VAR.glob("2*") if p.is_dir())
    for old in runs[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def main() -> int:
    stop_on_sigterm()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = VAR / stamp
    result: dict = {"run": {"started_at": stamp, "machine": {
        "cores": os.cpu_count(), "python": platform.python_version(),
        "system": platform.platform()}, "settings": {
        "citizens": CITIZENS, "officers": len(DEPARTMENTS), "journey_seconds": JOURNEY_SECONDS,
        "tail_seconds": TAIL_SECONDS, "apply_users": APPLY_USERS,
        "apply_seconds": APPLY_SECONDS, "max_births": MAX_BIRTHS,
        "gunicorn": "2 workers x 4 threads"}}}
    phases = Phases()
    try:
        with ExitStack() as stack:
            measure(Stack(run_dir, stack), phases, result)
            phases.run("stop everything", stack.close)
    except (KeyboardInterrupt, SystemExit):  # Ctrl+C, or SIGTERM (made a SystemExit)
        result["failure"] = "interrupted"
    except Exception as exc:  # the run broke: say why, still write what was measured
        result["failure"] = f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(run_dir / "db", ignore_errors=True)
        prune_old_runs(keep=5)
    result["run"]["phases"] = phases.took
    result["run"]["total_seconds"] = phases.total
    result["exit_code"] = report.exit_code(result)
    VAR.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=1, ensure_ascii=False, default=str)
    (run_dir / "result.json").parent.mkdir(parents=True, exist_ok=True)
    (run_dir / "result.json").write_text(text)
    (VAR / "latest.json").write_text(text)

    print()
    print(report.render(result))
    for line in explain_budgets(result):
        print(line)
    if result.get("failure"):
        print(f"The run broke: {result['failure']}")
    verdicts = [v for v in result.get("budgets") or [] if not v["ok"]]
    for verdict in verdicts:
        print(f"BUDGET EXCEEDED: {verdict['endpoint']}: {verdict['why']}")
    print(f"Results: {VAR / 'latest.json'} (logs in {run_dir / 'logs'})")
    return result["exit_code"]


if __name__ == "__main__":
    sys.exit(main())
