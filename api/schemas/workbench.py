"""The workbench: an officer's queue, one task, and what they do with it."""
from marshmallow import RAISE, Schema, fields, validate

from models.application import TaskStatus

CODE = validate.Length(min=1, max=100)


class TaskQueryArgsSchema(Schema):
    class Meta:
        unknown = RAISE

    status = fields.String(validate=validate.OneOf([s.value for s in TaskStatus]),
                           metadata={"description": "default: pending, claimed and "
                                                    "needs_supplement; completed, rejected and "
                                                    "cancelled: those finished in the last "
                                                    "WORKBENCH_FINISHED_DAYS (7) days"})
    bundle = fields.String(validate=CODE, metadata={"description": "bundle code"})
    overdue = fields.Boolean(metadata={"description": "only overdue (true) or on-time (false)"})
    mine = fields.Boolean(metadata={"description": "only the tasks I claimed"})


class TaskApplicationSummarySchema(Schema):
    id = fields.String(dump_only=True)
    bundle = fields.String(dump_only=True)
    bundle_name = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    region = fields.String(dump_only=True, allow_none=True,
                           metadata={"description": "where the application was made"})
    channel = fields.String(dump_only=True, allow_none=True)
    station = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True, allow_none=True)


class WorkbenchTaskSchema(Schema):
    """A task in the department's queue."""

    id = fields.String(dump_only=True)
    matter = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    department = fields.String(dump_only=True)
    region = fields.String(dump_only=True, allow_none=True,
                           metadata={"description": "the officer's own region"})
    status = fields.String(dump_only=True, metadata={"enum": [s.value for s in TaskStatus]})
    depends_on = fields.List(fields.String(), dump_only=True)
    due_at = fields.DateTime(dump_only=True, allow_none=True)
    overdue = fields.Boolean(dump_only=True)
    released_at = fields.DateTime(dump_only=True, allow_none=True)
    claimed_at = fields.DateTime(dump_only=True, allow_none=True)
    claimed_by_me = fields.Boolean(dump_only=True)
    application = fields.Nested(TaskApplicationSummarySchema, dump_only=True)


class OutputDefinitionSchema(Schema):
    name = fields.String(dump_only=True)
    label = fields.String(dump_only=True)
    type = fields.String(dump_only=True, allow_none=True)
    pattern = fields.String(dump_only=True, allow_none=True)
    required = fields.Boolean(dump_only=True)


class TaskMaterialSchema(Schema):
    id = fields.String(dump_only=True)
    type = fields.String(dump_only=True)


class TaskSubjectSchema(Schema):
    kind = fields.String(dump_only=True)
    relation = fields.String(dump_only=True, allow_none=True)
    name = fields.String(dump_only=True, allow_none=True)


class TaskApplicationSchema(TaskApplicationSummarySchema):
    bundle_version = fields.Integer(dump_only=True)
    subject = fields.Nested(TaskSubjectSchema, dump_only=True)
    form = fields.Dict(dump_only=True, metadata={"description": "the answers this matter uses"})
    form_labels = fields.Dict(dump_only=True)
    materials = fields.List(fields.Nested(TaskMaterialSchema), dump_only=True,
                            metadata={"description": "the materials this matter requires"})


class WorkbenchTaskDetailSchema(WorkbenchTaskSchema):
    """One task with what its officer may see of the application."""

    waiting_for = fields.List(fields.String(), dump_only=True)
    inputs = fields.Dict(dump_only=True,
                         metadata={"description": "outputs of upstream matters it needs"})
    outputs = fields.Dict(dump_only=True)
    output_definitions = fields.List(fields.Nested(OutputDefinitionSchema), dump_only=True)
    completed_at = fields.DateTime(dump_only=True, allow_none=True)
    paused_at = fields.DateTime(dump_only=True, allow_none=True)
    reason = fields.String(dump_only=True, allow_none=True)
    note = fields.String(dump_only=True, allow_none=True,
                         metadata={"description": "internal; never shown to the citizen"})
    supplement = fields.Dict(dump_only=True, allow_none=True)
    application = fields.Nested(TaskApplicationSchema, dump_only=True)


class TaskCompleteSchema(Schema):
    class Meta:
        unknown = RAISE

    outputs = fields.Dict(keys=fields.String(validate=CODE), load_default=dict,
                          metadata={"description": "as the matter's output definitions say"})
    note = fields.String(validate=validate.Length(max=2000), load_default=None,
                         metadata={"description": "internal; never shown to the citizen"})


class TaskRejectSchema(Schema):
    class Meta:
        unknown = RAISE

    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000),
                           metadata={"description": "told to the citizen"})


class SupplementRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    materials = fields.List(fields.String(validate=CODE), load_default=list,
                            validate=validate.Length(max=50),
                            metadata={"description": "material type codes"})
    fields_ = fields.List(fields.String(validate=CODE), load_default=list,
                          validate=validate.Length(max=100), data_key="fields",
                          metadata={"description": "joint form field names"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000),
                           metadata={"description": "told to the citizen"})


class TaskCountsArgsSchema(Schema):
    class Meta:
        unknown = RAISE

    bundle = fields.String(validate=CODE, metadata={"description": "bundle code"})


class TaskStatusCountsSchema(Schema):
    class Meta:
        ordered = True

    pending = fields.Integer(dump_only=True)
    claimed = fields.Integer(dump_only=True)
    needs_supplement = fields.Integer(dump_only=True)
    completed = fields.Integer(dump_only=True)
    rejected = fields.Integer(dump_only=True)


class TaskCountsSchema(Schema):
    """The queue's figures in one read (instead of one paged request per status)."""

    open = fields.Integer(dump_only=True, metadata={
        "description": "pending, claimed and needs_supplement: what the queue lists by default"})
    overdue = fields.Integer(dump_only=True, metadata={"description": "open and overdue"})
    by_status = fields.Nested(TaskStatusCountsSchema, dump_only=True, metadata={
        "description": "completed and rejected: those finished since `finished_since`"})
    finished_since = fields.DateTime(dump_only=True, metadata={
        "description": "the last WORKBENCH_FINISHED_DAYS (7) days: the finished tasks counted "
                       "and listed are those finished since"})
