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


class Turn(me.EmbeddedDocument):
    role = me.StringField(required=True, choices=["citizen", "assistant"])
    # The citizen's text with ID numbers, phone numbers and account numbers masked.
    text = me.StringField()
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
    turns = me.EmbeddedDocumentListField(Turn)
    version = me.IntField(default=1)  # every turn is one conditional write on it
    meta = {
        "collection": "conversations",
        "ordering": ["-updated_at"],
        "indexes": [("owner", "-updated_at")],
    }
