"""Supplements (补正): an officer asks for more, the citizen answers, the task resumes."""
from datetime import datetime

from common import i18n
from models.application import (
    Application,
    TaskStatus,
)
from models.catalogue import MaterialType
from models.material import Material, MaterialStatus
from services.catalogue import joint_form
from services.errors import (
    InvalidState,
    ValidationFailed,
)
from services.materials import vault
from services.workflow import deadlines, events
from services.workflow.handling import (
    by,
    find_task,
    officer_transition,
    require_claimed_by,
    required_reason,
)
from services.workflow.routing import department_alerts, expected_completion
from services.workflow.submission import material_name, own_application_loader
from services.workflow.transitions import (
    Change,
    application_status,
    consolidated_supplement,
    definition_of,
    plain_tasks,
    transition,
    user_id_of,
)


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
    reason = required_reason(reason)

    def decide(application: Application, now: datetime) -> Change | None:
        definition = definition_of(application.bundle, application.bundle_version)
        tasks = plain_tasks(application)
        task = find_task(tasks, task_id)
        asked = task.get("supplement") or {}
        if (task["status"] == TaskStatus.NEEDS_SUPPLEMENT and by(task, officer)
                and (asked.get("materials"), asked.get("fields"), asked.get("reason"))
                == (materials, fields, reason)):
            return None  # a retry whose first attempt landed: the citizen is asked once
        require_claimed_by(application, task, officer)
        _check_supplement_request(definition, materials, fields)
        task.update(status=TaskStatus.NEEDS_SUPPLEMENT.value, paused_at=now, reason=reason,
                    supplement={"materials": materials, "fields": fields, "reason": reason,
                                "at": now})
        request = consolidated_supplement(application.supplement, tasks, now)
        change = Change(tasks=tasks, set={
            "status": application_status(application.status, tasks), "supplement": request,
            "eta": expected_completion(definition, tasks, now)})
        change.events.append(events.event(
            "supplement_requested", at=now, actor_role="officer", actor=user_id_of(officer),
            task=task,
            data={"reason": reason, "materials": materials, "fields": fields}))
        change.intents.append(events.intent(
            "supplement_requested", at=now, application=application,
            recipient=application.applicant, task=task,
            data={"request": request["id"], "materials": request["materials"],
                  "fields": request["fields"], "reason": reason}))
        return change

    return officer_transition(task_id, officer, decide)


def answer_supplement(*, application_id: str, citizen, materials: list[str] | None = None,
                      form: dict | None = None) -> Application:
    """The citizen answers the one consolidated request; the tasks return to their queues and
    their clocks resume."""
    materials = list(dict.fromkeys(materials or []))
    form = form or {}
    answering: list[str] = []  # the request this call first found open

    def decide(application: Application, now: datetime) -> Change:
        request = application.supplement or {}
        if not request.get("id"):
            if answering and _answered_by(application, answering[0], citizen):
                raise _AnsweredAlready(application)
            raise InvalidState("Nothing was asked for this application.",
                               "该办件没有待补正的内容。", error="no_supplement_requested")
        answering[:1] = [request["id"]]
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
                m=i18n.text(", ", "、").join(material_name(definition, t) for t in missing))]
        if errors:
            raise ValidationFailed("The answer is not complete.", "补正内容不完整。",
                                   errors=errors)
        plain, protected = joint_form.split_personal(definition["form"], clean)
        tasks = plain_tasks(application)
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
                    eta=expected_completion(definition, tasks, now))
        new_materials = [m for m in chosen if m not in application.materials]
        change = Change(tasks=tasks, set=sets, push={"materials": new_materials})
        change.events.append(events.event(
            "supplement_answered", at=now, actor_role="citizen", actor=user_id_of(citizen),
            data={"request": request.get("id"), "materials": sorted(set(chosen.values())),
                  "fields": sorted(clean)}))
        for task in returned:
            change.events.append(events.event("task_resumed", at=now, actor_role="system",
                                              task=task))
        change.intents += department_alerts("task_routed", application, returned, now,
                                             {"reason": "supplement_answered"})
        return change

    try:
        application, _ = transition(own_application_loader(application_id, citizen), decide)
    except _AnsweredAlready as done:
        return done.application
    return application


class _AnsweredAlready(Exception):
    """The request this call answers is answered, by this citizen: a driver's retry of the
    stored write (the embedded server does not deduplicate it) read it back."""

    def __init__(self, application: Application):
        super().__init__()
        self.application = application


def _answered_by(application: Application, request_id: str, citizen) -> bool:
    return any(e.get("type") == "supplement_answered"
               and (e.get("data") or {}).get("request") == request_id
               and e.get("actor") == user_id_of(citizen) for e in application.events or [])


def review_material(*, material_id: str, officer, decision: str, reason: str | None,
                    task_id: str) -> Material:
    """An officer marks a material their task needs verified or rejected; rejecting asks the
    citizen for a new one of that type on the task, and if the task refuses, nothing changes."""
    access, reason = vault.check_review(material_id=material_id, officer=officer,
                                        decision=decision, reason=reason, task_id=task_id)
    if decision == MaterialStatus.REJECTED:
        request_supplement(task_id=access.task, officer=officer, materials=[access.material.type],
                           fields=[], reason=reason)
    return vault.record_review(access=access, officer=officer, decision=decision, reason=reason)
