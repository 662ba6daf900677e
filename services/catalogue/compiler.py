"""Compiling a bundle: steps in dependency order, the joint form, the checklist and the figures."""
import copy
from collections.abc import Iterable

from common.i18n import current_locale, pick, text
from models.catalogue import Department, MaterialType, Matter
from services.errors import ValidationFailed

# The attributes that define what a form field asks; two matters sharing a field name must agree
# on all of them (labels and `required` may differ: the first label wins, required if any is).
FIELD_SIGNATURE = ("type", "pattern", "choices", "min", "max", "min_date", "max_date", "prefill")
FORM_KEYS = ("name", "type", "labels", "required", "pattern", "choices", "choice_labels", "min",
             "max", "min_date", "max_date", "prefill", "personal")


# ---------------------------------------------------------------------------------------------
# Reading documents as plain dicts: compiling works on dicts so that a candidate definition can
# be checked before anything is saved.

def _by_code(documents: Iterable[dict]) -> dict[str, dict]:
    return {d["code"]: d for d in documents}


def load_matters(codes: Iterable[str]) -> dict[str, dict]:
    return _by_code(Matter._get_collection().find({"code": {"$in": sorted(set(codes))}}))


def load_departments(codes: Iterable[str] | None = None) -> dict[str, dict]:
    query = {} if codes is None else {"code": {"$in": sorted(set(codes))}}
    return _by_code(Department._get_collection().find(query, {"code": 1, "name": 1, "region": 1}))


def load_material_types(codes: Iterable[str] | None = None) -> dict[str, dict]:
    query = {} if codes is None else {"code": {"$in": sorted(set(codes))}}
    return _by_code(MaterialType._get_collection().find(query))


# ---------------------------------------------------------------------------------------------
# Compiling

class _Problems:
    """Errors found while compiling, keyed by what is wrong, in the caller's language."""

    def __init__(self):
        self.errors: dict[str, list[str]] = {}

    def add(self, key: str, en: str, zh: str, **params) -> None:
        self.errors.setdefault(key, []).append(text(en, zh, **params))

    def __bool__(self) -> bool:
        return bool(self.errors)


def _limit(value: dict | None) -> dict | None:
    return {"value": value["value"], "unit": value["unit"]} if value else None


def _field_signature(field: dict) -> tuple:
    return tuple(
        tuple(field.get(key) or ()) if key == "choices" else field.get(key)
        for key in FIELD_SIGNATURE)


def _describe_difference(first: dict, second: dict) -> str:
    return ", ".join(f"{key} {first.get(key)!r} ≠ {second.get(key)!r}" for key in FIELD_SIGNATURE
                     if _field_signature({key: first.get(key)}) !=
                     _field_signature({key: second.get(key)}))


def _find_cycle(graph: dict[str, list[str]]) -> list[str]:
    """One dependency cycle of the graph as a path that ends where it starts."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for upstream in graph.get(node, []):
            if state.get(upstream) == 1:
                return stack[stack.index(upstream):] + [upstream]
            if upstream not in state and (found := visit(upstream)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def _topological_order(codes: list[str], graph: dict[str, list[str]]) -> list[str] | None:
    """Kahn's algorithm, ties broken by the order the bundle lists its steps; None on a cycle."""
    position = {code: i for i, code in enumerate(codes)}
    remaining = {code: len(set(graph[code])) for code in codes}
    downstream: dict[str, list[str]] = {code: [] for code in codes}
    for code in codes:
        for upstream in set(graph[code]):
            downstream[upstream].append(code)
    ready = sorted((c for c in codes if remaining[c] == 0), key=position.get)
    order = []
    while ready:
        code = ready.pop(0)
        order.append(code)
        for child in downstream[code]:
            remaining[child] -= 1
            if remaining[child] == 0:
                ready.append(child)
        ready.sort(key=position.get)
    return order if len(order) == len(codes) else None


def _ancestors(code: str, graph: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    pending = list(graph.get(code, []))
    while pending:
        upstream = pending.pop()
        if upstream not in seen:
            seen.add(upstream)
            pending.extend(graph.get(upstream, []))
    return seen


def build_definition(bundle: dict, matters: dict[str, dict], departments: dict[str, dict],
                     material_types: dict[str, dict]) -> tuple[dict | None, dict]:
    """Compile a bundle (as a dict) against the given matters; returns (definition, errors).

    The definition is language-neutral (`names`, `labels`): `localize` adds the texts of one
    language. Errors name each problem: unknown or retired matters, dependencies outside the
    bundle, a cycle, inputs no upstream matter outputs, conflicting field definitions.
    """
    problems = _Problems()
    steps = bundle.get("steps") or []
    codes: list[str] = []
    graph: dict[str, list[str]] = {}
    if not steps:
        problems.add("steps", "A bundle needs at least one matter.", "一件事至少需要一个事项。")
    for step in steps:
        code = step.get("matter")
        if code in graph:
            problems.add("steps", "Matter {m} appears more than once.", "事项 {m} 重复出现。",
                         m=code)
            continue
        matter = matters.get(code)
        if matter is None:
            problems.add("steps", "Unknown matter: {m}.", "未知事项：{m}。", m=code)
        elif matter.get("retired"):
            problems.add("steps", "Matter {m} is retired.", "事项 {m} 已停用。", m=code)
        codes.append(code)
        graph[code] = list(dict.fromkeys(step.get("depends_on") or []))
    for code in codes:
        for upstream in graph[code]:
            if upstream == code:
                problems.add("depends_on", "Matter {m} depends on itself.", "事项 {m} 依赖自身。",
                             m=code)
            elif upstream not in graph:
                problems.add("depends_on", "{m} depends on {u}, which is not a step of the bundle.",
                             "{m} 依赖的 {u} 不是本件事的事项。", m=code, u=upstream)
    if problems:
        return None, problems.errors
    order = _topological_order(codes, graph)
    if order is None:
        problems.add("depends_on", "Dependency cycle: {cycle}.", "依赖关系成环：{cycle}。",
                     cycle=" → ".join(reversed(_find_cycle(graph))))  # in the order of flow
        return None, problems.errors

    for code in order:
        produced_upstream = {o["name"]: up for up in _ancestors(code, graph)
                             for o in matters[up].get("outputs") or []}
        for needed in matters[code].get("inputs") or []:
            if needed in produced_upstream:
                continue
            elsewhere = [c for c in order if c != code and any(
                o["name"] == needed for o in matters[c].get("outputs") or [])]
            if elsewhere:
                problems.add("inputs", "{m} needs {i}, which {o} outputs but {m} does not depend "
                             "on it.", "{m} 需要的 {i} 由 {o} 产生，但 {m} 未依赖它。",
                             m=code, i=needed, o=", ".join(elsewhere))
            else:
                problems.add("inputs", "{m} needs {i}, which no upstream matter outputs.",
                             "{m} 需要的 {i} 没有任何上游事项产生。", m=code, i=needed)

    form: dict[str, dict] = {}
    owner: dict[str, str] = {}
    for code in order:
        for field in matters[code].get("fields") or []:
            name = field["name"]
            if name not in form:
                form[name] = {key: copy.deepcopy(field.get(key)) for key in FORM_KEYS
                              if key not in ("name", "labels", "required")}
                form[name].update(name=name, labels=dict(field.get("label") or {}),
                                  required=bool(field.get("required")), matters=[code])
                form[name]["choices"] = list(field.get("choices") or [])
                form[name]["choice_labels"] = dict(field.get("choice_labels") or {})
                owner[name] = code
                continue
            # Personal if any matter that asks it says so: protecting it costs nothing.
            form[name]["personal"] = form[name].get("personal") or field.get("personal")
            if _field_signature(form[name]) != _field_signature(field):
                problems.add("fields", "Field {f} is defined differently by {a} and {b}: {diff}.",
                             "字段 {f} 在 {a} 与 {b} 中定义不一致：{diff}。", f=name,
                             a=owner[name], b=code, diff=_describe_difference(form[name], field))
                continue
            form[name]["required"] = form[name]["required"] or bool(field.get("required"))
            form[name]["matters"].append(code)
    subject = bundle.get("subject") or "self"
    prefilled = {field.get("prefill") for field in form.values()}
    if subject == "newborn" and not {"subject.name", "subject.birth_date"} <= prefilled:
        problems.add("subject", "A bundle about a newborn needs the newborn's name and birth "
                     "date in its form.",
                     "以新生儿为对象的一件事，表单须包含新生儿姓名和出生日期。")
    if problems:
        return None, problems.errors

    materials: dict[str, dict] = {}
    department_codes: list[str] = []
    compiled_steps = []
    for code in order:
        matter = matters[code]
        department = departments.get(matter["department"]) or {}
        if matter["department"] not in department_codes:
            department_codes.append(matter["department"])
        for material in matter.get("materials") or []:
            entry = materials.get(material)
            if entry is None:
                known = material_types.get(material) or {}
                entry = materials[material] = {
                    "code": material, "names": dict(known.get("name") or {}),
                    "formats": list(known.get("formats") or []), "matters": [],
                    "issued_by": known.get("issued_by")}
            entry["matters"].append(code)
        compiled_steps.append({
            "matter": code,
            "names": dict(matter.get("name") or {}),
            "department": matter["department"],
            "department_names": dict(department.get("name") or {}),
            "depends_on": list(graph[code]),
            "level": matter.get("level"),
            "region": matter.get("region"),
            "matter_version": matter.get("version", 1),
            "materials": list(matter.get("materials") or []),
            "inputs": list(matter.get("inputs") or []),
            "outputs": [{"name": o["name"], "labels": dict(o.get("label") or {}),
                         "type": o.get("type") or "string", "pattern": o.get("pattern"),
                         "required": o.get("required", True), "elicence": o.get("elicence")}
                        for o in matter.get("outputs") or []],
            "promised": _limit(matter.get("promised")),
            "statutory": _limit(matter.get("statutory")),
        })
    missing_types = sorted(m for m in materials if m not in material_types)
    if missing_types:
        problems.add("materials", "Unknown material types: {t}.", "未知材料类型：{t}。",
                     t=", ".join(missing_types))
        return None, problems.errors

    departments_involved = [{"code": c, "names": dict((departments.get(c) or {}).get("name")
                                                      or {})} for c in department_codes]
    before = {key: value for key, value in (bundle.get("figures_before") or {}).items()
              if value is not None}
    after = {"forms": 1, "materials": len(materials), "departments": len(department_codes),
             "matters": len(order), "visits": int(bundle.get("visits_after") or 0)}
    definition = {
        "code": bundle["code"],
        "version": bundle.get("version", 1),
        "names": dict(bundle.get("name") or {}),
        "descriptions": dict(bundle.get("description") or {}),
        "life_event": bundle.get("life_event"),
        "subject": subject,
        "synonyms": list(bundle.get("synonyms") or []),
        "steps": compiled_steps,
        "form": list(form.values()),
        "materials": list(materials.values()),
        "departments": departments_involved,
        "figures": {"before": before, "after": after},
    }
    return definition, {}


def compile_bundle_document(bundle: dict, *, matters: dict[str, dict] | None = None,
                            departments: dict[str, dict] | None = None,
                            material_types: dict[str, dict] | None = None) -> dict:
    """Compile a bundle dict, loading what is not given; raises ValidationFailed naming problems."""
    codes = [step.get("matter") for step in bundle.get("steps") or []]
    if matters is None:
        matters = load_matters(codes)
    if departments is None:
        departments = load_departments({m["department"] for m in matters.values()})
    if material_types is None:
        material_types = load_material_types(
            {t for m in matters.values() for t in m.get("materials") or []})
    definition, errors = build_definition(bundle, matters, departments, material_types)
    if errors:
        raise ValidationFailed("The bundle {b} is not valid.", "一件事 {b} 的定义无效。",
                               errors=errors, b=bundle.get("code"))
    return definition


def localize(definition: dict, locale: str | None = None) -> dict:
    """A compiled definition with every name and label in one language (both kept in `names`)."""
    locale = locale or current_locale.get()
    out = copy.deepcopy(definition)
    out["name"] = pick(out.get("names"), locale)
    out["description"] = pick(out.get("descriptions"), locale)
    for step in out["steps"]:
        step["name"] = pick(step.get("names"), locale) or step["matter"]
        step["department_name"] = pick(step.get("department_names"), locale) or step["department"]
        for output in step["outputs"]:
            output["label"] = pick(output.get("labels"), locale) or output["name"]
    for field in out["form"]:
        field["label"] = pick(field.get("labels"), locale) or field["name"]
        field["choice_labels"] = {value: pick(labels, locale) for value, labels
                                  in (field.get("choice_labels") or {}).items()}
    for material in out["materials"]:
        material["name"] = pick(material.get("names"), locale) or material["code"]
    for department in out["departments"]:
        department["name"] = pick(department.get("names"), locale) or department["code"]
    return out
