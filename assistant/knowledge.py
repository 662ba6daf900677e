"""What the assistant knows of the catalogue, read once per catalogue revision.

Each process keeps the compiled bundles, their names and the lexicon terms it has read, and
reads them again as soon as the catalogue's revision counter (bumped by every catalogue write)
moves; the counter itself is looked at no more than every REVISION_CHECK_SECONDS, so a change
made by another process is seen within that time.
"""
import threading
import time

from assistant.nlu import terms_from_catalogue
from assistant.normalize import normalize
from common.i18n import current_locale, pick
from models import catalogue_state
from models.catalogue import Bundle, Matter
from services.catalogue import publishing

REVISION_CHECK_SECONDS = 2.0

_lock = threading.Lock()
_state: dict = {"revision": None, "checked_at": 0.0, "terms": None, "names": None,
                "definitions": {}, "matters": None}
# Published versions never change: kept whatever the revision.
_versions: dict[tuple[str, int, str], dict] = {}


def _current() -> dict:
    """The cache, emptied first if the catalogue has changed since it was filled."""
    now = time.monotonic()
    with _lock:
        if now - _state["checked_at"] < REVISION_CHECK_SECONDS:
            return _state
    revision = catalogue_state.current_revision()
    with _lock:
        if revision != _state["revision"]:
            _state.update(revision=revision, terms=None, names=None, definitions={},
                          matters=None)
        _state["checked_at"] = now
        return _state


def forget() -> None:
    """Drop everything (tests that change the catalogue underneath)."""
    with _lock:
        _state.update(revision=None, checked_at=0.0, terms=None, names=None, definitions={},
                      matters=None)
        _versions.clear()


def terms() -> dict[str, list[tuple[str, float]]]:
    """The catalogue's names and synonyms of bundles and matters, weighted for the lexicon."""
    state = _current()
    if state["terms"] is None:
        bundles = list(Bundle._get_collection().find(
            {"retired": {"$ne": True}}, {"code": 1, "name": 1, "synonyms": 1, "steps": 1}))
        codes = {s["matter"] for b in bundles for s in b.get("steps") or []}
        matters = list(Matter._get_collection().find({"code": {"$in": sorted(codes)}},
                                                     {"code": 1, "name": 1, "synonyms": 1}))
        found = terms_from_catalogue(bundles, matters)
        with _lock:
            state["terms"] = found
    return state["terms"]


def matters() -> dict[str, dict]:
    """The matters of the bundles: code → {"names", "synonyms", "descriptions", "bundles",
    "terms"}; `terms` are the normalized names and synonyms that name the matter and no bundle
    (上牌 names a bundle too: it asks about the bundle)."""
    state = _current()
    if state["matters"] is None:
        bundles = list(Bundle._get_collection().find(
            {"retired": {"$ne": True}}, {"code": 1, "name": 1, "synonyms": 1, "steps": 1}))
        owners: dict[str, list[str]] = {}
        bundle_terms = set()
        for bundle in bundles:
            bundle_terms |= {normalize(str(n)) for n in list((bundle.get("name") or {}).values())
                             + list(bundle.get("synonyms") or [])}
            for step in bundle.get("steps") or []:
                owners.setdefault(step["matter"], []).append(bundle["code"])
        found = {}
        for matter in Matter._get_collection().find(
                {"code": {"$in": sorted(owners)}},
                {"code": 1, "name": 1, "synonyms": 1, "description": 1}):
            names = {normalize(str(n)) for n in list((matter.get("name") or {}).values())
                     + list(matter.get("synonyms") or [])}
            found[matter["code"]] = {
                "names": matter.get("name") or {}, "synonyms": list(matter.get("synonyms") or []),
                "descriptions": matter.get("description") or {},
                "bundles": owners[matter["code"]],
                "terms": sorted((t for t in names - bundle_terms if len(t) >= 2),
                                key=len, reverse=True)}
        with _lock:
            state["matters"] = found
    return state["matters"]


def bundle_names(locale: str) -> dict[str, str]:
    """Every bundle one may apply for, code → name in the locale, in code order."""
    state = _current()
    if state["names"] is None:
        found = {b["code"]: b.get("name") or {} for b in Bundle._get_collection().find(
            {"retired": {"$ne": True}}, {"code": 1, "name": 1}).sort("code", 1)}
        with _lock:
            state["names"] = found
    return {code: pick(names, locale) or code for code, names in state["names"].items()}


def definition(code: str, locale: str, version: int | None = None) -> dict:
    """A bundle compiled and localized (publishing.compiled_bundle); NotFound as it raises it.
    The dict is shared: read it, never change it."""
    if version is not None:
        key = (code, int(version), locale)
        if key not in _versions:
            _versions[key] = _compiled(code, locale, version)
        return _versions[key]
    state = _current()
    key = (code, locale)
    if key not in state["definitions"]:
        found = _compiled(code, locale)
        with _lock:
            state["definitions"][key] = found
    return state["definitions"][key]


def _compiled(code: str, locale: str, version: int | None = None) -> dict:
    token = current_locale.set(locale)  # compiled_bundle speaks the current language
    try:
        return publishing.compiled_bundle(code, version)
    finally:
        current_locale.reset(token)
