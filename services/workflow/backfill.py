"""Applications stored by an older version, given once what the queues select on now.

Before the province scale every application was Ruian's (the one region there was), and a
department worked all of its department's tasks. Such an application is given Ruian, and each
of its tasks the region at its matter's level above Ruian, so the officers of those regions
(and only they) see them in their queues. Idempotent: an application with a region is left alone.

Before the queue key (Task.queue) the queues selected on the tasks' department, region and
status; each task stored before is given its key. Idempotent: a keyed task is not found.
"""
import logging

from models.application import Application, queue_key
from services.errors import NotFound
from services.regions import divisions
from services.workflow import applications

log = logging.getLogger(__name__)

LEGACY_REGION = "330381"  # Ruian: where every application was made before regions


def backfill_regions(*, region: str = LEGACY_REGION, batch: int = 500) -> int:
    """Give applications made before regions their region; returns how many were changed."""
    collection = Application._get_collection()
    changed = 0
    for found in collection.find({"region": None},
                                 {"tasks.matter": 1, "tasks.region": 1, "tasks.department": 1,
                                  "tasks.status": 1, "bundle": 1,
                                  "bundle_version": 1}).batch_size(batch):
        try:
            definition = applications.definition_of(found["bundle"], found["bundle_version"])
        except NotFound:
            definition = {"steps": []}
        sets: dict = {"region": region}
        for place, task in enumerate(found.get("tasks") or []):
            if not task.get("region"):
                level = applications.step_of(definition, task.get("matter")).get("level")
                sets[f"tasks.{place}.region"] = divisions.at_level(region, level or "county")
                sets[f"tasks.{place}.queue"] = queue_key(
                    task.get("department"), sets[f"tasks.{place}.region"], task.get("status"))
        changed += collection.update_one({"_id": found["_id"], "region": None},
                                         {"$set": sets}).modified_count
    if changed:
        log.info("%d application(s) from before regions given region %s", changed, region)
    return changed


# queue_key() of each task, computed by the server from the task as it is when the update
# lands: a transition between the read of the ids and this write cannot leave a stale key.
_KEYED_TASKS = [{"$set": {"tasks": {"$map": {"input": "$tasks", "as": "t", "in": {
    "$mergeObjects": ["$$t", {"queue": {"$concat": [
        {"$ifNull": ["$$t.department", ""]}, "|", {"$ifNull": ["$$t.region", ""]}, "|",
        {"$ifNull": ["$$t.status", ""]}]}}]}}}}}]


def backfill_queue_keys(*, batch: int = 200) -> int:
    """Give every task stored without a queue key its key; returns how many applications were
    changed. Those left to do are found on the key's own index (a missing key is a null key
    there), so with nothing left this is one index lookup."""
    collection = Application._get_collection()
    missing = [row["_id"] for row in collection.find({"tasks.queue": None}, {"_id": 1})]
    changed = 0
    # In batches: each update_many holds the collection's write lock while it rewrites them.
    for start in range(0, len(missing), batch):
        changed += collection.update_many({"_id": {"$in": missing[start:start + batch]}},
                                          _KEYED_TASKS).modified_count
    if changed:
        log.info("%d application(s) stored before the queue key given their tasks' keys",
                 changed)
    return changed
