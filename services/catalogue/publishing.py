"""Published bundles: versions kept for life, the live one in the caller's language."""
import logging
from datetime import UTC, datetime

import pymongo.errors

from common.i18n import current_locale, pick
from models.catalogue import Bundle, BundleVersion, Matter
from models.catalogue_state import bump_revision, current_state
from services.catalogue import local
from services.catalogue import search as catalogue_search
from services.catalogue.compiler import (
    FORM_KEYS,
    _limit,
    compile_bundle_document,
    load_departments,
    load_material_types,
    localize,
)
from services.errors import NotFound

log = logging.getLogger(__name__)


def _bundle_not_found(code: str) -> NotFound:
    return NotFound("No bundle {code}.", "没有一件事 {code}。", error="bundle_not_found", code=code)


# Published snapshots never change: each process keeps those it has read, with the revision
# stamp it read them at; they stay good while the database's history holds that stamp (a
# database restored or loaded afresh does not, and its version 1 may differ).
_snapshots: dict[tuple[str, int], tuple[str, dict]] = {}
_SNAPSHOTS_KEPT = 512


def _snapshot(code: str, version: int, state: dict) -> dict | None:
    stamp = state.get("stamp")
    cached = _snapshots.get((code, int(version)))
    if cached is not None and cached[0] in (state.get("stamps") or ()):
        return cached[1]
    found = BundleVersion._get_collection().find_one({"bundle": code, "version": int(version)},
                                                     {"definition": 1})
    if found is None:
        return None
    if stamp:
        if len(_snapshots) >= _SNAPSHOTS_KEPT:
            _snapshots.clear()
        _snapshots[(code, int(version))] = (stamp, found["definition"])
    return found["definition"]


def materials_to_give(definition: dict) -> list[dict]:
    """The checklist less what a step of the same bundle issues itself as an e-licence: what
    the citizen gives."""
    issued_here = {o.get("elicence") for s in definition["steps"] for o in s.get("outputs") or []}
    return [m for m in definition["materials"] if m["code"] not in issued_here]


def live_version(code: str) -> int:
    """The version of a bundle on offer (not retired) that a new application is made with:
    known from the catalogue's index, without compiling or translating the bundle (which cost
    an application a quarter of its time in the process)."""
    live = catalogue_search.live_bundle(code, current_state())
    if live is None:
        raise _bundle_not_found(code)
    return int(live.get("version", 1))


def compiled_bundle(code: str, version: int | None = None) -> dict:
    """A bundle compiled, in the caller's language: the published version, or the one asked for.

    Without a version, a retired bundle is not found (nobody may apply for it any more); with
    one, its definition is returned exactly as it was, retired or not, so applications made with
    it keep their steps, form and checklist.
    """

    state = current_state()
    if version is None:
        live = catalogue_search.live_bundle(code, state)
        if live is None:
            raise _bundle_not_found(code)
        definition = _snapshot(code, live.get("version", 1), state)
        if definition is None:
            # Not published yet (written outside the admin service): compile what is there.
            bundle = Bundle._get_collection().find_one({"code": code})
            return localize(compile_bundle_document(bundle))
        return localize(definition)
    definition = _snapshot(code, version, state)
    if definition is None:
        raise NotFound("No version {v} of bundle {code}.", "一件事 {code} 没有版本 {v}。",
                       error="bundle_not_found", code=code, v=version)
    return localize(definition)


def _comparable(definition: dict) -> dict:
    return {key: value for key, value in definition.items() if key != "version"}


def publish_definition(bundle: dict, definition: dict,
                       latest: dict | None = None, *, look_up_latest: bool = True) -> int:
    """Snapshot a compiled definition unless the latest snapshot already says the same.

    The first snapshot takes the bundle's version; any later change bumps it. Returns the
    version now published.
    """
    code = bundle["code"]
    versions = BundleVersion._get_collection()
    if latest is None and look_up_latest:
        latest = versions.find_one({"bundle": code}, sort=[("version", -1)])
    if latest is not None and _comparable(latest["definition"]) == _comparable(definition):
        if bundle.get("version") != latest["version"]:
            Bundle._get_collection().update_one({"code": code},
                                                {"$set": {"version": latest["version"]}})
            bump_revision()
        return latest["version"]
    version = latest["version"] + 1 if latest is not None else int(bundle.get("version") or 1)
    snapshot = dict(definition, version=version)
    try:
        versions.insert_one({"bundle": code, "version": version, "definition": snapshot,
                             "created_at": datetime.now(UTC)})
    except pymongo.errors.DuplicateKeyError:
        # Another process published at the same moment: take the newest and compare again.
        return publish_definition(bundle, definition)
    Bundle._get_collection().update_one(
        {"code": code, "version": {"$lt": version}},
        {"$set": {"version": version, "updated_at": datetime.now(UTC)}})
    bump_revision()  # every process's index learns the bundle's new version
    log.info("bundle %s published at version %s", code, version)
    return version


def publish_bundle_version(code: str) -> dict:
    """Compile the bundle as it stands and snapshot it as a new version if anything changed."""
    bundle = Bundle._get_collection().find_one({"code": code})
    if bundle is None:
        raise _bundle_not_found(code)
    definition = compile_bundle_document(bundle)
    version = publish_definition(bundle, definition)
    return localize(dict(definition, version=version))


def bundles_using(matter_code: str, *, include_retired: bool = False) -> list[dict]:
    query: dict = {"steps.matter": matter_code}
    if not include_retired:
        query["retired"] = {"$ne": True}
    return list(Bundle._get_collection().find(query))


# ---------------------------------------------------------------------------------------------
# One matter, as citizens and admins read it

def _matter_not_found(code: str) -> NotFound:
    return NotFound("No matter {code}.", "没有事项 {code}。", error="matter_not_found", code=code)


def describe_matter(matter: dict, *, locale: str | None = None,
                    departments: dict[str, dict] | None = None,
                    material_types: dict[str, dict] | None = None,
                    bundles: list[dict] | None = None) -> dict:
    """A matter in one language (both kept in `names`/`labels`), with its department's name."""
    locale = locale or current_locale.get()
    if departments is None:
        departments = load_departments([matter["department"]])
    if material_types is None:
        material_types = load_material_types(matter.get("materials") or [])
    if bundles is None:
        bundles = list(Bundle._get_collection().find(
            {"steps.matter": matter["code"], "retired": {"$ne": True}},
            {"code": 1, "name": 1}))
    department = departments.get(matter["department"]) or {}
    return {
        "code": matter["code"],
        "name": pick(matter.get("name"), locale) or matter["code"],
        "names": matter.get("name") or {},
        "description": pick(matter.get("description"), locale),
        "descriptions": matter.get("description") or {},
        "department": matter["department"],
        "department_name": pick(department.get("name"), locale) or matter["department"],
        "level": matter.get("level"),
        "region": matter.get("region"),
        "parent": matter.get("parent"),
        "fields": [dict({key: field.get(key) for key in FORM_KEYS if key != "labels"},
                        label=pick(field.get("label"), locale) or field["name"],
                        labels=field.get("label") or {},
                        choices=list(field.get("choices") or []),
                        required=bool(field.get("required")),
                        choice_labels={value: pick(labels, locale) for value, labels
                                       in (field.get("choice_labels") or {}).items()})
                   for field in matter.get("fields") or []],
        "materials": [{"code": code,
                       "name": pick((material_types.get(code) or {}).get("name"), locale) or code,
                       "issued_by": (material_types.get(code) or {}).get("issued_by")}
                      for code in matter.get("materials") or []],
        "inputs": list(matter.get("inputs") or []),
        "outputs": [{"name": o["name"], "label": pick(o.get("label"), locale) or o["name"],
                     "labels": o.get("label") or {}, "type": o.get("type") or "string",
                     "pattern": o.get("pattern"), "required": o.get("required", True),
                     "elicence": o.get("elicence")} for o in matter.get("outputs") or []],
        "promised": _limit(matter.get("promised")),
        "statutory": _limit(matter.get("statutory")),
        "synonyms": list(matter.get("synonyms") or []),
        "bundles": [{"code": b["code"], "name": pick(b.get("name"), locale) or b["code"]}
                    for b in bundles],
        "version": matter.get("version", 1),
        "retired": bool(matter.get("retired")),
    }


def matter_detail(code: str, *, include_retired: bool = False) -> dict:
    """One matter; a retired one only for those who maintain the catalogue."""
    query: dict = {"code": code}
    if not include_retired:
        query["retired"] = {"$ne": True}
    matter = Matter._get_collection().find_one(query)
    if matter is None:
        raise _matter_not_found(code)
    return describe_matter(matter)


def bundle_list(q: str | None = None) -> list[dict]:
    """Bundles as the search finds them, each with its figures after the reform and how many
    departments it spans, so a list shows before → after without reading every bundle."""
    items = catalogue_search.search_bundles(q=q)
    for item in items:
        try:
            after = compiled_bundle(item["code"])["figures"]["after"]
        except NotFound:  # retired between the search and now
            continue
        item["figures_after"] = after
        item["departments"] = after.get("departments")
    return items


def bundle_detail(code: str, version: int | None = None, region: str | None = None) -> dict:
    """A compiled bundle with its dependency graph spelled out as edges, for drawing; with a
    region, each step as that region carries it out (handling region, promise, window)."""
    bundle = compiled_bundle(code, version)
    if region:
        bundle = local.steps_for_region(bundle, region)
    else:  # where each step is handled depends on the region asked for: none asked, none said
        for step in bundle["steps"]:
            step["region"] = None
    bundle["graph"] = {
        "nodes": [step["matter"] for step in bundle["steps"]],
        "edges": [{"upstream": upstream, "downstream": step["matter"]}
                  for step in bundle["steps"] for upstream in step["depends_on"]],
    }
    return bundle
