"""Grounded answers: text and cards built only from the catalogue, curated FAQ entries and the
citizen's own data. Nothing here makes up a fact; when the source is silent, the answer says so."""
import math
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml

from assistant.normalize import normalize
from common import calendar
from common.i18n import pick, text
from services.catalogue import publishing
from services.workflow import deadlines

DATA = Path(__file__).resolve().parent / "data"
FAQ_THRESHOLD = 0.32  # cosine similarity below which no curated answer fits
STATUS_LIMIT = 3  # applications shown in one status answer

UNITS = {
    "minutes": ("{n} minutes", "{n} 分钟"), "hours": ("{n} hours", "{n} 小时"),
    "working_days": ("{n} working days", "{n} 个工作日"),
}
ONE_UNIT = {"minutes": ("1 minute", "1 分钟"), "hours": ("1 hour", "1 小时"),
            "working_days": ("1 working day", "1 个工作日")}


@dataclass
class Reply:
    """What the assistant says: text for everyone, cards for apps that render them."""

    text: str
    cards: list[dict] = field(default_factory=list)

    def add(self, other: "Reply") -> "Reply":
        return Reply("\n\n".join(t for t in (self.text, other.text) if t),
                     self.cards + other.cards)


def _t(locale: str, en: str, zh: str, **params) -> str:
    return text(en, zh, locale=locale, **params)


def _join(locale: str, items) -> str:
    return _t(locale, ", ", "、").join(items)


def limit_text(limit: dict | None, locale: str) -> str:
    if not limit:
        return ""
    value, unit = limit.get("value"), limit.get("unit")
    if value == 1 and unit in ONE_UNIT:
        return _t(locale, *ONE_UNIT[unit])
    en, zh = UNITS.get(unit, ("{n} " + str(unit), "{n} " + str(unit)))
    return _t(locale, en, zh, n=value)


def duration_text(delta: timedelta, locale: str) -> str:
    minutes = max(1, math.ceil(delta.total_seconds() / 60))
    if minutes < 90:
        return _t(locale, "about {n} minutes", "约 {n} 分钟", n=minutes)
    hours = minutes / 60
    if hours < 24:
        rounded = math.ceil(hours * 2) / 2
        return _t(locale, "about {n:g} hours", "约 {n:g} 小时", n=rounded)
    return _t(locale, "about {n} days", "约 {n} 天", n=math.ceil(hours / 24))


def local_time(moment: datetime | None, locale: str) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(calendar.current().tz)
    return local.strftime("%Y-%m-%d %H:%M")


def iso(moment: datetime | None) -> str | None:
    """A time as API answers carry it: ISO-8601 in UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def bundle_name(definition: dict) -> str:
    return definition.get("name") or definition["code"]


def title(name: str, locale: str) -> str:
    """A bundle's name inside a sentence: English names are phrases ("A baby is born")."""
    return f"“{name}”" if locale == "en" else name


# ── The catalogue ─────────────────────────────────────────────────────────────────────────────

def estimated_duration(definition: dict) -> timedelta | None:
    """How long the whole bundle should take from submission: the workflow's own estimate."""
    now = datetime.now(UTC)
    tasks = [{"matter": s["matter"], "status": "waiting" if s.get("depends_on") else "pending",
              "released_at": None if s.get("depends_on") else now} for s in definition["steps"]]
    try:
        eta = deadlines.estimate_eta(definition=definition, tasks=tasks, now=now)
    except Exception:  # an estimate is a nicety; the answer stands without it
        return None
    return eta - now if eta else None


def bundle_card(definition: dict) -> dict:
    return {
        "type": "bundle", "code": definition["code"], "version": definition.get("version"),
        "name": bundle_name(definition), "description": definition.get("description") or "",
        "matters": [{"code": s["matter"], "name": s.get("name") or s["matter"],
                     "department": s["department"],
                     "department_name": s.get("department_name") or s["department"],
                     "depends_on": list(s.get("depends_on") or []),
                     "promised": s.get("promised")} for s in definition["steps"]],
        "departments": [{"code": d["code"], "name": d.get("name") or d["code"]}
                        for d in definition["departments"]],
        "figures": definition.get("figures") or {},
    }


def explain_bundle(definition: dict, locale: str) -> Reply:
    """What a "one thing" includes: its matters, departments, time limits and reform figures."""
    steps = definition["steps"]
    after = (definition.get("figures") or {}).get("after") or {}
    before = (definition.get("figures") or {}).get("before") or {}
    matters = _join(locale, (_t(locale, "{m} ({d})", "{m}（{d}）", m=s.get("name") or s["matter"],
                                d=s.get("department_name") or s["department"]) for s in steps))
    lines = [_t(locale, "{name}: {n} matters handled by {d} departments in one application: {m}.",
                "{name}：一次申请办结 {n} 个事项，涉及 {d} 个部门：{m}。",
                name=title(bundle_name(definition), locale), n=len(steps),
                d=len(definition["departments"]),
                m=matters)]
    limits = [s["promised"] for s in steps if s.get("promised")]
    duration = estimated_duration(definition)
    if duration is not None:
        lines.append(_t(locale, "Expected to be done in {t} once you have applied.",
                        "提交后预计{t}全部办结。", t=duration_text(duration, locale)))
    elif limits:
        lines.append(_t(locale, "Each matter has a promised time limit (shown below).",
                        "每个事项都有承诺办结时限（见下方卡片）。"))
    if after:
        line = _t(locale, "You fill in {f} form and hand over {m} materials",
                  "您只需填 {f} 张表、交 {m} 份材料", f=after.get("forms", 1),
                  m=after.get("materials", len(definition["materials"])))
        if after.get("visits") is not None:
            line += _t(locale, ", with {v} visits", "，跑 {v} 次", v=after["visits"])
        if before.get("forms") and before.get("materials"):
            line += _t(locale, " (before the reform: {f} forms and {m} materials)",
                       "（改革前：{f} 张表、{m} 份材料）", f=before["forms"], m=before["materials"])
        lines.append(line + _t(locale, ".", "。"))
    return Reply("\n".join(lines), [bundle_card(definition)])


def how_long(definition: dict, locale: str) -> Reply:
    """How long a "one thing" takes: the whole, as the workflow estimates it, and each matter's
    promised time limit."""
    lines = []
    duration = estimated_duration(definition)
    if duration is not None:
        lines.append(_t(locale, "{b} is expected to be done {t} after you apply.",
                        "{b}提交后预计{t}全部办结。", b=title(bundle_name(definition), locale),
                        t=duration_text(duration, locale)))
    limits = [_t(locale, "{m}: {l}", "{m}：{l}", m=s.get("name") or s["matter"],
                 l=limit_text(s["promised"], locale))
              for s in definition["steps"] if s.get("promised")]
    if limits:
        lines.append(_t(locale, "Promised time limits: {l}.", "各事项承诺办结时限：{l}。",
                        l=_t(locale, "; ", "；").join(limits)))
    if not lines:
        return explain_bundle(definition, locale)
    return Reply("\n".join(lines), [bundle_card(definition)])


def checklist(definition: dict, on_file: dict[str, str], locale: str) -> Reply:
    """The materials of a bundle, each marked as already on file for this citizen or needed."""
    items = [{"code": m["code"], "name": m.get("name") or m["code"],
              "formats": list(m.get("formats") or []),
              "status": "on_file" if m["code"] in on_file else "needed",
              **({"material_id": on_file[m["code"]]} if m["code"] in on_file else {})}
             for m in publishing.materials_to_give(definition)]
    have = [i["name"] for i in items if i["status"] == "on_file"]
    need = [i["name"] for i in items if i["status"] == "needed"]
    lines = [_t(locale, "{name} needs {n} materials.", "{name}需要 {n} 份材料。",
                name=title(bundle_name(definition), locale), n=len(items))]
    if have:
        lines.append(_t(locale, "Already on file, nothing to do: {m}.",
                        "已在您的材料库中，无需再交：{m}。", m=_join(locale, have)))
    if need:
        lines.append(_t(locale, "Still needed (upload them in the app): {m}.",
                        "还需要提供（可在 App 中上传）：{m}。", m=_join(locale, need)))
    else:
        lines.append(_t(locale, "You have everything.", "材料已经齐全。"))
    card = {"type": "checklist", "bundle": definition["code"],
            "bundle_name": bundle_name(definition), "items": items}
    return Reply("\n".join(lines), [card])


# ── The citizen's applications ────────────────────────────────────────────────────────────────

DONE, WORKING, WAITING, SUPPLEMENT, REJECTED = ("done", "in_progress", "waiting",
                                                "needs_supplement", "rejected")


def _department_state(statuses: list[str]) -> str:
    if "rejected" in statuses:
        return REJECTED
    if "needs_supplement" in statuses:
        return SUPPLEMENT
    if all(s in ("completed", "cancelled") for s in statuses):
        return DONE
    if any(s in ("pending", "claimed") for s in statuses):
        return WORKING
    return WAITING


def status_card(view: dict) -> dict:
    """One application as the citizen may see it, grouped by department."""
    tasks = view["tasks"]
    names = {t["matter"]: t["name"] for t in tasks}
    departments: dict[str, dict] = {}
    for task in tasks:
        entry = departments.setdefault(task["department"], {
            "code": task["department"], "name": task["department_name"], "matters": []})
        waiting_for = [names.get(m, m) for m in task.get("depends_on") or []
                       if next((t["status"] for t in tasks if t["matter"] == m), "") != "completed"]
        entry["matters"].append({"code": task["matter"], "name": task["name"],
                                 "status": task["status"], "waiting_for": waiting_for,
                                 "due_at": iso(task.get("due_at")),
                                 **({"reason": task["reason"]} if task.get("reason") else {})})
    for entry in departments.values():
        entry["status"] = _department_state([m["status"] for m in entry["matters"]])
    supplement = dict(view["supplement"]) if view.get("supplement") else None
    if supplement and isinstance(supplement.get("requested_at"), datetime):
        supplement["requested_at"] = iso(supplement["requested_at"])
    return {
        "type": "status", "application_id": view["id"], "bundle": view["bundle"],
        "bundle_name": view["bundle_name"], "status": view["status"],
        "subject_name": (view.get("subject") or {}).get("name"),
        "submitted_at": iso(view.get("created_at")), "eta": iso(view.get("eta")),
        "departments": list(departments.values()), "supplement": supplement,
        "reason": view.get("reason"),
    }


def explain_status(view: dict, locale: str) -> Reply:
    """Which departments are done, which work or wait and for what, the ETA, what to do."""
    card = status_card(view)
    head = _t(locale, "{b} (submitted {at})", "{b}（{at} 提交）",
              b=title(card["bundle_name"], locale),
              at=local_time(view.get("created_at"), locale))
    status = card["status"]
    lines = []
    if status == "completed":
        lines.append(_t(locale, "{h}: every department has finished.", "{h}：所有部门都已办结。",
                        h=head))
    elif status == "withdrawn":
        lines.append(_t(locale, "{h}: you withdrew it.", "{h}：已撤回。", h=head))
    elif status == "rejected":
        lines.append(_t(locale, "{h}: it was not approved. Reason: {r}", "{h}：未通过。原因：{r}",
                        h=head, r=card.get("reason") or _t(locale, "not given", "未说明")))
    else:
        lines.append(head + _t(locale, ":", "："))
        by_state: dict[str, list[dict]] = {}
        for department in card["departments"]:
            by_state.setdefault(department["status"], []).append(department)
        if by_state.get(DONE):
            lines.append(_t(locale, "Done: {d}.", "已办结：{d}。",
                            d=_join(locale, (d["name"] for d in by_state[DONE]))))
        # By matter, whatever the rest of its department does: a department may work on one
        # matter while another of its matters waits, and both must be said.
        working = [_t(locale, "{d} ({m})", "{d}（{m}）", d=d["name"], m=_join(
            locale, (m["name"] for m in d["matters"] if m["status"] in ("pending", "claimed"))))
            for d in card["departments"]
            if any(m["status"] in ("pending", "claimed") for m in d["matters"])]
        if working:
            lines.append(_t(locale, "Being handled now: {d}.", "正在办理：{d}。",
                            d=_join(locale, working)))
        waits = [_t(locale, "{d} ({m}) waits for {w}", "{d}（{m}）等待{w}完成",
                    d=department["name"], m=matter["name"],
                    w=_join(locale, matter["waiting_for"]) or
                    _t(locale, "the steps before it", "前序事项"))
                 for department in card["departments"] for matter in department["matters"]
                 if matter["status"] == "waiting"]
        if waits:
            lines.append(_t(locale, "Waiting: {w}.", "等待中：{w}。", w=_t(locale, "; ", "；")
                            .join(waits)))
        if by_state.get(REJECTED):
            lines.append(_t(locale, "Not approved by: {d}.", "未通过的部门：{d}。",
                            d=_join(locale, (d["name"] for d in by_state[REJECTED]))))
        if card.get("eta") and status == "in_progress":
            lines.append(_t(locale, "Expected to be finished by {t}.", "预计 {t} 前全部办结。",
                            t=local_time(view.get("eta"), locale)))
    supplement = card.get("supplement")
    if supplement or status == "needs_supplement":
        asks = [m["name"] for m in (supplement or {}).get("materials") or []] + [
            f["label"] for f in (supplement or {}).get("fields") or []]
        reasons = [r["reason"] for r in (supplement or {}).get("reasons") or [] if r.get("reason")]
        line = _t(locale, "You need to act: a department asked for {a}.",
                  "需要您处理：部门要求补充{a}。",
                  a=_join(locale, asks) or _t(locale, "more information", "材料或信息"))
        if reasons:
            line += _t(locale, " Reason: {r}.", "原因：{r}。",
                       r=_t(locale, "; ", "；").join(reasons))
        lines.append(line + _t(locale, " Open the application to send it.",
                               "请在办件详情中补充后提交。"))
        card["actions"] = [{"action": "supplement", "application_id": card["application_id"]}]
    return Reply("\n".join(lines), [card])


MATTER_STATES = {
    "pending": ("{m} is with {d} now.", "{m}正在由{d}办理。"),
    "claimed": ("{m} is being handled by {d} now.", "{m}正在由{d}办理。"),
    "completed": ("{m} is done.", "{m}已办结。"),
    "needs_supplement": ("{m} waits for what {d} asked you for.", "{m}正在等待您补正材料。"),
    "rejected": ("{m} was not approved by {d}.", "{m}未获{d}通过。"),
    "cancelled": ("{m} was cancelled.", "{m}已取消。"),
}


def focus_status(card: dict, matters: list[str], locale: str) -> str:
    """What the citizen asked about, matter by matter: done, being handled, or waiting for
    what (and where that stands)."""
    every = {m["code"]: (m, d) for d in card["departments"] for m in d["matters"]}
    by_name = {m["name"]: (m, d) for m, d in every.values()}
    lines = []
    for code in matters:
        if code not in every:
            continue
        matter, department = every[code]
        if matter["status"] != "waiting":
            en, zh = MATTER_STATES.get(matter["status"], MATTER_STATES["pending"])
            lines.append(_t(locale, en, zh, m=matter["name"], d=department["name"]))
            continue
        lines.append(_t(locale, "{m} ({d}) has not started yet: it waits for {w} to finish.",
                        "{m}（{d}）还没有开始：它要等{w}完成后才能办理。", m=matter["name"],
                        d=department["name"], w=_join(locale, matter["waiting_for"]) or
                        _t(locale, "the steps before it", "前序事项")))
        for name in matter["waiting_for"]:
            before, where = by_name.get(name, (None, None))
            if before is not None:
                en, zh = MATTER_STATES.get(before["status"], ("{m}: {s}.", "{m}：{s}。"))
                lines.append(_t(locale, en, zh, m=before["name"], d=where["name"],
                                s=before["status"]))
    return " ".join(lines)


def matter_answer(definition: dict, code: str, info: dict, locale: str) -> Reply:
    """One matter of a "one thing": part of it (nothing to apply for separately), who handles
    it, in what time, after what, and which materials it uses; all from the catalogue."""
    step = next(s for s in definition["steps"] if s["matter"] == code)
    names = {s["matter"]: s.get("name") or s["matter"] for s in definition["steps"]}
    name, department = step.get("name") or code, step.get("department_name") or step["department"]
    line = _t(locale, "{m} is part of {b}: you do not apply for it separately. Once you apply, "
              "{d} handles it", "{m}已包含在{b}中，不需要另外申请：提交一次申请后，由{d}办理",
              m=name, b=title(bundle_name(definition), locale), d=department)
    if step.get("depends_on"):
        line += _t(locale, " after {w}", "（在{w}之后）",
                   w=_join(locale, (names.get(m, m) for m in step["depends_on"])))
    if step.get("promised"):
        line += _t(locale, ", within {t}", "，承诺 {t}内办结", t=limit_text(step["promised"],
                                                                          locale))
    lines = [line + _t(locale, ".", "。")]
    description = pick(info.get("descriptions"), locale)
    if description:
        lines.append(description)
    used = [m.get("name") or m["code"] for m in publishing.materials_to_give(definition)
            if code in (m.get("matters") or [])]
    if used:
        lines.append(_t(locale, "It uses: {m}.", "这一项用到的材料：{m}。", m=_join(locale, used)))
    card = {"type": "matter", "code": code, "name": name, "bundle": definition["code"],
            "department": step["department"], "department_name": department,
            "promised": step.get("promised"), "depends_on": list(step.get("depends_on") or []),
            "materials": used}
    return Reply("\n".join(lines), [card])


# ── Curated questions and answers ────────────────────────────────────────────────────────────

class Faq:
    """Finds the curated entry a question is about (character n-gram similarity)."""

    def __init__(self, entries: list[dict]):
        # Imported here, as in nlu: the library (and scipy under it) takes seconds to load, which
        # only a process that answers questions should pay; workers and commands never do.
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.entries = {e["id"]: e for e in entries}
        self.topics = [(e["id"], re.compile(e["keywords"])) for e in entries if e.get("keywords")]
        self.keys = [(e["id"], q) for e in entries
                     for questions in (e.get("questions") or {}).values() for q in questions]
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3),
                                          sublinear_tf=True, lowercase=False)
        self.matrix = self.vectorizer.fit_transform([normalize(q) for _, q in self.keys])

    def match(self, question: str) -> tuple[dict | None, float]:
        vector = self.vectorizer.transform([normalize(question)])
        scores = (self.matrix @ vector.T).toarray().ravel()
        if not len(scores):
            return None, 0.0
        best = int(scores.argmax())
        if scores[best] < FAQ_THRESHOLD:
            return None, float(scores[best])
        return self.entries[self.keys[best][0]], float(scores[best])

    def topic(self, question: str) -> dict | None:
        """The entry whose keywords the question has (the likeliest, if several): its topic is
        unmistakable whatever else the question names."""
        text = normalize(question)
        named = {entry_id for entry_id, pattern in self.topics if pattern.search(text)}
        if not named:
            return None
        if len(named) == 1:
            return self.entries[named.pop()]
        scores = (self.matrix @ self.vectorizer.transform([text]).T).toarray().ravel()
        best = max((score, entry_id) for (entry_id, _), score in zip(self.keys, scores,
                                                                     strict=True)
                   if entry_id in named)
        return self.entries[best[1]]


_faq_lock = threading.Lock()


@lru_cache(maxsize=1)
def _faq() -> Faq:
    entries = yaml.safe_load((DATA / "faq.yaml").read_text(encoding="utf-8")) or []
    return Faq(entries)


def faq() -> Faq:
    with _faq_lock:
        return _faq()


def faq_answer(entry: dict, locale: str) -> Reply:
    return Reply(pick(entry["answer"], locale).strip(), [{"type": "faq", "id": entry["id"]}])
