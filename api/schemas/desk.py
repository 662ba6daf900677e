"""The service desk: the region's queue of conversations, one conversation, what an agent writes."""
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from api.schemas.assistant import AUTHORS

LISTED = ["waiting_for_staff", "with_staff", "closed"]


class DeskQueryArgsSchema(Schema):
    class Meta:
        unknown = RAISE

    status = fields.String(load_default="waiting_for_staff", validate=validate.OneOf(LISTED),
                           metadata={"description": "waiting ones are listed oldest waiting "
                                                    "first; closed ones latest first, those "
                                                    "closed in the last DESK_CLOSED_DAYS (30) "
                                                    "days"})
    mine = fields.Boolean(metadata={"description": "only the conversations I hold"})


class DeskMessageCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    text = fields.String(required=True, validate=validate.Length(min=1, max=2000))

    @validates("text")
    def not_blank(self, value: str, **kwargs) -> None:
        if not value.strip():
            raise ValidationError("Shorter than minimum length 1.")


class DeskCitizenSchema(Schema):
    id = fields.String(dump_only=True)
    name = fields.String(dump_only=True, allow_none=True)
    phone = fields.String(dump_only=True, allow_none=True, metadata={"description": "masked"})
    real_name_verified = fields.Boolean(dump_only=True)


class DeskConversationSchema(Schema):
    """A conversation in the desk's queue."""

    id = fields.String(dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": LISTED})
    region = fields.String(dump_only=True, allow_none=True)
    locale = fields.String(dump_only=True)
    citizen = fields.Nested(DeskCitizenSchema, dump_only=True)
    bundle = fields.String(dump_only=True, allow_none=True)
    reason = fields.String(dump_only=True, allow_none=True, metadata={
        "enum": ["asked", "not_understood", "rejected_application"],
        "description": "why the assistant handed it over"})
    words = fields.String(dump_only=True, allow_none=True,
                          metadata={"description": "what the citizen said then, masked"})
    waiting_since = fields.DateTime(dump_only=True, allow_none=True)
    position = fields.Integer(dump_only=True, metadata={"description": "place in the queue; 0 "
                                                                       "unless waiting"})
    after_hours = fields.Boolean(dump_only=True)
    flagged = fields.Boolean(dump_only=True, metadata={"description": "waited too long"})
    agent = fields.String(dump_only=True, allow_none=True)
    held_by_me = fields.Boolean(dump_only=True)
    claimed_at = fields.DateTime(dump_only=True, allow_none=True)
    closed_at = fields.DateTime(dump_only=True, allow_none=True)
    updated_at = fields.DateTime(dump_only=True, allow_none=True)


class DeskMessageSchema(Schema):
    author = fields.String(dump_only=True, metadata={"enum": AUTHORS})
    text = fields.String(dump_only=True)
    cards = fields.List(fields.Dict(), dump_only=True)
    at = fields.DateTime(dump_only=True)
    staff = fields.String(dump_only=True, allow_none=True,
                          metadata={"description": "who wrote a staff message"})


class DeskTaskSchema(Schema):
    matter = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    department = fields.String(dump_only=True)
    department_name = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    waiting_for = fields.List(fields.String(), dump_only=True)
    reason = fields.String(dump_only=True, allow_none=True)
    due_at = fields.DateTime(dump_only=True, allow_none=True)
    overdue = fields.Boolean(dump_only=True)


class DeskApplicationSchema(Schema):
    id = fields.String(dump_only=True)
    bundle = fields.String(dump_only=True)
    bundle_name = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True, allow_none=True)
    eta = fields.DateTime(dump_only=True, allow_none=True)
    reason = fields.String(dump_only=True, allow_none=True)
    supplement = fields.Dict(dump_only=True, allow_none=True)
    form = fields.Dict(dump_only=True, metadata={"description": "personal data masked"})
    subject = fields.Dict(dump_only=True)
    tasks = fields.List(fields.Nested(DeskTaskSchema), dump_only=True)


class DeskConversationDetailSchema(DeskConversationSchema):
    """Everything said so far, and the citizen's applications that bear on it."""

    messages = fields.List(fields.Nested(DeskMessageSchema), dump_only=True)
    applications = fields.List(fields.Nested(DeskApplicationSchema), dump_only=True)
