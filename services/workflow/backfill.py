"""Applications stored by an older version, given once what the queues select on now.

Before the province scale every application was Ruian's (the one region there was), and a
department worked all of its department's tasks. Such an application is given Ruian, and each
of its tasks the region at its matter's level above Ruian, so the officers of those regions
(and only they) see them in their queues. Idempotent: an application with a region is left alone.

Before the queue key (Task.queue) the queues selected on the tasks' department, region and
status; each task stored before is given its key: an open application's at the release (it is in
a queue now), a finished one's by the overdue sweep's runs, a batch at a time. Idempotent: a
keyed task is not found. A finished task's key names the day it finished since the workbench
shows only the last days' (services.workflow.workbench); those finished in those days with a key
from before are keyed again at the release.
"""
import logging

from models.application import (
    FINISHED_TASK_STATUSES,
    Application,
    TaskStatus,
    finished_on,
    queue_key,
)
from services.errors import NotFound
from services.regions import divisions
from services.workflow import applications
from services.workflow.workbench import finished_since

log = logging.getLogger(__name__)

LEGACY_REGION = "330381"  # Ruian: where every application was made before regions


def backfill_regions(*, region: str = LEGACY_REGION, batch: int = 500) -> int:
    """Give applications made before regions their region; returns how many were changed."""
    collection = Application._get_collection()
    changed = 0
    for found in collection.find({"region": None},
                                 {"tasks.matter": 1, "tasks.region": 1, "tasks.department": 1,
                                  "tasks.status": 1, "tasks.completed_at": 1,
                                  "tasks.cancelled_at": 1, "bundle": 1,
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
                    task.get("department"), sets[f"tasks.{place}.region"], task.get("status"),
                    finished_on(task))
        # The version too: a task's region is what an officer's claim is checked against.
        changed += collection.update_one({"_id": found["_id"], "region": None},
                                         {"$set": sets, "$inc": {"version": 1}}).modified_count
    if changed:
        log.info("%d application(s) from before regions given region %s", changed, region)
    return changed


# queue_key() of each task, computed by the server from the task as it is when the update
# lands: a transition between the read of the ids and this write cannot leave a stale key.
_FINISHED = [str(s) for s in FINISHED_TASK_STATUSES]
_DAY_FINISHED = {"$ifNull": [{"$dateToString": {"format": "%Y-%m-%d", "date": {"$cond": [
    {"$eq": ["$$t.status", TaskStatus.CANCELLED.value]}, "$$t.cancelled_at",
    "$$t.completed_at"]}}}, ""]}
_KEYED_TASKS = [{"$set": {"tasks": {"$map": {"input": "$tasks", "as": "t", "in": {
    "$mergeObjects": ["$$t", {"queue": {"$concat": [
        {"$ifNull": ["$$t.department", ""]}, "|", {"$ifNull": ["$$t.region", ""]}, "|",
        {"$ifNull": ["$$t.status", ""]},
        {"$cond": [{"$in": ["$$t.status", _FINISHED]}, {"$concat": ["|", _DAY_FINISHED]},
                   ""]}]}}]}}}}}]
# Found on the key's own index, where a task without a key has a null key: with nothing left
# to do, one index lookup. (The server reads every match before it answers, a limit or not:
# about 0.6-1.2 ms each on a loaded machine, so a pass costs what is left to key.)
_UNKEYED = {"tasks.queue": None}


def backfill_queue_keys(*, batch: int = 25) -> int:
    """Give the tasks of the open applications stored before the queue key their keys, before
    the API takes traffic; returns how many applications were changed.

    Found through the open applications' own index (`open_key`), so the release pays for the
    live work, not the history. The rest, the bulk of a long history, is keyed by the overdue
    sweep's runs (`StoredTaskKeys`): its keys count only in the completed and rejected tasks
    an officer lists, and a rejected application's tasks still worked wait for it too."""
    collection = Application._get_collection()
    open_ones = [row["_id"] for row in collection.find(
        {"open_key": {"$gt": ""}, **_UNKEYED}, {"_id": 1})]
    changed = _key(collection, open_ones, batch)
    if changed:
        log.info("%d open application(s) stored before the queue key given their tasks' keys",
                 changed)
    return changed + _key(collection, _finished_without_day(finished_since()), batch)


def _finished_without_day(since) -> list:
    """The applications with a task finished since `since` whose key does not name the day
    (stored before keys did): what the workbench shows of finished tasks is those days' keys.
    Found through the completions' index, so it reads those days' work, not the history; a
    task finished earlier is out of every list anyway."""
    found = Application._get_collection().find(
        {"tasks.completed_at": {"$gte": since}}, {"tasks.status": 1, "tasks.queue": 1})
    return [row["_id"] for row in found if any(
        task.get("status") in _FINISHED and str(task.get("queue") or "").count("|") < 3
        for task in row.get("tasks") or [])]


class StoredTaskKeys:
    """The applications stored without queue keys, keyed `per_run` at each run of a job that
    repeats (the overdue sweep). What is left is read once and worked through: the server
    reads every match of the lookup whatever the limit, so a lookup each run would cost the
    whole remainder each time. Once none is left, a run is one index lookup."""

    def __init__(self, per_run: int = 500, batch: int = 25) -> None:
        self.per_run, self.batch = per_run, batch
        self.left: list = []

    def run(self) -> int:
        collection = Application._get_collection()
        if not self.left:
            self.left = [row["_id"] for row in collection.find(_UNKEYED, {"_id": 1})]
        now, self.left = self.left[:self.per_run], self.left[self.per_run:]
        return _key(collection, now, self.batch)


def _key(collection, ids: list, batch: int) -> int:
    changed = 0
    # In small batches: each update_many holds the collection's write lock while it rewrites its
    # applications (5-10 ms each), and the API's writes wait behind it.
    for start in range(0, len(ids), batch):
        changed += collection.update_many({"_id": {"$in": ids[start:start + batch]}},
                                          _KEYED_TASKS).modified_count
    return changed
