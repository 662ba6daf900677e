"""The history `make bench-growth` stores: generated applications cloned from two real newborn
applications made through the API (one just submitted, one finished by every department),
bulk-inserted in batches, each batch built while the one before it is being stored.

A clone is a stored application as the workflow leaves it, at its real size (tasks with their
outputs and e-licences, the timeline, the encrypted answers, the sealed first answer), with its
own ids, applicant, subject, materials and idempotency key, one of Zhejiang's 90 counties (its
tasks in that county, its city or the province, as routing would put them), a creation time
(every time in it moved with it) and a fate: mostly completed, some rejected or withdrawn, some
still in progress (one task completed, one claimed, the rest waiting). No cloned task is
pending, so the officers' queues hold only the probe's own applications while the queries still
have to find them among everything else.

More history is more of the past behind the same present: the first RECENT clones are the last
RECENT_DAYS' work (open ones among them), every later one is older and finished, up to two years
back. (Spreading every size over one year, as before, made 100,000 a hundred times the recent
work too: a hundred times the open backlog and the last week's completions, which measures a
busier province, not a longer history.)
"""
import random
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from bson import ObjectId
from pymongo.collection import Collection

from bench.processes import say
from models.application import with_queue_key
from services.regions import divisions

REGION = "330381"
BATCH = 500
# Two batches in flight: one being stored by the server while the next is built here.
IN_FLIGHT = 2
PROGRESS = 10_000  # applications between two lines saying how far the insert is
FATES = (("completed", .80), ("rejected", .04), ("withdrawn", .03), ("in_progress", .13))
FINISHED_FATES = tuple(fate for fate in FATES if fate[0] != "in_progress")
RECENT = 1_000  # clones of the last RECENT_DAYS; the rest are older
RECENT_DAYS = 8
OLDEST_DAYS = 2 * 365
# Made anew for each clone (ids of its own); everything else is the template's, times moved.
RENEWED = ("_id", "applicant", "subject", "materials", "material_types", "idempotency_key",
           "open_key", "outbox", "outbox_pending", "follow_ups", "figures_batches")


@dataclass(frozen=True)
class Templates:
    """The two stored applications every clone is made from."""

    submitted: dict  # just applied: its first tasks pending, the rest waiting
    finished: dict  # every task completed, with outputs, e-licences and the whole timeline


def regions_to_use() -> list[str]:
    return list(divisions.codes("county")) or [REGION]


def task_region(template_task: dict, template_region: str, region: str) -> str | None:
    """Where routing puts a task of `region`: at the level its template task was worked at."""
    worked_at = template_task.get("region")
    if not worked_at or worked_at == template_region:
        return region
    found = divisions.find(worked_at)
    return divisions.at_level(region, found.level) if found else worked_at


def _moved(value, by: timedelta):
    """`value` with every time in it moved by `by` (a copy: the template is never changed)."""
    if isinstance(value, datetime):
        return value + by
    if isinstance(value, dict):
        return {k: _moved(v, by) for k, v in value.items()}
    if isinstance(value, list):
        return [_moved(v, by) for v in value]
    return value


def age(collection: Collection, ids: list, days: int) -> None:
    """Move these applications `days` into the past (every time in them, and their tasks' queue
    keys with it): the probe's work at one size is history at the next, whose present is the
    same RECENT clones."""
    for document in collection.find({"_id": {"$in": ids}}):
        moved = _moved(document, -timedelta(days=days))
        for task in moved.get("tasks") or []:
            with_queue_key(task)
        collection.replace_one({"_id": document["_id"]}, moved)


def _fate(rng: random.Random, fates=FATES) -> str:
    return rng.choices([f for f, _ in fates], [w for _, w in fates])[0]


def clone(templates: Templates, rng: random.Random, now: datetime, counties: list[str],
          applicants: list[str], recent: bool = True) -> dict:
    """One generated application of another family, at its own time and place: of the last
    RECENT_DAYS (`recent`), else older and finished."""
    fate = _fate(rng, FATES if recent else FINISHED_FATES)
    region = rng.choice(counties)
    if fate == "in_progress" and region == REGION and rng.random() < .9:
        region = rng.choice(counties)  # fewer open ones in the measured county, none pending
    source = templates.finished if fate in ("completed", "rejected") else templates.submitted
    minutes = (60, RECENT_DAYS * 24 * 60) if recent else (RECENT_DAYS * 24 * 60,
                                                          OLDEST_DAYS * 24 * 60)
    created = now - timedelta(minutes=rng.randint(*minutes))
    doc = _moved({k: v for k, v in source.items() if k not in RENEWED},
                 created - source["created_at"])
    renamed = {task["id"]: uuid.uuid4().hex for task in doc["tasks"]}
    for position, task in enumerate(doc["tasks"]):
        task.update(id=renamed[task["id"]],
                    region=task_region(task, source["region"], region),
                    elicences=[str(ObjectId()) for _ in task.get("elicences") or []])
        if fate == "in_progress" and position == 0:
            task.update(status="completed", completed_at=created + timedelta(minutes=30),
                        claimed_at=created + timedelta(minutes=5),
                        claimed_by=uuid.uuid4().hex[:24])
        elif fate == "in_progress":
            task.update(status="claimed" if position == 1 else "waiting",
                        claimed_by=uuid.uuid4().hex[:24] if position == 1 else None)
        elif fate == "withdrawn":
            task.update(status="cancelled")
    for event in doc["events"]:
        event.update(id=uuid.uuid4().hex, task=renamed.get(event.get("task"), event.get("task")))
    if fate == "rejected":
        doc["tasks"][-1].update(status="rejected", outputs={}, elicences=[])
        doc["completed_at"] = None
    applicant = rng.choice(applicants)
    materials = [str(ObjectId()) for _ in source.get("materials") or []]
    doc.update(_id=ObjectId(), applicant=applicant, region=region, status=fate,
               subject={**(source.get("subject") or {}), "id": uuid.uuid4().hex},
               materials=materials,
               material_types=dict(zip(materials, (source.get("material_types") or {}).values(),
                                       strict=False)),
               idempotency_key=f"{applicant}:{uuid.uuid4().hex}", outbox=[],
               outbox_pending=False, follow_ups=[], figures_batches=[])
    if fate == "in_progress":
        doc["open_key"] = f"newborn:{doc['subject']['id']}"
    for task in doc["tasks"]:  # moved to another region, another status: another queue
        with_queue_key(task)
    return doc


def grow(collection: Collection, templates: Templates, size: int, seed: int, now: datetime,
         deadline: float | None = None) -> dict:
    """Insert generated applications until the collection holds `size`, or until `deadline`
    (time.monotonic()) has passed: a batch under way is finished, no other is begun. How many
    it holds, and how fast it went."""
    counties = regions_to_use()
    have = collection.estimated_document_count()
    applicants = [str(ObjectId()) for _ in range(max(1, (size - have) // 5))]
    batches = iter(enumerate(min(BATCH, size - start) for start in range(have, size, BATCH)))

    def store(number: int, count: int) -> int:
        rng = random.Random(f"{seed}:{have}:{number}")
        first = have + number * BATCH  # the place of the batch's first clone in the history
        collection.insert_many([clone(templates, rng, now, counties, applicants,
                                      recent=first + n < RECENT)
                                for n in range(count)], ordered=False)
        return count

    begun, inserted, stopped = time.monotonic(), 0, False
    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        under_way: list[Future] = []
        while True:
            while not stopped and len(under_way) < IN_FLIGHT:
                batch = next(batches, None)
                stopped = batch is None or (deadline is not None and time.monotonic() > deadline)
                if not stopped:
                    under_way.append(pool.submit(store, *batch))
            if not under_way:
                break
            count = under_way.pop(0).result()
            inserted += count
            if inserted % PROGRESS < count:
                say(f"{have + inserted:,} applications stored "
                    f"({inserted / (time.monotonic() - begun):.0f} a second)")
    seconds = time.monotonic() - begun
    held = collection.estimated_document_count()
    return {"applications": held, "asked": size, "inserted": inserted,
            "cut_short": held < size, "insert_seconds": round(seconds, 1),
            "inserted_per_second": round(inserted / seconds, 1) if seconds else None}
