"""CPU per application, of the API process and of the database, citizens applying in one
process as the bench's apply-only load does: each applies --per-citizen times (each newborn joins
its family), then the next one.

Runs the real app (test configuration, production's caches and per-citizen limits) against a
throwaway embedded database; prints the API's CPU, the database's CPU and the wall time per
application, and the commands of the last one. CPU figures are what a machine shared with other
work distorts least.

    .venv/bin/python scripts/apply_cost.py [--applications 150] [--per-citizen 10]
"""
import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def cpu_seconds(process: psutil.Process) -> float:
    return sum(p.cpu_times().user + p.cpu_times().system
               for p in [process, *process.children(recursive=True)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=150)
    parser.add_argument("--per-citizen", type=int, default=10,
                        help="applications of each citizen (production refuses a 21st an hour)")
    args = parser.parse_args()

    from common.embedded_db import EmbeddedDatabase
    server = EmbeddedDatabase(":memory:")
    server.start()
    os.environ["MONGODB_URI"] = server.uri
    try:
        run(args.applications, args.per_citizen, psutil.Process(server.process.pid))
    finally:
        server.stop()


def run(count: int, per_citizen: int, database: psutil.Process) -> None:
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

        for n in range(warm):  # warm: caches filled, code paths loaded
            apply(n)
        database_began, began, wall = cpu_seconds(database), time.process_time(), \
            time.perf_counter()
        for n in range(warm, total):
            answer = apply(n)
        api_ms = (time.process_time() - began) * 1000 / count
        database_ms = (cpu_seconds(database) - database_began) * 1000 / count
        wall_ms = (time.perf_counter() - wall) * 1000 / count
        print(f"{count} applications: API {api_ms:.2f} ms CPU, database {database_ms:.2f} ms "
              f"CPU, {wall_ms:.1f} ms wall each; the last sent "
              f"{answer.headers.get('X-DB-Commands')} commands")


if __name__ == "__main__":
    main()
