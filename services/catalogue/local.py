"""Local implementation (实施清单): how a region carries out the catalogue's matters.

The catalogue defines a matter once for the province; each matter is handled in the region at
its level that holds the application's region (a county-level matter of a Ruian application by
Ruian's department, a city-level one by Wenzhou's). That region may promise a shorter time than
the catalogue and has its own service window (address, hours). `plan` says, step by step, where a
bundle is handled for a region and with which promise and window; the bundle page shows it and
an application keeps it on its tasks.
"""
import logging
import threading
from datetime import UTC, datetime

from common import i18n
from models import catalogue_state
from models.catalogue import LimitUnit, LocalImplementation, Matter
from services.catalogue import search as catalogue_search
from services.errors import Forbidden, NotFound, ValidationFailed
from services.regions import divisions

log = logging.getLogger(__name__)

# Minutes per unit, to compare limits of different units (a working day is at least a day).
_MINUTES = {LimitUnit.MINUTES: 1, LimitUnit.HOURS: 60, LimitUnit.WORKING_DAYS: 24 * 60}

# The local entries of a bundle in a region, per process, while the catalogue stays at the
# revision they were read at (a local change bumps it): applying asks the database nothing more.
_cache_lock = threading.Lock()
_cache: dict[tuple, dict] = {}
_CACHE_KEPT = 2048


def _level_words(level: str | None) -> dict:
    return {"lv": level or "", "lv_zh": {"province": "省", "city": "市", "county": "县"}.get(
        level or "", level or "")}


def _minutes(limit: dict | None) -> float | None:
    if not limit:
        return None
    return limit["value"] * _MINUTES.get(limit["unit"], 1)


def _entries(matters: list[str], regions: list[str], state: dict) -> dict[tuple, dict]:
    """(matter, region) → the local entry, for these matters in these regions (one query)."""
    if not matters or not regions:
        return {}
    stamp = state.get("stamp")
    key = (stamp, tuple(sorted(set(matters))), tuple(sorted(set(regions))))
    if stamp:
        with _cache_lock:
            if key in _cache:
                return _cache[key]
    found = {(e["matter"], e["region"]): e for e in LocalImplementation._get_collection().find(
        {"matter": {"$in": key[1]}, "region": {"$in": key[2]}},
        {"_id": 0, "matter": 1, "region": 1, "promised": 1, "window": 1})}
    if stamp:
        with _cache_lock:
            if len(_cache) >= _CACHE_KEPT:
                _cache.clear()
            _cache[key] = found
    return found


def _has_department(index, code: str, region: str | None) -> bool:
    department = index.departments.get(code) or {}
    return region is not None and region in (department.get("regions") or ())


def plan(definition: dict, region: str, *, state: dict | None = None) -> list[dict]:
    """Each step of a compiled bundle as `region` carries it out: the handling region, whether
    its department exists there, the promised limit (local, else the catalogue's) and the
    service window (local, if any). Language-neutral; `window_view` localizes a window."""
    state = catalogue_state.current_state() if state is None else state
    index = catalogue_search.current_index(state)
    placed = []
    for step in definition["steps"]:
        where = divisions.at_level(region, step.get("level") or "county")
        placed.append((step, where))
    local = _entries([s["matter"] for s, w in placed if w],
                     sorted({w for _, w in placed if w}), state)
    result = []
    for step, where in placed:
        entry = local.get((step["matter"], where)) or {}
        result.append({
            "matter": step["matter"], "department": step["department"],
            "level": step.get("level"), "region": where,
            "available": _has_department(index, step["department"], where),
            "promised": entry.get("promised") or step.get("promised"),
            "local_promise": bool(entry.get("promised")),
            "window": entry.get("window") or None,
        })
    return result


def missing_departments(definition: dict, region: str, steps: list[dict]) -> ValidationFailed:
    """422 naming each department the region lacks and the matter that needs it."""
    names = {s["matter"]: s for s in definition["steps"]}
    place = divisions.get(region)
    lines = []
    for step in steps:
        if step["available"]:
            continue
        compiled = names.get(step["matter"]) or {}
        department = i18n.pick(compiled.get("department_names")) or step["department"]
        matter = i18n.pick(compiled.get("names")) or step["matter"]
        where = divisions.find(step["region"]) if step["region"] else None
        if where is None:
            lines.append(i18n.text(
                "{m} is a {lv}-level matter: apply in a {lv}-level division or one within it, "
                "not in {r}.", "{m}为{lv_zh}级事项，请在{lv_zh}级或其下辖行政区划申请，而非{r}。",
                m=matter, r=place.name(), **_level_words(step["level"])))
        else:
            lines.append(i18n.text(
                "{r} has no {d} ({dc}) to handle {m} ({mc}).",
                "{r}没有办理{m}（{mc}）的{d}（{dc}）。",
                r=where.name(), d=department, dc=step["department"], m=matter,
                mc=step["matter"]))
    return ValidationFailed(
        "This application cannot be handled in {r}: {why}", "该申请无法在{r}办理：{why}",
        error="department_not_in_region", errors={"region": lines},
        r=place.name(), why=" ".join(lines))


def window_view(window: dict | None, locale: str | None = None) -> dict | None:
    if not window:
        return None
    return {"address": i18n.pick(window.get("address"), locale) or None,
            "hours": i18n.pick(window.get("hours"), locale) or None,
            "phone": window.get("phone") or None}


def steps_for_region(definition: dict, region: str) -> dict:
    """The bundle page's view of a region: each step's handling region and what it promises
    there, in the caller's language (steps whose department is missing say so)."""
    place = divisions.get(region)
    planned = {s["matter"]: s for s in plan(definition, region)}
    for step in definition["steps"]:
        here = planned[step["matter"]]
        where = divisions.find(here["region"]) if here["region"] else None
        step.update(region=here["region"], region_name=where.name() if where else None,
                    available=here["available"], promised=here["promised"],
                    local_promise=here["local_promise"], window=window_view(here["window"]))
    definition["region"] = divisions.describe(place)
    definition["available"] = all(s["available"] for s in planned.values())
    return definition


# ---------------------------------------------------------------------------------------------
# Maintaining (admins of the region, or of the province)

def _check_scope(region: str, admin_region: str | None) -> None:
    if admin_region and not divisions.within(region, admin_region):
        raise Forbidden("You manage {a} only.", "您只能管理{a}的事项。",
                        error="outside_your_region", a=divisions.get(admin_region).name())


def _live_matter(code: str) -> dict:
    matter = Matter._get_collection().find_one({"code": code, "retired": {"$ne": True}},
                                               {"code": 1, "level": 1, "statutory": 1,
                                                "promised": 1})
    if matter is None:
        raise NotFound("No matter {code}.", "没有事项 {code}。", error="matter_not_found",
                       code=code)
    return matter


def set_local(*, matter: str, region: str, promised: dict | None = None,
              window: dict | None = None, admin_region: str | None = None) -> dict:
    """A region sets how it carries out a matter of its level: a promised limit no longer than
    the statutory one, and its service window. Every process sees it at its next request."""
    place = divisions.get(region)
    _check_scope(region, admin_region)
    found = _live_matter(matter)
    errors: dict[str, list[str]] = {}
    if found.get("level") != place.level:
        errors["region"] = [i18n.text(
            "{m} is a {lv}-level matter: a {lv}-level division sets it, not {r}.",
            "{m}为{lv_zh}级事项，应由{lv_zh}级行政区划设置，而非{r}。",
            m=matter, r=place.name(), **_level_words(found.get("level")))]
    statutory = found.get("statutory")
    if promised and statutory and _minutes(promised) > _minutes(statutory):
        errors["promised"] = [i18n.text(
            "The promised limit may not exceed the statutory one ({v} {u}).",
            "承诺时限不得超过法定时限（{v} {u}）。", v=statutory["value"], u=statutory["unit"])]
    if not promised and not window:
        errors["_schema"] = [i18n.text("Give a promised limit, a service window or both.",
                                       "请填写承诺时限或服务窗口。")]
    if errors:
        raise ValidationFailed(errors=errors)
    now = datetime.now(UTC)
    changes = {"updated_at": now, "generated": False}
    if promised:
        changes["promised"] = {"value": int(promised["value"]), "unit": promised["unit"]}
    if window:
        changes["window"] = {k: v for k, v in window.items() if v}
    LocalImplementation._get_collection().update_one(
        {"matter": matter, "region": region},
        {"$set": changes, "$setOnInsert": {"created_at": now}}, upsert=True)
    catalogue_state.bump_revision()
    log.info("local implementation of %s in %s set", matter, region)
    return get_local(matter=matter, region=region)


def get_local(*, matter: str, region: str) -> dict:
    """How a region carries out a matter: its own entry over the catalogue's values."""
    place = divisions.get(region)
    found = _live_matter(matter)
    entry = LocalImplementation._get_collection().find_one(
        {"matter": matter, "region": region}, {"_id": 0}) or {}
    return {"matter": matter, "region": region, "region_name": place.name(),
            "promised": entry.get("promised") or found.get("promised"),
            "local_promise": bool(entry.get("promised")),
            "statutory": found.get("statutory"),
            "window": window_view(entry.get("window")), "windows": entry.get("window") or None,
            "updated_at": entry.get("updated_at")}


def clear_local(*, matter: str, region: str, admin_region: str | None = None) -> None:
    """The region follows the catalogue's matter again."""
    divisions.get(region)
    _check_scope(region, admin_region)
    result = LocalImplementation._get_collection().delete_one({"matter": matter,
                                                               "region": region})
    if not result.deleted_count:
        raise NotFound("{r} has no local entry for {m}.", "{r}没有{m}的本地实施信息。",
                       error="local_implementation_not_found", r=region, m=matter)
    catalogue_state.bump_revision()
