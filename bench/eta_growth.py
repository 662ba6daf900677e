"""What keeping the ETA medians costs as history grows: with N finished newborn-sized
applications stored, the old way (one aggregation over every completion of the last 90 days,
repeated by each process every ETA_CACHE_SECONDS) against the roll-up of what completed since
the last one plus the read of the stored medians. Rerun:
`.venv/bin/python -m bench.eta_growth --sizes 1000,5000`.
"""
import argparse
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

from api import create_app
from common.embedded_db import EmbeddedDatabase
from models.application import Application, TaskStatus
from services.workflow import handling_times

MATTERS = ("birth_medical_certificate", "vaccination_certificate",
           "newborn_household_registration", "medical_insurance_enrolment", "social_security_card",
           "birth_allowance", "newborn_name_registration")


def application(completed: datetime) -> dict:
    tasks = [{"id": uuid.uuid4().hex, "matter": matter, "department": "health",
              "region": "330381", "status": "completed",
              "released_at": completed - timedelta(minutes=10 + n),
              "completed_at": completed, "outputs": {"note": "x" * 300}}
             for n, matter in enumerate(MATTERS)]
    return {"applicant": "bench", "bundle": "newborn", "bundle_version": 1,
            "status": "completed", "tasks": tasks, "events": [{"type": "x", "data": "y" * 2000}]}


def whole_aggregation(since: datetime) -> int:
    """The query the roll-up replaced (services/workflow/deadlines._query_medians before it)."""
    recent = {"status": TaskStatus.COMPLETED.value, "completed_at": {"$gte": since}}
    return len(list(Application._get_collection().aggregate([
        {"$match": {"tasks.completed_at": {"$gte": since}, "tasks": {"$elemMatch": recent}}},
        {"$unwind": "$tasks"},
        {"$match": {"tasks.status": TaskStatus.COMPLETED.value,
                    "tasks.completed_at": {"$gte": since}, "tasks.released_at": {"$ne": None}}},
        {"$sort": {"tasks.completed_at": -1}},
        {"$group": {"_id": {"matter": "$tasks.matter", "region": "$tasks.region"},
                    "done": {"$push": {"at": "$tasks.completed_at", "ms": {"$subtract": [
                        "$tasks.completed_at", "$tasks.released_at"]}}}}},
        {"$project": {"done": {"$slice": ["$done", 500]}}}])))


def timed(action) -> float:
    begun = time.perf_counter()
    action()
    return (time.perf_counter() - begun) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000")
    sizes = [int(s) for s in parser.parse_args(argv).sizes.split(",")]
    with EmbeddedDatabase(":memory:") as database:
        os.environ.update(MONGODB_URI=database.uri, MONGODB_DB="onething_eta_growth",
                          MONGODB_TIMEOUT_MS="300000")
        app = create_app("test")
        with app.app_context():
            stored = 0
            now = datetime.now(UTC)
            for size in sizes:
                rows = [application(now - timedelta(days=1, seconds=n))
                        for n in range(size - stored)]
                for start in range(0, len(rows), 500):
                    Application._get_collection().insert_many(rows[start:start + 500])
                stored = size
                handling_times.forget()
                first = timed(lambda: handling_times.roll_up(now=now))
                Application._get_collection().insert_one(application(now + timedelta(seconds=1)))
                later = now + timedelta(minutes=5)
                rolled = timed(lambda at=later: (handling_times.roll_up(now=at),
                                                 handling_times.medians(now=at, days=90)))
                whole = timed(lambda: whole_aggregation(now - timedelta(days=90)))
                print(f"{size:>7,} applications: the whole aggregation {whole:8.0f} ms; the "
                      f"roll-up of one new completion and the read {rolled:6.1f} ms (the first "
                      f"roll-up, once: {first:.0f} ms)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
