"""The chat assistant's entry point: one message in, one grounded reply out, state stored."""
import logging
import threading
from datetime import UTC, datetime

from bson import ObjectId
from flask import current_app

from assistant import answers, knowledge, llm, nlu, slots
from assistant.dialogue import Dialogue
from assistant.dialogue.handoff import receipt
from assistant.normalize import detect_locale
from common import i18n
from common.i18n import LOCALES, current_locale
from models.conversation import MAX_TURNS, WITH_THE_DESK, Conversation, Turn
from models.handoff import Handoff
from models.user import Role
from services.desk import handoffs, queue
from services.errors import Forbidden, InvalidState, NotFound

log = logging.getLogger(__name__)

# The fields a turn may change; turns are appended separately.
STATE_FIELDS = ("locale", "state", "bundle", "bundle_version", "subject", "answers",
                "answers_protected", "queue", "pending_field", "pending", "drafts",
                "application_id", "handoff_id", "misunderstood", "last_reply",
                # Handing over to the desk (services.desk.queue) happens in a turn too.
                "status", "region", "handover_reason", "waiting_since", "after_hours", "agent",
                "claimed_at", "closed_at", "closed_by", "flagged_at")

_warming = threading.Lock()


def warm_up() -> None:
    """Load the understanding and the FAQ now rather than on the first message (about a second);
    callers at once (the start-up thread and a server's own call) do it once."""
    with _warming:
        nlu.understander()
        answers.faq()


def _conversation(conversation_id: str | None, owner_id: str) -> Conversation | None:
    if not conversation_id:
        return None
    found = (Conversation.objects(id=conversation_id, owner=owner_id).exclude("turns", "outbox")
             .first() if ObjectId.is_valid(str(conversation_id)) else None)
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
    if conversation is not None and conversation.status in WITH_THE_DESK:
        left = _leave_for_staff(conversation, text, chosen)
        if left is not None:
            return left
        conversation = _conversation(conversation_id, str(user.id))  # closed meanwhile
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


def _leave_for_staff(conversation: Conversation, text: str, locale: str) -> dict | None:
    """While the desk has the conversation the assistant does not answer: the message is kept
    for staff (and the citizen told where they stand while nobody holds it yet). None when
    staff closed it meanwhile: the assistant answers after all."""
    token = current_locale.set(locale)
    try:
        understanding = nlu.understand(text, knowledge.terms())
        words, cards = receipt(queue.where(conversation), locale)
    finally:
        current_locale.reset(token)
    now = datetime.now(UTC)
    turns = [Turn(role="citizen", text=slots.mask_private(text), nlu=understanding.as_dict(),
                  at=now)]
    if words:
        turns.append(Turn(role="assistant", text=words, cards=cards, at=now))
    result = Conversation._get_collection().update_one(
        {"_id": conversation.id, "status": {"$in": list(WITH_THE_DESK)}},
        {"$set": {"updated_at": now}, "$inc": {"version": 1},
         "$push": {"turns": {"$each": [t.to_mongo() for t in turns], "$slice": -MAX_TURNS}}})
    if result.matched_count == 0:
        return None
    return {"conversation_id": str(conversation.id), "reply": {"text": words, "cards": cards},
            "nlu": understanding.as_dict()}


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


# ── Staff: the handoff records live in services.desk.handoffs ──────────────────────────────────

def list_handoffs(*, staff, status: str | None = "open") -> list[Handoff]:
    """Handoffs waiting for staff, oldest first (services.desk.handoffs.list_handoffs)."""
    return handoffs.list_handoffs(staff=staff, status=status)
