"""What the citizen reads for each kind of intent, in Chinese and English, with catalogue names.

Titles and bodies go out by push, SMS and mini-programs, so they hold only catalogue names
(bundles, matters, departments, material types, output labels) and never a value a citizen gave
or a department issued: the body says an ID number was issued, never which. An officer's free
text (a reason) is kept apart in `detail`, shown in the inbox only.
"""
import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping

from models import catalogue_state
from models.catalogue import Bundle, Department, MaterialType, Matter
from models.notification import NotificationType

LOCALES = ("zh-CN", "en")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# How often a process asks whether the catalogue changed (one small read): a renamed department
# reads under its new name in notifications at most this long after the change.
CHECK_SECONDS = 5.0
_SOURCES = {
    "department": (Department, {"code": 1, "name": 1}),
    "matter": (Matter, {"code": 1, "name": 1, "outputs.name": 1, "outputs.label": 1}),
    "bundle": (Bundle, {"code": 1, "name": 1}),
    "material_type": (MaterialType, {"code": 1, "name": 1}),
}


class _Names:
    """Catalogue names by code, kept in the process until the catalogue's revision moves (every
    catalogue write bumps it; it is looked at every CHECK_SECONDS at most): names change rarely
    and every notification needs some. A batch of intents loads what it lacks with one query per
    kind (`prefetch`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], dict | None] = {}
        self._revision: tuple | None = None
        self._checked = float("-inf")

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self._revision, self._checked = None, float("-inf")

    def _fresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < CHECK_SECONDS:
            return

        state = catalogue_state.current_state()
        revision = (state.get("revision"), state.get("stamp"), state.get("reset"))
        with self._lock:
            if revision != self._revision:
                self._cache.clear()
                self._revision = revision
            self._checked = now

    def _load(self, kind: str, codes: Iterable[str]) -> None:
        codes = sorted({c for c in codes if isinstance(c, str) and c})
        if not codes:
            return
        document, fields = _SOURCES[kind]
        found = {row["code"]: row for row in document._get_collection().find(
            {"code": {"$in": codes}}, fields)}
        with self._lock:
            for code in codes:  # unknown codes too: asking again would find nothing either
                self._cache[(kind, code)] = found.get(code)

    def _get(self, kind: str, code: str | None) -> dict | None:
        if not code or not isinstance(code, str):
            return None
        self._fresh()
        key = (kind, code)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        self._load(kind, [code])
        with self._lock:
            return self._cache.get(key)

    def prefetch(self, intents: Iterable[Mapping]) -> None:
        """Load every name these intents need and the cache lacks: one query per kind."""
        wanted: dict[str, set[str]] = defaultdict(set)
        for intent in intents:
            for kind in ("department", "matter", "bundle"):
                if isinstance(intent.get(kind), str):
                    wanted[kind].add(intent[kind])
            data = intent.get("data")
            if isinstance(data, Mapping):
                wanted["material_type"].update(_output_names(data.get("materials")))
        self._fresh()
        for kind, codes in wanted.items():
            with self._lock:
                missing = [code for code in codes if (kind, code) not in self._cache]
            self._load(kind, missing)

    def department(self, code):
        found = self._get("department", code)
        return _localized(found.get("name") if found else None, code)

    def matter_name(self, code):
        found = self._get("matter", code)
        return _localized(found.get("name") if found else None, code)

    def bundle(self, code):
        found = self._get("bundle", code)
        return _localized(found.get("name") if found else None, code)

    def material_type(self, code):
        found = self._get("material_type", code)
        return _localized(found.get("name") if found else None, code)

    def output_label(self, matter_code, output_name):
        matter = self._get("matter", matter_code)
        for output in (matter.get("outputs") or [] if matter else []):
            if isinstance(output, Mapping) and output.get("name") == output_name \
                    and output.get("label"):
                return _localized(output["label"], output_name)
        readable = output_name.replace("_", " ")
        return {"zh-CN": readable, "en": readable}


names = _Names()


def _localized(texts: Mapping | None, fallback: str | None) -> dict:
    texts = texts or {}
    zh = texts.get("zh-CN") or texts.get("en") or fallback or ""
    en = texts.get("en") or texts.get("zh-CN") or fallback or ""
    return {"zh-CN": zh, "en": en}


def _output_names(outputs) -> list[str]:
    """Only the names of what was issued: a dict of values gives its keys, never its values."""
    if isinstance(outputs, Mapping):
        outputs = list(outputs.keys())
    if not isinstance(outputs, Iterable) or isinstance(outputs, str | bytes):
        return []
    return [name for name in outputs if isinstance(name, str) and NAME.match(name)]


def _join(items: list[dict], locale: str) -> str:
    separator = "、" if locale == "zh-CN" else ", "
    return separator.join(item[locale] for item in items if item[locale])


# (title en, title zh, body en, body zh) per type; {department}, {matter}, {bundle}, {issued},
# {materials} are filled per locale.
TEXTS = {
    NotificationType.APPLICATION_RECEIVED: (
        "Application received", "申请已收到",
        "Your “{bundle}” application has been received and sent to the departments.",
        "您的“{bundle}”申请已收到，正在分送各部门办理。"),
    NotificationType.TASK_ROUTED: (
        "{department} is on it", "{department}开始办理",
        "“{matter}” is now with {department}.",
        "“{matter}”已转至{department}办理。"),
    NotificationType.TASK_COMPLETED: (
        "{department} finished", "{department}已办结",
        "{department} completed “{matter}”.",
        "{department}已完成“{matter}”。"),
    NotificationType.SUPPLEMENT_REQUESTED: (
        "More needed for “{matter}”", "“{matter}”需要补正",
        "{department} needs more from you for “{matter}”{materials}.",
        "{department}办理“{matter}”需要您补正{materials}。"),
    NotificationType.TASK_OVERDUE: (
        "Taking longer than promised", "办理超时提醒",
        "“{matter}” at {department} is past its promised time; the department has been asked "
        "to hurry.",
        "{department}办理的“{matter}”已超过承诺时限，已督促加快办理。"),
    NotificationType.APPLICATION_COMPLETED: (
        "All done", "全部办结",
        "Every matter of your “{bundle}” application is complete.",
        "您的“{bundle}”申请所有事项已全部办结。"),
    NotificationType.APPLICATION_REJECTED: (
        "Application not approved", "申请未通过",
        "{department} could not approve “{matter}”. Open the app to see why.",
        "{department}未能通过“{matter}”，原因请在应用内查看。"),
    NotificationType.APPLICATION_WITHDRAWN: (
        "Application withdrawn", "申请已撤回",
        "Your “{bundle}” application was withdrawn.",
        "您的“{bundle}”申请已撤回。"),
    # The message itself goes to the inbox only (`detail`) and the conversation.
    NotificationType.STAFF_MESSAGE: (
        "A reply from our staff", "工作人员回复了您",
        "A member of our service desk replied{about} in your conversation. Open the app to "
        "read it.",
        "服务台工作人员{about}在对话中回复了您，请打开应用查看。"),
    NotificationType.CONVERSATION_WAITING: (
        "A citizen is waiting", "有居民在等待",
        "A conversation{about} has been waiting for the service desk for {waited} minutes.",
        "有一个对话{about}已等待服务台 {waited} 分钟。"),
    NotificationType.RATING_REQUESTED: (
        "How did it go?", "请您评价",
        "Rate your “{bundle}” application: it takes a minute and tells the departments what to "
        "improve.",
        "请为您的“{bundle}”办理体验打分，帮助各部门改进服务。"),
    NotificationType.RECTIFICATION_REPLIED: (
        "{department} replied to your rating", "{department}回复了您的评价",
        "{department} answered your rating of your “{bundle}” application. Open the app to read "
        "it.",
        "{department}已回复您对“{bundle}”的评价，请在应用内查看。"),
    NotificationType.RECTIFICATION_RESOLVED: (
        "{department} put it right", "{department}已完成整改",
        "{department} finished putting right what you rated on your “{bundle}” application; you "
        "may rate it once more.",
        "{department}已就您对“{bundle}”的评价完成整改，您可以再次评价。"),
    NotificationType.OFFER_MADE: (
        "“{bundle}” is ready for you", "为您准备好了“{bundle}”",
        "We filled in what we already know for “{bundle}”: check it and apply in one step.",
        "“{bundle}”已为您预填已知信息，核对后即可一键申请。"),
}
# The kinds whose `data.text` is a department's own words to the citizen: inbox only.
DEPARTMENT_WORDS = {
    NotificationType.RECTIFICATION_REPLIED: ("{department} replied: {text}",
                                             "{department}答复：{text}"),
    NotificationType.RECTIFICATION_RESOLVED: ("{department} changed this: {text}",
                                              "{department}整改情况：{text}"),
}


# What department staff read when the workflow alerts them (their queue changed under them).
STAFF_TEXTS = {
    NotificationType.TASK_OVERDUE: (
        "Overdue: {matter}", "超时提醒：{matter}",
        "“{matter}” of a “{bundle}” application in your queue is past its promised time.",
        "您队列中“{bundle}”申请的“{matter}”已超过承诺时限。"),
    NotificationType.TASK_ROUTED: (
        "Back in your queue: {matter}", "已回到您的队列：{matter}",
        "The citizen sent what was asked for; “{matter}” of a “{bundle}” application is waiting "
        "for you again.",
        "申请人已补正，“{bundle}”申请的“{matter}”重新等待您办理。"),
    NotificationType.APPLICATION_REJECTED: (
        "Task cancelled: {matter}", "任务已取消：{matter}",
        "Another department did not approve the “{bundle}” application, so “{matter}” was "
        "cancelled.",
        "“{bundle}”申请未获其他部门通过，“{matter}”已取消。"),
    NotificationType.APPLICATION_WITHDRAWN: (
        "Task cancelled: {matter}", "任务已取消：{matter}",
        "The citizen withdrew the “{bundle}” application, so “{matter}” was cancelled.",
        "申请人已撤回“{bundle}”申请，“{matter}”已取消。"),
    NotificationType.CONVERSATION_WAITING: (
        "Waiting for the desk: {waited} minutes", "服务台等待 {waited} 分钟",
        "A citizen of your region has been waiting {waited} minutes for a person{about}. Take "
        "the conversation in the desk's queue.",
        "您所在地区有居民已等待人工服务 {waited} 分钟{about}，请在服务台队列中接待。"),
}


def render(intent: Mapping, *, audience: str = "citizen") -> dict:
    """{"title", "body", "detail"}, each {"zh-CN", "en"}, for one intent, worded for a citizen
    or, for the workflow's alerts to departments, for staff."""
    kind = NotificationType(intent["type"])
    data = intent.get("data") if isinstance(intent.get("data"), Mapping) else {}
    department = names.department(intent.get("department"))
    matter = names.matter_name(intent.get("matter"))
    bundle = names.bundle(intent.get("bundle"))
    issued = [names.output_label(intent.get("matter"), name)
              for name in _output_names(data.get("outputs"))]
    materials = [names.material_type(code) for code in _output_names(data.get("materials"))]
    texts = STAFF_TEXTS.get(kind) if audience == "staff" else None
    title_en, title_zh, body_en, body_zh = texts or TEXTS[kind]
    result: dict[str, dict] = {"title": {}, "body": {}, "detail": {}}
    for locale in LOCALES:
        values = {"department": department[locale] or _text(locale, "a department", "相关部门"),
                  "matter": matter[locale], "bundle": bundle[locale],
                  "materials": _materials_phrase(materials, bool(data.get("fields")), locale),
                  "waited": _count(data.get("waited_minutes")),
                  "about": _about(kind, bundle[locale], locale)}
        result["title"][locale] = (title_zh if locale == "zh-CN" else title_en).format(**values)
        body = (body_zh if locale == "zh-CN" else body_en).format(**values)
        if kind == NotificationType.TASK_COMPLETED and issued:
            body = body[:-1] + _text(locale, "; issued: {items}.", "，已签发{items}。",
                                     items=_join(issued, locale))
        result["body"][locale] = _sentence(body)
        result["title"][locale] = _sentence(result["title"][locale])
        reason = data.get("reason")
        if isinstance(reason, str) and reason.strip():
            result["detail"][locale] = _text(locale, "Reason: {reason}", "原因：{reason}",
                                             reason=reason.strip()[:1000])
        message = data.get("message")
        if kind == NotificationType.STAFF_MESSAGE and isinstance(message, str) and message.strip():
            result["detail"][locale] = message.strip()[:2000]
        words = data.get("text")
        if kind in DEPARTMENT_WORDS and isinstance(words, str) and words.strip():
            result["detail"][locale] = _text(locale, *DEPARTMENT_WORDS[kind],
                                             department=values["department"],
                                             text=words.strip()[:1000])
    return result


def _about(kind: NotificationType, bundle: str, locale: str) -> str:
    """What a conversation is about, when it is known ("about “A baby is born”")."""
    if not bundle:
        return ""
    if kind == NotificationType.STAFF_MESSAGE:
        return _text(locale, " about “{b}”", "就“{b}”", b=bundle)
    return _text(locale, " about “{b}”", "（关于“{b}”）", b=bundle)


def _count(value) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "?"


def _materials_phrase(materials: list[dict], has_fields: bool, locale: str) -> str:
    if not materials and not has_fields:
        return ""
    parts = []
    if materials:
        parts.append(_join(materials, locale))
    if has_fields:
        parts.append(_text(locale, "some form answers", "部分表单内容"))
    joined = (_text(locale, " and ", "以及")).join(parts)
    return _text(locale, ": {items}", "：{items}", items=joined)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _text(locale: str, en: str, zh: str, **params) -> str:
    chosen = zh if locale == "zh-CN" else en
    return chosen.format(**params) if params else chosen
