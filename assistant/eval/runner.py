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
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from assistant import conversations as assistant
from assistant import knowledge
from assistant.eval import world
from assistant.eval.checks import Seen, asked, cards, check_all
from models.conversation import Conversation
from services.catalogue import publishing
from services.materials import vault
from services.workflow import applications

ROOT = Path(__file__).resolve().parents[2]
SHARED_FILE = ROOT / "assistant" / "eval" / "conversations.yaml"
OWN_FILE = ROOT / "tests" / "assistant" / "data" / "conversations.yaml"
GOAL_TARGET, WRONG_TURN_TARGET = 0.90, 0.05
MAX_FILL = 40
_serials = itertools.count(1)  # each citizen of a run its own phone and ID number


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

# ── Playing ───────────────────────────────────────────────────────────────────────────────────

class Player:
    """One conversation being played."""

    def __init__(self, spec: dict, defaults: dict, serial: int):
        self.spec, self.defaults = spec, defaults
        self.locale = world.locale_of(spec)
        self.citizen = world.citizen(serial, spec.get("citizen") or "verified", self.locale)
        self.conversation_id: str | None = None
        self.last: dict | None = None
        self.bundle: str | None = None
        self.names = knowledge.bundle_names(self.locale) | knowledge.bundle_names(
            "en" if self.locale == "zh-CN" else "zh-CN")

    def send(self, text: str) -> dict:
        kwargs = {"locale": self.spec["locale"]} if self.spec.get("locale") else {}
        reply = assistant.post_message(citizen=world.principal(self.citizen),
                                       text=world.expand(text, self.citizen),
                                       conversation_id=self.conversation_id, **kwargs)
        self.conversation_id = reply["conversation_id"]
        self.last = reply
        self._upload_ifasked(reply)
        return reply

    def _upload_ifasked(self, reply: dict) -> None:
        summary = next((c for c in cards(reply) if c.get("type") == "summary"), None)
        if not summary or not summary.get("materials_missing"):
            return
        definition = knowledge.definition(summary["bundle"], self.locale)
        have = vault.on_file(owner_id=str(self.citizen.id), types=[
            m["code"] for m in publishing.materials_to_give(definition)])
        for material in publishing.materials_to_give(definition):
            if material["code"] not in have:
                world.give_material(self.citizen, material["code"])

    def answers_for(self, overrides: dict) -> dict:
        conversation = Conversation.objects(id=self.conversation_id).only("bundle").first() \
            if self.conversation_id else None
        bundle = (conversation.bundle if conversation else None) or self.bundle
        return {**answers_for(self.defaults, bundle, self.locale), **(overrides or {})}

    def fill(self, spec: dict) -> list[str]:
        until, sent = spec.get("until") or "summary", []
        for _ in range(MAX_FILL):
            field = asked(self.last or {})
            summary = any(c.get("type") == "summary" for c in cards(self.last or {}))
            if field == until or (until == "summary" and summary and field is None):
                return sent
            if field is None:
                where = "the summary" if summary else "no question"
                raise AssertionError(f"fill until {until}: reached {where}")
            answers = self.answers_for(spec.get("answers") or {})
            if field not in answers:
                raise AssertionError(f"fill: no answer for {field}")
            sent.append(str(answers[field]))
            self.send(answers[field])
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
            application = world.submit(player.citizen, made["bundle"],
                                 answers_for(defaults, made["bundle"], player.locale),
                                 player.locale)
            world.make_progress(application, made.get("progress"))
    except Exception as exc:
        result.error = f"setting up: {type(exc).__name__}: {exc}"
        result.unplayed = len(turns)
        return result
    for number, turn in enumerate(turns, start=1):
        before = len(applications.list_for_citizen(citizen=player.citizen))
        pending = asked(player.last or {})
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
