"""Ratings (好差评) as citizens give and read them, rectification cases as officers work them,
and the public aggregates."""
from marshmallow import RAISE, Schema, fields, validate

from models.rating import RectificationStatus
from services.ratings.tags import SCORES, TAGS

REGION = validate.Regexp(r"^\d{6}$", error="A region is a 6-digit division code.")
CODE = validate.Length(min=1, max=100)


class Strict(Schema):
    class Meta:
        unknown = RAISE


class RatingCreateSchema(Strict):
    task = fields.String(validate=validate.Length(min=1, max=64),
                         metadata={"description": "the task rated; left out, the whole "
                                                  "(finished) application"})
    score = fields.Integer(required=True, validate=validate.Range(min=1, max=5),
                           metadata={"description": "; ".join(
                               f"{s} {zh} ({en})" for s, (en, zh) in SCORES.items())})
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                       load_default=list, validate=validate.Length(max=10),
                       metadata={"description": "from: " + ", ".join(TAGS)})
    comment = fields.String(validate=validate.Length(max=500), allow_none=True,
                            metadata={"description": "optional; officers read it with ID, "
                                                     "phone and account numbers masked"})


class CodeNameSchema(Schema):
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)


class TagSchema(Schema):
    code = fields.String(dump_only=True)
    label = fields.String(dump_only=True)


class WordsSchema(Schema):
    text = fields.String(dump_only=True)
    at = fields.DateTime(dump_only=True)


class RectificationSummarySchema(Schema):
    id = fields.String(dump_only=True)
    status = fields.String(dump_only=True,
                           metadata={"enum": [s.value for s in RectificationStatus]})
    due_at = fields.DateTime(dump_only=True)
    overdue = fields.Boolean(dump_only=True)
    reply = fields.Nested(WordsSchema, dump_only=True, allow_none=True,
                          metadata={"description": "the department's answer"})
    resolution = fields.Nested(WordsSchema, dump_only=True, allow_none=True,
                               metadata={"description": "what the department changed"})


class RatingSchema(Schema):
    id = fields.String(dump_only=True)
    application = fields.String(dump_only=True)
    task = fields.String(dump_only=True, allow_none=True)
    matter = fields.Nested(CodeNameSchema, dump_only=True, allow_none=True)
    department = fields.Nested(CodeNameSchema, dump_only=True, allow_none=True)
    round = fields.Integer(dump_only=True, metadata={"description": "2: the re-rating after a "
                                                                    "resolved rectification"})
    score = fields.Integer(dump_only=True)
    score_label = fields.String(dump_only=True, metadata={"example": "不满意"})
    tags = fields.List(fields.Nested(TagSchema), dump_only=True)
    comment = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    rectification = fields.Nested(RectificationSummarySchema, dump_only=True, allow_none=True,
                                  metadata={"description": "opened by a score of 2 or less"})
    may_rate_again = fields.Boolean(dump_only=True)


class RectificationQueryArgsSchema(Strict):
    status = fields.String(validate=validate.OneOf([s.value for s in RectificationStatus]),
                           metadata={"description": "resolved: the cases resolved in the last "
                                                    "RECTIFICATIONS_RESOLVED_DAYS (90) days"})


class RectificationTextSchema(Strict):
    text = fields.String(required=True, validate=validate.Length(min=1, max=1000),
                         metadata={"example": "对您多跑一趟深表歉意，我们已调整材料清单。"})


class RectificationSchema(Schema):
    """A case as the department's officers see it: never who the citizen is."""

    id = fields.String(dump_only=True)
    status = fields.String(dump_only=True,
                           metadata={"enum": [s.value for s in RectificationStatus]})
    due_at = fields.DateTime(dump_only=True)
    overdue = fields.Boolean(dump_only=True)
    opened_at = fields.DateTime(dump_only=True)
    department = fields.String(dump_only=True)
    region = fields.String(dump_only=True)
    application = fields.String(dump_only=True)
    bundle = fields.String(dump_only=True)
    task = fields.String(dump_only=True, allow_none=True)
    matter = fields.Nested(CodeNameSchema, dump_only=True, allow_none=True)
    score = fields.Integer(dump_only=True)
    score_label = fields.String(dump_only=True)
    tags = fields.List(fields.Nested(TagSchema), dump_only=True)
    comment = fields.String(dump_only=True, allow_none=True,
                            metadata={"description": "ID, phone and account numbers masked"})
    reply = fields.Nested(WordsSchema, dump_only=True, allow_none=True)
    resolution = fields.Nested(WordsSchema, dump_only=True, allow_none=True)


class RatingStatsQueryArgsSchema(Strict):
    department = fields.String(validate=CODE)
    region = fields.String(validate=REGION)
    matter = fields.String(validate=CODE)


class ByScoreSchema(Schema):
    class Meta:
        ordered = True

    one = fields.Integer(data_key="1", attribute="1", dump_only=True)
    two = fields.Integer(data_key="2", attribute="2", dump_only=True)
    three = fields.Integer(data_key="3", attribute="3", dump_only=True)
    four = fields.Integer(data_key="4", attribute="4", dump_only=True)
    five = fields.Integer(data_key="5", attribute="5", dump_only=True)


class RatingStatsSchema(Schema):
    count = fields.Integer(dump_only=True)
    by_score = fields.Nested(ByScoreSchema, dump_only=True)
    satisfaction = fields.Float(dump_only=True, allow_none=True,
                                metadata={"description": "share of 4 and 5; null without "
                                                         "ratings", "example": 0.9531})
    department = fields.String(dump_only=True, allow_none=True)
    region = fields.String(dump_only=True, allow_none=True)
    matter = fields.String(dump_only=True, allow_none=True)
