"""Claim and complete as history grows: p50/p95 of each request, and its database commands, with
1,000 and with 20,000 applications already stored.

Every task transition used to be a findAndModify, which the embedded server runs as a find and
then a write it cannot plan on an index: a scan of the whole applications collection under its
write lock (models/indexed_writes.py). This shows whether a claim and a completion cost the same
whatever the history. Runs in-process against a fresh embedded database of its own (or
MONGODB_URI), through the whole Flask stack; officers and citizens are made as the tests make
them. The stored history is copies of a real newborn application, finished:
    .venv/bin/python -m bench.transition_growth                    # 1,000 and 20,000, 30 each
    .venv/bin/python -m bench.transition_growth --sizes 1000,20000 --requests 30 --json

It prints figures; it asserts nothing (timing belongs here, not in tests).
"""
import argparse
import copy
import json
import sys
import time
import uuid
from pathlib import Path

from bson import ObjectId

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from api import create_app  # noqa: E402 (after the path is set)
from bench.catalogue_bench import percentile  # noqa: E402
from bench.processes import database_of_its_own  # noqa: E402
from config import Config  # noqa: E402
from models.application import Application, with_queue_key  # noqa: E402
from tests import workflow_support as ws  # noqa: E402 (the tests' makers of people and data)
from tests.helpers import ApiClient, make_officer  # noqa: E402

MATTER = "birth_medical_certificate"  # the first task of a birth: pending once applied
BATCH = 500


def finished_copy(template: dict) -> dict:
    """Another family's application, long finished: new ids, nothing left to do or relay."""
    done = copy.deepcopy(template)
    done["_id"] = ObjectId()
    done["applicant"] = str(ObjectId())
    done["idempotency_key"] = f"{done['applicant']}:history"
    done.get("subject", {})["id"] = str(ObjectId())
    done.pop("open_key", None)
    done.update(status="completed", outbox=[], outbox_pending=False, follow_ups=[])
    for task in done["tasks"]:
        task.update(id=uuid.uuid4().hex, status="completed")
        with_queue_key(task)
    return done


def grow(template: dict, have: int, want: int) -> None:
    collection = Application._get_collection()
    while have < want:
        count = min(BATCH, want - have)
        collection.insert_many([finished_copy(template) for _ in range(count)], ordered=False)
        have += count


def apply(client: ApiClient, parent, key: str) -> dict:
    body = {"bundle": "newborn", "subject": {"kind": "newborn"}, "form": ws.newborn_form(),
            "materials": ws.newborn_materials(parent)}
    return client.as_(parent).post("/api/v1/applications", json=body,
                                   headers={"Idempotency-Key": key}, expect=201).get_json()


def timed(officer: ApiClient, url: str, **kwargs) -> tuple[float, int]:
    started = time.perf_counter()
    answer = officer.post(url, expect=200, **kwargs)
    return (time.perf_counter() - started) * 1000, int(answer.headers["X-DB-Commands"])


def summary(samples: list[tuple[float, int]]) -> dict:
    times = [ms for ms, _ in samples]
    return {"p50_ms": round(percentile(times, 0.50), 1),
            "p95_ms": round(percentile(times, 0.95), 1), "commands": max(n for _, n in samples)}


def run(sizes: list[int], requests: int) -> list[dict]:
    with database_of_its_own("onething_transition_growth"):
        app = create_app("test")
        # The per-process caches production runs with.
        app.config.update(CATALOGUE_STATE_TTL=Config.CATALOGUE_STATE_TTL,
                          ETA_CACHE_SECONDS=Config.ETA_CACHE_SECONDS)
        with app.app_context():
            ws.load_catalogue()
            client = ApiClient(app.test_client())
            department = ws.NEWBORN_STEPS[MATTER][0]
            officer = client.as_(make_officer(department))
            first = apply(client, ws.make_parent(1), "template")
            template = Application._get_collection().find_one({"_id": ObjectId(first["id"])})
            rows, have, parents = [], 1, 1
            for size in sizes:
                grow(template, Application.objects.count(), size)
                claims, completions = [], []
                for _ in range(requests):
                    parents += 1
                    made = apply(client, ws.make_parent(parents), f"birth-{parents}")
                    task = next(t["id"] for t in made["tasks"] if t["matter"] == MATTER)
                    claims.append(timed(officer, f"/api/v1/workbench/tasks/{task}/claim"))
                    completions.append(timed(
                        officer, f"/api/v1/workbench/tasks/{task}/complete",
                        json={"outputs": ws.outputs_for(MATTER)}))
                have = Application.objects.count()
                rows.append({"applications": have, "claim": summary(claims),
                             "complete": summary(completions)})
            return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,20000")
    parser.add_argument("--requests", type=int, default=30, help="claims and completions a size")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = run(sorted(int(s) for s in args.sizes.split(",")), args.requests)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'applications':>12}  {'claim p50/p95 ms':>18}  {'cmds':>4}  "
          f"{'complete p50/p95 ms':>20}  {'cmds':>4}")
    for row in rows:
        claim, complete = row["claim"], row["complete"]
        print(f"{row['applications']:>12,}  {claim['p50_ms']:>8} / {claim['p95_ms']:<7}  "
              f"{claim['commands']:>4}  {complete['p50_ms']:>9} / {complete['p95_ms']:<8}  "
              f"{complete['commands']:>4}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
