"""The stack as production runs it, all on 127.0.0.1: the database, the stand-ins (FCM, SMS
gateway), gunicorn and the notification worker; the catalogue seeded and one officer per
department created as an operator does; what each part uses of the machine."""
import base64
import json
import os
import secrets
import shutil
from collections.abc import Callable
from contextlib import ExitStack, suppress
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pymongo

from bench.processes import HOST, PYTHON, ROOT, VAR, Phases, Service, run_command, say, wait_http
from common.embedded_db import EmbeddedDatabase, free_port
from config import Config

DATABASE = "onething_bench"

OFFICER_PREFIX = "bench.officer."

DEPARTMENTS = ("health", "community_health", "public_security", "medical_insurance", "taxation",
               "hrss")


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


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process and its children have used so far."""
    total = 0.0
    with suppress(psutil.Error):
        process = psutil.Process(pid)
        for member in [process, *process.children(recursive=True)]:
            with suppress(psutil.Error):
                times = member.cpu_times()
                total += times.user + times.system
    return total


def new_run(kind: str = "") -> tuple[str, Path]:
    """A run's start (UTC, as a folder name) and its folder: var/bench/[kind/]<start>."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return stamp, (VAR / kind if kind else VAR) / stamp


def run_on_stack(run_dir: Path, result: dict, body: Callable[["Stack", Phases], None], *,
                 keep_database: bool = False, cache_size: str | None = None) -> Phases:
    """`body(stack, phases)` on a stack of its own in `run_dir`. Whatever happens, everything
    started is stopped and the database's folder deleted (unless kept); an interruption or a
    failure is recorded in result["failure"] (what was measured so far stays in `result`), and
    the phases' times in result["run"]["phases"]."""
    phases = Phases()
    try:
        with ExitStack() as exit_stack:
            body(Stack(run_dir, exit_stack, cache_size=cache_size), phases)
            phases.run("stop everything", exit_stack.close)
    except (KeyboardInterrupt, SystemExit):  # Ctrl+C, or SIGTERM (made a SystemExit)
        result["failure"] = "interrupted"
    except Exception as exc:  # the run broke: say why, still write what was measured
        result["failure"] = f"{type(exc).__name__}: {exc}"
        say(result["failure"])
    finally:
        if not keep_database:
            shutil.rmtree(run_dir / "db", ignore_errors=True)
    result.setdefault("run", {})["phases"] = phases.took
    return phases


class Stack:
    """The database, the stand-ins, the API (gunicorn), the notification worker."""

    def __init__(self, run_dir: Path, stack: ExitStack, worker_root: Path = ROOT,
                 cache_size: str | None = None):
        self.run_dir, self.exit = run_dir, stack
        # The database's cache as `make run` sizes it, unless a bench needs more.
        self.cache_size = cache_size or Config.EMBEDDED_DB_CACHE_SIZE
        # Another checkout's notification worker, against this one's API, to compare the two.
        self.worker_root = worker_root
        self.logs = run_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.officer_password = secrets.token_urlsafe(18)
        self.sms_key, self.sms_secret = secrets.token_hex(8), secrets.token_urlsafe(24)

    def start(self, phases: Phases, api: bool = True) -> None:
        """What every bench starts with: the database and the stand-ins, the catalogue seeded,
        then (`api`) gunicorn and the notification worker, with one officer per department."""
        phases.run("start database and stand-ins", lambda: (self.start_database(),
                                                            self.start_standins()))
        phases.run("seed the catalogue", self.seed)
        if api:
            phases.run("boot gunicorn and worker, create officers", self.start_api)

    def service(self, name: str, argv: list[str], env: dict | None = None,
                root: Path = ROOT) -> Service:
        started = Service(name, argv, env or self.env, self.logs, cwd=root)
        self.exit.callback(started.stop)
        return started

    def start_database(self) -> None:
        self.database = EmbeddedDatabase(self.run_dir / "db", host=HOST,
                                         cache_size=self.cache_size)
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
            # Production's per-citizen limits (20 applications, 100 uploads an hour): the apply-only
            # load spreads its applications over enough citizens to stay under them.
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
        self.create_officers(meanwhile=self.boot_api)

    def create_officers(self, meanwhile=None) -> None:
        """One officer per department (`flask users create-staff`, as an operator does), while
        `meanwhile` runs."""
        creating = [self.service(f"create-staff-{d}", [
            PYTHON, "-m", "flask", "users", "create-staff", "--username", OFFICER_PREFIX + d,
            "--role", "officer", "--department", d, "--region", "330381",
            "--password", self.officer_password]) for d in DEPARTMENTS]
        if meanwhile is not None:
            meanwhile()
        failed = [f"{service.name}:\n{service.tail()}" for service in creating
                  if service.wait(120) != 0]
        for service in creating:
            service.stop(5)
        if failed:
            raise RuntimeError("creating the officers failed: " + "\n".join(failed))

    def boot_api(self, workers: int = 2) -> None:
        self.api_port = free_port(HOST)
        self.api = self.service(f"gunicorn-{workers}" if workers != 2 else "gunicorn", [
            PYTHON, "-m", "gunicorn", "--workers", str(workers), "--threads", "4", "--bind",
            f"{HOST}:{self.api_port}", "--graceful-timeout", "3", "--access-logfile",
            str(self.logs / "access.log"), "wsgi:app"])
        self.worker = self.service("notifications-worker",
                                   [PYTHON, "-m", "flask", "notifications", "worker"],
                                   env={**self.env, "PYTHONPATH": str(self.worker_root)},
                                   root=self.worker_root)
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
        return {part: sum(cpu_seconds(pid) for pid in pids) for part, pids in parts.items()}

    def stop_api(self) -> None:
        # The worker finishes its round before leaving on SIGTERM; a round can be long when it
        # fell behind, and what it leaves is safe (leases expire, delivery is at least once).
        self.worker.stop(timeout=3)
        self.api.stop()
