"""Timeline events and notification intents: built in one place, rendered for citizens here."""
import uuid
from datetime import datetime

from common import i18n

# What the citizen reads on the timeline, per event type. Placeholders: {bundle}, {matter},
# {department}, {reason}, {station}.
TEXTS: dict[str, tuple[str, str]] = {
    "application_received": ("Application for {bundle} received", "已受理“{bundle}”申请"),
    "application_received_station": (
        "Application for {bundle} made for you at service station {station}",
        "已在{station}服务站为您提交“{bundle}”申请"),
    "task_routed": ("{matter} sent to {department}", "{matter}已转至{department}办理"),
    "task_claimed": ("{department} started on {matter}", "{department}已开始办理{matter}"),
    "task_completed": ("{department} completed {matter}", "{department}已办结{matter}"),
    "task_rejected": ("{department} could not grant {matter}: {reason}",
                      "{department}未能办理{matter}：{reason}"),
    "task_cancelled": ("{matter} cancelled", "{matter}已取消"),
    "task_overdue": ("{matter} is taking longer than promised", "{matter}已超过承诺办理时限"),
    "supplement_requested": ("{department} needs more from you for {matter}: {reason}",
                             "{department}需要您补正{matter}的材料：{reason}"),
    "supplement_answered": ("You sent what was asked for", "您已提交补正内容"),
    "task_resumed": ("{matter} is back with {department}", "{matter}已重新交由{department}办理"),
    "application_completed": ("All matters of {bundle} are done", "“{bundle}”全部事项已办结"),
    "application_rejected": ("Application not granted: {reason}", "申请未通过：{reason}"),
    "application_withdrawn": ("You withdrew the application", "您已撤回申请"),
    "originals_checked": ("The service station checked the originals of your materials",
                          "服务站已核验您的材料原件"),
}
ACTOR_LABELS = {
    "citizen": ("You", "您"),
    "officer": ("Department officer", "部门工作人员"),
    "clerk": ("Service station clerk", "服务站工作人员"),
    "system": ("System", "系统"),
}


def new_id() -> str:
    return uuid.uuid4().hex


def event(type: str, *, at: datetime, actor_role: str, actor: str | None = None,
          task=None, data: dict | None = None) -> dict:
    """A timeline event; `actor` (a user id) is kept for audit and never rendered to citizens.

    Only what the event adds is stored: a task's matter and department are the task's (read
    from it when the event is shown), and an absent actor, task or data is left out — every
    transition rewrites the whole timeline on the server, so its bytes are paid again and again.
    Older events carry every key; `render` reads both."""
    stored = {"id": new_id(), "type": type, "at": at, "actor_role": actor_role, "actor": actor,
              "task": _get(task, "id"), "data": data}
    return {k: v for k, v in stored.items() if v}


def intent(type: str, *, at: datetime, application, recipient: str, task=None,
           data: dict | None = None) -> dict:
    """A notification intent for the notifications relay; `data` never holds personal data."""
    return {
        "id": new_id(), "type": type, "at": at, "recipient": str(recipient),
        "application": str(application.id), "bundle": application.bundle,
        "task": _get(task, "id"), "matter": _get(task, "matter"),
        "department": _get(task, "department"), "data": data or {},
    }


def _get(task, name: str):
    if task is None:
        return None
    return task.get(name) if isinstance(task, dict) else getattr(task, name, None)


def render(application, item: dict, locale: str | None = None) -> dict:
    """One timeline event as the citizen sees it: time, actor role, department, their language."""
    locale = locale or i18n.current_locale.get()
    task = application.task(item["task"]) if item.get("task") else None
    # Older events kept the task's matter and department; newer ones are read from the task.
    matter = item.get("matter") or (task.matter if task is not None else None)
    department = item.get("department") or (task.department if task is not None else None)
    matter_name = i18n.pick(task.name, locale) if task is not None and task.name else (
        matter or "")
    department_name = (i18n.pick(task.department_name, locale)
                       if task is not None and task.department_name else department)
    data = dict(item.get("data") or {})
    key = item["type"]
    if key == "application_received" and application.channel == "station":
        key = "application_received_station"
    en, zh = TEXTS.get(key, (key.replace("_", " ").capitalize(), key))
    text = i18n.text(en, zh, locale=locale, bundle=i18n.pick(application.bundle_name, locale)
                     or application.bundle, matter=matter_name, department=department_name or "",
                     reason=data.get("reason") or "", station=application.station or "")
    actor_en, actor_zh = ACTOR_LABELS.get(item.get("actor_role") or "system",
                                          ACTOR_LABELS["system"])
    return {
        "id": item["id"], "type": item["type"], "at": item["at"],
        "actor_role": item.get("actor_role") or "system",
        "actor": actor_zh if locale == "zh-CN" else actor_en,
        "department": {"code": department, "name": department_name} if department else None,
        "matter": {"code": matter, "name": matter_name} if matter else None,
        "task": item.get("task"), "text": text, "data": data,
    }
