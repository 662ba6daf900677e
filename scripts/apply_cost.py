"""CPU per application, of the API process and of the database, citizens applying in one
process as the bench's apply-only load does: each applies --per-citizen times (each newborn joins
its family), then the next one; the database's CPU is also given per command.

Runs the real app (test configuration, production's caches and per-citizen limits) against a
throwaway embedded database (--disk: on disk, fsynced at each commit as the bench's; else in
memory); --baseline runs the bare baseline (bench/baseline_app.py) the same way instead. Prints
the API's CPU, the database's CPU and the wall time per application, and the database's CPU per
application by command and collection (its threads' run time around each command, Linux). CPU
figures are what a machine shared with other work distorts least.

    .venv/bin/python scripts/apply_cost.py [--applications 150] [--per-citizen 10] [--disk]
                                           [--baseline]
"""
import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import psutil
from pymongo import monitoring

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.server_cpu import ServerCpuByCommand  # noqa: E402  (the root is on the path only now)


def cpu_seconds(process: psutil.Process) -> float:
    return sum(p.cpu_times().user + p.cpu_times().system
               for p in [process, *process.children(recursive=True)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=150)
    parser.add_argument("--per-citizen", type=int, default=10,
                        help="applications of each citizen (production refuses a 21st an hour)")
    parser.add_argument("--disk", action="store_true", help="the database on disk, fsynced")
    parser.add_argument("--baseline", action="store_true", help="the bare baseline instead")
    args = parser.parse_args()
    listener = ServerCpuByCommand()
    monitoring.register(listener)  # before any client is made: each takes it

    from common.embedded_db import EmbeddedDatabase
    with tempfile.TemporaryDirectory() as folder:
        server = EmbeddedDatabase(Path(folder) / "db" if args.disk else ":memory:")
        server.start()
        listener.pid = server.process.pid
        os.environ["MONGODB_URI"] = server.uri
        try:
            measure = run_baseline if args.baseline else run
            measure(args.applications, args.per_citizen, psutil.Process(server.process.pid),
                    listener)
        finally:
            server.stop()


def timed(apply, warm: int, total: int, database: psutil.Process,
          listener: ServerCpuByCommand) -> None:
    for n in range(warm):  # warm: caches filled, code paths loaded
        apply(n)
    count = total - warm
    database_began, began, wall = cpu_seconds(database), time.process_time(), \
        time.perf_counter()
    listener.counting, listener.own_seconds = True, 0.0
    for n in range(warm, total):
        answer = apply(n)
    listener.counting = False
    api_ms = (time.process_time() - began - listener.own_seconds) * 1000 / count
    database_ms = (cpu_seconds(database) - database_began) * 1000 / count
    wall_ms = (time.perf_counter() - wall) * 1000 / count
    print(f"{count} applications: API {api_ms:.2f} ms CPU, database {database_ms:.2f} ms "
          f"CPU, {wall_ms:.1f} ms wall each; the last sent "
          f"{answer.headers.get('X-DB-Commands', '-')} commands")
    for (name, collection), (spent, sent) in sorted(listener.spent.items(),
                                                    key=lambda item: -item[1][0]):
        print(f"  {name} {collection}: {sent / count:.2f} per application, database "
              f"{spent / 1e6 / count:.2f} ms CPU per application")


def run(count: int, per_citizen: int, database: psutil.Process,
        listener: ServerCpuByCommand) -> None:
    from api import create_app
    from config import Config
    from models import catalogue_state
    from tests import workflow_support as ws
    from tests.helpers import ApiClient

    app = create_app("test")
    app.config.update(CATALOGUE_STATE_TTL=Config.CATALOGUE_STATE_TTL,
                      ETA_CACHE_SECONDS=Config.ETA_CACHE_SECONDS,
                      RATE_LIMIT_APPLICATIONS=Config.RATE_LIMIT_APPLICATIONS)
    with app.app_context():
        ws.load_catalogue()
        catalogue_state.forget_state()
        warm, total = 20, 20 + count
        # Made before the measured applications: the baseline signs in and uploads nothing.
        citizens = []
        for n in range(-(-total // per_citizen)):
            parent = ws.make_parent(n + 1)
            citizens.append((ApiClient(app.test_client(), headers={"Accept-Language": "zh-CN"})
                             .as_(parent), ws.newborn_materials(parent)))

        def apply(n: int):
            citizen, materials = citizens[n // per_citizen]
            born = date.today() - timedelta(days=1 + n % 60)
            body = {"bundle": "newborn", "subject": {"kind": "newborn"}, "region": "330381",
                    "materials": materials, "form": ws.newborn_form(
                        newborn_name=f"Baby {n}", newborn_birth_date=born.isoformat())}
            return citizen.post("/api/v1/applications", json=body,
                                headers={"Idempotency-Key": f"key-{n}"}, expect=201)

        timed(apply, warm, total, database, listener)


def run_baseline(count: int, per_citizen: int, database: psutil.Process,
                 listener: ServerCpuByCommand) -> None:
    from bench import baseline_app  # reads MONGODB_URI as it is imported
    from bench.scenario_data import MATERIALS, newborn_form

    client = baseline_app.app.test_client()

    def apply(n: int):
        rng = random.Random(n)
        return client.post("/apply", json={
            "bundle": "newborn", "subject": {"kind": "newborn"}, "form": newborn_form(rng),
            "materials": [uuid.uuid4().hex[:24] for _ in MATERIALS]}, headers={
            "X-Owner": f"citizen-{n // per_citizen}", "Idempotency-Key": uuid.uuid4().hex})

    timed(apply, 20, 20 + count, database, listener)


if __name__ == "__main__":
    main()
