"""Submitting: one joint form becomes one application with a task per matter; withdrawing."""
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId
from flask import current_app

from common import i18n
from models.application import (
    OPEN_APPLICATION_STATUSES,
    OPEN_TASK_STATUSES,
    Application,
    ApplicationStatus,
    FollowUp,
    TaskStatus,
    with_queue_key,
)
from models.base import DUPLICATE, utcnow
from models.material import Material
from models.user import User
from services.catalogue import joint_form, local, publishing
from services.errors import (
    DomainError,
    Forbidden,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from services.identity import family_members, family_numbers
from services.materials import vault
from services.regions import divisions
from services.workflow import applications, events, idempotency, subjects
from services.workflow.routing import department_alerts, due_time, expected_completion
from services.workflow.transitions import Change, definition_of, plain_tasks, transition, user_id_of

log = logging.getLogger(__name__)


def _published(code: str) -> dict:
    """The bundle's current definition, snapshotted so the application can keep it for life."""
    try:
        version = publishing.live_version(code)
        try:
            return definition_of(code, version)
        except NotFound:  # live in the documents, not published yet: publish it first
            return definition_of(code, publishing.publish_bundle_version(code)["version"])
    except NotFound:
        raise ValidationFailed("No such bundle.", "没有这项“一件事”。", error="bundle_not_found",
                               errors={"bundle": [i18n.text("No bundle {b}.", "没有一件事 {b}。",
                                                            b=code)]}) from None


def material_name(definition: dict, code: str) -> str:
    entry = next((m for m in definition["materials"] if m["code"] == code), None)
    return i18n.pick((entry or {}).get("names")) or code


def _gather_materials(applicant: User, definition: dict, material_ids: list[str],
                      stored: list[dict], subject_member, errors: dict) -> dict[str, str]:
    """{material id: type} given or already on file; missing types are added to `errors`."""
    checklist = [m["code"] for m in definition["materials"]]
    chosen: dict[str, str] = {}
    try:
        for material in vault.resolve_for_application(owner_id=str(applicant.id),
                                                      material_ids=material_ids,
                                                      allowed_types=checklist,
                                                      stored=stored):
            chosen[str(material.id)] = material.type
    except ValidationFailed as exc:
        for key, messages in exc.errors.items():
            errors.setdefault(key, []).extend(messages)
        return chosen
    missing = [m["code"] for m in publishing.materials_to_give(definition)
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
            m=i18n.text(", ", "、").join(material_name(definition, t) for t in missing)))
    return chosen


def application_region(applicant: User, asked: str | None) -> str:
    """Where an application is made: the region asked for, else where the citizen lives, else
    the configured default (none in production: then the citizen must say)."""
    if asked:
        return divisions.get(asked, field="region").code
    if applicant.region and divisions.is_known(applicant.region):
        return applicant.region
    default = current_app.config.get("DEFAULT_REGION")
    if default:
        return divisions.get(default, field="region").code
    en = "Choose the region you apply in (a county-level division, see GET /api/v1/regions)."
    zh = "请选择办理地（县级行政区划，见 GET /api/v1/regions）。"
    raise ValidationFailed(en, zh, error="region_required", errors={"region": [
        i18n.text(en, zh)]})


def _new_tasks(definition: dict, placed: list[dict], now: datetime) -> list[dict]:
    """One task per step, each at its department in the region that handles it there, with that
    region's promised limit and service window: as the model stores a Task."""
    where = {p["matter"]: p for p in placed}
    tasks = []
    for step in definition["steps"]:
        ready = not step.get("depends_on")
        here = where[step["matter"]]
        task = {
            "id": uuid.uuid4().hex, "matter": step["matter"], "name": step.get("names") or {},
            "department": step["department"],
            "department_name": step.get("department_names") or {},
            "region": here["region"], "promised": here["promised"] or {},
            "window": here["window"] or {},
            "status": (TaskStatus.PENDING if ready else TaskStatus.WAITING).value,
            "depends_on": list(step.get("depends_on") or []),
            "material_types": list(step.get("materials") or []),
            "needs": list(step.get("inputs") or []), "inputs": {}, "outputs": {},
            "overdue": False, "supplement": {}, "elicences": [],
        }
        if ready:
            task.update(released_at=now, due_at=due_time(now, here["promised"]))
        tasks.append(applications.Stored(with_queue_key(task)))
    return tasks


def _build(*, applicant: User, family: list, found: family_members.Known, bundle: str,
           subject: dict | None, form: dict,
           materials: list[str], stored_materials: list[dict],
           channel: str, station: str | None, clerk_id: str | None, scoped_key: str,
           request_fingerprint: str, region: str | None) -> applications.Stored:
    """The whole application, checked and built in memory as the document the model stores
    (only a newborn is added first)."""
    region = application_region(applicant, region)
    definition = _published(bundle)
    # Every matter must find its department in the region that handles it: never a task that
    # no officer can see.
    placed = local.plan(definition, region)
    if not all(p["available"] for p in placed):
        raise local.missing_departments(definition, region, placed)
    errors: dict[str, list[str]] = {}
    kind, member = subjects.resolve(subject, definition, family)
    known = joint_form.known_values(applicant=applicant, subject_member=member,
                                    subject_is_applicant=kind == "self", family=family)
    clean: dict = {}
    try:
        clean = joint_form.validate(definition["form"], form, known)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    typed = subjects.typed_family_numbers(definition, clean, known, family, member)
    refusal = subjects.check_family_numbers(applicant, typed, family, found, errors)
    chosen = _gather_materials(applicant, definition, materials, stored_materials, member,
                               errors)
    if errors:
        raise ValidationFailed("Some answers are not valid.", "部分内容有误。", errors=errors,
                               error=refusal)

    # Checked above: now they are the family's records. A new entry is written with the
    # newborn when there is one to add (one command for both).
    entries = family_numbers.new_entries(applicant=applicant, typed=typed, known=found)
    if kind == "newborn":
        member = subjects.child_from_form(applicant, definition, clean, family, scoped_key, entries)
    family_numbers.record(applicant=applicant, typed=typed, entries=entries)
    subject_doc = ({"kind": "self", "id": str(applicant.id), "relation": "self",
                    "name": applications.seal_name(applicant.name)} if member is None else
                   {"kind": "family", "id": str(member.id), "relation": member.relation,
                    "name": applications.seal_name(member.name)})
    plain, protected = joint_form.split_personal(definition["form"], clean)
    now = utcnow()
    tasks = _new_tasks(definition, placed, now)
    actor_role, actor = (("clerk", str(clerk_id)) if clerk_id else
                         ("citizen", str(applicant.id)))
    data = {"channel": channel, **({"station": station} if station else {})}
    # The stored document itself, every field as the model writes it (its defaults included,
    # None left out): the model's validation and conversion of a document built here, from
    # values checked above, were a fifth of the CPU of applying.
    application = applications.Stored(
        _id=ObjectId(), created_at=now, updated_at=now, applicant=str(applicant.id),
        subject=subject_doc, bundle=bundle, bundle_version=definition["version"],
        bundle_name=definition.get("names") or {}, region=region, form=plain,
        form_protected=protected, materials=list(chosen), material_types=chosen,
        status=ApplicationStatus.IN_PROGRESS.value, tasks=tasks, events=[], outbox=[],
        outbox_pending=True, supplement={}, channel=channel, idempotency_key=scoped_key,
        request_fingerprint=request_fingerprint, first_response={},
        open_key=f"{bundle}:{subject_doc['id']}", version=1,
        follow_ups=[FollowUp.FIGURES_SUBMITTED.value], figures_batches=[])
    optional = {"station": station, "clerk": str(clerk_id) if clerk_id else None,
                "eta": expected_completion(definition, tasks, now)}
    application.update((k, v) for k, v in optional.items() if v is not None)
    application.events.append(events.event("application_received", at=now,
                                           actor_role=actor_role, actor=actor, data=data))
    application.outbox.append(events.intent("application_received", at=now,
                                            application=application, recipient=applicant.id,
                                            data=data))
    for task in tasks:
        if task["status"] == TaskStatus.PENDING:
            application.events.append(events.event("task_routed", at=now, actor_role="system",
                                                   task=task))
            application.outbox.append(events.intent("task_routed", at=now,
                                                    application=application,
                                                    recipient=applicant.id, task=task))
    return application


def _applicant(applicant_id: str, *, at_station: bool = False, subject: dict | None = None,
               form: dict | None = None, materials: list[str] | None = None
               ) -> tuple[User, list, list[dict], family_members.Known]:
    """The applicant, the members of their family the application may concern, the materials
    it names, and the verified citizens holding the ID numbers typed: one read for the subject,
    prefills, the family check, the newborn and the entries the typed numbers add."""
    numbers, dates = subjects.typed_in(form or {})
    applicant, family, joined, known = family_members.citizen_family_and_documents(
        str(applicant_id), members=subjects.family_that_may_matter(subject, numbers, dates),
        numbers=sorted(numbers),
        documents={"materials": (Material._get_collection_name(),
                                 vault.material_object_ids(materials or []))})
    if applicant is None:
        raise NotFound("No such citizen.", "未找到该居民。", error="citizen_not_found")
    if not applicant.real_name_verified and not at_station:
        # Without it anybody could apply with another person's ID number in the form; at a
        # station the clerk has checked the citizen's identity card in person.
        raise Forbidden("Verify your real name before applying.", "请先完成实名认证再申请。",
                        error="real_name_required")
    return applicant, family, joined["materials"], known


def _already_open(open_key: str) -> InvalidState:
    """409 naming the application that is still open for this bundle and person."""
    open_one = Application.objects(open_key=open_key).only("id").first()
    return InvalidState(
        "An application for this is still open ({id}): follow it, or withdraw it first.",
        "此事项已有一件正在办理的申请（{id}），请查看进度或先撤回。",
        error="application_already_open", id=str(open_one.id) if open_one else "-",
        errors={"application": [str(open_one.id)]} if open_one else {})


def _first_for_key(scoped_key: str, request_fingerprint: str) -> Application | None:
    """The application a key already made, for a retry of the same request (else 422)."""
    existing = Application.objects(idempotency_key=scoped_key).first()
    if existing is not None and existing.request_fingerprint != request_fingerprint:
        raise idempotency.reused()
    return existing


@dataclass(frozen=True)
class Made:
    """What a keyed request to apply made: the document it inserted, or, for a retry or a
    concurrent twin, the application its key had made before."""

    id: ObjectId
    stored: applications.Stored | None = None
    earlier: Application | None = None

    def application(self) -> Application:
        """As the model (built only when asked: the API's answer needs none)."""
        return self.earlier or Application._from_son(self.stored, created=False)


def submit_application(**request) -> Application:
    """submit() (same arguments), its application as the model."""
    return submit(**request).application()


def submit(*, applicant_id: str, bundle: str, subject: dict | None, form: dict | None,
           materials: list[str] | None, idempotency_key: str, channel: str = "app",
           station: str | None = None, clerk_id: str | None = None, region: str | None = None,
           render: Callable[[applications.Stored], dict] | None = None) -> Made:
    """A citizen applies for a bundle once per Idempotency-Key: one task per matter, the ready
    ones pending in their departments' queues at once, the others waiting for theirs.

    The application is made in `region` (default: where the citizen lives, else DEFAULT_REGION);
    each matter goes to its department in the region at the matter's level, and a region that
    lacks one of those departments refuses the application, naming the department and matter.

    The application is the record of its key (unique per caller): it is built whole and inserted
    once, with `render(application)` (the first answer, rendered from the document inserted)
    when given; a retry or a concurrent twin loses the insert and gets the application the key
    made, whose `first_response` it replays. A request refused on the way stores nothing, so
    its key stays free.
    """
    # Callers may scope their own key further (a station prefixes it): allow them the room.
    key = idempotency.check_key(idempotency_key, max_length=512)
    scoped_key = f"{clerk_id or applicant_id}:{key}"
    # Left out, the subject is the bundle's natural one (resolved with the bundle); the key
    # remembers the request as it was sent.
    subject = subject or None
    request = {"applicant": str(applicant_id), "bundle": bundle, "subject": subject,
               "form": form or {}, "materials": list(materials or []), "channel": channel,
               "station": station}
    if region:
        request["region"] = region  # only when asked: older keys keep their fingerprints
    request_fingerprint = idempotency.fingerprint(request)
    try:
        applicant, family, stored_materials, known = _applicant(
            applicant_id, at_station=clerk_id is not None, subject=subject, form=form,
            materials=materials)
        application = _build(
            applicant=applicant, family=family, found=known, bundle=bundle,
            subject=subject, form=form or {}, materials=list(materials or []),
            stored_materials=stored_materials, channel=channel, station=station,
            clerk_id=clerk_id, scoped_key=scoped_key, request_fingerprint=request_fingerprint,
            region=region)
    except DomainError:
        # A retry may find the world changed since its first attempt (a material rejected,
        # the bundle retired): what the key already made is still its answer.
        existing = _first_for_key(scoped_key, request_fingerprint)
        if existing is None:
            raise
        return Made(id=existing.id, earlier=existing)
    if render is not None:
        application["first_response"] = applications.seal_answer(render(application))
    try:
        Application._get_collection().insert_one(application)
    except DUPLICATE:
        existing = _first_for_key(scoped_key, request_fingerprint)
        if existing is None:
            raise _already_open(application["open_key"]) from None
        return Made(id=existing.id, earlier=existing)
    log.info("application %s for %s submitted (%s, %d tasks)", application.id, bundle, channel,
             len(application.tasks))
    return Made(id=application.id, stored=application)



def own_application_loader(application_id: str, citizen) -> Callable[[], Application]:
    """The citizen's own application; a family member's they may see but not act on is 403."""
    def load() -> Application:
        application = applications.get_for_citizen(application_id=application_id,
                                                   citizen=citizen)
        if application.applicant != user_id_of(citizen):
            raise Forbidden("Only the applicant may do this.", "只有申请人可以执行此操作。")
        return application
    return load


def withdraw(*, application_id: str, citizen) -> Application:
    """The citizen withdraws before any department completed a matter; open tasks are cancelled
    and their departments told."""
    def decide(application: Application, now: datetime) -> Change:
        if application.status not in OPEN_APPLICATION_STATUSES:
            raise InvalidState("The application is {s} and cannot be withdrawn.",
                               "该办件状态为 {s}，无法撤回。",
                               error="application_not_withdrawable", s=application.status)
        tasks = plain_tasks(application)
        if any(t["status"] == TaskStatus.COMPLETED for t in tasks):
            raise InvalidState("A department has already completed a matter of it.",
                               "已有部门办结其中的事项，无法撤回。",
                               error="application_not_withdrawable")
        open_tasks = [t for t in tasks if t["status"] in OPEN_TASK_STATUSES]
        in_queues = [dict(t) for t in open_tasks if t["status"] != TaskStatus.WAITING]
        for task in open_tasks:
            task.update(status=TaskStatus.CANCELLED.value, paused_at=None, cancelled_at=now)
        change = Change(tasks=tasks, set={"status": ApplicationStatus.WITHDRAWN.value,
                                          "supplement": {}, "eta": None})
        change.events.append(events.event("application_withdrawn", at=now,
                                          actor_role="citizen", actor=user_id_of(citizen)))
        change.events += [events.event("task_cancelled", at=now, actor_role="system", task=t)
                          for t in open_tasks]
        change.intents.append(events.intent("application_withdrawn", at=now,
                                            application=application,
                                            recipient=application.applicant))
        change.intents += department_alerts("application_withdrawn", application, in_queues,
                                             now, {"reason": "withdrawn"})
        return change

    application, _ = transition(own_application_loader(application_id, citizen), decide)
    return application
