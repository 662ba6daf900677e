"""Public figures: the reform's, and how citizens rate the work."""
from marshmallow import RAISE, Schema, fields, validate

REGION = validate.Regexp(r"^\d{6}$", error="A region is a 6-digit division code.")


class ReformQueryArgsSchema(Schema):
    class Meta:
        unknown = RAISE

    bundle = fields.String(validate=validate.Length(min=1, max=100),
                           metadata={"description": "bundle code; all bundles when left out"})
    region = fields.String(validate=REGION,
                           metadata={"description": "6-digit division code; all regions when "
                                                    "left out"})
    from_ = fields.Date(data_key="from", metadata={"description": "first local day (YYYY-MM-DD)"})
    to = fields.Date(metadata={"description": "last local day, included; all time when neither "
                                              "is given"})


class ReformFiguresSchema(Schema):
    bundle = fields.String(dump_only=True, allow_none=True)
    region = fields.String(dump_only=True, allow_none=True)
    from_ = fields.Date(data_key="from", attribute="from", dump_only=True, allow_none=True)
    to = fields.Date(dump_only=True, allow_none=True)
    applications = fields.Integer(dump_only=True, metadata={"description": "submitted"})
    completed = fields.Integer(dump_only=True)
    rejected = fields.Integer(dump_only=True)
    median_minutes_to_complete = fields.Integer(
        dump_only=True, allow_none=True,
        metadata={"description": "to the minute up to two hours, then ten minutes, hours, days"})
    p90_minutes_to_complete = fields.Integer(dump_only=True, allow_none=True)
    completed_within_hour_share = fields.Float(dump_only=True, allow_none=True)
    forms_saved = fields.Integer(dump_only=True, metadata={
        "description": "forms the completed applications did not fill, against handling each "
                       "matter alone (the bundle's figures: before − after)"})
    materials_saved = fields.Integer(dump_only=True)
    trips_saved = fields.Integer(dump_only=True)
    supplement_share = fields.Float(dump_only=True, allow_none=True, metadata={
        "description": "of the applications finished (completed or rejected) in the period, "
                       "those asked for a supplement"})
    ratings = fields.Integer(dump_only=True)
    satisfaction = fields.Float(dump_only=True, allow_none=True,
                                metadata={"description": "share of ratings of 4 and 5"})
