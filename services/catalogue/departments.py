"""Departments of regions: which regions have which departments, so every matter finds its office.

A department code (public_security, taxation, ...) names a kind of department; the regions it
exists in are listed on it. A matter of a bundle is handled in the region at the matter's level,
so for every bundle matter each region of that level needs the matter's department: that is what
`ensure_bundle_departments` seeds (the seeded bundles' departments in all 90 counties, the
city-level ones in all 11 cities, the provincial ones in the province).
"""
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from pymongo import UpdateOne

from models import catalogue_state
from models.catalogue import Bundle, Department, Matter
from services.regions import divisions

log = logging.getLogger(__name__)


def needed_by(matters: Iterable[dict]) -> dict[str, set[str]]:
    """Department code → every region of its matters' levels: where those matters are handled."""
    needed: dict[str, set[str]] = {}
    for matter in matters:
        level = matter.get("level")
        if matter.get("department") and level in divisions.LEVELS:
            needed.setdefault(matter["department"], set()).update(divisions.codes(level))
    return needed


def add_regions(wanted: dict[str, Iterable[str]], *, bump: bool = True) -> int:
    """Give departments the regions they lack (existing ones stay); returns how many changed."""
    codes = sorted(wanted)
    have = {d["code"]: set(d.get("regions") or []) for d in Department._get_collection().find(
        {"code": {"$in": codes}}, {"code": 1, "regions": 1})}
    now = datetime.now(UTC)
    operations, changed = [], []
    for code in codes:
        missing = sorted(set(wanted[code]) - have.get(code, set()))
        if code in have and missing:
            operations.append(UpdateOne({"code": code}, {
                "$addToSet": {"regions": {"$each": missing}}, "$set": {"updated_at": now}}))
            changed.append(code)
    if operations:
        Department._get_collection().bulk_write(operations, ordered=False)
        if bump:
            catalogue_state.bump_revision()
        log.info("departments given new regions: %s", ", ".join(changed))
    return len(operations)


def ensure_bundle_departments(*, bump: bool = True) -> int:
    """Every live bundle's matters find their department in every region of their level."""
    steps = {s["matter"] for b in Bundle._get_collection().find(
        {"retired": {"$ne": True}}, {"steps.matter": 1}) for s in b.get("steps") or []}
    matters = Matter._get_collection().find({"code": {"$in": sorted(steps)}},
                                            {"department": 1, "level": 1})
    return add_regions(needed_by(matters), bump=bump)


def remove_region(code: str, region: str) -> bool:
    """A region no longer has this department (its matters there are refused at submission)."""
    result = Department._get_collection().update_one(
        {"code": code, "regions": region},
        {"$pull": {"regions": region}, "$set": {"updated_at": datetime.now(UTC)}})
    if result.modified_count:
        catalogue_state.bump_revision()
    return bool(result.modified_count)
