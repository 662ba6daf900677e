"""The workflow: one application fans out to departments; every transition is one atomic write."""
import hashlib
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

import mongoengine as me
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from common import i18n
from models.application import (
    OPEN_APPLICATION_STATUSES,
    OPEN_TASK_STATUSES,
    Application,
    ApplicationStatus,
    Task,
    TaskStatus,
)
from models.base import utcnow
from models.catalogue import MaterialType
from models.user import Role, User
from services import (
    applications,
    catalogue,
    crypto,
    deadlines,
    events,
    idempotency,
    identity,
    joint_form,
    vault,
)
from services.errors import (
    DomainError,
    Forbidden,
    InvalidState,
    NotFound,
    ValidationFailed,
)

log = logging.getLogger(__name__)

# A write guarded by the version it read loses only to another write that just happened; it
# reads again and retries. Many officers on one application settle within a few rounds.
MAX_ATTEMPTS = 60
SUBJECT_KINDS = ("self", "family", "newborn")
# The output that carries the subject's newly issued resident ID number (newborn registration).
SUBJECT_ID_NUMBER_OUTPUT = "citizen_id_number"


# ── Bundle definitions ─────────────────────────────────────────────────────────────────────────

definition_of = applications.definition_of
step_of = applications.step_of
reveal = applications.reveal


def _published(code: str) -> dict:
    """The bundle's current definition, snapshotted so the application can keep it for life."""
    try:
        compiled = catalogue.compiled_bundle(code)
        try:
            return definition_of(code, compiled["version"])
        except NotFound:  # compiled from the live documents: publish it first
            return definition_of(code, catalogue.publish_bundle_version(code)["version"])
    except NotFound:
        raise ValidationFailed("No such bundle.", "没有这项“一件事”。", error="bundle_not_found",
                               errors={"bundle": [i18n.text("No bundle {b}.", "没有一件事 {b}。",
                                                            b=code)]}) from None


# ── Small helpers ──────────────────────────────────────────────────────────────────────────────

def _uid(who) -> str:
    return str(who if isinstance(who, str | ObjectId) else who.id)


def _due(start: datetime, promised: dict | None) -> datetime | None:
    return deadlines.due_at(start=start, limit=promised) if promised else None


def _eta(definition: dict, tasks: list[dict], now: datetime) -> datetime | None:
    try:
        return deadlines.estimate_eta(definition=definition, tasks=tasks, now=now)
    except Exception:  # a prediction must never stop a department's action
        log.exception("could not estimate the completion time")
        return None


def _plain(application: Application) -> list[dict]:
    return [t.to_mongo().to_dict() for t in application.tasks]


def _matter_list(codes: Iterable[str]) -> str:
    return ", ".join(codes)


def _store_output(kind: str | None, value):
    """Outputs that are personal data (the newborn's ID number) rest encrypted."""
    if kind in joint_form.PERSONAL_TYPES and value is not None:
        return {"encrypted": crypto.encrypt(str(value)), "type": kind}
    return value


def _department_alerts(type_: str, application: Application, tasks: Iterable[dict],
                       now: datetime, data: dict) -> list[dict]:
    """Tell the departments whose queue a task leaves: its officer, or all of the department."""
    intents = []
    for task in tasks:
        recipients = [task["claimed_by"]] if task.get("claimed_by") else (
            identity.department_officers(task["department"]))
        intents += [events.intent(type_, at=now, application=application, recipient=r, task=task,
                                  data=data) for r in recipients]
    return intents


def application_status(current: str, tasks: Iterable[dict]) -> str:
    """The application's status follows from its tasks (withdrawn and rejected stay so)."""
    tasks = list(tasks)
    statuses = [t["status"] for t in tasks]
    if current in (ApplicationStatus.WITHDRAWN, ApplicationStatus.REJECTED):
        return current
    if TaskStatus.REJECTED in statuses:
        return ApplicationStatus.REJECTED.value
    if tasks and all(s in (TaskStatus.COMPLETED, TaskStatus.CANCELLED) for s in statuses):
        return ApplicationStatus.COMPLETED.value
    if TaskStatus.NEEDS_SUPPLEMENT in statuses:
        return ApplicationStatus.NEEDS_SUPPLEMENT.value
    return ApplicationStatus.IN_PROGRESS.value


def consolidated_supplement(current: dict | None, tasks: Iterable[dict],
                            now: datetime) -> dict:
    """Every open request of the application as the ONE request the citizen answers."""
    asking = [t for t in tasks
              if t["status"] == TaskStatus.NEEDS_SUPPLEMENT and t.get("supplement")]
    if not asking:
        return {}
    current = current or {}
    return {
        "id": current.get("id") or uuid.uuid4().hex,
        "requested_at": current.get("requested_at") or now,
        "materials": sorted({m for t in asking for m in t["supplement"].get("materials") or []}),
        "fields": sorted({f for t in asking for f in t["supplement"].get("fields") or []}),
        "reasons": [{"task": t["id"], "matter": t["matter"], "department": t["department"],
                     "reason": t["supplement"].get("reason")} for t in asking],
        "tasks": [t["id"] for t in asking],
    }


def release_ready(tasks: list[dict], definition: dict, now: datetime) -> list[dict]:
    """Every waiting task whose dependencies are all complete becomes pending, with its inputs."""
    done = {t["matter"] for t in tasks if t["status"] == TaskStatus.COMPLETED}
    available: dict = {}
    for task in tasks:
        if task["status"] == TaskStatus.COMPLETED:
            available.update(task.get("outputs") or {})
    released = []
    for task in tasks:
        if task["status"] != TaskStatus.WAITING or not set(task.get("depends_on") or []) <= done:
            continue
        step = step_of(definition, task["matter"])
        task.update(status=TaskStatus.PENDING.value, released_at=now,
                    due_at=_due(now, step.get("promised")),
                    inputs={name: available[name] for name in task.get("needs") or []
                            if name in available})
        released.append(task)
    return released


def _dependents(tasks: list[dict], matter: str) -> set[str]:
    """Every matter that depends on this one, directly or not."""
    found: set[str] = set()
    frontier = {matter}
    while frontier:
        frontier = {t["matter"] for t in tasks
                    if set(t.get("depends_on") or []) & frontier and t["matter"] not in found}
        found |= frontier
    return found


# ── The one conditional write ──────────────────────────────────────────────────────────────────

@dataclass
class Change:
    """What a transition writes: task fields, application fields, pushes, events and intents."""

    tasks: list[dict]  # the application's tasks as they must be after the change
    set: dict = field(default_factory=dict)
    push: dict = field(default_factory=dict)
    events: list = field(default_factory=list)
    intents: list = field(default_factory=list)
    # Added to the version guard: the state the rule was checked against (belt and braces).
    guard: dict = field(default_factory=dict)


def _task_sets(before: list[dict], after: list[dict]) -> tuple[dict, list[dict]]:
    """`$set`s and array filters for the fields that changed, task by task (never positional)."""
    sets: dict = {}
    filters: list[dict] = []
    old = {t["id"]: t for t in before}
    for task in after:
        previous = old.get(task["id"], {})
        changed = {k: v for k, v in task.items() if previous.get(k) != v}
        changed.update({k: None for k in previous if k not in task})
        if not changed:
            continue
        name = f"t{len(filters)}"
        filters.append({f"{name}.id": task["id"]})
        sets.update({f"tasks.$[{name}].{k}": v for k, v in changed.items()})
    return sets, filters


def _commit(application: Application, change: Change, now: datetime) -> Application | None:
    """Write the change if nobody changed the application since it was read, else None."""
    sets, filters = _task_sets(_plain(application), change.tasks)
    sets.update(change.set)
    sets["updated_at"] = now
    push = {k: {"$each": v} for k, v in change.push.items() if v}
    if change.events:
        push["events"] = {"$each": change.events}
    if change.intents:
        push["outbox"] = {"$each": change.intents}
        sets["outbox_pending"] = True
    update: dict = {"$set": sets, "$inc": {"version": 1}}
    if push:
        update["$push"] = push
    raw = Application._get_collection().find_one_and_update(
        {**change.guard, "_id": application.pk, "version": application.version}, update,
        array_filters=filters or None, projection={"first_response": 0},
        return_document=ReturnDocument.AFTER)
    return Application._from_son(raw) if raw is not None else None


def _transition(load: Callable[[], Application],
                decide: Callable[[Application, datetime], Change]) -> tuple[Application, Change]:
    """Read, decide, write guarded by the version read; on a lost race read again and retry.

    `decide` checks the rules against what it reads (raising a DomainError to refuse), so a
    retry after a concurrent change refuses exactly as a later request would.
    """
    for attempt in range(MAX_ATTEMPTS):
        application = load()
        now = utcnow()
        change = decide(application, now)
        written = _commit(application, change, now)
        if written is not None:
            return written, change
        time.sleep(random.random() * 0.002 * min(attempt + 1, 10))  # noqa: S311 (jitter)
    raise InvalidState("The application is changing right now; try again.",
                       "该办件正在被处理，请稍后重试。", error="concurrent_update",
                       headers={"Retry-After": "1"})


# ── Submitting ─────────────────────────────────────────────────────────────────────────────────

def _subject_error(en: str, zh: str) -> ValidationFailed:
    return ValidationFailed(en, zh, errors={"subject": [i18n.text(en, zh)]})


def _prefilled_by(definition: dict, path: str) -> dict | None:
    return next((f for f in definition["form"] if f.get("prefill") == path), None)


def _resolve_subject(subject: dict, definition: dict, family: list):
    """(kind, family member or None) for the subject the citizen names."""
    kind = (subject or {}).get("kind") or "self"
    if kind not in SUBJECT_KINDS:
        raise _subject_error("The subject is self, family or newborn.",
                             "申请对象应为本人（self）、家庭成员（family）或新生儿（newborn）。")
    if kind == "self":
        return kind, None
    if kind == "family":
        member_id = str((subject or {}).get("id") or "")
        member = next((m for m in family if str(m.id) == member_id), None)
        if member is None:
            raise _subject_error("No such family member.", "未找到该家庭成员。")
        return kind, member
    if not (_prefilled_by(definition, "subject.name")
            and _prefilled_by(definition, "subject.birth_date")):
        raise _subject_error("This application does not register a newborn.",
                             "该事项不能为新生儿申请。")
    return kind, None


def _newborn_id(applicant: User, scoped_key: str) -> ObjectId:
    """The family entry id of the newborn one keyed request adds: its retries and concurrent
    twins add the same entry, so the child is never there twice."""
    digest = hashlib.sha256(f"newborn:{applicant.id}:{scoped_key}".encode()).digest()
    return ObjectId(digest[:12])


def _child_from_form(applicant: User, definition: dict, clean: dict, family: list,
                     scoped_key: str):
    """The newborn named in the form, as the applicant's child (the existing entry if any)."""
    def answer(path: str):
        spec = _prefilled_by(definition, path)
        return clean.get(spec["name"]) if spec else None

    name, born, gender = answer("subject.name"), answer("subject.birth_date"), answer(
        "subject.gender")
    if not name or not born:
        raise _subject_error("The newborn's name and birth date are needed.",
                             "请填写新生儿的姓名和出生日期。")
    for member in family:
        if (member.relation == "child" and member.name == name and member.birth_date
                and member.birth_date.isoformat() == born):
            return member
    child = identity.add_newborn_once(owner=applicant, member_id=_newborn_id(applicant, scoped_key),
                                      name=name, birth_date=date.fromisoformat(born),
                                      gender=gender)
    if child.name != name or child.birth_date != date.fromisoformat(born):
        raise idempotency.reused()  # this key already added another baby: another request's
    return child


def _material_name(definition: dict, code: str) -> str:
    entry = next((m for m in definition["materials"] if m["code"] == code), None)
    return i18n.pick((entry or {}).get("names")) or code


def _gather_materials(applicant: User, definition: dict, material_ids: list[str],
                      subject_member, errors: dict) -> dict[str, str]:
    """{material id: type} given or already on file; missing types are added to `errors`."""
    checklist = [m["code"] for m in definition["materials"]]
    chosen: dict[str, str] = {}
    try:
        for material in vault.resolve_for_application(owner_id=str(applicant.id),
                                                      material_ids=material_ids,
                                                      allowed_types=checklist):
            chosen[str(material.id)] = material.type
    except ValidationFailed as exc:
        for key, messages in exc.errors.items():
            errors.setdefault(key, []).extend(messages)
        return chosen
    missing = [m["code"] for m in catalogue.materials_to_give(definition)
               if m["code"] not in chosen.values()]
    if missing:
        on_file = vault.on_file(owner_id=str(applicant.id), types=missing,
                                subject_id=str(subject_member.id) if subject_member else None)
        for type_code, material_id in on_file.items():
            chosen[material_id] = type_code
        missing = [t for t in missing if t not in on_file]
    if missing:
        errors.setdefault("materials", []).append(i18n.text(
            "Please add: {m}.", "请提供：{m}。",
            m=i18n.text(", ", "、").join(_material_name(definition, t) for t in missing)))
    return chosen


def _new_tasks(definition: dict, now: datetime) -> list[dict]:
    tasks = []
    for step in definition["steps"]:
        ready = not step.get("depends_on")
        tasks.append({
            "id": uuid.uuid4().hex, "matter": step["matter"], "name": step.get("names") or {},
            "department": step["department"],
            "department_name": step.get("department_names") or {},
            "status": (TaskStatus.PENDING if ready else TaskStatus.WAITING).value,
            "depends_on": list(step.get("depends_on") or []),
            "material_types": list(step.get("materials") or []),
            "needs": list(step.get("inputs") or []), "inputs": {}, "outputs": {},
            "released_at": now if ready else None,
            "due_at": _due(now, step.get("promised")) if ready else None,
            "overdue": False,
        })
    return tasks


def _build(*, applicant: User, bundle: str, subject: dict, form: dict, materials: list[str],
           channel: str, station: str | None, clerk_id: str | None, scoped_key: str,
           request_fingerprint: str) -> Application:
    """The whole application, checked and built in memory (only a newborn is added first)."""
    definition = _published(bundle)
    family = identity.family_of(str(applicant.id))  # read once: subject, prefills, newborn
    errors: dict[str, list[str]] = {}
    kind, member = _resolve_subject(subject, definition, family)
    known = joint_form.known_values(applicant=applicant, subject_member=member,
                                    subject_is_applicant=kind == "self", family=family)
    clean: dict = {}
    try:
        clean = joint_form.validate(definition["form"], form, known)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    chosen = _gather_materials(applicant, definition, materials, member, errors)
    if errors:
        raise ValidationFailed("Some answers are not valid.", "部分内容有误。", errors=errors)

    if kind == "newborn":
        member = _child_from_form(applicant, definition, clean, family, scoped_key)
    subject_doc = ({"kind": "self", "id": str(applicant.id), "relation": "self",
                    "name": applicant.name} if member is None else
                   {"kind": "family", "id": str(member.id), "relation": member.relation,
                    "name": member.name})
    plain, protected = joint_form.split_personal(definition["form"], clean)
    now = utcnow()
    tasks = _new_tasks(definition, now)
    application = Application(
        id=ObjectId(), applicant=str(applicant.id), subject=subject_doc, bundle=bundle,
        bundle_version=definition["version"], bundle_name=definition.get("names") or {},
        form=plain, form_protected=protected, materials=list(chosen), material_types=chosen,
        status=ApplicationStatus.IN_PROGRESS.value, channel=channel, station=station,
        clerk=str(clerk_id) if clerk_id else None, idempotency_key=scoped_key,
        request_fingerprint=request_fingerprint, created_at=now, updated_at=now,
        eta=_eta(definition, tasks, now), outbox_pending=True,
    )
    actor_role, actor = (("clerk", str(clerk_id)) if clerk_id else
                         ("citizen", str(applicant.id)))
    data = {"channel": channel, **({"station": station} if station else {})}
    application.events = [events.event("application_received", at=now, actor_role=actor_role,
                                       actor=actor, data=data)]
    application.outbox = [events.intent("application_received", at=now, application=application,
                                        recipient=applicant.id, data=data)]
    for task in tasks:
        if task["status"] == TaskStatus.PENDING:
            application.events.append(events.event("task_routed", at=now, actor_role="system",
                                                   task=task))
            application.outbox.append(events.intent("task_routed", at=now,
                                                    application=application,
                                                    recipient=applicant.id, task=task))
    application.tasks = [Task(**t) for t in tasks]
    return application


def _applicant(applicant_id: str) -> User:
    applicant = User.objects(id=str(applicant_id), role=Role.CITIZEN.value,
                             active=True).first() if ObjectId.is_valid(str(applicant_id)) else None
    if applicant is None:
        raise NotFound("No such citizen.", "未找到该居民。", error="citizen_not_found")
    return applicant


def _first_for_key(scoped_key: str, request_fingerprint: str) -> Application | None:
    """The application a key already made, for a retry of the same request (else 422)."""
    existing = Application.objects(idempotency_key=scoped_key).first()
    if existing is not None and existing.request_fingerprint != request_fingerprint:
        raise idempotency.reused()
    return existing


def submit_application(*, applicant_id: str, bundle: str, subject: dict | None, form: dict | None,
                       materials: list[str] | None, idempotency_key: str, channel: str = "app",
                       station: str | None = None, clerk_id: str | None = None,
                       render: Callable[[Application], dict] | None = None) -> Application:
    """A citizen applies for a bundle once per Idempotency-Key: one task per matter, the ready
    ones pending in their departments' queues at once, the others waiting for theirs.

    The application is the record of its key (unique per caller): it is built whole and inserted
    once, with `render(application)` (the first answer) when given; a retry or a concurrent twin
    loses the insert and gets the application the key made, whose `first_response` it replays.
    A request refused on the way stores nothing, so its key stays free.
    """
    # Callers may scope their own key further (a station prefixes it): allow them the room.
    key = idempotency.check_key(idempotency_key, max_length=512)
    scoped_key = f"{clerk_id or applicant_id}:{key}"
    subject = subject or {"kind": "self"}
    request = {"applicant": str(applicant_id), "bundle": bundle, "subject": subject,
               "form": form or {}, "materials": list(materials or []), "channel": channel,
               "station": station}
    request_fingerprint = idempotency.fingerprint(request)
    try:
        application = _build(
            applicant=_applicant(applicant_id), bundle=bundle, subject=subject, form=form or {},
            materials=list(materials or []), channel=channel, station=station,
            clerk_id=clerk_id, scoped_key=scoped_key, request_fingerprint=request_fingerprint)
    except DomainError:
        # A retry may find the world changed since its first attempt (a material rejected,
        # the bundle retired): what the key already made is still its answer.
        existing = _first_for_key(scoped_key, request_fingerprint)
        if existing is None:
            raise
        return existing
    if render is not None:
        application.first_response = render(application)
    try:
        # Document.save itself: TimestampedDocument's would restamp updated_at after the first
        # answer was rendered with it.
        me.Document.save(application, force_insert=True)
    except (DuplicateKeyError, me.NotUniqueError):
        existing = _first_for_key(scoped_key, request_fingerprint)
        if existing is None:
            raise
        return existing
    log.info("application %s for %s submitted (%s, %d tasks)", application.id, bundle, channel,
             len(application.tasks))
    return application


# ── Officers' transitions ──────────────────────────────────────────────────────────────────────

def _task_loader(task_id: str, officer) -> Callable[[], Application]:
    def load() -> Application:
        application = Application.objects(__raw__={"tasks": {"$elemMatch": {
            "id": str(task_id), "department": officer.department}}}).exclude(
            "outbox", "events", "first_response").first()
        if application is None or not officer.department:
            raise NotFound("No such task.", "未找到该任务。", error="task_not_found")
        return application
    return load


def _waiting_for(application: Application, task: dict) -> list[str]:
    done = {t.matter for t in application.tasks if t.status == TaskStatus.COMPLETED}
    return [m for m in task.get("depends_on") or [] if m not in done]


def _not_claimable(application: Application, task: dict) -> InvalidState:
    status = task["status"]
    if status == TaskStatus.WAITING:
        return InvalidState("Task is waiting for: {m}", "任务正在等待：{m}",
                            error="task_not_claimable",
                            m=_matter_list(_waiting_for(application, task)))
    if status == TaskStatus.CLAIMED:
        return InvalidState("Task is already claimed.", "任务已被他人认领。",
                            error="task_not_claimable")
    return InvalidState("Task is {s}, not pending.", "任务状态为 {s}，不可认领。",
                        error="task_not_claimable", s=status)


def _require_claimed_by(application: Application, task: dict, officer) -> None:
    """Officers act on tasks they have claimed; anything else is a clear 409."""
    status = task["status"]
    if status == TaskStatus.CLAIMED and task.get("claimed_by") == _uid(officer):
        return
    if status == TaskStatus.WAITING:
        raise InvalidState("Task is waiting for: {m}", "任务正在等待：{m}", error="task_not_open",
                           m=_matter_list(_waiting_for(application, task)))
    if status == TaskStatus.PENDING:
        raise InvalidState("Claim the task first.", "请先认领该任务。", error="task_not_claimed")
    if status == TaskStatus.CLAIMED:
        raise InvalidState("Task is claimed by another officer.", "任务已由其他工作人员认领。",
                           error="task_not_claimed")
    raise InvalidState("Task is {s}.", "任务状态为 {s}。", error="task_not_open", s=status)


def _held_by(task: dict, officer) -> dict:
    """The filter that says the task is still claimed by this officer."""
    return {"tasks": {"$elemMatch": {"id": task["id"], "status": TaskStatus.CLAIMED.value,
                                     "department": officer.department,
                                     "claimed_by": _uid(officer)}}}


def _find(tasks: list[dict], task_id: str) -> dict:
    return next(t for t in tasks if t["id"] == str(task_id))


def claim_task(*, task_id: str, officer) -> Application:
    """An officer takes a pending task of their own department; one officer wins a race."""
    application = _task_loader(task_id, officer)()
    tasks = _plain(application)
    task = _find(tasks, task_id)
    now = utcnow()
    event = events.event("task_claimed", at=now, actor_role="officer", actor=_uid(officer),
                         task=task)
    task.update(status=TaskStatus.CLAIMED.value, claimed_by=_uid(officer), claimed_at=now)
    # A prediction from what was read: good enough, and the next write refreshes it.
    eta = _eta(definition_of(application.bundle, application.bundle_version), tasks, now)
    raw = Application._get_collection().find_one_and_update(
        {"_id": application.pk, "tasks": {"$elemMatch": {
            "id": task["id"], "status": TaskStatus.PENDING.value,
            "department": officer.department}}},
        {"$set": {"tasks.$[t].status": TaskStatus.CLAIMED.value,
                  "tasks.$[t].claimed_by": _uid(officer), "tasks.$[t].claimed_at": now,
                  "updated_at": now, "eta": eta},
         "$push": {"events": event}, "$inc": {"version": 1}},
        array_filters=[{"t.id": task["id"]}], projection={"first_response": 0},
        return_document=ReturnDocument.AFTER)
    if raw is None:
        fresh = _task_loader(task_id, officer)()
        raise _not_claimable(fresh, fresh.task(str(task_id)).to_mongo().to_dict())
    return Application._from_son(raw)


def check_outputs(step: dict, outputs: dict) -> dict:
    """Outputs as the matter defines them (required, type, pattern), else 422 per output."""
    definitions = {o["name"]: o for o in step.get("outputs") or []}
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    for name in outputs or {}:
        if name not in definitions:
            errors[f"outputs.{name}"] = [i18n.text("This matter has no such output.",
                                                   "该事项没有此项办理结果。")]
    for name, spec in definitions.items():
        value = (outputs or {}).get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if spec.get("required", True):
                errors[f"outputs.{name}"] = [i18n.text(
                    "{f} is required.", "请填写{f}。",
                    f=i18n.pick(spec.get("labels")) or name)]
            continue
        try:
            clean[name] = joint_form.check_value({**spec, "type": spec.get("type") or "string"},
                                                 value)
        except ValueError as exc:
            errors[f"outputs.{name}"] = [str(exc)]
    if errors:
        raise ValidationFailed("Some outputs are not valid.", "部分办理结果有误。",
                               error="invalid_outputs", errors=errors)
    return {name: _store_output(definitions[name].get("type"), value)
            for name, value in clean.items()}


def complete_task(*, task_id: str, officer, outputs: dict | None = None,
                  note: str | None = None) -> Application:
    """An officer completes their claimed task with its outputs; every dependent whose
    dependencies are now all complete is released to its queue with the outputs it needs, in
    the same write; the last task completes the application."""
    def decide(application: Application, now: datetime) -> Change:
        definition = definition_of(application.bundle, application.bundle_version)
        tasks = _plain(application)
        task = _find(tasks, task_id)
        _require_claimed_by(application, task, officer)
        step = step_of(definition, task["matter"])
        stored = check_outputs(step, outputs or {})
        # The e-licences' ids are known before they are issued: the task names them now.
        task.update(status=TaskStatus.COMPLETED.value, outputs=stored, completed_at=now,
                    elicences=list(dict.fromkeys([*(task.get("elicences") or []),
                                                  *_elicence_ids(step, task["id"], stored)])))
        if note:
            task["note"] = note
        released = release_ready(tasks, definition, now)
        status = application_status(application.status, tasks)
        recipient = application.applicant
        change = Change(tasks=tasks, set={"status": status, "eta": _eta(definition, tasks, now)},
                        guard=_held_by(task, officer))
        done = {"outputs": sorted(stored)}
        change.events.append(events.event("task_completed", at=now, actor_role="officer",
                                          actor=_uid(officer), task=task, data=done))
        change.intents.append(events.intent("task_completed", at=now, application=application,
                                            recipient=recipient, task=task, data=done))
        for other in released:
            change.events.append(events.event("task_routed", at=now, actor_role="system",
                                              task=other))
            change.intents.append(events.intent("task_routed", at=now, application=application,
                                                recipient=recipient, task=other))
        if status == ApplicationStatus.COMPLETED and application.status != status:
            change.set["completed_at"] = now
            change.events.append(events.event("application_completed", at=now,
                                              actor_role="system"))
            change.intents.append(events.intent("application_completed", at=now,
                                                application=application, recipient=recipient))
        return change

    load = _task_loader(task_id, officer)
    try:
        application, _ = _transition(load, decide)
    except InvalidState:
        # A retry of a completion that was written but whose follow-up did not finish (the
        # process died, the vault was down) still gets its e-licences, then hears the 409.
        current = load()
        task = current.task(str(task_id))
        if task.status == TaskStatus.COMPLETED and task.claimed_by == _uid(officer):
            _after_completion(current, str(task_id))
        raise
    return _after_completion(application, str(task_id))


def _elicence_ids(step: dict, task_id: str, outputs: dict) -> list[str]:
    """The ids of the e-licences a completion with these outputs issues."""
    return [vault.elicence_id(task_id=task_id, type=output["elicence"])
            for output in step.get("outputs") or []
            if output.get("elicence") and outputs.get(output["name"]) is not None]


def _after_completion(application: Application, task_id: str) -> Application:
    """What a completion issues outside the application: e-licences in the vault, the
    newborn's ID number on the family entry. Each step is one idempotent write, so repeating
    is safe (a retried completion repairs what a crash left undone)."""
    task = application.task(task_id)
    definition = definition_of(application.bundle, application.bundle_version)
    step = step_of(definition, task.matter)
    subject = application.subject or {}
    subject_id = subject.get("id") if subject.get("kind") == "family" else None
    issued = []
    for output in step.get("outputs") or []:
        value = task.outputs.get(output["name"])
        if output.get("elicence") and value is not None:
            material = vault.issue_elicence(
                owner_id=application.applicant, subject_id=subject_id, type=output["elicence"],
                issuer=task.department, number=str(reveal(value)),
                application_id=str(application.id), task_id=task.id)
            issued.append(str(material.id))
    number = task.outputs.get(SUBJECT_ID_NUMBER_OUTPUT)
    if number is not None and subject_id:
        try:
            identity.set_family_member_id_number(owner_id=application.applicant,
                                                 member_id=subject_id, id_number=reveal(number))
        except DomainError as exc:
            log.warning("could not record the issued ID number on family member %s: %s",
                        subject_id, exc.error)
    if set(issued) - set(task.elicences or []):
        # Issued before e-licence ids were derived from the task: name the ones it has.
        raw = Application._get_collection().find_one_and_update(
            {"_id": application.pk},
            {"$set": {"tasks.$[t].elicences": issued, "updated_at": utcnow()},
             "$inc": {"version": 1}},
            array_filters=[{"t.id": task.id}], projection={"first_response": 0},
            return_document=ReturnDocument.AFTER)
        if raw is not None:
            application = Application._from_son(raw)
    return application


def _required_reason(reason: str | None) -> str:
    """The citizen is always told why: an officer's refusal or request needs a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(errors={"reason": [i18n.text("A reason is required.",
                                                            "请填写原因。")]})
    return reason


def reject_task(*, task_id: str, officer, reason: str) -> Application:
    """An officer refuses their claimed task with a reason: the application is rejected, the
    matters that depended on it are cancelled, the citizen is told why."""
    reason = _required_reason(reason)

    def decide(application: Application, now: datetime) -> Change:
        definition = definition_of(application.bundle, application.bundle_version)
        tasks = _plain(application)
        task = _find(tasks, task_id)
        _require_claimed_by(application, task, officer)
        task.update(status=TaskStatus.REJECTED.value, reason=reason, completed_at=now)
        doomed = _dependents(tasks, task["matter"])
        cancelled = [t for t in tasks if t["matter"] in doomed and t["status"] in
                     OPEN_TASK_STATUSES]
        in_queues = [dict(t) for t in cancelled if t["status"] != TaskStatus.WAITING]
        for other in cancelled:
            other.update(status=TaskStatus.CANCELLED.value, paused_at=None)
        status = application_status(application.status, tasks)
        change = Change(tasks=tasks, guard=_held_by(task, officer), set={
            "status": status, "eta": _eta(definition, tasks, now),
            "supplement": consolidated_supplement(application.supplement, tasks, now)})
        data = {"reason": reason}
        change.events.append(events.event("task_rejected", at=now, actor_role="officer",
                                          actor=_uid(officer), task=task, data=data))
        change.events += [events.event("task_cancelled", at=now, actor_role="system", task=t)
                          for t in cancelled]
        if application.status != ApplicationStatus.REJECTED:
            change.set["reason"] = reason
            change.events.append(events.event("application_rejected", at=now,
                                              actor_role="officer", actor=_uid(officer),
                                              task=task, data=data))
        change.intents.append(events.intent("application_rejected", at=now,
                                            application=application,
                                            recipient=application.applicant, task=task,
                                            data=data))
        change.intents += _department_alerts("application_rejected", application, in_queues,
                                             now, {"reason": "dependency_rejected"})
        return change

    application, _ = _transition(_task_loader(task_id, officer), decide)
    return application


def _check_supplement_request(definition: dict, materials: list[str], fields: list[str]) -> None:
    errors: dict[str, list[str]] = {}
    known_types = {m["code"] for m in definition["materials"]}
    unknown = [m for m in materials if m not in known_types]
    if unknown:
        known_types |= set(MaterialType.objects(code__in=unknown).scalar("code"))
    bad = [m for m in materials if m not in known_types]
    if bad:
        errors["materials"] = [i18n.text("Unknown material type: {m}.", "未知材料类型：{m}。",
                                         m=m) for m in bad]
    form_names = {f["name"] for f in definition["form"]}
    bad = [f for f in fields if f not in form_names]
    if bad:
        errors["fields"] = [i18n.text("The joint form has no field {f}.",
                                      "联办申请表没有字段 {f}。", f=f) for f in bad]
    if not materials and not fields:
        errors["materials"] = [i18n.text("Ask for at least one material or field.",
                                         "请至少指明一项材料或字段。")]
    if errors:
        raise ValidationFailed(errors=errors)


def request_supplement(*, task_id: str, officer, materials: list[str] | None = None,
                       fields: list[str] | None = None, reason: str) -> Application:
    """An officer asks for more; the citizen gets all open requests as one, only the asking
    task stops (its clock paused) and the others go on."""
    materials = list(dict.fromkeys(materials or []))
    fields = list(dict.fromkeys(fields or []))
    reason = _required_reason(reason)

    def decide(application: Application, now: datetime) -> Change:
        definition = definition_of(application.bundle, application.bundle_version)
        tasks = _plain(application)
        task = _find(tasks, task_id)
        _require_claimed_by(application, task, officer)
        _check_supplement_request(definition, materials, fields)
        task.update(status=TaskStatus.NEEDS_SUPPLEMENT.value, paused_at=now, reason=reason,
                    supplement={"materials": materials, "fields": fields, "reason": reason,
                                "at": now})
        request = consolidated_supplement(application.supplement, tasks, now)
        change = Change(tasks=tasks, guard=_held_by(task, officer), set={
            "status": application_status(application.status, tasks), "supplement": request,
            "eta": _eta(definition, tasks, now)})
        change.events.append(events.event(
            "supplement_requested", at=now, actor_role="officer", actor=_uid(officer), task=task,
            data={"reason": reason, "materials": materials, "fields": fields}))
        change.intents.append(events.intent(
            "supplement_requested", at=now, application=application,
            recipient=application.applicant, task=task,
            data={"request": request["id"], "materials": request["materials"],
                  "fields": request["fields"], "reason": reason}))
        return change

    application, _ = _transition(_task_loader(task_id, officer), decide)
    return application


# ── Citizens' transitions ──────────────────────────────────────────────────────────────────────

def _own_application_loader(application_id: str, citizen) -> Callable[[], Application]:
    """The citizen's own application; a family member's they may see but not act on is 403."""
    def load() -> Application:
        application = applications.get_for_citizen(application_id=application_id,
                                                   citizen=citizen)
        if application.applicant != _uid(citizen):
            raise Forbidden("Only the applicant may do this.", "只有申请人可以执行此操作。")
        return application
    return load


def answer_supplement(*, application_id: str, citizen, materials: list[str] | None = None,
                      form: dict | None = None) -> Application:
    """The citizen answers the one consolidated request; the tasks return to their queues and
    their clocks resume."""
    materials = list(dict.fromkeys(materials or []))
    form = form or {}

    def decide(application: Application, now: datetime) -> Change:
        request = application.supplement or {}
        if not request.get("id"):
            raise InvalidState("Nothing was asked for this application.",
                               "该办件没有待补正的内容。", error="no_supplement_requested")
        definition = definition_of(application.bundle, application.bundle_version)
        errors: dict[str, list[str]] = {}
        clean: dict = {}
        asked_fields = request.get("fields") or []
        try:
            clean = joint_form.validate(definition["form"], form, only=asked_fields)
        except ValidationFailed as exc:
            errors.update(exc.errors)
        chosen: dict[str, str] = {}
        asked_types = request.get("materials") or []
        try:
            chosen = {str(m.id): m.type for m in vault.resolve_for_application(
                owner_id=application.applicant, material_ids=materials,
                allowed_types=asked_types)}
        except ValidationFailed as exc:
            errors.update(exc.errors)
        missing = [t for t in asked_types if t not in chosen.values()]
        if missing and not errors.get("materials"):
            errors["materials"] = [i18n.text(
                "Please add: {m}.", "请提供：{m}。",
                m=i18n.text(", ", "、").join(_material_name(definition, t) for t in missing))]
        if errors:
            raise ValidationFailed("The answer is not complete.", "补正内容不完整。",
                                   errors=errors)
        plain, protected = joint_form.split_personal(definition["form"], clean)
        tasks = _plain(application)
        returned = []
        for task in tasks:
            if task["status"] != TaskStatus.NEEDS_SUPPLEMENT:
                continue
            returned.append(dict(task))
            due = deadlines.paused_due_at(due_at=task.get("due_at"),
                                          paused_at=task.get("paused_at") or now, resumed_at=now)
            task.update(status=TaskStatus.PENDING.value, paused_at=None, supplement={},
                        claimed_by=None, claimed_at=None, reason=None, due_at=due,
                        overdue=bool(task.get("overdue")) and (due is None or due <= now))
        sets = {f"form.{k}": v for k, v in plain.items()}
        sets.update({f"form_protected.{k}": v for k, v in protected.items()})
        sets.update({f"material_types.{k}": v for k, v in chosen.items()})
        sets.update(supplement={}, status=application_status(application.status, tasks),
                    eta=_eta(definition, tasks, now))
        new_materials = [m for m in chosen if m not in application.materials]
        change = Change(tasks=tasks, set=sets, push={"materials": new_materials},
                        guard={"supplement.id": request["id"]})
        change.events.append(events.event(
            "supplement_answered", at=now, actor_role="citizen", actor=_uid(citizen),
            data={"request": request.get("id"), "materials": sorted(set(chosen.values())),
                  "fields": sorted(clean)}))
        for task in returned:
            change.events.append(events.event("task_resumed", at=now, actor_role="system",
                                              task=task))
        change.intents += _department_alerts("task_routed", application, returned, now,
                                             {"reason": "supplement_answered"})
        return change

    application, _ = _transition(_own_application_loader(application_id, citizen), decide)
    return application


def withdraw(*, application_id: str, citizen) -> Application:
    """The citizen withdraws before any department completed a matter; open tasks are cancelled
    and their departments told."""
    def decide(application: Application, now: datetime) -> Change:
        if application.status not in OPEN_APPLICATION_STATUSES:
            raise InvalidState("The application is {s} and cannot be withdrawn.",
                               "该办件状态为 {s}，无法撤回。",
                               error="application_not_withdrawable", s=application.status)
        tasks = _plain(application)
        if any(t["status"] == TaskStatus.COMPLETED for t in tasks):
            raise InvalidState("A department has already completed a matter of it.",
                               "已有部门办结其中的事项，无法撤回。",
                               error="application_not_withdrawable")
        open_tasks = [t for t in tasks if t["status"] in OPEN_TASK_STATUSES]
        in_queues = [dict(t) for t in open_tasks if t["status"] != TaskStatus.WAITING]
        for task in open_tasks:
            task.update(status=TaskStatus.CANCELLED.value, paused_at=None)
        change = Change(tasks=tasks, set={"status": ApplicationStatus.WITHDRAWN.value,
                                          "supplement": {}, "eta": None},
                        guard={"status": application.status})
        change.events.append(events.event("application_withdrawn", at=now,
                                          actor_role="citizen", actor=_uid(citizen)))
        change.events += [events.event("task_cancelled", at=now, actor_role="system", task=t)
                          for t in open_tasks]
        change.intents.append(events.intent("application_withdrawn", at=now,
                                            application=application,
                                            recipient=application.applicant))
        change.intents += _department_alerts("application_withdrawn", application, in_queues,
                                             now, {"reason": "withdrawn"})
        return change

    application, _ = _transition(_own_application_loader(application_id, citizen), decide)
    return application
