"""Maintaining the catalogue: create, change and retire matters and bundles, each change checked.

Every change that alters what a bundle asks or does publishes a new version of the bundle, so
applications keep the definition they were made with.
"""
import logging
import re
from datetime import UTC, datetime

import mongoengine as me
import pymongo

from common.i18n import text
from models import catalogue_state, indexed_writes
from models.catalogue import Bundle, BundleVersion, Department, Matter
from services.catalogue import compiler, publishing
from services.errors import InvalidState, NotFound, PreconditionFailed, ValidationFailed

log = logging.getLogger(__name__)

_RELATIVE_DATE = re.compile(r"^(today|[+-]\d{1,4}[dmy]|\d{4}-\d{2}-\d{2})$")
# Set by the system, never by an admin's payload.
_SYSTEM = {"_id", "version", "retired", "created_at", "updated_at", "seed_hash", "generated"}
# Besides, a change never renames.
_SERVER_OWNED = _SYSTEM | {"code"}


class _Errors:
    def __init__(self):
        self.errors: dict[str, list[str]] = {}

    def add(self, key: str, en: str, zh: str, **params) -> None:
        self.errors.setdefault(key, []).append(text(en, zh, **params))

    def merge(self, errors: dict[str, list[str]], prefix: str = "") -> None:
        for key, messages in errors.items():
            self.errors.setdefault(key, []).extend(f"{prefix}{m}" for m in messages)

    def raise_if_any(self, en: str, zh: str, **params) -> None:
        if self.errors:
            raise ValidationFailed(en, zh, errors=self.errors, **params)


def _stored(model: type[me.Document], data: dict, errors: _Errors) -> dict | None:
    """The data as the model would store it, or None with the model's own complaints added."""
    try:
        document = model(**data)
        document.validate()
    except me.ValidationError as exc:
        for key, message in (exc.to_dict() or {}).items():
            errors.add(key, "{m}", "{m}", m=message)
        return None
    except (me.FieldDoesNotExist, TypeError, ValueError) as exc:
        errors.add("_schema", "{m}", "{m}", m=str(exc))
        return None
    return document.to_mongo().to_dict()


# ---------------------------------------------------------------------------------------------
# Matters

def _check_matter(matter: dict, errors: _Errors) -> None:
    """What a matter must satisfy on its own: known department, materials, parents, fields."""
    if not Department._get_collection().count_documents({"code": matter["department"]},
                                                        limit=1):
        errors.add("department", "Unknown department: {d}.", "未知部门：{d}。",
                   d=matter["department"])
    wanted_types = set(matter.get("materials") or []) | {
        o["elicence"] for o in matter.get("outputs") or [] if o.get("elicence")}
    known_types = set(compiler.load_material_types(wanted_types))
    for code in matter.get("materials") or []:
        if code not in known_types:
            errors.add("materials", "Unknown material type: {t}.", "未知材料类型：{t}。", t=code)
    if len(set(matter.get("materials") or [])) != len(matter.get("materials") or []):
        errors.add("materials", "A material type is listed twice.", "材料类型重复。")
    outputs = [o["name"] for o in matter.get("outputs") or []]
    if len(set(outputs)) != len(outputs):
        errors.add("outputs", "An output name is used twice.", "输出名称重复。")
    for output in matter.get("outputs") or []:
        if output.get("elicence") and output["elicence"] not in known_types:
            errors.add("outputs", "Output {o} issues an unknown material type: {t}.",
                       "输出 {o} 签发的材料类型未知：{t}。", o=output["name"], t=output["elicence"])
        _check_pattern(output.get("pattern"), f"outputs.{output['name']}", errors)
    for needed in matter.get("inputs") or []:
        if needed in outputs:
            errors.add("inputs", "{i} is both an input and an output of the matter.",
                       "{i} 同时是本事项的输入和输出。", i=needed)
    parent = matter.get("parent")
    if parent and (parent == matter["code"] or not Matter._get_collection().count_documents(
            {"code": parent, "parent": {"$in": [None, ""]}}, limit=1)):
        errors.add("parent", "Unknown main item: {p}.", "未知主项：{p}。", p=parent)
    seen: set[str] = set()
    for field in matter.get("fields") or []:
        _check_field(field, seen, errors)


def _check_pattern(pattern: str | None, key: str, errors: _Errors) -> None:
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            errors.add(key, "Not a valid pattern: {e}.", "格式规则无效：{e}。", e=str(exc))


def _check_field(field: dict, seen: set[str], errors: _Errors) -> None:
    key = f"fields.{field['name']}"
    if field["name"] in seen:
        errors.add(key, "The field is defined twice.", "字段重复定义。")
    seen.add(field["name"])
    choices = field.get("choices") or []
    if field["type"] == "choice" and not choices:
        errors.add(key, "A choice field needs its choices.", "选择字段需要选项。")
    if field["type"] != "choice" and choices:
        errors.add(key, "Only a choice field has choices.", "只有选择字段可以有选项。")
    unknown_labels = set(field.get("choice_labels") or {}) - set(choices)
    if unknown_labels:
        errors.add(key, "Labels for choices that do not exist: {c}.", "选项不存在：{c}。",
                   c=", ".join(sorted(unknown_labels)))
    if field.get("min") is not None and field.get("max") is not None \
            and field["min"] > field["max"]:
        errors.add(key, "min is greater than max.", "最小值大于最大值。")
    for bound in ("min_date", "max_date"):
        if field.get(bound) and not _RELATIVE_DATE.match(field[bound]):
            errors.add(key, "{b} must be a date, today, or relative like -30d, +1y.",
                       "{b} 应为日期、today 或 -30d、+1y 这样的相对日期。", b=bound)
    _check_pattern(field.get("pattern"), key, errors)


def _recompile_bundles_with(matter: dict, errors: _Errors) -> list[tuple[dict, dict]]:
    """Every live bundle using the matter, compiled with the candidate; problems per bundle."""
    compiled = []
    for bundle in publishing.bundles_using(matter["code"]):
        codes = [step["matter"] for step in bundle.get("steps") or []]
        matters = compiler.load_matters(codes)
        matters[matter["code"]] = matter
        definition, problems = compiler.build_definition(
            bundle, matters, compiler.load_departments(),
            compiler.load_material_types({t for m in matters.values()
                                           for t in m.get("materials") or []}))
        if problems:
            errors.merge(problems, prefix=f"{bundle['code']}: ")
        else:
            compiled.append((bundle, definition))
    return compiled


def _publish_all(compiled: list[tuple[dict, dict]]) -> None:
    for bundle, _ in compiled:
        # Compiled again from what is now stored: the stored matter carries its new version.
        publishing.publish_bundle_version(bundle["code"])


def _insert_new(document, stored: dict, exists: InvalidState) -> None:
    """Insert a new catalogue entry; the unique code decides a race between two admins."""
    try:
        document._get_collection().insert_one(stored)
    except pymongo.errors.DuplicateKeyError:
        raise exists from None


def create_matter(*, data: dict) -> dict:
    """Add a matter to the catalogue; 409 if the code is taken, 422 naming any problem."""
    exists = InvalidState("A matter {code} already exists.", "事项 {code} 已存在。",
                          error="matter_exists", code=data.get("code"))
    if Matter._get_collection().count_documents({"code": data.get("code")}, limit=1):
        raise exists
    errors = _Errors()
    stored = _stored(Matter, {k: v for k, v in data.items() if k not in _SYSTEM},
                     errors)
    if stored is not None:
        _check_matter(stored, errors)
    errors.raise_if_any("The matter is not valid.", "事项定义无效。")
    _insert_new(Matter, stored, exists)
    catalogue_state.bump_revision()
    log.info("matter %s created", stored["code"])
    return publishing.matter_detail(stored["code"])


def _check_expected_version(kind: str, code: str, current: dict,
                            expected_version: int | None) -> None:
    """An editor who read version N may only change version N (If-Match): no lost update."""
    if expected_version is not None and expected_version != current.get("version", 1):
        raise PreconditionFailed(
            "The {kind} {code} is at version {v} now, not {e}; reload it and try again.",
            "{code} 已更新到版本 {v}（不是 {e}），请刷新后重试。", error="version_mismatch",
            kind=kind, code=code, v=current.get("version", 1), e=expected_version)


def update_matter(*, code: str, changes: dict, expected_version: int | None = None) -> dict:
    """Change a matter; every bundle using it must still compile, and each gets a new version."""
    current = Matter._get_collection().find_one({"code": code, "retired": {"$ne": True}})
    if current is None:
        raise NotFound("No matter {code}.", "没有事项 {code}。", error="matter_not_found",
                       code=code)
    _check_expected_version("matter", code, current, expected_version)
    errors = _Errors()
    candidate = {k: v for k, v in current.items() if k not in ("_id",)}
    candidate.update({k: v for k, v in changes.items() if k not in _SERVER_OWNED})
    stored = _stored(Matter, {k: v for k, v in candidate.items() if k != "_id"}, errors)
    compiled = []
    if stored is not None:
        stored["version"] = current.get("version", 1)
        _check_matter(stored, errors)
        if not errors.errors:
            compiled = _recompile_bundles_with(stored, errors)
    errors.raise_if_any("The matter {code} is not valid.", "事项 {code} 的定义无效。", code=code)
    now = datetime.now(UTC)
    fields = {k: v for k, v in stored.items() if k not in _SERVER_OWNED}
    result = Matter._get_collection().update_one(
        {"code": code, "version": current.get("version", 1)},
        {"$set": dict(fields, updated_at=now), "$inc": {"version": 1}})
    if result.matched_count == 0:
        raise InvalidState("The matter {code} changed meanwhile; reload and try again.",
                           "事项 {code} 已被他人修改，请刷新后重试。", error="matter_changed",
                           code=code)
    _publish_all(compiled)
    catalogue_state.bump_revision()
    log.info("matter %s updated", code)
    return publishing.matter_detail(code)


def retire_matter(*, code: str) -> dict:
    """Take a matter out of the catalogue; refused while a live bundle still uses it."""
    current = Matter._get_collection().find_one({"code": code})
    if current is None:
        raise NotFound("No matter {code}.", "没有事项 {code}。", error="matter_not_found",
                       code=code)
    users = [b["code"] for b in publishing.bundles_using(code)]
    if users:
        raise InvalidState("Matter {code} is used by bundles: {b}. Take it out of them first.",
                           "事项 {code} 正被以下一件事使用：{b}，请先移除。",
                           error="matter_in_use", code=code, b=", ".join(users))
    if not current.get("retired"):
        Matter._get_collection().update_one(
            {"code": code}, {"$set": {"retired": True, "updated_at": datetime.now(UTC)},
                             "$inc": {"version": 1}})
        catalogue_state.bump_revision()
        log.info("matter %s retired", code)
    return publishing.matter_detail(code, include_retired=True)


# ---------------------------------------------------------------------------------------------
# Bundles

def _compile_candidate(candidate: dict, errors: _Errors) -> dict | None:
    definition, problems = compiler.build_definition(
        candidate, compiler.load_matters(s["matter"] for s in candidate.get("steps") or []),
        compiler.load_departments(), compiler.load_material_types())
    errors.merge(problems)
    return definition


def create_bundle(*, data: dict) -> dict:
    """Compose matters into a new bundle and publish its first version."""
    exists = InvalidState("A bundle {code} already exists.", "一件事 {code} 已存在。",
                          error="bundle_exists", code=data.get("code"))
    if Bundle._get_collection().count_documents({"code": data.get("code")}, limit=1):
        raise exists
    errors = _Errors()
    stored = _stored(Bundle, {k: v for k, v in data.items() if k not in _SYSTEM},
                     errors)
    if stored is not None:
        _compile_candidate(stored, errors)
    errors.raise_if_any("The bundle is not valid.", "一件事定义无效。")
    _insert_new(Bundle, stored, exists)
    published = publishing.publish_bundle_version(stored["code"])
    catalogue_state.bump_revision()
    log.info("bundle %s created", stored["code"])
    return published


def update_bundle(*, code: str, changes: dict, expected_version: int | None = None) -> dict:
    """Change a bundle; if what it asks or does changed, a new version is published."""
    current = Bundle._get_collection().find_one({"code": code, "retired": {"$ne": True}})
    if current is None:
        raise NotFound("No bundle {code}.", "没有一件事 {code}。", error="bundle_not_found",
                       code=code)
    _check_expected_version("bundle", code, current, expected_version)
    errors = _Errors()
    candidate = {k: v for k, v in current.items() if k != "_id"}
    candidate.update({k: v for k, v in changes.items() if k not in _SERVER_OWNED})
    stored = _stored(Bundle, candidate, errors)
    if stored is not None:
        _compile_candidate(stored, errors)
    errors.raise_if_any("The bundle {code} is not valid.", "一件事 {code} 的定义无效。",
                        code=code)
    fields = {k: v for k, v in stored.items() if k not in _SERVER_OWNED}
    result = Bundle._get_collection().update_one(
        {"code": code, "version": current.get("version", 1), "retired": {"$ne": True}},
        {"$set": dict(fields, updated_at=datetime.now(UTC))})
    if result.matched_count == 0:
        raise InvalidState("The bundle {code} changed meanwhile; reload and try again.",
                           "一件事 {code} 已被他人修改，请刷新后重试。", error="bundle_changed",
                           code=code)
    published = publishing.publish_bundle_version(code)
    catalogue_state.bump_revision()
    log.info("bundle %s updated, now version %s", code, published["version"])
    return published


def retire_bundle(*, code: str) -> dict:
    """Stop offering a bundle; its versions stay, so applications made with it keep working."""
    result = indexed_writes.take_one(
        Bundle._get_collection(), {"code": code},
        {"$set": {"retired": True, "updated_at": datetime.now(UTC)}}, projection={"retired": 1})
    if result is None:
        raise NotFound("No bundle {code}.", "没有一件事 {code}。", error="bundle_not_found",
                       code=code)
    if not result.get("retired"):
        catalogue_state.bump_revision()
        log.info("bundle %s retired", code)
    return bundle_admin_view(code)


def bundle_admin_view(code: str) -> dict:
    """A bundle as its maintainers see it: the published definition, retired or not, and its
    versions."""
    bundle = Bundle._get_collection().find_one({"code": code})
    if bundle is None:
        raise NotFound("No bundle {code}.", "没有一件事 {code}。", error="bundle_not_found",
                       code=code)
    versions = list(BundleVersion._get_collection().find(
        {"bundle": code}, {"version": 1, "created_at": 1}, sort=[("version", 1)]))
    definition = (publishing.compiled_bundle(code, bundle.get("version", 1)) if versions
                  else compiler.localize(compiler.compile_bundle_document(bundle)))
    return dict(definition, retired=bool(bundle.get("retired")),
                versions=[{"version": v["version"], "created_at": v.get("created_at")}
                          for v in versions])

