"""A conversation with the assistant and its state, stored so that any process can continue it."""
from enum import StrEnum

import mongoengine as me

from models.base import TimestampedDocument, utcnow

MAX_TURNS = 200  # the oldest turns beyond this are dropped; the state is what matters


class ConversationState(StrEnum):
    IDLE = "idle"
    CHOOSING = "choosing"  # a clarifying question with choices was asked
    CHOOSING_SUBJECT = "choosing_subject"  # who the application is about
    COLLECTING = "collecting"  # gathering the joint form's missing answers, one at a time
    CONFIRMING = "confirming"  # the summary is shown; only an explicit yes submits


class ConversationStatus(StrEnum):
    """Who answers the citizen: the assistant, or a person at the service desk."""

    WITH_ASSISTANT = "with_assistant"
    WAITING_FOR_STAFF = "waiting_for_staff"  # in the desk's queue; the assistant stays silent
    WITH_STAFF = "with_staff"  # an agent holds it
    CLOSED = "closed"  # staff closed it: the assistant answers again, until the next handover


# While staff have it, the assistant does not answer: the citizen's messages are kept for them.
WITH_THE_DESK = (ConversationStatus.WAITING_FOR_STAFF.value, ConversationStatus.WITH_STAFF.value)


class Turn(me.EmbeddedDocument):
    role = me.StringField(required=True, choices=["citizen", "assistant", "staff"])
    # The citizen's text with ID numbers, phone numbers and account numbers masked.
    text = me.StringField()
    staff = me.StringField()  # who wrote a staff turn (user id), for the record
    cards = me.ListField(me.DictField())
    nlu = me.DictField()  # {"intent", "bundle", "confidence"} of a citizen's turn
    at = me.DateTimeField(default=utcnow)


class Conversation(TimestampedDocument):
    owner = me.StringField(required=True)  # the citizen's user id
    locale = me.StringField(default="zh-CN", choices=["zh-CN", "en"])
    state = me.StringField(default=ConversationState.IDLE.value,
                           choices=[s.value for s in ConversationState])
    bundle = me.StringField()  # the "one thing" being talked about
    bundle_version = me.IntField()  # the version whose form is being filled in
    subject = me.DictField()  # who the application is about: {"kind", "id"?, "name"?}
    answers = me.DictField()  # the joint form's answers so far, personal data excepted
    answers_protected = me.DictField()  # ID and phone numbers, encrypted: {field: token}
    queue = me.ListField(me.StringField())  # fields still to ask, in order
    pending_field = me.StringField()  # the field the last question asked for
    # What the last reply offered: {"kind": "choices", "choices": [{"value", "label", "action"}]}
    # or {"kind": "offer", "action": {...}}.
    pending = me.DictField()
    drafts = me.IntField(default=0)  # applications started here: part of the idempotency key
    application_id = me.StringField()  # the last application submitted from here
    handoff_id = me.StringField()  # the open handoff to staff, if any
    # Replies in a row that did not understand the citizen (two hand the conversation over).
    misunderstood = me.IntField(default=0)
    last_reply = me.StringField()  # a digest of the last reply's text: never say it twice
    # The service desk (services.desk): who answers, where, since when.
    status = me.StringField(default=ConversationStatus.WITH_ASSISTANT.value,
                            choices=[s.value for s in ConversationStatus])
    region = me.StringField()  # the desk that serves it: the citizen's region at the handover
    handover_reason = me.StringField()  # asked | not_understood | rejected_application
    waiting_since = me.DateTimeField()  # when it last entered the desk's queue
    after_hours = me.BooleanField(default=False)  # handed over while the desk was closed
    agent = me.StringField()  # the agent (user id) who holds it
    claimed_at = me.DateTimeField()
    closed_at = me.DateTimeField()
    closed_by = me.StringField()
    flagged_at = me.DateTimeField()  # the region's agents were told it waits too long
    # Notification intents (staff messages, alerts) for the notifications relay, written with
    # the change that causes them, as applications' outboxes are.
    outbox = me.ListField(me.DictField())
    outbox_pending = me.BooleanField(default=False)
    turns = me.EmbeddedDocumentListField(Turn)
    version = me.IntField(default=1)  # every turn is one conditional write on it
    meta = {
        "collection": "conversations",
        "ordering": ["-updated_at"],
        "indexes": [("owner", "-updated_at"), ("status", "region", "waiting_since"),
                    {"fields": ["outbox_pending"], "sparse": False},
                    # The desk's recently closed: partial, so the assistant's own turns (never
                    # closed ones) write no key of it.
                    {"fields": ["status", "region", "-closed_at"], "name": "closed_latest",
                     "partialFilterExpression": {"status": ConversationStatus.CLOSED.value}}],
    }
