"""Launcher behind `make run` and `make serve`: the whole system as supervised child processes.

The embedded database (unless MONGODB_URI names one) is started once, here, and its address given
to every child as MONGODB_URI; the catalogue is seeded; then the API starts (the Flask
development server for `run`, gunicorn for `serve`) and, once it answers, the notification
worker, the overdue sweep, the materials sweep and, with SIMULATE_DEPARTMENTS, the departments'
simulator beside it, each restarted with backoff should it die. Ctrl-C or SIGTERM stops them
all. While it runs, var/run.json (beside the database's folder) says where the database is, so a
command run by hand uses it.
"""
import argparse
import os
import signal
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime

import config as settings
from common import run_state
from common.embedded_db import DEATH_SIGNAL, EmbeddedDatabase
from common.supervisor import Program, Supervisor

FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]
# Only the API answers the assistant: the other processes need not train it.
BESIDE_THE_API = {"ASSISTANT_WARM_UP": "false"}


def api(command: str, config) -> Program:
    if command == "run":
        return Program("api", FLASK + ["run", "--host", "127.0.0.1", "--port", str(config.PORT),
                                       "--no-reload", "--no-debugger", "--with-threads"])
    return Program("api", gunicorn_argv(f"127.0.0.1:{config.PORT}") + [
        "--access-logfile", "-", "--access-logformat", ACCESS_LOG_FORMAT])


# gunicorn's access log, its default ("combined") without the query string and the referer:
# both can hold a signed material link or a token, and gunicorn's log is not the app's (whose
# lines lose them, common.log_setup.RedactSecretsFilter).
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms'


def gunicorn_argv(bind: str, workers: int | None = None) -> list[str]:
    """gunicorn as `make serve` runs it (bench/streams_bench.py measures this very line)."""
    workers = workers or int(os.environ.get("WEB_CONCURRENCY") or max(2, (os.cpu_count() or 1) * 2))
    return [
        # gevent workers: each open event stream (/me/events) is a greenlet waiting on its
        # process's hub, not a thread, so a worker holds thousands while answering the rest.
        # A short graceful timeout: open event streams would otherwise hold a stop for 30 s.
        sys.executable, "-m", "gunicorn", "--worker-class", "gevent", "--workers", str(workers),
        "--worker-connections", os.environ.get("GUNICORN_CONNECTIONS", "2000"),
        "--graceful-timeout", "4", "--bind", bind, "wsgi:app"]


def answering(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1) as response:  # noqa: S310  # nosec B310
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def beside_the_api(config) -> list[Program]:
    """The processes that work beside the API."""
    found = [
        Program("worker", FLASK + ["notifications", "worker"], BESIDE_THE_API),
        Program("sla-sweep", FLASK + ["workflow", "sweep", "--every",
                                      str(config.WORKFLOW_SWEEP_SECONDS)], BESIDE_THE_API),
        Program("materials-sweep", FLASK + ["materials", "sweep", "--every",
                                            str(config.MATERIALS_SWEEP_SECONDS)], BESIDE_THE_API),
        # The service loop (ratings' invitations and cases, offers, reform figures) and the
        # service desk's waiting conversations.
        Program("loop-sweep", FLASK + ["loop", "sweep", "--every",
                                       str(config.LOOP_SWEEP_SECONDS)], BESIDE_THE_API),
        Program("desk-sweep", FLASK + ["desk", "sweep", "--every",
                                       str(config.WORKFLOW_SWEEP_SECONDS)], BESIDE_THE_API),
    ]
    if config.SIMULATE_DEPARTMENTS:
        found.append(Program("simulator", FLASK + [
            "departments", "simulate", "--speed", str(config.SIMULATE_SPEED), "--poll", "0.5"],
            BESIDE_THE_API))
    return found


def banner(supervisor: Supervisor, config, database: EmbeddedDatabase | None) -> None:
    url = f"http://127.0.0.1:{config.PORT}"
    where = (f"embedded at {database.uri} (data in {database.storage_path})" if database
             else "MONGODB_URI")
    processes = ", ".join(f"{c.program.name} ({c.pid})" for c in supervisor.children.values())
    lines = [
        "One Thing is running (Ctrl-C stops everything):",
        f"  API        {url}/api/v1",
        f"  Docs       {url}/docs",
        f"  OpenAPI    {url}/api/openapi.json",
        f"  Health     {url}/healthz  /readyz",
        f"  Database   {where}",
        f"  Processes  {processes}",
    ]
    if database:
        lines.append(f"  Run file   {run_state.path_for(database.storage_path)}: commands run "
                     "by hand beside this (flask ..., make demo) use this database")
    for line in lines:
        supervisor.say(line)


class RunFile:
    """var/run.json while the launcher runs: the database's address and every child's pid."""

    def __init__(self, database: EmbeddedDatabase, config):
        self.path = run_state.path_for(database.storage_path)
        self.state = {"pid": os.getpid(), "mongodb_uri": database.uri,
                      "data": database.storage_path, "api": f"http://127.0.0.1:{config.PORT}",
                      "started_at": datetime.now(UTC).isoformat(timespec="seconds")}

    def update(self, supervisor: Supervisor) -> None:
        self.state["processes"] = {c.program.name: c.pid for c in supervisor.children.values()}
        run_state.write(self.path, self.state)

    def remove(self) -> None:
        run_state.remove(self.path, os.getpid())


def launch(command: str, config, supervisor: Supervisor) -> int:
    database = run_file = None
    if not config.MONGODB_URI:
        other = run_state.running(config.EMBEDDED_DB_PATH)
        if other is not None:
            supervisor.say(f"Already running (pid {other['pid']}) on {config.EMBEDDED_DB_PATH}, "
                           f"serving {other.get('api')}: use it, or stop it first.")
            return 2
        database = EmbeddedDatabase(config.EMBEDDED_DB_PATH,
                                    cache_size=config.EMBEDDED_DB_CACHE_SIZE)
    try:
        if database is not None:
            child = supervisor.start(Program("db", database.command(),
                                             death_signal=DEATH_SIGNAL, stop_last=True))
            if not supervisor.wait_until(database.answers, child, timeout=60):
                if supervisor.stopping.is_set():
                    return 0
                supervisor.say("The embedded database did not start (its last words are "
                               f"above): is another process using {database.storage_path}?")
                return 1
            supervisor.env["MONGODB_URI"] = database.uri
            supervisor.say(f"database embedded at {database.uri} (data in "
                           f"{database.storage_path})")
            run_file = RunFile(database, config)
            supervisor.on_change = run_file.update
            run_file.update(supervisor)
        if supervisor.run_once(Program("seed", FLASK + ["seed"], BESIDE_THE_API)) != 0:
            if supervisor.stopping.is_set():
                return 0
            supervisor.say("Seeding failed (see above); nothing else was started.")
            return 1
        # The API first, alone: on a busy machine it answers sooner with the CPU to itself,
        # and the others then find every index made.
        url = f"http://127.0.0.1:{config.PORT}"
        child = supervisor.start(api(command, config))
        if not supervisor.wait_until(lambda: answering(url), child, timeout=120):
            if supervisor.stopping.is_set():
                return 0
            supervisor.say("The API is not answering yet; starting the others anyway.")
        for program in beside_the_api(config):
            supervisor.start(program)
        banner(supervisor, config, database)
        supervisor.run()
        return 0
    finally:
        took = supervisor.stop()
        if run_file is not None:
            run_file.remove()
        supervisor.say(f"stopped everything in {took:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["run", "serve"])
    command = parser.parse_args(argv).command
    try:
        config = settings.load()
    except settings.StartupError as refusal:
        print(f"One Thing cannot start: {refusal}", file=sys.stderr)
        return 2
    supervisor = Supervisor({**os.environ, "APP_ENV": config.APP_ENV})

    def stop(signum, frame):
        supervisor.request_stop()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    return launch(command, config, supervisor)


if __name__ == "__main__":
    sys.exit(main())
