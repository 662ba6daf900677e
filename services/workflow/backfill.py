"""Applications from before regions: where their tasks were handled, written down once.

Before the province scale every application was Ruian's (the one region there was), and a
department worked all of its department's tasks. Such an application is given Ruian, and each
of its tasks the region at its matter's level above Ruian, so the officers of those regions
(and only they) see them in their queues. Idempotent: an application with a region is left alone.
"""
import logging

from models.application import Application
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
                                 {"tasks.matter": 1, "tasks.region": 1, "bundle": 1,
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
        changed += collection.update_one({"_id": found["_id"], "region": None},
                                         {"$set": sets}).modified_count
    if changed:
        log.info("%d application(s) from before regions given region %s", changed, region)
    return changed
