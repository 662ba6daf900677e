"""The chat assistant: a message and its reply, conversations, and handoffs to staff."""
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from assistant.nlu import INTENTS
from models.conversation import ConversationState, ConversationStatus
from models.handoff import HandoffStatus

CARD_DESCRIPTION = (
    "Structured content the app renders besides the text, by `type`: `bundle` (a life event: "
    "matters, departments, time limits, reform figures), `checklist` (materials, each `on_file` "
    "or `needed`), `status` (an application by department: done, in progress, waiting and for "
    "what, ETA, supplement asked), `question` (the form field asked now, with `choices`), "
    "`summary` (what will be submitted), `buttons` and `choices` (send a `value` back as the "
    "next message), `handoff` (handed over to the service desk: `status`, `position` in the "
    "queue, `desk_open`, `back_at`, `hours`), `faq` (a curated answer).")
AUTHORS = ["citizen", "assistant", "staff"]


class MessageCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    conversation_id = fields.String(validate=validate.Length(min=1, max=64), allow_none=True,
                                    metadata={"description": "omit to start a conversation"})
    text = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    locale = fields.String(validate=validate.OneOf(["zh-CN", "zh", "zh-Hans", "zh-TW", "en",
                                                    "en-US", "en-GB"]),
                           metadata={"description": "reply language; else the message's own "
                                                    "language, else Accept-Language"})

    @validates("text")
    def not_blank(self, value: str, **kwargs) -> None:
        if not value.strip():
            raise ValidationError("Shorter than minimum length 1.")


class NluSchema(Schema):
    intent = fields.String(dump_only=True, metadata={"enum": list(INTENTS)})
    bundle = fields.String(dump_only=True, allow_none=True,
                           metadata={"description": "bundle code, or null"})
    confidence = fields.Float(dump_only=True)


class ReplySchema(Schema):
    text = fields.String(dump_only=True)
    cards = fields.List(fields.Dict(), dump_only=True,
                        metadata={"description": CARD_DESCRIPTION})


class MessageSchema(Schema):
    conversation_id = fields.String(dump_only=True)
    reply = fields.Nested(ReplySchema, dump_only=True)
    nlu = fields.Nested(NluSchema, dump_only=True)


class TurnSchema(Schema):
    role = fields.String(dump_only=True, metadata={"enum": AUTHORS})
    author = fields.String(attribute="role", dump_only=True, metadata={
        "enum": AUTHORS, "description": "who said it: the citizen, the assistant, or a member "
                                        "of the service desk"})
    text = fields.String(dump_only=True)
    cards = fields.List(fields.Dict(), dump_only=True)
    nlu = fields.Nested(NluSchema, dump_only=True, allow_none=True)
    at = fields.DateTime(dump_only=True)


class ConversationSchema(Schema):
    id = fields.String(dump_only=True)
    status = fields.String(dump_only=True, metadata={
        "enum": [s.value for s in ConversationStatus],
        "description": "who answers: the assistant (`with_assistant`, or `closed` once staff "
                       "closed it), or the service desk (`waiting_for_staff`, `with_staff`)"})
    state = fields.String(dump_only=True, metadata={"enum": [s.value for s in ConversationState]})
    locale = fields.String(dump_only=True)
    bundle = fields.String(dump_only=True, allow_none=True)
    application_id = fields.String(dump_only=True, allow_none=True)
    handoff_id = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    turns = fields.List(fields.Nested(TurnSchema), dump_only=True)
    messages = fields.List(fields.Nested(TurnSchema), attribute="turns", dump_only=True,
                           metadata={"description": "every message, oldest first, with its "
                                                    "`author` (the same as `turns`)"})


class ConversationSummarySchema(ConversationSchema):
    class Meta:
        exclude = ("turns", "messages")


class TranscriptTurnSchema(Schema):
    role = fields.String(dump_only=True)
    text = fields.String(dump_only=True)
    at = fields.DateTime(dump_only=True)


class HandoffSchema(Schema):
    id = fields.String(dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": [s.value for s in HandoffStatus]})
    conversation = fields.String(dump_only=True)
    citizen = fields.String(dump_only=True)
    bundle = fields.String(dump_only=True, allow_none=True)
    departments = fields.List(fields.String(), dump_only=True)
    locale = fields.String(dump_only=True)
    reason = fields.String(dump_only=True, allow_none=True)
    claimed_by = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    claimed_at = fields.DateTime(dump_only=True, allow_none=True)
    closed_at = fields.DateTime(dump_only=True, allow_none=True)
    transcript = fields.List(fields.Nested(TranscriptTurnSchema), dump_only=True)


class HandoffQueryArgsSchema(Schema):
    class Meta:
        unknown = RAISE

    status = fields.String(load_default=HandoffStatus.OPEN.value,
                           validate=validate.OneOf([s.value for s in HandoffStatus]))
