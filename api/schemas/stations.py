"""Assisted handling at service stations: consent codes and applications made for citizens."""
from flask_smorest.fields import Upload
from marshmallow import RAISE, Schema, fields, validate


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class StationConsentCreateSchema(StrictSchema):
    phone = fields.String(required=True, validate=validate.Length(min=11, max=20),
                          metadata={"description": "the citizen's mainland mobile number"})


class StationConsentSchema(Schema):
    expires_in = fields.Integer(dump_only=True, metadata={"description": "seconds"})
    phone = fields.String(dump_only=True, metadata={"description": "masked: 138****5678"})
    debug_code = fields.String(dump_only=True, metadata={
        "description": "development and tests only: the code that was texted"})


class StationConsentVerifySchema(StrictSchema):
    phone = fields.String(required=True, validate=validate.Length(min=11, max=20))
    code = fields.String(required=True, validate=validate.Length(min=4, max=10),
                         metadata={"description": "the code the citizen received"})


class StationConsentGrantSchema(Schema):
    consent = fields.String(dump_only=True, metadata={
        "description": "proof of the citizen's consent for this clerk and station"})
    expires_in = fields.Integer(dump_only=True, metadata={"description": "seconds"})


class StationScanFormSchema(StrictSchema):
    consent = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    type = fields.String(required=True, validate=validate.Length(min=1, max=100),
                         metadata={"description": "material type code, e.g. parent_id_card"})


class StationScanFileSchema(StrictSchema):
    file = Upload(required=True, metadata={"description": "the scan: JPEG, PNG, HEIC or PDF"})


class AssistedApplicationCreateSchema(StrictSchema):
    consent = fields.String(validate=validate.Length(min=1, max=2000), metadata={
        "description": "from POST .../consent/verify; or give phone and code instead"})
    phone = fields.String(validate=validate.Length(min=11, max=20))
    code = fields.String(validate=validate.Length(min=4, max=10),
                         metadata={"description": "the consent code the citizen received"})
    bundle = fields.String(required=True, validate=validate.Length(min=1, max=100))
    subject = fields.Dict(load_default=dict, metadata={
        "description": "as for POST /applications: self, a family member or a newborn; left "
                       "out, the bundle's natural subject"})
    form = fields.Dict(load_default=dict)
    materials = fields.List(fields.String(validate=validate.Length(max=64)),
                            load_default=list, validate=validate.Length(max=100),
                            metadata={"description": "material ids in the citizen's vault"})
    originals_checked = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)), load_default=list,
        validate=validate.Length(max=100),
        metadata={"description": "material type codes whose originals the clerk saw"})


class StationTaskSchema(Schema):
    id = fields.String(dump_only=True)
    matter = fields.String(dump_only=True)
    matter_name = fields.String(dump_only=True)
    department = fields.String(dump_only=True)
    department_name = fields.String(dump_only=True)
    region = fields.String(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True)
    due_at = fields.DateTime(dump_only=True, allow_none=True)


class AssistedApplicationSchema(Schema):
    """An application made at the station, as the clerk may see it (no outputs, phone masked)."""

    id = fields.String(dump_only=True)
    bundle = fields.String(dump_only=True)
    bundle_name = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    channel = fields.String(dump_only=True)
    station = fields.String(dump_only=True)
    region = fields.String(dump_only=True, allow_none=True,
                           metadata={"description": "the station's region, where it is made"})
    citizen_phone = fields.String(dump_only=True, allow_none=True)
    subject_name = fields.String(dump_only=True, allow_none=True)
    originals_checked = fields.List(fields.String(), dump_only=True)
    tasks = fields.List(fields.Nested(StationTaskSchema), dump_only=True)
    eta = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
