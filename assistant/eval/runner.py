"""The conversation runner: multi-turn conversations played through the real assistant
(assistant.conversations.post_message, the function behind POST /api/v1/assistant/messages) on
the running app's database with the seeded catalogue; every turn's expectations and each
conversation's success checked, and two figures reported: the share of conversations that reach
their goal fully (target >= 90 %) and the share of turns that were wrong or unhelpful (<= 5 %).

    .venv/bin/python scripts/run_conversations.py [FILE ...] [--only C01,C04] [--verbose]

Without a file: assistant/eval/conversations.yaml when it exists, else the runner's own set of
the failures seen before, tests/assistant/data/conversations.yaml.

File format (`format: 1`; written first for assistant/eval/conversations.yaml):

    format: 1
    defaults:
      answers: {<bundle>: {<locale>: {<form field>: <how a citizen answers it>, ...}}}
    conversations:
      - id: C01                       # unique, stable
        title: one line
        citizen: new | verified | parent | parent_child
            # new: a name only. verified: real-name verified (name, ID number, mobile phone),
            # a spouse in the family, no materials. parent: verified + the four newborn
            # materials on file. parent_child: verified + a child 林小雨 / Lin Xiaoyu, girl,
            # four years old, with an ID number.
        applications:                 # optional, submitted before the first turn
          - {bundle: newborn, progress: submitted | {done: [matter, ...], claimed: [...],
                                                      supplement: {matter, reason}}}
        locale: zh-CN | en            # optional: sent with every message
        goal: prose
        success: {criterion: prose, checks: [<check>, ...]}   # evaluated after the last turn
        turns:
          - say: <text>               # one message
            expect: {<check>: <value>, ...}
          - fill: {until: <field> | summary, answers: {<field>: <text>}}
            expect: {...}             # on the last reply of the fill
            # answers each question card (answers, else defaults.answers[bundle][locale]) until
            # the reply asks `until` (not answered) or shows a summary card

    Placeholders in texts: {date:+14d} / {date:-10d} (an ISO date that many days from the run's
    day), {application_id} (the citizen's latest application).

    Checks: intent, intent_in, intent_not, bundle (null: none), bundle_in; says_any, says_none
    (in the reply's text), shows_any (text or any string in the cards): plain phrases, both
    sides NFKC and lower case; cards, no_cards (card types), card ({type, key: value, ...}),
    status_cards (exactly N); asks_field, not_asks_field, asks_again (the question pending
    before the turn is asked again); greeting_menu: false (no choices card of bundles, no
    greeting text); reply_locale (zh-CN: the text has Chinese characters; en: none);
    conversation_status, conversation_status_not; handoff (a handoff card, or none);
    handoffs_total (open handoffs of the conversation); application_created (one more
    application after the turn than before, or the same); applications_total;
    form_value, form_value_not ({field: text}: the draft's answer, NFKC, choice values);
    submitted_form ({field: text} of the latest application); submitted_bundle.
    A check that cannot be evaluated fails.

The chat cannot carry files: when a summary asks for materials, the runner puts them in the
citizen's vault, as the app's upload screen would, before the next message.
"""
import itertools
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from assistant import conversations as assistant
from assistant import knowledge, slots
from common import crypto
from models.application import Application
from models.conversation import Conversation
from models.family import FamilyMember
from models.handoff import Handoff, HandoffStatus
from models.material import Material, upload_key
from models.user import Role, User
from services.catalogue import joint_form, publishing
from services.identity import numbers
from services.identity.tokens import Principal
from services.materials import vault
from services.workflow import adapters, applications, handling, submission, supplements

ROOT = Path(__file__).resolve().parents[2]
SHARED_FILE = ROOT / "assistant" / "eval" / "conversations.yaml"
OWN_FILE = ROOT / "tests" / "assistant" / "data" / "conversations.yaml"
GOAL_TARGET, WRONG_TURN_TARGET = 0.90, 0.05
MAX_FILL = 40
NEWBORN_MATERIALS = ("parent_id_card", "household_register", "marriage_certificate",
                     "birth_registration_form")
CHECKS = {"intent", "intent_in", "intent_not", "bundle", "bundle_in", "says_any", "says_none",
          "shows_any", "cards", "no_cards", "card", "status_cards", "asks_field",
          "not_asks_field", "asks_again", "greeting_menu", "reply_locale",
          "conversation_status", "conversation_status_not", "handoff", "handoffs_total",
          "application_created", "applications_total", "form_value", "form_value_not",
          "submitted_form", "submitted_bundle"}
GREETINGS = ("您好！告诉我", "hello! tell me")
HAN = re.compile(r"[\u4e00-\u9fff]")
_serials = itertools.count(1)  # each citizen of a run its own phone and ID number


def fold(value: Any) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip().lower()


# ── Results ───────────────────────────────────────────────────────────────────────────────────

@dataclass
class TurnResult:
    number: int
    sent: list[str]
    reply: dict | None
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class ConversationResult:
    id: str
    title: str
    turns: list[TurnResult] = field(default_factory=list)
    unplayed: int = 0  # turns never played (the conversation broke off before them)
    success_failures: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return (self.error is None and not self.success_failures and not self.unplayed
                and all(t.ok for t in self.turns))


@dataclass
class Report:
    results: list[ConversationResult]

    @property
    def goal_share(self) -> float:
        return sum(r.passed for r in self.results) / len(self.results) if self.results else 0.0

    @property
    def turns(self) -> int:
        return sum(len(r.turns) + r.unplayed for r in self.results)

    @property
    def wrong_turn_share(self) -> float:
        wrong = sum(sum(not t.ok for t in r.turns) + r.unplayed for r in self.results)
        return wrong / self.turns if self.turns else 0.0

    @property
    def meets_targets(self) -> bool:
        return self.goal_share >= GOAL_TARGET and self.wrong_turn_share <= WRONG_TURN_TARGET

    def lines(self, verbose: bool = False) -> list[str]:
        out = []
        for result in self.results:
            mark = "ok  " if result.passed else "FAIL"
            out.append(f"{mark} {result.id} {result.title}")
            if result.passed and not verbose:
                continue
            if result.error:
                out.append(f"       error: {result.error}")
            for turn in result.turns:
                if turn.failures or verbose:
                    said = " / ".join(turn.sent[-3:]) or "(nothing sent)"
                    out.append(f"     turn {turn.number}: {said}")
                    reply = (turn.reply or {}).get("reply") or {}
                    out.append(f"       replied: {(reply.get('text') or '')[:160]!r} "
                               f"{[c.get('type') for c in reply.get('cards') or []]} "
                               f"nlu={(turn.reply or {}).get('nlu')}")
                    out += [f"       - {f}" for f in turn.failures]
            if result.unplayed:
                out.append(f"     {result.unplayed} turn(s) not played")
            out += [f"     success: {f}" for f in result.success_failures]
        out.append("")
        out.append(f"conversations reaching their goal fully: {sum(r.passed for r in self.results)}"
                   f"/{len(self.results)} = {self.goal_share:.0%} (target >= {GOAL_TARGET:.0%})")
        wrong = round(self.wrong_turn_share * self.turns)
        out.append(f"turns wrong or unhelpful: {wrong}/{self.turns} = "
                   f"{self.wrong_turn_share:.1%} (target <= {WRONG_TURN_TARGET:.0%})")
        return out


# ── The citizens ──────────────────────────────────────────────────────────────────────────────

# The citizen, their spouse and their child, named in the conversation's language.
NAMES = {"zh-CN": ("林建国", "陈美玲", "林小雨"),
         "en": ("Lin Jianguo", "Chen Meiling", "Lin Xiaoyu")}


def _numbered_citizen(n: int, kind: str, locale: str = "zh-CN") -> User:
    if kind not in ("new", "verified", "parent", "parent_child"):
        raise ValueError(f"unknown citizen {kind!r}")
    me, spouse, child = NAMES.get(locale, NAMES["zh-CN"])
    if kind == "new":
        return User(role=Role.CITIZEN.value, name=f"Runner {n}", locale=locale).save()
    phone = f"139{n % 10**8:08d}"
    born = date(1990, 1 + n % 12, 1 + n % 28)
    number = numbers.make_id_number("330381", born, n % 900 + 1, "male")
    user = User(role=Role.CITIZEN.value, name=me, locale=locale,
                phone_encrypted=crypto.encrypt(phone),
                phone_index=crypto.blind_index("phone", phone),
                id_number_encrypted=crypto.encrypt(number),
                id_number_index=crypto.blind_index("id_number", number),
                real_name_verified=True, birth_date=born, gender="male").save()
    _family(user, "spouse", spouse, date(1991, 1 + n % 12, 1 + n % 28), n % 900 + 1, "female")
    if kind == "parent":
        for code in NEWBORN_MATERIALS:
            give_material(user, code)
    if kind == "parent_child":
        today = datetime.now(UTC).date()
        _family(user, "child", child, today.replace(year=today.year - 4, day=1),
                n % 900 + 1, "female")
    return user


def _family(owner: User, relation: str, name: str, born: date, sequence: int, gender: str):
    number = numbers.make_id_number("330381", born, sequence, gender)
    return FamilyMember(owner=str(owner.id), relation=relation, name=name, birth_date=born,
                        gender=gender, id_number_encrypted=crypto.encrypt(number),
                        id_number_index=crypto.blind_index("id_number", number)).save()


def give_material(owner: User, code: str) -> Material:
    """A material in the citizen's vault, as an upload in the app leaves it (metadata only)."""
    sha256 = uuid.uuid4().hex * 2
    return Material(owner=str(owner.id), type=code, sha256=sha256, content_type="image/jpeg",
                    size=1000, status="uploaded", kind="upload",
                    dedup_key=upload_key(str(owner.id), code, sha256)).save()


def principal(user: User) -> Principal:
    return Principal(id=str(user.id), role=user.role, locale=user.locale)


# ── Texts ─────────────────────────────────────────────────────────────────────────────────────

DATE_PLACEHOLDER = re.compile(r"\{date:([+-]\d+)d\}")


def expand(text: Any, citizen: User | None = None) -> str:
    text = str(text)
    text = DATE_PLACEHOLDER.sub(lambda m: (datetime.now(UTC).date() + timedelta(
        days=int(m.group(1)))).isoformat(), text)
    if "{application_id}" in text and citizen is not None:
        latest = applications.list_for_citizen(citizen=citizen)
        text = text.replace("{application_id}", str(latest[0].id) if latest else "none")
    return text


def _locale_of(conversation: dict) -> str:
    if conversation.get("locale"):
        return conversation["locale"]
    first = next((t["say"] for t in conversation.get("turns") or [] if "say" in t), "")
    return "zh-CN" if HAN.search(str(first)) else "en"


# ── Applications made before the first turn ───────────────────────────────────────────────────

def _subject(definition: dict, citizen: User) -> tuple[dict, FamilyMember | None]:
    """Whom the application is about, as the assistant would ask (the first child on file)."""
    paths = {f["prefill"] for f in definition["form"]
             if (f.get("prefill") or "").startswith("subject.")}
    if not paths:
        return {"kind": "self"}, None
    newborn = {"subject.name", "subject.birth_date"} <= paths
    if definition.get("life_event") == "birth" and newborn:
        return {"kind": "newborn"}, None
    child = FamilyMember.objects(owner=str(citizen.id), relation="child").first()
    if child is not None:
        return {"kind": "family", "id": str(child.id)}, child
    return ({"kind": "newborn"} if newborn else {"kind": "self"}), None


def submit(citizen: User, bundle: str, answers: dict, locale: str) -> Application:
    """An application with a complete form, each answer read as the assistant reads it."""
    definition = knowledge.definition(bundle, locale)
    subject, member = _subject(definition, citizen)
    known = joint_form.known_values(applicant=citizen, subject_member=member,
                                    subject_is_applicant=subject["kind"] == "self")
    form = {}
    for spec in definition["form"]:
        if not spec.get("required") or known.get(spec.get("prefill")) not in (None, ""):
            continue
        if spec["name"] not in answers:
            raise ValueError(f"no default answer for {bundle}.{spec['name']}")
        form[spec["name"]] = joint_form.check_value(
            spec, slots.read_value(spec, expand(answers[spec["name"]], citizen)))
    for material in publishing.materials_to_give(definition):
        if not vault.on_file(owner_id=str(citizen.id), types=[material["code"]]):
            give_material(citizen, material["code"])
    return submission.submit_application(
        applicant_id=str(citizen.id), bundle=bundle, subject=subject, form=form, materials=[],
        idempotency_key=f"runner-{uuid.uuid4().hex}", channel="app")


def _work(application: Application, matters: list[str], *, complete: bool) -> Application:
    """Claim (and complete, as each department's system would) these matters in dependency
    order."""
    order = [t.matter for t in application.tasks]
    for matter in sorted(matters, key=lambda m: order.index(m) if m in order else len(order)):
        task = Application.objects.get(id=application.id).task_for(matter)
        officer = adapters.account_for(task.department)
        handling.claim_task(task_id=task.id, officer=officer)
        if complete:
            adapters.act(task_id=task.id, officer=officer)
    return Application.objects.get(id=application.id)


def make_progress(application: Application, progress) -> None:
    if progress in (None, "submitted"):
        return
    application = _work(application, list(progress.get("done") or []), complete=True)
    application = _work(application, list(progress.get("claimed") or []), complete=False)
    asked = progress.get("supplement")
    if asked:
        application = _work(application, [asked["matter"]], complete=False)
        task = application.task_for(asked["matter"])
        definition = applications.definition_of(application.bundle, application.bundle_version)
        fields = [f["name"] for f in definition["form"] if task.matter in (f.get("matters") or [])]
        supplements.request_supplement(
            task_id=task.id, officer=adapters.account_for(task.department),
            materials=list(task.material_types or [])[:1],
            fields=[] if task.material_types else fields[:1],
            reason=asked.get("reason") or "材料不清晰")


# ── Checks ────────────────────────────────────────────────────────────────────────────────────

@dataclass
class Seen:
    """What a check may look at: the reply, and the world just before and after it."""

    reply: dict
    citizen: User
    conversation_id: str | None
    applications_before: int
    pending_before: str | None
    bundle_names: dict[str, str]


def _cards(reply: dict) -> list[dict]:
    return list((reply.get("reply") or {}).get("cards") or [])


def _text(reply: dict) -> str:
    return (reply.get("reply") or {}).get("text") or ""


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _asked(reply: dict) -> str | None:
    return next((c.get("field") for c in _cards(reply) if c.get("type") == "question"), None)


def _conversation(seen: Seen) -> Conversation | None:
    return Conversation.objects(id=seen.conversation_id).exclude("turns").first() \
        if seen.conversation_id else None


def _draft(seen: Seen) -> dict:
    found = _conversation(seen)
    if found is None:
        return {}
    answers = dict(found.answers or {})
    answers.update({k: crypto.decrypt(v) for k, v in (found.answers_protected or {}).items()})
    return answers


def _submitted(seen: Seen) -> Application | None:
    found = applications.list_for_citizen(citizen=seen.citizen)
    return found[0] if found else None


def _submitted_form(application: Application) -> dict:
    form = dict(application.form or {})
    form.update({k: crypto.decrypt(v) for k, v in (application.form_protected or {}).items()})
    return form


def _greeting_menu(seen: Seen) -> bool:
    if fold(_text(seen.reply)).startswith(tuple(fold(g) for g in GREETINGS)):
        return True
    names = [fold(n) for n in seen.bundle_names.values()]
    for card in _cards(seen.reply):
        if card.get("type") == "choices":
            labels = [fold(c.get("label")) for c in card.get("choices") or []]
            if sum(any(n in label for n in names) for label in labels) >= 2:
                return True
    return False


def _open_handoffs(seen: Seen) -> int:
    return Handoff.objects(conversation=str(seen.conversation_id), status__in=[
        HandoffStatus.OPEN.value, HandoffStatus.CLAIMED.value]).count()


def check(name: str, expected, seen: Seen) -> str | None:
    """None when the check holds, else what was wrong."""
    if name not in CHECKS:
        return f"{name}: unknown check"
    nlu, text, cards = seen.reply.get("nlu") or {}, _text(seen.reply), _cards(seen.reply)
    types = [c.get("type") for c in cards]
    everything = [fold(s) for s in [text, *_strings(cards)]]

    def holds(ok: bool, got) -> str | None:
        return None if ok else f"{name}: expected {expected!r}, got {got!r}"

    if name == "intent":
        return holds(nlu.get("intent") == expected, nlu.get("intent"))
    if name == "intent_in":
        return holds(nlu.get("intent") in expected, nlu.get("intent"))
    if name == "intent_not":
        return holds(nlu.get("intent") not in expected, nlu.get("intent"))
    if name == "bundle":
        return holds(nlu.get("bundle") == expected, nlu.get("bundle"))
    if name == "bundle_in":
        return holds(nlu.get("bundle") in expected, nlu.get("bundle"))
    if name == "says_any":
        return holds(any(fold(p) in fold(text) for p in expected), text[:200])
    if name == "says_none":
        return holds(not any(fold(p) in fold(text) for p in expected), text[:200])
    if name == "shows_any":
        return holds(any(fold(p) in s for p in expected for s in everything), text[:200])
    if name == "cards":
        return holds(all(t in types for t in expected), types)
    if name == "no_cards":
        return holds(not any(t in types for t in expected), types)
    if name == "card":
        wanted = {k: v for k, v in expected.items() if k != "type"}
        return holds(any(c.get("type") == expected["type"] and all(
            c.get(k) == v for k, v in wanted.items()) for c in cards), cards)
    if name == "status_cards":
        return holds(types.count("status") == expected, types.count("status"))
    if name == "asks_field":
        return holds(_asked(seen.reply) == expected, _asked(seen.reply))
    if name == "not_asks_field":
        return holds(_asked(seen.reply) != expected, _asked(seen.reply))
    if name == "asks_again":
        again = seen.pending_before is not None and _asked(seen.reply) == seen.pending_before
        return holds(again == bool(expected), _asked(seen.reply))
    if name == "greeting_menu":
        return holds(_greeting_menu(seen) == bool(expected), _greeting_menu(seen))
    if name == "reply_locale":
        chinese = bool(HAN.search(text))
        return holds(chinese == (expected == "zh-CN"), text[:80])
    if name in ("conversation_status", "conversation_status_not"):
        found = _conversation(seen)
        status = found.status if found else None
        return holds((status == expected) == (name == "conversation_status"), status)
    if name == "handoff":
        return holds(("handoff" in types) == bool(expected), types)
    if name == "handoffs_total":
        return holds(_open_handoffs(seen) == expected, _open_handoffs(seen))
    if name in ("application_created", "applications_total"):
        count = len(applications.list_for_citizen(citizen=seen.citizen))
        if name == "applications_total":
            return holds(count == expected, count)
        return holds((count == seen.applications_before + 1) == bool(expected)
                     and count >= seen.applications_before, count - seen.applications_before)
    if name in ("form_value", "form_value_not"):
        draft = _draft(seen)
        for key, value in expected.items():
            equal = key in draft and fold(draft[key]) == fold(expand(value))
            if equal != (name == "form_value"):
                return f"{name}: {key} is {draft.get(key)!r}"
        return None
    if name in ("submitted_form", "submitted_bundle"):
        latest = _submitted(seen)
        if latest is None:
            return f"{name}: no application"
        if name == "submitted_bundle":
            return holds(latest.bundle == expected, latest.bundle)
        form = _submitted_form(latest)
        wrong = {k: form.get(k) for k, v in expected.items()
                 if fold(form.get(k, "")) != fold(expand(v))}
        return holds(not wrong, wrong)
    return f"{name}: unknown check"


def check_all(expect: dict | None, seen: Seen) -> list[str]:
    failures = []
    for name, expected in (expect or {}).items():
        try:
            failure = check(name, expected, seen)
        except Exception as exc:  # a check that cannot be evaluated fails
            failure = f"{name}: could not be checked ({type(exc).__name__}: {exc})"
        if failure:
            failures.append(failure)
    return failures


# ── Playing ───────────────────────────────────────────────────────────────────────────────────

class Player:
    """One conversation being played."""

    def __init__(self, spec: dict, defaults: dict, serial: int):
        self.spec, self.defaults = spec, defaults
        self.locale = _locale_of(spec)
        self.citizen = _numbered_citizen(serial, spec.get("citizen") or "verified", self.locale)
        self.conversation_id: str | None = None
        self.last: dict | None = None
        self.bundle: str | None = None
        self.names = knowledge.bundle_names(self.locale) | knowledge.bundle_names(
            "en" if self.locale == "zh-CN" else "zh-CN")

    def send(self, text: str) -> dict:
        kwargs = {"locale": self.spec["locale"]} if self.spec.get("locale") else {}
        reply = assistant.post_message(citizen=principal(self.citizen),
                                       text=expand(text, self.citizen),
                                       conversation_id=self.conversation_id, **kwargs)
        self.conversation_id = reply["conversation_id"]
        self.last = reply
        self._upload_if_asked(reply)
        return reply

    def _upload_if_asked(self, reply: dict) -> None:
        summary = next((c for c in _cards(reply) if c.get("type") == "summary"), None)
        if not summary or not summary.get("materials_missing"):
            return
        definition = knowledge.definition(summary["bundle"], self.locale)
        have = vault.on_file(owner_id=str(self.citizen.id), types=[
            m["code"] for m in publishing.materials_to_give(definition)])
        for material in publishing.materials_to_give(definition):
            if material["code"] not in have:
                give_material(self.citizen, material["code"])

    def answers_for(self, overrides: dict) -> dict:
        conversation = Conversation.objects(id=self.conversation_id).only("bundle").first() \
            if self.conversation_id else None
        bundle = (conversation.bundle if conversation else None) or self.bundle
        return {**answers_for(self.defaults, bundle, self.locale), **(overrides or {})}

    def fill(self, spec: dict) -> list[str]:
        until, sent = spec.get("until") or "summary", []
        for _ in range(MAX_FILL):
            asked = _asked(self.last or {})
            summary = any(c.get("type") == "summary" for c in _cards(self.last or {}))
            if asked == until or (until == "summary" and summary and asked is None):
                return sent
            if asked is None:
                where = "the summary" if summary else "no question"
                raise AssertionError(f"fill until {until}: reached {where}")
            answers = self.answers_for(spec.get("answers") or {})
            if asked not in answers:
                raise AssertionError(f"fill: no answer for {asked}")
            sent.append(str(answers[asked]))
            self.send(answers[asked])
        raise AssertionError(f"fill until {until}: still asking after {MAX_FILL} messages")

    def seen(self, before: int, pending: str | None) -> Seen:
        return Seen(reply=self.last or {}, citizen=self.citizen,
                    conversation_id=self.conversation_id, applications_before=before,
                    pending_before=pending, bundle_names=self.names)


def answers_for(defaults: dict, bundle: str | None, locale: str) -> dict:
    """How the citizen answers each field of the bundle's form; a field the bundle's defaults
    leave out is answered as another bundle's defaults answer the same field."""
    every = defaults.get("answers") or {}
    merged: dict = {}
    for other in every.values():
        merged.update((other or {}).get(locale) or {})
    return {**merged, **((every.get(bundle) or {}).get(locale) or {})}


def play(spec: dict, defaults: dict, serial: int) -> ConversationResult:
    result = ConversationResult(id=str(spec.get("id")), title=spec.get("title") or "")
    turns = spec.get("turns") or []
    try:
        player = Player(spec, defaults, serial)
        for made in spec.get("applications") or []:
            player.bundle = made["bundle"]
            application = submit(player.citizen, made["bundle"],
                                 answers_for(defaults, made["bundle"], player.locale),
                                 player.locale)
            make_progress(application, made.get("progress"))
    except Exception as exc:
        result.error = f"setting up: {type(exc).__name__}: {exc}"
        result.unplayed = len(turns)
        return result
    for number, turn in enumerate(turns, start=1):
        before = len(applications.list_for_citizen(citizen=player.citizen))
        pending = _asked(player.last or {})
        try:
            if "say" in turn:
                sent = [str(turn["say"])]
                player.send(turn["say"])
            elif "fill" in turn:
                sent = player.fill(turn["fill"] or {})
            else:
                raise ValueError(f"turn {number} neither says nor fills")
        except Exception as exc:
            result.turns.append(TurnResult(number, [], player.last,
                                           [f"{type(exc).__name__}: {exc}"]))
            result.unplayed = len(turns) - number
            return result
        failures = check_all(turn.get("expect"), player.seen(before, pending))
        result.turns.append(TurnResult(number, sent, player.last, failures))
    success = (spec.get("success") or {}).get("checks") or []
    seen = player.seen(len(applications.list_for_citizen(citizen=player.citizen)), None)
    for item in success:
        result.success_failures += check_all(item, seen)
    return result


def load(path: Path) -> dict:
    spec = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if spec.get("format") != 1:
        raise ValueError(f"{path}: format 1 expected")
    ids = [c.get("id") for c in spec.get("conversations") or []]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{path}: conversation ids repeat")
    return spec


def default_file() -> Path:
    return SHARED_FILE if SHARED_FILE.exists() else OWN_FILE


def run_file(path: Path | None = None, only: set[str] | None = None) -> Report:
    """Play every conversation of the file (in the current app context, on its database)."""
    spec = load(path or default_file())
    defaults = spec.get("defaults") or {}
    results = []
    for conversation in spec.get("conversations") or []:
        if only and str(conversation.get("id")) not in only:
            continue
        results.append(play(conversation, defaults, next(_serials)))
    return Report(results)
