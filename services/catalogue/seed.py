"""Loading the seeded catalogue from data/catalogue/*.yaml, idempotently."""
import copy
import hashlib
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import mongoengine as me
import yaml
from pymongo import InsertOne, UpdateOne

from models import catalogue_state
from models.catalogue import (
    Bundle,
    BundleVersion,
    Department,
    LocalImplementation,
    MaterialType,
    Matter,
)
from services.catalogue import compiler, publishing
from services.catalogue import departments as regional_departments
from services.regions import divisions

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "catalogue"
SECTIONS = ("departments", "material_types", "fields", "matters", "bundles", "local")
# Fields a reseed manages; created_at and version are the database's.
# `regions` of a department: which regions have one is kept by services.catalogue.departments.
_SERVER_OWNED = {"_id", "created_at", "updated_at", "version", "seed_hash", "regions"}

_cache: dict[tuple, dict] = {}


class SeedError(RuntimeError):
    """The seed files are wrong: a bad reference, an invalid entry or an invalid bundle."""


# The C safe loader when libyaml is there (ten times faster), else the pure-Python safe one.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _resolve_fields(matter: dict, library: dict[str, dict], source: str) -> list[dict]:
    resolved = []
    for entry in matter.get("fields") or []:
        if isinstance(entry, str):
            entry = {"use": entry}
        if "use" in entry:
            name = entry["use"]
            if name not in library:
                raise SeedError(f"{source}: matter {matter.get('code')} uses unknown field {name}")
            field = dict(copy.deepcopy(library[name]), name=name)
            field.update({k: v for k, v in entry.items() if k != "use"})
        else:
            field = dict(entry)
        resolved.append(field)
    return resolved


def read_catalogue(directory: Path = DATA_DIR) -> dict:
    """Every seed file merged: departments, material types, matters (fields resolved), bundles."""
    files = sorted(directory.rglob("*.yaml"))
    key = (str(directory), tuple((str(f), f.stat().st_mtime_ns) for f in files))
    if key in _cache:
        return copy.deepcopy(_cache[key])
    merged: dict = {"departments": [], "material_types": [], "fields": {}, "matters": [],
                    "bundles": [], "local": []}
    sources: dict[str, str] = {}
    for path in files:
        content = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER) or {}  # noqa: S506  # nosec B506
        unknown = set(content) - set(SECTIONS)
        if unknown:
            raise SeedError(f"{path.name}: unknown sections {sorted(unknown)}")
        merged["fields"].update(content.get("fields") or {})
        for section in ("departments", "material_types", "matters", "bundles", "local"):
            for entry in content.get(section) or []:
                name = (f"{entry.get('matter')}@{entry.get('region')}" if section == "local"
                        else entry.get("code"))
                where = f"{section}:{name}"
                if where in sources:
                    raise SeedError(f"{path.name}: {where} is already defined in {sources[where]}")
                sources[where] = path.name
                merged[section].append(dict(entry, _source=path.name))
    for matter in merged["matters"]:
        matter["fields"] = _resolve_fields(matter, merged["fields"], matter["_source"])
    _cache.clear()
    _cache[key] = merged
    return copy.deepcopy(merged)


def _seed_hash(entry: dict) -> str:
    payload = json.dumps(entry, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _documents(model: type[me.Document], entries: list[dict]) -> list[dict]:
    """Each entry validated as the model and turned into what the database stores."""
    documents = []
    for entry in entries:
        clean = {k: v for k, v in entry.items() if not k.startswith("_")}
        try:
            document = model(**clean)
            document.validate()
        except (me.ValidationError, TypeError, ValueError, me.FieldDoesNotExist) as exc:
            raise SeedError(f"{entry.get('_source')}: {model.__name__} {entry.get('code')}: "
                            f"{exc}") from exc
        stored = document.to_mongo().to_dict()
        stored["seed_hash"] = _seed_hash(clean)
        documents.append(stored)
    return documents


def _upsert(model: type[me.Document], documents: list[dict]) -> int:
    """Insert what is new; overwrite what the seed file changed; leave admins' edits alone."""
    collection = model._get_collection()
    existing = {d["code"]: d for d in collection.find(
        {"code": {"$in": [d["code"] for d in documents]}}, {"code": 1, "seed_hash": 1,
                                                            "version": 1})}
    now = datetime.now(UTC)
    operations: list = []
    for document in documents:
        current = existing.get(document["code"])
        if current is None:
            operations.append(InsertOne(document))
        elif current.get("seed_hash") != document["seed_hash"]:
            fields = {k: v for k, v in document.items() if k not in _SERVER_OWNED}
            update: dict = {"$set": dict(fields, seed_hash=document["seed_hash"],
                                         updated_at=now)}
            if "version" in document and model is not Bundle:
                update["$inc"] = {"version": 1}
            operations.append(UpdateOne({"code": document["code"]}, update))
    if operations:
        collection.bulk_write(operations, ordered=False)
    return len(operations)


def _check_references(data: dict) -> None:
    departments = {d["code"] for d in data["departments"]} | set(
        Department._get_collection().distinct("code"))
    material_types = {m["code"] for m in data["material_types"]} | set(
        MaterialType._get_collection().distinct("code"))
    problems = []
    for material in data["material_types"]:
        if material.get("issued_by") and material["issued_by"] not in departments:
            problems.append(f"material type {material['code']}: unknown issuer "
                            f"{material['issued_by']}")
    for matter in data["matters"]:
        if matter.get("department") not in departments:
            problems.append(f"matter {matter['code']}: unknown department {matter['department']}")
        problems.extend(f"matter {matter['code']}: unknown material type {m}"
                        for m in matter.get("materials") or [] if m not in material_types)
        problems.extend(f"matter {matter['code']}: output {o['name']} issues unknown e-licence "
                        f"{o['elicence']}" for o in matter.get("outputs") or []
                        if o.get("elicence") and o["elicence"] not in material_types)
    matters = {m["code"]: m for m in data["matters"]}
    for entry in data["local"]:
        matter = matters.get(entry.get("matter"))
        if matter is None:
            problems.append(f"local entry {entry.get('matter')}@{entry.get('region')}: "
                            "unknown matter")
        elif divisions.at_level(str(entry.get("region")), matter["level"]) != entry.get("region"):
            problems.append(f"local entry {entry['matter']}@{entry.get('region')}: not a "
                            f"{matter['level']}-level division of the province")
    if problems:
        raise SeedError("; ".join(problems))


def _upsert_local(entries: list[dict]) -> int:
    """Local implementations (matter, region) of the seed files, kept as `_upsert` keeps the
    rest: new ones inserted, ones the files changed overwritten, admins' edits left alone."""
    documents = []
    for entry in entries:
        clean = {k: v for k, v in entry.items() if not k.startswith("_")}
        try:
            document = LocalImplementation(**clean)
            document.validate()
        except (me.ValidationError, TypeError, ValueError, me.FieldDoesNotExist) as exc:
            raise SeedError(f"{entry.get('_source')}: local {clean.get('matter')}@"
                            f"{clean.get('region')}: {exc}") from exc
        stored = document.to_mongo().to_dict()
        stored["seed_hash"] = _seed_hash(clean)
        documents.append(stored)
    collection = LocalImplementation._get_collection()
    existing = {(d["matter"], d["region"]): d.get("seed_hash") for d in collection.find(
        {"matter": {"$in": sorted({d["matter"] for d in documents})}},
        {"matter": 1, "region": 1, "seed_hash": 1})}
    now = datetime.now(UTC)
    operations: list = []
    for document in documents:
        key = (document["matter"], document["region"])
        if key not in existing:
            operations.append(InsertOne(document))
        elif existing[key] != document["seed_hash"]:
            fields = {k: v for k, v in document.items() if k not in _SERVER_OWNED}
            operations.append(UpdateOne({"matter": key[0], "region": key[1]}, {"$set": dict(
                fields, seed_hash=document["seed_hash"], updated_at=now)}))
    if operations:
        collection.bulk_write(operations, ordered=False)
    return len(operations)


def load_catalogue(directory: Path = DATA_DIR) -> dict:
    """Load the seed files: insert what is new, update what they changed, publish the bundles.

    Running it again changes nothing; a bundle gets a new version only when its compiled
    definition changed.
    """
    data = read_catalogue(directory)
    _check_references(data)
    changed = {
        "departments": _upsert(Department, _documents(Department, data["departments"])),
        "material_types": _upsert(MaterialType, _documents(MaterialType,
                                                           data["material_types"])),
        "matters": _upsert(Matter, _documents(Matter, data["matters"])),
        "bundles": _upsert(Bundle, _documents(Bundle, data["bundles"])),
        "local": _upsert_local(data["local"]),
    }
    # Every county (and city, and the province) has the departments the bundles' matters need.
    changed["department_regions"] = regional_departments.ensure_bundle_departments(bump=False)
    codes = [b["code"] for b in data["bundles"]]
    bundles = {b["code"]: b for b in Bundle._get_collection().find({"code": {"$in": codes}})}
    matters = compiler.load_matters(
        {s["matter"] for b in bundles.values() for s in b.get("steps") or []})
    departments = compiler.load_departments()
    material_types = compiler.load_material_types()
    latest: dict[str, dict] = {}
    for snapshot in BundleVersion._get_collection().find({"bundle": {"$in": codes}},
                                                         sort=[("version", 1)]):
        latest[snapshot["bundle"]] = snapshot
    published = 0
    for code in codes:
        definition, errors = compiler.build_definition(bundles[code], matters, departments,
                                                        material_types)
        if errors:
            raise SeedError(f"bundle {code}: {errors}")
        before = latest.get(code, {}).get("version")
        version = publishing.publish_definition(bundles[code], definition, latest.get(code),
                                               look_up_latest=False)
        published += version != before
    changed["bundle_versions"] = published
    if any(changed.values()):
        catalogue_state.bump_revision()
        log.info("catalogue loaded: %s", changed)
    return changed
