"""Applications as the citizen sends and reads them."""
from marshmallow import RAISE, Schema, fields, validate

from api.schemas.regions import RegionCode
from models.application import ApplicationStatus, TaskStatus

ID = validate.Length(min=1, max=64)


class SubjectSchema(Schema):
    class Meta:
        unknown = RAISE

    kind = fields.String(
        required=True, validate=validate.OneOf(["self", "family", "newborn"]),
        metadata={"description": "self; family (a family member by `id`); newborn (the child "
                                 "is added to the family from the joint form)"})
    id = fields.String(validate=ID, metadata={"description": "family member id, for family"})
    relation = fields.String(dump_only=True)
    name = fields.String(dump_only=True, allow_none=True)


class ApplicationCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    bundle = fields.String(required=True, validate=validate.Length(min=1, max=100),
                           metadata={"description": "bundle code, e.g. newborn"})
    # Left out: the bundle's natural subject (its `subject`), resolved by the service.
    subject = fields.Nested(SubjectSchema, load_default=None)
    form = fields.Dict(keys=fields.String(validate=validate.Length(max=100)),
                       load_default=dict,
                       metadata={"description": "answers to the joint form; what is prefilled "
                                                "(verified name, ID number, family) may be left "
                                                "out"})
    materials = fields.List(fields.String(validate=ID), load_default=list,
                            validate=validate.Length(max=50),
                            metadata={"description": "material ids from the vault; types "
                                                     "already on file need not be given"})
    region = RegionCode(metadata={
        "description": "where to apply (default: where I live, PATCH /me; else the "
                       "configured default region). Each matter goes to its department in "
                       "the region at the matter's level."})


class SupplementAnswerSchema(Schema):
    class Meta:
        unknown = RAISE

    materials = fields.List(fields.String(validate=ID), load_default=list,
                            validate=validate.Length(max=50))
    form = fields.Dict(keys=fields.String(validate=validate.Length(max=100)), load_default=dict)


class ApplicationQueryArgsSchema(Schema):
    class Meta:
        unknown = RAISE

    status = fields.String(validate=validate.OneOf([s.value for s in ApplicationStatus]))


class NamedSchema(Schema):
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)


class TimeLimitViewSchema(Schema):
    value = fields.Integer(dump_only=True)
    unit = fields.String(dump_only=True)


class ServiceWindowViewSchema(Schema):
    address = fields.String(dump_only=True, allow_none=True)
    hours = fields.String(dump_only=True, allow_none=True)
    phone = fields.String(dump_only=True, allow_none=True)


class TaskSchema(Schema):
    """A task as the citizen sees it: no officer, no internal note."""

    id = fields.String(dump_only=True)
    matter = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    department = fields.String(dump_only=True)
    department_name = fields.String(dump_only=True)
    region = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "the region whose department works it (GB/T 2260)"})
    region_name = fields.String(dump_only=True, allow_none=True)
    promised = fields.Nested(TimeLimitViewSchema, dump_only=True, allow_none=True, metadata={
        "description": "the promised limit in that region"})
    window = fields.Nested(ServiceWindowViewSchema, dump_only=True, allow_none=True, metadata={
        "description": "that region's service window, if it has one"})
    status = fields.String(dump_only=True, metadata={"enum": [s.value for s in TaskStatus]})
    depends_on = fields.List(fields.String(), dump_only=True)
    outputs = fields.Dict(dump_only=True, metadata={"description": "ID numbers masked"})
    due_at = fields.DateTime(dump_only=True, allow_none=True)
    overdue = fields.Boolean(dump_only=True)
    released_at = fields.DateTime(dump_only=True, allow_none=True)
    completed_at = fields.DateTime(dump_only=True, allow_none=True)
    reason = fields.String(dump_only=True, allow_none=True,
                           metadata={"description": "why it was refused, or what is missing"})


class SupplementFieldSchema(Schema):
    name = fields.String(dump_only=True)
    label = fields.String(dump_only=True)
    type = fields.String(dump_only=True, allow_none=True)


class SupplementReasonSchema(Schema):
    task = fields.String(dump_only=True)
    matter = fields.Nested(NamedSchema, dump_only=True)
    department = fields.Nested(NamedSchema, dump_only=True)
    reason = fields.String(dump_only=True)


class SupplementRequestViewSchema(Schema):
    """Every open request of the application, consolidated into the one the citizen answers."""

    id = fields.String(dump_only=True)
    requested_at = fields.DateTime(dump_only=True)
    materials = fields.List(fields.Nested(NamedSchema), dump_only=True)
    fields_ = fields.List(fields.Nested(SupplementFieldSchema), dump_only=True,
                          data_key="fields", attribute="fields")
    reasons = fields.List(fields.Nested(SupplementReasonSchema), dump_only=True)


class ApplicationSchema(Schema):
    id = fields.String(dump_only=True)
    bundle = fields.String(dump_only=True)
    bundle_name = fields.String(dump_only=True)
    bundle_version = fields.Integer(dump_only=True)
    status = fields.String(dump_only=True,
                           metadata={"enum": [s.value for s in ApplicationStatus]})
    region = fields.String(dump_only=True, allow_none=True,
                           metadata={"description": "where it was made (GB/T 2260)"})
    region_name = fields.String(dump_only=True, allow_none=True)
    subject = fields.Nested(SubjectSchema, dump_only=True)
    form = fields.Dict(dump_only=True, metadata={"description": "ID and phone numbers masked"})
    materials = fields.List(fields.String(), dump_only=True)
    tasks = fields.List(fields.Nested(TaskSchema), dump_only=True)
    supplement = fields.Nested(SupplementRequestViewSchema, dump_only=True, allow_none=True)
    reason = fields.String(dump_only=True, allow_none=True)
    eta = fields.DateTime(dump_only=True, allow_none=True,
                          metadata={"description": "predicted completion"})
    channel = fields.String(dump_only=True)
    station = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    completed_at = fields.DateTime(dump_only=True, allow_none=True)


class TimelineEventSchema(Schema):
    id = fields.String(dump_only=True)
    type = fields.String(dump_only=True)
    at = fields.DateTime(dump_only=True)
    actor_role = fields.String(dump_only=True,
                               metadata={"description": "citizen, officer, clerk or system"})
    actor = fields.String(dump_only=True, metadata={"description": "the role, in words"})
    department = fields.Nested(NamedSchema, dump_only=True, allow_none=True)
    matter = fields.Nested(NamedSchema, dump_only=True, allow_none=True)
    task = fields.String(dump_only=True, allow_none=True)
    text = fields.String(dump_only=True)
    data = fields.Dict(dump_only=True)
