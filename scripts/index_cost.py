"""What each index of the applications costs an update (and an insert) on the embedded server.

The server deletes and re-inserts every key of every index of a document on each update,
whatever paths it sets, so an index's price is paid by every transition. This copies a real
newborn application in mid-journey (made by the app: some tasks done, some pending, some
waiting) into collections that differ only in their indexes, then sends each the same
claim-shaped updates (a task's status, holder, time and queue key; an event; the version) and
inserts, journaled as production writes, and prints the server's CPU per write:
no secondary index, the applications' indexes as declared, the queue's former compound index
instead of its key, and the declared set without each index in turn (what that index costs).
With `--backfill N`: instead, N copies stored as before the queue key (no task has one; one in
`--open-share` in mid-journey, the rest finished), and what giving them their keys costs: the
release's pass over the open ones (services.workflow.backfill.backfill_queue_keys), then one run
of the overdue sweep's batch of the finished (StoredTaskKeys).

    .venv/bin/python scripts/index_cost.py [--documents 100] [--updates 400] [--rounds 2]
    .venv/bin/python scripts/index_cost.py --backfill 5000 [--open-share 0.05]
    .venv/bin/python scripts/index_cost.py --guard [--updates 400] [--rounds 3]

With `--guard`: what a transition's guard costs where it is written, on the declared indexes:
a claim (or its release) guarded in the filter (`_id`, `version` and the task's `$elemMatch`,
array filters: the transitions' former write) against the same claim matched by `_id` alone
with the version checked inside a pipeline update (models.indexed_writes.guarded, as the
transitions write now).
"""
import argparse
import copy
import datetime
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import bson
import pymongo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FORMER_QUEUE = {"fields": [("tasks.department", 1), ("tasks.region", 1), ("tasks.status", 1)],
                "name": "tasks.department_1_tasks.region_1_tasks.status_1"}


def mid_journey_application() -> dict:
    """A newborn application as the app stores it after its first two tasks were completed."""
    from api import create_app
    from models.application import Application
    from services.workflow import handling, submission
    from tests import workflow_support as ws
    from tests.helpers import make_officer

    app = create_app("test")
    with app.app_context():
        ws.load_catalogue()
        parent = ws.make_parent()
        made = submission.submit_application(
            applicant_id=str(parent.id), bundle="newborn", subject={"kind": "newborn"},
            form=ws.newborn_form(), materials=ws.newborn_materials(parent),
            idempotency_key="template")
        for matter in ("birth_medical_certificate", "vaccination_certificate"):
            officer = make_officer(ws.NEWBORN_STEPS[matter][0])
            task = made.task_for(matter).id
            handling.claim_task(task_id=task, officer=officer)
            made = handling.complete_task(task_id=task, officer=officer,
                                          outputs=ws.outputs_for(matter))
        return Application._get_collection().find_one({"_id": made.pk})


def declared_indexes() -> list[dict]:
    from models.application import Application
    return [{**spec, "name": spec.get("name") or "_".join(f"{f}_{o}" for f, o in spec["fields"])}
            for spec in Application._meta["index_specs"]]


def copies(template: dict, count: int) -> list[dict]:
    made = []
    for _ in range(count):
        document = copy.deepcopy(template)
        document["_id"] = bson.ObjectId()
        document["idempotency_key"] = uuid.uuid4().hex
        if "open_key" in document:
            document["open_key"] = uuid.uuid4().hex
        for task in document["tasks"]:
            task["id"] = uuid.uuid4().hex
        made.append(document)
    return made


def build(collection, indexes: list[dict]) -> None:
    collection.drop()
    for spec in indexes:
        options = {k: v for k, v in spec.items() if k not in ("fields", "cls")}
        collection.create_index(spec["fields"], **options)


def claim_shaped(document: dict, n: int) -> tuple[dict, dict, list]:
    """A claim of the document's first pending task, or its release back (every other time)."""
    task = next(t for t in document["tasks"] if t["status"] in ("pending", "claimed"))
    status = "claimed" if n % 2 == 0 else "pending"
    queue = f"{task['department']}|{task.get('region') or ''}|{status}"
    return ({"_id": document["_id"]},
            {"$set": {"tasks.$[t].status": status, "tasks.$[t].claimed_by": "officer",
                      "tasks.$[t].claimed_at": datetime.datetime.now(datetime.UTC),
                      "tasks.$[t].queue": queue, "updated_at": datetime.datetime.now(datetime.UTC)},
             "$push": {"events": {"id": uuid.uuid4().hex, "type": "task_claimed"}},
             "$inc": {"version": 1}},
            [{"t.id": task["id"]}])


def cost(server_pid: int, collection, template: dict, args) -> tuple[float, float]:
    """Server CPU ms per insert and per update on `collection` as built."""
    from bench.retryable_write_cost import server_ns
    documents = copies(template, args.documents)
    began = server_ns(server_pid)
    for document in documents:
        collection.insert_one(document)
    insert = (server_ns(server_pid) - began) / 1e6 / len(documents)
    began = server_ns(server_pid)
    for n in range(args.updates):
        query, update, filters = claim_shaped(documents[n % len(documents)],
                                              n // len(documents))
        collection.update_one(query, update, array_filters=filters)
    update = (server_ns(server_pid) - began) / 1e6 / args.updates
    return insert, update


def guarded_claim(document: dict, n: int, *, in_filter: bool) -> tuple[dict, object, list]:
    """The claim-shaped update of `claim_shaped`, version-guarded as the transitions were
    (`in_filter`) or are; the document's version and task status move as the write lands."""
    from models.indexed_writes import guarded
    query, update, filters = claim_shaped(document, n)
    task = next(t for t in document["tasks"] if t["id"] == filters[0]["t.id"])
    was = task["status"]
    task["status"] = update["$set"]["tasks.$[t].status"]
    document["version"] = document.get("version", 0) + 1
    if in_filter:
        return ({**query, "version": document["version"] - 1, "tasks": {"$elemMatch": {
            "id": task["id"], "status": was, "department": task["department"]}}}, update, filters)
    return query, guarded(update, {"$eq": ["$version", document["version"] - 1]},
                          array_filters=filters), []


def guard_cost(server_pid: int, client, template: dict, args) -> None:
    from bench.retryable_write_cost import server_ns
    collection = client.bench["applications"]
    results: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.rounds):
        for in_filter in (True, False):
            build(collection, declared_indexes())
            documents = copies(template, args.documents)
            collection.insert_many(documents)
            began = server_ns(server_pid)
            for n in range(args.updates):
                query, update, filters = guarded_claim(documents[n % len(documents)],
                                                       n // len(documents), in_filter=in_filter)
                written = collection.update_one(query, update, array_filters=filters or None)
                assert written.modified_count == 1, "the guard refused a write it should take"
            results[in_filter].append((server_ns(server_pid) - began) / 1e6 / args.updates)
    print(f"load average {os.getloadavg()[0]:.1f}; server CPU ms a claim, best of "
          f"{args.rounds} rounds")
    print(f"  guarded in the filter (_id, version, $elemMatch)   {min(results[True]):5.2f}")
    print(f"  matched by _id, version checked in the pipeline    {min(results[False]):5.2f}")


def finished(template: dict) -> dict:
    done = copy.deepcopy(template)
    done["status"] = "completed"
    done.pop("open_key", None)
    for task in done["tasks"]:
        task["status"] = "completed"
    return done


def backfill_cost(server_pid: int, template: dict, count: int, open_share: float) -> None:
    from api import create_app
    from bench.retryable_write_cost import server_ns
    from models.application import Application
    from services.workflow import backfill

    for task in template["tasks"]:
        task.pop("queue", None)
    opened = round(count * open_share)
    with create_app("test").app_context():
        collection = Application._get_collection()
        for start in range(0, count, 1000):
            size = min(1000, count - start)
            collection.insert_many(copies(template, min(size, max(0, opened - start)))
                                   + copies(finished(template), size - max(0, min(
                                       size, opened - start))))

        def timed(job) -> tuple[int, float, float]:
            began, cpu = time.perf_counter(), server_ns(server_pid)
            done = job()
            return done, time.perf_counter() - began, (server_ns(server_pid) - cpu) / 1e9

        for name, job in (("release (open ones)", backfill.backfill_queue_keys),
                          ("release again", backfill.backfill_queue_keys),
                          ("one sweep run (finished ones)", backfill.StoredTaskKeys().run)):
            done, seconds, cpu = timed(job)
            print(f"  {name:<30} {done:6d} applications keyed in {seconds:7.2f} s, "
                  f"server CPU {cpu:6.2f} s" + (f" ({cpu / done * 1000:.2f} ms each)"
                                                 if done else ""))
    print(f"load average {os.getloadavg()[0]:.1f}; {count} stored, {opened} open")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--updates", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--backfill", type=int, default=0)
    parser.add_argument("--open-share", type=float, default=0.05)
    parser.add_argument("--guard", action="store_true")
    args = parser.parse_args()

    from common.embedded_db import EmbeddedDatabase
    with tempfile.TemporaryDirectory(prefix="index-cost-") as folder:
        server = EmbeddedDatabase(Path(folder) / "db")  # on disk, fsynced, as production
        server.start()
        os.environ["MONGODB_URI"] = server.uri
        try:
            template = mid_journey_application()
            if args.backfill:
                backfill_cost(server.process.pid, template, args.backfill, args.open_share)
                return
            if args.guard:
                with pymongo.MongoClient(server.uri, retryWrites=False, journal=True) as client:
                    guard_cost(server.process.pid, client, template, args)
                return
            declared = declared_indexes()
            variants = {"no secondary index": [], "as declared": declared,
                        "former compound queue index instead of tasks.queue":
                            [s for s in declared if s["name"] != "tasks.queue_1"]
                            + [FORMER_QUEUE]}
            variants.update({f"without {s['name']}": [o for o in declared if o is not s]
                             for s in declared})
            with pymongo.MongoClient(server.uri, retryWrites=False, journal=True) as client:
                results: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
                for _ in range(args.rounds):  # rounds interleaved: load hits every variant
                    for name, indexes in variants.items():
                        collection = client.bench["applications"]
                        build(collection, indexes)
                        results[name].append(cost(server.process.pid, collection, template,
                                                  args))
            print(f"load average {os.getloadavg()[0]:.1f}; {len(bson.encode(template))} bytes, "
                  f"{len(template['tasks'])} tasks; server CPU ms a write, best of "
                  f"{args.rounds} rounds")
            declared_update = min(u for _, u in results["as declared"])
            for name, measured in results.items():
                insert, update = min(i for i, _ in measured), min(u for _, u in measured)
                print(f"  {name:<58} insert {insert:5.2f}  update {update:5.2f}  "
                      f"(declared − this: {declared_update - update:+5.2f})")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
