"""The chat assistant's entry point: one message in, one grounded reply out, state stored."""
import logging
from datetime import UTC, datetime

from bson import ObjectId
from flask import current_app

from assistant import answers, knowledge, llm, nlu, slots
from assistant.dialogue import Dialogue
from assistant.normalize import detect_locale
from common import i18n
from common.i18n import LOCALES, current_locale
from models.conversation import MAX_TURNS, Conversation, Turn
from models.handoff import Handoff, HandoffStatus
from models.user import Role
from services.errors import Forbidden, InvalidState, NotFound

log = logging.getLogger(__name__)

# The fields a turn may change; turns are appended separately.
STATE_FIELDS = ("locale", "state", "bundle", "bundle_version", "subject", "answers",
                "answers_protected", "queue", "pending_field", "pending", "drafts",
                "application_id", "handoff_id")

def warm_up() -> None:
    """Train the understanding now rather than on the first message (it takes about a second)."""
    nlu.understander()
    answers.faq()


def _conversation(conversation_id: str | None, owner_id: str) -> Conversation | None:
    if not conversation_id:
        return None
    found = (Conversation.objects(id=conversation_id, owner=owner_id).exclude("turns").first()
             if ObjectId.is_valid(str(conversation_id)) else None)
    if found is None:  # someone else's conversation looks exactly like a missing one
        raise NotFound("No such conversation.", "未找到该对话。", error="conversation_not_found")
    return found


def choose_locale(*, asked: str | None, message: str, conversation: Conversation | None,
                  fallback: str) -> str:
    """The request's locale if given; else the language the message is written in; else the
    conversation's; else the request's (Accept-Language or the user's)."""
    for candidate in (i18n.normalize(asked), detect_locale(message),
                      conversation.locale if conversation else None, fallback):
        if candidate in LOCALES:
            return candidate
    return "zh-CN"


def post_message(*, citizen, text: str, conversation_id: str | None = None,
                 locale: str | None = None) -> dict:
    """Understand a citizen's message, act on it, answer it; the conversation is stored.

    `citizen` is who is talking (the caller's Principal or their User).
    """
    if str(citizen.role) != Role.CITIZEN:
        raise Forbidden("The assistant serves citizens.", "智能助手仅为居民提供服务。")
    user = citizen
    conversation = _conversation(conversation_id, str(user.id))
    chosen = choose_locale(asked=locale, message=text, conversation=conversation,
                           fallback=current_locale.get())
    is_new = conversation is None
    if is_new:
        conversation = Conversation(id=ObjectId(), owner=str(user.id), locale=chosen)
    conversation.locale = chosen
    version = conversation.version or 1
    token = current_locale.set(chosen)
    try:
        understanding = nlu.understand(text, knowledge.terms())
        dialogue = Dialogue(conversation, user, chosen)
        reply = dialogue.respond(understanding, text)
        reply_text = llm.rephrase(reply.text, chosen, current_app.config)
    finally:
        current_locale.reset(token)
    now = datetime.now(UTC)
    turns = [Turn(role="citizen", text=slots.mask_private(text), nlu=dialogue.nlu, at=now),
             Turn(role="assistant", text=reply_text, cards=reply.cards, at=now)]
    _store(conversation, turns, version, is_new)
    return {"conversation_id": str(conversation.id),
            "reply": {"text": reply_text, "cards": reply.cards},
            "nlu": dialogue.nlu}


def _store(conversation: Conversation, turns: list[Turn], version: int, is_new: bool) -> None:
    """One conditional write: a turn computed from a state another process has since changed
    loses, and the citizen is asked to send the message again."""
    now = datetime.now(UTC)
    if is_new:
        conversation.turns = turns
        conversation.save(force_insert=True)
        return
    state = conversation.to_mongo()
    changes = {name: state.get(name) for name in STATE_FIELDS}
    result = Conversation._get_collection().update_one(
        {"_id": conversation.id, "version": version},
        {"$set": {**changes, "updated_at": now},
         "$inc": {"version": 1},
         "$push": {"turns": {"$each": [t.to_mongo() for t in turns], "$slice": -MAX_TURNS}}})
    if result.matched_count == 0:
        raise InvalidState("The conversation moved on meanwhile; please send your message again.",
                           "对话刚刚有了新进展，请重新发送您的消息。",
                           error="conversation_conflict")


def get_conversation(*, conversation_id: str, citizen) -> Conversation:
    """The citizen's own conversation with its turns; anyone else's is not found."""
    found = (Conversation.objects(id=conversation_id, owner=str(citizen.id)).first()
             if ObjectId.is_valid(str(conversation_id)) else None)
    if found is None:
        raise NotFound("No such conversation.", "未找到该对话。", error="conversation_not_found")
    return found


def list_conversations(*, citizen) -> list[Conversation]:
    """The citizen's latest conversations, without their turns."""
    return list(Conversation.objects(owner=str(citizen.id)).exclude("turns")
                .order_by("-updated_at").limit(50))


# ── Staff: handoffs ──────────────────────────────────────────────────────────────────────────

def _visible_handoffs(staff):
    query = Handoff.objects
    if staff.role == Role.OFFICER:
        # An officer sees what concerns their department, and what concerns no bundle yet, of
        # citizens of their own region.
        query = query.filter(__raw__={"region": staff.region or None,
                                      "$or": [{"departments": staff.department},
                                              {"departments": {"$size": 0}}]})
    return query


def list_handoffs(*, staff, status: str | None = HandoffStatus.OPEN.value) -> list[Handoff]:
    """Handoffs waiting for staff, oldest first so the longest wait is served first."""
    query = _visible_handoffs(staff)
    if status:
        query = query.filter(status=status)
    return list(query.order_by("created_at").limit(200))


def get_handoff(*, handoff_id: str, staff) -> Handoff:
    found = (_visible_handoffs(staff).filter(id=handoff_id).first()
             if ObjectId.is_valid(str(handoff_id)) else None)
    if found is None:
        raise NotFound("No such handoff.", "未找到该转人工记录。", error="handoff_not_found")
    return found


def transcript(handoff: Handoff, limit: int = 30) -> list[dict]:
    """The last turns of the conversation, as stored (private numbers already masked)."""
    conversation = Conversation.objects(id=handoff.conversation).only("turns").first()
    turns = (conversation.turns if conversation else [])[-limit:]
    return [{"role": t.role, "text": t.text, "at": t.at} for t in turns]


def _transition(handoff_id: str, staff, expected: list[str], changes: dict) -> Handoff:
    handoff = get_handoff(handoff_id=handoff_id, staff=staff)
    updated = Handoff.objects(id=handoff.id, status__in=expected).modify(
        new=True, **{f"set__{k}": v for k, v in {**changes,
                                                   "updated_at": datetime.now(UTC)}.items()})
    if updated is None:
        raise InvalidState("This handoff is already {s}.", "该转人工记录当前状态为 {s}。",
                           error="handoff_not_open", s=Handoff.objects(id=handoff.id).first()
                           .status)
    return updated


def claim_handoff(*, handoff_id: str, staff) -> Handoff:
    """A member of staff takes an open handoff; only one can."""
    return _transition(handoff_id, staff, [HandoffStatus.OPEN.value],
                       {"status": HandoffStatus.CLAIMED.value, "claimed_by": str(staff.id),
                        "claimed_at": datetime.now(UTC)})


def close_handoff(*, handoff_id: str, staff) -> Handoff:
    """The citizen has been helped: closed, and the conversation may be handed off again."""
    closed = _transition(handoff_id, staff, [HandoffStatus.OPEN.value,
                                             HandoffStatus.CLAIMED.value],
                         {"status": HandoffStatus.CLOSED.value, "closed_at": datetime.now(UTC)})
    Conversation.objects(id=closed.conversation, handoff_id=str(closed.id)).update_one(
        unset__handoff_id=True)
    return closed
