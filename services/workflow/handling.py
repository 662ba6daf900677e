"""An officer handles a task: claims it, completes it with its outputs, or rejects it."""
import logging
from collections.abc import Callable
from datetime import datetime

from common import i18n
from models import indexed_writes
from models.application import (
    OPEN_TASK_STATUSES,
    Application,
    ApplicationStatus,
    TaskStatus,
)
from models.base import utcnow
from services.catalogue import joint_form
from services.errors import (
    DomainError,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from services.identity import family_members
from services.materials import vault
from services.workflow import events, recent
from services.workflow.applications import in_fence, officer_task
from services.workflow.routing import (
    department_alerts,
    dependents,
    expected_completion,
    release_ready,
    store_output,
)
from services.workflow.transitions import (
    Change,
    application_status,
    consolidated_supplement,
    definition_of,
    matter_list,
    plain_tasks,
    reveal,
    step_of,
    transition,
    user_id_of,
)

log = logging.getLogger(__name__)


# The output that carries the subject's newly issued resident ID number (newborn registration).
SUBJECT_ID_NUMBER_OUTPUT = "citizen_id_number"



def task_loader(task_id: str, officer) -> Callable[[], Application]:
    """The application holding the task, if it is the officer's: their department, their region
    (anything else is not found, exactly like a task that does not exist)."""
    def load() -> Application:
        application = officer_task(task_id, officer, *recent.EXCLUDED)
        if application is None:
            raise NotFound("No such task.", "未找到该任务。", error="task_not_found")
        return application
    return load


def officer_transition(task_id: str, officer,
                       decide: Callable[[Application, datetime], Change | None]) -> Application:
    """An officer's transition of their task, tried first on the copy of its application this
    process last read or wrote (one command instead of a read and a write when it is still
    current), and kept for their next step."""
    copy = recent.holding(task_id)
    if copy is not None and not in_fence(copy.task(str(task_id)), officer):
        copy = None
    application, _ = transition(task_loader(task_id, officer), decide, recent=copy)
    recent.keep(application)
    return application


def by(task: dict, officer) -> bool:
    """Whether this officer holds (or held, when they finished it) the task."""
    return task.get("claimed_by") == user_id_of(officer)


def _waiting_for(application: Application, task: dict) -> list[str]:
    done = {t.matter for t in application.tasks if t.status == TaskStatus.COMPLETED}
    return [m for m in task.get("depends_on") or [] if m not in done]


def _not_claimable(application: Application, task: dict) -> InvalidState:
    status = task["status"]
    if status == TaskStatus.WAITING:
        return InvalidState("Task is waiting for: {m}", "任务正在等待：{m}",
                            error="task_not_claimable",
                            m=matter_list(_waiting_for(application, task)))
    if status == TaskStatus.CLAIMED:
        return InvalidState("Task is already claimed.", "任务已被他人认领。",
                            error="task_not_claimable")
    return InvalidState("Task is {s}, not pending.", "任务状态为 {s}，不可认领。",
                        error="task_not_claimable", s=status)


def require_claimed_by(application: Application, task: dict, officer) -> None:
    """Officers act on tasks they have claimed; anything else is a clear 409."""
    status = task["status"]
    if status == TaskStatus.CLAIMED and task.get("claimed_by") == user_id_of(officer):
        return
    if status == TaskStatus.WAITING:
        raise InvalidState("Task is waiting for: {m}", "任务正在等待：{m}", error="task_not_open",
                           m=matter_list(_waiting_for(application, task)))
    if status == TaskStatus.PENDING:
        raise InvalidState("Claim the task first.", "请先认领该任务。", error="task_not_claimed")
    if status == TaskStatus.CLAIMED:
        raise InvalidState("Task is claimed by another officer.", "任务已由其他工作人员认领。",
                           error="task_not_claimed")
    raise InvalidState("Task is {s}.", "任务状态为 {s}。", error="task_not_open", s=status)


def find_task(tasks: list[dict], task_id: str) -> dict:
    return next(t for t in tasks if t["id"] == str(task_id))


def claim_task(*, task_id: str, officer) -> Application:
    """An officer takes a pending task of their own department and region; one officer wins a
    race (the database decides: the write is conditional on the application's version, so it
    lands only on the state in which the task was read pending).

    One conditional update_one when this process has just read the application (the officer
    opened the task), else the read and then the write; never a findAndModify, which the
    embedded server runs as a scan of every application (models/indexed_writes.py). Claiming a
    task this officer already holds answers it as it is: a retried claim whose first attempt
    landed (its answer lost) is no conflict."""
    def decide(application: Application, now: datetime) -> Change | None:
        tasks = plain_tasks(application)
        task = find_task(tasks, task_id)
        if task["status"] == TaskStatus.CLAIMED and by(task, officer):
            return None
        if task["status"] != TaskStatus.PENDING:
            raise _not_claimable(application, task)
        task.update(status=TaskStatus.CLAIMED.value, claimed_by=user_id_of(officer),
                    claimed_at=now)
        # The event names the task and the officer's department; its matter is read from the
        # task when the timeline is shown. The ETA does not change (claimed and pending tasks
        # are estimated alike); the next write refreshes it.
        change = Change(tasks=tasks)
        change.events.append(events.event(
            "task_claimed", at=now, actor_role="officer", actor=user_id_of(officer),
            task={"id": str(task_id), "department": officer.department}))
        return change

    return officer_transition(task_id, officer, decide)


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
    return {name: store_output(definitions[name].get("type"), value)
            for name, value in clean.items()}


def complete_task(*, task_id: str, officer, outputs: dict | None = None,
                  note: str | None = None) -> Application:
    """An officer completes their claimed task with its outputs; every dependent whose
    dependencies are now all complete is released to its queue with the outputs it needs, in
    the same write; the last task completes the application. A completion this officer
    already made with these outputs and note answers the task as it is (a retry whose first
    attempt landed): no second event, no second notification."""
    def decide(application: Application, now: datetime) -> Change | None:
        definition = definition_of(application.bundle, application.bundle_version)
        tasks = plain_tasks(application)
        task = find_task(tasks, task_id)
        step = step_of(definition, task["matter"])
        if (task["status"] == TaskStatus.COMPLETED and by(task, officer)
                and _same_completion(task, step, outputs, note)):
            return None
        require_claimed_by(application, task, officer)
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
        change = Change(tasks=tasks, set={
            "status": status, "eta": expected_completion(definition, tasks, now)})
        done = {"outputs": sorted(stored)}
        change.events.append(events.event("task_completed", at=now, actor_role="officer",
                                          actor=user_id_of(officer), task=task, data=done))
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

    # A retry of a completion that was written but whose follow-up did not finish (the process
    # died, the vault was down) is answered as done, and issues what is missing.
    return _after_completion(officer_transition(task_id, officer, decide), str(task_id))


def _same_completion(task: dict, step: dict, outputs: dict | None, note: str | None) -> bool:
    """Whether the task was completed with these outputs and note (personal outputs are
    encrypted afresh each time: compared in clear)."""
    try:
        stored = check_outputs(step, outputs or {})
    except ValidationFailed:
        return False

    def clear(values: dict | None) -> dict:
        return {name: reveal(value) for name, value in (values or {}).items()}
    return clear(task.get("outputs")) == clear(stored) and (note or None) == task.get("note")


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
            family_members.set_family_member_id_number(owner_id=application.applicant,
                                                 member_id=subject_id, id_number=reveal(number))
        except DomainError as exc:
            log.warning("could not record the issued ID number on family member %s: %s",
                        subject_id, exc.error)
    if set(issued) - set(task.elicences or []):
        # Issued before e-licence ids were derived from the task: name the ones it has.
        # update_one, not findAndModify (which the embedded server plans as a scan): the
        # answer is the application read, with the names written.
        now = utcnow()
        written = Application._get_collection().update_one(
            {"_id": application.pk},
            {"$set": {"tasks.$[t].elicences": issued, "updated_at": now},
             "$inc": {"version": 1}},
            array_filters=[{"t.id": task.id}])
        if written.matched_count:
            task.elicences = issued
            indexed_writes.set_as_stored(application, {"updated_at": now,
                                                       "version": application.version + 1})
    return application


def required_reason(reason: str | None) -> str:
    """The citizen is always told why: an officer's refusal or request needs a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(errors={"reason": [i18n.text("A reason is required.",
                                                            "请填写原因。")]})
    return reason


def reject_task(*, task_id: str, officer, reason: str) -> Application:
    """An officer refuses their claimed task with a reason: the application is rejected, the
    matters that depended on it are cancelled, the citizen is told why."""
    reason = required_reason(reason)

    def decide(application: Application, now: datetime) -> Change | None:
        definition = definition_of(application.bundle, application.bundle_version)
        tasks = plain_tasks(application)
        task = find_task(tasks, task_id)
        if (task["status"] == TaskStatus.REJECTED and by(task, officer)
                and task.get("reason") == reason):
            return None  # a retry whose first attempt landed
        require_claimed_by(application, task, officer)
        task.update(status=TaskStatus.REJECTED.value, reason=reason, completed_at=now)
        doomed = dependents(tasks, task["matter"])
        cancelled = [t for t in tasks if t["matter"] in doomed and t["status"] in
                     OPEN_TASK_STATUSES]
        in_queues = [dict(t) for t in cancelled if t["status"] != TaskStatus.WAITING]
        for other in cancelled:
            other.update(status=TaskStatus.CANCELLED.value, paused_at=None, cancelled_at=now)
        status = application_status(application.status, tasks)
        change = Change(tasks=tasks, set={
            "status": status, "eta": expected_completion(definition, tasks, now),
            "supplement": consolidated_supplement(application.supplement, tasks, now)})
        data = {"reason": reason}
        change.events.append(events.event("task_rejected", at=now, actor_role="officer",
                                          actor=user_id_of(officer), task=task, data=data))
        change.events += [events.event("task_cancelled", at=now, actor_role="system", task=t)
                          for t in cancelled]
        if application.status != ApplicationStatus.REJECTED:
            change.set["reason"] = reason
            change.events.append(events.event("application_rejected", at=now,
                                              actor_role="officer", actor=user_id_of(officer),
                                              task=task, data=data))
        change.intents.append(events.intent("application_rejected", at=now,
                                            application=application,
                                            recipient=application.applicant, task=task,
                                            data=data))
        change.intents += department_alerts("application_rejected", application, in_queues,
                                             now, {"reason": "dependency_rejected"})
        return change

    return officer_transition(task_id, officer, decide)
