"""The runner's checks: what a reply, the stored conversation and the citizen's applications must
show after a turn (the list is in assistant/eval/runner.py)."""
import unicodedata
from dataclasses import dataclass
from typing import Any

from assistant.eval.world import HAN, expand
from common import crypto
from models.application import Application
from models.conversation import Conversation
from models.handoff import Handoff, HandoffStatus
from models.user import User
from services.workflow import applications

CHECKS = {"intent", "intent_in", "intent_not", "bundle", "bundle_in", "says_any", "says_none",
          "shows_any", "cards", "no_cards", "card", "status_cards", "asks_field",
          "not_asks_field", "asks_again", "greeting_menu", "reply_locale",
          "conversation_status", "conversation_status_not", "handoff", "handoffs_total",
          "application_created", "applications_total", "form_value", "form_value_not",
          "submitted_form", "submitted_bundle"}
GREETINGS = ("您好！告诉我", "hello! tell me")


def fold(value: Any) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip().lower()


@dataclass
class Seen:
    """What a check may look at: the reply, and the world just before and after it."""

    reply: dict
    citizen: User
    conversation_id: str | None
    applications_before: int
    pending_before: str | None
    bundle_names: dict[str, str]


def cards(reply: dict) -> list[dict]:
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


def asked(reply: dict) -> str | None:
    return next((c.get("field") for c in cards(reply) if c.get("type") == "question"), None)


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
    for card in cards(seen.reply):
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
    nlu, text, shown = seen.reply.get("nlu") or {}, _text(seen.reply), cards(seen.reply)
    types = [c.get("type") for c in shown]
    everything = [fold(s) for s in [text, *_strings(shown)]]

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
            c.get(k) == v for k, v in wanted.items()) for c in shown), shown)
    if name == "status_cards":
        return holds(types.count("status") == expected, types.count("status"))
    if name == "asks_field":
        return holds(asked(seen.reply) == expected, asked(seen.reply))
    if name == "not_asks_field":
        return holds(asked(seen.reply) != expected, asked(seen.reply))
    if name == "asks_again":
        again = seen.pending_before is not None and asked(seen.reply) == seen.pending_before
        return holds(again == bool(expected), asked(seen.reply))
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


